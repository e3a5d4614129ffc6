#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: sccm_dp_diagnose
short_description: Diagnose why ConfigMgr content does not reach distribution points (controller only)
version_added: 0.1.0
description:
  - Evaluates the checklist of the Microsoft Japan ConfigMgr support team for content that cannot be distributed to
    a remote distribution point (jpmem 20230813_01) for every DP, from the facts of
    M(mecm.fieldkit.win_sccm_site_facts) and M(mecm.fieldkit.win_sccm_dp_facts). Runs on the controller only and
    contacts no host.
  - Returns, per DP, exactly nine findings in the seed's order - name_resolution, ports, free_space, smb_shares,
    rpc_dcom, access_rights, time_sync, patch_level, wmi - each with a status C(PASS), C(WARN), C(FAIL) or
    C(UNKNOWN), the evidence, the log lines that prove it (times converted to UTC with each line's bias), the
    remediation and the seed's checklist heading it implements.
  - Missing evidence is C(UNKNOWN), never C(PASS). A test blocked by another failing check (a name that does not
    resolve, a blocked port, clock skew, missing rights) is C(UNKNOWN), so the diagnosis names the failing check.
  - A site probe that did not run as SYSTEM used the wrong identity for its remote tests; RV(diagnosis.probe_identity)
    says so and those tests are C(UNKNOWN).
  - Rules - build and UBR of the March 2023 cumulative updates (Windows Server 2012 and 2012 R2 by monthly
    rollup); clock skew C(WARN) above 60 s and C(FAIL) above 5 minutes; Windows error codes in the logs mapped to
    the checklist item they point to (0x800706BA to RPC/ports/DCOM, 0x80070005 to rights or DCOM hardening,
    0x80070070 to disk space, 0x80070576 and 0x80090324 to time, 0x8004100E and 0x80041002 to the DP WMI provider,
    53 / 0x35 to name resolution or SMB).
options:
  site_facts:
    description: C(ansible_facts.sccm_site) of the primary site server. Mutually exclusive with O(site_host).
    type: dict
  site_host:
    description: Inventory name of the site server whose C(ansible_facts.sccm_site) to use.
    type: str
  dp_facts:
    description: DP name -> C(ansible_facts.sccm_dp) (null for a DP that gave no facts). Mutually exclusive with O(dp_hosts).
    type: dict
  dp_hosts:
    description: Inventory names of the DPs whose C(ansible_facts.sccm_dp) to use (the inventory name is the DP name).
    type: list
    elements: str
  distribution_points:
    description: DPs to report, in this order; default every DP of O(dp_facts)/O(dp_hosts), then every probed DP.
    type: list
    elements: str
  language:
    description: Language of titles, explanations, remediations and summaries; the seed headings stay Japanese.
    type: str
    choices: [en, ja]
    default: en
  free_space_warn_percent:
    description: WARN when a drive on the content path has less free space than this percentage.
    type: float
    default: 15
  free_space_fail_percent:
    description: FAIL when a drive on the content path has less free space than this percentage.
    type: float
    default: 5
  free_space_warn_gb:
    description: WARN when a drive on the content path has less than this many GiB free.
    type: float
    default: 10
  free_space_fail_gb:
    description: FAIL when a drive on the content path has less than this many GiB free.
    type: float
    default: 2
  max_log_lines_per_finding:
    description: At most this many log lines (the newest) are attached to one finding.
    type: int
    default: 10
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
  - module: mecm.fieldkit.win_sccm_site_facts
  - module: mecm.fieldkit.win_sccm_dp_facts
  - module: mecm.fieldkit.sccm_dp_report
author:
  - mecm.fieldkit contributors (@mecm-fieldkit)
"""

EXAMPLES = r"""
- name: Diagnose the DPs of the play from facts gathered earlier
  mecm.fieldkit.sccm_dp_diagnose:
    site_host: cm01.contoso.local
    dp_hosts: "{{ ansible_play_hosts }}"
    language: ja
  run_once: true
  register: diagnosis_result

- name: List the failing checks
  ansible.builtin.debug:
    msg: "{{ item.dp }}: {{ item.findings | selectattr('status', 'eq', 'FAIL') | map(attribute='check') | list }}"
  loop: "{{ diagnosis_result.diagnosis.dps }}"
  loop_control:
    label: "{{ item.dp }}"
  run_once: true
"""

RETURN = r"""
diagnosis:
  description: The diagnosis of every DP (the findings schema the reports of M(mecm.fieldkit.sccm_dp_report) read).
  returned: always
  type: complex
  contains:
    generated_at:
      description: When the diagnosis was made (ISO 8601 UTC).
      returned: always
      type: str
      sample: "2026-11-21T12:00:00Z"
    language:
      description: Language of the texts.
      returned: always
      type: str
      sample: en
    site_server:
      description: FQDN of the site server that probed the DPs, or null without site facts.
      returned: always
      type: str
      sample: cm01.contoso.local
    site_code:
      description: Site code, or null without site facts.
      returned: always
      type: str
      sample: PS1
    probe_identity:
      description:
        - Whether the site probe ran as SYSTEM (C(as_system)) and so used the site server's computer account
          (C(trusted)); C(warning) explains what is wrong otherwise.
      returned: always
      type: dict
      sample: {as_system: true, user: NT AUTHORITY\SYSTEM, trusted: true, warning: null}
    dps:
      description:
        - One entry per DP - C(dp), C(overall) (the worst finding, FAIL > WARN > UNKNOWN > PASS > N/A) and exactly nine
          C(findings) in the seed's order. A finding has C(check), C(status) (C(N/A) only for the push-only items of
          a pull DP), C(title), C(heading) (the seed's Japanese checklist heading, verbatim), C(explanation),
          C(remediation), C(summary) (one line), C(evidence) (label, value, source site/dp/log, ok) and
          C(log_evidence) (log, line_number, time_utc, time_local, bias_minutes, component, severity, message,
          error_codes, cause).
        - C(content) (total, installed, stuck, truncated; the counts are null when the site's distribution state
          is unknown) and C(stuck_packages) (package_id, name, state, state_text, message_id, message_time,
          source_version, check (null when the last status message points to no checklist item), cause, fix,
          message), read from the SMS Provider by M(mecm.fieldkit.win_sccm_site_facts).
        - C(role) (pull_dp, pxe, source, source_dps with name, rank and reachable) from the site's
          C(SMS_DistributionPointInfo), the DP's registry only as a fallback.
      returned: always
      type: list
      elements: dict
      sample:
        - dp: dp03.contoso.local
          overall: FAIL
          findings:
            - check: ports
              status: FAIL
              title: Network ports
              heading: 通信 ポート の開放状況
              explanation: The site server reaches the DP over RPC and SMB ...
              remediation: Open TCP 135, 445 and the dynamic RPC range ...
              summary: TCP 445 blocked from cm01.contoso.local
              evidence:
                - {label: TCP 445 from the site server, value: "0x8007274C", source: site, ok: false}
              log_evidence:
                - log: PkgXferMgr.log
                  line_number: 8
                  time_utc: "2026-11-21T10:56:20.218Z"
                  time_local: "2026-11-21T19:56:20.218"
                  bias_minutes: -540
                  component: SMS_PACKAGE_TRANSFER_MANAGER
                  severity: error
                  message: CSendFileAction::SendFiles failed; 0x80070035
                  error_codes: [{hresult: "0x80070035", win32: 53, raw: "0x80070035", name: ERROR_BAD_NETPATH, meaning: The network path was not found.}]
                  cause: The DP name does not resolve or resolves to a wrong address, SMB (TCP 445) is blocked ...
    summary:
      description:
        - Number of DPs by overall status, C(na_cells) the number of findings that do not apply (pull DPs) and
          C(stuck_packages) the number of packages not installed on their DP, over all DPs.
      returned: always
      type: dict
      sample: {dps: 16, pass: 2, warn: 0, fail: 14, unknown: 0, na_cells: 2, stuck_packages: 9}
    thresholds:
      description:
        - The thresholds in force (the defaults merged with O(free_space_warn_percent), O(free_space_fail_percent),
          O(free_space_warn_gb), O(free_space_fail_gb) and O(max_log_lines_per_finding)); the reports draw their lines from them.
      returned: always
      type: dict
      sample: {free_space_warn_percent: 15.0, free_space_fail_percent: 5.0}
"""
