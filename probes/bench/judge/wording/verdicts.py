"""The sentences of one run's verdict (rules.py's findings), and the units every sentence uses.

The rules (rules.py, concurrency.py, scaling.py, knee.py, compare.py) decide; this module only
words what they found, and the reports reuse it. The words are saved beside the figures
(Diagnosis.why and .advice, Scaling.summary), so results saved earlier read as they did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ...model.diagnosis import Diagnosis, Finding
from .causes import wait_cause

if TYPE_CHECKING:
    from ..rules import Case

NOT_TIMED = "the app's own time was not measured (--no-timing): its CPU is booked to the server"
CPU_BOUND_NOT_SERIALIZED = "cpu-bound, not serialized"


def ms(seconds: float | None) -> str:
    """'16.4 ms', or '?' when not measured."""
    return "?" if seconds is None else f"{seconds * 1000:.1f} ms"


def short(seconds: float | None) -> str:
    """A short time in µs below a millisecond, else in ms."""
    if seconds is not None and seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    return ms(seconds)


def shares_text(shares: dict[str, float]) -> str:
    """'server 36 %, view 26 %, ...': the CPU per request by role, largest first."""
    return ", ".join(f"{role} {100 * share:.0f} %" for role, share in sorted(shares.items(), key=lambda i: -i[1]))


def server_gain_text(gain_pct: float | None) -> str:
    """'; a zero-cost server could add at most +5 %', or '' when it cannot be said."""
    return f"; a zero-cost server could add at most +{gain_pct:.0f} %" if gain_pct is not None else ""


def verdict_text(diagnosis: Diagnosis) -> str:
    """The verdict as reports show it: the scaling fit's qualifier, when it named it, in the verdict's place."""
    return diagnosis.qualifier or diagnosis.verdict


def _wall_text(case: Case) -> str:
    """'16.4 ms' or '16.4 ms, 3.0 ms of it waiting for a CPU,'."""
    f = case.figures
    runq = f.app_runq_s or 0.0
    return ms(f.app_wall_s) + (f", {ms(runq)} of it waiting for a CPU," if runq >= 0.0001 else "")


def _cpu_text(finding: Finding, case: Case) -> str:
    """'; the view costs 3.3x its in-process CPU under the server (...)' when the rule found it grew, else ''."""
    f = case.figures
    if "cpu_growth" not in finding.numbers:
        return ""
    return (
        f"; the view costs {finding.numbers['cpu_growth']:.1f}x its in-process CPU under the server"
        f" ({short(f.t0_cpu_s)} -> {short(f.app_cpu_s)}:"
        " colder caches and CPU frequency at low load, the server's own work in the app's thread)"
    )


def _machine_cpu_text(case: Case) -> str:
    """'machine CPU per request 12.8 ms (every process on the cores, 0.5 ms of it unattributed)': what it
    includes, unlike the table's CPU µs (the measured roles only)."""
    f = case.figures
    unattributed = f.cpu_per_request_s.get("unattributed", 0.0)
    return (
        f"machine CPU per request {short(f.machine_cpu_per_request_s)}"
        f" (every process on the cores, {short(unattributed)} of it unattributed)"
    )


def _busy(case: Case) -> str:
    return f"cores {100 * case.figures.busy_fraction:.0f} % busy"


def _bad_data(finding: Finding, case: Case) -> tuple[str, str]:
    if finding.verdict == "failing":
        return case.quality_reason, "fix the errors first: a failing configuration is never a result"
    return case.quality_reason, "the load generator was the limit: use wrk (--loadgen wrk) or fewer connections"


def _rate_kept(finding: Finding, case: Case) -> tuple[str, str]:
    f, n = case.figures, finding.numbers
    wait_text = f"; the app waited {ms(n['waited_s'])} per request beyond t0" if "waited_s" in n else ""
    why = (
        f"served the offered {n['rate_rps']:,.0f} r/s at {_busy(case)}; {_machine_cpu_text(case)}:"
        f" at that the {f.cores} cores could serve ~{n['cpu_cap_rps']:,.0f} r/s{wait_text}{_cpu_text(finding, case)}"
    )
    return why, "the offered load, not the server, set this figure: measure the capacity without --rate"


def _machine_shared(finding: Finding, case: Case) -> tuple[str, str]:
    n = finding.numbers
    why = (
        f"{_busy(case)}, {100 * n['others_busy']:.0f} % of them outside this configuration's"
        f" roles (another process); its own roles used {100 * n['own_busy']:.0f} %"
    )
    return why, "measure again on a quiet machine: with the cores shared, this figure is not the configuration's"


def _cpu_saturated(finding: Finding, case: Case) -> tuple[str, str]:
    f = case.figures
    owner = f.cpu_owner
    why = (
        f"{_busy(case)}; {_machine_cpu_text(case)}: {shares_text(f.cpu_shares)}"
        f"{server_gain_text(finding.numbers.get('server_gain_pct'))}"
    )
    advice = (
        "the view owns the CPU: make the view cheaper; more workers or a faster server cannot help much"
        if owner == "view"
        else f"{owner} owns the CPU: a cheaper {owner} (or another machine for it) raises the cap"
    )
    return why, advice


def _too_few_connections(finding: Finding, case: Case) -> tuple[str, str]:
    f = case.figures
    why = (
        f"{f.concurrency} connections for {f.capacity} workers x threads, {_busy(case)}:"
        " the client never kept every worker busy"
    )
    return why, f"raise --concurrency above {f.capacity}"


_WHERE: dict[str, Callable[[Case], str]] = {
    "serialized_inside_app": lambda case: (
        f"inside the app: its wall time grew from t0 {ms(case.figures.t0_s)} to {_wall_text(case)}"
        " as requests wait for one another (a lock, the database's single writer)"
    ),
    "serialized_partly_inside_app": lambda case: (
        f"partly inside the app: its wall time grew from t0 {ms(case.figures.t0_s)} to {_wall_text(case)}"
    ),
    "serialized_before_app": lambda case: (
        f"before the app: {ms(case.figures.queue_s)} in the queue per request, more than the connections explain"
    ),
    "serialized_untimed": lambda case: f"unknown: {NOT_TIMED}",
    "serialized_elsewhere": lambda case: "neither in the app's own time nor in the queue: look at the server",
}


def _serialized(finding: Finding, case: Case) -> tuple[str, str]:
    f = case.figures
    why = (
        f"X x t0 = {finding.numbers['parallelism']:.2f} with {f.capacity} workers x threads and {_busy(case)}:"
        f" one request at a time gets through; the wait is {_WHERE[finding.rule](case)}"
    )
    return why, f"more workers cannot help: {wait_cause(finding.numbers.get('db_share'), f)}"


def _process_on_a_core(finding: Finding, case: Case) -> tuple[str, str]:
    f, n = case.figures, finding.numbers
    serving = f.serving_processes
    why = (
        f"{serving} serving process{'es' if serving > 1 else ''}, each {100 * n['process_busy']:.0f} % of a core"
        f" (a Python process runs on one core at a time), {_busy(case)}"
    )
    return why, (
        f"more worker processes help, up to the {f.cores} cores: ~{n['expected_rps']:,.0f} r/s expected with {f.cores}"
    )


def _overlapped_waits(finding: Finding, case: Case) -> tuple[str, str]:
    f, n = case.figures, finding.numbers
    why = (
        f"X x app wall = {n['in_app']:.1f} > {f.capacity} worker{'s' if f.capacity > 1 else ''}: {case.kind} overlaps"
        f" the waits of the {f.concurrency} connections' requests, app wall {ms(f.app_wall_s)}"
        f" of which {short(f.app_cpu_s)} the view's CPU, each worker {100 * f.process_busy:.0f} % of a core:"
        " the connections, not the workers, set this figure"
    )
    advice = (
        f"raise --concurrency: X grows with the connections until a worker fills its core"
        f" (~{n['worker_cap_rps']:,.0f} r/s at {short(n['worker_cpu_s'])} of its server+view CPU per request)"
        f" or the cores (~{n['cpu_cap_rps']:,.0f} r/s)"
    )
    return why, advice


def _workers_waiting(finding: Finding, case: Case) -> tuple[str, str]:
    f, n = case.figures, finding.numbers
    why = (
        f"every worker busy {ms(f.app_wall_s)} per request, {ms(f.app_cpu_s or 0.0)} of it the view's CPU,"
        f" {_busy(case)}: workers wait"
    )
    return why, f"more workers or threads help: ~{n['expected_rps']:,.0f} r/s expected with {n['with_capacity']}"


def _capacity(capacity: int) -> str:
    """'1 worker' or '4 workers x threads'."""
    return "1 worker" if capacity == 1 else f"{capacity} workers x threads"


def _workers_computing(finding: Finding, case: Case) -> tuple[str, str]:
    f, n = case.figures, finding.numbers
    why = (
        f"{_capacity(f.capacity)} computing: {ms(f.app_cpu_s or 0.0)} of the view's CPU per request"
        f" of its {ms(f.app_wall_s)} in the app, on {f.cores} cores, {_busy(case)}"
    )
    return why, f"more workers help up to the cores: ~{n['expected_rps']:,.0f} r/s expected with {n['with_capacity']}"


def _workers_between(finding: Finding, case: Case) -> tuple[str, str]:
    f, n = case.figures, finding.numbers
    why = (
        f"between io-bound and worker-limited: every worker busy {ms(f.app_wall_s)} per request,"
        f" {ms(f.app_cpu_s or 0.0)} of it the view's CPU ({100 * n['cpu_share']:.0f} %), {_busy(case)}:"
        " the workers wait about as much as they compute"
    )
    advice = (
        f"more workers help: ~{n['expected_rps_waiting']:,.0f} r/s expected with {n['with_capacity_waiting']:.0f}"
        f" if the wait is what holds them, ~{n['expected_rps_computing']:,.0f} r/s with"
        f" {n['with_capacity_computing']:.0f} if the CPU is"
    )
    return why, advice


def _contended(finding: Finding, case: Case) -> tuple[str, str]:
    f, n = case.figures, finding.numbers
    db = f", {100 * n['db_share']:.0f} % of it in the database" if "db_share" in n else ""
    why = (
        f"the app's wall time grew from t0 {ms(f.t0_s)} to {_wall_text(case)} under load, {ms(n['waited_s'])} more"
        f" off-CPU than t0 waited{db}: requests wait for each other inside the app; X x t0 = {n['parallelism']:.2f}"
        f" of {f.capacity} workers x threads, {_busy(case)}"
    )
    advice = (
        f"more workers cannot help: {wait_cause(n.get('db_share'), f)}; --explain fits the serial fraction"
        " over worker counts"
    )
    return why, advice


def _waits_inside_app(finding: Finding, case: Case) -> tuple[str, str]:
    f, n = case.figures, finding.numbers
    why = (
        f"the app's wall time grew from t0 {ms(f.t0_s)} to {_wall_text(case)} under load, {ms(n['waited_s'])} more"
        f" off-CPU than t0 waited: requests wait for each other inside the app; X x t0 = {n['parallelism']:.2f}"
        f" of {f.capacity} workers x threads, {_busy(case)}"
    )
    return why, "find what the requests share (a lock, a connection pool, the database); compare more worker counts"


def _numbers_head(case: Case) -> str:
    f = case.figures
    return (
        f"X {f.throughput_rps:,.0f} r/s, R {ms(f.response_s)}, N = X x R {f.in_flight:.1f}"
        f" of {f.concurrency} connections, {_busy(case)}"
    )


def _untimed(finding: Finding, case: Case) -> tuple[str, str]:
    return (
        f"{_numbers_head(case)}; {NOT_TIMED}",
        "run it again without --no-timing to tell io-bound, worker-limited and a wait inside the app apart",
    )


def _no_rule_fits(finding: Finding, case: Case) -> tuple[str, str]:
    why = f"{_numbers_head(case)}, app wall {ms(case.figures.app_wall_s)}{_cpu_text(finding, case)}"
    return why, "no single limit fits: compare more worker counts (--explain)"


_DIAGNOSIS: dict[str, Callable[[Finding, Case], tuple[str, str]]] = {
    "bad_data": _bad_data,
    "rate_kept": _rate_kept,
    "machine_shared": _machine_shared,
    "cpu_saturated": _cpu_saturated,
    "too_few_connections": _too_few_connections,
    **dict.fromkeys(_WHERE, _serialized),
    "process_on_a_core": _process_on_a_core,
    "overlapped_waits": _overlapped_waits,
    "workers_waiting": _workers_waiting,
    "workers_computing": _workers_computing,
    "workers_between": _workers_between,
    "contended": _contended,
    "waits_inside_app": _waits_inside_app,
    "untimed": _untimed,
    "no_rule_fits": _no_rule_fits,
}


def diagnosis_words(finding: Finding, case: Case) -> tuple[str, str]:
    """(why, advice) of a verdict rule's finding."""
    return _DIAGNOSIS[finding.rule](finding, case)
