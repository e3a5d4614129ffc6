# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end, the way AWX / AAP runs a job: ansible-runner with a private data dir (project, inventory,
env, the collection installed from the built tarball, stripped PowerShell and all) runs the DP diagnosis
against the simulated ``dp`` lab. The artifacts are checked: status, rc, the job events, the play recap
and the summary the playbook publishes with set_stats (AWX shows it as the job's artifacts)."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

from tests.build.dist import build_tarball
from tests.simhost.lab import Lab

pytestmark = pytest.mark.e2e

BIN = pathlib.Path(sys.executable).parent
SITE = "cm01.contoso.local"
STATS_KEY = "fieldkit_dp_diagnose"


@pytest.fixture(scope="module")
def installed_collection(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The built tarball installed the way a project's collections/requirements.yml installs it."""
    work = tmp_path_factory.mktemp("runner-collection")
    tarball, _figures = build_tarball(work / "dist")
    collections = work / "collections"
    env = dict(os.environ, ANSIBLE_HOME=str(work / "ansible-home"), ANSIBLE_COLLECTIONS_PATH=str(collections))
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(collections)],
                   env=env, check=True, capture_output=True)
    return collections


def _private_data_dir(root: pathlib.Path, lab: Lab, collections: pathlib.Path) -> pathlib.Path:
    (root / "project").mkdir(parents=True)
    # An AWX project: a playbook that imports the collection's playbook by FQCN.
    (root / "project" / "dp_diagnose.yml").write_text(
        "---\n- name: DP diagnosis from the collection\n  ansible.builtin.import_playbook: mecm.fieldkit.dp_diagnose\n",
        encoding="utf-8")
    lab.write_inventory(root / "inventory" / "hosts.yml")
    (root / "env").mkdir()
    envvars = {"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_HOME": str(root / "ansible-home"),
               "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_NOCOLOR": "1",
               "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    (root / "env" / "envvars").write_text(yaml.safe_dump(envvars), encoding="utf-8")
    # The job's own folder goes with its container: the reports are also published to a path that stays.
    extravars = {"dp_diagnose_report_dir": str(root / "reports"), "dp_diagnose_language": "ja",
                 "fieldkit_report_publish_dir": str(root / "published")}
    (root / "env" / "extravars").write_text(yaml.safe_dump(extravars), encoding="utf-8")
    (root / "env" / "settings").write_text(yaml.safe_dump({"job_timeout": 300, "suppress_ansible_output": True}),
                                           encoding="utf-8")
    return root


def test_dp_diagnosis_through_ansible_runner(installed_collection: pathlib.Path, tmp_path: pathlib.Path) -> None:
    with Lab.named("dp") as lab:
        data_dir = _private_data_dir(tmp_path / "job", lab, installed_collection)
        proc = subprocess.run([str(BIN / "ansible-runner"), "run", str(data_dir), "-p", "dp_diagnose.yml",
                               "--ident", "job1", "--forks", "20"], capture_output=True, text=True, timeout=600,
                              check=False)
        site_stats = lab.stats(SITE)
    artifacts = data_dir / "artifacts" / "job1"
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert (artifacts / "status").read_text(encoding="utf-8").strip() == "successful"
    assert (artifacts / "rc").read_text(encoding="utf-8").strip() == "0"
    events = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((artifacts / "job_events").glob("*.json"))]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "playbook_on_start" and "playbook_on_stats" in kinds
    assert not [e for e in events if e["event"] in ("runner_on_failed", "runner_on_unreachable")
                and not e["event_data"].get("ignore_errors")]
    # The diagnosis ran once on the controller, and the site server was probed once, as SYSTEM.
    diagnose = [e for e in events if e["event"] == "runner_on_ok"
                and e["event_data"].get("resolved_action") == "mecm.fieldkit.sccm_dp_diagnose"]
    assert len(diagnose) == 1
    diagnosis = diagnose[0]["event_data"]["res"]["diagnosis"]
    assert diagnosis["language"] == "ja" and diagnosis["site_server"] == SITE
    assert diagnosis["summary"]["dps"] == len(lab.definition["groups"]["distribution_points"])
    assert site_stats["module_executions"] == 1
    assert site_stats["executions"][0]["become"]["BecomeUser"] == "SYSTEM"
    # The play recap (runner's own stats) and the summary the playbook publishes.
    stats = next(e for e in events if e["event"] == "playbook_on_stats")["event_data"]
    assert stats["failures"] == {} and stats["dark"] == {}
    assert "localhost" in stats["ok"] or SITE in stats["ok"] or stats["ok"]
    published = stats.get("artifact_data") or {}
    assert STATS_KEY in published, f"the playbook publishes no {STATS_KEY} with set_stats: {sorted(published)}"
    assert published[STATS_KEY]["summary"] == diagnosis["summary"]
    assert published[STATS_KEY]["published_to"] == str(data_dir / "published" / "dp_diagnose")
    assert (data_dir / "reports" / "dp_diagnosis.json").is_file()
    assert (data_dir / "published" / "dp_diagnose" / "dp_diagnosis.json").read_bytes() == (
        data_dir / "reports" / "dp_diagnosis.json").read_bytes()
