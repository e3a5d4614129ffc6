# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one JUnit writer (plugin_utils/_junit.py) and every JUnit file the renderers write, validated
against junit-10.xsd (xmlschema, schema read from ../shared/data) and the CI conventions in tests/junit_xsd.py."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _clone_check as cc
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _image_prep_report as rep
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _junit as junit
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_report import render_junit
from tests.junit_xsd import junit_problems
from tests.unit.plugins.plugin_utils.test_image_prep_report import records as image_prep_records

DATA = Path(__file__).resolve().parents[2] / "test_data" / "dp_report"


def _diagnosis(lang: str) -> dict:
    return json.loads((DATA / f"diagnosis_{lang}.json").read_text(encoding="utf-8"))


def test_writer_counts_escapes_and_times() -> None:
    suite = junit.Suite(name="dp01.corp.example", hostname="dp01.corp.example", properties=[("k", "v\x01")])
    cls = junit.classname("PS1", "dp01.corp.example")
    suite.add(junit.Case("ok", cls, time=1.25))
    suite.add(junit.Case("bad", cls, "failure", message="m", text="t\x00"))
    suite.add(junit.Case("off", cls, "skipped", message="not applicable", type="N/A"))
    suite.add(junit.Case("lost", cls, "error", message="timed out", type="unreachable", time=True))
    root = ET.fromstring(junit.render([suite], "run"))
    assert root.attrib == {"name": "run", "tests": "4", "failures": "1", "errors": "1", "time": "1.25"}
    element = root.find("testsuite")
    assert (element.get("tests"), element.get("failures"), element.get("errors"), element.get("skipped"),
            element.get("time")) == ("4", "1", "1", "1", "1.25")
    cases = element.findall("testcase")
    assert {c.get("classname") for c in cases} == {"PS1.dp01_corp_example"}
    # Measured time kept, nothing timed (or a bool) is 0, never invented.
    assert [c.get("time") for c in cases] == ["1.25", "0", "0", "0"]
    assert cases[1].find("failure").text == "t\\x00"
    assert element.find("properties/property").get("value") == "v\\x01"
    assert cases[2].find("skipped").attrib == {"message": "not applicable", "type": "N/A"}
    with pytest.raises(ValueError, match="outcome='passedd'"):
        junit.Case("x", "y", "passedd")


def test_format_time() -> None:
    assert [junit.format_time(v) for v in (None, 0, -1, float("nan"), 300, 0.0004, 2.5, "3")] == [
        "0", "0", "0", "0", "300", "0", "2.5", "0"]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_dp_junit_is_valid(lang: str) -> None:
    assert junit_problems(render_junit(_diagnosis(lang))) == []


def test_dp_not_applicable_is_skipped_with_its_reason() -> None:
    diagnosis = _diagnosis("en")
    finding = diagnosis["dps"][0]["findings"][0]
    finding.update(status="N/A", summary="pull distribution point: not applicable")
    text = render_junit(diagnosis)
    assert junit_problems(text) == []
    case = ET.fromstring(text).find("testsuite/testcase")
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("type") == "N/A"
    assert skipped.get("message") == "pull distribution point: not applicable"


def test_image_prep_and_clone_check_junit_are_valid() -> None:
    recs = image_prep_records()
    recs["dotted.corp.example"] = dict(recs["ok-01"], host="dotted.corp.example")
    text = rep.junit_xml(recs)
    assert junit_problems(text) == []
    suite = next(s for s in ET.fromstring(text).findall("testsuite") if s.get("hostname") == "dotted.corp.example")
    assert {c.get("classname") for c in suite.findall("testcase")} == {"client_image_prep.dotted_corp_example"}
    # install_client carries the install's measured elapsed_seconds.
    new = copy.deepcopy(recs["new-01"])
    new["install"]["elapsed_seconds"] = 42
    case = ET.fromstring(rep.junit_xml({"new-01": new})).find("testsuite/testcase[@name='install_client']")
    assert case.get("time") == "42"
    run = cc.clone_check({"gone": {"unreachable": True, "msg": "timed out"}, "none": None},
                         cc.master_identity({"host": "m", "removed_identity": {"sms_unique_id": "GUID:1"}}, "m.json"))
    assert junit_problems(cc.junit_xml(run)) == []


@pytest.mark.parametrize("defect, expected", [
    (lambda r: r.set("skipped", "1"), "skipped"),
    (lambda r: r.find("testsuite").set("time", "1 s"), "time"),
    (lambda r: r.find("testsuite/testcase").attrib.pop("name"), "name"),
    (lambda r: ET.SubElement(r.find("testsuite/testcase"), "warning"), "warning"),
    (lambda r: r.find("testsuite").set("failures", "99"), "failures=99"),
    (lambda r: r.find("testsuite/testcase").set("classname", "PS1.dp01.contoso.local"), "dots"),
])
def test_a_planted_defect_is_refused(defect, expected: str) -> None:
    diagnosis = _diagnosis("en")
    diagnosis["dps"][0]["dp"] = "dp01.contoso.local"
    root = ET.fromstring(render_junit(diagnosis).encode("utf-8"))
    assert junit_problems(ET.tostring(root)) == []
    defect(root)
    problems = junit_problems(ET.tostring(root))
    assert problems and any(expected in p for p in problems), problems
