# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mecm.fieldkit.win_sccm_site_facts: one batch on the site server probes every DP."""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.mecm.fieldkit.plugins.action.win_sccm_dp_facts import check_ranges
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._action_base import FieldkitAction, runner_failure
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import BatchOutcome, utc_now
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_content import (
    MAX_STUCK_PACKAGES_RANGE,
    plan_distribution_status,
    shape_distribution,
)
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_facts import (
    SITE_LOG_PATHS,
    SITE_LOGS,
    UNC_RE,
    plan_site_facts,
    shape_site_facts,
    site_log_ref,
    split_dps,
    window_start_utc,
)
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import PlannedOp

_RANGES = {
    "probe_timeout": (1, 600),
    "connect_timeout_ms": (100, 60000),
    "max_parallel": (1, 64),
    "log_window_hours": (1, 8760),
    "log_max_lines": (0, 5000),
    "log_max_bytes": (0, 4194304),
    "event_window_hours": (1, 8760),
    "max_events": (0, 1000),
    "max_stuck_packages": MAX_STUCK_PACKAGES_RANGE,
}


class ActionModule(FieldkitAction):
    argument_spec: dict[str, t.Any] = {
        "distribution_points": {"type": "list", "elements": "str", "default": []},
        "source_shares": {"type": "list", "elements": "str", "default": []},
        "discover_source_shares": {"type": "bool", "default": True},
        "tcp_ports": {"type": "list", "elements": "int", "default": [135, 445, 80, 443]},
        "probe_timeout": {"type": "int", "default": 30},
        "connect_timeout_ms": {"type": "int", "default": 3000},
        "max_parallel": {"type": "int", "default": 16},
        "site_logs": {"type": "list", "elements": "str", "default": list(SITE_LOGS)},
        "log_paths": {"type": "list", "elements": "str", "default": list(SITE_LOG_PATHS)},
        "log_window_hours": {"type": "int", "default": 72},
        "log_max_lines": {"type": "int", "default": 200},
        "log_max_bytes": {"type": "int", "default": 65536},
        "event_window_hours": {"type": "int", "default": 168},
        "max_events": {"type": "int", "default": 10},
        "gather_hotfixes": {"type": "bool", "default": True},
        "max_stuck_packages": {"type": "int", "default": 50},
    }

    def validate_params(self, params: dict[str, t.Any]) -> None:
        check_ranges(params, _RANGES)
        # A bad DP name does not stop the probe of the others: it gets its own entry in dps with the reason
        # (shape_site_facts), and a name listed twice is probed once (split_dps).
        for path in params["source_shares"]:
            if not UNC_RE.fullmatch(path):
                raise AnsibleActionFail(f"option source_shares: {path!r} is not a UNC path; allowed: "
                                        "\\\\server\\share or \\\\server\\share\\folder")
        for port in params["tcp_ports"]:
            if not 1 <= port <= 65535:
                raise AnsibleActionFail(f"option tcp_ports: {port!r} is not a TCP port; allowed: 1 to 65535")
        # Read as SYSTEM on the site server: only ConfigMgr log files in the two log folders (the host checks the
        # same pattern, _host_contract.LOG_FILE_NAME_PATTERN).
        for name in params["site_logs"]:
            if site_log_ref(name) is None:
                raise AnsibleActionFail(f"option site_logs: {name!r} is not a ConfigMgr log file name; allowed: a "
                                        "file of the site log folder such as distmgr.log or distmgr.lo_ (letters, "
                                        "digits, '_', '-', '.'), without folders")
        for path in params["log_paths"]:
            if site_log_ref(path, "client") is None:
                raise AnsibleActionFail(f"option log_paths: {path!r} is not a ConfigMgr log file of the client log "
                                        "folder; allowed: %windir%\\CCM\\Logs\\<name>.log or .lo_ (the name "
                                        "of letters, digits, '_', '-', '.'); files of the site log folder go in "
                                        "site_logs")

    def plan(self, params: dict[str, t.Any], task_vars: dict[str, t.Any]) -> list[PlannedOp]:
        self._now = utc_now()
        plan = plan_site_facts(params, self._now)
        # The content state per DP, in the same batch (one module execution for the whole site probe).
        valid, _rejected, _duplicates = split_dps(params["distribution_points"])
        distribution = plan_distribution_status(valid, params["max_stuck_packages"])
        return plan + ([distribution] if distribution else [])

    def shape(self, params: dict[str, t.Any], outcome: BatchOutcome) -> dict[str, t.Any]:
        failure = runner_failure(outcome)
        if failure:
            return failure
        facts = shape_site_facts(outcome, params, started=outcome.started_utc, finished=outcome.finished_utc,
                                 since_utc=window_start_utc(self._now, params["log_window_hours"]))
        facts["distribution"] = shape_distribution(outcome.data("distribution"), params["max_stuck_packages"])
        result: dict[str, t.Any] = {"changed": False, "ansible_facts": {"sccm_site": facts}}
        warnings = [f"could not read {e['step']} ({e['op']}): {e['hresult']} {e['message']}" for e in facts["errors"]]
        _valid, rejected, duplicates = split_dps(params["distribution_points"])
        warnings += list(rejected.values())
        warnings += [f"option distribution_points lists {name!r} more than once; probed once" for name in duplicates]
        identity = facts["probe_identity"]
        if identity["as_system"] is False:
            warnings.append(
                f"win_sccm_site_facts ran as {identity['user']}, not as SYSTEM: remote WMI and share tests used that "
                "account (and no credentials on the second hop), not the site server's computer account that "
                "ConfigMgr uses; run it with become: true, become_method: runas, become_user: SYSTEM")
        distribution = facts["distribution"]
        if distribution is not None and distribution["error"]:
            error = distribution["error"]
            warnings.append(f"could not read the content distribution state from the SMS Provider: "
                            f"{error.get('hresult')} {error.get('message')}")
        elif distribution is not None and (distribution["timed_out"] or distribution["rows_truncated"]):
            warnings.append("the content distribution state is incomplete (SMS Provider deadline or row bound "
                            "reached); content counts may be missing")
        if facts["site_code"] is None:
            warnings.append("no ConfigMgr site found on this host (HKLM\\SOFTWARE\\Microsoft\\SMS\\Identification)")
        if warnings:
            result["warnings"] = warnings
        return result
