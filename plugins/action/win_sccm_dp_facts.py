# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mecm.fieldkit.win_sccm_dp_facts: one read-only batch per distribution point."""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._action_base import FieldkitAction, runner_failure
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import BatchOutcome, utc_now
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_facts import (
    HOST_NAME_RE, MAX_SOURCE_DPS, plan_dp_facts, shape_dp_facts)
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import PlannedOp

# option -> (minimum, maximum)
_RANGES = {
    "log_window_hours": (1, 8760),
    "event_window_hours": (1, 8760),
    "max_events": (0, 1000),
    "log_max_lines": (0, 5000),
    "log_max_bytes": (0, 4194304),
    "source_probe_timeout": (1, 600),
    "source_connect_timeout_ms": (100, 60000),
}


def check_ranges(params: dict[str, t.Any], ranges: dict[str, tuple[int, int]]) -> None:
    """Raise AnsibleActionFail naming the option, its value and the allowed range."""
    for name, (low, high) in ranges.items():
        value = params.get(name)
        if value is not None and not low <= value <= high:
            raise AnsibleActionFail(f"option {name}={value!r} is out of range; allowed: {low} to {high}")


def check_source_dps(names: list[t.Any]) -> None:
    """source_dps: host names, each once, at most MAX_SOURCE_DPS; raise AnsibleActionFail naming the entry."""
    if len(names) > MAX_SOURCE_DPS:
        raise AnsibleActionFail(f"option source_dps has {len(names)} entries; allowed: at most {MAX_SOURCE_DPS}")
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not HOST_NAME_RE.fullmatch(name):
            raise AnsibleActionFail(f"option source_dps: {name!r} is not a host name; allowed: the FQDN of a source "
                                    "DP such as dp01.contoso.local (letters, digits, '-' and '.')")
        key = name.lower().rstrip(".")
        if key in seen:
            raise AnsibleActionFail(f"option source_dps: {name!r} is listed twice; allowed: each source DP once")
        seen.add(key)


class ActionModule(FieldkitAction):
    argument_spec: dict[str, t.Any] = {
        "log_window_hours": {"type": "int", "default": 72},
        "event_window_hours": {"type": "int", "default": 168},
        "max_events": {"type": "int", "default": 10},
        "log_max_lines": {"type": "int", "default": 50},
        "log_max_bytes": {"type": "int", "default": 16384},
        "gather_hotfixes": {"type": "bool", "default": True},
        "source_dps": {"type": "list", "elements": "raw", "default": []},
        "source_probe_timeout": {"type": "int", "default": 15},
        "source_connect_timeout_ms": {"type": "int", "default": 3000},
    }

    def validate_params(self, params: dict[str, t.Any]) -> None:
        check_ranges(params, _RANGES)
        check_source_dps(params["source_dps"])

    def plan(self, params: dict[str, t.Any], task_vars: dict[str, t.Any]) -> list[PlannedOp]:
        return plan_dp_facts(params, utc_now())

    def shape(self, params: dict[str, t.Any], outcome: BatchOutcome) -> dict[str, t.Any]:
        failure = runner_failure(outcome)
        if failure:
            return failure
        facts = shape_dp_facts(outcome, started=outcome.started_utc, finished=outcome.finished_utc,
                               source_dps=params["source_dps"])
        result: dict[str, t.Any] = {"changed": False, "ansible_facts": {"sccm_dp": facts}}
        warnings = [f"could not read {e['step']} ({e['op']}): {e['hresult']} {e['message']}" for e in facts["errors"]]
        if facts["role"] is not None and not facts["role"]["installed"]:
            warnings.append("the distribution point role is not installed on this host "
                            "(no HKLM\\SOFTWARE\\Microsoft\\SMS\\DP content library, no SMS_DP$ share)")
        for source in (facts["pull_dp"] or {}).get("source_dps", []):
            if source["reachable"] is False:
                warnings.append(f"source DP {source['name']} is not reachable from this pull DP over HTTP/HTTPS "
                                "(name resolution, TCP 80/443)")
        if warnings:
            result["warnings"] = warnings
        return result
