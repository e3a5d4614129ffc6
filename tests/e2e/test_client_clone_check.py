# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/client_clone_check.yml end to end against the simulated lab (labs/clones.json): the master is
prepared with client_image_prep in the same lab, and its record is what the clone check compares the clones
with - unique clones, one at its first boot (pending), a clone of a clone, a clone captured without image prep
and a half-prepared one."""
from __future__ import annotations

import json
import pathlib
import typing as t
from xml.etree import ElementTree as ET

import pytest

from tests.e2e.conftest import run_playbook
from tests.junit_xsd import XSD_PATH as XSD, junit_problems

pytestmark = pytest.mark.e2e

GUID = "GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B"
CHECKS = ["facts", "master_sms_unique_id", "master_certificates", "new_identity", "ccmexec_running",
          "unique_among_clones"]
XS = "{http://www.w3.org/2001/XMLSchema}"


def read(path: pathlib.Path) -> dict[str, t.Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def xsd_check(document: ET.Element, xsd: pathlib.Path) -> list[str]:
    """The subset of XSD that junit-10.xsd uses: global elements, their attributes (required ones), the child
    elements they may hold (xs:element ref in sequences and choices) and whether text is allowed (mixed)."""
    schema = ET.parse(xsd).getroot()
    rules: dict[str, dict[str, t.Any]] = {}
    for element in schema.findall(f"{XS}element"):
        complex_type = element.find(f"{XS}complexType")
        if complex_type is None:  # a simple string element
            rules[element.get("name", "")] = {"attrs": set(), "required": set(), "children": set(), "text": True}
            continue
        attrs = complex_type.findall(f"{XS}attribute")
        rules[element.get("name", "")] = {
            "attrs": {a.get("name") for a in attrs},
            "required": {a.get("name") for a in attrs if a.get("use") == "required"},
            "children": {e.get("ref") for e in complex_type.iter(f"{XS}element") if e.get("ref")},
            "text": complex_type.get("mixed") == "true"}
    problems: list[str] = []

    def walk(node: ET.Element, path: str) -> None:
        rule = rules.get(node.tag)
        if rule is None:
            problems.append(f"{path}: element {node.tag} is not in the schema")
            return
        problems.extend(f"{path}: attribute {a} not allowed" for a in set(node.attrib) - rule["attrs"])
        problems.extend(f"{path}: attribute {a} missing" for a in rule["required"] - set(node.attrib))
        if (node.text or "").strip() and not rule["text"]:
            problems.append(f"{path}: text not allowed")
        for child in node:
            if child.tag not in rule["children"]:
                problems.append(f"{path}: child {child.tag} not allowed")
            walk(child, f"{path}/{child.tag}[@name={child.get('name')}]")

    walk(document, document.tag)
    return problems


@pytest.fixture
def master_record(lab_factory, tmp_path: pathlib.Path) -> tuple[t.Any, pathlib.Path, pathlib.Path]:
    """The clones lab, with its master prepared by the client_image_prep playbook; its record file."""
    lab, inventory = lab_factory("clones")
    prep = tmp_path / "prep"
    run = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_image_prep", "-e", "client_image_prep_hosts=masters",
                       "-e", f"client_image_prep_report_dir={prep}")
    assert run.rc == 0, run.stdout + run.stderr
    record = prep / "ref-master.json"
    assert read(record)["removed_identity"]["sms_unique_id"] == GUID
    lab.reset_stats()
    return lab, inventory, record


def test_clone_check_fails_clones_that_are_not_unique(master_record, tmp_path: pathlib.Path) -> None:
    lab, inventory, record = master_record
    reports = tmp_path / "clone_check"
    run = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_clone_check", "-e", "client_clone_check_hosts=clones",
                       "-e", f"client_clone_check_master_record={record}", "-e", f"client_clone_check_report_dir={reports}",
                       "-f", "6")
    assert run.rc == 2, run.stdout + run.stderr
    clones = ["vdi-0001", "vdi-0002", "vdi-0101", "vdi-0102", "vdi-0103", "vdi-0104"]
    # One module execution per clone (win_sccm_client_facts); the master is not contacted.
    assert {h: lab.stats(h)["module_executions"] for h in clones} == dict.fromkeys(clones, 1)
    assert lab.stats("ref-master")["module_executions"] == 0

    assert sorted(p.name for p in reports.iterdir()) == sorted(
        [f"{h}.json" for h in clones] + ["summary.json", "client_clone_check.md", "client_clone_check-junit.xml"])
    status = {h: read(reports / f"{h}.json")["status"] for h in clones}
    assert status == {"vdi-0001": "failed", "vdi-0002": "failed", "vdi-0101": "failed", "vdi-0102": "unique",
                      "vdi-0103": "pending", "vdi-0104": "failed"}
    checks = {h: {c["name"]: c["status"] for c in read(reports / f"{h}.json")["checks"]} for h in clones}
    assert [c for c, s in checks["vdi-0001"].items() if s == "failed"] == [
        "master_sms_unique_id", "master_certificates", "new_identity", "unique_among_clones"]
    # Half prepared: SMSCFG.ini gone, but the master's certificates and WMI identifier, CcmExec Manual.
    assert [c for c, s in checks["vdi-0002"].items() if s == "failed"] == [
        "master_sms_unique_id", "master_certificates", "new_identity", "ccmexec_running", "unique_among_clones"]
    assert "(WMI)" in read(reports / "vdi-0002.json")["msg"]
    # A clone of a clone: unique against the master, not against its twin.
    assert [c for c, s in checks["vdi-0101"].items() if s == "failed"] == ["unique_among_clones"]
    pending = read(reports / "vdi-0103.json")
    assert checks["vdi-0103"]["new_identity"] == "skipped" and not pending["failed"]
    assert pending["identity"]["stale_wmi_client_id"] == GUID
    assert set(checks["vdi-0102"].values()) == {"ok"}

    summary = read(reports / "summary.json")
    assert summary["master"] == "ref-master" and summary["master_sms_unique_id"] == GUID
    assert summary["by_status"] == {"failed": ["vdi-0001", "vdi-0002", "vdi-0101", "vdi-0104"],
                                    "pending": ["vdi-0103"], "unique": ["vdi-0102"]}
    assert summary["failed"] == 4 and summary["module_executions"] == 6
    # The hosts that fail are the clones that are not unique.
    failed = {r["host"] for r in run.results("Fail the clones that are not unique") if r["status"] == "failed"}
    assert failed == {"vdi-0001", "vdi-0002", "vdi-0101", "vdi-0104"}
    # The reports are written in one task per run.
    assert len(run.results("Write one JSON per clone, summary.json, client_clone_check.md and "
                           "client_clone_check-junit.xml")) == 1

    junit = reports / "client_clone_check-junit.xml"
    root = ET.parse(junit).getroot()
    assert root.get("tests") == str(len(clones) * len(CHECKS))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert sorted(suites) == [f"client_clone_check.{h}" for h in clones]
    for suite in suites.values():
        assert [c.get("name") for c in suite.findall("testcase")] == CHECKS
    assert suites["client_clone_check.vdi-0001"].get("failures") == "4"
    assert suites["client_clone_check.vdi-0103"].get("skipped") == "2"
    # Valid against junit-10.xsd (xmlschema) and the CI conventions: no skipped count on <testsuites> any more.
    assert xsd_check(root, XSD) == []
    assert junit_problems(junit) == []
    markdown = (reports / "client_clone_check.md").read_text(encoding="utf-8")
    assert "| vdi-0102 | unique |" in markdown and "**vdi-0001** (failed)" in markdown


def test_good_clones_pass_and_pending_can_fail(master_record, tmp_path: pathlib.Path) -> None:
    _lab, inventory, record = master_record
    common = ("-e", "client_clone_check_hosts=clones_good", "-e", f"client_clone_check_master_record={record}")
    run = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_clone_check", *common,
                       "-e", f"client_clone_check_report_dir={tmp_path / 'ok'}", "-f", "3")
    assert run.rc == 0, run.stdout + run.stderr
    assert read(tmp_path / "ok" / "summary.json")["by_status"] == {"pending": ["vdi-0103"],
                                                                   "unique": ["vdi-0101", "vdi-0102"]}
    strict = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_clone_check", *common,
                          "-e", f"client_clone_check_report_dir={tmp_path / 'strict'}",
                          "-e", "client_clone_check_fail_on_pending=true", "-f", "3")
    assert strict.rc == 2, strict.stdout + strict.stderr
    pending = read(tmp_path / "strict" / "vdi-0103.json")
    assert pending["status"] == "pending" and pending["failed"] is True


@pytest.mark.parametrize("case", ["missing", "summary", "no_identity"])
def test_bad_master_record_stops_before_any_clone_is_contacted(lab_factory, tmp_path: pathlib.Path, case: str) -> None:
    lab, inventory = lab_factory(hosts={"vdi-0101": "clone_unique"}, groups={"clones": ["vdi-0101"]})
    path = tmp_path / "ref.json"
    if case == "summary":
        path.write_text(json.dumps({"hosts": 1, "failed": 0, "by_status": {"ok": ["ref"]}}), encoding="utf-8")
    elif case == "no_identity":
        path.write_text(json.dumps({"host": "ref", "status": "ok", "steps": [], "removed_identity": {
            "sms_unique_id": None, "certificates": []}}), encoding="utf-8")
    run = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_clone_check",
                       "-e", f"client_clone_check_master_record={path}",
                       "-e", f"client_clone_check_report_dir={tmp_path / 'r'}")
    assert run.rc == 2, run.stdout + run.stderr
    expected = {"missing": "the file does not exist", "summary": "is the image-prep summary.json",
                "no_identity": "has no removed identity"}[case]
    failure, = [r for r in run.results(host="vdi-0101")
                if r["task"].endswith("Check the master's image-prep record before any clone is contacted")]
    assert failure["status"] == "failed"
    assert expected in failure["result"]["msg"] and "client_clone_check_master_record=" in failure["result"]["msg"]
    assert lab.stats("vdi-0101")["module_executions"] == 0
