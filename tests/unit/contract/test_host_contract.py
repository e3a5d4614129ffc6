"""Contract: what the planners, the PowerShell and the simulator must agree on is declared once.

The values live in plugins/plugin_utils/_host_contract.py. The PowerShell carries them as script-level
``$script:Name = <literal>`` assignments; these tests read those with tree-sitter-powershell and fail on
any difference, on a literal the contract does not declare, and on a host-side validation that the
planner or the simulator does not share.
"""
from __future__ import annotations

import re
import string

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _client_install, _host_contract
from tests.simhost.model import HostModel, OpContext, SimWindowsError, load_fixture
from tests.simhost.ops import load_all
from tests.simhost.paths import REPO_ROOT
from tests.simhost.psparse import _parse, _text

MODULE_UTILS = REPO_ROOT / "plugins" / "module_utils"
_INT = re.compile(r"(?:\[int(?:64)?\])?(\d+)")


def _literal(text: str) -> object:
    """The value of a PowerShell literal as written, or a marker for code (here-strings)."""
    if text.startswith(("@'", '@"')):
        return _CODE
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    match = _INT.fullmatch(text)
    if match:
        return int(match.group(1))
    raise AssertionError(f"{text!r} is not a literal: declare the value in _host_contract.py")


_CODE = object()


def script_constants(source: str) -> dict[str, object]:
    """Script-level ``$script:Name = <literal>`` assignments of a .psm1 (functions are not looked into)."""
    tree, data = _parse(source)
    statements = next(c for c in tree.root_node.children if c.type == "statement_list")
    found: dict[str, object] = {}
    for statement in statements.children:
        assignment = statement.children[0] if statement.type == "pipeline" and statement.children else None
        if assignment is None or assignment.type != "assignment_expression":
            continue
        left, _operator, right = assignment.children[:3]
        name = _text(left, data)
        if name.lower().startswith("$script:"):
            value = _literal(_text(right, data).strip())
            if value is not _CODE:
                found[name[len("$script:"):]] = value
    return found


def _function_text(source: str, function: str) -> str:
    match = re.search(rf"(?ms)^Function {re.escape(function)} \{{.*?^\}}", source)
    assert match, f"function {function} not found"
    return match.group(0)


def test_script_constants_reader_sees_strings_ints_and_skips_code() -> None:
    source = "$script:A = 'x\\y''s'\n$script:B = 30\n$script:C = [int64]4294967295\n$script:D = @'\ncode\n'@\n" \
             "function F { $script:E = 1 }\n"
    assert script_constants(source) == {"A": "x\\y's", "B": 30, "C": 4294967295}
    with pytest.raises(AssertionError, match="not a literal"):
        script_constants("$script:X = Get-Date\n")


@pytest.mark.parametrize("psm1", sorted(_host_contract.PS_SCRIPT_CONSTANTS))
def test_psm1_constants_are_the_declared_values(psm1: str) -> None:
    source = (MODULE_UTILS / psm1).read_text(encoding="utf-8-sig")
    assert script_constants(source) == _host_contract.PS_SCRIPT_CONSTANTS[psm1]


def test_every_psm1_is_covered_by_the_contract() -> None:
    for path in MODULE_UTILS.glob("*.psm1"):
        constants = script_constants(path.read_text(encoding="utf-8-sig"))
        if constants:
            assert path.name in _host_contract.PS_SCRIPT_CONSTANTS, f"{path.name} has undeclared constants {constants}"


def _defining_util(function: str) -> tuple[str, dict[str, object]]:
    """The source of the .psm1 that defines ``function``, and the script constants declared for it."""
    for path in sorted(MODULE_UTILS.glob("*.psm1")):
        source = path.read_text(encoding="utf-8-sig")
        if re.search(rf"(?m)^Function {re.escape(function)} \{{", source):
            return source, _host_contract.PS_SCRIPT_CONSTANTS[path.name]
    raise AssertionError(f"no module util defines {function}")


@pytest.mark.parametrize("guard", sorted(_host_contract.GUARDS))
def test_guard_raises_its_declared_code(guard: str) -> None:
    code, function = _host_contract.GUARDS[guard]
    source, constants = _defining_util(function)
    names = [name for name, value in constants.items() if name.startswith("Error") and value == code]
    body = _function_text(source, function)
    assert any(f"-Code $script:{name}" in body for name in names), f"{function} does not raise {code}"


def test_simulated_guards_fail_with_the_declared_codes() -> None:
    from tests.simhost.ops import image

    assert image.GUARD_CODES == {g: 0x80070000 | code for g, (code, _f) in _host_contract.GUARDS.items()}


def test_process_create_return_values_map_as_declared() -> None:
    source, constants = _defining_util("ConvertFrom-FieldkitProcessCreateResult")
    body = _function_text(source, "ConvertFrom-FieldkitProcessCreateResult")
    mapped = {int(value): constants[name]
              for value, name in re.findall(r"(\d+) \{\s*return \[int64\]\$script:(\w+)", body)}
    assert mapped == _host_contract.PROCESS_CREATE_ERRORS
    assert "return [int64]$script:ErrorUnknownFailure" in body
    assert _host_contract.process_create_hresult(9) == 0x80070003
    assert _host_contract.process_create_hresult(8) == 0x80004005


def test_host_checks_ccmsetup_arguments_against_the_declared_class() -> None:
    source, _constants = _defining_util("Start-FieldkitCcmSetup")
    body = _function_text(source, "Start-FieldkitCcmSetup")
    assert "-cnotmatch ('\\A[{0}]+\\z' -f $script:CcmSetupArgumentCharacters)" in body


def test_every_character_the_planner_accepts_the_host_accepts() -> None:
    """The planner is stricter than the host, never looser (the `\\` defect: planner yes, host no)."""
    for char in string.printable:
        for pattern in (_client_install._VALUE_RE, _client_install._PROPERTY_NAME_RE):
            if pattern.fullmatch(char):
                assert _host_contract.is_safe_ccmsetup_argument(char), repr(char)
    options, _warnings = _client_install.build_install_options({
        "source_path": "C:\\Windows\\ccmsetup", "properties": {"CCMINSTALLDIR": "C:\\Windows\\CCM"},
        "switches": ["/source:\\\\srv\\share\\Client"], "block_management_points": ["10.0.0.10"]})
    assert all(_host_contract.is_safe_ccmsetup_argument(a) for a in options.arguments)
    assert "CCMINSTALLDIR=C:\\Windows\\CCM" in options.arguments


@pytest.mark.parametrize("argument", ["A B", 'X="y"', "x\n", "a&b", "%PATH%"])
def test_planner_host_and_lab_refuse_the_same_arguments(argument: str) -> None:
    assert not _host_contract.is_safe_ccmsetup_argument(argument)
    with pytest.raises(_client_install.InstallOptionError):
        _client_install.build_install_options({"source_path": "C:\\src", "properties": {"SMSMP": argument}})
    host = HostModel(load_fixture("clean_windows"))
    host.state["files"]["C:\\src\\ccmsetup.exe"] = "binary"
    with pytest.raises(SimWindowsError, match="not allowed"):
        load_all()["ccmsetup.start"](host, OpContext(), path="C:\\src", arguments=[argument], check_mode=True)


def test_lab_accepts_backslashes_the_host_accepts() -> None:
    host = HostModel(load_fixture("clean_windows"))
    host.state["files"]["C:\\src\\ccmsetup.exe"] = "binary"
    outcome = load_all()["ccmsetup.start"](host, OpContext(), path="C:\\src",
                                           arguments=["CCMINSTALLDIR=C:\\Windows\\CCM"], check_mode=True)
    assert outcome["changed"] is True


@pytest.mark.parametrize(("name", "accepted"), [("CcmExec", True), ("MSSQL$SHARED", True), ("a b", False),
                                                ("x\" /y", False), ("svc\n", False)])
def test_host_and_lab_agree_on_service_names_for_sc_exe(name: str, accepted: bool) -> None:
    source = (MODULE_UTILS / "_FieldkitSystemOps.psm1").read_text(encoding="utf-8-sig")
    assert "-notmatch $script:ServiceNamePattern" in _function_text(source, "Set-FieldkitServiceStartMode")
    assert bool(_host_contract.SERVICE_NAME_RE.match(name)) is accepted
    host = HostModel({"services": {name: {"state": "stopped", "start_mode": "auto"}}})
    ensure = load_all()["service.ensure"]
    if accepted:
        assert ensure(host, OpContext(), name=name, start_mode="manual", check_mode=False)["changed"]
    else:
        with pytest.raises(SimWindowsError, match="sc.exe"):
            ensure(host, OpContext(), name=name, start_mode="manual", check_mode=False)


@pytest.mark.parametrize(("target", "accepted"), [("dp01.contoso.local", True), ("10.0.0.21", True),
                                                  ("dp01\n", False), ("dp01;calc", False), ("-x", False)])
def test_host_and_lab_agree_on_probe_target_names(target: str, accepted: bool) -> None:
    source = (MODULE_UTILS / "_FieldkitDpShared.psm1").read_text(encoding="utf-8-sig")
    assert "$target -notmatch $script:HostNamePattern" in _function_text(source, "Test-FieldkitNetworkTarget")
    assert bool(_host_contract.HOST_NAME_RE.match(target)) is accepted
    probe = load_all()["net.probe_targets"]
    host = HostModel({})
    if accepted:
        return
    with pytest.raises(SimWindowsError, match="is not a host name"):
        probe(host, OpContext(), targets=[target])


@pytest.mark.parametrize("class_name", ["SMS_DP;", "x y", "Win32_Share\n"])
def test_host_and_lab_refuse_the_same_wmi_class_names(class_name: str) -> None:
    source = (MODULE_UTILS / "_FieldkitDpOps.psm1").read_text(encoding="utf-8-sig")
    assert "$ClassName -notmatch $script:ClassNamePattern" in _function_text(source, "Test-FieldkitWmiNamespace")
    assert not _host_contract.CLASS_NAME_RE.match(class_name)
    with pytest.raises(SimWindowsError, match="is not a WMI class name"):
        load_all()["wmi.test_namespace"](HostModel({}), OpContext(), namespace="root\\SCCMDP", class_name=class_name)
    with pytest.raises(SimWindowsError, match="is not a WMI class name"):
        load_all()["net.probe_targets"](HostModel({}), OpContext(), targets=["dp01"], wmi_class=class_name)


@pytest.mark.parametrize("name", ["dp01", "dp01.contoso.local", "dp01.contoso.local.", "a" * 63 + ".example",
                                  "dp01\n", "dp 01", "-dp", "dp01.contoso.local\n"])
def test_every_dp_name_the_planner_accepts_the_host_accepts(name: str) -> None:
    from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_facts import HOST_NAME_RE

    if HOST_NAME_RE.fullmatch(name):
        assert _host_contract.HOST_NAME_RE.match(name), name
    assert not HOST_NAME_RE.fullmatch("dp01\n")


@pytest.mark.parametrize(("name", "accepted"), [("distmgr.log", True), ("PkgXferMgr.lo_", True), ("SAM", False),
                                                ("..", False), ("..\\x.log", False), ("\\\\evil\\s\\a.log", False),
                                                ("a.log\n", False), ("C:\\Windows\\x.log", False)])
def test_host_lab_and_planner_read_only_configmgr_log_files(name: str, accepted: bool) -> None:
    """Issue 9 defect 5: the site_log path reference is checked on the host against the declared pattern, the
    lab refuses the same names, and the planner accepts nothing the host refuses."""
    from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_facts import site_log_ref
    from tests.simhost.ops.dp import resolve_refs

    source = (MODULE_UTILS / "_FieldkitDpShared.psm1").read_text(encoding="utf-8-sig")
    body = _function_text(source, "Resolve-FieldkitPathRef")
    assert "$name -notmatch $script:LogFileNamePattern" in body and "$script:ClientLogSubfolder" in body
    assert bool(_host_contract.LOG_FILE_NAME_RE.match(name)) is accepted
    assert (site_log_ref(name) is not None) is accepted
    host = HostModel(load_fixture("site_cm01"))
    for folder in ("site", "client"):
        ref = {"kind": "site_log", "name": name, "folder": folder}
        if accepted:
            assert resolve_refs(host, [ref])[0][0].endswith("\\" + name)
        else:
            with pytest.raises(SimWindowsError, match="is not a ConfigMgr log file name"):
                resolve_refs(host, [ref])
    with pytest.raises(SimWindowsError, match="folder 'C:' is not allowed"):
        resolve_refs(host, [{"kind": "site_log", "name": "distmgr.log", "folder": "C:"}])
