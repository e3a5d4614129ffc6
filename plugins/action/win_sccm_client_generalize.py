# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mecm.fieldkit.win_sccm_client_generalize: the whole image-prep procedure as one batch.

A real run that removed something (or found the host record of an earlier run) takes a second module
execution once the answer of the first has arrived: it removes the host record of what was removed and,
with sysprep, runs the capture-ready gate and starts sysprep (``_generalize.plan_followup``). An answer
that is lost (connection dropped, task timeout) makes the host unreachable, with what is known, never a
raw transport error: the batch may have run, and the next run reports what it removed from the record.
"""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._action_base import (
    AnswerLost,
    FieldkitAction,
    clean_failure,
    run_batch_or_lost,
)
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import BatchOutcome
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._generalize import (
    DEFAULT_CCMCACHE_PATH,
    SCENARIOS,
    STEPS,
    HEALTH_TASK_FINAL_STATES,
    MODES,
    RECORD_KEY,
    GeneralizeOptions,
    apply_platform_skips,
    OptionError,
    build_options,
    plan_followup,
    plan_generalize,
    shape_generalize,
)
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._generalize_verify import plan_verify, shape_verify
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._imaging_platform import PLATFORM_HANDLES, platform_handled_steps
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import PlannedOp


def argument_spec() -> dict[str, t.Any]:
    """A fresh argument spec: Ansible's validator fills the default dicts of suboptions in place."""
    return {
        "scenario": {"type": "str", "default": "recapture", "choices": list(SCENARIOS)},
        "steps": {"type": "dict", "default": {}, "options": {step: {"type": "bool"} for step in STEPS}},
        "pki_certificate_filter": {"type": "dict", "options": {
            "store_name": {"type": "str", "default": "My"},
            "thumbprints": {"type": "list", "elements": "str", "default": []},
            "issuer": {"type": "str"},
            "template": {"type": "str"},
            "allow_multiple": {"type": "bool", "default": False},
        }},
        "service_stop_timeout": {"type": "int", "default": 60},
        "kill_hung_service": {"type": "bool", "default": True},
        "ccmcache_path": {"type": "str", "default": DEFAULT_CCMCACHE_PATH},
        "allow_provisioning_mode": {"type": "bool", "default": False},
        "remove_mp_block_rules": {"type": "bool", "default": False},
        "sysprep": {"type": "dict", "default": {}, "options": {
            "enabled": {"type": "bool", "default": False},
            "mode_vm": {"type": "bool", "default": False},
        }},
        "health_task_final_state": {"type": "str", "default": "enabled", "choices": list(HEALTH_TASK_FINAL_STATES)},
        "platform_handles": {"type": "str", "default": "none", "choices": list(PLATFORM_HANDLES)},
        "mode": {"type": "str", "default": "prepare", "choices": list(MODES)},
        "fail_when_not_ready": {"type": "bool", "default": True},
    }


class ActionModule(FieldkitAction):
    @property  # type: ignore[override]
    def argument_spec(self) -> dict[str, t.Any]:  # pylint: disable=invalid-overridden-method
        return argument_spec()

    _options: GeneralizeOptions | None = None
    _inventory_hostname: str | None = None

    def validate_params(self, params: dict[str, t.Any]) -> None:
        try:
            self._options = build_options(params)
        except OptionError as err:
            raise AnsibleActionFail(f"invalid options for win_sccm_client_generalize: {err}") from err

    def _validated(self) -> GeneralizeOptions:
        if self._options is None:
            raise AnsibleActionFail("internal error: the options were not validated")
        return self._options

    def _apply_platform(self, params: dict[str, t.Any], task_vars: dict[str, t.Any]) -> None:
        """platform_handles=auto: leave the steps the imaging platform performs to it (from the facts)."""
        self._platform = None
        if params.get("platform_handles") != "auto":
            return
        facts = ((task_vars.get("ansible_facts") or {}).get("sccm_client") or {}).get("imaging_platform")
        if not isinstance(facts, dict):
            raise AnsibleActionFail(
                "platform_handles=auto needs ansible_facts.sccm_client.imaging_platform: run "
                "mecm.fieldkit.win_sccm_client_facts on this host earlier in the play (or set platform_handles=none)")
        skips = platform_handled_steps("auto", facts)
        self._options = apply_platform_skips(self._validated(), skips)
        self._platform = {"mode": "auto", "detected": list(facts.get("detected") or []),
                          "skipped_steps": sorted(self._validated().platform_skipped),
                          "reason": next(iter(skips.values()), None)}

    _platform: dict[str, t.Any] | None = None

    def plan(self, params: dict[str, t.Any], task_vars: dict[str, t.Any]) -> list[PlannedOp]:
        self._apply_platform(params, task_vars)
        if self._validated().mode == "verify":
            # Read-only ops only, the same plan in check mode: verify changes nothing either way.
            return plan_verify(self._validated())
        return plan_generalize(self._validated(), check_mode=bool(self._task.check_mode))

    def run_batch(self, plan: list[PlannedOp], task_vars: dict[str, t.Any]) -> BatchOutcome:
        return run_batch_or_lost(self, plan, task_vars)

    def shape(self, params: dict[str, t.Any], outcome: BatchOutcome) -> dict[str, t.Any]:
        options = self._validated()
        check_mode = bool(self._task.check_mode)
        if options.mode == "verify":
            return shape_verify(outcome, options, check_mode=check_mode, host=self._host_name())
        followup = None
        second = plan_followup(outcome, options, check_mode=check_mode)
        if second:
            try:
                followup = self.run_batch(second, self._task_vars or {})
            except AnswerLost as lost:
                raise _SecondAnswerLost(lost.reason, lost.detail, outcome) from lost
        shaped = shape_generalize(outcome, options, check_mode=check_mode, diff_mode=bool(self._task.diff),
                                  host=self._host_name(), followup=followup)
        if self._platform is not None:
            shaped["platform_handles"] = self._platform
        return shaped

    def _host_name(self) -> str:
        name = getattr(self._play_context, "remote_addr", None)
        inventory_name = getattr(self, "_inventory_hostname", None)
        return inventory_name or name or "the host"

    _task_vars: dict[str, t.Any] | None = None

    @clean_failure
    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._inventory_hostname = (task_vars or {}).get("inventory_hostname")
        self._task_vars = task_vars
        try:
            return super().run(tmp, task_vars)
        except _SecondAnswerLost as lost:
            # The first answer arrived: what was removed is known; the record may or may not be gone.
            shaped = shape_generalize(lost.first, self._validated(), check_mode=False, diff_mode=False,
                                      host=self._host_name())
            shaped.pop("failed", None)
            shaped.update(unreachable=True, module_executions=2, connection_error=lost.detail, msg=(
                f"{self._host_name()}: the answer of the second module execution (removal of the host record "
                f"{RECORD_KEY}, capture-ready gate and sysprep when enabled) was lost: {lost.reason}. What the "
                "first one removed is in removed_identity; the host may already have been changed; rerun to "
                "recover what was removed and to remove the record"))
            return shaped
        except AnswerLost as lost:
            if self._options is not None and self._options.mode == "verify":
                return {"unreachable": True, "changed": False, "mode": "verify", "ready_for_capture": None,
                        "module_executions": 1, "connection_error": lost.detail,
                        "msg": (f"{self._host_name()}: the answer of the verify-only check was lost: {lost.reason}. "
                                "Verify reads only, so nothing was changed; run it again")}
            return {"unreachable": True, "changed": False, "removed_identity": None, "module_executions": 1,
                    "connection_error": lost.detail,
                    "msg": (f"{self._host_name()}: the answer of the image-prep batch was lost: {lost.reason}. "
                            "The batch may have run: the host may already have been changed; rerun to recover "
                            f"what was removed (the host record {RECORD_KEY} keeps it until a run reports it)")}


class _SecondAnswerLost(AnswerLost):
    def __init__(self, reason: str, detail: str, first: BatchOutcome) -> None:
        super().__init__(reason, detail)
        self.first = first
