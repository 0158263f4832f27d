"""locust's master is a role of its own on this host, `client (locust master)`, divided by the client's count;
runs without it (every result saved before) split as they did."""

from __future__ import annotations

from dataclasses import replace

import pytest

from probes.bench.judge.figures import figures
from probes.bench.model.diagnosis import LOCUST_MASTER_ROLE
from tests.factories import run, sample


def test_the_master_is_a_role_of_its_own_only_where_measured() -> None:
    plain = sample(1000, client_s=0.4)
    with_master = replace(plain, cpu_s={**plain.cpu_s, LOCUST_MASTER_ROLE: 0.02})
    measured = figures(replace(run(2, [1000]), samples=(with_master,)), None)
    assert measured.cpu_per_request_s[LOCUST_MASTER_ROLE] == pytest.approx(0.02 / with_master.requests)
    assert LOCUST_MASTER_ROLE in measured.cpu_shares
    before = figures(replace(run(2, [1000]), samples=(plain,)), None)
    assert LOCUST_MASTER_ROLE not in before.cpu_per_request_s and LOCUST_MASTER_ROLE not in before.cpu_shares
