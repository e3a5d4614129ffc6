# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client_image_prep role through its playbooks, end to end against the simulated lab: both capture
scenarios, the JSON and JUnit reports, a rerun, sysprep as the last step, and the identity audit."""
from __future__ import annotations

import json
import pathlib
import typing as t
from xml.etree import ElementTree as ET

import pytest

from tests.e2e.conftest import run_playbook
from tests.simhost.paths import LABS_DIR

pytestmark = pytest.mark.e2e

HOST_VARS = str(LABS_DIR / "imageprep_vars.yml")
GUID = "GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B"


def junit_cases(path: pathlib.Path) -> dict[str, dict[str, ET.Element]]:
    root = ET.parse(path).getroot()
    return {suite.get("name", "").split(".", 1)[1]: {case.get("name", ""): case for case in suite.findall("testcase")}
            for suite in root.findall("testsuite")}


def read(path: pathlib.Path) -> dict[str, t.Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_playbook_runs_both_scenarios_writes_reports_and_reruns_clean(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned", "ref-new": "new_capture",
                                        "ref-certdenied": "cert_denied", "cm01": "site_server"})
    reports = tmp_path / "reports"
    # The host-vars file also names lab hosts that this lab does not have: target the lab's hosts.
    args = ("-i", HOST_VARS, "-e", f"client_image_prep_hosts={','.join(sorted(lab.hosts))}", "-e", f"client_image_prep_report_dir={reports}",
            "-f", "4")
    lab.reset_stats()
    # The playbook as users run it from the installed collection.
    run = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_image_prep", *args)
    assert run.rc == 2, run.stdout + run.stderr
    # generalize: the batch, then the removal of the host record of what it removed (issue 8)
    assert lab.stats("ref-assigned")["module_executions"] == 2
    assert lab.stats("ref-new")["module_executions"] == 5  # install: start + 2 polls; generalize: 2

    assert sorted(p.name for p in reports.iterdir()) == [
        "client_image_prep-junit.xml", "client_image_prep.html", "cm01.json", "ref-assigned.json",
        "ref-certdenied.json", "ref-new.json", "summary.json"]
    assigned = read(reports / "ref-assigned.json")
    assert assigned["status"] == "changed" and assigned["scenario"] == "recapture"
    assert assigned["removed_identity"]["sms_unique_id"] == GUID
    assert assigned["client_state"]["ready_for_capture"] is True
    new = read(reports / "ref-new.json")
    assert new["scenario"] == "new" and new["status"] == "changed" and new["module_executions"] == 5
    assert new["install"]["ccmsetup"]["return_code"] == 0 and new["install"]["client"]["assigned_site"] is None
    assert new["install"]["mp_block_rule"]["kept"] is True
    assert lab.state("ref-new")["firewall_rules"] == {}
    denied = read(reports / "ref-certdenied.json")
    assert denied["status"] == "failed" and denied["failed_step"] == "remove_sms_certificates"
    assert "0x80070005" in denied["msg"]
    guard = read(reports / "cm01.json")
    assert guard["status"] == "failed" and guard["guard"] == "not_site_system"
    summary = read(reports / "summary.json")
    assert summary["failed"] == 2 and summary["ready_for_capture"] == ["ref-assigned", "ref-new"]

    cases = junit_cases(reports / "client_image_prep-junit.xml")
    assert list(cases["ref-assigned"]) == ["disable_health_task", "stop_service", "remove_trusted_root_key",
                                           "reset_site_assignment", "remove_sms_certificates", "remove_smscfg",
                                           "final_start_mode"]
    assert all(c.find("failure") is None for c in cases["ref-assigned"].values())
    assert list(cases["ref-new"])[0] == "install_client"
    assert "reset_site_assignment" not in cases["ref-new"]  # not part of scenario new
    failure = cases["ref-certdenied"]["remove_sms_certificates"].find("failure")
    assert failure is not None and "0x80070005" in failure.get("message", "")
    assert cases["ref-certdenied"]["remove_smscfg"].find("skipped") is not None
    assert cases["cm01"]["guard.not_site_system"].find("failure") is not None
    # Issue 12: a host that installs nothing meets one image-prep task, generalize (no install or platform read
    # skipped per host); the install host's play reads the platform when asked (skipped here). No host sets a fact
    # of its own but the failed ones (rescue): the records come from the registered results.
    modules = {host: [(r["action"].rsplit(".", 1)[-1], r["status"]) for r in run.results(host=host)
                      if r["action"].startswith("mecm.fieldkit.win_sccm_client_")] for host in ("ref-assigned", "ref-new")}
    assert modules == {"ref-assigned": [("win_sccm_client_generalize", "ok")],
                       "ref-new": [("win_sccm_client_install", "ok"), ("win_sccm_client_facts", "skipped"),
                                   ("win_sccm_client_generalize", "ok")]}
    once = ("Plan which hosts install the client first and which read the imaging platform first",
            "Collect the per-host results")
    per_host_facts = [(r["task"].split(" : ")[-1], r["host"]) for r in run.results()
                      if r["action"].endswith("set_fact") and r["task"].split(" : ")[-1] not in once]
    assert sorted(per_host_facts) == [("Remember why image prep failed", "cm01"),
                                      ("Remember why image prep failed", "ref-certdenied")]
    # Failed hosts fail the run after the reports are written; only they meet the last play (issue 12: no task per
    # host that passed).
    failed = {r["host"]: r["status"] for r in run.results("Fail the hosts whose image prep failed")}
    assert failed == {"cm01": "failed", "ref-certdenied": "failed"}

    lab.reset_stats()
    again = run_playbook(tmp_path, inventory, "playbooks/client_image_prep.yml", *args, "-l", "ref-assigned,ref-new")
    assert again.rc == 0, again.stdout
    for host in ("ref-assigned", "ref-new"):
        record = read(reports / f"{host}.json")
        assert record["status"] == "ok" and record["changed"] is False, record
    assert lab.stats("ref-assigned")["module_executions"] == 1
    assert lab.stats("ref-new")["module_executions"] == 2
    rerun_cases = junit_cases(reports / "client_image_prep-junit.xml")
    assert set(rerun_cases) == {"ref-assigned", "ref-new"}


def test_playbook_reads_the_platform_only_where_asked_and_each_host_meets_only_its_tasks(
        lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"vda-auto": "platform_citrix_vda_2311", "ref-new": "new_capture",
                                        "ref-assigned": "ref_assigned"})
    auto = tmp_path / "auto_vars.yml"
    auto.write_text("all:\n  hosts:\n    vda-auto: {client_image_prep_platform_handles: auto}\n"
                    "    ref-new: {client_image_prep_platform_handles: auto}\n", encoding="utf-8")
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_image_prep", "-i", HOST_VARS, "-i", str(auto),
                       "-e", "client_image_prep_hosts=vda-auto,ref-new,ref-assigned",
                       "-e", f"client_image_prep_report_dir={reports}")
    assert run.rc == 0, run.stdout + run.stderr
    modules = {host: [(r["action"].rsplit(".", 1)[-1], r["status"]) for r in run.results(host=host)
                      if r["action"].startswith("mecm.fieldkit.win_sccm_client_")] for host in sorted(lab.hosts)}
    assert modules == {
        "vda-auto": [("win_sccm_client_facts", "ok"), ("win_sccm_client_generalize", "ok")],
        "ref-new": [("win_sccm_client_install", "ok"), ("win_sccm_client_facts", "ok"), ("win_sccm_client_generalize", "ok")],
        "ref-assigned": [("win_sccm_client_generalize", "ok")]}
    vda = read(reports / "vda-auto.json")
    assert vda["status"] == "changed" and vda["scenario"] == "recapture"
    steps = {step["name"]: step for step in vda["steps"]}
    assert steps["remove_smscfg"]["status"] == "skipped" and "performed by" in steps["remove_smscfg"]["detail"]
    new = read(reports / "ref-new.json")
    assert new["status"] == "changed" and new["scenario"] == "new" and new["install"]["mp_block_rule"]["kept"] is True
    assert read(reports / "ref-assigned.json")["status"] == "changed"
    assert read(reports / "summary.json")["ready_for_capture"] == ["ref-assigned", "ref-new", "vda-auto"]


ROLE_MAIN = """
- name: The role used directly
  hosts: all
  gather_facts: false
  roles:
    - role: mecm.fieldkit.client_image_prep
      client_image_prep_fail_on_error: false
  tasks:
    - name: Show the result
      ansible.builtin.debug:
        var: client_image_prep_result
"""


def test_role_main_sets_the_result_on_every_host(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned", "ref-new": "new_capture",
                                        "ref-certdenied": "cert_denied"})
    run = run_playbook(tmp_path, inventory, ROLE_MAIN, "-i", HOST_VARS, "-l", ",".join(sorted(lab.hosts)))
    assert run.rc == 0, run.stdout + run.stderr
    results = {host: run.one("Show the result", host)["result"]["client_image_prep_result"] for host in lab.hosts}
    assert {host: r["status"] for host, r in results.items()} == {
        "ref-assigned": "changed", "ref-new": "changed", "ref-certdenied": "failed"}
    assert results["ref-new"]["install"]["mp_block_rule"]["kept"] is True and results["ref-new"]["scenario"] == "new"
    assert results["ref-certdenied"]["failed_step"] == "remove_sms_certificates"
    assert lab.state("ref-new")["firewall_rules"] == {}


def test_sysprep_last_step_and_identity_audit(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned", "vdi-0001": "clone_duplicate",
                                        "ref-seal": "ref_assigned", "ref-clean": "clean_windows"})
    audit_dir = tmp_path / "audit"
    audit_args = ("-e", f"client_identity_audit_report_dir={audit_dir}", "-f", "4")
    first = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_identity_audit", *audit_args)
    assert first.rc == 0, first.stdout
    audit = read(audit_dir / "client_identity_audit.json")
    assert [(d["value"], d["hosts"]) for d in audit["duplicates"]["sms_unique_id"]] == [
        (GUID, ["ref-assigned", "ref-seal", "vdi-0001"])]
    assert len(audit["duplicates"]["sms_certificate_thumbprint"]) == 2
    assert audit["no_client"] == ["ref-clean"]
    markdown = (audit_dir / "client_identity_audit.md").read_text(encoding="utf-8")
    assert f"| {GUID} | ref-assigned, ref-seal, vdi-0001 |" in markdown

    seal = run_playbook(tmp_path, inventory, "playbooks/client_image_prep.yml", "-e", "client_image_prep_hosts=ref-seal",
                        "-e", f"client_image_prep_report_dir={tmp_path / 'seal'}",
                        "-e", "client_image_prep_sysprep=true", "-e", "client_image_prep_sysprep_mode_vm=true")
    assert seal.rc == 0, seal.stdout
    sysprep = lab.state("ref-seal")["sysprep"]
    assert sysprep["command_line"] == ("C:\\Windows\\System32\\Sysprep\\sysprep.exe /generalize /oobe /shutdown "
                                       "/quiet /mode:vm")
    record = read(tmp_path / "seal" / "ref-seal.json")
    assert record["steps"][-1]["name"] == "start_sysprep" and record["steps"][-1]["status"] == "changed"

    again = run_playbook(tmp_path, inventory, "playbooks/client_identity_audit.yml", *audit_args,
                         "-e", "client_identity_audit_fail_on_duplicates=true")
    assert again.rc == 2, again.stdout
    audit = read(audit_dir / "client_identity_audit.json")
    assert audit["prepared_for_capture"] == ["ref-seal"]
    assert [(d["value"], d["hosts"]) for d in audit["duplicates"]["sms_unique_id"]] == [
        (GUID, ["ref-assigned", "vdi-0001"])]
    assert audit["affected_hosts"] == ["ref-assigned", "vdi-0001"]
