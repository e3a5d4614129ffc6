"""Windows PowerShell 5.1 compatibility check (tests/pscheck/compat.py).

Planted defects must be reported, valid PowerShell must not be, and the PowerShell we ship must be
clean against all three reference profiles (Server 2016, Server 2019, Windows 10 1809).
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import pytest

from tests.pscheck import compat
from tests.pscheck.compat import Finding, Profile
from tests.simhost.psparse import check_syntax, function_parameters


@pytest.fixture(scope="module")
def profiles() -> tuple[Profile, ...]:
    """The three profiles, or a loud skip where the shared data is absent."""
    if not compat.profiles_available():
        pytest.skip(
            f"Windows PowerShell 5.1 profiles not found at {compat.PROFILES_DIR} (CI has "
            "../shared/data/windows-powershell-5.1-profiles): the compatibility check did NOT run"
        )
    return compat.load_profiles()


@pytest.fixture
def check(tmp_path: pathlib.Path, profiles: tuple[Profile, ...]) -> Callable[..., list[Finding]]:
    """Check one script text; returns its findings."""

    def run(source: str, name: str = "planted.ps1") -> list[Finding]:
        path = tmp_path / name
        path.write_text(source, encoding="utf-8")
        assert check_syntax(source, name) == [], "the test script itself must parse"
        return compat.check_files([path])

    return run


def _only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, "\n".join(map(str, findings)) or "no finding"
    return findings[0]


def _labels(profiles: tuple[Profile, ...], *wanted: str) -> tuple[str, ...]:
    return tuple(p.label for p in profiles if any(w in p.label for w in wanted))


# --------------------------------------------------------------------------
# The data
# --------------------------------------------------------------------------


def test_profiles_are_the_three_reference_machines(profiles: tuple[Profile, ...]) -> None:
    assert [p.label for p in profiles] == [
        "Server 2016 (14393)",
        "Server 2019 (17763)",
        "Windows 10 (17763)",
    ]
    for profile in profiles:
        assert "Windows PowerShell 5.1." in profile.description
        assert profile.resolve("Get-Service") is not None
        assert "sc.exe" in profile.native and "w32tm.exe" in profile.native


def test_profiles_list_whatif_only_for_should_process_commands(
    profiles: tuple[Profile, ...],
) -> None:
    """Why -WhatIf/-Confirm are not common parameters here: the data lists them per command."""
    for profile in profiles:
        assert {"whatif", "confirm", "wi", "cf"} <= set(profile.resolve("Stop-Service")[1])
        assert "whatif" not in profile.resolve("Get-Service")[1]
        assert "erroraction" not in profile.resolve("Get-Service")[1]  # common ones are not listed


def test_profile_loading_is_cached(profiles: tuple[Profile, ...]) -> None:
    assert compat.load_profiles() is profiles


# --------------------------------------------------------------------------
# Planted defects: each must be reported
# --------------------------------------------------------------------------


def test_unknown_command_is_reported_on_every_profile(check, profiles) -> None:
    finding = _only(check("Get-FooBarBaz -Name x\n"))
    assert (finding.line, finding.command, finding.parameter) == (1, "Get-FooBarBaz", None)
    assert finding.profiles == tuple(p.label for p in profiles)
    assert "not a cmdlet, function or alias" in finding.message


def test_misspelt_parameter_is_reported(check, profiles) -> None:
    finding = _only(check("$s = 1\nGet-Service -Nmae x\n"))
    assert (finding.line, finding.command, finding.parameter) == (2, "Get-Service", "Nmae")
    assert finding.profiles == tuple(p.label for p in profiles)
    assert finding.file.endswith("planted.ps1")


def test_abbreviated_parameter_is_reported(check, profiles) -> None:
    for profile in profiles:  # -Class is a prefix of ClassName, not a parameter or alias
        params = profile.resolve("Get-CimInstance")[1]
        assert "classname" in params and "class" not in params
    finding = _only(check("Get-CimInstance -Class Win32_Service\n"))
    assert finding.parameter == "Class"
    assert "abbreviates -ClassName" in finding.message


def test_bad_splatted_key_is_reported_at_the_key(check) -> None:
    source = (
        "function Get-It {\n"
        "    [CmdletBinding()]\n"
        "    param()\n"
        "    $query = @{\n"
        "        Name = 'Spooler'\n"
        "        Nmae = 'x'\n"
        "        ErrorAction = 'Stop'\n"
        "    }\n"
        "    $query.ComputerNam = 'host'\n"
        "    Get-Service @query\n"
        "}\n"
    )
    findings = check(source)
    assert [(f.line, f.parameter) for f in findings] == [(6, "Nmae"), (9, "ComputerNam")]


def test_missing_native_command_is_reported(check, profiles) -> None:
    findings = check("& nosuch.exe /x\nnosuch.exe /y\nStart-Process -FilePath 'nosuch.exe' -Wait\n")
    assert [(f.line, f.command) for f in findings] == [
        (1, "nosuch.exe"),
        (2, "nosuch.exe"),
        (3, "nosuch.exe"),
    ]
    assert all(f.profiles == tuple(p.label for p in profiles) for f in findings)


def test_native_command_missing_from_a_path_folder_is_reported(check) -> None:
    finding = _only(
        check("$exe = Join-Path -Path $env:SystemRoot -ChildPath 'System32\\nosuch.exe'\n")
    )
    assert finding.command == "nosuch.exe"
    assert (
        "cannot confirm" not in finding.message
    )  # System32 is on PATH: the profiles are conclusive


def test_executable_outside_the_profiles_path_folders_is_reported_with_the_reason(check) -> None:
    finding = _only(check('& "$env:SystemRoot\\System32\\Sysprep\\sysprep.exe" /oobe\n'))
    assert finding.command == "sysprep.exe"
    assert "profiles list only the executables in the PATH folders" in finding.message
    assert "cannot confirm" in finding.message


def test_whatif_on_a_command_without_should_process_is_reported(check) -> None:
    finding = _only(check("Get-Service -Name x -WhatIf\nStop-Service -Name x -WhatIf -cf\n"))
    assert (finding.line, finding.parameter) == (1, "WhatIf")


def test_parameter_missing_on_one_profile_names_that_profile(check, profiles) -> None:
    finding = _only(check("Get-SmbShare -Name x -LeasingMode Full\n"))
    assert finding.profiles == _labels(profiles, "Server 2016")


def test_command_missing_on_one_profile_names_that_profile(check, profiles) -> None:
    finding = _only(check("Get-WindowsFeature -Name Web-Server\n"))
    assert finding.profiles == _labels(profiles, "Windows 10")
    assert "every profile" in finding.message


def test_our_functions_are_checked_against_their_param_blocks(check) -> None:
    source = (
        "function Get-FieldkitThing {\n"
        "    [CmdletBinding()]\n"
        "    param(\n"
        "        [Parameter(Mandatory = $true)]\n"
        "        [Alias('Srv')]\n"
        "        [string]\n"
        "        $Server\n"
        "    )\n"
        "    $Server\n"
        "}\n"
        "function Get-Plain($Value) {\n"
        "    $Value\n"
        "}\n"
        "Get-FieldkitThing -Serv a\n"
        "Get-FieldkitThing -Server a -Nope 1 -WhatIf\n"
        "Get-Plain -Value 1 -ErrorAction Stop\n"
    )
    findings = check(source)
    assert [(f.line, f.parameter) for f in findings] == [
        (14, "Serv"),
        (15, "Nope"),
        (15, "WhatIf"),
        (16, "ErrorAction"),
    ]
    assert all(f.profiles == () for f in findings)
    assert "abbreviates -Server" in findings[0].message
    assert "SupportsShouldProcess" in findings[2].message
    assert "not an advanced function" in findings[3].message


# --------------------------------------------------------------------------
# Valid PowerShell: nothing to report
# --------------------------------------------------------------------------


def test_common_parameters_and_their_aliases_are_accepted(check) -> None:
    source = (
        "$mode = 'SilentlyContinue'\n"
        "Get-Service -Name x -ErrorAction:$mode -WarningAction Ignore -InformationAction Ignore\n"
        "Get-Service -Name x -ea Stop -wa Stop -infa Stop -vb -db\n"
        "Get-Service -Name x -ErrorVariable e -ev e -WarningVariable w -wv w -InformationVariable i -iv i\n"
        "Get-Service -Name x -OutVariable o -ov o -OutBuffer 1 -ob 1 -PipelineVariable p -pv p -Verbose -Debug\n"
    )
    assert check(source) == []


def test_parameter_aliases_command_aliases_and_qualified_names_are_accepted(check) -> None:
    source = (
        "Get-Service -ServiceName x -Cn localhost\n"
        "gsv -Name x | % { $_ } | ? { $_.Status } | select -First 1\n"
        "Microsoft.PowerShell.Management\\Get-Service -Name x\n"
        "Get-CimInstance -ClassName Win32_Service -OT 5 -CN localhost\n"
        "Stop-Service -Name x -WhatIf -Confirm:$false\n"
    )
    assert check(source) == []


def test_our_function_with_its_parameters_is_accepted(check) -> None:
    source = (
        "function Set-FieldkitThing {\n"
        "    [CmdletBinding(SupportsShouldProcess = $true)]\n"
        "    param(\n"
        "        [Parameter(Mandatory = $true)]\n"
        "        [Alias('Srv')]\n"
        "        [string]\n"
        "        $Server,\n"
        "\n"
        "        [switch]\n"
        "        $CheckMode\n"
        "    )\n"
        "    $Server\n"
        "}\n"
        "Set-FieldkitThing -Server a -CheckMode -Verbose -ErrorAction Stop\n"
        "Set-FieldkitThing -Srv a -WhatIf -cf\n"
        "$splat = @{ Server = 'a'; CheckMode = $true; ErrorAction = 'Stop' }\n"
        "Set-FieldkitThing @splat\n"
        "New-FieldkitErrorRecord -Code 5 -Message 'defined in plugins/' -Target 'x'\n"
    )
    assert check(source) == []


def test_native_commands_present_on_all_profiles_are_accepted(check) -> None:
    source = (
        "& sc.exe query\n"
        "$out = sc.exe query w32time\n"
        "w32tm /query /status\n"
        '& "$env:SystemRoot\\System32\\w32tm.exe" /query\n'
        "$sc = Join-Path -Path $env:SystemRoot -ChildPath 'System32\\sc.exe'\n"
        "$w = Join-Path -Path ([Environment]::SystemDirectory) -ChildPath 'w32tm.exe'\n"
    )
    assert check(source) == []


def test_ansible_module_util_functions_count_as_defined(check) -> None:
    source = (
        "#Requires -Module Ansible.ModuleUtils.Legacy\n$r = @{}\nFail-Json -obj $r -message 'x'\n"
    )
    assert check(source) == []
    finding = _only(check(source.replace("-message", "-Mesage")))
    assert (finding.command, finding.parameter) == ("Fail-Json", "Mesage")


# --------------------------------------------------------------------------
# The extractor
# --------------------------------------------------------------------------


def test_extractor_reads_parameters_splats_and_natives() -> None:
    source = (
        "$p = @{ Name = 'x' }\n"
        "Get-Service -Name:$n -ErrorAction:SilentlyContinue @p\n"
        "& sc.exe query\n"
        '& "$env:SystemRoot\\System32\\w32tm.exe" /query\n'
        "& $command @args\n"
        "[System.IO.File]::Exists('x')\n"
        "$x.Refresh()\n"
    )
    found = compat.extract_invocations(source)
    assert [(i.line, i.kind, i.name) for i in found] == [
        (2, "command", "Get-Service"),
        (3, "native", "sc.exe"),
        (4, "native", "w32tm.exe"),
        (5, "dynamic", "$command"),
    ]  # method calls are not commands
    service = found[0]
    assert [p.name for p in service.parameters] == ["Name", "ErrorAction"]
    assert [(s.variable, [k.name for k in s.keys], s.unchecked) for s in service.splats] == [
        ("p", ["Name"], None)
    ]
    assert found[3].splats[0].unchecked == "@args is an automatic variable"


def test_splat_keys_come_from_the_same_function_only() -> None:
    source = (
        "function A {\n"
        "    $p = @{ Nmae = 'x' }\n"
        "}\n"
        "function B {\n"
        "    Get-Service @p\n"
        "}\n"
    )
    splat = compat.extract_invocations(source)[0].splats[0]
    assert splat.keys == ()
    assert "not a hashtable literal assigned in this function" in splat.unchecked


def test_unknown_splats_are_noted_not_failed(tmp_path: pathlib.Path, profiles) -> None:
    path = tmp_path / "splat.ps1"
    path.write_text(
        "$p = $other.Clone()\nGet-Service @p\n$q = @{ Name = 'x' }\n$q[$k] = 1\nGet-Service @q\n",
        encoding="utf-8",
    )
    report = compat.analyse([path])
    assert report.findings == []
    assert [(n.line, n.command) for n in report.unchecked] == [
        (2, "Get-Service"),
        (5, "Get-Service"),
    ]
    assert "computed key at line 4" in report.unchecked[1].message


def test_function_parameters_agree_with_psparse() -> None:
    """The own-function table reads param blocks the same way as the contract test."""
    for path in compat.shipped_files():
        source = path.read_text(encoding="utf-8-sig")
        expected = {
            name.lower(): {p.lower() for p in params}
            for name, params in function_parameters(source).items()
        }
        infos = compat.function_infos(source, path.name)
        assert {i.name.lower() for i in infos} == set(expected), path.name
        for info in infos:
            assert expected[info.name.lower()] <= set(info.parameters), (path.name, info.name)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def test_cli_exit_codes(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], profiles
) -> None:
    bad = tmp_path / "bad.ps1"
    bad.write_text("Get-Service -Nmae x\n", encoding="utf-8")
    good = tmp_path / "good.ps1"
    good.write_text("Get-Service -Name x\n", encoding="utf-8")
    assert compat.main([str(bad)]) == compat.EXIT_FINDINGS
    assert "bad.ps1:1: Get-Service -Nmae" in capsys.readouterr().out
    assert compat.main([str(good)]) == compat.EXIT_CLEAN
    assert "0 finding(s)" in capsys.readouterr().out


def test_cli_without_profiles_says_skipped_loudly(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert compat.main(["--profiles", str(tmp_path / "absent")]) == compat.EXIT_SKIPPED
    assert compat.EXIT_SKIPPED not in (compat.EXIT_CLEAN, compat.EXIT_FINDINGS)
    assert capsys.readouterr().err.startswith("SKIPPED: ")


def test_missing_profiles_raise_instead_of_passing(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compat, "PROFILES_DIR", tmp_path / "absent")
    assert not compat.profiles_available()
    with pytest.raises(compat.ProfilesMissing):
        compat.check_shipped()


# --------------------------------------------------------------------------
# The PowerShell we ship
# --------------------------------------------------------------------------


def test_shipped_powershell_is_compatible(profiles: tuple[Profile, ...]) -> None:
    files = compat.shipped_files()
    assert len(files) >= 8, files
    report = compat.analyse(files)
    assert report.invocations > 100
    labels = ", ".join(p.label for p in profiles)
    lines = "\n".join(f"  {finding}" for finding in report.findings)
    assert not report.findings, (
        f"{len(report.findings)} Windows PowerShell 5.1 incompatibilities in plugins/ "
        f"(profiles: {labels}):\n{lines}"
    )
