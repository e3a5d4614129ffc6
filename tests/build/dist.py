# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the collection tarball users install: the work tree is staged in a scratch folder, the
docs-site guides are made there from the Markdown guides (``tests/build/docsite.py``), the
PowerShell under ``plugins/`` is stripped there (``tests/build/psstrip.py``: comments, comment-based
help, indentation, blank lines, documentation-only attributes, and the same inside here-strings marked as embedded
C# or PowerShell), and ``ansible-galaxy collection build`` packs the staged tree (``build_ignore``
of galaxy.yml applied as usual). The repository itself is never modified.

    .venv/bin/python -m tests.build.dist [--output-path DIR] [--no-strip]
    .venv/bin/python -m tests.build.dist --stage-only DIR

``--stage-only`` builds no tarball: it leaves the staged tree in DIR, whose ``plugins/`` holds the PowerShell
exactly as the tarball ships it and whose ``tests/windows/`` is the Pester suite as written, so
``DIR/tests/windows/run.ps1`` tests on Windows the code that runs on the hosts (the stripped code), not the
source (``.github/workflows/windows.yml`` runs both).
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.build.docsite import write_guides  # noqa: E402
from tests.build.psstrip import StripStats, strip_powershell  # noqa: E402

DEFAULT_OUT = REPO / "build" / "dist"
# Work-tree folders that are never part of the collection (and can be large): not even staged.
NOT_STAGED = {".git", ".venv", "build", ".lab", ".ansible", ".pytest_cache", "reports", ".matrix", ".cache",
              "node_modules", "__pycache__", ".tox", ".nox"}
POWERSHELL_SUFFIXES = (".ps1", ".psm1")


def _ignore(directory: str, names: list[str]) -> set[str]:
    ignored = {n for n in names if n == "__pycache__" or n.startswith(".venv")}
    if pathlib.Path(directory) == REPO:
        ignored |= NOT_STAGED & set(names)
    return ignored


def shipped_powershell(root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in (root / "plugins").rglob("*") if p.is_file() and p.suffix.lower() in POWERSHELL_SUFFIXES)


def stage(target: pathlib.Path, strip: bool = True) -> dict[str, StripStats]:
    """Copy the work tree to ``target`` and strip its PowerShell; returns the figures per file."""
    shutil.copytree(REPO, target, symlinks=True, ignore=_ignore)
    write_guides(target)  # docs/docsite/rst/guide_*.rst from the Markdown guides
    figures: dict[str, StripStats] = {}
    if not strip:
        return figures
    for path in shipped_powershell(target):
        text, stats = strip_powershell(path.read_text(encoding="utf-8"))
        path.write_text(text, encoding="utf-8", newline="\n")
        figures[path.relative_to(target).as_posix()] = stats
    return figures


def build_tarball(output_path: pathlib.Path = DEFAULT_OUT, strip: bool = True,
                  bin_dir: pathlib.Path | None = None, quiet: bool = True) -> tuple[pathlib.Path, dict[str, StripStats]]:
    """Build the (stripped) tarball into ``output_path`` (emptied first); returns its path and the figures."""
    bin_dir = bin_dir or pathlib.Path(sys.executable).parent
    if output_path.exists():
        shutil.rmtree(output_path)
    output_path.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="fieldkit-stage-") as scratch:
        staged = pathlib.Path(scratch) / "fieldkit"
        figures = stage(staged, strip=strip)
        subprocess.run([str(bin_dir / "ansible-galaxy"), "collection", "build", "--output-path", str(output_path),
                        "--force"], cwd=staged, check=True, stdout=subprocess.DEVNULL if quiet else None)
    return next(output_path.glob("mecm-fieldkit-*.tar.gz")), figures


def stage_only(target: pathlib.Path) -> dict[str, StripStats]:
    """Stage the stripped tree into ``target`` (missing or empty) and keep it; see the module docstring."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ValueError(f"--stage-only: {target} is not an empty folder; allowed: a folder that does not exist "
                         "or is empty (the staged tree is written there)")
    if target.exists():
        target.rmdir()
    return stage(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the mecm.fieldkit tarball with stripped PowerShell.")
    parser.add_argument("--output-path", type=pathlib.Path, default=DEFAULT_OUT)
    parser.add_argument("--no-strip", action="store_true", help="ship the PowerShell as written")
    parser.add_argument("--stage-only", type=pathlib.Path, metavar="DIR",
                        help="build no tarball; leave the stripped tree in DIR (missing or empty) for the Pester suite")
    args = parser.parse_args(argv)
    if args.stage_only is not None:
        if args.no_strip:
            parser.error("--stage-only: the staged tree is the stripped one; remove --no-strip")
        try:
            figures = stage_only(args.stage_only.resolve())
        except ValueError as err:
            parser.error(str(err))
        print(f"[dist] staged {len(figures)} stripped PowerShell files; Pester against them: "
              f"{args.stage_only.resolve() / 'tests' / 'windows' / 'run.ps1'}")
        return 0
    tarball, figures = build_tarball(args.output_path.resolve(), strip=not args.no_strip, quiet=False)
    before = sum(s.before for s in figures.values())
    after = sum(s.after for s in figures.values())
    for name, stats in figures.items():
        print(f"[dist] {name}: {stats.before:,} -> {stats.after:,} bytes, {stats.lines_before} -> {stats.lines_after} lines")
    if figures:
        print(f"[dist] PowerShell stripped: {before:,} -> {after:,} bytes ({100 * (before - after) / before:.1f} % less)")
    print(f"[dist] {tarball}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
