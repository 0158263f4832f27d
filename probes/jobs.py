"""servebench's jobs over the Django project: the glue between settings and the engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings

from . import project
from .bench.model import Metadata, Skipped, Suite, ViewCost
from .bench.services import Memcached, ServiceUnavailable, memcached_answers, parse_address, start_memcached
from .bench.supervisor import Supervisor
from .bench.viewcost import measure_view_cost
from .catalog import Probe
from .conf import get_config

Progress = Callable[[str], None]


class JobError(RuntimeError):
    """A problem the user can fix; the command shows its message on one line."""


@dataclass(frozen=True)
class Services:
    memcached: Memcached | None
    skipped: tuple[Skipped, ...]


def provide_services(
    probes: Sequence[Probe], *, supervisor: Supervisor, memcached_address: str | None, required: bool
) -> Services:
    """Start (or check) the memcached the selected probes need; required=True fails instead of skipping."""
    needing = [probe for probe in probes if probe.needs_memcached]
    if not needing:
        return Services(None, ())
    alias = project.managed_memcached_alias()
    try:
        if memcached_address:
            host, port = parse_address(memcached_address)
            if not memcached_answers(host, port):
                raise JobError(f"no memcached answers at {memcached_address}")
            memcached = Memcached(host, port, None)
        elif alias is None:
            # The project's own cache configuration is used as it is.
            return Services(None, ())
        else:
            memcached = start_memcached(supervisor)
    except (ServiceUnavailable, ValueError) as exc:
        if required:
            raise JobError(str(exc)) from None
        return Services(None, tuple(Skipped(probe.name, str(exc)) for probe in needing))
    if alias is not None:
        project.use_memcached(alias, memcached.address)
    return Services(memcached, ())


def view_cost_job(
    probes: Sequence[Probe],
    *,
    supervisor: Supervisor,
    memcached_address: str | None,
    required: bool,
    progress: Progress,
) -> Suite:
    """Measure each probe in-process; probes whose service is missing are skipped with the reason."""
    services = provide_services(
        probes, supervisor=supervisor, memcached_address=memcached_address, required=required
    )
    skipped_names = {item.name for item in services.skipped}
    if any(probe.needs_db for probe in probes):
        project.prepare_owned_database()
    app = project.wsgi_application()
    host = project.host_header()
    config = get_config()
    costs: list[ViewCost] = []
    try:
        for probe in probes:
            if probe.name in skipped_names:
                continue
            progress(f"view cost: {probe.name}")
            costs.append(
                measure_view_cost(
                    app,
                    name=probe.name,
                    path=probe.path(),
                    host=host,
                    warmup=config["VIEW_COST_WARMUP"],
                    min_iterations=config["VIEW_COST_MIN_ITERATIONS"],
                    min_time_s=config["VIEW_COST_MIN_TIME_S"],
                    max_iterations=config["VIEW_COST_MAX_ITERATIONS"],
                )
            )
    finally:
        if any(probe.needs_db for probe in probes):
            project.delete_owned_sessions()
    return Suite(
        metadata=Metadata.collect(settings_module=settings.SETTINGS_MODULE),
        view_costs=tuple(costs),
        skipped=services.skipped,
    )
