"""Unpack the collection tarball (built by ``tests/build/dist.py``: stripped PowerShell, build_ignore
applied) into ``<work>/ansible_collections/mecm/fieldkit``, as a git repository, for ansible-test."""
from __future__ import annotations

import pathlib
import shutil
import subprocess
import tarfile

from tests.build.dist import build_tarball

REPO = pathlib.Path(__file__).resolve().parents[2]


def unpack_build(work: pathlib.Path, bin_dir: pathlib.Path, keep_manifest: bool = False) -> pathlib.Path:
    """Build the tarball and unpack it under ``work``; returns the collection root.

    ``keep_manifest`` keeps MANIFEST.json and FILES.json: the built collection has no galaxy.yml, so
    MANIFEST.json is where ansible-test finds the collection's version (sanity's version checks need it).
    """
    if work.exists():
        shutil.rmtree(work)
    tarball, _figures = build_tarball(work / "dist", bin_dir=bin_dir)
    target = work / "ansible_collections" / "mecm" / "fieldkit"
    target.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="data")
    if not keep_manifest:
        for generated in ("MANIFEST.json", "FILES.json"):
            (target / generated).unlink()
    # ansible-test lists files through git when it finds a repository; its own output stays untracked.
    (target / ".gitignore").write_text("tests/output/\ntests/integration/inventory.winrm\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=target, check=True)
    subprocess.run(["git", "add", "-A"], cwd=target, check=True)
    return target
