# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify-only image prep end to end (win_sccm_client_generalize mode=verify and the role's
client_image_prep_mode=verify): real ansible-playbook runs over WinRM against the simulated lab.

A prepared machine verifies ready (rc 0); an unprepared one fails with the problem list; a half-prepared one
lists exactly the items left. Verify changes nothing on any host (the lab state is byte-identical before and
after) and takes one module execution per host, in check mode too.
"""
from __future__ import annotations

import json
import pathlib
import typing as t
from xml.etree import ElementTree as ET

import pytest

from tests.e2e.conftest import run_playbook

pytestmark = pytest.mark.e2e

PREPARE = """
- name: Prepare
  hosts: all
  gather_facts: false
  tasks:
    - name: Generalize
      mecm.fieldkit.win_sccm_client_generalize:
        service_stop_timeout: 5
"""

VERIFY = """
- name: Verify only
  hosts: all
  gather_facts: false
  tasks:
    - name: Verify
      mecm.fieldkit.win_sccm_client_generalize:
        mode: verify
"""

HOSTS = {"ref-prepared": "ref_assigned", "ref-assigned": "ref_assigned", "ref-mcs": "mcs_partial",
         "ref-clone": "clone_half_prepared"}


def dump(lab: t.Any, host: str) -> str:
    return json.dumps(lab.state(host), sort_keys=True, default=str)


def failed_checks(res: dict[str, t.Any]) -> list[str]:
    return [c["name"] for c in res["checks"] if c["status"] == "failed"]


def test_verify_only_reports_readiness_and_changes_nothing(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts=HOSTS)
    prepared = run_playbook(tmp_path, inventory, PREPARE, "--limit", "ref-prepared")
    assert prepared.rc == 0, prepared.stdout

    hosts = sorted(lab.hosts)
    before = {h: dump(lab, h) for h in hosts}
    runs = {}
    for label, extra in (("real", ()), ("check", ("--check",))):
        lab.reset_stats()
        run = run_playbook(tmp_path, inventory, VERIFY, "-f", "4", *extra)
        runs[label] = run
        # Hosts that are not ready fail: the play ends with rc 2.
        assert run.rc == 2, run.stdout
        for host in hosts:
            assert dump(lab, host) == before[host], f"verify ({label}) changed {host}"
            assert lab.stats(host)["module_executions"] == 1, (label, host, lab.stats(host))

    real = runs["real"]
    ok = real.one("Verify", "ref-prepared")
    assert ok["status"] == "ok"
    res = ok["result"]
    assert res["changed"] is False and res["ready_for_capture"] is True and failed_checks(res) == []
    assert res["msg"].startswith("ref-prepared is ready for capture:")

    unprepared = real.one("Verify", "ref-assigned")
    assert unprepared["status"] == "failed"
    res = unprepared["result"]
    assert res["changed"] is False and res["ready_for_capture"] is False
    assert failed_checks(res) == ["ccmexec_stopped", "sms_certificates", "smscfg", "trusted_root_key",
                                  "site_assignment"]
    assert res["msg"].startswith("ref-assigned is NOT ready for capture: 5 problem(s):")
    for name in ("SMSCFG.ini present", "assigned to site PS1", "TrustedRootKey", "LocalMachine\\SMS"):
        assert name in res["msg"], name

    assert failed_checks(real.one("Verify", "ref-mcs")["result"]) == ["ccmexec_start_mode", "trusted_root_key",
                                                                      "site_assignment"]
    assert failed_checks(real.one("Verify", "ref-clone")["result"]) == ["ccmexec_start_mode", "sms_certificates",
                                                                        "trusted_root_key", "site_assignment"]

    # Check mode gives the same answer (verify plans only reads, in check mode too).
    for host in hosts:
        assert runs["check"].one("Verify", host)["result"]["checks"] == real.one("Verify", host)["result"]["checks"]

    # A gate on one ready machine passes.
    lab.reset_stats()
    gate = run_playbook(tmp_path, inventory, VERIFY, "--limit", "ref-prepared")
    assert gate.rc == 0, gate.stdout
    assert dump(lab, "ref-prepared") == before["ref-prepared"]
    assert lab.stats("ref-prepared")["module_executions"] == 1


def test_role_verify_mode_writes_verified_and_not_ready_reports(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-prepared": "ref_assigned", "ref-mcs": "mcs_partial",
                                        "ref-new": "new_capture"})
    assert run_playbook(tmp_path, inventory, PREPARE, "--limit", "ref-prepared").rc == 0
    hosts = sorted(lab.hosts)
    before = {h: dump(lab, h) for h in hosts}
    reports = tmp_path / "reports"
    lab.reset_stats()
    # ref-new has scenario new with a ccmsetup source: verify must not install anything.
    run = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_image_prep",
                       "-e", f"client_image_prep_hosts={','.join(hosts)}", "-e", f"client_image_prep_report_dir={reports}",
                       "-e", "client_image_prep_mode=verify", "-e", "client_image_prep_sysprep=true",
                       "-e", "client_image_prep_scenario=new",
                       "-e", "client_image_prep_ccmsetup_source=C:\\Install\\Client", "-f", "3")
    assert run.rc == 2, run.stdout + run.stderr
    for host in hosts:
        assert dump(lab, host) == before[host], f"the role in verify mode changed {host}"
        assert lab.stats(host)["module_executions"] == 1

    record = json.loads((reports / "ref-prepared.json").read_text(encoding="utf-8"))
    assert record["status"] == "verified" and record["mode"] == "verify" and record["failed"] is False
    assert record["ready_for_capture"] is True and record["module_executions"] == 1 and record["install"] is None
    mcs = json.loads((reports / "ref-mcs.json").read_text(encoding="utf-8"))
    assert mcs["status"] == "not ready" and mcs["failed"] is True
    assert [c["name"] for c in mcs["checks"] if c["status"] == "failed"] == [
        "ccmexec_start_mode", "trusted_root_key", "site_assignment"]
    new = json.loads((reports / "ref-new.json").read_text(encoding="utf-8"))
    assert new["status"] == "not ready"
    assert "client_installed" in [c["name"] for c in new["checks"] if c["status"] == "failed"]

    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert summary["by_status"] == {"not ready": ["ref-mcs", "ref-new"], "verified": ["ref-prepared"]}
    assert summary["failed"] == 2 and summary["ready_for_capture"] == ["ref-prepared"]
    assert summary["reasons"]["ref-mcs"]["msg"].startswith("ref-mcs is NOT ready for capture: 3 problem(s)")

    root = ET.parse(reports / "client_image_prep-junit.xml").getroot()
    suites = {s.get("name", "").split(".", 1)[1]: s for s in root.findall("testsuite")}
    mcs_cases = {c.get("name"): c for c in suites["ref-mcs"].findall("testcase")}
    assert mcs_cases["verify.trusted_root_key"].find("failure") is not None
    assert mcs_cases["verify.smscfg"].find("failure") is None
    assert mcs_cases["verify.pki_certificates"].find("skipped") is not None
    assert suites["ref-prepared"].get("failures") == "0"
