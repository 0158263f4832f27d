"""A client on another host: its CPU reported as a remote role, outside this host's reconciliation and split."""

from __future__ import annotations

from dataclasses import replace

import pytest

from probes.bench.judge.figures import figures
from probes.bench.model.diagnosis import REMOTE_CLIENT_ROLE
from tests.factories import run, sample


def test_a_remote_client_is_reported_but_not_reconciled_nor_split() -> None:
    local = sample(1000, client_s=0.4)
    remote = replace(local, client_remote=True)
    # This host's /proc/stat never saw the remote client's CPU: it is not taken out of its busy time.
    assert local.unattributed_cpu_s == pytest.approx(1.5 - 1.6)
    assert remote.unattributed_cpu_s == pytest.approx(1.5 - 1.2)
    local_figures = figures(replace(run(2, [1000]), samples=(local,)), None)
    remote_figures = figures(replace(run(2, [1000]), samples=(remote,)), None)
    assert "client" in local_figures.cpu_shares and REMOTE_CLIENT_ROLE not in local_figures.cpu_per_request_s
    assert remote_figures.cpu_per_request_s[REMOTE_CLIENT_ROLE] == pytest.approx(0.4 / 2000)
    assert "client" not in remote_figures.cpu_shares and REMOTE_CLIENT_ROLE not in remote_figures.cpu_shares
    assert sum(remote_figures.cpu_shares.values()) == pytest.approx(1.0)


def test_the_tables_cpu_per_request_is_this_hosts_without_a_remote_client() -> None:
    local = sample(1000, client_s=0.4)
    remote = replace(local, client_remote=True)
    assert local.total_cpu_s_per_request is not None and remote.total_cpu_s_per_request is not None
    assert local.total_cpu_s_per_request - remote.total_cpu_s_per_request == pytest.approx(0.4 / local.requests)
