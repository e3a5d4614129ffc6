# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image prep, issue 8, through the lab: the MP block rule never goes while ccmsetup may run (a failed status
read, a lost host), a host lost mid-install is reported ``unreachable`` in the JSON, the summary and JUnit
(and a host lost before generalize too), the next run removes the rule it left, and the ccmsetup
arguments (a bulk registration token) never reach the output, ansible.log or the reports."""
from __future__ import annotations

import json
import pathlib
import typing as t
from xml.etree import ElementTree as ET

import pytest

from tests.e2e.conftest import run_playbook
from tests.simhost.lab import Lab
from tests.simhost.paths import LABS_DIR

pytestmark = pytest.mark.e2e

HOST_VARS = str(LABS_DIR / "imageprep_vars.yml")
RULE = "mecm.fieldkit - block ConfigMgr management points during client install"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZWYtbmV3IiwiYXVkIjoiY20wMSJ9.c2lnbmF0dXJlLXNlY3JldA"
RPC_UNAVAILABLE = {"op": "ccmsetup.read_status", "code": "0x800706BA", "message": "The RPC server is unavailable"}

INSTALL = """
- name: Install
  hosts: all
  gather_facts: false
  tasks:
    - name: Install
      mecm.fieldkit.win_sccm_client_install:
        source_path: C:\\Install\\Client
        properties: {SMSMP: cm01.contoso.local}
        block_management_points: [cm01.contoso.local]
"""


class LoseAnswers:
    """From module execution ``after + 1`` on, the host runs the execution and then drops off the network: its
    answer is lost (a connection drop after execution). ``seen`` holds the module args of every execution;
    ``stop()`` ends the drops and makes the host reachable again."""

    def __init__(self, lab: Lab, host: str, after: int) -> None:
        self.lab, self.host, self.after = lab, host, after
        self.seen: list[dict[str, t.Any]] = []
        self.sim = lab.hosts[host]
        self.original = self.sim.execute
        self.sim.execute = self._execute

    def _execute(self, execution: t.Any) -> t.Any:
        answer = self.original(execution)
        if execution.kind == "module":
            self.seen.append(dict(execution.module_args))
            if len(self.seen) > self.after:
                self.lab.set_unreachable(self.host)
        return answer

    def stop(self) -> None:
        self.sim.execute = self.original
        self.lab.set_unreachable(self.host, False)


def read(path: pathlib.Path) -> dict[str, t.Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def junit_case(path: pathlib.Path, host: str, name: str) -> ET.Element:
    root = ET.parse(path).getroot()
    suite = next(s for s in root.findall("testsuite") if s.get("name") == f"client_image_prep.{host}")
    return next(c for c in suite.findall("testcase") if c.get("name") == name)


def comparable(state: dict[str, t.Any]) -> dict[str, t.Any]:
    return {k: v for k, v in state.items() if k != "faults"}


def test_failed_status_read_keeps_the_rule_while_ccmsetup_runs(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-new": "new_capture"})
    lab.add_fault("ref-new", dict(RPC_UNAVAILABLE, times=1))
    before = lab.state("ref-new")
    check = run_playbook(tmp_path, inventory, INSTALL, "--check")
    assert comparable(lab.state("ref-new")) == comparable(before), "check mode changed the host"
    assert check.one("Install", "ref-new")["result"]["changed"] is True

    lab.clear_faults("ref-new")
    lab.add_fault("ref-new", dict(RPC_UNAVAILABLE, times=1))
    run = run_playbook(tmp_path, inventory, INSTALL)
    record = run.one("Install", "ref-new")
    assert record["status"] == "failed"
    result = record["result"]
    assert result["msg"].startswith("step status failed on ref-new (ccmsetup.read_status) with 0x800706BA")
    assert "left in place because ccmsetup still runs" in result["msg"]
    assert result["changed"] is True  # ccmsetup was started and the rule created
    assert result["mp_block_rule"]["left_in_place"] is True and result["mp_block_rule"]["kept"] is False
    state = lab.state("ref-new")
    assert state["firewall_rules"][RULE]["remote_addresses"] == ["10.0.0.10"]
    assert state["ccmsetup_job"]["pid"], "ccmsetup should still run"

    # The next run waits for that ccmsetup, then removes the rule; the client never saw the MP.
    again = run_playbook(tmp_path, inventory, INSTALL)
    assert again.rc == 0, again.stdout
    result = again.one("Install", "ref-new")["result"]
    assert result["mp_block_rule"]["removed"] is True and result["client"]["assigned_site"] is None
    state = lab.state("ref-new")
    assert state["firewall_rules"] == {} and "ccmsetup_job" not in state


def test_host_lost_mid_install_is_unreachable_in_every_report_and_the_next_run_cleans_up(
        lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-new": "new_capture", "ref-assigned": "ref_assigned"})
    reports = tmp_path / "reports"
    args = ("-i", HOST_VARS, "-e", "client_image_prep_hosts=ref-new,ref-assigned",
            "-e", f"client_image_prep_report_dir={reports}")
    # Check mode, the answer of the (check-mode) start batch lost: unreachable, and nothing changed.
    before = lab.state("ref-new")
    drops = LoseAnswers(lab, "ref-new", after=0)
    check = run_playbook(tmp_path, inventory, "playbooks/client_image_prep.yml", *args, "--check", "-l", "ref-new")
    drops.stop()
    assert check.rc == 2, check.stdout
    assert lab.state("ref-new") == before, "check mode changed the host"
    planned = read(reports / "ref-new.json")
    assert planned["status"] == "unreachable" and "check mode changes nothing on the host" in planned["msg"]
    assert planned["install"]["mp_block_rule"] is None  # check mode creates no rule, so none is left

    drops = LoseAnswers(lab, "ref-new", after=1)  # the start batch answers; the first poll runs, its answer is lost
    lab.reset_stats()
    run = run_playbook(tmp_path, inventory, "playbooks/client_image_prep.yml", *args)
    assert run.rc == 2, run.stdout + run.stderr
    install = [r for r in run.results(host="ref-new") if r["action"] == "mecm.fieldkit.win_sccm_client_install"]
    assert [r["status"] for r in install] == ["unreachable"], [r["task"] for r in run.results(host="ref-new")]
    assert lab.stats("ref-new")["module_executions"] == 2  # no generalize, no cleanup on a lost host

    record = read(reports / "ref-new.json")
    assert record["status"] == "unreachable" and record["failed"] is True
    assert record["unreachable_during"] == "install_client"
    assert record["msg"].startswith("ref-new became unreachable while ccmsetup (started by this run) was waited for")
    assert "Connection error: ConnectionError" in record["msg"]
    assert "The MP block rule" in record["msg"] and "is left in place" in record["msg"]
    assert record["changed"] is True
    assert record["install"]["unreachable"] is True and record["install"]["ccmsetup"]["started"] is True
    assert record["install"]["mp_block_rule"]["left_in_place"] is True
    assert read(reports / "ref-assigned.json")["status"] == "changed"

    summary = read(reports / "summary.json")
    assert summary["by_status"]["unreachable"] == ["ref-new"] and summary["failed"] == 1
    assert summary["reasons"] == {"ref-new": {"status": "unreachable", "msg": record["msg"]}}
    error = junit_case(reports / "client_image_prep-junit.xml", "ref-new", "install_client").find("error")
    assert error is not None and error.get("type") == "unreachable" and error.get("message") == record["msg"]
    assert run.one("Fail the hosts whose image prep failed", "ref-new")["result"]["msg"] == record["msg"]

    state = lab.state("ref-new")
    assert RULE in state["firewall_rules"] and state["ccmsetup_job"], "the rule must stay with the running ccmsetup"

    # The host is back: the next run waits for ccmsetup, generalize removes the rule it left.
    drops.stop()
    again = run_playbook(tmp_path, inventory, "playbooks/client_image_prep.yml", *args, "-l", "ref-new")
    assert again.rc == 0, again.stdout
    record = read(reports / "ref-new.json")
    assert record["status"] == "changed", record
    assert record["install"]["ccmsetup"]["started"] is False and record["install"]["client"]["assigned_site"] is None
    state = lab.state("ref-new")
    assert state["firewall_rules"] == {} and "ccmsetup_job" not in state
    assert read(reports / "summary.json")["reasons"] == {}


def test_host_unreachable_before_generalize_is_unreachable_not_no_result(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned", "ref-down": "ref_assigned"})
    reports = tmp_path / "reports"
    lab.set_unreachable("ref-down")
    run = run_playbook(tmp_path, inventory, "playbooks/client_image_prep.yml",
                       "-e", "client_image_prep_hosts=ref-assigned,ref-down", "-e", f"client_image_prep_report_dir={reports}")
    assert run.rc == 2, run.stdout + run.stderr
    record = read(reports / "ref-down.json")
    assert record["status"] == "unreachable" and record["unreachable_during"] == "generalize"
    assert record["msg"].startswith("unreachable during generalize: ")
    summary = read(reports / "summary.json")
    assert summary["by_status"] == {"unreachable": ["ref-down"], "changed": ["ref-assigned"]}
    assert summary["reasons"]["ref-down"]["status"] == "unreachable"
    error = junit_case(reports / "client_image_prep-junit.xml", "ref-down", "image_prep").find("error")
    assert error is not None and error.get("type") == "unreachable"


def test_ccmsetup_secrets_stay_out_of_output_log_and_reports(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-new": "new_capture"})
    lab.hosts["ref-new"].model.state["ccmsetup_profile"]["return_code"] = 6  # failure: the message quotes the log
    reports = tmp_path / "reports"
    log = tmp_path / "ansible.log"
    executions = LoseAnswers(lab, "ref-new", after=99).seen  # records the module args only
    extra = {"client_image_prep_ccmsetup_switches": [f"/regtoken:{TOKEN}"],
             "client_image_prep_ccmsetup_properties": {"SMSMP": "cm01.contoso.local", "PROVISIONTS": "PS100042"}}
    run = run_playbook(tmp_path, inventory, "playbooks/client_image_prep.yml", "-vvv", "-i", HOST_VARS,
                       "-e", "client_image_prep_hosts=ref-new", "-e", f"client_image_prep_report_dir={reports}",
                       "-e", json.dumps(extra), env_extra={"ANSIBLE_LOG_PATH": str(log)})
    assert run.rc == 2, run.stdout + run.stderr
    record = read(reports / "ref-new.json")
    assert record["status"] == "failed" and "ccmsetup ended with return code 6" in record["msg"]
    assert record["install"]["ccmsetup"]["arguments"] == ["/regtoken:********", "SMSMP=********",
                                                          "PROVISIONTS=********"]
    assert any("/regtoken:********" in line for line in record["install"]["ccmsetup"]["log_tail"])
    outputs = {"stdout": run.stdout + run.stderr, "ansible.log": log.read_text(encoding="utf-8"),
               "recorded results": json.dumps(run.records)}
    outputs.update({p.name: p.read_text(encoding="utf-8") for p in reports.iterdir()})
    for name, text in outputs.items():
        for secret in (TOKEN, "PS100042"):
            assert secret not in text, f"{secret[:12]}... leaked into {name}"
    assert "/regtoken:********" in outputs["stdout"]
    # The host got the real token, and the runner was told not to log the invocation (it logs none: no
    # Ansible.Basic; the Windows event log would carry the token into the captured image).
    assert f"/regtoken:{TOKEN}" in lab.state("ref-new")["files"]["C:\\Windows\\ccmsetup\\Logs\\ccmsetup.log"]
    assert executions and all(args.get("_ansible_no_log") is True for args in executions)


def test_role_rescue_leaves_the_rule_the_install_left_for_a_running_ccmsetup(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-new": "new_capture"})
    lab.add_fault("ref-new", dict(RPC_UNAVAILABLE, times=1))
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, "playbooks/client_image_prep.yml", "-i", HOST_VARS,
                       "-e", "client_image_prep_hosts=ref-new", "-e", f"client_image_prep_report_dir={reports}")
    assert run.rc == 2, run.stdout
    record = read(reports / "ref-new.json")
    assert record["status"] == "failed" and "0x800706BA" in record["msg"]
    assert record["install"]["mp_block_rule"]["left_in_place"] is True
    # The rescue's generalize cleanup only removes a rule kept for generalize, never this one.
    cleanup = [r for r in run.results(host="ref-new") if r["action"] == "mecm.fieldkit.win_sccm_client_generalize"]
    assert [r["status"] for r in cleanup] == ["skipped"]
    state = lab.state("ref-new")
    assert RULE in state["firewall_rules"] and state["ccmsetup_job"]
