"""Contract: each runner ships every function its ops call, and only our module utils define them once.

A runner module ships the module utils its ``#AnsibleRequires`` lines name, and those they name in turn. For
every op a runner can be sent (its module util is one the runner ships), every function the op's PowerShell
function calls, directly or transitively, must be defined in a shipped util; a function called from another util
must be exported by its own; every ``$script:`` variable a function uses must be assigned at script level in the
function's own util. On the host, a missing function is a CommandNotFoundException in the middle of a batch, and a
``$script:`` constant of another .psm1 is ``$null`` (StrictMode: an error). A name is ours when any of our .psm1
files defines it; every other command is a cmdlet or a program and is not followed.
"""
from __future__ import annotations

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import OP_MODULE_UTIL, RUNNERS, all_ops
from tests.simhost.paths import REPO_ROOT
from tests.simhost.psparse import check_syntax
from tests.unit.contract.ps_callgraph import (
    ModuleUtil,
    closure_problems,
    definitions,
    load_module_utils,
    parse_module_util,
    reached_functions,
    shipped_utils,
)

MODULE_UTILS = load_module_utils(REPO_ROOT / "plugins" / "module_utils")
OPS = all_ops()


def _runner_requires(runner: str) -> list[str]:
    source = (REPO_ROOT / "plugins" / "modules" / f"{runner.rsplit('.', 1)[-1]}.ps1").read_text(encoding="utf-8-sig")
    return list(parse_module_util(runner, source).requires)


def _shipped(runner: str) -> dict[str, ModuleUtil]:
    return {name: MODULE_UTILS[name] for name in shipped_utils(_runner_requires(runner), MODULE_UTILS)}


RUNNER_OPS = [(runner, op) for runner in RUNNERS for op in sorted(OPS)
              if OP_MODULE_UTIL[op] in shipped_utils(_runner_requires(runner), MODULE_UTILS)]


@pytest.mark.parametrize(("runner", "op_name"), RUNNER_OPS)
def test_runner_ships_every_function_the_op_calls(runner: str, op_name: str) -> None:
    problems = closure_problems(OPS[op_name].ps_function, _shipped(runner), MODULE_UTILS)
    assert not problems, f"{runner}, op {op_name}:\n" + "\n".join(map(str, problems))


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_runner_ships_the_utils_the_registry_routes_to_it(runner: str) -> None:
    shipped = shipped_utils(_runner_requires(runner), MODULE_UTILS)
    assert set(RUNNERS[runner]) <= set(shipped), f"{runner} does not ship {set(RUNNERS[runner]) - set(shipped)}"


def test_every_op_has_a_runner_that_runs_it() -> None:
    assert {op for _runner, op in RUNNER_OPS} == set(OPS)


def test_no_function_is_defined_in_two_module_utils() -> None:
    twice = {name: utils for name, utils in definitions(MODULE_UTILS.values()).items() if len(utils) > 1}
    assert not twice, f"defined in more than one module util: {twice}"


def test_every_function_is_reached_from_an_op_or_the_runner() -> None:
    """A function nothing calls is still carried to the host by every execution of every runner that ships its util."""
    roots = [spec.ps_function for spec in OPS.values()] + ["Invoke-FieldkitRunner"]
    reached = reached_functions(roots, MODULE_UTILS)
    dead = sorted(f"{function.name} ({util.name})" for util in MODULE_UTILS.values()
                  for key, function in util.functions.items() if key not in reached)
    assert not dead, f"no op and no runner reaches: {', '.join(dead)}"


def test_dp_and_site_runners_ship_client_helpers_and_system_ops_not() -> None:
    """Issue 12: the DP and site server runners run service.read and nothing else of the client-side utils."""
    for runner in ("mecm.fieldkit.sccm_op_runner_dp", "mecm.fieldkit.sccm_op_runner_site"):
        shipped = set(shipped_utils(_runner_requires(runner), MODULE_UTILS))
        assert not shipped & {"_FieldkitSystemOps", "_FieldkitClientCommon", "_FieldkitClientOps"}, runner
        assert OP_MODULE_UTIL["service.read"] in shipped


def test_dp_and_site_runners_ship_only_their_side() -> None:
    """The point of the split (issue 12): the DP runner carries no site server op, the site runner no DP-only op."""
    dp = set(shipped_utils(_runner_requires("mecm.fieldkit.sccm_op_runner_dp"), MODULE_UTILS))
    site = set(shipped_utils(_runner_requires("mecm.fieldkit.sccm_op_runner_site"), MODULE_UTILS))
    assert "_FieldkitSiteOps" not in dp and "_FieldkitDpOps" not in site
    assert {OP_MODULE_UTIL["sms.read_distribution_status"], OP_MODULE_UTIL["path.test_access"]} <= site - dp
    assert {OP_MODULE_UTIL["dp.read_role"], OP_MODULE_UTIL["group.read_members"]} <= dp - site


def _generalize_runners(params: dict, check_mode: bool) -> list[str]:
    """The runner of each batch a generalize run plans (the second one as after a clean first execution)."""
    from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _generalize
    from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import PlannedOp, runner_for

    options = _generalize.build_options(params)
    runners = [runner_for(_generalize.plan_generalize(options, check_mode))]
    if not check_mode:
        followup = [PlannedOp("clear_removal_record", "image.clear_removal_record", {"record_id": "x"})]
        if options.sysprep:
            followup += _generalize._sysprep_ops(options)  # pylint: disable=protected-access
        runners.append(runner_for(followup))
    return runners


def test_generalize_with_its_default_options_ships_no_optional_code() -> None:
    """Issue 12: each image-prep execution ships what its batch runs (docs/development.md has the table)."""
    assert _generalize_runners({}, check_mode=True) == ["mecm.fieldkit.sccm_op_runner_image"]
    assert _generalize_runners({"sysprep": {"enabled": True}}, check_mode=False) == [
        "mecm.fieldkit.sccm_op_runner_image", "mecm.fieldkit.sccm_op_runner_image_finish"]
    assert _generalize_runners({"remove_mp_block_rules": True}, check_mode=True) == [
        "mecm.fieldkit.sccm_op_runner_image_options"]
    generalize = set(shipped_utils(_runner_requires("mecm.fieldkit.sccm_op_runner_image"), MODULE_UTILS))
    finish = set(shipped_utils(_runner_requires("mecm.fieldkit.sccm_op_runner_image_finish"), MODULE_UTILS))
    install = set(shipped_utils(_runner_requires("mecm.fieldkit.sccm_op_runner_install"), MODULE_UTILS))
    optional = {OP_MODULE_UTIL[op] for op in ("sysprep.start", "folder.empty", "firewall.ensure_block_rule",
                                               "ccmsetup.start", "client.read_imaging_platform")}
    assert not generalize & optional
    assert OP_MODULE_UTIL["cert.remove"] not in finish | install  # the identity removal: generalize only
    assert OP_MODULE_UTIL["sysprep.start"] not in install and OP_MODULE_UTIL["ccmsetup.start"] not in finish


# The checker itself, on synthetic module utils: each case must be reported, or the tests above prove nothing.

_COMMON = """
$script:Limit = 5
Function Get-FieldkitLimit { $script:Limit }
Export-ModuleMember -Function @('Get-FieldkitLimit')
"""
_SHARED = """
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitXShared
Function Format-FieldkitX {
    param($Value)
    "$Value"
}
Function Hide-FieldkitX { 'internal' }
Export-ModuleMember -Function @('Format-FieldkitX')
"""
_OPS = """
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitXShared
$script:Mine = 1
Function Get-FieldkitX {
    $text = Format-FieldkitX -Value (Get-FieldkitLimit)
    $list = @'
Get-FieldkitNowhere
'@
    Get-ChildItem -LiteralPath 'C:\\' | Out-Null
    return $text + $script:Mine
}
Function Get-FieldkitY { Hide-FieldkitX }
Function Get-FieldkitZ { $script:Limit }
Function Get-FieldkitW { Format-FieldkitX -Value 1 }
Export-ModuleMember -Function @('Get-FieldkitX', 'Get-FieldkitY', 'Get-FieldkitZ', 'Get-FieldkitW')
"""


def _synthetic() -> dict[str, ModuleUtil]:
    sources = {"_FieldkitXCommon": _COMMON, "_FieldkitXShared": _SHARED, "_FieldkitXOps": _OPS}
    assert not [issue for name, text in sources.items() for issue in check_syntax(text, name)]
    return {name: parse_module_util(name, source) for name, source in sources.items()}


def test_checker_passes_a_complete_module_set() -> None:
    utils = _synthetic()
    assert closure_problems("Get-FieldkitX", utils, utils) == []


def test_checker_reports_a_helper_the_runner_does_not_ship() -> None:
    utils = _synthetic()
    shipped = {name: utils[name] for name in ("_FieldkitXCommon", "_FieldkitXOps")}
    problems = closure_problems("Get-FieldkitX", shipped, utils)
    assert [str(p) for p in problems] == ["Get-FieldkitX -> Format-FieldkitX: not shipped (defined in _FieldkitXShared)"]


def test_checker_reports_a_transitive_helper_two_calls_down() -> None:
    utils = _synthetic()
    deeper = parse_module_util("_FieldkitXShared", _SHARED.replace('"$Value"', 'Get-FieldkitLimit'))
    shipped = {"_FieldkitXShared": deeper, "_FieldkitXOps": utils["_FieldkitXOps"]}
    problems = closure_problems("Get-FieldkitW", shipped, {**utils, "_FieldkitXShared": deeper})
    assert [str(p) for p in problems] == [
        "Get-FieldkitW -> Format-FieldkitX -> Get-FieldkitLimit: not shipped (defined in _FieldkitXCommon)"]


def test_checker_reports_a_helper_that_is_not_exported() -> None:
    utils = _synthetic()
    problems = closure_problems("Get-FieldkitY", utils, utils)
    assert [str(p) for p in problems] == [
        "Get-FieldkitY -> Hide-FieldkitX: called from _FieldkitXOps but not exported by _FieldkitXShared"]


def test_checker_reports_a_script_constant_of_another_util() -> None:
    utils = _synthetic()
    problems = closure_problems("Get-FieldkitZ", utils, utils)
    assert [str(p) for p in problems] == [
        "Get-FieldkitZ: uses $script:limit, which _FieldkitXOps does not assign at script level"]


def test_checker_ignores_cmdlets_and_text_in_strings() -> None:
    utils = _synthetic()
    calls = utils["_FieldkitXOps"].functions["get-fieldkitx"].calls
    assert "get-childitem" in calls and "get-fieldkitnowhere" not in calls
    assert closure_problems("Get-FieldkitX", utils, utils) == []


def test_requires_are_followed_transitively() -> None:
    utils = _synthetic()
    assert shipped_utils(["_FieldkitXCommon", "_FieldkitXOps"], utils) == [
        "_FieldkitXCommon", "_FieldkitXOps", "_FieldkitXShared"]


def test_a_function_defined_twice_is_found() -> None:
    utils = _synthetic()
    twin = parse_module_util("_FieldkitXTwin", "Function Format-FieldkitX { 'again' }\n")
    assert definitions([*utils.values(), twin])["format-fieldkitx"] == ["_FieldkitXShared", "_FieldkitXTwin"]


def test_reached_functions_follows_calls_and_stops_at_cmdlets() -> None:
    utils = _synthetic()
    assert reached_functions(["Get-FieldkitX"], utils) == {"get-fieldkitx", "format-fieldkitx", "get-fieldkitlimit"}
    assert "hide-fieldkitx" not in reached_functions(["Get-FieldkitW"], utils)
