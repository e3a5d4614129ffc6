# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The build-time PowerShell stripper: what it removes, what it must keep, and that the stripped
collection code parses and passes the same contract and pitfall checks as the source."""
from __future__ import annotations

import re

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _host_contract
from tests.build.dist import REPO, shipped_powershell
from tests.build.psstrip import StripError, code_tokens, strip_powershell
from tests.pscheck.pitfalls import lint_files
from tests.simhost.psparse import check_syntax, exported_functions, function_parameters
from tests.unit.contract.test_host_contract import script_constants

SOURCES = {p.relative_to(REPO).as_posix(): p.read_text(encoding="utf-8") for p in shipped_powershell(REPO)}
STRIPPED = {name: strip_powershell(text)[0] for name, text in SOURCES.items()}
DIRECTIVE = re.compile(r"^#(requires|AnsibleRequires)\b.*$", re.IGNORECASE | re.MULTILINE)


def test_there_is_powershell_to_strip() -> None:
    assert any(n.endswith(".psm1") for n in SOURCES) and any(n.endswith(".ps1") for n in SOURCES)


def test_comments_help_and_blank_lines_go() -> None:
    source = ("<#\n.SYNOPSIS\n    Help.\n#>\n\nfunction Get-A {\n    # why\n    param([string]$Name)  # trailing\n\n"
              "    $x = 1 <# inline #> + 2\n    return $x\n}\n")
    text, stats = strip_powershell(source)
    assert text == "function Get-A {\nparam([string]$Name)\n$x = 1 + 2\nreturn $x\n}\n"
    assert stats.after < stats.before and stats.lines_after == 5


def test_hash_in_strings_and_here_strings_survives() -> None:
    source = ("$a = 'a # b'\n$b = \"a # b\"\n$c = \"Error #$n\"\n$d = 'c#d'  # gone\n"
              "$e = @'\n# kept, with the blank line after it\n\n  indented # too  \n'@\n"
              "$f = @\"\nhead # $x kept\n\n\"@  # gone too\n$g = \"one\n\n# two\"\n")
    text, _stats = strip_powershell(source)
    assert text == ("$a = 'a # b'\n$b = \"a # b\"\n$c = \"Error #$n\"\n$d = 'c#d'\n"
                    "$e = @'\n# kept, with the blank line after it\n\n  indented # too  \n'@\n"
                    "$f = @\"\nhead # $x kept\n\n\"@\n$g = \"one\n\n# two\"\n")


def test_indentation_goes_except_inside_multi_line_strings() -> None:
    source = ("function F {\n    $s = @'\n    keep me\n'@\n    $t = \"a\n    b\"\n\t$u = 1 `\n        + 2\n}\n")
    text, _stats = strip_powershell(source)
    assert text == "function F {\n$s = @'\n    keep me\n'@\n$t = \"a\n    b\"\n$u = 1 `\n+ 2\n}\n"


def test_grammar_gap_in_expandable_here_string_stops_the_build() -> None:
    """tree-sitter reads a here-string line that starts with `#` as a comment (no error reported):
    stripping it would change the string, so the stripper refuses instead of shipping changed code."""
    with pytest.raises(StripError, match="changed the code tokens"):
        strip_powershell("$f = @\"\n# $x is text here\n\"@\n")


def test_directives_suppressions_and_licence_stay() -> None:
    source = ("#!powershell\n\n# Copyright (c) 2026 someone\n# GNU General Public License v3.0+ (see COPYING)\n\n"
              "# What this file does.\n#Requires -Module Ansible.ModuleUtils.Legacy\n"
              "#AnsibleRequires -PowerShell ansible_collections.x.y.plugins.module_utils._Z\n"
              "$l = Get-Content -LiteralPath $p  # pitfall-ok: R3 reason\n# Copyright later is a comment\n")
    text, _stats = strip_powershell(source)
    assert text == ("#!powershell\n# Copyright (c) 2026 someone\n# GNU General Public License v3.0+ (see COPYING)\n"
                    "#Requires -Module Ansible.ModuleUtils.Legacy\n"
                    "#AnsibleRequires -PowerShell ansible_collections.x.y.plugins.module_utils._Z\n"
                    "$l = Get-Content -LiteralPath $p  # pitfall-ok: R3 reason\n")


def test_a_comment_between_tokens_leaves_them_apart() -> None:
    text, _stats = strip_powershell("$x = 1<#c#>+2\n")
    assert text == "$x = 1 +2\n"


def test_code_that_does_not_parse_is_refused() -> None:
    with pytest.raises(StripError, match="does not parse"):
        strip_powershell("function F {\n    $x = (1 + \n")


def test_token_comparison_sees_a_changed_string() -> None:
    assert code_tokens(b"$a = 'x # y'\n") != code_tokens(b"$a = 'x '\n")
    assert code_tokens(b"$a = 1 # c\n") == code_tokens(b"$a = 1\n")


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_stripped_file_parses_and_keeps_its_directives(name: str) -> None:
    stripped = STRIPPED[name]
    assert check_syntax(stripped, name) == []
    assert DIRECTIVE.findall(stripped) == DIRECTIVE.findall(SOURCES[name])
    assert [m.group(0) for m in DIRECTIVE.finditer(stripped)] == [m.group(0) for m in DIRECTIVE.finditer(SOURCES[name])]
    assert len(stripped) < len(SOURCES[name])
    assert code_tokens(stripped.encode("utf-8")) == code_tokens(SOURCES[name].encode("utf-8"))


@pytest.mark.parametrize("name", sorted(n for n in SOURCES if n.endswith(".psm1")))
def test_stripped_module_util_keeps_its_contract(name: str) -> None:
    source, stripped = SOURCES[name], STRIPPED[name]
    assert script_constants(stripped) == script_constants(source)
    basename = name.rsplit("/", 1)[-1]
    if basename in _host_contract.PS_SCRIPT_CONSTANTS:
        assert script_constants(stripped) == _host_contract.PS_SCRIPT_CONSTANTS[basename]
    assert exported_functions(stripped) == exported_functions(source)
    assert function_parameters(stripped) == function_parameters(source)
    assert re.findall(r"(?im)^\$script:\w+", stripped) == re.findall(r"(?im)^\$script:\w+", source)


def test_stripped_code_has_the_same_pitfall_findings() -> None:
    def keyed(findings: list) -> list[tuple[str, str]]:
        return sorted((f.file, f.rule) for f in findings)

    assert keyed(lint_files(STRIPPED)) == keyed(lint_files(SOURCES)) == []
