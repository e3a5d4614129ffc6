"""Tests for tests.simhost.psparse (PowerShell syntax checks via tree-sitter)."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import pytest

from tests.simhost.psparse import (
    KNOWN_GRAMMAR_GAPS,
    KnownGrammarGap,
    PsSyntaxIssue,
    check_payload_scripts,
    check_syntax,
    check_syntax_many,
    exported_functions,
    function_parameters,
)

CLEAN_SCRIPT = """\
#!powershell
#AnsibleRequires -CSharpUtil Ansible.Basic
Set-StrictMode -Version 2.0

$spec = @{
    options = @{
        name = @{ type = 'str'; required = $true }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
try {
    $client = Get-CimInstance -Namespace root\\ccm -ClassName SMS_Client -ErrorAction Stop
    $module.Result.version = $client.ClientVersion
}
catch [System.ComponentModel.Win32Exception] {
    $module.FailJson("failed: $($_.Exception.Message)", $_)
}
$module.ExitJson()
"""

SAMPLE_MODULE = """\
#Requires -Version 5.1
Set-StrictMode -Version 2.0

function Get-CcmClientInfo {
    <#
    .SYNOPSIS
    Reads the client version.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory = $true, Position = 0)]
        [ValidateNotNullOrEmpty()]
        [string]$ComputerName,

        [ValidateRange(1, 3600)]
        [int]$TimeoutSec = 60,

        [ValidateSet('present', 'absent')]
        [string]$State = 'present',

        [Parameter()]
        [AllowEmptyCollection()]
        [string[]]$Names = @(),

        [switch]$CheckMode
    )

    function Format-Inner {
        param([hashtable]$Info)
        "$($Info.version)"
    }

    $result = [ordered]@{
        changed = $false
        version = $null
    }
    return $result
}

function Set-CcmSiteCode {
    [CmdletBinding(SupportsShouldProcess = $true)]
    param(
        [Parameter(Mandatory = $true)][string]$SiteCode,
        [switch]$CheckMode
    )
    $client = New-Object -ComObject Microsoft.SMS.Client
    if (-not $CheckMode) {
        $client.SetAssignedSite($SiteCode)
    }
    @{ changed = $true }
}

function Invoke-Plain($Name, [int]${Count} = 1) {
    "$Name=$Count"
}

function Test-NoParams {
    $true
}

Export-ModuleMember -Function 'Get-CcmClientInfo', 'Set-CcmSiteCode'
"""

ANSIBLE_ROOT = Path(str(resources.files("ansible")))
ANSIBLE_SCRIPTS = sorted(
    [
        *ANSIBLE_ROOT.joinpath("executor", "powershell").glob("*.ps1"),
        *ANSIBLE_ROOT.joinpath("module_utils", "powershell").glob("*.psm1"),
    ]
)


def _ansible_scripts() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in ANSIBLE_SCRIPTS}


# ---------------------------------------------------------------- check_syntax


def test_clean_script_has_no_issues() -> None:
    assert check_syntax(CLEAN_SCRIPT, "win_ccm_client.ps1") == []


def test_clean_module_has_no_issues() -> None:
    assert check_syntax(SAMPLE_MODULE, "Ccm.psm1") == []


def test_missing_closing_brace_is_reported_with_file_and_line() -> None:
    source = SAMPLE_MODULE.replace(
        "        $client.SetAssignedSite($SiteCode)\n    }\n",
        "        $client.SetAssignedSite($SiteCode)\n",
    )
    issues = check_syntax(source, "Broken.psm1")
    assert len(issues) == 1, "a missing '}' must be reported"
    issue = issues[0]
    assert issue.file == "Broken.psm1"
    assert issue.message.startswith("missing '}'")
    # Braces match greedily, so the `}` meant for the `if` closes it and
    # Set-CcmSiteCode's body stays open; like PowerShell, the issue points
    # at that opening brace.
    function_line = source.splitlines().index("function Set-CcmSiteCode {") + 1
    assert (issue.line, issue.column) == (function_line, 26)
    last_line = len(source.splitlines())
    assert (
        issue.message
        == f"missing '}}' to close '{{' opened here (still open at line {last_line})"
    )
    assert str(issue) == f"Broken.psm1:{function_line}:26: {issue.message}"


def test_missing_closing_brace_in_small_script() -> None:
    issues = check_syntax("$a = 1\nif ($a) {\n    'a'\n", "small.ps1")
    assert [(i.file, i.line, i.column) for i in issues] == [("small.ps1", 2, 9)]


def test_missing_closing_paren() -> None:
    issues = check_syntax("$a = 1\n$b = @(1, 2\n", "paren.ps1")
    assert issues
    assert issues[0].line == 2


def test_error_on_later_line_of_psm1_reports_that_line() -> None:
    source = SAMPLE_MODULE.replace(
        "$client.SetAssignedSite($SiteCode)", "$client.SetAssignedSite($SiteCode"
    )
    broken_line = (
        source.splitlines().index("        $client.SetAssignedSite($SiteCode") + 1
    )
    issues = check_syntax(source, "Ccm.psm1")
    assert issues
    assert issues[0].line == broken_line
    assert issues[0].column == 9
    assert "$client.SetAssignedSite($SiteCode" in issues[0].message


def test_dangling_operator_is_an_error() -> None:
    issues = check_syntax("$ok = 1\n$x = 1 +\n", "op.ps1")
    assert [(i.line, i.column) for i in issues] == [(2, 1)]
    assert issues[0].message.startswith("syntax error near '$x = 1 +'")


def test_column_counts_characters_not_bytes() -> None:
    issues = check_syntax('$s = "héllo wörld"; $x = (1 +\n', "utf8.ps1")
    assert issues[0].column == 21


def test_utf8_bom_is_ignored() -> None:
    assert check_syntax("\ufeff" + CLEAN_SCRIPT, "bom.ps1") == []
    issues = check_syntax("\ufeff$x = (1 +\n", "bom.ps1")
    assert (issues[0].line, issues[0].column) == (1, 1)


def test_issue_str_format() -> None:
    assert str(PsSyntaxIssue("a.ps1", 3, 7, "missing ')'")) == "a.ps1:3:7: missing ')'"


def test_check_syntax_many_only_checks_powershell_names() -> None:
    broken = "if ($x) {\n"
    issues = check_syntax_many(
        {
            "ok.ps1": CLEAN_SCRIPT,
            "Bad.PSM1": broken,
            "bad.ps1": broken,
            "Ansible.Basic.cs": broken,
            "notes.txt": broken,
        }
    )
    assert sorted({i.file for i in issues}) == ["Bad.PSM1", "bad.ps1"]


# --------------------------------------------------------- function_parameters


def test_function_parameters_on_realistic_module() -> None:
    assert function_parameters(SAMPLE_MODULE) == {
        "Get-CcmClientInfo": [
            "ComputerName",
            "TimeoutSec",
            "State",
            "Names",
            "CheckMode",
        ],
        "Format-Inner": ["Info"],
        "Set-CcmSiteCode": ["SiteCode", "CheckMode"],
        "Invoke-Plain": ["Name", "Count"],
        "Test-NoParams": [],
    }


def test_function_parameters_preserves_case_and_strips_scope() -> None:
    source = (
        "function script:get-thing {\n    param($lowerCase, $MixedCASE)\n    1\n}\n"
    )
    assert function_parameters(source) == {"get-thing": ["lowerCase", "MixedCASE"]}


def test_function_parameters_survives_one_line_param_gap() -> None:
    # Valid PowerShell that the grammar flags (see docs/development.md).
    source = 'function F { param([string]$X, $Y) "$X" }\n'
    assert check_syntax(source, "gap.ps1")
    assert function_parameters(source) == {"F": ["X", "Y"]}


# ---------------------------------------------------------- exported_functions


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Export-ModuleMember -Function Get-A, Set-B", ["Get-A", "Set-B"]),
        ("Export-ModuleMember -Function 'Get-A', \"Set-B\"", ["Get-A", "Set-B"]),
        ("Export-ModuleMember -Function @('Get-A','Set-B')", ["Get-A", "Set-B"]),
        (
            "Export-ModuleMember -Function @(\n    'Get-A'\n    'Set-B'\n)",
            ["Get-A", "Set-B"],
        ),
        ("Export-ModuleMember -Function 'Get-A',\n    'Set-B'", ["Get-A", "Set-B"]),
        ("Export-ModuleMember `\n    -Function Get-A", ["Get-A"]),
        ("Export-ModuleMember -Alias * -Function Get-A -Cmdlet Get-C", ["Get-A"]),
        ("Export-ModuleMember -Func Get-A", ["Get-A"]),
        ("Export-ModuleMember Get-A", ["Get-A"]),
        ("Export-ModuleMember -Alias * -Function * -Cmdlet *", ["*"]),
        ("Export-ModuleMember -Variable Foo", []),
        ("Export-ModuleMember @export_members", []),
    ],
)
def test_exported_functions_forms(line: str, expected: list[str]) -> None:
    source = "function Get-A {\n    1\n}\n\n" + line + "\n$after = 1\n"
    assert exported_functions(source) == expected


def test_exported_functions_ignores_comments_and_strings() -> None:
    source = (
        "# Export-ModuleMember -Function Commented\n"
        "$s = 'Export-ModuleMember -Function InString'\n"
        "Export-ModuleMember -Function 'Get-A'\n"
        "Export-ModuleMember -Function 'Set-B', 'Get-A'\n"
    )
    assert exported_functions(source) == ["Get-A", "Set-B"]


def test_exported_functions_of_sample_module() -> None:
    assert exported_functions(SAMPLE_MODULE) == ["Get-CcmClientInfo", "Set-CcmSiteCode"]


# ------------------------------------------------------- Ansible's own scripts


def test_ansible_scripts_are_found() -> None:
    names = {path.name for path in ANSIBLE_SCRIPTS}
    assert {
        "exec_wrapper.ps1",
        "module_wrapper.ps1",
        "bootstrap_wrapper.ps1",
        "Ansible.ModuleUtils.AddType.psm1",
    } <= names


def test_check_payload_scripts_accepts_unmodified_ansible_scripts() -> None:
    assert check_payload_scripts(_ansible_scripts()) == []


def test_known_gaps_match_the_installed_grammar_and_ansible() -> None:
    """Each entry must still be needed, with exactly the recorded lines.

    Fails when ansible-core or tree-sitter-powershell changes: re-probe the
    scripts and update KNOWN_GRAMMAR_GAPS and docs/development.md.
    """
    scripts = _ansible_scripts()
    actual = {}
    for name, source in scripts.items():
        issues = check_syntax(source, name)
        if issues:
            digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
            actual[(name.lower(), digest)] = tuple(sorted({i.line for i in issues}))
    recorded = {key: gap.lines for key, gap in KNOWN_GRAMMAR_GAPS.items()}
    assert actual == recorded


def test_modified_ansible_script_is_checked_again() -> None:
    scripts = _ansible_scripts()
    name = "Ansible.ModuleUtils.CommandUtil.psm1"
    modified = scripts[name].replace(
        "\nExport-ModuleMember", "\n# edited\nExport-ModuleMember"
    )
    issues = check_payload_scripts({name: modified})
    assert [(i.file, i.line) for i in issues] == [(name, 108)]


def test_gap_allow_list_does_not_hide_new_errors_in_same_named_file() -> None:
    issues = check_payload_scripts({"exec_wrapper.ps1": "if ($x) {\n"})
    assert [i.file for i in issues] == ["exec_wrapper.ps1"]


def test_check_payload_scripts_matches_base_name_and_skips_non_powershell() -> None:
    scripts = _ansible_scripts()
    payload = {
        "ansible/executor/powershell/exec_wrapper.ps1": scripts["exec_wrapper.ps1"],
        "Ansible.Basic.cs": "this is { not PowerShell",
        "module.ps1": CLEAN_SCRIPT,
    }
    assert check_payload_scripts(payload) == []
    payload["module.ps1"] = "$x = (1 +\n"
    assert [i.file for i in check_payload_scripts(payload)] == ["module.ps1"]


def test_gap_entry_forgives_only_its_recorded_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = "Get-A\nExport-ModuleMember -Function A, B\n$z = 1\n$q = [Environment+SpecialFolder]::Name\n"
    lines = [i.line for i in check_syntax(source, "fake.ps1")]
    assert lines == [2, 4]
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    monkeypatch.setitem(
        KNOWN_GRAMMAR_GAPS,  # type: ignore[arg-type]
        ("fake.ps1", digest),
        KnownGrammarGap("fake.ps1", digest, (2,), "test entry"),
    )
    assert [i.line for i in check_payload_scripts({"FAKE.ps1": source})] == [4]
    assert [i.line for i in check_payload_scripts({"other.ps1": source})] == [2, 4]


def test_edited_ansible_script_loses_its_allowance_even_on_same_lines() -> None:
    name = "Ansible.ModuleUtils.CommandUtil.psm1"
    edited = _ansible_scripts()[name] + "\n# local edit\n"
    issues = check_payload_scripts({name: edited})
    assert [(i.file, i.line) for i in issues] == [(name, 107)]
