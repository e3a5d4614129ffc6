# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mecm.fieldkit.win_sccm_dp_facts: one read-only batch per distribution point."""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._action_base import FieldkitAction, runner_failure
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import BatchOutcome, utc_now
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_facts import plan_dp_facts, shape_dp_facts
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import PlannedOp

# option -> (minimum, maximum)
_RANGES = {
    "log_window_hours": (1, 8760),
    "event_window_hours": (1, 8760),
    "max_events": (0, 1000),
    "log_max_lines": (0, 5000),
    "log_max_bytes": (0, 4194304),
}


def check_ranges(params: dict[str, t.Any], ranges: dict[str, tuple[int, int]]) -> None:
    """Raise AnsibleActionFail naming the option, its value and the allowed range."""
    for name, (low, high) in ranges.items():
        value = params.get(name)
        if value is not None and not low <= value <= high:
            raise AnsibleActionFail(f"option {name}={value!r} is out of range; allowed: {low} to {high}")


class ActionModule(FieldkitAction):
    argument_spec: dict[str, t.Any] = {
        "log_window_hours": {"type": "int", "default": 72},
        "event_window_hours": {"type": "int", "default": 168},
        "max_events": {"type": "int", "default": 10},
        "log_max_lines": {"type": "int", "default": 50},
        "log_max_bytes": {"type": "int", "default": 16384},
        "gather_hotfixes": {"type": "bool", "default": True},
    }

    def validate_params(self, params: dict[str, t.Any]) -> None:
        check_ranges(params, _RANGES)

    def plan(self, params: dict[str, t.Any], task_vars: dict[str, t.Any]) -> list[PlannedOp]:
        return plan_dp_facts(params, utc_now())

    def shape(self, params: dict[str, t.Any], outcome: BatchOutcome) -> dict[str, t.Any]:
        failure = runner_failure(outcome)
        if failure:
            return failure
        facts = shape_dp_facts(outcome, started=outcome.started_utc, finished=outcome.finished_utc)
        result: dict[str, t.Any] = {"changed": False, "ansible_facts": {"sccm_dp": facts}}
        warnings = [f"could not read {e['step']} ({e['op']}): {e['hresult']} {e['message']}" for e in facts["errors"]]
        if facts["role"] is not None and not facts["role"]["installed"]:
            warnings.append("the distribution point role is not installed on this host "
                            "(no HKLM\\SOFTWARE\\Microsoft\\SMS\\DP content library, no SMS_DP$ share)")
        if warnings:
            result["warnings"] = warnings
        return result
