"""Build the collection tarball and check what users would install: the simulated lab and the
test harness must not be in it; the modules, the runner and its PowerShell must be."""
from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import tarfile

REPO = pathlib.Path(__file__).resolve().parents[2]
OUT = REPO / "build" / "dist"

FORBIDDEN_PREFIXES = ("tests/simhost", "tests/pscheck", "tests/windows", ".github", "tests/unit", "tests/e2e", ".venv",
                      ".ansible", ".lab", "build/", "reports", "extensions/molecule")
REQUIRED = (
    "MANIFEST.json",
    "FILES.json",
    "meta/runtime.yml",
    "plugins/modules/sccm_op_runner.ps1",
    "plugins/modules/sccm_op_runner.py",
    "plugins/modules/win_sccm_client_facts.py",
    "plugins/action/win_sccm_client_facts.py",
    "plugins/module_utils/_FieldkitCommon.psm1",
    "plugins/plugin_utils/_ops.py",
    "playbooks/client_facts.yml",
    "COPYING",
)


def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    bin_dir = pathlib.Path(sys.executable).parent
    subprocess.run([str(bin_dir / "ansible-galaxy"), "collection", "build", "--output-path", str(OUT), "--force"],
                   cwd=REPO, check=True)
    tarball = next(OUT.glob("mecm-fieldkit-*.tar.gz"))
    with tarfile.open(tarball) as archive:
        names = [m.name for m in archive.getmembers()]
    problems = [f"forbidden in the build: {n}" for n in names if n.startswith(FORBIDDEN_PREFIXES)]
    problems += [f"missing from the build: {r}" for r in REQUIRED if r not in names]
    print(f"[build] {tarball.name}: {len(names)} entries, {tarball.stat().st_size:,} bytes")
    for problem in problems:
        print(f"[build] {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
