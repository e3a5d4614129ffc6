# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bench_scale's probe in a real ansible-playbook run (localhost, no lab), and how the benchmark reads it."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from tests.benchmarks import bench_scale

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    fruit: apple
  tasks:
    - name: Templated on the host's worker
      ansible.builtin.debug:
        msg: "{{ fruit | upper }}"
      when: fruit is defined
"""


def _ansible_core_2_19() -> bool:
    try:
        import ansible._internal._templating._engine  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        return False
    return True


def _run(tmp_path: pathlib.Path, templates: bool) -> dict:
    (tmp_path / "playbook.yml").write_text(PLAYBOOK, encoding="utf-8")
    probe = tmp_path / "probe"
    env = bench_scale._env(None, None, probe=probe, templates=templates)  # pylint: disable=protected-access
    proc = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
                           "-c", "local", str(tmp_path / "playbook.yml")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "APPLE" in proc.stdout
    return bench_scale.read_probe(probe)


def test_the_probe_splits_main_and_worker_cpu(tmp_path: pathlib.Path) -> None:
    figures = _run(tmp_path, templates=False)
    assert figures["main_cpu"] > 0
    assert figures["workers_cpu"] > 0
    assert not figures["templates"]  # only with --templates


@pytest.mark.skipif(not _ansible_core_2_19(), reason="the template probe reads ansible-core 2.19's template engine")
def test_the_probe_times_the_templates_of_the_workers(tmp_path: pathlib.Path) -> None:
    templates = _run(tmp_path, templates=True)["templates"]
    assert templates["T {{ fruit | upper }}"][0] == 1
    assert templates["C fruit is defined"][0] == 1
    assert all(ms >= 0 for _count, ms in templates.values())


def test_medians_and_template_costs_per_case() -> None:
    def run(wall: float, templates: dict) -> dict:
        return {"wall": wall, "cpu": wall * 2, "rss_mb": 100.0, "lab_cpu": 1.0, "executions": 10, "rc": 0,
                "main_cpu": 1.0, "workers_cpu": wall, "tasks": [], "templates": templates}

    cases = {"floor": bench_scale.Case("x", (), "clients", "floor"),
             "book": bench_scale.Case("y", (), "clients", "playbook")}
    table = bench_scale.summarise({"floor": [run(10.0, {}), run(12.0, {})],
                                   "book": [run(15.0, {"T {{ a }}": [10, 20.0], "C b": [10, 5.0]}),
                                            run(17.0, {"T {{ a }}": [10, 40.0]})]}, cases)
    book = table["book"]
    assert book["wall_ratio"] == pytest.approx(16.0 / 11.0)
    assert book["workers_cpu"] == 16.0
    # per run on average, the costliest first
    assert book["templates"] == [{"template": "T {{ a }}", "count": 10, "ms": 30.0},
                                 {"template": "C b", "count": 5, "ms": 2.5}]
    assert json.dumps(table)  # what --json writes


def test_the_anatomy_ends_with_the_keywords_and_arguments_of_the_roles_dp_facts_task() -> None:
    import yaml  # pylint: disable=import-outside-toplevel

    role_task = yaml.safe_load((bench_scale.REPO / "roles" / "dp_diagnose" / "tasks" / "dp_facts.yml")
                               .read_text(encoding="utf-8"))[0]
    steps = [yaml.safe_load(text)[0]["tasks"] for text in bench_scale.anatomy_cases().values()]
    assert len(steps) == len(bench_scale.ANATOMY_STEPS)
    assert all(tasks[0]["mecm.fieldkit.win_sccm_site_facts"] for tasks in steps)  # the same site probe first
    keys = [set(tasks[1]) for tasks in steps]
    assert all(earlier <= later for earlier, later in zip(keys, keys[1:]))  # each step only adds
    assert keys[-1] == set(role_task)
    module = "mecm.fieldkit.win_sccm_dp_facts"
    assert set(steps[-1][1][module]) == set(role_task[module])
