# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_sccm_client_generalize, second pass (issue 8): a lost answer is recoverable, scenario A removes
SMSCFG.ini, the health task's final state is an option, and check mode plans exactly what the real run
changes. Real ansible-playbook runs over WinRM (NTLM with message encryption) against the simulated lab."""
from __future__ import annotations

import json
import pathlib
import typing as t

import pytest

from tests.e2e.conftest import PlaybookRun, run_playbook
from tests.simhost.paths import LABS_DIR, REPO_ROOT

pytestmark = pytest.mark.e2e

GUID = "GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B"
TASK = "\\Microsoft\\Configuration Manager\\Configuration Manager Health Evaluation"
RECORD_KEY = "HKLM\\SOFTWARE\\mecm.fieldkit\\ImagePrep"
FIXTURES = REPO_ROOT / "tests" / "simhost" / "fixtures"


def result(run: PlaybookRun, host: str, task: str = "Generalize") -> dict[str, t.Any]:
    return run.one(task, host)["result"]


def status(run: PlaybookRun, host: str, task: str = "Generalize") -> str:
    return run.one(task, host)["status"]


def steps(res: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {s["name"]: s for s in res["steps"]}


def has_record(state: dict[str, t.Any]) -> bool:
    return any(key.lower() == RECORD_KEY.lower() for key in state["registry"])


LOST = """
- name: Image prep
  hosts: all
  gather_facts: false
  tasks:
    - name: Generalize
      mecm.fieldkit.win_sccm_client_generalize:
        service_stop_timeout: 5
      timeout: "{{ 4 if inventory_hostname == 'ref-slow' else 0 }}"
      ignore_unreachable: true
"""


def test_lost_answer_is_unreachable_and_the_rerun_recovers_what_was_removed(lab_factory,
                                                                             tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-drop": "ref_assigned", "ref-slow": "ref_assigned"})
    thumbprints = sorted(c["thumbprint"] for c in lab.state("ref-drop")["cert_stores"]["LocalMachine\\SMS"])
    # ref-drop: the batch runs, then the connection drops before its answer. ref-slow: the answer comes
    # after the task timeout (4 s).
    lab.lose_answers("ref-drop", 1)
    lab.hosts["ref-slow"].delay_seconds = 8.0
    first = run_playbook(tmp_path, inventory, LOST, "-f", "2")
    for host in ("ref-drop", "ref-slow"):
        assert status(first, host) == "unreachable", (host, result(first, host))
        res = result(first, host)
        assert "the host may already have been changed; rerun to recover what was removed" in res["msg"], res["msg"]
        assert "Connection aborted" not in res["msg"] and "Timed out after" not in res["msg"]
        state = lab.state(host)
        # The batch did run: the identity is gone, and the host keeps a record of what it removed.
        assert "C:\\Windows\\SMSCFG.ini" not in state["files"], host
        assert has_record(state), host
    assert "within the task timeout" in result(first, "ref-slow")["msg"]

    lab.hosts["ref-slow"].delay_seconds = 0.0
    lab.reset_stats()
    rerun = run_playbook(tmp_path, inventory, LOST, "-f", "2")
    assert rerun.rc == 0, rerun.stdout
    for host in ("ref-drop", "ref-slow"):
        res = result(rerun, host)
        removed = res["removed_identity"]
        assert removed["recovered_from_host_record"] is True, removed
        assert removed["sms_unique_id"] == GUID
        assert removed["site_code"] == "PS1" and removed["management_point"] == "CM01.contoso.local"
        assert sorted(c["thumbprint"] for c in removed["certificates"]) == thumbprints
        assert removed["trusted_root_keys"] == 1 and removed["recorded_utc"]
        assert res["host_record"] == {"key": RECORD_KEY, "found": True, "written": False, "removed": True,
                                      "present": False}
        assert "recovered from the host record" in res["msg"], res["msg"]
        assert res["client_state"]["ready_for_capture"] is True, res["client_state"]["problems"]
        assert not has_record(lab.state(host)), host
        # One execution for the batch, one to remove the record once its content had arrived.
        assert lab.stats(host)["module_executions"] == 2

    lab.reset_stats()
    third = run_playbook(tmp_path, inventory, LOST, "-f", "2")
    assert third.rc == 0, third.stdout
    for host in ("ref-drop", "ref-slow"):
        res = result(third, host)
        assert res["changed"] is False and res["msg"] == "already prepared for capture; nothing changed"
        assert res["removed_identity"]["recovered_from_host_record"] is False
        assert res["removed_identity"]["sms_unique_id"] is None
        assert lab.stats(host)["module_executions"] == 1


NEW_CAPTURE = """
- name: New capture
  hosts: all
  gather_facts: false
  tasks:
    - name: Install
      mecm.fieldkit.win_sccm_client_install:
        source_path: C:\\Install\\Client
        properties:
          SMSMP: cm01.contoso.local
        block_management_points: [cm01.contoso.local]
        keep_block_rule: true

    - name: Generalize
      mecm.fieldkit.win_sccm_client_generalize:
        scenario: new
        remove_mp_block_rules: true
        # ref-new: the scenario's defaults; ref-keep: SMSCFG.ini deletion switched off.
        steps: "{{ {'remove_smscfg': false} if inventory_hostname == 'ref-keep' else {} }}"
      ignore_errors: true
"""


def test_new_capture_removes_smscfg_by_default_and_readiness_counts_every_identity_item(
        lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-new": "new_capture", "ref-keep": "new_capture"})
    run = run_playbook(tmp_path, inventory, NEW_CAPTURE, "-f", "2")
    assert run.rc == 0, run.stdout
    # ccmsetup wrote SMSCFG.ini with a GUID although the client never reached a site.
    new = result(run, "ref-new")
    assert steps(new)["remove_smscfg"]["status"] == "changed"
    assert steps(new)["remove_smscfg"]["reference"].startswith("seed B-4; scenario A: Microsoft Learn")
    assert new["removed_identity"]["sms_unique_id"].startswith("GUID:")
    assert new["client_state"]["ready_for_capture"] is True, new["client_state"]["problems"]
    assert "C:\\Windows\\SMSCFG.ini" not in lab.state("ref-new")["files"]
    # Switched off, the file stays and the machine is not ready for capture: clones would share the GUID.
    keep = result(run, "ref-keep")
    assert steps(keep)["remove_smscfg"]["status"] == "skipped"
    assert "C:\\Windows\\SMSCFG.ini" in lab.state("ref-keep")["files"]
    assert keep["client_state"]["ready_for_capture"] is False
    assert any(p.startswith("SMSCFG.ini present (SMS Unique Identifier GUID:") and p.endswith(
        "clones would share it; switch on steps.remove_smscfg") for p in keep["client_state"]["problems"]), keep
    assert not has_record(lab.state("ref-new")) and not has_record(lab.state("ref-keep"))


HEALTH = """
- name: Image prep
  hosts: all
  gather_facts: false
  tasks:
    - name: Generalize
      mecm.fieldkit.win_sccm_client_generalize:
        health_task_final_state: "{{ 'as_found' if inventory_hostname == 'ref-asfound' else omit }}"
"""


def test_health_task_found_disabled_is_reported_and_its_final_state_is_an_option(lab_factory,
                                                                                 tmp_path: pathlib.Path) -> None:
    disabled = {"base": "ref_assigned", "scheduled_tasks": {TASK: {"enabled": False, "state": "disabled"}}}
    lab, inventory = lab_factory(hosts={"ref-enable": disabled, "ref-asfound": disabled})
    before = {h: lab.state(h) for h in lab.hosts}
    check = run_playbook(tmp_path, inventory, HEALTH, "--check", "-f", "2")
    assert check.rc == 0, check.stdout
    assert {h: lab.state(h) for h in lab.hosts} == before
    assert steps(result(check, "ref-enable"))["disable_health_task"]["status"] == "changed"
    run = run_playbook(tmp_path, inventory, HEALTH, "-f", "2")
    assert run.rc == 0, run.stdout
    # Default: the task ends enabled, and the result says it was found disabled.
    enabled = result(run, "ref-enable")
    step = steps(enabled)["disable_health_task"]
    assert step["status"] == "changed" and step["verified"] is True
    assert step["detail"] == ("the task was disabled before the run (not by image prep); enabled it at the end "
                              "(health_task_final_state=enabled)")
    assert lab.state("ref-enable")["scheduled_tasks"][TASK]["enabled"] is True
    assert enabled["client_state"]["warnings"] == []
    # as_found: left disabled, reported in the step, the readiness warnings and the message.
    kept = result(run, "ref-asfound")
    step = steps(kept)["disable_health_task"]
    assert step["status"] == "ok" and step["verified"] is True
    assert "left disabled as found (health_task_final_state=as_found)" in step["detail"]
    assert lab.state("ref-asfound")["scheduled_tasks"][TASK]["enabled"] is False
    assert kept["client_state"]["ready_for_capture"] is True
    assert kept["client_state"]["warnings"] == [
        "the health evaluation task \\Microsoft\\Configuration Manager\\Configuration Manager Health Evaluation is "
        "disabled (health_task_final_state=as_found kept it as found): clones will not run the client health "
        "evaluation (ccmeval) until it is enabled"]
    assert "warning: the health evaluation task" in kept["msg"]
    assert "HKLM\\SOFTWARE\\mecm.fieldkit\\Markers" not in lab.state("ref-asfound")["registry"]


def image_prep_fixtures() -> list[str]:
    """Every fixture of the image-prep labs: the fixtures directory without the DP lab, and labs/default.json."""
    names = {p.stem for p in FIXTURES.glob("*.json") if not p.stem.startswith("dp_") and p.stem != "site_cm01"}
    names |= set(json.loads((LABS_DIR / "default.json").read_text(encoding="utf-8"))["hosts"].values())
    return sorted(names)


PLAN_VS_REAL = """
- name: Image prep
  hosts: all
  gather_facts: false
  vars:
    sysprep_hosts: [var-sysprep, var-sysprep-mcs]
  tasks:
    - name: Generalize
      mecm.fieldkit.win_sccm_client_generalize:
        service_stop_timeout: 5
        pki_certificate_filter: "{{ {'thumbprints': ['0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C']}
                                    if inventory_hostname == 'var-pki' else omit }}"
        steps: "{{ {'leave_provisioning_mode': true, 'reset_hardware_inventory': true,
                    'clear_gp_site_assignment': true, 'empty_ccmcache': true}
                   if inventory_hostname == 'var-pki' else {} }}"
        sysprep:
          enabled: "{{ inventory_hostname in sysprep_hosts }}"
      ignore_errors: true
"""


def test_check_mode_plan_equals_the_real_run_on_every_image_prep_fixture(lab_factory, tmp_path: pathlib.Path) -> None:
    hosts: dict[str, t.Any] = {f"fx-{name.replace('_', '-')}": name for name in image_prep_fixtures()}
    # Variants: sysprep enabled (the capture-ready gate), the PKI filter with every optional step.
    hosts.update({"var-sysprep": "ref_assigned", "var-sysprep-mcs": "mcs_partial", "var-pki": "ref_pki_extras"})
    lab, inventory = lab_factory(hosts=hosts)
    before = {h: lab.state(h) for h in hosts}
    check = run_playbook(tmp_path, inventory, PLAN_VS_REAL, "--check", "-f", "8")
    assert check.rc == 0, check.stdout
    for host in hosts:
        assert lab.state(host) == before[host], f"check mode changed {host}"
    real = run_playbook(tmp_path, inventory, PLAN_VS_REAL, "-f", "8")
    assert real.rc == 0, real.stdout
    compared = 0
    for host in sorted(hosts):
        planned, done = result(check, host), result(real, host)
        plan_steps, real_steps = steps(planned), steps(done)
        assert list(plan_steps) == list(real_steps), host
        order = list(real_steps)
        failed_step = done.get("failed_step")
        upto = order.index(failed_step) if failed_step in order else len(order)
        for name in order[:upto]:
            would, did = plan_steps[name]["status"] == "changed", real_steps[name]["status"] == "changed"
            assert would == did, (host, name, plan_steps[name], real_steps[name])
            compared += 1
        if done.get("guard"):
            assert planned.get("guard") == done["guard"], host
        elif failed_step in order:
            # The step the real run failed at is one check mode planned (it would have tried).
            assert plan_steps[failed_step]["status"] in ("changed", "failed"), (host, plan_steps[failed_step])
        else:
            assert status(check, host) == "ok" and status(real, host) in ("ok", "changed"), (host, done["msg"])
            assert planned["changed"] == done["changed"], host
            assert planned["client_state"]["ready_for_capture"] == done["client_state"]["ready_for_capture"], (
                host, planned["client_state"]["problems"], done["client_state"]["problems"])
    assert compared > 100
    sealed = steps(result(real, "var-sysprep"))["start_sysprep"]
    assert steps(result(check, "var-sysprep"))["start_sysprep"]["status"] == sealed["status"] == "changed"
    assert "sysprep" in lab.state("var-sysprep")
