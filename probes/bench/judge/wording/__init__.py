"""Every sentence servebench says about a judgement, from the findings the rules return.

The rules (rules.py, concurrency.py, scaling.py, knee.py, compare.py) decide; this package only
words what they found, and the reports reuse it. The words are saved beside the figures
(Diagnosis.why and .advice, Scaling.summary), so results saved earlier read as they did.
"""

from __future__ import annotations

from .across_runs import (
    concurrency_advice,
    knee_summary,
    no_fit_reason,
    peak_label,
    scaling_summary,
    serial_advice,
    sigma_label,
    worker_counts,
)
from .causes import SHARED_THREAD, connection_per_request, progress_text, unattributed_text, wait_cause
from .crossings import thread_shares_text, with_crossings
from .verdicts import (
    CPU_BOUND_NOT_SERIALIZED,
    NOT_TIMED,
    diagnosis_words,
    ms,
    server_gain_text,
    shares_text,
    short,
    verdict_text,
)

__all__ = [
    "CPU_BOUND_NOT_SERIALIZED",
    "NOT_TIMED",
    "SHARED_THREAD",
    "concurrency_advice",
    "connection_per_request",
    "diagnosis_words",
    "knee_summary",
    "ms",
    "peak_label",
    "no_fit_reason",
    "progress_text",
    "scaling_summary",
    "serial_advice",
    "server_gain_text",
    "shares_text",
    "short",
    "unattributed_text",
    "sigma_label",
    "thread_shares_text",
    "verdict_text",
    "wait_cause",
    "with_crossings",
    "worker_counts",
]
