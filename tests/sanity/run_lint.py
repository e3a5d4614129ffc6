# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ansible-lint hermetically: a fresh ANSIBLE_HOME under build/ (so no collection installed in
~/.ansible by an earlier run shadows the work tree), only this repository's collection on the
collections path (``.ansible/collections``, the link to the repo, plus the lab's baseline collection the
molecule scenarios use), and ``offline: true`` from .ansible-lint (nothing is installed).

    .venv/bin/python tests/sanity/run_lint.py [ansible-lint arguments; default --profile production --strict]
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.simhost.paths import BASELINE_COLLECTIONS_DIR, ensure_collection_link  # noqa: E402

HOME = REPO / "build" / "lint-home"


def main() -> int:
    collections = ensure_collection_link()
    if HOME.exists():
        shutil.rmtree(HOME)
    HOME.mkdir(parents=True)
    bin_dir = pathlib.Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    collections_path = os.pathsep.join([str(collections), str(BASELINE_COLLECTIONS_DIR)])
    env.update({"ANSIBLE_HOME": str(HOME), "ANSIBLE_COLLECTIONS_PATH": collections_path,
                "ANSIBLE_ROLES_PATH": str(REPO / "roles"), "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"})
    print(f"[lint] ANSIBLE_HOME={HOME} ANSIBLE_COLLECTIONS_PATH={env['ANSIBLE_COLLECTIONS_PATH']}")
    # --strict: a warning fails too (else a jinja[spacing] warning downgrades the production profile and passes).
    arguments = sys.argv[1:] or ["--profile", "production", "--strict"]
    return subprocess.run([str(bin_dir / "ansible-lint"), *arguments], cwd=REPO, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
