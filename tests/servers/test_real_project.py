"""A project shaped like real ones, through the installed wheel: paths relative to the working
directory (templates, SQLite, a .env read at import), a custom user model, middleware that needs
the session, a page that queries the database and renders an inherited template."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.servers.test_wheel import edit, install_servebench, run

pytestmark = pytest.mark.servers

SETTINGS = """
# The shape of real projects: paths relative to the working directory, as runserver resolves them.
import os
from pathlib import Path as _Path

# As python-dotenv's load_dotenv(".env"): the file next to manage.py, read from the working directory.
for _line in _Path(".env").read_text().splitlines():
    _key, _, _value = _line.partition("=")
    if _key.strip() and not _key.startswith("#"):
        os.environ.setdefault(_key.strip(), _value.strip())

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
INSTALLED_APPS = [*INSTALLED_APPS, "shop", "probes"]
MIDDLEWARE = [*MIDDLEWARE, "shop.middleware.returning_visitor"]
AUTH_USER_MODEL = "shop.Customer"
TEMPLATES[0]["DIRS"] = ["templates"]
DATABASES["default"]["NAME"] = os.environ["SHOP_DATABASE"]
MEDIA_ROOT = "media"
SHOP_GREETING = os.environ["SHOP_GREETING"]
"""
ENV_FILE = "SHOP_DATABASE=var/shop.sqlite3\nSHOP_GREETING=Fresh from the .env file\n"
MODELS = """from django.contrib.auth.models import AbstractUser
from django.db import models


class Customer(AbstractUser):
    loyalty_points = models.IntegerField(default=0)


class Product(models.Model):
    name = models.CharField(max_length=100)
    price_cents = models.IntegerField()
"""
MIDDLEWARE = """def returning_visitor(get_response):
    def middleware(request):
        request.returning = bool(request.session.get("visits"))  # needs SessionMiddleware before it
        return get_response(request)

    return middleware
"""
VIEWS = """from django.conf import settings
from django.shortcuts import render

from .models import Customer, Product


def home(request):
    products = list(Product.objects.order_by("name"))
    context = {"products": products, "customers": Customer.objects.count(), "greeting": settings.SHOP_GREETING}
    return render(request, "shop/home.html", {**context, "returning": request.returning})


def broken(request):
    raise LookupError(f"no shelf for {request.path}")
"""
BASE_HTML = "<html><body><h1>{{ greeting }}</h1>{% block content %}{% endblock %}</body></html>\n"
HOME_HTML = (
    '{% extends "base.html" %}{% block content %}<p>{{ customers }} customers</p>'
    "<ul>{% for p in products %}<li>{{ p.name }}</li>{% endfor %}</ul>{% endblock %}\n"
)
SEED = (
    "from shop.models import Product;"
    " Product.objects.bulk_create(Product(name=f'item {i}', price_cents=i) for i in range(40))"
)
SHORT = ["--duration", "1", "--warmup", "0.2", "--repeat", "1", "--loadgen", "builtin"]


def line_of(source: str, text: str) -> int:
    return next(number for number, line in enumerate(source.splitlines(), 1) if text in line)


@dataclass(frozen=True)
class Shop:
    python: Path
    directory: Path
    env: dict[str, str]

    def servebench(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python), "manage.py", "servebench", *argv],
            cwd=self.directory,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    """startproject + an app of the shape real projects have, migrated and with rows, servebench installed."""
    tmp_path = tmp_path_factory.mktemp("real-project")
    python, env = install_servebench(tmp_path)
    env["TMPDIR"] = str(tmp_path)  # servebench's run directories (and any logs it keeps) stay in here
    project = tmp_path / "project"
    project.mkdir()
    run([python.parent / "django-admin", "startproject", "mysite", project], cwd=tmp_path, env=env, timeout_s=60)
    (project / "mysite" / "settings.py").write_text((project / "mysite" / "settings.py").read_text() + SETTINGS)
    (project / ".env").write_text(ENV_FILE)
    (project / "var").mkdir()
    (project / "shop").mkdir()
    for name, text in {"__init__.py": "", "models.py": MODELS, "middleware.py": MIDDLEWARE, "views.py": VIEWS}.items():
        (project / "shop" / name).write_text(text)
    (project / "templates" / "shop").mkdir(parents=True)
    (project / "templates" / "base.html").write_text(BASE_HTML)
    (project / "templates" / "shop" / "home.html").write_text(HOME_HTML)
    edit(
        project / "mysite" / "urls.py",
        lambda text: text.replace(
            "from django.urls import path\n", "from django.urls import path\n\nfrom shop.views import broken, home\n"
        ).replace("urlpatterns = [\n", "urlpatterns = [\n    path('', home),\n    path('broken/', broken),\n"),
    )
    run([python, "manage.py", "makemigrations", "shop", "-v", "0"], cwd=project, env=env, timeout_s=120)
    run([python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=project, env=env, timeout_s=120)
    run([python, "manage.py", "shell", "-c", SEED], cwd=project, env=env, timeout_s=60)
    return Shop(python, project, env)


def _files(directory: Path) -> set[Path]:
    return {path.relative_to(directory) for path in directory.rglob("*") if "__pycache__" not in path.parts}


def test_every_server_runs_the_project_where_it_lives_with_no_error(shop: Shop) -> None:
    require_binary("nginx")
    before = _files(shop.directory)
    done = shop.servebench(
        *("--url", "/", "--server", "gunicorn", "--server", "uwsgi", "--server", "flup-prefork", "--workers", "2"),
        *("--front", "nginx", "--front", "direct", "--socket", "unix", *SHORT),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    [saved] = (shop.directory / "servebench-results").glob("sweep-*.json")
    suite = json.loads(saved.read_text())
    [t0] = suite["view_costs"]
    assert (t0["path"], t0["status"]) == ("/", 200)
    assert [run["label"] for run in suite["runs"]] == [
        "gunicorn w2 nginx/unix",
        "gunicorn w2 direct",
        "uwsgi w2 nginx/unix",
        "uwsgi w2 direct",
        "flup-prefork w2 nginx/unix",
    ]
    for measured in suite["runs"]:
        assert (measured["error"], measured["failure"]) == ("", None), measured["label"]
        assert measured["quality"] != "failing", (measured["label"], measured["quality_reasons"])
        [window] = measured["samples"]
        assert window["errors"] == {}, measured["label"]
        assert window["status_counts"] == {"200": window["requests"]}, measured["label"]
        # Every request the generator completed went through the project's view inside the server.
        assert window["app"]["exceptions"] == 0, measured["label"]
    # Nothing of servebench's (sockets, logs, configs) landed in the project's directory.
    assert {path.parts[0] for path in _files(shop.directory) - before} == {"servebench-results"}


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode != 0
    return done.stderr.strip().splitlines()[-1]


def test_a_database_pointing_nowhere_names_its_exception_in_one_line(shop: Shop, tmp_path: Path) -> None:
    out = tmp_path / "nowhere.json"
    done = shop.servebench(
        *("--url", "/", "--server", "gunicorn", "--workers", "1", "--front", "direct", *SHORT, "--json", str(out)),
        env={"SHOP_DATABASE": "nowhere/shop.sqlite3"},
    )
    where = f"shop/views.py:{line_of(VIEWS, 'products = list(')} in home"
    assert _last_line(done) == (
        "CommandError: no valid result: every run failed; gunicorn w1 direct: GET / answered 500:"
        f" OperationalError: unable to open database file at {where}"
    )
    [measured] = json.loads(out.read_text())["runs"]
    failure = measured["failure"]
    assert (failure["status"], failure["in_process_status"]) == (500, 500)
    assert failure["exceptions"][0]["type"] == "OperationalError"
    assert measured["samples"] == [], "a configuration that fails its first request gets no load"
    # Its logs are kept, and where is said.
    kept = next(line for line in done.stderr.splitlines() if "logs of the failing configurations kept in" in line)
    assert Path(kept.rsplit(" ", 1)[-1]).is_dir()
    assert all(Path(log).is_file() for log in failure["logs"]) and failure["logs"]


def test_a_view_that_raises_names_its_exception_in_one_line(shop: Shop) -> None:
    done = shop.servebench("--url", "/broken/", "--server", "uwsgi", "--workers", "1", "--front", "direct", *SHORT)
    where = f"shop/views.py:{line_of(VIEWS, 'raise LookupError')} in broken"
    assert _last_line(done) == (
        "CommandError: no valid result: every run failed; uwsgi w1 direct: GET /broken/ answered 500:"
        f" LookupError: no shelf for /broken/ at {where}"
    )
