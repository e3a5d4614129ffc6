# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Imaging platforms end to end: win_sccm_client_facts reports the platform of each lab fixture, and
win_sccm_client_generalize platform_handles=auto leaves the Citrix MCS (VDA 2311+) steps to MCS, saying why;
with none it runs them. Real ansible-playbook runs over WinRM against the simulated lab."""
from __future__ import annotations

import json
import pathlib
import typing as t

import pytest

from tests.e2e.conftest import PlaybookRun, run_playbook

pytestmark = pytest.mark.e2e

SKIP = "skipped: performed by Citrix MCS image preparation (VDA 2311+)"
HOSTS = {"ref-plain": "ref_assigned", "vda-2311": "platform_citrix_vda_2311", "vda-2203": "platform_citrix_vda_2203",
         "ref-bisf": "platform_bisf", "ref-horizon": "platform_horizon", "ref-avd": "platform_avd"}

FACTS = """
- name: Imaging platform facts
  hosts: all
  gather_facts: false
  tasks:
    - name: Facts
      mecm.fieldkit.win_sccm_client_facts:
"""

GENERALIZE = """
- name: Image prep with the platform
  hosts: all
  gather_facts: false
  tasks:
    - name: Facts
      mecm.fieldkit.win_sccm_client_facts:
      when: read_facts | bool
    - name: Generalize
      mecm.fieldkit.win_sccm_client_generalize:
        platform_handles: "{{ platform_handles }}"
        service_stop_timeout: 5
"""


def result(run: PlaybookRun, host: str, task: str) -> dict[str, t.Any]:
    return run.one(task, host)["result"]


def steps(res: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {s["name"]: s for s in res["steps"]}


def test_facts_report_the_platform_of_each_fixture(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts=HOSTS)
    lab.reset_stats()
    run = run_playbook(tmp_path, inventory, FACTS, "-f", "6")
    assert run.rc == 0, run.stdout
    platform = {h: result(run, h, "Facts")["ansible_facts"]["sccm_client"]["imaging_platform"] for h in HOSTS}
    for host in HOSTS:
        # Still one module execution: the platform is one more read-only op of the same batch.
        assert lab.stats(host)["module_executions"] == 1, host
    assert platform["ref-plain"]["detected"] == []
    assert platform["vda-2311"]["detected"] == ["citrix_vda"]
    citrix = platform["vda-2311"]["citrix_vda"]
    assert citrix["version"] == "2311.0.0.29" and citrix["mcs_configmgr_step"] is True
    assert citrix["mcs_configmgr_cleanup"] is None and citrix["note"]
    assert platform["vda-2311"]["handles_steps"] == ["remove_sms_certificates", "remove_smscfg"]
    assert platform["vda-2203"]["citrix_vda"]["release"] == 2203
    assert platform["vda-2203"]["citrix_vda"]["mcs_configmgr_step"] is False and platform["vda-2203"]["handles_steps"] == []
    assert platform["ref-bisf"]["detected"] == ["bisf"] and platform["ref-bisf"]["bisf"]["path_exists"] is True
    assert platform["ref-horizon"]["detected"] == ["horizon"] and platform["ref-horizon"]["horizon"]["version"] == "8.12.0"
    assert platform["ref-avd"]["detected"] == ["avd"] and platform["ref-avd"]["avd"]["boot_loader_service"] is True


def test_generalize_auto_leaves_the_citrix_steps_to_mcs_and_none_runs_them(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"vda-auto": "platform_citrix_vda_2311", "vda-none": "platform_citrix_vda_2311",
                                        "vda-2203": "platform_citrix_vda_2203"})
    auto = run_playbook(tmp_path, inventory, GENERALIZE, "-f", "3", "--limit", "vda-auto,vda-2203",
                        "-e", "platform_handles=auto", "-e", "read_facts=true")
    assert auto.rc == 0, auto.stdout
    res = result(auto, "vda-auto", "Generalize")
    by_name = steps(res)
    for step in ("remove_sms_certificates", "remove_smscfg"):
        assert by_name[step]["status"] == "skipped" and by_name[step]["detail"] == SKIP
    assert by_name["remove_trusted_root_key"]["status"] == "changed"
    assert res["platform_handles"] == {"mode": "auto", "detected": ["citrix_vda"],
                                       "skipped_steps": ["remove_sms_certificates", "remove_smscfg"], "reason": SKIP}
    assert any(w.startswith("left for the imaging platform") for w in res["client_state"]["warnings"])
    assert "left for the imaging platform" in res["msg"]
    assert lab.state("vda-auto")["files"].get("C:\\Windows\\SMSCFG.ini") is not None
    # VDA 2203: MCS has no ConfigMgr step, auto takes nothing over.
    older = result(auto, "vda-2203", "Generalize")
    assert steps(older)["remove_smscfg"]["status"] == "changed"
    assert older["platform_handles"]["skipped_steps"] == [] and older["platform_handles"]["reason"] is None

    none = run_playbook(tmp_path, inventory, GENERALIZE, "--limit", "vda-none",
                        "-e", "platform_handles=none", "-e", "read_facts=true")
    assert none.rc == 0, none.stdout
    res = result(none, "vda-none", "Generalize")
    assert steps(res)["remove_sms_certificates"]["status"] == "changed"
    assert steps(res)["remove_smscfg"]["status"] == "changed"
    assert "platform_handles" not in res
    assert lab.state("vda-none")["files"].get("C:\\Windows\\SMSCFG.ini") is None


def test_generalize_auto_without_facts_fails_and_changes_nothing(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"vda-auto": "platform_citrix_vda_2311"})
    before = lab.state("vda-auto")
    lab.reset_stats()
    run = run_playbook(tmp_path, inventory, GENERALIZE, "-e", "platform_handles=auto", "-e", "read_facts=false")
    assert run.rc != 0
    record = run.one("Generalize", "vda-auto")
    assert record["status"] == "failed"
    assert "platform_handles=auto needs ansible_facts.sccm_client.imaging_platform" in record["result"]["msg"]
    assert lab.state("vda-auto") == before and lab.stats("vda-auto")["module_executions"] == 0


def test_role_auto_reads_the_platform_first_and_reports_the_skips(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"vda-auto": "platform_citrix_vda_2311", "ref-plain": "ref_assigned"})
    reports = tmp_path / "reports"
    lab.reset_stats()
    run = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_image_prep",
                       "-e", "client_image_prep_hosts=vda-auto,ref-plain", "-e", f"client_image_prep_report_dir={reports}",
                       "-e", "client_image_prep_platform_handles=auto", "-f", "2")
    assert run.rc == 0, run.stdout + run.stderr
    # The facts read, then generalize (the batch and the removal of the host record).
    assert lab.stats("vda-auto")["module_executions"] == 3
    vda = json.loads((reports / "vda-auto.json").read_text(encoding="utf-8"))
    by_name = steps(vda)
    assert by_name["remove_smscfg"]["status"] == "skipped" and by_name["remove_smscfg"]["detail"] == SKIP
    assert vda["client_state"]["ready_for_capture"] is True
    plain = json.loads((reports / "ref-plain.json").read_text(encoding="utf-8"))
    assert steps(plain)["remove_smscfg"]["status"] == "changed"
