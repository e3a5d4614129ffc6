# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report directories of the collection's playbooks end to end: a report directory that cannot be used
stops the run before any host is touched, with a message that names the variable or the option."""
from __future__ import annotations

import os
import pathlib

import pytest

from tests.e2e.conftest import run_playbook

pytestmark = pytest.mark.e2e


def test_empty_or_unusable_report_dir_stops_image_prep_before_any_host_is_touched(lab_factory,
                                                                                 tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned", "ref-new": "ref_assigned"})
    before = {host: lab.state(host) for host in lab.hosts}
    hosts = ("-e", "client_image_prep_hosts=all")
    lab.reset_stats()
    empty = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_image_prep", *hosts,
                         "-e", "client_image_prep_report_dir=")
    assert empty.rc == 2, empty.stdout
    result = empty.one("Check client_image_prep_report_dir before any host is touched", "ref-assigned")
    assert result["status"] == "failed"
    assert result["result"]["msg"].startswith('client_image_prep_report_dir="" must name a directory on the controller')
    assert not empty.results("Run the client image-prep role")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    bad = run_playbook(tmp_path, inventory, "playbooks/client_image_prep.yml", *hosts,
                       "-e", f"client_image_prep_report_dir={tmp_path / 'a-file' / 'reports'}")
    assert bad.rc == 2, bad.stdout
    probe = bad.one("Check that the report directory can be written before any host is touched", "ref-assigned")
    assert probe["status"] == "failed"
    assert f"{tmp_path / 'a-file'} is a file, not a directory" in probe["result"]["msg"]
    assert not bad.results("Run the client image-prep role")
    assert all(lab.stats(host)["module_executions"] == 0 for host in lab.hosts)
    assert {host: lab.state(host) for host in lab.hosts} == before
    # Nothing was written into the current directory (the repository root) either.
    assert not list(pathlib.Path(os.getcwd()).glob("*.json"))


def test_identity_audit_refuses_an_empty_report_dir(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-assigned": "ref_assigned"})
    lab.reset_stats()
    run = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_identity_audit",
                       "-e", "client_identity_audit_report_dir= ")
    assert run.rc == 2, run.stdout
    result = run.one("Check client_identity_audit_report_dir before any host is touched", "ref-assigned")
    assert result["status"] == "failed" and "must name a directory" in result["result"]["msg"]
    assert lab.stats("ref-assigned")["module_executions"] == 0
