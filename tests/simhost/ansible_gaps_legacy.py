"""Grammar gaps of Ansible's own scripts as ansible-core 2.16-2.18 ship them in a module payload.

The same idea as ``psparse.KNOWN_GRAMMAR_GAPS`` (which pins ansible-core 2.19.14), for the older
exec path: valid PowerShell that tree-sitter-powershell 0.26.4 flags, pinned by base name, the
sha256 of the text *as it crosses the wire* and the exact lines reported. 2.16-2.18 strip comments
and blank lines from the exec scripts (``module_manifest._strip_comments``; ``exec_wrapper.ps1``
gets two trailing newlines), so those hashes are of the stripped text; module utils travel as
shipped. Entries identical to a 2.19.14 pin (FileUtil, PrivilegeUtil) are not repeated here.

Each issue was probed and read (``payload_forms`` + ``psparse.check_syntax`` in each matrix venv)
and belongs to a gap of docs/development.md: G2 bare-word list as a command argument, G3 unquoted
path argument starting with a variable, G6 backtick generic arity. ``tests/unit/simhost/
test_payload_versions.py`` fails when the installed ansible-core's payload forms no longer match.
"""
from __future__ import annotations

import pathlib
from collections.abc import Mapping

from .psparse import KnownGrammarGap

_G2 = "G2 bare-word list as a command argument (`-ArgumentList Warn, {...}`, `-Function A, B`, `-Property Line, HitCount`)"
_G3 = "G3 unquoted path argument starting with a variable (`$env:SystemRoot\\System32\\kernel32.dll`)"
_G6 = "G6 generic type with backtick arity (`[System.Collections.Generic.List`1[...]]`)"

_COVERAGE = KnownGrammarGap("coverage_wrapper.ps1", "084fe8fc96226f8b845f9c96e04263135e7b59ae16b1c9b62f38ccab21a7a6e3",
                            (21, 23, 54, 56, 57, 59, 125), _G6 + "; line 125: " + _G2 + " (follow-on at 56)")
_EXEC = KnownGrammarGap("exec_wrapper.ps1", "e5d2ad1fc7e53863764b9ab5c1836184dc8ce7ba04066181b695db6a8d1f9c90",
                        (120,), _G3)
_MODULE_PS = KnownGrammarGap("module_powershell_wrapper.ps1",
                             "42fa846ce5aea722d6fa86a9b60aaa11072cfb97de18e448c61e9d52544abea0", (23,), _G2)
_COMMAND_UTIL = KnownGrammarGap("Ansible.ModuleUtils.CommandUtil.psm1",
                                "9d92ecbdac1ea9aac640d660176fede304c69e5cb81d0c687fffbccda720acaf", (107,), _G2)
_FILE_UTIL = KnownGrammarGap("Ansible.ModuleUtils.FileUtil.psm1",
                             "9ea308ce4d931e00970ec8295dc4af5b5106580c1f165952c5b56aca5e42c8fa", (66,), _G2)
_PRIVILEGE_UTIL = KnownGrammarGap("Ansible.ModuleUtils.PrivilegeUtil.psm1",
                                  "d6ebeff7ca0db36aff3fa95ba0c64b0774c54195b0a8c3896e1cc79082a64bc8", (82,), _G2)
_ADD_TYPE_LINES = (118, 136, 149, 302, 315)

# ansible-core version -> every flagged script of its payload forms (shared entries repeated per version).
GAPS_BY_VERSION: Mapping[str, tuple[KnownGrammarGap, ...]] = {
    "2.16.19": (_COVERAGE, _EXEC, _MODULE_PS, _COMMAND_UTIL, _FILE_UTIL, _PRIVILEGE_UTIL, KnownGrammarGap(
        "Ansible.ModuleUtils.AddType.psm1", "58e1cef44e7bea2bd993c94e41aba35c69cd0f3cf8ea956f9881a3bcf2b126c1",
        _ADD_TYPE_LINES, _G6)),
    "2.17.14": (_COVERAGE, _EXEC, _MODULE_PS, _COMMAND_UTIL, _FILE_UTIL, _PRIVILEGE_UTIL, KnownGrammarGap(
        "Ansible.ModuleUtils.AddType.psm1", "804fa9d3d7180391e5935dbe6d66c8d63a1a124f64b09539e3fe03b674f5ea63",
        _ADD_TYPE_LINES, _G6)),
    "2.18.19": (_COVERAGE, _EXEC, _MODULE_PS, _COMMAND_UTIL, _FILE_UTIL, _PRIVILEGE_UTIL, KnownGrammarGap(
        "Ansible.ModuleUtils.AddType.psm1", "814637d325be13ea1343df6790efa7fecd74ec1dbc082801b4cbab44f12ae416",
        _ADD_TYPE_LINES, _G6)),
}

LEGACY_GRAMMAR_GAPS: Mapping[tuple[str, str], KnownGrammarGap] = {
    (gap.file.lower(), gap.sha256): gap for gaps in GAPS_BY_VERSION.values() for gap in gaps
}
"""Allow-list of the 2.16-2.18 payload forms, keyed like ``psparse.KNOWN_GRAMMAR_GAPS``."""


def payload_forms(ansible_root: pathlib.Path) -> dict[str, str]:
    """Ansible's scripts under ``ansible_root`` as an ansible-core 2.16-2.18 payload carries them.

    Exec scripts (``executor/powershell/*.ps1`` but the bootstrap, which travels in the command
    line) are comment-stripped like ``module_manifest._strip_comments``; module utils are as shipped.
    """
    forms: dict[str, str] = {}
    for path in sorted(ansible_root.joinpath("executor", "powershell").glob("*.ps1")):
        if path.name == "bootstrap_wrapper.ps1":
            continue
        text = strip_comments(path.read_text(encoding="utf-8"))
        forms[path.name] = text + "\n\n" if path.name == "exec_wrapper.ps1" else text
    for path in sorted(ansible_root.joinpath("module_utils", "powershell").glob("*.psm1")):
        forms[path.name] = path.read_text(encoding="utf-8")
    return forms


def strip_comments(source: str) -> str:
    """ansible-core 2.16-2.18 ``module_manifest._strip_comments``: drop ``<# #>`` blocks, ``#`` lines, blank lines."""
    kept: list[str] = []
    in_block = False
    for line in source.splitlines():
        stripped = line.strip()
        if in_block:
            in_block = not stripped.endswith("#>")
            continue
        if stripped.startswith("<#"):
            in_block = True
            continue
        if not stripped or stripped.startswith("#"):
            continue
        kept.append(line)
    return "\n".join(kept)
