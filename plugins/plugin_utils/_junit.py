# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one JUnit XML writer of the collection. FOR INTERNAL COLLECTION USE ONLY.

Every JUnit file the collection writes (DP diagnosis, image prep, clone check) is built here, so they all
follow the same conventions and stay valid against the xunit/Jenkins ``junit-10.xsd`` (surefire schema)
that Jenkins, GitLab and Azure DevOps read:

- ``<testsuites name tests failures errors time>``: no ``skipped`` attribute there (the schema does not
  allow it); the skipped counts are on each ``<testsuite>``, where it does.
- ``<testsuite name tests failures errors skipped time [timestamp hostname id]>`` then ``<properties>``
  then the ``<testcase>`` elements. The counts are computed from the cases, so they always add up.
- ``<testcase name classname time>`` holding at most one of ``<failure>``, ``<error>``, ``<skipped>`` and
  optionally ``<system-out>``.
- ``time`` is the measured duration in seconds (three decimals), or ``0`` where nothing was timed; it is
  never invented. A suite's time is the sum of its cases.
- Class names: Jenkins splits ``classname`` at its LAST dot into package and class, and GitLab shows the
  whole value as the suite. A host name (``dp01.corp.example``) is therefore one class-name segment with
  its dots escaped as ``_`` (``classname_part``): ``PS1.dp01_corp_example`` reads package ``PS1``, class
  ``dp01_corp_example``. The unescaped host name stays in the suite's ``name``/``hostname`` and in the
  test case name where the report puts it.
- Text and attribute values have the characters XML 1.0 forbids replaced by ``\\xNN`` / ``\\uNNNN``
  (``xml_text``), so host data cannot make the file unreadable.
"""
from __future__ import annotations

import dataclasses
import math
import re
import typing as t
from xml.etree import ElementTree as ET

OUTCOMES = ("passed", "failure", "error", "skipped")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: object) -> str:
    """Text without characters XML 1.0 forbids (shown as ``\\xNN``/``\\uNNNN`` instead of breaking the file)."""
    text = "" if value is None else str(value)
    return _XML_BAD.sub(lambda m: "\\x%02x" % ord(m.group(0)) if ord(m.group(0)) < 0x100 else "\\u%04x" % ord(m.group(0)),
                        text)


def classname_part(value: object, default: str = "unnamed") -> str:
    """One segment of a JUnit class name: dots escaped as ``_`` so that a host name is not split into packages."""
    text = xml_text(value).strip().replace(".", "_")
    return text or default


def classname(*parts: object) -> str:
    """``part1.part2...`` with each part escaped by ``classname_part``."""
    return ".".join(classname_part(p) for p in parts)


def _seconds(value: object) -> float:
    """A measured duration in seconds, 0.0 for anything that is not one (None, bool, text, NaN, negative)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value <= 0:
        return 0.0
    return float(value)


def format_time(seconds: object) -> str:
    """A ``SUREFIRE_TIME`` value: measured seconds with three decimals, ``0`` when nothing was timed."""
    return ("%.3f" % _seconds(seconds)).rstrip("0").rstrip(".") or "0"


@dataclasses.dataclass
class Case:
    """One test case. ``outcome`` is one of ``OUTCOMES``; ``message``/``text``/``type`` describe it."""

    name: str
    classname: str
    outcome: str = "passed"
    message: str | None = None
    text: str | None = None
    type: str | None = None
    system_out: str | None = None
    time: float | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"JUnit outcome={self.outcome!r} is not one of {', '.join(OUTCOMES)}")


@dataclasses.dataclass
class Suite:
    """One test suite: its cases and optional properties, timestamp (xs:dateTime without zone) and host name."""

    name: str
    cases: list[Case] = dataclasses.field(default_factory=list)
    properties: list[tuple[str, object]] = dataclasses.field(default_factory=list)
    timestamp: str | None = None
    hostname: str | None = None

    def add(self, case: Case) -> Case:
        self.cases.append(case)
        return case

    def counts(self) -> dict[str, int]:
        outcomes = [c.outcome for c in self.cases]
        return {"tests": len(outcomes), "failures": outcomes.count("failure"), "errors": outcomes.count("error"),
                "skipped": outcomes.count("skipped")}

    def seconds(self) -> float:
        return sum(_seconds(c.time) for c in self.cases)


def _case_element(parent: ET.Element, case: Case) -> None:
    element = ET.SubElement(parent, "testcase", {"name": xml_text(case.name), "classname": xml_text(case.classname),
                                                 "time": format_time(case.time)})
    if case.outcome != "passed":
        attrs = {}
        if case.message is not None:
            attrs["message"] = xml_text(case.message)
        if case.type is not None:
            attrs["type"] = xml_text(case.type)
        child = ET.SubElement(element, case.outcome, attrs)
        if case.text:
            child.text = xml_text(case.text)
    if case.system_out:
        ET.SubElement(element, "system-out").text = xml_text(case.system_out)


def render(suites: t.Iterable[Suite], name: str | None = None) -> str:
    """The JUnit XML document (UTF-8 declaration, two-space indent, trailing newline)."""
    root = ET.Element("testsuites")
    if name is not None:
        root.set("name", xml_text(name))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for index, suite in enumerate(suites):
        counts = suite.counts()
        element = ET.SubElement(root, "testsuite", {"name": xml_text(suite.name)})
        for key in ("tests", "failures", "errors", "skipped"):
            element.set(key, str(counts[key]))
        element.set("time", format_time(suite.seconds()))
        element.set("id", str(index))
        if suite.timestamp:
            element.set("timestamp", xml_text(suite.timestamp))
        if suite.hostname:
            element.set("hostname", xml_text(suite.hostname))
        if suite.properties:
            props = ET.SubElement(element, "properties")
            for key, value in suite.properties:
                ET.SubElement(props, "property", {"name": xml_text(key), "value": xml_text(value)})
        for case in suite.cases:
            _case_element(element, case)
        for key in totals:
            totals[key] += counts[key]
        total_time += suite.seconds()
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", format_time(total_time))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
