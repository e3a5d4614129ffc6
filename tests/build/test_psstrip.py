# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The build-time PowerShell stripper: what it removes, what it must keep, and that the stripped
collection code parses and passes the same contract and pitfall checks as the source."""
from __future__ import annotations

import re

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _host_contract
from tests.build.dist import REPO, shipped_powershell
from tests.build import psstrip
from tests.build.psstrip import StripError, code_tokens, strip_csharp, strip_powershell
from tests.pscheck.compat import function_infos
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
    _assert_only_allowed_token_changes(code_tokens(SOURCES[name].encode("utf-8")), code_tokens(stripped.encode("utf-8")))


def _allowed_deletion(tokens: list[tuple[str, bytes]], at: int) -> int:
    """Length of a documentation-only run starting at ``at`` (0: none): `[OutputType(...)]`, `[Parameter()]`,
    or `= $true` after a boolean Parameter argument. Written independently of the stripper's own plan."""
    texts = [text.lower() for _kind, text in tokens[at:at + 6]]
    if texts[:2] == [b"[", b"outputtype"]:
        depth = 0
        for offset, (_kind, text) in enumerate(tokens[at:]):
            depth += {b"[": 1, b"]": -1}.get(text, 0)
            if depth == 0:
                return offset + 1
    if texts[:5] == [b"[", b"parameter", b"(", b")", b"]"]:
        return 5
    if texts[:2] == [b"=", b"$true"] and at and tokens[at - 1][1].lower() in (b"mandatory", b"valuefrompipeline"):
        return 2
    return 0


def _assert_only_allowed_token_changes(source: list[tuple[str, bytes]], stripped: list[tuple[str, bytes]]) -> None:
    """Same tokens, except documentation-only attributes dropped and marked here-strings rewritten."""
    i = j = 0
    while i < len(source):
        skip = _allowed_deletion(source, i)
        if skip and source[i + skip:i + skip + 3] == stripped[j:j + 3]:
            i += skip  # the run is gone and what follows it lines up
        elif j < len(stripped) and source[i] == stripped[j]:
            i, j = i + 1, j + 1
        elif j < len(stripped) and source[i][1].startswith(b"@'") and stripped[j][1].startswith(b"@'"):
            assert len(stripped[j][1]) < len(source[i][1]), source[i][1][:60]
            i, j = i + 1, j + 1
        else:
            assert skip, f"unexpected token change at {source[i]!r} / {stripped[j] if j < len(stripped) else None!r}"
            i += skip
    assert j == len(stripped)


@pytest.mark.parametrize("name", sorted(n for n in SOURCES if n.endswith(".psm1")))
def test_stripped_module_util_keeps_its_contract(name: str) -> None:
    source, stripped = SOURCES[name], STRIPPED[name]
    assert script_constants(stripped) == script_constants(source)
    basename = name.rsplit("/", 1)[-1]
    if basename in _host_contract.PS_SCRIPT_CONSTANTS:
        assert script_constants(stripped) == _host_contract.PS_SCRIPT_CONSTANTS[basename]
    assert exported_functions(stripped) == exported_functions(source)
    assert function_parameters(stripped) == function_parameters(source)
    facts = {(f.name, f.advanced, f.should_process, tuple(f.parameters)) for f in function_infos(source, name)}
    assert {(f.name, f.advanced, f.should_process, tuple(f.parameters)) for f in function_infos(stripped, name)} == facts
    assert re.findall(r"(?im)^\$script:\w+", stripped) == re.findall(r"(?im)^\$script:\w+", source)


def test_stripped_code_has_the_same_pitfall_findings() -> None:
    def keyed(findings: list) -> list[tuple[str, str]]:
        return sorted((f.file, f.rule) for f in findings)

    assert keyed(lint_files(STRIPPED)) == keyed(lint_files(SOURCES)) == []


# ------------------------------------------------------------- embedded code in marked here-strings

CSHARP = (
    "using System;\n\n"
    "namespace Fieldkit\n{\n"
    "    /// <summary>XML doc goes.</summary>\n"
    "    public static class A\n    {\n"
    "        // a line comment goes\n"
    "        public const string Url = \"http://x//y\"; // but not the // in the string\n"
    "        public static string Text = @\"first // kept\n"
    "    indented line kept\n"
    "\n"
    "\"; /* block */\n"
    "#if DEBUG\n"
    "        public static int B = 1 /* inline */ + 2;\n"
    "#endif\n"
    "    }\n}\n"
)


def _marked(kind: str, body: str, indent: str = "") -> str:
    return f"function F {{\n{indent}# fieldkit-build: embedded {kind}\n{indent}$s = @'\n{body}'@\n}}\n"


def test_embedded_csharp_loses_comments_indentation_and_blank_lines() -> None:
    assert strip_csharp(CSHARP) == (
        "using System;\nnamespace Fieldkit\n{\npublic static class A\n{\n"
        "public const string Url = \"http://x//y\";\n"
        "public static string Text = @\"first // kept\n    indented line kept\n\n\";\n"
        "#if DEBUG\npublic static int B = 1 + 2;\n#endif\n}\n}\n")


def test_marked_csharp_here_string_is_stripped_and_the_rest_is_not_touched() -> None:
    text, _stats = strip_powershell(_marked("csharp", CSHARP, indent="    ") + "$t = @'\n    // unmarked\n'@\n")
    assert text == "function F {\n$s = @'\n" + strip_csharp(CSHARP) + "'@\n}\n$t = @'\n    // unmarked\n'@\n"


def test_marked_powershell_here_string_is_stripped_with_the_same_rules() -> None:
    body = ("# Copyright (c) 2026 not kept in an embedded script\nparam ([string]$Path)\n\n"
            "if ($Path) {\n    # why\n    $x = 'a # b'  # trailing\n    $y = @\"\n    kept $Path\n\"@\n}\n")
    text, _stats = strip_powershell(_marked("powershell", body))
    assert text == ("function F {\n$s = @'\nparam ([string]$Path)\nif ($Path) {\n$x = 'a # b'\n"
                    "$y = @\"\n    kept $Path\n\"@\n}\n'@\n}\n")


@pytest.mark.parametrize("source, message", [
    ("# fieldkit-build: embedded csharp\n$s = @\"\nclass A { }\n\"@\n", "only a verbatim here-string"),
    ("$a = 1\n# fieldkit-build: embedded powershell\n", "not directly above an assignment"),
    ("# fieldkit-build: embedded powershell\n\n$s = @'\n$x = 1\n'@\n", "not directly above an assignment"),
    ("# fieldkit-build: embedded powershell\nWrite-Output @'\n$x = 1\n'@\n", "not directly above an assignment"),
    ("# fieldkit-build: embedded csharp\n$s = 'class A { }'\n", "only a verbatim here-string"),
    ("# fieldkit-build: embedded powershell\n$s = @'\n$x = 1\n'@ + 'x'\n", "only a verbatim here-string"),
    ("# fieldkit-build: embedded c#\n$s = @'\nclass A { }\n'@\n", "unknown build marker"),
    ("$a = 1 # fieldkit-build: embedded csharp\n$s = @'\nclass A { }\n'@\n", "on a line of its own"),
])
def test_a_misplaced_or_misspelt_marker_stops_the_build(source: str, message: str) -> None:
    with pytest.raises(StripError, match=message) as error:
        strip_powershell(source)
    assert "line " in str(error.value)


def test_embedded_csharp_that_does_not_parse_stops_the_build() -> None:
    with pytest.raises(StripError, match="embedded csharp of the here-string at line 3: C# does not parse"):
        strip_powershell(_marked("csharp", "public class A {\n    void M( {\n}\n"))


def test_embedded_powershell_that_does_not_parse_stops_the_build() -> None:
    with pytest.raises(StripError, match="embedded powershell .* does not parse"):
        strip_powershell(_marked("powershell", "$x = (1 +\n"))


def test_a_stripped_line_may_not_close_the_outer_here_string() -> None:
    with pytest.raises(StripError, match="starts with '@"):
        strip_powershell(_marked("csharp", "class A {\n    char c =\n        '@';\n}\n"))


def test_stripped_csharp_keeps_its_tokens() -> None:
    assert psstrip.csharp_tokens(strip_csharp(CSHARP).encode()) == psstrip.csharp_tokens(CSHARP.encode())
    assert psstrip.csharp_tokens(b'string s = "a // b";') != psstrip.csharp_tokens(b'string s = "a ";')


def test_the_shipped_sources_mark_their_embedded_code() -> None:
    marked = {name: text.count("# fieldkit-build: embedded") for name, text in SOURCES.items()}
    assert marked["plugins/module_utils/_FieldkitDpShared.psm1"] == 3
    assert marked["plugins/module_utils/_FieldkitSystemOps.psm1"] == 1
    assert "# fieldkit-build" not in "".join(STRIPPED.values())


# ------------------------------------------------------------- attributes that only document

ADVANCED = ("function F {\n    [CmdletBinding()]\n    [OutputType([hashtable])]\n    param (\n"
            "        [Parameter(Mandatory = $true)]\n        [string]\n        $A,\n\n"
            "        [Parameter()]\n        [int]\n        $B = 1,\n\n"
            "        [Parameter(Mandatory = $false, ValueFromPipeline = $True)]\n        $C\n    )\n}\n")


def test_documentation_only_attributes_go_from_advanced_functions() -> None:
    text, _stats = strip_powershell(ADVANCED)
    assert text == ("function F {\n[CmdletBinding()]\nparam (\n[Parameter(Mandatory)]\n[string]\n$A,\n"
                    "[int]\n$B = 1,\n[Parameter(Mandatory = $false, ValueFromPipeline)]\n$C\n)\n}\n")


def test_empty_parameter_attribute_stays_without_cmdletbinding() -> None:
    """Without [CmdletBinding()] the [Parameter()] is what makes the function advanced."""
    source = "function F {\n    [OutputType([int])]\n    param (\n        [Parameter()]\n        $A\n    )\n}\n"
    text, _stats = strip_powershell(source)
    assert text == "function F {\nparam (\n[Parameter()]\n$A\n)\n}\n"
    assert [f.advanced for f in function_infos(text, "f.ps1")] == [True]


def test_empty_parameter_attribute_stays_beside_a_parameter_set() -> None:
    """A second Parameter attribute: the empty one puts the parameter in all sets, so it is not empty talk."""
    source = ("function F {\n[CmdletBinding()]\nparam (\n[Parameter()]\n[Parameter(ParameterSetName = 'X')]\n"
              "$A\n)\n}\n")
    assert strip_powershell(source)[0] == source


def test_the_token_check_sees_a_change_beyond_the_planned_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    rewrite = psstrip._rewrite
    monkeypatch.setattr(psstrip, "_rewrite", lambda *args: rewrite(*args).replace(b"[string]", b"[int]"))
    with pytest.raises(StripError, match="changed the code tokens"):
        strip_powershell(ADVANCED)
