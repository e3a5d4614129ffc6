# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python -m tests.build.dist --stage-only DIR``: the tree the Pester suite runs in to test the shipped code.
Its PowerShell under ``plugins/`` is the tarball's, byte for byte, and every path the suite imports from resolves
inside it, so ``DIR\\tests\\windows\\run.ps1`` on Windows loads the stripped code and nothing from the source."""
from __future__ import annotations

import pathlib
import re
import tarfile

import pytest

from tests.build.dist import REPO, main, shipped_powershell, stage_only

SUITE = REPO / "tests" / "windows"
_PSSCRIPTROOT_PATH = re.compile(r'"\$PSScriptRoot\\([^"$]+)"')


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    target = tmp_path_factory.mktemp("pester") / "shipped"
    stage_only(target)
    return target


def test_the_powershell_is_the_tarballs_byte_for_byte(tree: pathlib.Path, built_tarball: pathlib.Path) -> None:
    staged = {p.relative_to(tree).as_posix(): p.read_bytes() for p in shipped_powershell(tree)}
    with tarfile.open(built_tarball) as archive:
        shipped = {m.name: archive.extractfile(m).read() for m in archive.getmembers()  # type: ignore[union-attr]
                   if m.isfile() and m.name.startswith("plugins/") and m.name.endswith((".ps1", ".psm1"))}
    assert staged and staged == shipped
    source = {p.relative_to(REPO).as_posix(): p.read_bytes() for p in shipped_powershell(REPO)}
    assert all(staged[name] != source[name] for name in staged if name.endswith(".psm1")), "not stripped"


def test_the_suite_is_there_as_written(tree: pathlib.Path) -> None:
    written = sorted(p.name for p in SUITE.iterdir() if p.is_file())
    assert "run.ps1" in written
    for name in written:
        assert (tree / "tests" / "windows" / name).read_bytes() == (SUITE / name).read_bytes(), name


def test_every_path_the_suite_loads_resolves_in_the_staged_tree(tree: pathlib.Path) -> None:
    checked = 0
    for script in sorted((tree / "tests" / "windows").glob("*.ps1")):
        for relative in _PSSCRIPTROOT_PATH.findall(script.read_text(encoding="utf-8-sig")):
            if not relative.endswith((".ps1", ".psm1")):
                continue
            resolved = (script.parent / relative.replace("\\", "/")).resolve()
            assert resolved.is_file(), f"{script.name}: {relative}"
            assert tree.resolve() in resolved.parents, f"{script.name}: {relative} leaves the staged tree"
            checked += 1
    assert checked > 50


def test_a_folder_that_is_not_empty_is_refused(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["--stage-only", str(tmp_path)])
    assert exit_info.value.code == 2
    assert f"--stage-only: {tmp_path} is not an empty folder; allowed:" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_no_strip_with_stage_only_is_refused(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--stage-only", str(tmp_path / "new"), "--no-strip"])
    assert "remove --no-strip" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def _pins(path: pathlib.Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if "==" in requirement:
            name, version = requirement.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def test_the_strip_requirements_are_the_dev_pins() -> None:
    strip = _pins(REPO / "tests" / "build" / "requirements-strip.txt")
    dev = _pins(REPO / "requirements-dev.txt")
    assert set(strip) == {"tree-sitter", "tree-sitter-c-sharp", "tree-sitter-powershell"}
    assert {name: dev.get(name) for name in strip} == strip
