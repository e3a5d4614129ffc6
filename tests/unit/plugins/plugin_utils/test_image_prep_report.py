# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_image_prep_report.py (host record, JUnit, identity audit)."""
from __future__ import annotations

import copy
import typing as t
from xml.etree import ElementTree as ET

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _image_prep_report as rep

STEP_OK = {"name": "stop_service", "status": "changed", "detail": "stopped CcmExec", "reference": "seed A-2 / B-1",
           "verified": True, "verification": "CcmExec stopped", "ops": ["service.ensure"]}
STEP_OFF = {"name": "empty_ccmcache", "status": "skipped", "detail": "off by default (optional step)",
            "reference": "x", "verified": None, "verification": None, "ops": []}
STEP_FAILED = {"name": "remove_sms_certificates", "status": "failed", "detail": "cert.remove failed with 0x80070005",
               "reference": "seed A-3 / B-3", "verified": None, "verification": None, "ops": ["cert.remove"]}
STEP_NOT_RUN = {"name": "remove_smscfg", "status": "skipped", "detail": "not run: remove_sms_certificates failed",
                "reference": "seed B-4", "verified": None, "verification": None, "ops": ["file.remove"]}
GEN_OK = {"changed": True, "failed": False, "msg": "prepared", "scenario": "recapture", "steps": [STEP_OK, STEP_OFF],
          "removed_identity": {"sms_unique_id": "GUID:1"}, "client_state": {"ready_for_capture": True}}
GEN_FAILED = {"changed": True, "failed": True, "msg": "step remove_sms_certificates failed", "scenario": "recapture",
              "steps": [STEP_OK, STEP_FAILED, STEP_NOT_RUN], "failed_step": "remove_sms_certificates",
              "removed_identity": {}, "client_state": {"ready_for_capture": False}}
GEN_GUARD = {"changed": False, "failed": True, "msg": "guard not_site_system stopped image prep", "guard": "not_site_system",
             "steps": [dict(STEP_NOT_RUN, detail="not run: guard not_site_system stopped the run")]}
INSTALL = {"changed": True, "msg": "installed the client unassigned", "module_executions": 3,
           "ccmsetup": {"return_code": 0}, "client": {"installed": True}}


def records() -> dict[str, dict[str, t.Any]]:
    return {
        "ok-01": rep.host_record("ok-01", GEN_OK, {"skipped": True, "changed": False}),
        "new-01": rep.host_record("new-01", GEN_OK, INSTALL, scenario="new"),
        "bad-01": rep.host_record("bad-01", GEN_FAILED, None, GEN_FAILED),
        "cm01": rep.host_record("cm01", GEN_GUARD, None, GEN_GUARD),
        "gone-01": rep.host_record("gone-01", {"unreachable": True, "msg": "timed out", "changed": False}),
        "none-01": rep.host_record("none-01"),
    }


def test_host_record_statuses_and_execution_count() -> None:
    recs = records()
    assert {h: r["status"] for h, r in recs.items()} == {
        "ok-01": "changed", "new-01": "changed", "bad-01": "failed", "cm01": "failed", "gone-01": "unreachable",
        "none-01": "no result"}
    assert recs["ok-01"]["install"] is None and recs["ok-01"]["module_executions"] == 1
    assert recs["new-01"]["module_executions"] == 4 and recs["new-01"]["install"]["ccmsetup"] == {"return_code": 0}
    assert recs["bad-01"]["failed_step"] == "remove_sms_certificates"
    assert recs["cm01"]["guard"] == "not_site_system"


def test_junit_has_one_case_per_run_step_per_host() -> None:
    root = ET.fromstring(rep.junit_xml(records()))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {f"client_image_prep.{h}" for h in records()}
    ok = suites["client_image_prep.ok-01"]
    assert [c.get("name") for c in ok.findall("testcase")] == ["stop_service"]  # switched-off step left out
    new = suites["client_image_prep.new-01"]
    assert [c.get("name") for c in new.findall("testcase")] == ["install_client", "stop_service"]
    bad = suites["client_image_prep.bad-01"]
    cases = {c.get("name"): c for c in bad.findall("testcase")}
    assert cases["remove_sms_certificates"].find("failure").get("message") == "cert.remove failed with 0x80070005"
    assert cases["remove_smscfg"].find("skipped") is not None
    assert (bad.get("tests"), bad.get("failures"), bad.get("skipped")) == ("3", "1", "1")
    guard = suites["client_image_prep.cm01"]
    assert guard.find("testcase").get("name") == "guard.not_site_system"
    assert guard.find("testcase/failure") is not None
    for host in ("gone-01", "none-01"):
        case = suites[f"client_image_prep.{host}"].find("testcase")
        assert case.get("name") == "image_prep" and case.find("error") is not None
    assert root.get("tests") == str(sum(int(s.get("tests")) for s in suites.values()))
    assert root.get("failures") == "2" and root.get("errors") == "2"


def test_summary() -> None:
    summary = rep.summary(records())
    assert summary["hosts"] == 6 and summary["failed"] == 4
    assert summary["by_status"]["changed"] == ["new-01", "ok-01"]
    assert summary["ready_for_capture"] == ["new-01", "ok-01"]


class _HostVars(dict):
    """Stands in for Ansible's hostvars (a mapping of host -> mapping)."""


def test_collect_records_fills_missing_hosts() -> None:
    hostvars = _HostVars({"a": {"client_image_prep_result": records()["ok-01"]}, "b": {}})
    collected = rep.collect_records(hostvars, ["a", "b", "c"])
    assert collected["a"]["status"] == "changed"
    assert collected["b"]["status"] == "no result" and collected["c"]["host"] == "c"


def _facts(guid: str | None, thumbs: list[str], smscfg: bool = True, state: str = "running",
           installed: bool = True) -> dict[str, t.Any]:
    return {"installed": installed,
            "identity": {"smscfg_unique_id": guid if smscfg else None, "wmi_client_id": guid, "smscfg_present": smscfg},
            "service": {"state": state},
            "site_assignment": {"assigned_site": "PS1"},
            "sms_certificates": {"certificates": [{"thumbprint": tp} for tp in thumbs]}}


def test_identity_audit_finds_shared_guids_and_certificates() -> None:
    audit = rep.identity_audit({
        "master": _facts("GUID:AAA", ["T1", "T2"]),
        "vdi-1": _facts("GUID:aaa", ["T1", "T2"]),
        "vdi-2": _facts("GUID:BBB", ["T3"]),
        "vdi-3": _facts("GUID:CCC", ["t3"]),
        "prepped": _facts("GUID:AAA", [], smscfg=False, state="stopped"),
        "bare": _facts(None, [], installed=False),
        "down": None,
    })
    both = ["SMSCFG.ini", "WMI"]
    assert audit["duplicates"]["sms_unique_id"] == [
        {"value": "GUID:AAA", "hosts": ["master", "vdi-1"], "sources": {"master": both, "vdi-1": both}}]
    store = ["certificate store"]
    assert audit["duplicates"]["sms_certificate_thumbprint"] == [
        {"value": "T1", "hosts": ["master", "vdi-1"], "sources": {"master": store, "vdi-1": store}},
        {"value": "T2", "hosts": ["master", "vdi-1"], "sources": {"master": store, "vdi-1": store}},
        {"value": "T3", "hosts": ["vdi-2", "vdi-3"], "sources": {"vdi-2": store, "vdi-3": store}}]
    assert audit["duplicate_count"] == 4
    assert audit["affected_hosts"] == ["master", "vdi-1", "vdi-2", "vdi-3"]
    assert audit["prepared_for_capture"] == ["prepped"]
    assert audit["no_client"] == ["bare"] and audit["no_facts"] == ["down"]
    markdown = rep.identity_audit_markdown(audit)
    assert "| GUID:AAA | master, vdi-1 | master: SMSCFG.ini, WMI; vdi-1: SMSCFG.ini, WMI |" in markdown
    assert "4 duplicated identities; affected: master, vdi-1, vdi-2, vdi-3." in markdown
    assert "| prepped | prepared for capture |" in markdown


def test_identity_audit_without_duplicates() -> None:
    audit = rep.identity_audit({"a": _facts("GUID:1", ["T1"]), "b": _facts("GUID:2", ["T2"])})
    assert audit["duplicate_count"] == 0 and audit["affected_hosts"] == []
    markdown = rep.identity_audit_markdown(copy.deepcopy(audit))
    assert "0 duplicated identities; affected: none." in markdown
    assert markdown.count("None.") == 2


def test_identity_audit_compares_every_item_on_every_host() -> None:
    """A half-prepared clone (SMSCFG.ini gone, CcmExec stopped, SMS certificates left) is compared in full."""
    master = _facts("GUID:AAA", ["T1", "T2"])
    master["identity"]["smscfg_certificate_identifier"] = "SMS;t1"
    half = _facts("GUID:AAA", ["T1", "T2"], smscfg=False, state="stopped")
    # Only the SMSCFG.ini of this one is left: the certificate it names is the master's.
    leftover_ini = _facts(None, [], installed=False)
    leftover_ini["identity"].update(smscfg_unique_id="GUID:ZZZ", smscfg_present=True,
                                    smscfg_certificate_identifier="SMS;T2")
    other = _facts("GUID:ZZZ", ["T9"])
    prepared = _facts("GUID:AAA", [], smscfg=False, state="stopped")
    prepared["identity"]["previous_sms_unique_id"] = "GUID:000"
    regenerated = _facts("GUID:NEW", ["T7"])
    regenerated["identity"]["previous_sms_unique_id"] = "GUID:000"
    audit = rep.identity_audit({"master": master, "half": half, "ini": leftover_ini, "other": other,
                                "prepped": prepared, "regen": regenerated})
    assert audit["duplicates"]["sms_unique_id"] == [
        {"value": "GUID:AAA", "hosts": ["half", "master"], "sources": {"half": ["WMI"], "master": ["SMSCFG.ini", "WMI"]}},
        {"value": "GUID:ZZZ", "hosts": ["ini", "other"], "sources": {"ini": ["SMSCFG.ini"], "other": ["SMSCFG.ini", "WMI"]}}]
    assert audit["duplicates"]["sms_certificate_thumbprint"] == [
        {"value": "T1", "hosts": ["half", "master"],
         "sources": {"half": ["certificate store"], "master": ["certificate store", "SMSCFG.ini"]}},
        {"value": "T2", "hosts": ["half", "ini", "master"],
         "sources": {"half": ["certificate store"], "ini": ["SMSCFG.ini"], "master": ["certificate store"]}}]
    assert audit["duplicate_count"] == 4
    assert audit["affected_hosts"] == ["half", "ini", "master", "other"]
    assert audit["partly_prepared"] == ["half"] and audit["per_host"]["half"]["status"] == "partly prepared"
    # The identifier left in WMI of a prepared machine is replaced at the client's start: reported, not compared.
    assert audit["prepared_for_capture"] == ["prepped"]
    assert audit["per_host"]["prepped"]["stale_wmi_client_id"] == "GUID:AAA"
    assert audit["per_host"]["prepped"]["sms_unique_id"] is None
    # Clones that each made a new identity share the previous one: not a duplicate.
    assert audit["per_host"]["regen"]["previous_sms_unique_id"] == "GUID:000"
    assert "regen" not in audit["affected_hosts"] and "prepped" not in audit["affected_hosts"]
    assert audit["no_client"] == ["ini"]


def test_identity_audit_names_hosts_whose_wmi_reads_failed() -> None:
    broken = _facts("GUID:1", ["T1"])
    broken["wmi_errors"] = [{"namespace": "root\\ccm", "class_name": "CCM_Client", "code": 2147749891}]
    audit = rep.identity_audit({"a": broken, "b": _facts("GUID:2", ["T2"])})
    assert audit["incomplete_facts"] == ["a"] and audit["per_host"]["a"]["wmi_errors"] == 1
    assert "WMI reads failed, identity may be incomplete: a." in rep.identity_audit_markdown(audit)


def test_markdown_text_escapes_html_and_table_metacharacters() -> None:
    assert rep.markdown_text("GUID:<img src=x onerror=alert(1)>|x") == "GUID:&lt;img src=x onerror=alert(1)&gt;\\|x"
    assert rep.markdown_text("a`b*c_d[e](f)\\g~h&i\"j'k") == "a\\`b\\*c\\_d\\[e\\](f)\\\\g\\~h&amp;i&quot;j&#x27;k"
    assert rep.markdown_text("line1\r\n| --- |\nline2\x00") == "line1 \\| --- \\| line2 "
    assert rep.markdown_text(None) == ""


def test_identity_audit_markdown_escapes_host_data() -> None:
    hostile = "GUID:<img src=x onerror=alert(1)>|`x`\n| forged | row |"
    facts = _facts(hostile, ["<b>T1</b>|"])
    facts["site_assignment"]["assigned_site"] = "<script>alert(2)</script>"
    audit = rep.identity_audit({"evil|host": facts, "copy": copy.deepcopy(facts)})
    markdown = rep.identity_audit_markdown(audit)
    assert "<img" not in markdown and "<script" not in markdown and "<b>" not in markdown
    assert "\n| forged |" not in markdown
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = line.replace("\\|", "").count("|")
            assert cells in (4, 6), line  # duplicates table: 3 columns, hosts table: 5
    assert "| evil\\|host | client | GUID:&lt;img src=x onerror=alert(1)&gt;\\|\\`x\\` \\| forged \\| row \\|" in markdown


# --- unreachable hosts (issue 8): the status, its reason, in the record, the summary and JUnit -------------
RULE_LEFT = {"name": "mecm.fieldkit - block ConfigMgr management points during client install",
             "remote_addresses": ["10.0.0.10"], "kept": False, "left_in_place": True,
             "reason": "the host became unreachable; ccmsetup may still run"}
INSTALL_LOST = {"unreachable": True, "changed": True, "module_executions": 2, "mp_block_rule": RULE_LEFT,
                "ccmsetup": {"started": True, "running": True},
                "msg": "new-02 became unreachable while ccmsetup (started by this run) was waited for, after 1 status "
                       "read(s); ccmsetup may still be running and the host may already have been changed."}


def test_install_lost_mid_cycle_is_unreachable_with_the_reason_and_the_rule_left() -> None:
    record = rep.host_record("new-02", {"skipped": True, "changed": False}, INSTALL_LOST, None, "new")
    assert record["status"] == "unreachable" and record["failed"] is True
    assert record["unreachable_during"] == "install_client" and record["msg"] == INSTALL_LOST["msg"]
    assert record["changed"] is True and record["module_executions"] == 2
    assert record["install"]["mp_block_rule"]["left_in_place"] is True

    root = ET.fromstring(rep.junit_xml({"new-02": record}))
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == ["install_client"]  # one error, not two
    error = cases[0].find("error")
    assert error.get("type") == "unreachable" and error.get("message") == INSTALL_LOST["msg"]
    assert "left_in_place" in error.text
    assert (root.get("errors"), root.get("failures")) == ("1", "0")

    summary = rep.summary({"new-02": record})
    assert summary["by_status"] == {"unreachable": ["new-02"]} and summary["failed"] == 1
    assert summary["reasons"] == {"new-02": {"status": "unreachable", "msg": INSTALL_LOST["msg"]}}


def test_generalize_unreachable_both_ways() -> None:
    # A lost answer that win_sccm_client_generalize reports itself, and Ansible's own unreachable outcome.
    lost = {"unreachable": True, "changed": False,
            "msg": "ref-01 is unreachable: the answer of the batch was lost; the host may already have been changed"}
    ansible = {"unreachable": True, "changed": False,
               "msg": "Task failed: ntlm: ('Connection aborted.', RemoteDisconnected('Remote end closed connection'))"}
    first = rep.host_record("ref-01", lost, None, None, "recapture")
    second = rep.host_record("ref-02", ansible, None, None, "recapture")
    assert first["status"] == second["status"] == "unreachable"
    assert first["unreachable_during"] == second["unreachable_during"] == "generalize"
    assert first["msg"] == lost["msg"]
    assert second["msg"] == "unreachable during generalize: " + ansible["msg"]
    case = ET.fromstring(rep.junit_xml({"ref-02": second})).find("testsuite/testcase")
    assert case.get("name") == "image_prep" and case.find("error").get("type") == "unreachable"


def test_summary_gives_the_reason_of_every_host_not_done() -> None:
    summary = rep.summary(records())
    assert set(summary["reasons"]) == {"bad-01", "cm01", "gone-01", "none-01"}
    assert summary["reasons"]["gone-01"] == {"status": "unreachable", "msg": "unreachable during generalize: timed out"}
    assert summary["reasons"]["none-01"]["status"] == "no result"
