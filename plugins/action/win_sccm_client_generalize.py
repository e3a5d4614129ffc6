# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mecm.fieldkit.win_sccm_client_generalize: the whole image-prep procedure as one batch."""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._action_base import FieldkitAction
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import BatchOutcome
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._generalize import (
    DEFAULT_CCMCACHE_PATH,
    SCENARIOS,
    STEPS,
    GeneralizeOptions,
    OptionError,
    build_options,
    plan_generalize,
    shape_generalize,
)
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

    def plan(self, params: dict[str, t.Any], task_vars: dict[str, t.Any]) -> list[PlannedOp]:
        return plan_generalize(self._validated())

    def shape(self, params: dict[str, t.Any], outcome: BatchOutcome) -> dict[str, t.Any]:
        return shape_generalize(outcome, self._validated(), check_mode=bool(self._task.check_mode),
                                diff_mode=bool(self._task.diff), host=self._host_name())

    def _host_name(self) -> str:
        name = getattr(self._play_context, "remote_addr", None)
        inventory_name = getattr(self, "_inventory_hostname", None)
        return inventory_name or name or "the host"

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._inventory_hostname = (task_vars or {}).get("inventory_hostname")
        return super().run(tmp, task_vars)
