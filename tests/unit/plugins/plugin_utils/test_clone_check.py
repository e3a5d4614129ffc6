# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_clone_check.py (master record, per-clone checks, reports)."""
from __future__ import annotations

import json
import pathlib
import typing as t
from xml.etree import ElementTree as ET

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _clone_check as cc
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _image_prep_report as rep

MASTER_GUID = "GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B"
MASTER_TPS = ["5A0C1F3E9B7D2A4C6E8F0A1B3C5D7E9F1A2B3C4D", "B7E4D2C1A0F9E8D7C6B5A4938271605F4E3D2C1B"]
PKI_TP = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C"
RECORD = {
    "host": "ref-master", "status": "changed", "scenario": "recapture", "steps": [], "failed": False,
    "removed_identity": {
        "sms_unique_id": MASTER_GUID, "previous_sms_unique_id": "GUID:00000000-0000-0000-0000-000000000000",
        "certificates": [{"store": "LocalMachine\\SMS", "thumbprint": tp, "subject": "CN=SMS"} for tp in MASTER_TPS]
        + [{"store": "LocalMachine\\My", "thumbprint": PKI_TP.lower(), "subject": "CN=ref"}],
        "site_code": "PS1", "recovered_from_host_record": False},
}


def master() -> dict[str, t.Any]:
    value = cc.master_identity(RECORD)
    assert value["problems"] == []
    return value


def facts(guid: str | None = "GUID:NEW-0101", wmi: str | None = "same", thumbprints: t.Sequence[str] = ("AA01", "AA02"),
          state: str = "running", start_mode: str = "delayed_auto", installed: bool = True,
          smscfg: bool | None = None) -> dict[str, t.Any]:
    wmi_id = guid if wmi == "same" else wmi
    return {"ansible_facts": {"sccm_client": {
        "installed": installed,
        "identity": {"sms_unique_id": guid or wmi_id, "smscfg_present": bool(guid) if smscfg is None else smscfg,
                     "smscfg_unique_id": guid, "wmi_client_id": wmi_id, "previous_sms_unique_id": None,
                     "smscfg_certificate_identifier": f"SMS;{thumbprints[0]}" if guid and thumbprints else None},
        "service": {"exists": installed, "state": state if installed else None, "start_mode": start_mode},
        "sms_certificates": {"certificates": [{"thumbprint": tp} for tp in thumbprints]},
        "site_assignment": {"assigned_site": "PS1"}, "wmi_errors": []}}}


PENDING = dict(guid=None, wmi=MASTER_GUID, thumbprints=(), state="stopped")


def statuses(run: dict[str, t.Any], host: str) -> dict[str, str]:
    return {c["name"]: c["status"] for c in run["clones"][host]["checks"]}


def test_master_record_identity_includes_pki_certificates_and_skips_the_null_guid() -> None:
    value = master()
    assert value["sms_unique_ids"] == [MASTER_GUID]
    assert value["certificate_thumbprints"] == sorted([*MASTER_TPS, PKI_TP])
    assert value["host"] == "ref-master"


def test_master_record_problems_are_clear() -> None:
    assert "not an image-prep record" in cc.master_identity([1])["problems"][0]
    assert "summary.json" in cc.master_identity({"hosts": 2, "by_status": {}})["problems"][0]
    assert "it has no steps, removed_identity" in cc.master_identity({"host": "x", "status": "ok"})["problems"][0]
    nothing = dict(RECORD, status="ok", removed_identity={"sms_unique_id": None, "certificates": []})
    assert "has no removed identity" in cc.master_identity(nothing)["problems"][0]
    assert "has no removed identity" in cc.master_identity(dict(RECORD, removed_identity=None))["problems"][0]


def test_load_master_record_file_checks(tmp_path: pathlib.Path) -> None:
    assert "does not exist" in cc.load_master_record(tmp_path / "nope.json")["problems"][0]
    assert "is a directory" in cc.load_master_record(tmp_path)["problems"][0]
    assert "set it" in cc.load_master_record("")["problems"][0]
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    assert "not a readable JSON file" in cc.load_master_record(bad)["problems"][0]
    good = tmp_path / "ref-master.json"
    good.write_text(json.dumps(RECORD), encoding="utf-8")
    assert cc.load_master_record(str(good))["problems"] == []


def test_unique_clones_pass() -> None:
    run = cc.clone_check({"a": facts("GUID:A", thumbprints=("A1",)), "b": facts("GUID:B", thumbprints=("B1",))}, master())
    assert {h: r["status"] for h, r in run["clones"].items()} == {"a": "unique", "b": "unique"}
    assert set(statuses(run, "a").values()) == {"ok"}
    assert run["summary"]["failed"] == 0 and run["summary"]["module_executions"] == 2


def test_master_guid_in_smscfg_or_wmi_and_master_certificates_fail() -> None:
    run = cc.clone_check({"dup": facts(MASTER_GUID.lower(), thumbprints=MASTER_TPS),
                          "wmi": facts("GUID:W", wmi=MASTER_GUID, thumbprints=("W1",)),
                          "pki": facts("GUID:P", thumbprints=(PKI_TP,))}, master())
    assert run["clones"]["dup"]["status"] == "failed"
    assert statuses(run, "dup")["master_sms_unique_id"] == "failed"
    assert statuses(run, "dup")["master_certificates"] == "failed"
    assert statuses(run, "dup")["new_identity"] == "failed"
    wmi = run["clones"]["wmi"]
    assert wmi["status"] == "failed" and "(WMI)" in wmi["msg"]
    assert statuses(run, "pki")["master_certificates"] == "failed"


def test_first_boot_is_pending_and_the_stale_wmi_id_is_not_counted() -> None:
    run = cc.clone_check({"p": facts(**PENDING), "q": facts(**PENDING)}, master())
    record = run["clones"]["p"]
    assert record["status"] == "pending" and not record["failed"] and record["pending"]
    assert statuses(run, "p") == {"facts": "ok", "master_sms_unique_id": "ok", "master_certificates": "ok",
                                  "new_identity": "skipped", "ccmexec_running": "skipped", "unique_among_clones": "ok"}
    # The stale master identifier in both clones' WMI is not a duplicate between them.
    assert run["duplicates"]["sms_unique_id"] == []
    strict = cc.clone_check({"p": facts(**PENDING)}, master(), fail_on_pending=True)
    assert strict["clones"]["p"]["status"] == "pending" and strict["clones"]["p"]["failed"]
    assert statuses(strict, "p")["new_identity"] == "failed"
    assert strict["summary"]["failed"] == 1


def test_no_new_identity_fails() -> None:
    run = cc.clone_check({
        "manual": facts(guid=None, wmi=None, thumbprints=(), state="stopped", start_mode="manual"),
        "running": facts(guid=None, wmi=None, thumbprints=()),
        "noclient": facts(guid=None, wmi=None, thumbprints=(), installed=False)}, master())
    assert all(r["status"] == "failed" for r in run["clones"].values())
    assert statuses(run, "manual")["ccmexec_running"] == "failed"
    assert "never starts by itself" in run["clones"]["manual"]["msg"]
    assert statuses(run, "running")["new_identity"] == "failed"
    assert statuses(run, "noclient")["new_identity"] == "failed"


def test_clones_sharing_an_identity_with_each_other_fail() -> None:
    run = cc.clone_check({"a": facts("GUID:X", thumbprints=("T1",)), "b": facts("GUID:X", thumbprints=("T1",)),
                          "c": facts("GUID:C", thumbprints=("C1",))}, master())
    assert [h for h, r in run["clones"].items() if r["status"] == "failed"] == ["a", "b"]
    assert "with b" in next(c for c in run["clones"]["a"]["checks"] if c["name"] == "unique_among_clones")["detail"]
    # The comparison is the identity audit's.
    assert run["duplicates"] == rep.identity_audit({h: f["ansible_facts"]["sccm_client"] for h, f in {
        "a": facts("GUID:X", thumbprints=("T1",)), "b": facts("GUID:X", thumbprints=("T1",)),
        "c": facts("GUID:C", thumbprints=("C1",))}.items()})["duplicates"]


def test_unreachable_and_missing_facts() -> None:
    run = cc.clone_check({"gone": {"unreachable": True, "msg": "timed out"}, "none": None,
                          "broke": {"failed": True, "msg": "boom"}}, master())
    assert run["clones"]["gone"]["status"] == "unreachable" and run["clones"]["gone"]["module_executions"] == 0
    assert run["clones"]["none"]["status"] == "failed"
    assert run["clones"]["broke"]["status"] == "failed" and "boom" in run["clones"]["broke"]["msg"]
    assert run["summary"]["failed"] == 3


def test_reports_junit_and_markdown() -> None:
    hostile = "GUID:<img src=x onerror=alert(1)>|x|"
    run = cc.clone_check({"a": facts("GUID:A", thumbprints=("A1",)), "p": facts(**PENDING),
                          "dup": facts(MASTER_GUID, thumbprints=MASTER_TPS), "evil|host": facts(hostile, thumbprints=("E1",))},
                         master())
    files = cc.report_files(run)
    assert sorted(files) == sorted(["a.json", "p.json", "dup.json", "evil|host.json", "summary.json",
                                    cc.MARKDOWN_FILE, cc.JUNIT_FILE])
    assert files["summary.json"]["by_status"] == {"failed": ["dup"], "pending": ["p"], "unique": ["a", "evil|host"]}
    root = ET.fromstring(files[cc.JUNIT_FILE].split("\n", 1)[1])
    assert root.get("name") == "client_clone_check"
    assert root.get("tests") == str(4 * len(cc.CHECKS))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert [c.get("name") for c in suites["client_clone_check.a"].findall("testcase")] == list(cc.CHECKS)
    assert suites["client_clone_check.p"].get("skipped") == "2"
    assert suites["client_clone_check.dup"].get("failures") == "3"
    markdown = files[cc.MARKDOWN_FILE]
    assert "<img" not in markdown and "evil\\|host" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| evil"))
    assert row.replace("\\|", "").count("|") == 7
