"""Static checks of the real-host Pester suite (tests/windows), which nothing here can run.

There is no Windows and no PowerShell where the collection is built, so the suite in tests/windows is
only ever run by someone with a Windows machine (or the GitHub Actions workflow). What can be checked
here is checked here:

* every .ps1 parses with the project's tree-sitter grammar (the same check as every payload the
  simulated lab receives), and the helpers and Import-Module paths the Pester files use exist;
* every op of the registry has a Pester test (its PowerShell function is called in a *.Tests.ps1 file)
  or is listed in NOT_COVERABLE_ON_STOCK_WINDOWS with the reason, so a new op without a Pester test
  fails here; ops that must never run (sysprep) are not even named by the suite;
* each Pester file imports the op modules it calls, after the modules they need (#AnsibleRequires);
* every Fieldkit command the Pester files call exists (an exported op-module function, a helper, or a
  function of the file itself), so a renamed PowerShell function cannot leave the suite behind;
* the workflow runs the suite in Windows PowerShell 5.1 on windows-2022 and windows-2025.
"""
from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import OP_MODULE_UTIL, all_ops
from tests.simhost.paths import REPO_ROOT
from tests.simhost.psparse import check_syntax, exported_functions, function_parameters

SUITE = REPO_ROOT / "tests" / "windows"
MODULE_UTILS = REPO_ROOT / "plugins" / "module_utils"
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "windows.yml"
HELPERS = SUITE / "Fieldkit.TestHelpers.ps1"

# Ops no Pester test calls, and why. Everything else must be called by a *.Tests.ps1 file.
NOT_COVERABLE_ON_STOCK_WINDOWS: dict[str, str] = {
    "sysprep.start": "never run: Start-FieldkitSysprep generalizes the machine and shuts it down; "
                     "no test, not even check mode, may name it",
}
# Of those, the ops whose PowerShell function must not appear anywhere in tests/windows.
NEVER_RUN = {"sysprep.start"}

OPS = all_ops()
PS_FILES = sorted(SUITE.glob("*.ps1"))
TEST_FILES = sorted(SUITE.glob("*.Tests.ps1"))

_IMPORT_RE = re.compile(r'Import-Module\s+-Name\s+"\$PSScriptRoot\\([^"]+)"')
_DOT_SOURCE_RE = re.compile(r'^\s*\.\s+"\$PSScriptRoot\\([^"]+)"', re.MULTILINE)
_FIELDKIT_COMMAND_RE = re.compile(r"(?<![\w$.-])([A-Z][a-z]+-Fieldkit[A-Za-z0-9]+)(?![\w-])")
_REQUIRES_RE = re.compile(r"#AnsibleRequires -PowerShell (?:\S*\.)?(_Fieldkit\w+)")


def _code(path: pathlib.Path) -> str:
    """The file without comment lines and without comment blocks (<# ... #>)."""
    text = path.read_text(encoding="utf-8-sig")
    text = re.sub(r"<#.*?#>", "", text, flags=re.DOTALL)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _resolve(relative: str) -> pathlib.Path:
    return (SUITE / relative.replace("\\", "/")).resolve()


def _imports(path: pathlib.Path) -> list[str]:
    """The op modules a Pester file imports, in order (file stems)."""
    return [pathlib.Path(m.replace("\\", "/")).stem for m in _IMPORT_RE.findall(_code(path))]


def _exported() -> dict[str, str]:
    """Exported function -> the op module (stem) that exports it."""
    found: dict[str, str] = {}
    for path in sorted(MODULE_UTILS.glob("_Fieldkit*.psm1")):
        for name in exported_functions(path.read_text(encoding="utf-8-sig")):
            found[name] = path.stem
    return found


def _requires(stem: str) -> set[str]:
    return set(_REQUIRES_RE.findall((MODULE_UTILS / f"{stem}.psm1").read_text(encoding="utf-8-sig")))


def _called_functions() -> str:
    return "\n".join(_code(path) for path in TEST_FILES)


def test_the_suite_exists() -> None:
    assert TEST_FILES, "no *.Tests.ps1 in tests/windows"
    assert (SUITE / "run.ps1").is_file() and HELPERS.is_file() and (SUITE / "README.md").is_file()


@pytest.mark.parametrize("path", PS_FILES, ids=lambda p: p.name)
def test_every_script_parses_with_the_project_grammar(path: pathlib.Path) -> None:
    issues = check_syntax(path.read_text(encoding="utf-8-sig"), path.name)
    assert issues == [], "\n".join(str(issue) for issue in issues)


@pytest.mark.parametrize("path", PS_FILES, ids=lambda p: p.name)
def test_every_import_and_dot_source_path_exists(path: pathlib.Path) -> None:
    code = _code(path)
    for relative in _IMPORT_RE.findall(code) + _DOT_SOURCE_RE.findall(code):
        assert _resolve(relative).is_file(), f"{path.name}: {relative} does not exist"
    # Any other Import-Module of a .psm1 would escape this check.
    for line in code.splitlines():
        if "Import-Module" in line and ".psm1" in line:
            assert _IMPORT_RE.search(line), f"{path.name}: import a .psm1 as -Name \"$PSScriptRoot\\...\": {line.strip()}"


def test_the_module_dependencies_are_read() -> None:
    # Guards the dependency-order check below against a change of the #AnsibleRequires spelling.
    assert _requires("_FieldkitImageOps") >= {"_FieldkitCommon", "_FieldkitSystemOps", "_FieldkitClientOps"}
    for path in sorted(MODULE_UTILS.glob("_Fieldkit*.psm1")):
        if path.stem != "_FieldkitCommon":
            assert "_FieldkitCommon" in _requires(path.stem), path.name


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_pester_files_load_the_helpers_and_the_modules_they_call_in_dependency_order(path: pathlib.Path) -> None:
    code = _code(path)
    assert "Fieldkit.TestHelpers.ps1" in _DOT_SOURCE_RE.findall(code), f"{path.name} does not dot-source the helpers"
    assert "Enter-FieldkitAnsibleSession" in code and "Exit-FieldkitAnsibleSession" in code, path.name
    imports = _imports(path)
    assert imports and imports[0] == "_FieldkitCommon", f"{path.name}: import _FieldkitCommon first"
    for position, stem in enumerate(imports):
        missing = _requires(stem) - set(imports[:position])
        assert not missing, f"{path.name}: {stem} needs {sorted(missing)} imported before it"
    exported = _exported()
    needed = {exported[name] for name in set(_FIELDKIT_COMMAND_RE.findall(code)) if name in exported}
    assert needed <= set(imports), f"{path.name} calls functions of {sorted(needed - set(imports))} without importing them"


def test_every_fieldkit_command_the_suite_calls_exists() -> None:
    known = set(_exported()) | set(function_parameters(HELPERS.read_text(encoding="utf-8-sig")))
    for path in TEST_FILES:
        local = set(function_parameters(path.read_text(encoding="utf-8-sig")))
        unknown = set(_FIELDKIT_COMMAND_RE.findall(_code(path))) - known - local
        assert not unknown, f"{path.name} calls {sorted(unknown)}: not exported by an op module, not a helper"


@pytest.mark.parametrize("op_name", sorted(OPS))
def test_every_op_has_a_pester_test_or_a_reason(op_name: str) -> None:
    function = OPS[op_name].ps_function
    called = re.search(rf"(?<![\w-]){re.escape(function)}(?![\w-])", _called_functions()) is not None
    if op_name in NOT_COVERABLE_ON_STOCK_WINDOWS:
        assert not called, f"{op_name} ({function}) is listed as not coverable but a Pester file calls it"
    else:
        assert called, (f"{op_name}: no tests/windows/*.Tests.ps1 calls {function}; add a Pester test, or list the "
                        "op in NOT_COVERABLE_ON_STOCK_WINDOWS with the reason")
    assert OP_MODULE_UTIL[op_name]  # the registry knows where its PowerShell lives


def test_not_coverable_lists_only_registry_ops_with_a_reason() -> None:
    assert set(NOT_COVERABLE_ON_STOCK_WINDOWS) <= set(OPS)
    assert all(reason.strip() for reason in NOT_COVERABLE_ON_STOCK_WINDOWS.values())
    assert NEVER_RUN <= set(NOT_COVERABLE_ON_STOCK_WINDOWS)


@pytest.mark.parametrize("op_name", sorted(NEVER_RUN))
def test_ops_that_must_never_run_are_not_named_by_the_suite(op_name: str) -> None:
    function = OPS[op_name].ps_function
    for path in PS_FILES:
        assert function not in path.read_text(encoding="utf-8-sig"), f"{path.name} names {function}"


def test_run_script_checks_the_host_and_installs_pester_5() -> None:
    text = (SUITE / "run.ps1").read_text(encoding="utf-8-sig")
    assert "WindowsBuiltInRole]::Administrator" in text
    assert "Install-Module -Name 'Pester' -MinimumVersion '5.5' -Scope CurrentUser -Force -SkipPublisherCheck" in text
    assert "TestResult.OutputPath" in text and "'NUnitXml', 'JUnitXml'" in text


def test_readme_says_the_suite_has_not_been_run_here() -> None:
    text = (SUITE / "README.md").read_text(encoding="utf-8")
    assert "Not run by this project." in text
    assert "never on a production machine" in text


def test_workflow_runs_the_suite_in_windows_powershell_on_both_runners() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    job = workflow["jobs"]["pester"]
    assert job["strategy"]["matrix"]["os"] == ["windows-2022", "windows-2025"]
    assert job["runs-on"] == "${{ matrix.os }}"
    steps = job["steps"]
    runs = [s for s in steps if "run" in s]
    assert runs and all(s.get("shell") == "powershell" for s in runs), "every run step uses Windows PowerShell 5.1"
    assert any("tests\\windows\\run.ps1" in s["run"] for s in runs)
    # Against the source and against the stripped tree the tarball ships (tests/build/test_pester_tree.py).
    assert job["strategy"]["matrix"]["code"] == ["source", "shipped"]
    staging = [s for s in runs if "--stage-only" in s["run"]]
    assert len(staging) == 1 and staging[0]["if"] == "matrix.code == 'shipped'"
    assert "tests\\build\\requirements-strip.txt" in staging[0]["run"]
    assert all("${{ matrix.code }}" in s["with"]["name"] for s in steps if str(s.get("uses", "")).startswith("actions/upload"))
    upload = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload and upload[0].get("if") == "always()"
