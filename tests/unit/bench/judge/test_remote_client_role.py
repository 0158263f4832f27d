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


def test_two_client_hosts_are_client_bound_only_when_one_of_them_used_its_core() -> None:
    from probes.bench.judge.quality import assess

    # Two hosts at 0.6 of a core each: 1.2 cores summed, neither the limit.
    shared = replace(sample(1000, client_s=1.2 * 2), client_remote=True, client_hosts=2, busiest_client_cpu_s=0.6 * 2)
    assert assess(replace(run(2, [1000]), samples=(shared, shared)))[0] != "client-bound"
    busy = replace(shared, busiest_client_cpu_s=0.95 * 2)
    quality, reasons = assess(replace(run(2, [1000]), samples=(busy, busy)))
    assert quality == "client-bound" and reasons[0] == "the load generator used 0.95 cores"


def test_the_report_says_how_several_hosts_figures_were_merged() -> None:
    from probes.bench.model.results import Suite
    from probes.report.lines import sections
    from tests.factories import METADATA

    note = "2 client hosts: counts summed, latency from their HDR histograms merged (exact)"
    merged = replace(sample(1000), client_remote=True, client_hosts=2, load_notes=(note,))
    suite = Suite(metadata=METADATA, runs=(replace(run(2, [1000]), samples=(merged, merged)),))
    assert sections(suite)[0].notes.count(note) == 1
