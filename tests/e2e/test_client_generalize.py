# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_sccm_client_generalize and win_sccm_client_install end to end: real ansible-playbook runs over
WinRM (NTLM with message encryption) against the simulated lab. Several hosts per run keep this fast."""
from __future__ import annotations

import json
import pathlib
import typing as t

import pytest

from tests.e2e.conftest import PlaybookRun, run_playbook

pytestmark = pytest.mark.e2e

TASK = "\\Microsoft\\Configuration Manager\\Configuration Manager Health Evaluation"
RULE = "mecm.fieldkit - block ConfigMgr management points during client install"

GENERALIZE = """
- name: Image prep
  hosts: all
  gather_facts: false
  vars:
    per_host_steps: {per_host_steps}
    per_host_pki: {per_host_pki}
  tasks:
    - name: Generalize
      mecm.fieldkit.win_sccm_client_generalize:
        steps: "{{{{ per_host_steps[inventory_hostname] | default({{}}) }}}}"
        pki_certificate_filter: "{{{{ per_host_pki[inventory_hostname] | default(omit) }}}}"
        allow_provisioning_mode: "{{{{ inventory_hostname == 'ref-prov-allow' }}}}"
        service_stop_timeout: 5
"""


def generalize_playbook(steps: dict[str, t.Any] | None = None, pki: dict[str, t.Any] | None = None) -> str:
    return GENERALIZE.format(per_host_steps=json.dumps(steps or {}), per_host_pki=json.dumps(pki or {}))


def result(run: PlaybookRun, host: str, task: str = "Generalize") -> dict[str, t.Any]:
    return run.one(task, host)["result"]


def failed(run: PlaybookRun, host: str, task: str = "Generalize") -> bool:
    """Ansible keeps ``failed`` out of the recorded result; the callback records the status."""
    return run.one(task, host)["status"] == "failed"


def steps(res: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {s["name"]: s for s in res["steps"]}


def test_recapture_check_mode_real_run_and_second_run(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned", "ref-mcs": "mcs_partial",
                                        "ref-pki": "ref_pki_extras"})
    playbook = generalize_playbook(
        steps={"ref-pki": {"leave_provisioning_mode": True, "reset_hardware_inventory": True,
                           "clear_gp_site_assignment": True, "empty_ccmcache": True}},
        pki={"ref-pki": {"issuer": "Contoso Issuing CA 01", "template": "ConfigMgr Client Certificate"}})
    hosts = sorted(lab.hosts)
    before = {h: lab.state(h) for h in hosts}

    lab.reset_stats()
    check = run_playbook(tmp_path, inventory, playbook, "--check", "--diff", "-f", "3")
    assert check.rc == 0, check.stdout
    for host in hosts:
        assert lab.state(host) == before[host], f"check mode changed {host}"
        assert lab.stats(host)["module_executions"] == 1
    planned = result(check, "ref-assigned")
    assert planned["changed"] is True and planned["msg"].startswith("check mode: would change")
    assert planned["diff"]["before"]["sms_unique_id"] == "GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B"
    assert planned["diff"]["after"]["smscfg_present"] is False
    assert "--- before: ref-assigned: client identity" in check.stdout

    lab.reset_stats()
    real = run_playbook(tmp_path, inventory, playbook, "--diff", "-f", "3")
    assert real.rc == 0, real.stdout
    for host in hosts:
        # The procedure, then the removal of the host record of what it removed (issue 8).
        assert lab.stats(host)["module_executions"] == 2, host
        res = result(real, host)
        assert res["changed"] is True and res["client_state"]["ready_for_capture"] is True, res["msg"]
        assert all(s["verified"] for s in res["steps"] if s["status"] != "skipped"), res["steps"]
        state = lab.state(host)
        assert state["scheduled_tasks"][TASK]["enabled"] is True
        assert state["services"]["CcmExec"]["state"] == "stopped"
        assert state["services"]["CcmExec"]["start_mode"] == "delayed_auto"
        assert state["cert_stores"]["LocalMachine\\SMS"] == []
        assert "C:\\Windows\\SMSCFG.ini" not in state["files"]
    assigned = result(real, "ref-assigned")
    assert planned["diff"]["after"] == assigned["diff"]["after"]
    assert assigned["removed_identity"]["site_code"] == "PS1"
    mcs = steps(result(real, "ref-mcs"))
    assert mcs["remove_sms_certificates"]["status"] == "ok" and mcs["remove_smscfg"]["status"] == "ok"
    pki = result(real, "ref-pki")
    # Only the ConfigMgr client certificate went: the web server, VPN and 802.1X certificates stay.
    assert [c["thumbprint"] for c in lab.state("ref-pki")["cert_stores"]["LocalMachine\\My"]] == [
        "AA11BB22CC33DD44EE55FF6677889900AABBCCDD", "5C4D3E2F1A0B9C8D7E6F5A4B3C2D1E0F9A8B7C6D",
        "8021A8021B8021C8021D8021E8021F8021A8021B"]
    assert steps(pki)["empty_ccmcache"]["status"] == "changed"

    lab.reset_stats()
    again = run_playbook(tmp_path, inventory, playbook, "-f", "3")
    assert again.rc == 0, again.stdout
    for host in hosts:
        assert lab.stats(host)["module_executions"] == 1
        res = result(again, host)
        assert res["changed"] is False, [s for s in res["steps"] if s["status"] == "changed"]
        assert res["msg"] == "already prepared for capture; nothing changed"
    assert "changed=0" in again.stdout and "changed=1" not in again.stdout


def test_guards_change_nothing_and_the_provisioning_override(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={
        "cm01": "site_server", "ref-clean": "clean_windows", "ref-setup": "ccmsetup_running",
        "ref-ts": "task_sequence", "ref-prov": "provisioning_mode", "ref-prov-fix": "provisioning_mode",
        "ref-prov-allow": "provisioning_mode"})
    guarded = {"cm01": ("not_site_system", "0x80070032"), "ref-clean": ("client_installed", "0x80070645"),
               "ref-setup": ("ccmsetup_idle", "0x80070652"), "ref-ts": ("no_task_sequence", "0x800700AA"),
               "ref-prov": ("not_provisioning", "0x8007139F")}
    before = {h: lab.state(h) for h in guarded}
    run = run_playbook(tmp_path, inventory, generalize_playbook(
        steps={"ref-prov-fix": {"leave_provisioning_mode": True}}), "-f", "7")
    assert run.rc == 2, run.stdout
    for host, (guard, code) in guarded.items():
        res = result(run, host)
        assert failed(run, host) and res["guard"] == guard
        assert res["msg"].startswith(f"guard {guard} stopped image prep on {host}: ")
        assert code in res["msg"] and "Nothing was changed." in res["msg"]
        assert lab.state(host) == before[host], f"a guard on {host} let something change"
    assert "set allow_provisioning_mode=true" in result(run, "ref-prov")["msg"]
    assert "There is no override for this guard." in result(run, "cm01")["msg"]
    assert "SMS_EXECUTIVE" in result(run, "cm01")["msg"]
    fixed = result(run, "ref-prov-fix")
    assert not failed(run, "ref-prov-fix") and steps(fixed)["leave_provisioning_mode"]["status"] == "changed"
    assert lab.state("ref-prov-fix")["registry"]["HKLM\\SOFTWARE\\Microsoft\\CCM\\CcmExec"]["ProvisioningMode"] == "false"
    allowed = result(run, "ref-prov-allow")
    assert not failed(run, "ref-prov-allow") and allowed["client_state"]["provisioning_mode"] == "true"


def test_injected_failures_name_step_and_code_restore_the_task_and_converge(lab_factory,
                                                                              tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={
        "ref-hang": "ccmexec_hang", "ref-certdenied": "cert_denied", "ref-wmi": "ref_assigned",
        "ref-file": "ref_assigned", "ref-com": "ref_assigned"})
    lab.add_fault("ref-wmi", {"op": "wmi.remove_instances", "args": {"class_name": "TrustedRootKey"},
                              "code": "0x80041003", "message": "Access denied"})
    lab.add_fault("ref-file", {"op": "file.remove", "code": "0x80070020",
                               "message": "The process cannot access the file because it is being used by another "
                                          "process."})
    lab.add_fault("ref-com", {"op": "client.reset_site_assignment", "code": "0x80004005",
                              "message": "Unspecified error"})
    expected = {"ref-hang": ("stop_service", "service.ensure", "0x8007041D"),
                "ref-certdenied": ("remove_sms_certificates", "cert.remove", "0x80070005"),
                "ref-wmi": ("remove_trusted_root_key", "wmi.remove_instances", "0x80041003"),
                "ref-file": ("remove_smscfg", "file.remove", "0x80070020"),
                "ref-com": ("reset_site_assignment", "client.reset_site_assignment", "0x80004005")}
    playbook = generalize_playbook()
    first = run_playbook(tmp_path, inventory, playbook, "-f", "5")
    assert first.rc == 2, first.stdout
    for host, (step, op, code) in expected.items():
        res = result(first, host)
        assert failed(first, host) and res["failed_step"] == step
        assert res["msg"].startswith(f"step {step} failed on {host} ({op}) with {code}: "), res["msg"]
        assert res["msg"].endswith("the health evaluation task is enabled again")
        assert steps(res)[step]["status"] == "failed"
        assert lab.state(host)["scheduled_tasks"][TASK]["enabled"] is True, host
        assert "HKLM\\SOFTWARE\\mecm.fieldkit\\Markers" not in lab.state(host)["registry"]

    # Remove the faults: the service stops again, the certificate may be deleted, the ops succeed.
    lab.hosts["ref-hang"].model.state["services"]["CcmExec"]["stop_behaviour"] = "normal"
    for cert in lab.hosts["ref-certdenied"].model.state["cert_stores"]["LocalMachine\\SMS"]:
        cert.pop("delete_denied", None)
    for host in expected:
        lab.clear_faults(host)
    lab.reset_stats()
    rerun = run_playbook(tmp_path, inventory, playbook, "-f", "5")
    assert rerun.rc == 0, rerun.stdout
    for host, (step, _op, _code) in expected.items():
        res = result(rerun, host)
        assert res["client_state"]["ready_for_capture"] is True, (host, res["client_state"]["problems"])
        assert steps(res)[step]["verified"] is True
        # The rerun removes the rest of the identity: the batch, then the removal of its host record.
        assert lab.stats(host)["module_executions"] == 2


def test_bad_input_is_refused_and_changes_nothing(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned"})
    cases = [
        ({"scenario": "capture"}, "value of scenario must be one of: recapture, new, got: capture"),
        ({"steps": {"remove_everything": True}}, "remove_everything"),
        ({"pki_certificate_filter": {"thumbprints": ["12AB"]}},
         "pki_certificate_filter.thumbprints: '12AB' is not a SHA-1 thumbprint"),
        ({"steps": {"remove_pki_certificates": True}},
         "steps.remove_pki_certificates=true needs pki_certificate_filter"),
        ({"service_stop_timeout": -1}, "service_stop_timeout=-1 must be an integer from 1 to 3600"),
        ({"ccmcache_path": "C:\\Windows"}, "ccmcache_path='C:\\\\Windows' must be a folder named ccmcache"),
    ]
    tasks = "".join(f"""
    - name: Case {i}
      mecm.fieldkit.win_sccm_client_generalize: {json.dumps(args)}
      ignore_errors: true
""" for i, (args, _msg) in enumerate(cases))
    tasks += """
    - name: Install case
      mecm.fieldkit.win_sccm_client_install:
        source_path: C:\\Install\\Client
        properties: {SMSSITECODE: PS1, SMSMP: cm01.contoso.local}
      ignore_errors: true
"""
    before = lab.state("ref-assigned")
    lab.reset_stats()
    run = run_playbook(tmp_path, inventory, f"- name: Bad input\n  hosts: all\n  gather_facts: false\n  tasks:{tasks}")
    assert run.rc == 0, run.stdout
    for i, (_args, message) in enumerate(cases):
        res = result(run, "ref-assigned", f"Case {i}")
        assert failed(run, "ref-assigned", f"Case {i}") and message in res["msg"], res["msg"]
    install = result(run, "ref-assigned", "Install case")
    assert "properties.SMSSITECODE is refused" in install["msg"]
    assert lab.stats("ref-assigned")["module_executions"] == 0
    assert lab.state("ref-assigned") == before


def test_new_capture_install_then_generalize(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-new": "new_capture", "ref-open": "new_capture"})
    playbook = """
- name: New capture
  hosts: all
  gather_facts: false
  tasks:
    - name: Install
      mecm.fieldkit.win_sccm_client_install:
        source_path: C:\\Install\\Client
        properties:
          SMSMP: cm01.contoso.local
        block_management_points: "{{ ['cm01.contoso.local'] if inventory_hostname == 'ref-new' else [] }}"
        keep_block_rule: true
      register: install

    - name: Generalize
      mecm.fieldkit.win_sccm_client_generalize:
        scenario: new
        remove_mp_block_rules: true
"""
    lab.reset_stats()
    run = run_playbook(tmp_path, inventory, playbook, "-f", "2")
    assert run.rc == 2, run.stdout
    install = result(run, "ref-new", "Install")
    assert install["changed"] is True and install["module_executions"] == 3
    assert [p["waited_seconds"] for p in install["polls"]] == [120, 120, 60]
    assert install["ccmsetup"]["return_code"] == 0 and install["client"]["assigned_site"] is None
    assert install["mp_block_rule"]["kept"] is True
    assert "ref-new: ccmsetup still running after 120 s (poll 1)" in run.stdout
    generalize = result(run, "ref-new")
    assert generalize["mp_block_rule_removed"] is True and generalize["client_state"]["ready_for_capture"] is True
    assert lab.stats("ref-new")["module_executions"] == 5  # install 3, generalize 2 (batch + host record)
    state = lab.state("ref-new")
    assert state["firewall_rules"] == {}
    assert "HKLM\\SOFTWARE\\Microsoft\\SMS\\Mobile Client" in state["registry"]
    assert state["registry"]["HKLM\\SOFTWARE\\Microsoft\\SMS\\Mobile Client"].get("AssignedSiteCode") is None
    assert "root\\ccm\\locationservices" not in state["wmi"]
    # Without the block the client reached the MP and was assigned: the install says so and fails.
    opened = result(run, "ref-open", "Install")
    assert failed(run, "ref-open", "Install") and opened["msg"].startswith("the client was assigned to site PS1")
    assert run.results("Generalize", "ref-open") == []

    lab.reset_stats()
    again = run_playbook(tmp_path, inventory, playbook, "-l", "ref-new")
    assert again.rc == 0, again.stdout
    assert result(again, "ref-new", "Install")["changed"] is False
    assert result(again, "ref-new")["changed"] is False
    assert lab.stats("ref-new")["module_executions"] == 2


PKI_CA = "CN=Contoso Issuing CA 01, DC=contoso, DC=local"
PKI_CONFIGMGR = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C"
PKI_WEB = "AA11BB22CC33DD44EE55FF6677889900AABBCCDD"
PKI_VPN = "5C4D3E2F1A0B9C8D7E6F5A4B3C2D1E0F9A8B7C6D"
PKI_DOT1X = "8021A8021B8021C8021D8021E8021F8021A8021B"
PKI_CONFIGMGR_OID = "1.3.6.1.4.1.311.21.8.4181979.12268412.10205467.9813521.1312302.45.7398411.1052422"


def _my_store(lab: t.Any, host: str) -> list[str]:
    return [c["thumbprint"] for c in lab.state(host)["cert_stores"]["LocalMachine\\My"]]


def test_pki_filter_removes_one_certificate_and_its_key_and_spares_vpn_and_8021x(lab_factory,
                                                                                tmp_path: pathlib.Path) -> None:
    """Issue 8, defect 8: the filter is no substring match, selects one certificate unless told otherwise, and
    the private key goes with the certificate."""
    hosts = {"pki-dn": "ref_pki_extras", "pki-oid": "ref_pki_extras", "pki-part": "ref_pki_extras",
             "pki-multi": "ref_pki_extras"}
    lab, inventory = lab_factory(hosts=hosts)
    before = {h: lab.state(h) for h in hosts}
    run = run_playbook(tmp_path, inventory, generalize_playbook(pki={
        "pki-dn": {"issuer": "DC=local, DC=contoso, CN=contoso issuing ca 01"},
        "pki-oid": {"issuer": "Contoso Issuing CA 01", "template": PKI_CONFIGMGR_OID},
        "pki-part": {"template": "a"},
        "pki-multi": {"issuer": PKI_CA, "allow_multiple": True}}), "-f", "4")
    # The issuer DN (any order, any case) selects the ConfigMgr, VPN and 802.1X certificates: refused, nothing changed.
    refused = result(run, "pki-dn")
    assert failed(run, "pki-dn") and refused["guard"] == "certificate_filter", refused["msg"]
    assert "matches 3 certificates in LocalMachine\\My" in refused["msg"] and "0x80070057" in refused["msg"]
    assert "Nothing was changed." in refused["msg"] and "pki_certificate_filter.allow_multiple=true" in refused["msg"]
    assert lab.state("pki-dn") == before["pki-dn"]
    # The template OID (all an offline master shows of a v2 template) selects the ConfigMgr certificate only.
    exact = result(run, "pki-oid")
    assert not failed(run, "pki-oid"), exact["msg"]
    assert _my_store(lab, "pki-oid") == [PKI_WEB, PKI_VPN, PKI_DOT1X]
    keys = lab.state("pki-oid")["private_keys"]
    assert not [k for k in keys if k.startswith("te-ConfigMgrClientCertificate")]
    assert {k.split("-")[0] for k in keys} == {"WebServer", "VpnMachine", "te"} and len(keys) == 3
    pki = [c for c in exact["removed_identity"]["certificates"] if c["store"] == "LocalMachine\\My"]
    assert [(c["thumbprint"], c["key_provider"], c["key_removed"]) for c in pki] == [(PKI_CONFIGMGR, "cng", True)]
    assert steps(exact)["remove_pki_certificates"]["verified"] is True
    # Part of a template name is no match.
    part = result(run, "pki-part")
    assert not failed(run, "pki-part"), part["msg"]
    assert steps(part)["remove_pki_certificates"]["status"] == "ok"
    assert _my_store(lab, "pki-part") == [PKI_CONFIGMGR, PKI_WEB, PKI_VPN, PKI_DOT1X]
    # Said explicitly, a filter may remove several certificates; the web server certificate is no client cert.
    multi = result(run, "pki-multi")
    assert not failed(run, "pki-multi"), multi["msg"]
    assert _my_store(lab, "pki-multi") == [PKI_WEB]
    assert "3 of 3 private key container(s) gone" in steps(multi)["remove_pki_certificates"]["verification"]


def test_bad_pki_filters_are_refused_and_change_nothing(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-pki": "ref_pki_extras"})
    cases = [
        ({"issuer": "CN="}, "pki_certificate_filter.issuer='CN=' is not allowed: it is not a distinguished name: "
                            "attribute 1 (CN=) has an empty value; give the issuer's full distinguished name"),
        ({"issuer": ""}, "pki_certificate_filter.issuer='' is not allowed: it is empty"),
        ({"template": ""}, "pki_certificate_filter.template='' is not allowed: it is empty"),
    ]
    tasks = "".join(f"""
    - name: Case {i}
      mecm.fieldkit.win_sccm_client_generalize:
        pki_certificate_filter: {json.dumps(filter_)}
      ignore_errors: true
""" for i, (filter_, _msg) in enumerate(cases))
    before = lab.state("ref-pki")
    lab.reset_stats()
    run = run_playbook(tmp_path, inventory, f"- name: Bad filters\n  hosts: all\n  gather_facts: false\n  tasks:{tasks}")
    assert run.rc == 0, run.stdout
    for i, (_filter, message) in enumerate(cases):
        res = result(run, "ref-pki", f"Case {i}")
        assert failed(run, "ref-pki", f"Case {i}") and message in res["msg"], res["msg"]
    assert lab.stats("ref-pki")["module_executions"] == 0
    assert lab.state("ref-pki") == before


def test_killed_ccmexec_stays_stopped_and_keeps_its_recovery_actions(lab_factory, tmp_path: pathlib.Path) -> None:
    """Issue 8, defect 11: ending a hung CcmExec is a service failure to the SCM, whose recovery actions restart
    it; they are suspended before the kill and restored, also when the stop fails."""
    lab, inventory = lab_factory(hosts={"ref-hangr": "ccmexec_hang_recovery", "ref-hang": "ccmexec_hang"})
    original = lab.state("ref-hangr")["services"]["CcmExec"]["failure_actions"]
    run = run_playbook(tmp_path, inventory, generalize_playbook(), "-f", "2")
    killed = result(run, "ref-hangr")
    assert not failed(run, "ref-hangr"), killed["msg"]
    stop = steps(killed)["stop_service"]
    assert "ended its process: it did not stop within 5 s" in stop["detail"]
    assert stop["verified"] is True and stop["verification"].startswith("CcmExec stopped at the end of the batch")
    assert killed["client_state"]["service"]["state"] == "stopped"
    ccmexec = lab.state("ref-hangr")["services"]["CcmExec"]
    assert ccmexec["state"] == "stopped" and ccmexec["start_mode"] == "delayed_auto"
    assert "restarted_by_scm" not in ccmexec
    assert ccmexec["failure_actions"] == original
    assert not [p for p in lab.state("ref-hangr")["processes"] if p["name"] == "CcmExec"]
    assert "HKLM\\SOFTWARE\\mecm.fieldkit\\Markers" not in lab.state("ref-hangr")["registry"]
    # The unkillable one: the stop fails, the always op still restores the recovery actions.
    hung = result(run, "ref-hang")
    assert failed(run, "ref-hang") and hung["failed_step"] == "stop_service"
    assert "the recovery actions of CcmExec are restored" in hung["msg"]
    assert lab.state("ref-hang")["services"]["CcmExec"]["failure_actions"] == original
