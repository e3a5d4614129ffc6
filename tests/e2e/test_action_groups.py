# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: ``module_defaults`` with the collection's action groups (meta/runtime.yml) against the
simulated DP lab. Every member of a group takes the group's defaults, and the defaults take effect."""
from __future__ import annotations

import json
import pathlib

import pytest

from tests.e2e.conftest import run_playbook

pytestmark = pytest.mark.e2e

SITE = "cm01.contoso.local"
DPS = ["dp01.contoso.local", "dp05.contoso.local", "dp13.contoso.local"]

PLAYBOOK = """\
- name: DP evidence with the group's defaults
  hosts: {dps}
  gather_facts: false
  module_defaults:
    group/mecm.fieldkit.dp_evidence:
      max_events: 1
      event_window_hours: 720
      log_window_hours: 720
      gather_hotfixes: false
  tasks:
    - name: DP facts
      mecm.fieldkit.win_sccm_dp_facts:
      register: dp_result
    - name: Site facts for these DPs, on the site server
      mecm.fieldkit.win_sccm_site_facts:
        distribution_points: "{{{{ ansible_play_hosts_all }}}}"
      delegate_to: {site}
      delegate_facts: true
      run_once: true
      become: true
      become_method: ansible.builtin.runas
      become_user: SYSTEM
      register: site_result

- name: Diagnosis and reports with the group's defaults
  hosts: localhost
  gather_facts: false
  vars:
    dps: {dp_list}
  module_defaults:
    group/mecm.fieldkit.dp_reporting:
      language: ja
      site_host: {site}
      dp_hosts: "{{{{ dps }}}}"
  tasks:
    - name: Diagnose
      mecm.fieldkit.sccm_dp_diagnose:
      register: diagnosis_result
    - name: Report
      mecm.fieldkit.sccm_dp_report:
        diagnosis: "{{{{ diagnosis_result.diagnosis }}}}"
        dest: {reports}
        formats: [json, markdown]
"""


def test_module_defaults_for_each_action_group(lab_factory, tmp_path: pathlib.Path) -> None:
    _lab, inventory = lab_factory(hosts={SITE: "site_cm01", DPS[0]: "dp_healthy", DPS[1]: "dp_dcom_disabled",
                                         DPS[2]: "dp_disk_full"})
    reports = tmp_path / "reports"
    playbook = PLAYBOOK.format(dps=",".join(DPS), site=SITE, dp_list=json.dumps(DPS), first=DPS[0], reports=reports)
    run = run_playbook(tmp_path, inventory, playbook)
    assert run.rc == 0, run.stdout + run.stderr
    # gather_hotfixes: false from group/mecm.fieldkit.dp_evidence reached both members.
    for dp in DPS:
        facts = run.one("DP facts", dp)["result"]["ansible_facts"]["sccm_dp"]
        assert facts["os"]["hotfixes_collected"] is False, dp
    site = run.one("Site facts for these DPs, on the site server", DPS[0])["result"]["ansible_facts"]["sccm_site"]
    assert site["os"]["hotfixes_collected"] is False
    assert sorted(site["dps"]) == DPS
    # language, site_host and dp_hosts from group/mecm.fieldkit.dp_reporting reached both members.
    diagnosis = run.one("Diagnose", "localhost")["result"]["diagnosis"]
    assert diagnosis["language"] == "ja"
    assert diagnosis["site_server"] == SITE
    assert sorted(dp["dp"] for dp in diagnosis["dps"]) == DPS
    written = json.loads((reports / "dp_diagnosis.json").read_text(encoding="utf-8"))
    assert written["language"] == "ja"
    assert (reports / "dp_diagnosis.md").is_file()


def test_without_module_defaults_the_module_defaults_apply(lab_factory, tmp_path: pathlib.Path) -> None:
    """The control: the same DP without the group's defaults collects its hotfixes (the module default)."""
    _lab, inventory = lab_factory(hosts={DPS[0]: "dp_healthy"})
    run = run_playbook(tmp_path, inventory, "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: DP facts\n"
                                            "      mecm.fieldkit.win_sccm_dp_facts:\n")
    assert run.rc == 0, run.stdout + run.stderr
    assert run.one("DP facts", DPS[0])["result"]["ansible_facts"]["sccm_dp"]["os"]["hotfixes_collected"] is True
