#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_sccm_dp_facts
short_description: Gather the state of a ConfigMgr (MECM/SCCM) distribution point
version_added: 0.1.0
description:
  - Reads, in one module execution per distribution point (DP), everything the DP side of the checklist
    "content cannot be distributed to a remote DP" (Microsoft Japan ConfigMgr support, jpmem 20230813_01) looks
    at, and returns it as C(ansible_facts.sccm_dp).
  - The DP role and its site server, content library path and usable drives (C(HKLM\SOFTWARE\Microsoft\SMS\DP));
    the shares C(ADMIN$), C(SCCMContentLib$), C(SMS_DP$), C(SMSPKG<drive>$), C(SMSSIG$) with their share ACL;
    size and free space of every fixed drive and the C(NO_SMS_ON_DRIVE.SMS) markers; the services DcomLaunch,
    RpcSs, RpcEptMapper, Winmgmt, LanmanServer, W32Time and W3SVC; C(EnableDCOM) and the DCOM hardening values;
    OS build, UBR, product and installed updates; the clock, W32Time configuration and last sync; a local query
    of C(root\SCCMDP); the security of the WMI C(Root) namespace as SDDL and entries with named rights; the NTFS
    ACL of the content library folders; the members of the local Administrators group (found by SID
    C(S-1-5-32-544)); recent DistributedCOM 10036 events; and error lines of C(smsdpprov.log), filtered on the host.
  - For a pull DP (O(source_dps) given), the same execution also probes, from the DP, each source DP it downloads
    content from (name resolution, TCP 80 and 443; no RPC) and reads the error and warning lines of its own
    C(PullDP.log) and C(DataTransferService.log), filtered on the host; see RV(ansible_facts.sccm_dp.pull_dp).
  - Who ran the execution is RV(ansible_facts.sccm_dp.probe_identity). The checklist runs the local
    C(root\SCCMDP) test as SYSTEM (C(PsExec -s)); run the module with C(become) (C(runas), user C(SYSTEM)) to do the
    same.
  - Read-only; runs the same in check mode. A reading that fails does not stop the others; it is listed in
    RV(ansible_facts.sccm_dp.errors) and its fact is null.
  - This is an action plugin; the work on the host is done by the internal module
    M(mecm.fieldkit.sccm_op_runner_dp) in a single execution.
options:
  log_window_hours:
    description: C(smsdpprov.log) lines older than this many hours are not returned.
    type: int
    default: 72
  event_window_hours:
    description: DistributedCOM events older than this many hours are not counted.
    type: int
    default: 168
  max_events:
    description: Newest events returned (the count is bounded separately at 1000).
    type: int
    default: 10
  log_max_lines:
    description: At most this many C(smsdpprov.log) error records are returned (the newest).
    type: int
    default: 50
  log_max_bytes:
    description: At most this many characters of C(smsdpprov.log) records are returned (the newest).
    type: int
    default: 16384
  gather_hotfixes:
    description: List installed updates (needed to decide the patch level of Windows Server 2012 and 2012 R2).
    type: bool
    default: true
  source_dps:
    description:
      - The source DPs of this DP when it is a pull DP, by FQDN, best rank first (the role takes them from the site,
        C(ansible_facts.sccm_site.dps[<dp>].site_role.source_dps) of M(mecm.fieldkit.win_sccm_site_facts)).
      - At most 16 host names, each once. Empty (the default) for a standard DP; nothing pull-specific is read then.
    type: list
    elements: raw
    default: []
  source_probe_timeout:
    description: Seconds for the probe of all source DPs together (1 to 600).
    type: int
    default: 15
  source_connect_timeout_ms:
    description: Milliseconds per TCP connection to a source DP (100 to 60000).
    type: int
    default: 3000
notes:
  - Needs local administrator rights on the DP (WMI namespace security, ACLs, event log).
  - Services, groups and accounts are read by service name and SID, never by display names, so the module behaves
    the same on Japanese and English Windows.
  - Log lines are decoded on the host (BOM, UTF-16, UTF-8 or the ANSI code page) and returned as text; the
    controller parses them (M(mecm.fieldkit.sccm_dp_diagnose)).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.facts
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
  facts:
    support: full
  platform:
    platforms: windows
seealso:
  - module: mecm.fieldkit.win_sccm_site_facts
  - module: mecm.fieldkit.sccm_dp_diagnose
  - module: mecm.fieldkit.sccm_dp_report
author:
  - mecm.fieldkit contributors (@mecm-fieldkit)
"""

EXAMPLES = r"""
- name: Gather the facts of every distribution point
  mecm.fieldkit.win_sccm_dp_facts:

- name: Show the content library drives and their free space
  ansible.builtin.debug:
    msg: >-
      {{ inventory_hostname }}: {{ ansible_facts.sccm_dp.role.content_library_drives }}
      {{ ansible_facts.sccm_dp.disks | selectattr('drive', 'in', ansible_facts.sccm_dp.role.content_library_drives)
         | map(attribute='free_percent') | list }}

- name: Gather the facts of a pull DP as SYSTEM, with the source DPs it pulls content from
  mecm.fieldkit.win_sccm_dp_facts:
    source_dps: [dp01.contoso.local, dp02.contoso.local]
  become: true
  become_method: ansible.builtin.runas
  become_user: SYSTEM

- name: Warn about shares that are missing
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} lacks {{ ansible_facts.sccm_dp.shares.missing }}"
  when: ansible_facts.sccm_dp.shares.missing | length > 0
"""

RETURN = r"""
ansible_facts:
  description: Facts about the distribution point.
  returned: success
  type: complex
  contains:
    sccm_dp:
      description: State of the ConfigMgr distribution point. A fact that could not be read is null.
      returned: success
      type: complex
      contains:
        collected_at:
          description: When the facts were read (controller clock, ISO 8601 UTC).
          returned: always
          type: str
          sample: "2026-11-21T12:29:18.831Z"
        computer_name:
          description: NetBIOS name of the DP.
          returned: always
          type: str
          sample: DP01
        fqdn:
          description: FQDN of the DP as it knows itself.
          returned: always
          type: str
          sample: dp01.contoso.local
        role:
          description:
            - The DP role from C(HKLM\SOFTWARE\Microsoft\SMS\DP) and the C(SMS_DP$) share. C(content_library_drives)
              joins the drive of C(ContentLibraryPath) and C(ContentLibUsableDrives).
          returned: always
          type: dict
          sample:
            installed: true
            registry_present: true
            site_server: cm01.contoso.local
            site_code: null
            content_library_path: D:\SCCMContentLib
            content_library_drives: ["D:"]
            usable_drives: ["D:"]
            is_pull_dp: false
            is_pxe: false
            sms_dp_share_path: D:\SMS_DP$
        shares:
          description:
            - The DP shares (patterns in C(expected)), their share ACL entries, and the patterns no share matched.
            - "In C(access): C(resolved) tells whether the account name was translated to C(sid). A deleted account is
              listed with its SID: C(account) is the SID string, or null when Windows shows no name (C(sid) then
              comes from the share's DACL when it can be matched, else it is null)."
          returned: always
          type: dict
          sample:
            server_service_running: true
            expected: [ADMIN$, SCCMContentLib$, SMS_DP$, SMSPKG*$, SMSSIG$]
            missing: []
            items:
              - name: SCCMContentLib$
                path: D:\SCCMContentLib
                special: true
                access: [{account: BUILTIN\Administrators, sid: S-1-5-32-544, resolved: true, type: allow, right: full}]
        disks:
          description: Fixed drives with size and free space; C(no_sms_on_drive) when C(NO_SMS_ON_DRIVE.SMS) is at the root.
          returned: always
          type: list
          elements: dict
          sample:
            - {drive: "D:", size_bytes: 1099511627776, free_bytes: 687194767360, free_percent: 62.5, file_system: NTFS, no_sms_on_drive: false}
        services:
          description: State and start mode (auto, delayed_auto, manual, disabled) of the RPC, WMI, SMB, time and IIS services.
          returned: always
          type: dict
          sample:
            DcomLaunch: {exists: true, state: running, start_mode: auto}
            RpcSs: {exists: true, state: running, start_mode: auto}
            RpcEptMapper: {exists: true, state: running, start_mode: auto}
            Winmgmt: {exists: true, state: running, start_mode: auto}
            LanmanServer: {exists: true, state: running, start_mode: auto}
            W32Time: {exists: true, state: running, start_mode: manual}
            W3SVC: {exists: true, state: running, start_mode: auto}
        dcom:
          description:
            - C(EnableDCOM) (absent means the default C(Y)) and the DCOM hardening values of
              C(HKLM\SOFTWARE\Microsoft\Ole\AppCompat) (null when absent).
          returned: always
          type: dict
          sample:
            enable_dcom: "Y"
            enabled: true
            enable_dcom_default: false
            require_integrity_activation_authentication_level: null
            raise_activation_authentication_level: null
        os:
          description:
            - Windows product, build, UBR (C(version) is build.UBR), IPv4 and IPv6 addresses (no loopback, no link-local),
              locale and the newest installed updates (an empty list when there are none).
            - C(display_version) is the C(DisplayVersion) registry value, null where Windows has none (Server 2019 and
              older).
          returned: always
          type: dict
          sample:
            computer_name: DP01
            fqdn: dp01.contoso.local
            domain: contoso.local
            ipv4_addresses: [10.20.103.213]
            ipv6_addresses: []
            product_name: Windows Server 2019 Datacenter
            installation_type: Server
            display_version: null
            build: 17763
            ubr: 6532
            version: "17763.6532"
            system_drive: "C:"
            temp_path: C:\Windows\TEMP\
            ansi_code_page: 932
            ui_culture: ja-JP
            hotfixes: [{hotfix_id: KB5044277, installed_on: "2024-10-09", description: Security Update}]
            hotfixes_collected: true
        time:
          description:
            - "The DP clock, time zone (Windows bias - UTC = local + bias) and W32Time state. C(controller_offset_seconds)
              is the DP clock minus the controller clock, measured around the module execution, with its uncertainty."
          returned: always
          type: dict
          sample:
            utc_now: "2026-11-21T12:29:19.100Z"
            timezone_id: Tokyo Standard Time
            bias_minutes: -540
            w32time_type: NT5DS
            ntp_server: time.windows.com,0x8
            source: dc01.contoso.local
            last_sync_utc: "2026-11-21T11:59:18Z"
            status_lines: ["Source: dc01.contoso.local"]
            controller_offset_seconds: 0.881
            controller_offset_uncertainty_seconds: 0.571
        wmi:
          description:
            - C(sccmdp) is a local connection and query of C(root\SCCMDP) (C(SMS_DistributionPoint)); C(root_security)
              the security of the WMI C(Root) namespace as SDDL and entries with named rights (enable_account,
              execute_methods, full_write, partial_write, provider_write, remote_enable, read_security, edit_security).
            - C(resolved) is false when a SID could not be translated to C(account) (orphaned, or no answer from a domain
              controller within 5 s); C(account) is then null.
          returned: always
          type: dict
          sample:
            sccmdp: {namespace: root\SCCMDP, present: true, class_present: true, instance_count: 0, query_ok: true, error: null}
            root_security:
              namespace: root
              sddl: O:BAG:BAD:(A;CI;CCDCLCSWRPWPRCWD;;;BA)(A;CI;CCDCRP;;;AU)
              owner_sid: S-1-5-32-544
              entries:
                - {sid: S-1-5-32-544, account: BUILTIN\Administrators, resolved: true, type: allow, mask: 393279, inherited: false,
                   applies_to_subnamespaces: true, rights: [enable_account, execute_methods, full_write, partial_write,
                   provider_write, remote_enable, read_security, edit_security]}
        content_library_acl:
          description:
            - NTFS ACL of the content library folder(s) (C(ContentLibraryPath), C(<usable drive>\SCCMContentLib)).
            - C(resolved) is false when a SID could not be translated to C(account) in time; C(account) is then null.
          returned: always
          type: list
          elements: dict
          sample:
            - path: D:\SCCMContentLib
              exists: true
              owner: BUILTIN\Administrators
              owner_sid: S-1-5-32-544
              protected: false
              sddl: O:BAG:SYD:AI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)
              entries: [{sid: S-1-5-32-544, account: BUILTIN\Administrators, resolved: true, type: allow, rights: FullControl,
                         mask: 2032127, inherited: false, inheritance: "ContainerInherit, ObjectInherit"}]
        local_administrators:
          description:
            - Direct members of the local Administrators group (SID C(S-1-5-32-544)).
            - Orphaned SIDs and names not translated in time (a domain controller that does not answer) have name null
              and C(resolved) false. When the members cannot be enumerated within 30 s this is null and the reading is
              listed in C(errors) (ERROR_TIMEOUT), since a partial list would wrongly say an account is no member.
          returned: always
          type: dict
          sample:
            sid: S-1-5-32-544
            name: BUILTIN\Administrators
            members: [{sid: S-1-5-21-2718281828-3141592653-1414213562-1105, name: CONTOSO\CM01$, resolved: true, class: computer}]
        events:
          description: DistributedCOM 10036 events (DCOM hardening rejected a caller) in the event window.
          returned: always
          type: dict
          sample:
            dcom_10036: {count: 0, count_capped: false, recent: []}
        smsdpprov_log:
          description: Error records of C(<drive>:\SMS_DP$\sms\logs\smsdpprov.log) (and C(.lo_)), filtered and bounded on the host.
          returned: always
          type: dict
          sample:
            found: true
            error_count: 1
            truncated: false
            files: [{path: D:\SMS_DP$\sms\logs\smsdpprov.log, name: smsdpprov.log, exists: true, size_bytes: 391, encoding: utf-8,
                     partial: false, records_scanned: 2, records_matched: 1, records_returned: 1, truncated: false}]
            lines: [{log: smsdpprov.log, path: D:\SMS_DP$\sms\logs\smsdpprov.log, line_number: 2,
                     text: '<![LOG[CFileLibrary::AddFile failed; 0x80070070]LOG]!><time="11:48:19.074-540" date="11-21-2026" ...>'}]
        probe_identity:
          description:
            - Who ran the execution. C(trusted) is true only as SYSTEM, which is how the checklist runs the local
              C(root\SCCMDP) test (C(PsExec -s)); null values when the identity could not be read.
          returned: always
          type: dict
          sample: {user: NT AUTHORITY\SYSTEM, sid: S-1-5-18, as_system: true, trusted: true}
        pull_dp:
          description:
            - Null unless O(source_dps) was given. C(source_dps) in the order given (C(order) 1 = best rank), each as
              the pull DP sees it; C(reachable) is true with a resolved name and TCP 80 or 443 open, false when the name
              does not resolve or both ports are refused or time out, null when the probe did not finish.
            - C(logs) are the error and warning records of C(PullDP.log) and C(DataTransferService.log) in the client
              log folder (C(%windir%\CCM\Logs)) or C(<drive>:\SMS_CCM\Logs), filtered and bounded on the host.
          returned: always
          type: dict
          sample:
            probed: true
            source_dps:
              - {name: dp01.contoso.local, order: 1, resolved: true, addresses: [10.20.103.213], dns_error: null,
                 tcp: {"80": {open: false, error: {hresult: "0x8007274D"}}, "443": {open: false, error: {hresult: "0x8007274D"}}},
                 reachable: false, timed_out: false, error: null}
            logs: {found: true, error_count: 1, truncated: false, files: [], lines: []}
        errors:
          description: Readings that failed, with the Windows error code; empty when everything was read.
          returned: always
          type: list
          elements: dict
          sample: [{step: wmi_security, op: wmi.read_namespace_security, hresult: "0x80041003", message: Access denied}]
"""
