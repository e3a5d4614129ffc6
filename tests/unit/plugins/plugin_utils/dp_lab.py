"""In-process DP lab for unit tests: the real plans of win_sccm_dp_facts / win_sccm_site_facts run
through the simulator's op implementations (no WinRM, no ansible-playbook) and the real shapers.
Everything here is simulated."""
from __future__ import annotations

import copy
import typing as t

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import parse_runner_result
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_facts import (
    SITE_LOG_PATHS,
    SITE_LOGS,
    plan_dp_facts,
    plan_site_facts,
    shape_dp_facts,
    shape_site_facts,
)
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import utc_now
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import PROTOCOL_VERSION, build_batch
from tests.simhost.host import Faults
from tests.simhost.model import HostModel, OpContext, load_fixture, merge_fixture
from tests.simhost.network import Network
from tests.simhost.runner import run_batch

DP_PARAMS = {"log_window_hours": 72, "event_window_hours": 168, "max_events": 10, "log_max_lines": 50,
             "log_max_bytes": 16384, "gather_hotfixes": True}
SITE_PARAMS = {"distribution_points": [], "source_shares": ["\\\\cm01.contoso.local\\Sources"],
               "tcp_ports": [135, 445, 80, 443], "probe_timeout": 30, "connect_timeout_ms": 3000, "max_parallel": 16,
               "site_logs": list(SITE_LOGS), "log_paths": list(SITE_LOG_PATHS), "log_window_hours": 72,
               "log_max_lines": 200, "log_max_bytes": 65536, "event_window_hours": 168, "max_events": 10,
               "gather_hotfixes": True}
SYSTEM = OpContext(become_user="SYSTEM")
WINRM_USER = OpContext()


def model(name: str, fixture: str | dict[str, t.Any], overlay: dict[str, t.Any] | None = None) -> HostModel:
    state = load_fixture(fixture) if isinstance(fixture, str) else copy.deepcopy(fixture)
    if overlay:
        state = merge_fixture(state, overlay)
    host = HostModel(state)
    host.state["name"] = name
    return host


def connect(*models: HostModel) -> Network:
    network = Network(models)
    for host in models:
        host.network = network
    return network


def run(host: HostModel, plan: list, ctx: OpContext = SYSTEM):
    body, _rc = run_batch(host, {"ops": build_batch(plan), "protocol": PROTOCOL_VERSION}, ctx, Faults([]))
    return parse_runner_result(body, plan), body


def dp_facts(host: HostModel, **params: t.Any) -> dict[str, t.Any]:
    outcome, _ = run(host, plan_dp_facts(dict(DP_PARAMS, **params), utc_now()))
    now = utc_now()
    return shape_dp_facts(outcome, started=now, finished=now)


def site_facts(host: HostModel, dps: list[str], ctx: OpContext = SYSTEM, **params: t.Any) -> dict[str, t.Any]:
    merged = dict(SITE_PARAMS, distribution_points=dps, **params)
    outcome, _ = run(host, plan_site_facts(merged, utc_now()), ctx)
    now = utc_now()
    return shape_site_facts(outcome, merged, started=now, finished=now)


def lab(dps: dict[str, str | dict[str, t.Any]], site_overlay: dict[str, t.Any] | None = None
        ) -> tuple[HostModel, dict[str, HostModel]]:
    """A site server cm01.contoso.local and the given DPs (name -> fixture), on one network."""
    site = model("cm01.contoso.local", "site_cm01", site_overlay)
    hosts = {name: model(name, fixture) for name, fixture in dps.items()}
    # The site knows its DPs: each one is a site system of the SMS Provider (installed with the computer account).
    provider = site.state.get("sms_provider")
    if provider is not None:
        known = {str(s.get("server")).lower() for s in provider.get("systems", [])}
        provider.setdefault("systems", []).extend(
            {"server": name, "roles": ["SMS Site System", "SMS Distribution Point"], "use_machine_account": True,
             "user_name": None} for name in dps if name.lower() not in known)
    connect(site, *hosts.values())
    return site, hosts
