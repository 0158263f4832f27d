"""A result records where it was measured: servebench's own version and every server package's."""

from __future__ import annotations

from importlib import metadata as importlib_metadata

import pytest

import probes
from probes.bench.model.metadata import Metadata

SERVER_PACKAGES = ("gunicorn", "pyuwsgi", "flup", "waitress", "gevent", "granian", "uvicorn")


def _installed(name: str) -> str | None:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return None


def test_a_fresh_metadata_records_servebench_own_version() -> None:
    # pyproject.toml takes the distribution's version from probes.__version__: installed or not, they agree.
    assert Metadata.collect(settings_module="settings.test").versions["servebench"] == probes.__version__


@pytest.mark.parametrize("name", SERVER_PACKAGES)
def test_a_fresh_metadata_records_each_installed_server_package(name: str) -> None:
    version = _installed(name)
    if version is None:
        pytest.skip(f"{name} is not installed")
    assert Metadata.collect(settings_module="settings.test").versions[name] == version


def test_the_versions_given_by_the_job_are_kept() -> None:
    versions = Metadata.collect(settings_module="settings.test", extra_versions={"nginx": "1.22.1"}).versions
    assert versions["nginx"] == "1.22.1"
