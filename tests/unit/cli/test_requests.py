"""--method, --data, --body @FILE, --content-type and --urls FILE: checked before anything starts, each mistake
one line that names the option (or FILE:LINE) and why; what is accepted is the request every generator sends."""

from __future__ import annotations

import os
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from probes.bench.loadgen.plan import DEFAULT_MAX_REPEAT
from probes.bench.loadgen.requests import Request
from probes.cli.arguments import recorded_command
from probes.cli.plan import Plan, build_plan
from probes.management.commands.servebench import Command

URL = ["--url", "/ping/", "--loadgen", "builtin"]


def plan_of(*argv: str) -> Plan:
    parser = Command().create_parser("manage.py", "servebench")
    return build_plan(vars(parser.parse_args(argv)))


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "body.json").write_bytes(b'{"a": 1}')
    (tmp_path / "big").write_bytes(b"x" * (2**20 + 1))
    (tmp_path / "link").symlink_to(tmp_path / "body.json")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "mix.txt").write_text(
        "# weight METHOD path [body]\n\n1 GET /a/\n3 post /b/ x=1&y=2\n6 PUT /c/ @" + str(tmp_path / "body.json") + "\n"
    )
    lines = {
        "fields": "1 GET\n",
        "weight": "1 GET /a/\nzero GET /b/\n",
        "weight0": "0 GET /a/\n",
        "method": "1 GET /a/\n1 FETCH /b/\n",
        "path": "1 GET /a/\n1 GET a/\n",
        "space": "1 GET /a/\n1 GET //evil.example/\n",
        "getbody": "1 GET /a/ x=1\n",
        "bodylink": f"1 POST /a/ @{tmp_path / 'link'}\n",
        "empty": "# nothing\n\n",
    }
    for name, text in lines.items():
        (tmp_path / f"{name}.txt").write_text(text)
    return tmp_path


CASES = [
    (["--method", "FETCH"], "--method: 'FETCH' is not a method servebench sends (GET, POST, PUT, PATCH"),
    (["--data", "a=1", "--body", "@{tmp}/body.json"], "--data and --body both give the body: give one"),
    (["--body", "{tmp}/body.json"], "--body takes @FILE (the body is read from FILE), not '{tmp}/body.json'"),
    (["--body", "@{tmp}/missing"], "--body {tmp}/missing: No such file or directory"),
    (["--body", "@{tmp}/link"], "--body {tmp}/link: it is a symbolic link (servebench follows none)"),
    (["--body", "@{tmp}/fifo"], "--body {tmp}/fifo: not a regular file"),
    (["--body", "@{tmp}"], "--body {tmp}: not a regular file"),
    (["--body", "@{tmp}/big"], "--body {tmp}/big: 1,048,577 bytes; at most 1,048,576 (1 MB)"),
    (["--method", "GET", "--data", "a=1"], "--method GET sends no body (Django ignores it): give --method POST"),
    (["--content-type", "application/json"], "--content-type describes a body: give --data or --body @FILE"),
    (["--data", "a", "--content-type", "a\tb"], "--content-type takes a media type such as application/json"),
    (["--data", "a", "--content-type", "x/y", "--header", "Content-Type: z"], "--content-type and --header 'Content"),
    (["--urls", "{tmp}/fields.txt"], "{tmp}/fields.txt:1: expected 'weight METHOD path [body]', got '1 GET'"),
    (["--urls", "{tmp}/weight.txt"], "{tmp}/weight.txt:2: the weight is a whole number from 1 to 1000, not 'zero'"),
    (["--urls", "{tmp}/weight0.txt"], "{tmp}/weight0.txt:1: the weight is a whole number from 1 to 1000, not '0'"),
    (["--urls", "{tmp}/method.txt"], "{tmp}/method.txt:2: 'FETCH' is not a method servebench sends"),
    (["--urls", "{tmp}/path.txt"], "{tmp}/path.txt:2: the path takes a path of this project such as"),
    (["--urls", "{tmp}/space.txt"], "{tmp}/space.txt:2: the path takes a path of this project"),
    (["--urls", "{tmp}/getbody.txt"], "{tmp}/getbody.txt:1: GET sends no body (Django ignores it)"),
    (["--urls", "{tmp}/bodylink.txt"], "{tmp}/bodylink.txt:1: body {tmp}/link: it is a symbolic link"),
    (["--urls", "{tmp}/empty.txt"], "--urls {tmp}/empty.txt: no request in it (each line: weight METHOD path"),
    (["--urls", "{tmp}/fifo"], "--urls {tmp}/fifo: not a regular file"),
    (["--urls", "{tmp}/mix.txt", "--method", "POST"], "--urls FILE names each request (weight METHOD path [body]): "),
    (["--urls", "{tmp}/mix.txt", "--loadgen", "ab"], "--loadgen ab: ab sends one request over and over"),
    (["--method", "DELETE", "--loadgen", "ab"], "--loadgen ab: ab sends GET, POST, PUT only, not DELETE"),
    (["--view-cost", "--method", "POST"], "--method sets what the load sends: --view-cost puts no load"),
]


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(argv)[:50] for argv, _ in CASES])
def test_a_request_that_cannot_be_sent_is_refused_in_one_line(
    argv: list[str], message: str, files: Path, nothing_starts: Callable[[], None]
) -> None:
    argv = [arg.replace("{tmp}", str(files)) for arg in argv]
    if "--urls" not in argv and "--view-cost" not in argv:
        argv = [*URL, *argv] if "--loadgen" not in argv else ["--url", "/ping/", *argv]
    with pytest.raises(CommandError) as raised:
        call_command("servebench", *argv, stdout=StringIO(), stderr=StringIO())
    line = str(raised.value)
    assert message.replace("{tmp}", str(files)) in line
    assert "\n" not in line and "Traceback" not in line and raised.value.returncode != 0
    nothing_starts()


def test_what_is_accepted_is_the_request_sent(files: Path) -> None:
    load = plan_of(*URL, "--data", "a=1").load
    assert load is not None and load.mix == (Request("/ping/", method="POST", body=b"a=1"),)
    load = plan_of(*URL, "--method", "put", "--body", f"@{files}/body.json", "--content-type", "application/json").load
    assert load is not None and load.sent == Request("/ping/", "PUT", b'{"a": 1}', "application/json")
    load = plan_of(*URL, "--method", "DELETE").load
    assert load is not None and load.sent == Request("/ping/", "DELETE")
    plain = plan_of(*URL).load
    assert plain is not None and plain.requests == () and plain.mix == (Request("/ping/"),)


def test_a_urls_file_is_one_target_sending_its_mix(files: Path) -> None:
    plan = plan_of("--urls", f"{files}/mix.txt", "--loadgen", "wrk")
    assert [(t.name, t.path) for t in plan.targets] == [(f"--urls {files}/mix.txt", "/a/")]
    assert plan.load is not None and plan.load.sent is None  # a mix: no one view for t0
    assert plan.load.mix == (
        Request("/a/", weight=1),
        Request("/b/", "POST", b"x=1&y=2", weight=3),
        Request("/c/", "PUT", b'{"a": 1}', weight=6),
    )


def test_a_body_given_on_the_command_line_is_not_recorded() -> None:
    assert recorded_command(["--url", "/p/", "--data", "password=hunter2", "--data=token=1"]) == (
        "--url",
        "/p/",
        "--data",
        "…",
        "--data=…",
    )


def test_the_windows_at_least_and_at_most() -> None:
    load = plan_of(*URL).load
    assert load is not None and (load.repeat, load.max_repeat) == (2, DEFAULT_MAX_REPEAT)
    load = plan_of(*URL, "--repeat", "3", "--max-repeat", "3").load
    assert load is not None and (load.repeat, load.most_windows) == (3, 3)
    load = plan_of(*URL, "--repeat", "8").load
    assert load is not None and load.most_windows == 8
