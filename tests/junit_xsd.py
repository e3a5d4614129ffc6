# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate the JUnit files the collection writes (test support code, not packaged).

``junit_problems(document)`` returns every reason a JUnit document would be refused or misread:

- the xunit/Jenkins schema ``junit-10.xsd`` (surefire), validated with ``xmlschema``. The schema is read
  from ``/work/shared/data/junit-schemas/junit-10.xsd`` (``../shared`` beside the repository) and never
  copied into the repository; when it is missing the calling test FAILS with the path it looked for;
- what GitLab and Azure DevOps rely on beyond the schema: the counts of each ``<testsuite>`` equal its
  cases, the ``<testsuites>`` totals equal the sum of the suites, ``time`` is a number, and a suite's
  ``hostname`` appears in its class names only with its dots escaped (``dp01.corp`` -> ``dp01_corp``), so
  Jenkins' split at the last dot does not cut the host name into packages.
"""
from __future__ import annotations

import functools
import pathlib
import typing as t
from xml.etree import ElementTree as ET

import pytest

from tests.simhost.paths import REPO_ROOT

XSD_PATH = REPO_ROOT.parent / "shared" / "data" / "junit-schemas" / "junit-10.xsd"


@functools.lru_cache(maxsize=1)
def _schema() -> t.Any:
    import xmlschema  # pylint: disable=import-outside-toplevel

    return xmlschema.XMLSchema(str(XSD_PATH))


def schema() -> t.Any:
    """The compiled junit-10.xsd; fails the test (not skip) when the shared schema is missing."""
    if not XSD_PATH.is_file():
        pytest.fail(f"{XSD_PATH} not found: the JUnit schema test reads junit-10.xsd from the shared data directory "
                    f"beside the repository (../shared/data/junit-schemas/)", pytrace=False)
    return _schema()


def _root(document: str | bytes | pathlib.Path) -> ET.Element:
    if isinstance(document, pathlib.Path):
        return ET.parse(document).getroot()
    data = document.encode("utf-8") if isinstance(document, str) else document
    return ET.fromstring(data)


def _conventions(root: ET.Element) -> list[str]:
    problems: list[str] = []
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        where = f"testsuite[@name={suite.get('name')}]"
        counted = {"tests": len(cases), "failures": len(suite.findall("testcase/failure")),
                   "errors": len(suite.findall("testcase/error")), "skipped": len(suite.findall("testcase/skipped"))}
        for key, value in counted.items():
            if suite.get(key) is not None and suite.get(key) != str(value):
                problems.append(f"{where}: {key}={suite.get(key)} but {value} case(s)")
            if key in totals:
                totals[key] += value
        host = suite.get("hostname")
        for case in cases:
            name = f"{where}/testcase[@name={case.get('name')}]"
            if len(case.findall("failure")) + len(case.findall("error")) + len(case.findall("skipped")) > 1:
                problems.append(f"{name}: more than one of failure, error, skipped")
            try:
                float(case.get("time") or "0")
            except ValueError:
                problems.append(f"{name}: time={case.get('time')!r} is not a number")
            if host and "." in host and host in (case.get("classname") or ""):
                problems.append(f"{name}: classname {case.get('classname')!r} holds the host name with its dots")
    for key, value in totals.items():
        if root.tag == "testsuites" and root.get(key) is not None and root.get(key) != str(value):
            problems.append(f"testsuites: {key}={root.get(key)} but the suites hold {value}")
    return problems


def junit_problems(document: str | bytes | pathlib.Path) -> list[str]:
    """Schema errors and convention problems of a JUnit document (text, bytes or a file); [] when valid."""
    root = _root(document)
    problems = [f"{error.path}: {error.reason}" for error in schema().iter_errors(ET.tostring(root, encoding="unicode"))]
    return problems + _conventions(root)
