"""The lab decodes the exec payload of every ansible-core version we claim (2.16-2.19).

Synthetic 2.16-2.18 payloads run on any installed version; with ansible-core 2.16-2.18 installed (the
matrix environments of tests/matrix/run_matrix.py) the payload that version really builds is decoded and
its grammar-gap pins are checked against its own scripts."""
from __future__ import annotations

import base64
import hashlib
import json
import pathlib

import ansible
import pytest
from ansible.release import __version__ as ANSIBLE_VERSION

from tests.simhost.ansible_gaps_legacy import GAPS_BY_VERSION, LEGACY_GRAMMAR_GAPS, payload_forms, strip_comments
from tests.simhost.payload import decode_command_line, decode_execution, module_script_from_fqcn
from tests.simhost.psparse import KNOWN_GRAMMAR_GAPS, check_payload_pitfalls, check_payload_scripts, check_syntax
from tests.simhost.winrm_server import default_result_for

REPO = pathlib.Path(__file__).resolve().parents[3]
ANSIBLE_ROOT = pathlib.Path(ansible.__file__).parent
LEGACY = tuple(int(p) for p in ANSIBLE_VERSION.split(".")[:2]) < (2, 19)
PING = REPO / "tests" / "simhost" / "collections" / "ansible_collections" / "simlab" / "baseline" / "plugins" / "modules" / "ping.ps1"
COMMON = "ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode()


def _encoded(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


def _legacy_payload(**manifest_extra) -> bytes:
    """A 2.16-2.18 module payload as ``module_manifest._create_powershell_wrapper`` lays it out."""
    manifest = {
        "module_entry": _b64("#!powershell\n$x = 1\n"),
        "powershell_modules": {COMMON: _b64("function Get-A {\n    1\n}\n")},
        "csharp_utils": {"Ansible.Basic": _b64("this is C#, not { PowerShell")},
        "csharp_utils_module": ["Ansible.Basic"],
        "module_args": {"ops": [], "_ansible_check_mode": True, "_ansible_module_name": "mecm.fieldkit.sccm_op_runner"},
        "actions": ["module_powershell_wrapper"],
        "environment": {},
        "encoded_output": False,
        "module_powershell_wrapper": _b64("param($Payload)\n$ErrorActionPreference = 'Stop'\n"),
        **manifest_extra,
    }
    return b"begin {\n    $x = 1\n}\n\n" + b"\0\0\0\0" + json.dumps(manifest).encode()


def test_legacy_module_payload_decodes_like_a_219_one() -> None:
    execution = decode_execution("PowerShell", "-NoProfile -EncodedCommand " + _encoded("& $bootstrap"), _legacy_payload())
    assert (execution.kind, execution.module_fqcn) == ("module", "mecm.fieldkit.sccm_op_runner")
    assert execution.module_script == "ansible_collections.mecm.fieldkit.plugins.modules.sccm_op_runner.ps1"
    assert execution.module_args["_ansible_check_mode"] is True and execution.module_args["ops"] == []
    assert execution.actions == ["module_powershell_wrapper.ps1"]
    assert execution.become is None
    assert sorted(execution.scripts) == sorted([
        "exec_wrapper.ps1", "module_powershell_wrapper.ps1", f"{COMMON}.psm1", "Ansible.Basic.cs",
        "ansible_collections.mecm.fieldkit.plugins.modules.sccm_op_runner.ps1"])
    assert execution.scripts[f"{COMMON}.psm1"].startswith("function Get-A")
    assert check_payload_scripts(execution.scripts) == []  # the .cs is skipped, the PowerShell parses


def test_legacy_payload_with_a_syntax_error_in_our_module_util_is_reported() -> None:
    payload = _legacy_payload(powershell_modules={COMMON: _b64("function Get-A {\n    if ($x) {\n}\n")})
    execution = decode_execution("PowerShell", "", payload)
    assert [i.file for i in check_payload_scripts(execution.scripts)] == [f"{COMMON}.psm1"]


def test_legacy_payload_is_linted_for_pitfalls_like_a_219_one() -> None:
    util = "function Get-A {\n    $e = [System.Exception]::new('x')\n    $e.HResult = 5\n    $e\n}\n"
    execution = decode_execution("PowerShell", "", _legacy_payload(powershell_modules={COMMON: _b64(util)}))
    assert [issue.message.split()[0] for issue in check_payload_pitfalls(execution.scripts)] == ["R1"]


def test_legacy_become_runas_maps_to_the_219_become_params() -> None:
    payload = _legacy_payload(actions=["become_wrapper", "module_powershell_wrapper"], become_user="bob",
                              become_password="S3cret", become_flags="logon_type=batch logon_flags=with_profile",
                              become_wrapper=_b64("$y = 2\n"))
    execution = decode_execution("PowerShell", "", payload)
    assert execution.become == {"BecomeUser": "bob", "BecomePassword": "S3cret", "LogonType": "Batch",
                                "LogonFlags": ["WithProfile"]}
    assert "become_wrapper.ps1" in execution.scripts and execution.kind == "module"


def test_legacy_script_wrapper_is_not_a_module() -> None:
    execution = decode_execution("PowerShell", "", _legacy_payload(actions=["module_script_wrapper"]))
    assert execution.kind == "other" and execution.module_fqcn is None


@pytest.mark.parametrize(("fqcn", "script"), [
    ("mecm.fieldkit.sccm_op_runner", "ansible_collections.mecm.fieldkit.plugins.modules.sccm_op_runner.ps1"),
    ("ansible.builtin.ping", "ansible.modules.ping.ps1"),
    ("ansible.legacy.mymod", "ansible.legacy.mymod.ps1"),
])
def test_module_script_from_fqcn(fqcn: str, script: str) -> None:
    assert module_script_from_fqcn(fqcn) == script


def test_twice_encoded_legacy_command_line_is_decoded_to_the_script() -> None:
    inner = "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand " + _encoded("Write-Output 'x'")
    assert decode_command_line("PowerShell -NoProfile -EncodedCommand " + _encoded(inner)) == "Write-Output 'x'"
    # A script that merely mentions PowerShell is not decoded again.
    assert decode_command_line("PowerShell -EncodedCommand " + _encoded("Write-Output 'PowerShell'")) == "Write-Output 'PowerShell'"


def _legacy_raw(script: str, stdin: bytes = b"", files: dict | None = None):
    line = "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand " + _encoded(script)
    return decode_execution("PowerShell", "-NoProfile -EncodedCommand " + _encoded(line), stdin, files=files)


def test_legacy_mkdtemp_expand_user_put_and_fetch_are_answered_like_219() -> None:
    mkdtemp = _legacy_raw("Set-StrictMode -Version Latest\n$tmp_path = [System.Environment]::ExpandEnvironmentVariables('%TEMP%')\n"
                          "$tmp = New-Item -Type Directory -Path $tmp_path -Name 'ansible-tmp-1'\n"
                          "Write-Output -InputObject $tmp.FullName")
    assert (mkdtemp.actions, mkdtemp.action_params) == (["powershell_mkdtemp.ps1"], {"Directory": "%TEMP%", "Name": "ansible-tmp-1"})
    assert default_result_for(mkdtemp).stdout == b"C:\\Users\\ansible\\AppData\\Local\\Temp\\ansible-tmp-1\r\n"
    home = _legacy_raw("Set-StrictMode -Version Latest\nWrite-Output ((Get-Location).Path + '\\it''s')")
    assert home.action_params == {"Path": "~\\it's"}
    put = _legacy_raw("begin {\n$path = 'C:\\t\\a.ps1'\n$fd = [System.IO.File]::Create($path)\n}\nprocess {\n}\n",
                      stdin=base64.b64encode(b"hello") + b"\r\n")
    assert (put.kind, put.action_params, put.file_data) == ("put_file", {"Path": "C:\\t\\a.ps1"}, b"hello")
    fetch = _legacy_raw("$path = 'C:\\t\\a.ps1'\nIf (Test-Path -LiteralPath $path -PathType Leaf)\n{\n$buffer_size = 524288\n"
                        "$offset = 0\n}")
    assert default_result_for(fetch, files={"c:\\t\\a.ps1": b"hello"}).stdout == base64.b64encode(b"hello") + b"\r\n"
    piped = _legacy_raw("type \"C:\\t\\a.ps1\" | PowerShell -NoProfile -EncodedCommand " + _encoded("& $x"),
                        files={"c:\\t\\a.ps1": _legacy_payload()})
    assert (piped.kind, piped.piped_from) == ("module", "C:\\t\\a.ps1")


def test_legacy_pins_are_of_older_versions_only_and_keep_their_lines() -> None:
    assert set(GAPS_BY_VERSION) == {"2.16.19", "2.17.14", "2.18.19"}
    for key, gap in LEGACY_GRAMMAR_GAPS.items():
        assert gap.lines and key == (gap.file.lower(), gap.sha256)
        pinned_for_219 = KNOWN_GRAMMAR_GAPS.get(key)
        assert pinned_for_219 is None or pinned_for_219.lines == gap.lines


def test_strip_comments_drops_comment_blocks_and_blank_lines() -> None:
    assert strip_comments("<#\nhelp\n#>\n# note\n\n$a = 1\n  # x\n$b = 2 # kept\n") == "$a = 1\n$b = 2 # kept"


@pytest.mark.skipif(not LEGACY, reason=f"ansible-core {ANSIBLE_VERSION} is not 2.16-2.18 (run by tests/matrix/run_matrix.py)")
def test_installed_legacy_ansible_payload_forms_match_their_pins() -> None:
    """Fails when this ansible-core's scripts or the grammar change: re-probe and update ansible_gaps_legacy.py."""
    from ansible.executor.powershell import module_manifest  # pylint: disable=import-outside-toplevel

    assert ANSIBLE_VERSION in GAPS_BY_VERSION, f"no pins for ansible-core {ANSIBLE_VERSION}"
    forms = payload_forms(ANSIBLE_ROOT)
    exec_wrapper = (ANSIBLE_ROOT / "executor" / "powershell" / "exec_wrapper.ps1").read_bytes()
    assert forms["exec_wrapper.ps1"].encode() == module_manifest._strip_comments(exec_wrapper) + b"\n\n"
    actual = {}
    for name, text in forms.items():
        issues = check_syntax(text, name)
        if issues:
            actual[(name.lower(), hashlib.sha256(text.encode()).hexdigest())] = tuple(sorted({i.line for i in issues}))
    assert actual == {(g.file.lower(), g.sha256): g.lines for g in GAPS_BY_VERSION[ANSIBLE_VERSION]}
    assert check_payload_scripts(forms) == []


@pytest.mark.skipif(not LEGACY, reason=f"ansible-core {ANSIBLE_VERSION} is not 2.16-2.18 (run by tests/matrix/run_matrix.py)")
def test_installed_legacy_ansible_builds_a_payload_the_lab_decodes() -> None:
    """The lab's baseline module (Ansible.Basic only) through this version's own wrapper, with become; the
    collection's modules and utils go the whole way in tests/e2e/test_matrix_subset.py."""
    from ansible.executor.powershell import module_manifest  # pylint: disable=import-outside-toplevel

    args = {"data": "pong", "_ansible_module_name": "simlab.baseline.ping", "_ansible_check_mode": False}
    payload = module_manifest._create_powershell_wrapper(
        PING.read_bytes(), str(PING), args, {}, 0, True, "runas", "SYSTEM", None, None, "powershell", {},
        "ansible_collections.simlab.baseline.plugins.modules.ping")
    execution = decode_execution("PowerShell", "", payload)
    assert (execution.kind, execution.module_fqcn, execution.module_args["data"]) == ("module", "simlab.baseline.ping", "pong")
    assert execution.become == {"BecomeUser": "SYSTEM"}
    assert execution.actions == ["become_wrapper.ps1", "module_powershell_wrapper.ps1"]
    assert {"Ansible.Basic.cs", "Ansible.Become.cs", "become_wrapper.ps1", "exec_wrapper.ps1"} <= set(execution.scripts)
    assert check_payload_scripts(execution.scripts) == []
