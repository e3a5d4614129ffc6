"""Contract: every registry op exists three times and agrees.

For each op in the Python registry there is (1) a PowerShell function in plugins/module_utils/*.psm1,
exported, whose parameters are the PascalCase registry arguments (+ CheckMode for mutating ops), and
(2) a simulator implementation whose keyword arguments are the snake_case registry arguments
(+ check_mode for mutating ops). It also holds in the other direction: no PowerShell op function
and no simulator op without a registry entry. The PowerShell is read with tree-sitter-powershell.
"""
from __future__ import annotations

import inspect
import pathlib
import re

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import (
    OP_MODULE_UTIL,
    RUNNERS,
    PlannedOp,
    all_ops,
    runner_for,
)
from tests.simhost.ops import load_all
from tests.simhost.paths import REPO_ROOT
from tests.simhost.psparse import check_syntax, exported_functions, function_parameters
from tests.unit.contract.ps_callgraph import load_module_utils

MODULE_UTILS = REPO_ROOT / "plugins" / "module_utils"
MODULES_DIR = REPO_ROOT / "plugins" / "modules"
RUNNER_FILES = {f"mecm.fieldkit.{p.stem}": p for p in MODULES_DIR.glob("sccm_op_runner*.ps1")}
OPS = all_ops()
SIM_OPS = load_all()


def _psm1_files() -> list[pathlib.Path]:
    return sorted(MODULE_UTILS.glob("_Fieldkit*.psm1"))


def _ps_functions() -> dict[str, tuple[pathlib.Path, list[str]]]:
    found: dict[str, tuple[pathlib.Path, list[str]]] = {}
    for path in _psm1_files():
        source = path.read_text(encoding="utf-8-sig")
        exported = set(exported_functions(source))
        for name, params in function_parameters(source).items():
            if name in exported:
                found[name] = (path, params)
    return found


PS_FUNCTIONS = _ps_functions()


def _sim_params(func) -> list[str]:
    params = list(inspect.signature(func).parameters.values())[2:]  # skip host, ctx
    return [p.name for p in params]


def _requires(path: pathlib.Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return set(re.findall(r"#AnsibleRequires -PowerShell ansible_collections\.mecm\.fieldkit\.plugins\.module_utils\.(\S+)", text))


def test_module_utils_are_required_by_one_spelling_everywhere() -> None:
    """ansible-core 2.16-2.18 key module utils by the name as written: `..module_utils._X` in a runner and
    `._X` in a .psm1 ship and import the same util twice. Only the fully qualified name is used."""
    for path in [*_psm1_files(), *RUNNER_FILES.values()]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("#ansiblerequires -powershell"):
                assert re.fullmatch(r"#AnsibleRequires -PowerShell ansible_collections\.mecm\.fieldkit\.plugins"
                                    r"\.module_utils\._Fieldkit\w+", line), f"{path.name}: {line}"


def test_every_psm1_and_runner_parses_cleanly() -> None:
    for path in [*_psm1_files(), *RUNNER_FILES.values()]:
        assert check_syntax(path.read_text(encoding="utf-8-sig"), path.name) == []


def test_runner_modules_load_exactly_the_declared_op_modules() -> None:
    assert set(RUNNER_FILES) == set(RUNNERS)
    for runner, path in RUNNER_FILES.items():
        assert _requires(path) == {"_FieldkitCommon", *RUNNERS[runner]}, runner


def test_op_module_dependencies_are_loaded_by_every_runner_that_loads_them() -> None:
    for runner, utils in RUNNERS.items():
        for util in utils:
            missing = _requires(MODULE_UTILS / f"{util}.psm1") - {"_FieldkitCommon", *utils}
            assert not missing, f"{runner} loads {util}, which needs {missing}"


@pytest.mark.parametrize("op_name", sorted(OPS))
def test_op_function_lives_in_the_module_util_named_after_its_registry_module(op_name: str) -> None:
    path, _params = PS_FUNCTIONS[OPS[op_name].ps_function]
    assert path.stem == OP_MODULE_UTIL[op_name]
    assert runner_for([PlannedOp("x", op_name)]) in RUNNERS


@pytest.mark.parametrize("op_name", sorted(OPS))
def test_op_has_powershell_function_with_same_parameters(op_name: str) -> None:
    spec = OPS[op_name]
    assert spec.ps_function in PS_FUNCTIONS, f"{op_name}: {spec.ps_function} is not an exported function in a .psm1"
    _path, params = PS_FUNCTIONS[spec.ps_function]
    expected = {a.ps_name.lower() for a in spec.args} | ({"checkmode"} if spec.mutating else set())
    assert {p.lower() for p in params} == expected


@pytest.mark.parametrize("op_name", sorted(OPS))
def test_op_has_simulator_implementation_with_same_parameters(op_name: str) -> None:
    spec = OPS[op_name]
    assert op_name in SIM_OPS, f"{op_name} has no simulator implementation"
    expected = {a.name for a in spec.args} | ({"check_mode"} if spec.mutating else set())
    assert set(_sim_params(SIM_OPS[op_name])) == expected


def _helpers_other_utils_call() -> set[str]:
    """Exported functions that a function of another module util calls (the helpers _FieldkitDpShared.psm1 exports
    for the DP-side and the site-side ops)."""
    utils = load_module_utils(MODULE_UTILS)
    called = {(name, util.name) for util in utils.values() for f in util.functions.values() for name in f.calls}
    return {f.name for util in utils.values() for key, f in util.functions.items()
            if key in util.exported and any(name == key and caller != util.name for name, caller in called)}


def test_no_powershell_op_without_registry_entry() -> None:
    declared = {spec.ps_function for spec in OPS.values()}
    op_like = {name for name, (path, _) in PS_FUNCTIONS.items() if path.name != "_FieldkitCommon.psm1"}
    assert op_like - declared - _helpers_other_utils_call() == set()


def test_no_simulator_op_without_registry_entry() -> None:
    assert set(SIM_OPS) - set(OPS) == set()


def test_pascal_case_rule_is_reversible() -> None:
    from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import pascal_to_snake, snake_to_pascal

    for spec in OPS.values():
        for arg in spec.args:
            assert pascal_to_snake(snake_to_pascal(arg.name)) == arg.name, f"{spec.name}.{arg.name}"


def test_shipped_powershell_is_ascii_or_starts_with_a_bom() -> None:
    """Windows PowerShell 5.1 reads a script without a BOM in the ANSI code page (Import-Module, dot-sourcing),
    which garbles non-ASCII literals; build such text from code points instead."""
    for path in [*_psm1_files(), *RUNNER_FILES.values()]:
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") or data.isascii(), f"{path.name} has non-ASCII text and no BOM"
