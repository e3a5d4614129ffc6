# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every JUnit file the playbooks write from the simulated labs is valid against junit-10.xsd (xmlschema, schema
read from ../shared/data) and the CI conventions of tests/junit_xsd.py: the DP diagnosis of lab ``dp`` in both
languages and the image prep of lab ``imageprep`` over every host (done, guarded, failed, unreachable). The clone
check's file is validated in test_client_clone_check.py."""
from __future__ import annotations

import pathlib
from xml.etree import ElementTree as ET

import pytest

from tests.e2e.conftest import run_playbook
from tests.junit_xsd import junit_problems
from tests.simhost.paths import LABS_DIR, REPO_ROOT

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_dp_diagnosis_junit_is_valid(lab_factory, tmp_path: pathlib.Path, lang: str) -> None:
    _lab, inventory = lab_factory("dp")
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, REPO_ROOT / "playbooks" / "dp_diagnose.yml", "-f", "20",
                       "-e", f"dp_diagnose_language={lang}", "-e", f"dp_diagnose_report_dir={reports}")
    assert run.rc == 0, run.stdout + run.stderr
    files = sorted(reports.rglob("*junit*.xml"))
    assert files, sorted(reports.rglob("*"))
    for path in files:
        assert junit_problems(path) == [], path
        classnames = {c.get("classname") for c in ET.parse(path).getroot().iter("testcase")}
        # Host-name dots are escaped: "<site code>.<dp with _>" has exactly one dot.
        assert classnames and all(name.count(".") == 1 for name in classnames), classnames


def test_image_prep_junit_is_valid_for_every_outcome(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory("imageprep")
    lab.set_unreachable("ref-hang")
    reports = tmp_path / "reports"
    run = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_image_prep", "-i", str(LABS_DIR / "imageprep_vars.yml"),
                       "-e", "client_image_prep_hosts=reference_vms:guarded:faulty",
                       "-e", f"client_image_prep_report_dir={reports}", "-f", "12")
    assert run.rc == 2, run.stdout + run.stderr
    path = reports / "client_image_prep-junit.xml"
    assert junit_problems(path) == []
    root = ET.parse(path).getroot()
    outcomes = {child.tag for case in root.iter("testcase") for child in case}
    assert {"failure", "error", "skipped", "system-out"} <= outcomes
    assert root.get("skipped") is None and int(root.get("errors")) >= 1
    install = root.find("testsuite[@hostname='ref-new']/testcase[@name='install_client']")
    assert install is not None and float(install.get("time")) > 0  # the install's measured elapsed_seconds
