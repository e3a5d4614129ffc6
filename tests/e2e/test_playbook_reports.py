# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the shipped playbooks write (issue 11 item 6) and what they publish for AWX (issue 11 item 3), end to end
against the simulated lab: run by FQCN from another directory, as users of the installed collection do, every
report lands relative to that directory (or where a variable says), never inside the collection; the files are
written by one controller task per run (issue 12 item 2); fieldkit_report_publish_dir receives a copy; set_stats
carries a short summary."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest

from tests.e2e.conftest import BIN_DIR, PlaybookRun, ansible_env
from tests.simhost.paths import REPO_ROOT

pytestmark = pytest.mark.e2e

COLLECTION_REPORTS = REPO_ROOT / "playbooks" / "reports"


def run_from(cwd: pathlib.Path, tmp_path: pathlib.Path, inventory: pathlib.Path, playbook: str, *args: str) -> PlaybookRun:
    """ansible-playbook started in ``cwd`` (not the repository), like a user of the installed collection."""
    results = tmp_path / f"results-{len(list(tmp_path.glob('results-*.json')))}.json"
    proc = subprocess.run([str(BIN_DIR / "ansible-playbook"), "-i", str(inventory), playbook, *args], cwd=cwd,
                          env=ansible_env(tmp_path, results), capture_output=True, text=True, timeout=300, check=False)
    records = json.loads(results.read_text(encoding="utf-8")) if results.exists() else []
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, records)


@pytest.fixture
def user_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    assert not COLLECTION_REPORTS.exists(), f"{COLLECTION_REPORTS} exists before the test: remove it"
    path = tmp_path / "operator"
    path.mkdir()
    return path


def test_client_facts_writes_where_the_user_runs_it_in_one_task(lab_factory, tmp_path: pathlib.Path,
                                                                user_dir: pathlib.Path) -> None:
    hosts = {"ref-assigned": "ref_assigned", "vdi-0001": "clone_duplicate", "ref-clean": "clean_windows"}
    lab, inventory = lab_factory(hosts=hosts, groups={"pool": sorted(hosts)})
    lab.set_unreachable("ref-clean")
    share = tmp_path / "share"
    run = run_from(user_dir, tmp_path, inventory, "mecm.fieldkit.client_facts", "-e", "client_facts_hosts=pool",
                   "-e", f"fieldkit_report_publish_dir={share}")
    assert run.rc == 4, run.stdout + run.stderr  # ref-clean is unreachable
    reports = user_dir / "reports" / "client_facts"
    assert sorted(p.name for p in reports.iterdir()) == ["ref-assigned.json", "vdi-0001.json"]
    facts = json.loads((reports / "ref-assigned.json").read_text(encoding="utf-8"))
    assert facts["identity"]["sms_unique_id"] == "GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B"
    assert not COLLECTION_REPORTS.exists()
    # One module execution per reachable host, and the files in one controller task for all hosts.
    assert [lab.stats(h)["module_executions"] for h in ("ref-assigned", "vdi-0001")] == [1, 1]
    writes = run.results("Write the facts of every host as JSON (one task for all hosts)")
    assert len(writes) == 1 and writes[0]["status"] == "ok"
    # The same files in the share, and the summary as a set_stats artifact.
    assert sorted(p.name for p in (share / "client_facts").iterdir()) == ["ref-assigned.json", "vdi-0001.json"]
    assert (share / "client_facts" / "vdi-0001.json").read_bytes() == (reports / "vdi-0001.json").read_bytes()
    summary = run.artifact("fieldkit_client_facts")
    assert summary == {"hosts": 3, "gathered": 2, "failed_hosts": ["ref-clean"], "report_dir": str(reports),
                       "published_to": str(share / "client_facts"), "files": 2}


def test_client_facts_old_host_variable_still_works_and_says_it_is_deprecated(lab_factory, tmp_path: pathlib.Path,
                                                                              user_dir: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned", "vdi-0001": "clone_duplicate"})
    run = run_from(user_dir, tmp_path, inventory, "mecm.fieldkit.client_facts", "-e", "fieldkit_target=vdi-0001",
                   "-e", "fieldkit_report_dir=out")
    assert run.rc == 0, run.stdout + run.stderr
    assert "fieldkit_target is deprecated" in run.stdout
    assert [p.name for p in (user_dir / "out" / "client_facts").iterdir()] == ["vdi-0001.json"]
    assert lab.stats("ref-assigned")["module_executions"] == 0
    assert not COLLECTION_REPORTS.exists()


@pytest.mark.parametrize("playbook, hosts_var, subdir", [
    ("mecm.fieldkit.client_identity_audit", "client_identity_audit_hosts", "client_identity_audit"),
    ("mecm.fieldkit.client_image_prep", "client_image_prep_hosts", "client_image_prep"),
])
def test_client_playbooks_write_relative_to_the_user_and_publish(lab_factory, tmp_path: pathlib.Path,
                                                                 user_dir: pathlib.Path, playbook: str, hosts_var: str,
                                                                 subdir: str) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned", "vdi-0001": "clone_duplicate"})
    share = tmp_path / "share"
    run = run_from(user_dir, tmp_path, inventory, playbook, "--check", "-e", f"{hosts_var}=all",
                   "-e", f"fieldkit_report_publish_dir={share}")
    assert run.rc == 0, run.stdout + run.stderr
    written = sorted(p.name for p in (user_dir / "reports" / subdir).iterdir())
    assert written and written == sorted(p.name for p in (share / subdir).iterdir())
    assert not COLLECTION_REPORTS.exists()
    summary = run.artifact(f"fieldkit_{subdir}")
    assert summary["report_dir"] == str(user_dir / "reports" / subdir)
    assert summary["published_to"] == str(share / subdir)
    # check mode: nothing changed on the hosts
    assert all(lab.stats(h)["module_executions"] == 1 for h in lab.hosts)
    assert lab.state("ref-assigned")["files"].get("C:\\Windows\\SMSCFG.ini")
    assert os.path.isdir(user_dir / "reports" / subdir)


def test_role_variables_of_every_host_are_validated_once_before_any_host_is_touched(lab_factory, tmp_path: pathlib.Path,
                                                                                    user_dir: pathlib.Path) -> None:
    """Issue 12: one validation task per run (not one per host) that still sees each host's own variables."""
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned", "ref-b": "ref_assigned", "ref-c": "ref_assigned"})
    host_vars = tmp_path / "host_vars.yml"
    host_vars.write_text("all:\n  hosts:\n    ref-c:\n      client_image_prep_scenario: bogus\n", encoding="utf-8")
    run = run_from(user_dir, tmp_path, inventory, "mecm.fieldkit.client_image_prep", "-i", str(host_vars),
                   "-e", "client_image_prep_hosts=all")
    assert run.rc == 2, run.stdout + run.stderr
    validations = [r for r in run.records if r["action"] == "ansible.builtin.validate_argument_spec"]
    assert [r["host"] for r in validations] == ["ref-assigned"]  # one task, on the first host, for all hosts
    stop = [r for r in run.records if r["task"].endswith("Stop before any host is touched when a role variable is not valid")]
    assert [r["status"] for r in stop] == ["failed"]
    assert ("value of client_image_prep_scenario must be one of: recapture, new, got: bogus found in ref-c"
            in stop[0]["result"]["msg"])
    assert all(lab.stats(h)["module_executions"] == 0 for h in lab.hosts)
    good = run_from(user_dir, tmp_path, inventory, "mecm.fieldkit.client_image_prep", "--check",
                    "-e", "client_image_prep_hosts=all")
    assert good.rc == 0, good.stdout + good.stderr
    assert len({r["host"] for r in good.records if r["action"] == "ansible.builtin.validate_argument_spec"}) == 1
    # Only the hosts that failed meet the last play: none here.
    assert not good.results("Fail the hosts whose image prep failed")


def test_image_prep_dashboard_language_is_checked_up_front_and_written_in_japanese(lab_factory, tmp_path: pathlib.Path,
                                                                                  user_dir: pathlib.Path) -> None:
    """The playbook passes the report language and template directory to the dashboard, and a bad one stops the
    run before any host is touched."""
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned"})
    bad = run_from(user_dir, tmp_path, inventory, "mecm.fieldkit.client_image_prep", "--check",
                   "-e", "client_image_prep_hosts=all", "-e", "client_image_prep_report_language=de")
    assert bad.rc != 0 and "language='de' is not a report language" in bad.stdout + bad.stderr, bad.stdout
    assert lab.stats("ref-assigned")["module_executions"] == 0
    good = run_from(user_dir, tmp_path, inventory, "mecm.fieldkit.client_image_prep", "--check",
                    "-e", "client_image_prep_hosts=all", "-e", "client_image_prep_report_language=ja")
    assert good.rc == 0, good.stdout + good.stderr
    page = (user_dir / "reports" / "client_image_prep" / "client_image_prep.html").read_text(encoding="utf-8")
    assert 'lang="ja"' in page and "ref-assigned" in page


@pytest.mark.parametrize("playbook, key, subdir", [("mecm.fieldkit.dp_diagnose", "fieldkit_dp_diagnose", "dp_diagnose"),
                                                   ("mecm.fieldkit.dp_inventory", "fieldkit_dp_inventory", "dp_inventory")])
def test_dp_playbooks_write_relative_to_the_user_and_publish(lab_factory, tmp_path: pathlib.Path,
                                                             user_dir: pathlib.Path, playbook: str, key: str,
                                                             subdir: str) -> None:
    site, dps = "cm01.contoso.local", ["dp01.contoso.local", "dp13.contoso.local"]
    lab, inventory = lab_factory(hosts={site: "site_cm01", dps[0]: "dp_healthy", dps[1]: "dp_disk_full"},
                                 groups={"site_servers": [site], "distribution_points": dps})
    share = tmp_path / "share"
    run = run_from(user_dir, tmp_path, inventory, playbook, "-e", f"fieldkit_report_publish_dir={share}",
                   "-e", '{"dp_diagnose_source_shares": ["\\\\\\\\cm01.contoso.local\\\\Sources"]}')
    assert run.rc == 0, run.stdout + run.stderr
    reports = user_dir / "reports" / "dp_diagnose"
    written = sorted(p.name for p in reports.iterdir())
    published = sorted(p.name for p in (share / subdir).iterdir())
    assert published and set(published) <= set(written)
    assert (share / subdir / published[0]).read_bytes() == (reports / published[0]).read_bytes()
    assert not COLLECTION_REPORTS.exists()
    summary = run.artifact(key)
    assert summary["report_dir"] == str(reports) and summary["published_to"] == str(share / subdir)
    assert summary["files"] == len(published)
    if key == "fieldkit_dp_inventory":
        assert int(summary["dps"]) == len(dps)  # the fleet table's rows (sccm_dp_report's inventory_count)
    # One facts execution per DP; the role variables validated in one task for all DPs.
    assert [lab.stats(dp)["module_executions"] for dp in dps] == [1, 1]
    validations = [r for r in run.records if r["action"] == "ansible.builtin.validate_argument_spec"]
    assert [r["host"] for r in validations] == [dps[0]]
