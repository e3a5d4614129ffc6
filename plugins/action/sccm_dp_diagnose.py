# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mecm.fieldkit.sccm_dp_diagnose: the DP checklist, on the controller only."""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._action_base import clean_failure
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_diagnose import DEFAULT_THRESHOLDS, diagnose

_PERCENT = ("free_space_warn_percent", "free_space_fail_percent")
_GB = ("free_space_warn_gb", "free_space_fail_gb")


def facts_from_hostvars(task_vars: dict[str, t.Any], host: str, fact: str) -> dict[str, t.Any] | None:
    """``hostvars[host].ansible_facts[fact]`` or None (host unknown, unreachable, facts not gathered)."""
    hostvars = task_vars.get("hostvars") or {}
    if host not in hostvars:
        raise AnsibleActionFail(f"host {host!r} is not in the inventory")
    facts = hostvars[host].get("ansible_facts") or {}
    value = facts.get(fact)
    return dict(value) if isinstance(value, dict) else None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    argument_spec: dict[str, t.Any] = {
        "site_facts": {"type": "dict"},
        "site_host": {"type": "str"},
        "dp_facts": {"type": "dict"},
        "dp_hosts": {"type": "list", "elements": "str"},
        "distribution_points": {"type": "list", "elements": "str"},
        "language": {"type": "str", "default": "en", "choices": ["en", "ja"]},
        "free_space_warn_percent": {"type": "float", "default": DEFAULT_THRESHOLDS["free_space_warn_percent"]},
        "free_space_fail_percent": {"type": "float", "default": DEFAULT_THRESHOLDS["free_space_fail_percent"]},
        "free_space_warn_gb": {"type": "float", "default": DEFAULT_THRESHOLDS["free_space_warn_gb"]},
        "free_space_fail_gb": {"type": "float", "default": DEFAULT_THRESHOLDS["free_space_fail_gb"]},
        "max_log_lines_per_finding": {"type": "int", "default": int(DEFAULT_THRESHOLDS["max_log_lines_per_finding"])},
    }

    @clean_failure
    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        _validation, params = self.validate_argument_spec(
            argument_spec=self.argument_spec,
            mutually_exclusive=[["site_facts", "site_host"], ["dp_facts", "dp_hosts"]],
            required_one_of=[["dp_facts", "dp_hosts", "distribution_points"]],
        )
        for name in _PERCENT:
            if not 0 <= params[name] <= 100:
                raise AnsibleActionFail(f"option {name}={params[name]!r} is out of range; allowed: 0 to 100")
        for name in _GB:
            if params[name] < 0:
                raise AnsibleActionFail(f"option {name}={params[name]!r} is out of range; allowed: 0 or more")
        for warn, fail in (_PERCENT, _GB):
            if params[fail] > params[warn]:
                raise AnsibleActionFail(f"option {fail}={params[fail]!r} must not be above {warn}={params[warn]!r}")
        if params["max_log_lines_per_finding"] < 0:
            raise AnsibleActionFail(f"option max_log_lines_per_finding={params['max_log_lines_per_finding']!r} "
                                    "is out of range; allowed: 0 or more")

        site = params["site_facts"]
        if params["site_host"]:
            site = facts_from_hostvars(task_vars, params["site_host"], "sccm_site")
        if params["dp_hosts"] is not None:
            dp_facts = {host: facts_from_hostvars(task_vars, host, "sccm_dp") for host in params["dp_hosts"]}
        else:
            dp_facts = dict(params["dp_facts"] or {})
        thresholds = {name: params[name] for name in (*_PERCENT, *_GB, "max_log_lines_per_finding")}
        try:
            diagnosis = diagnose(site, dp_facts, language=params["language"], dps=params["distribution_points"],
                                 thresholds=thresholds)
        except ValueError as err:
            raise AnsibleActionFail(str(err)) from err
        result.update(changed=False, diagnosis=diagnosis)
        warning = diagnosis["probe_identity"]["warning"]
        if warning:
            result["warnings"] = [warning]
        result["invocation"] = {"module_args": {k: v for k, v in params.items() if k not in ("site_facts", "dp_facts")}}
        return result
