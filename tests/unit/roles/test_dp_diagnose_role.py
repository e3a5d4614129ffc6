# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dp_diagnose role's up-front validation (tasks/validate.yml) allows what the modules allow, no more, and
covers the variables of meta/argument_specs.yml (issue 9 defect 2)."""
from __future__ import annotations

import re

import yaml

from ansible_collections.mecm.fieldkit.plugins.action import win_sccm_dp_facts, win_sccm_site_facts
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_facts
from tests.simhost.paths import REPO_ROOT

ROLE = REPO_ROOT / "roles" / "dp_diagnose"


def _validate_vars() -> dict:
    (task,) = yaml.safe_load((ROLE / "tasks" / "validate.yml").read_text(encoding="utf-8"))
    assert task["run_once"] is True and task["any_errors_fatal"] is True
    return task["vars"]


def test_role_ranges_are_the_module_ranges() -> None:
    ranges = _validate_vars()["dp_diagnose_ranges"]
    modules = {**win_sccm_dp_facts._RANGES, **win_sccm_site_facts._RANGES}
    for variable, option in (("dp_diagnose_probe_timeout", "probe_timeout"),
                             ("dp_diagnose_max_parallel", "max_parallel"),
                             ("dp_diagnose_log_window_hours", "log_window_hours"),
                             ("dp_diagnose_log_max_lines", "log_max_lines"),
                             ("dp_diagnose_log_max_bytes", "log_max_bytes")):
        assert tuple(ranges[variable]) == modules[option], variable


def test_role_patterns_accept_what_the_modules_accept() -> None:
    role = _validate_vars()
    host = re.compile(role["dp_diagnose_host_name_re"])
    unc = re.compile(role["dp_diagnose_unc_re"])
    for name in ("dp01", "dp01.contoso.local", "dp01.contoso.local.", "a" * 63 + ".example", "dp 01", "dp_01",
                 "dp01\n", "-dp", "dp01;calc"):
        assert bool(host.match(name)) is bool(_dp_facts.HOST_NAME_RE.fullmatch(name)), repr(name)
    for path in ("\\\\cm01\\Sources", "\\\\cm01.contoso.local\\Sources\\Apps", "D:\\Sources", "\\\\cm01",
                 "\\\\cm01\\Sources\n", "//cm01/Sources"):
        assert bool(unc.match(path)) is bool(_dp_facts.UNC_RE.fullmatch(path)), repr(path)


def test_every_validated_variable_is_a_documented_role_option() -> None:
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]
    options = specs["main"]["options"]
    role = _validate_vars()
    assert set(role["dp_diagnose_ranges"]) | set(role["dp_diagnose_choices"]) <= set(options)
    for variable, allowed in role["dp_diagnose_choices"].items():
        assert options[variable]["choices"] == allowed, variable
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
    for variable, (low, high) in role["dp_diagnose_ranges"].items():
        assert low <= defaults[variable] <= high, variable
