# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mecm.fieldkit.win_sccm_client_facts: one read-only batch per host."""
from __future__ import annotations

import typing as t

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._action_base import FieldkitAction, runner_failure
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import BatchOutcome
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._client_facts import plan_client_facts, shape_client_facts
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import PlannedOp


class ActionModule(FieldkitAction):
    argument_spec: dict[str, t.Any] = {}

    def plan(self, params: dict[str, t.Any], task_vars: dict[str, t.Any]) -> list[PlannedOp]:
        return plan_client_facts()

    def shape(self, params: dict[str, t.Any], outcome: BatchOutcome) -> dict[str, t.Any]:
        failure = runner_failure(outcome)
        if failure:
            return failure
        if outcome.failed_op:
            return {"failed": True, "changed": False, "msg": f"could not read the client state: {outcome.error_summary}"}
        return {"changed": False, "ansible_facts": {"sccm_client": shape_client_facts(outcome)}}
