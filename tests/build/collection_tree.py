"""Unpack the collection tarball that ``ansible-galaxy collection build`` makes into
``<work>/ansible_collections/mecm/fieldkit``, as a git repository, for ansible-test."""
from __future__ import annotations

import pathlib
import shutil
import subprocess
import tarfile

REPO = pathlib.Path(__file__).resolve().parents[2]


def unpack_build(work: pathlib.Path, bin_dir: pathlib.Path) -> pathlib.Path:
    """Build the tarball and unpack it under ``work``; returns the collection root."""
    if work.exists():
        shutil.rmtree(work)
    dist = work / "dist"
    subprocess.run([str(bin_dir / "ansible-galaxy"), "collection", "build", "--output-path", str(dist), "--force"],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    tarball = next(dist.glob("mecm-fieldkit-*.tar.gz"))
    target = work / "ansible_collections" / "mecm" / "fieldkit"
    target.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="data")
    for generated in ("MANIFEST.json", "FILES.json"):
        (target / generated).unlink()
    # ansible-test lists files through git when it finds a repository; its own output stays untracked.
    (target / ".gitignore").write_text("tests/output/\ntests/integration/inventory.winrm\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=target, check=True)
    subprocess.run(["git", "add", "-A"], cwd=target, check=True)
    return target
