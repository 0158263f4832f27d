"""The HTML report in a real headless Chromium: it renders, is not blank, has its charts, logs no error."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

from probes.report.html import html_report
from tests.conftest import require_binary
from tests.unit.report.test_exports import SUITE

FLAGS = [
    "--headless",
    "--no-sandbox",  # as root (CI containers)
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)


def png_pixels(path: Path) -> bytes:
    """The PNG's decompressed scanlines (filter bytes included): enough to tell a blank page."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT":
            chunks.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return zlib.decompress(b"".join(chunks))


def test_the_report_renders_in_chromium_with_its_charts_and_no_console_error(tmp_path: Path) -> None:
    binary = require_binary("chromium")
    page = tmp_path / "report.html"
    page.write_text(html_report(SUITE))
    shot = tmp_path / "report.png"
    done = chromium(binary, tmp_path / "a", f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri())
    dom = chromium(binary, tmp_path / "b", "--dump-dom", page.as_uri())
    for log in (done.stderr, dom.stderr):
        assert "Uncaught" not in log and ":CONSOLE(" not in log, log
    assert dom.stdout.count("<svg") == 4
    assert dom.stdout.count('class="rate"') == 2
    pixels = png_pixels(shot)
    assert len(set(pixels)) > 50, "the screenshot is blank"
