#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: sccm_dp_report
short_description: Write DP diagnosis reports and the DP fleet table on the controller
version_added: 0.1.0
description:
  - Writes the result of M(mecm.fieldkit.sccm_dp_diagnose) as a self-contained HTML dashboard (DPs x checks, each
    cell opening its evidence and fix beside the grid; charts of free space, clock difference and stuck packages
    per DP), Markdown for tickets, JSON and JUnit XML (one test case per DP and check).
  - The JSON file stores the texts that are the same for every DP (title, heading, explanation, remediation) once
    per check in a top-level C(checks) table, every distinct summary, evidence label and evidence value once
    (C(texts), C(values); C(format) 2) and writes one line per DP; the dashboard and the Markdown render it like
    the in-memory diagnosis.
  - Writes the DP fleet table (DP, site, OS build, patched or not, content library drives and free space, shares OK,
    WMI OK on the DP and from the site server, pull DP, PXE, last seen) as CSV (UTF-8 with BOM, for Excel on Japanese
    Windows), JSON and HTML from C(ansible_facts.sccm_dp) and, when given, C(ansible_facts.sccm_site). Every column
    means the same whether or not site facts are given; what they alone prove is null without them.
  - Runs on the controller only. A file is rewritten only when its content changes.
  - In check mode nothing is written, C(changed) tells what would change, RV(written) is false and RV(msg) says so.
    The reports change nothing on any host, so the role P(mecm.fieldkit.dp_diagnose#role) runs this module with
    C(check_mode=false) and writes them in a C(--check) run too.
options:
  dest:
    description: Directory on the controller; created when missing. A relative path is relative to the current directory.
    type: path
    required: true
  diagnosis:
    description: RV(mecm.fieldkit.sccm_dp_diagnose#module:diagnosis).
    type: dict
  formats:
    description: Diagnosis report formats to write.
    type: list
    elements: str
    choices: [html, markdown, json, junit]
    default: [html, markdown, json, junit]
  basename:
    description: File name of the diagnosis reports, without extension.
    type: str
    default: dp_diagnosis
  dp_facts:
    description: DP name -> C(ansible_facts.sccm_dp), for the fleet table. Mutually exclusive with O(dp_hosts).
    type: dict
  dp_hosts:
    description: Inventory names of the DPs whose C(ansible_facts.sccm_dp) make the fleet table.
    type: list
    elements: str
  site_facts:
    description:
      - C(ansible_facts.sccm_site), used for the site code and the remote WMI result of the fleet table.
      - The site code of a DP comes from the DP's own registry, else from these facts when the site server probed
        the DP or the DP names it as its site server.
    type: dict
  site_host:
    description: Inventory name of the site server whose C(ansible_facts.sccm_site) to use.
    type: str
  inventory_formats:
    description: Fleet table formats to write.
    type: list
    elements: str
    choices: [csv, json, html]
    default: [csv, json, html]
  inventory_basename:
    description: File name of the fleet table, without extension.
    type: str
    default: dp_inventory
  language:
    description: Language of the fleet table HTML; default the language of O(diagnosis), else C(en).
    type: str
    choices: [en, ja]
  template_dir:
    description:
      - Directory on the controller with your own templates for the HTML dashboard and the HTML fleet table. A file
        in it replaces the collection's file of the same name; every other file comes from the collection, so one
        file (for example C(base.css)) is enough.
      - "File names: C(dashboard.html.j2), C(dashboard.css), C(dashboard.js), C(inventory.html.j2), C(inventory.css),
        C(inventory.js), C(charts.j2) (SVG chart macros), C(base.css) (colours shared by both pages); the originals
        are in the collection under C(plugins/plugin_utils/report_templates/)."
      - Templates are Jinja2 with autoescaping on; CSS and JS files are inlined as they are (no C(</) allowed), so
        the HTML stays one self-contained file. Markdown, JSON, JUnit and CSV are not templated.
      - Must be an existing directory; checked before anything is written.
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: mecm.fieldkit.sccm_dp_diagnose
  - module: mecm.fieldkit.win_sccm_dp_facts
author:
  - mecm.fieldkit contributors (@mecm-fieldkit)
"""

EXAMPLES = r"""
- name: Write the diagnosis reports and the fleet table
  mecm.fieldkit.sccm_dp_report:
    dest: reports/dp_diagnose
    diagnosis: "{{ diagnosis_result.diagnosis }}"
    dp_hosts: "{{ ansible_play_hosts }}"
  run_once: true
  register: report

- name: The dashboard with your own colours (a directory holding only base.css)
  mecm.fieldkit.sccm_dp_report:
    dest: reports/dp_diagnose
    diagnosis: "{{ diagnosis_result.diagnosis }}"
    template_dir: "{{ playbook_dir }}/report_templates"
  run_once: true

- name: Only the fleet table, in Japanese
  mecm.fieldkit.sccm_dp_report:
    dest: reports/dp_inventory
    dp_hosts: "{{ groups['distribution_points'] }}"
    language: ja
  run_once: true
"""

RETURN = r"""
dest:
  description: Absolute path of the report directory.
  returned: always
  type: str
  sample: /home/admin/reports/dp_diagnose
files:
  description: Diagnosis report paths by format; empty without O(diagnosis).
  returned: always
  type: dict
  sample:
    html: /home/admin/reports/dp_diagnose/dp_diagnosis.html
    markdown: /home/admin/reports/dp_diagnose/dp_diagnosis.md
    json: /home/admin/reports/dp_diagnose/dp_diagnosis.json
    junit: /home/admin/reports/dp_diagnose/dp_diagnosis.junit.xml
inventory_files:
  description: Fleet table paths by format; empty without O(dp_facts) or O(dp_hosts).
  returned: always
  type: dict
  sample:
    csv: /home/admin/reports/dp_diagnose/dp_inventory.csv
    json: /home/admin/reports/dp_diagnose/dp_inventory.json
    html: /home/admin/reports/dp_diagnose/dp_inventory.html
written:
  description: Whether the files were written; false in check mode (then RV(files) and RV(inventory_files) are where they would go).
  returned: always
  type: bool
  sample: true
msg:
  description: In check mode, that no report was written and how many files would be.
  returned: in check mode
  type: str
  sample: "check mode: no report written; 7 file(s) would be written to /home/admin/reports/dp_diagnose"
inventory_count:
  description:
    - The number of rows of the fleet table (one per DP); cheaper to read than the length of RV(inventory_rows) in a
      template, which ansible-core 2.19 renders in full to count it.
  returned: when O(dp_facts) or O(dp_hosts) is given
  type: int
  sample: 12
inventory_rows:
  description:
    - The fleet table rows; values the facts cannot prove are null.
    - C(wmi_local_ok) is the DP's own C(root\SCCMDP) test, C(wmi_remote_ok) the site server's remote test as SYSTEM
      (null without a trusted site probe), C(wmi_ok) true only when both are proven, false when either failed.
    - C(pull_dp) and C(pxe) come from the site (C(SMS_DistributionPointInfo) C(IsPullDP) and C(IsPXE), read by
      M(mecm.fieldkit.win_sccm_site_facts)); without site facts from the DP's C(IsPullDP) and C(IsPXE) values under
      C(HKLM\SOFTWARE\Microsoft\SMS\DP), null when absent. C(role_source) says which (C(site), C(dp_registry) or null).
  returned: when O(dp_facts) or O(dp_hosts) is given
  type: list
  elements: dict
  sample:
    - dp: dp01.contoso.local
      site_code: PS1
      os_product: Windows Server 2019 Datacenter
      os_build: "17763.6532"
      patched: true
      content_library_drives: [{drive: "D:", free_percent: 62.5, free_bytes: 687194767360, size_bytes: 1099511627776}]
      shares_ok: true
      wmi_ok: true
      wmi_local_ok: true
      wmi_remote_ok: true
      pull_dp: false
      pxe: false
      last_seen_utc: "2026-11-21T12:31:14.159Z"
summary:
  description: Number of DPs by overall status, from O(diagnosis).
  returned: when O(diagnosis) is given
  type: dict
  sample: {dps: 13, pass: 1, warn: 0, fail: 12, unknown: 0}
"""
