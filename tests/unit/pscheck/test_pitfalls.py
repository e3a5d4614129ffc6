"""Tests for tests.pscheck.pitfalls (Windows PowerShell 5.1 pitfall lint) and its lab hook."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.pscheck import pitfalls
from tests.pscheck.pitfalls import Finding, lint_files, lint_shipped, lint_source
from tests.simhost.host import BASELINE_FQCN, SimHost
from tests.simhost.model import HostModel
from tests.simhost.payload import Execution
from tests.simhost.psparse import check_payload_pitfalls, check_payload_scripts

OUR_UTIL = "ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitPlanted.psm1"
OUR_MODULE = "ansible_collections.mecm.fieldkit.plugins.modules.sccm_op_runner.ps1"


def _function(*body: str) -> str:
    """A function wrapping ``body`` lines (most rules look at function bodies)."""
    lines = "".join(f"    {line}\n" for line in body)
    return f"function Test-Planted {{\n{lines}}}\n"


def _rules(source: str, **kwargs: object) -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in lint_source(source, "planted.psm1", **kwargs)]


# --------------------------------------------------------------------------
# R1: members that are read-only on .NET Framework
# --------------------------------------------------------------------------


def test_r1_flags_hresult_assignment_with_position_and_idiom() -> None:
    findings = lint_source(_function("$e = New-Object System.Exception('x')", "$e.HResult = 5"), "a.psm1")
    assert [(f.rule, f.file, f.line, f.column) for f in findings] == [("R1", "a.psm1", 3, 5)]
    assert "ReadOnly" in findings[0].message and "Win32Exception" in findings[0].message


@pytest.mark.parametrize(
    "statement",
    [
        "$_.Exception.HResult = 1",
        "$e.Message = 'changed'",
        "$e.InnerException = $other",
        "$e.StackTrace = ''",
        "$record.Exception = $e",
        "$h = @{}; $h.HResult = 1",  # HResult and Message are flagged on anything
    ],
)
def test_r1_flags_members_that_cannot_be_set(statement: str) -> None:
    assert [rule for rule, _ in _rules(_function(statement))] == ["R1"]


@pytest.mark.parametrize(
    "statement",
    [
        "$e = New-Object ComponentModel.Win32Exception(5, 'x')",
        "$e = New-Object System.Runtime.InteropServices.COMException('x', -2147024891)",
        "$h['HResult'] = 5",
        "$h = @{}; $h.Exception = $_",  # a hashtable literal: only HResult/Message are always flagged
        "$e.Source = 'fieldkit'",
        "$code = $e.HResult",
    ],
)
def test_r1_accepts_constructors_and_settable_members(statement: str) -> None:
    assert _rules(_function(statement)) == []


# --------------------------------------------------------------------------
# R2: @() around a function that returns ', $x'
# --------------------------------------------------------------------------

ARRAY_FUNCTIONS = """\
function Get-List {
    $list = [System.Collections.Generic.List[string]]::new()
    return , $list.ToArray()
}
function Get-Pair {
    , @(1, 2)
}
function Get-Normal {
    return @(1, 2)
}
"""


def test_r2_flags_array_expression_around_comma_returning_function() -> None:
    source = ARRAY_FUNCTIONS + "$a = @(Get-List)\n$b = @(Get-Pair -X 1).Count\n"
    findings = lint_source(source, "a.psm1")
    assert [(f.rule, f.line, f.column) for f in findings] == [("R2", 11, 8), ("R2", 12, 8)]
    assert "Get-List" in findings[0].message and "$items = Get-List" in findings[0].message


@pytest.mark.parametrize(
    "call",
    ["$x = Get-List", "$x = @(Get-Normal)", "foreach ($i in (Get-List)) { $i }", "$x = @($items | Get-List)"],
)
def test_r2_accepts_direct_assignment_and_normal_functions(call: str) -> None:
    assert _rules(ARRAY_FUNCTIONS + call + "\n") == []


def test_r2_collects_functions_across_files() -> None:
    scripts = {
        "util.psm1": "function Get-List {\n    return , @(1)\n}\n",
        "caller.psm1": "function Test-Caller {\n    $x = @(Get-List)\n}\n",
    }
    assert [(f.file, f.rule, f.line) for f in lint_files(scripts)] == [("caller.psm1", "R2", 2)]
    assert lint_source(scripts["caller.psm1"], "caller.psm1") == []
    assert _rules(scripts["caller.psm1"], array_returning_functions=["Get-List"]) == [("R2", 2)]


def test_r2_ignores_return_inside_a_script_block() -> None:
    source = "function Get-Each {\n    $items | ForEach-Object { return , $_ }\n}\n$x = @(Get-Each)\n"
    assert pitfalls.array_returning_functions(source) == frozenset()


# --------------------------------------------------------------------------
# R3: raw text objects stored in a result
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        ["$r.log = @(Get-Content -LiteralPath $p -Tail 5)"],
        ["$r.log = @(Get-Content -LiteralPath $p -Tail 5 | Where-Object { $_.Trim() -ne '' })"],
        ["$lines = Get-Content -LiteralPath $p", "$r['lines'] = $lines"],
        ["$lines = Get-Content -LiteralPath $p", "return @{ first = $lines[0] }"],
        ["$lines = @(Get-Content -LiteralPath $p)", "foreach ($line in $lines) { $r.last = $line }"],
        ["$m = Select-String -LiteralPath $p -Pattern 'x' | Select-Object -Last 1", "$r.line = $m.Line"],
        ["$r.hits = @(Select-String -LiteralPath $p -Pattern 'x')"],
        ["$out = & sc.exe query x", "$r.output = $out"],
        ["$r.acl = @(icacls.exe C:\\x)"],
        ["$lines = Get-Content -LiteralPath $p", "return $lines"],
        ["Get-Content -LiteralPath $p -Tail 5"],
    ],
)
def test_r3_flags_raw_text_stored_in_a_result(body: list[str]) -> None:
    assert [rule for rule, _ in _rules(_function("$r = @{}", *body))] == ["R3"]


@pytest.mark.parametrize(
    "body",
    [
        ["$r.log = @(Get-Content -LiteralPath $p -Tail 5 | ForEach-Object { [string]$_ })"],
        ["$r.log = @(Get-Content -LiteralPath $p -Tail 5 | ForEach-Object { $_.ToString() })"],
        ["[string[]]$lines = Get-Content -LiteralPath $p", "$r.lines = $lines"],
        ["$r.lines = [string[]]@(Get-Content -LiteralPath $p)"],
        ["$r.text = (Get-Content -LiteralPath $p) -join \"`n\""],
        ["$r.text = (Get-Content -LiteralPath $p -Raw) -replace '\\r', ''"],
        ["$r.first = '{0}' -f (Get-Content -LiteralPath $p -First 1)"],
        ["$r.lines = [System.IO.File]::ReadAllLines($p)"],
        ["$r.config = Get-Content -LiteralPath $p -Raw | ConvertFrom-Json"],
        ["$m = Select-String -LiteralPath $p -Pattern '(\\d+)' | Select-Object -Last 1",
         "$r.code = [int]$m.Matches[0].Groups[1].Value"],
        ["$lines = @(Get-Content -LiteralPath $p)", "$r.id = Get-Value -Lines $lines"],  # cross-function
        ["$null = & sc.exe stop x"],
    ],
)
def test_r3_accepts_conversion_to_string(body: list[str]) -> None:
    assert _rules(_function("$r = @{}", *body)) == []


def test_r3_message_names_the_pitfall_and_the_idiom() -> None:
    (finding,) = lint_source(_function("$r.log = @(Get-Content -LiteralPath $p)"), "a.psm1")
    assert "PSPath" in finding.message and "ConvertTo-Json" in finding.message
    assert "ForEach-Object { [string]$_ }" in finding.message


# --------------------------------------------------------------------------
# R4: stderr redirection on a native command
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        ["$o = & sc.exe config x 2>&1"],
        ["sc.exe query x 2>$null"],
        ["$o = icacls C:\\x *>&1"],
        ["$exe = Join-Path -Path $env:SystemRoot -ChildPath 'System32\\w32tm.exe'", "$o = & $exe /query 2>&1"],
    ],
)
def test_r4_flags_stderr_redirection_on_native_commands(body: list[str]) -> None:
    assert "R4" in [rule for rule, _ in _rules(_function(*body))]


@pytest.mark.parametrize(
    "body",
    [
        ["$o = Get-Item -LiteralPath $p 2>&1"],
        ["$o = & sc.exe config x"],
        ["$o = & sc.exe config x > $null"],
        ["$ErrorActionPreference = 'Continue'", "$o = & sc.exe config x 2>&1 | ForEach-Object { [string]$_ }"],
    ],
)
def test_r4_accepts_cmdlets_and_relaxed_error_action(body: list[str]) -> None:
    assert "R4" not in [rule for rule, _ in _rules(_function(*body))]


# --------------------------------------------------------------------------
# R5: WQL escaped with ''
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        ["$filter = \"Name='{0}'\" -f $Name.Replace(\"'\", \"''\")",
         "Get-CimInstance -ClassName Win32_Service -Filter $filter"],
        ["$escaped = $Name.Replace(\"'\", \"''\")",
         "Get-CimInstance -ClassName Win32_Share -Filter (\"Name='\" + $escaped + \"'\")"],
        ["$q = \"SELECT * FROM Win32_Service WHERE Name='\" + ($Name -replace \"'\", \"''\") + \"'\"",
         "Get-WmiObject -Query $q"],
        ["$s = New-Object System.Management.ManagementObjectSearcher("
         "\"SELECT * FROM X WHERE N='$($Name.Replace(\"'\", \"''\"))'\")"],
    ],
)
def test_r5_flags_quote_doubling_in_wql(body: list[str]) -> None:
    findings = lint_source(_function(*body), "a.psm1")
    assert [f.rule for f in findings] == ["R5"]
    assert "\\'" in findings[0].message


@pytest.mark.parametrize(
    "body",
    [
        ["$v = $Name.Replace('\\', '\\\\').Replace(\"'\", \"\\'\")",
         "Get-CimInstance -ClassName Win32_Service -Filter \"Name='$v'\""],
        ["$script = \"Write-Output '\" + $Name.Replace(\"'\", \"''\") + \"'\""],  # PowerShell, not WQL
        ["$escaped = $Name.Replace(\"'\", \"''\")", "Get-ChildItem -Filter $escaped"],  # not a WMI command
    ],
)
def test_r5_accepts_backslash_escaping_and_non_wql_strings(body: list[str]) -> None:
    assert _rules(_function(*body)) == []


def test_r5_flags_backslashes_escaped_after_quotes() -> None:
    source = _function("$v = $Name.Replace(\"'\", \"\\'\").Replace('\\', '\\\\')")
    assert [rule for rule, _ in _rules(source)] == ["R5"]


# --------------------------------------------------------------------------
# Suppressions, embedded scripts, files, CLI
# --------------------------------------------------------------------------


def test_suppression_with_reason_hides_the_finding() -> None:
    source = _function("$e.HResult = 5 # pitfall-ok: R1 planted for a test of the lint")
    assert _rules(source) == []


def test_suppression_requires_a_reason() -> None:
    source = _function("$e.HResult = 5 # pitfall-ok: R1")
    assert sorted(_rules(source)) == [("R0", 2), ("R1", 2)]


def test_suppression_of_another_rule_or_line_does_not_apply() -> None:
    source = _function("$e.HResult = 5 # pitfall-ok: R3 wrong rule", "$x = 1 # pitfall-ok: R1 wrong line")
    assert sorted(_rules(source)) == [("R0", 2), ("R0", 3), ("R1", 2)]


def test_suppression_inside_a_string_is_not_a_comment() -> None:
    source = _function("$e.HResult = 5; $s = '# pitfall-ok: R1 not a comment'")
    assert [rule for rule, _ in _rules(source)] == ["R1"]


def test_runspace_script_in_a_here_string_is_linted_at_its_own_lines() -> None:
    source = "$script:Probe = @'\nparam ([string]$Target)\n$e = New-Object System.Exception('x')\n$e.HResult = 5\n'@\n"
    assert _rules(source) == [("R1", 4)]
    csharp = "$script:Source = @'\nusing System;\npublic class X { public int HResult; }\n'@\n"
    assert _rules(csharp) == []


def test_lint_files_checks_only_powershell_and_sorts_findings() -> None:
    scripts = {"a.cs": "$e.HResult = 5", "b.ps1": "$e.Message = 'x'\n$e.HResult = 5\n"}
    findings = lint_files(scripts)
    assert [(f.file, f.line) for f in findings] == [("b.ps1", 1), ("b.ps1", 2)]
    assert all(isinstance(f, Finding) for f in findings)
    assert str(findings[0]).startswith("b.ps1:1:1: R1 ")


def test_cli_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.psm1"
    bad.write_text("$e.HResult = 5\n", encoding="utf-8")
    good = tmp_path / "good.psm1"
    good.write_text("$e = New-Object ComponentModel.Win32Exception(5, 'x')\n", encoding="utf-8")
    assert pitfalls.main([str(bad)]) == 1
    assert f"{bad}:1:1: R1" in capsys.readouterr().out
    assert pitfalls.main([str(good)]) == 0


# --------------------------------------------------------------------------
# The lab hook
# --------------------------------------------------------------------------

PLANTED_R1 = "function New-Planted {\n    $e = New-Object System.Exception('x')\n    $e.HResult = 5\n    return $e\n}\n"


def test_payload_pitfalls_report_our_scripts_only() -> None:
    issues = check_payload_pitfalls({OUR_UTIL: PLANTED_R1})
    assert [(i.file, i.line, i.column) for i in issues] == [(OUR_UTIL, 3, 5)]
    assert issues[0].message.startswith("R1 ")
    assert check_payload_pitfalls({"Ansible.ModuleUtils.Planted.psm1": PLANTED_R1}) == []
    assert check_payload_pitfalls({"ansible.modules.planted.ps1": PLANTED_R1}) == []
    assert check_payload_scripts({OUR_UTIL: PLANTED_R1}) == []  # it parses: only the pitfall check fails


def test_payload_pitfalls_collect_r2_functions_over_the_payload() -> None:
    scripts = {
        OUR_UTIL: "function Get-List {\n    return , @(1)\n}\n",
        OUR_MODULE: "$x = @(Get-List)\n",
    }
    assert [(i.file, i.message[:2]) for i in check_payload_pitfalls(scripts)] == [(OUR_MODULE, "R2")]


def _execution(fqcn: str, scripts: dict[str, str]) -> Execution:
    return Execution(
        kind="module", module_fqcn=fqcn, module_args={}, scripts=scripts, become=None, command_line="", stdin=b""
    )


def test_simulated_host_fails_the_run_on_a_pitfall_in_our_script() -> None:
    host = SimHost(HostModel({}))
    result = host.execute(_execution(BASELINE_FQCN, {OUR_UTIL: PLANTED_R1}))
    body = json.loads(result.stdout)
    assert result.rc == 1 and body["failed"] is True
    assert "Windows PowerShell 5.1 pitfall" in body["msg"] and f"{OUR_UTIL}:3:5: R1" in body["msg"]
    ansible_only = host.execute(_execution(BASELINE_FQCN, {"Ansible.ModuleUtils.Planted.psm1": PLANTED_R1}))
    assert ansible_only.rc == 0 and json.loads(ansible_only.stdout)["ping"] == "pong"


# --------------------------------------------------------------------------
# The shipped code
# --------------------------------------------------------------------------


def test_lint_of_the_shipped_code_is_fast() -> None:
    pitfalls._analyse.cache_clear()
    start = time.perf_counter()
    lint_shipped()
    assert time.perf_counter() - start < 3.0  # about 0.25 s here; generous for slow CI machines


def test_shipped_powershell_has_no_pitfalls() -> None:
    findings = lint_shipped()
    assert findings == [], "\n".join(str(f) for f in findings)
