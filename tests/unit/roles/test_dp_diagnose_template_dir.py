# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dp_diagnose_report_template_dir is validated once, before any host is touched (tasks/validate.yml), with the
variable, the value and what is allowed; an existing directory passes. Runs ansible-playbook on localhost only."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.simhost.paths import REPO_ROOT, collections_path

PLAYBOOK = """- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: mecm.fieldkit.dp_diagnose
        tasks_from: validate
"""


def _validate(tmp_path, value: str) -> subprocess.CompletedProcess:
    playbook = tmp_path / "validate.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
               str(playbook), "-e", "dp_diagnose_report_template_dir=" + value, "-e", "dp_diagnose_require_site=false"]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("name, reason", [("missing", "does not exist"), ("file.css", "is not a directory")])
def test_a_bad_template_dir_is_refused_up_front(tmp_path, name: str, reason: str) -> None:
    (tmp_path / "file.css").write_text("x", encoding="utf-8")
    bad = str(tmp_path / name)
    run = _validate(tmp_path, bad)
    assert run.returncode != 0
    assert f"dp_diagnose_report_template_dir='{bad}' {reason}; allowed: an existing directory" in run.stdout


def test_an_existing_template_dir_passes(tmp_path) -> None:
    run = _validate(tmp_path, str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
