#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_sccm_site_facts
short_description: Gather the ConfigMgr primary site server's view of its distribution points
version_added: 0.1.0
description:
  - Runs on the primary site server and returns C(ansible_facts.sccm_site), in ONE module execution for any number
    of distribution points (DPs).
  - Site code, install and log folders; the site content library location and its free space; the free space of
    the OS drive and of TEMP; the package source shares (the given ones, else those of the site's packages read from
    the SMS Provider) and whether they can be read; DCOM and the RPC services of the site server; its build and
    updates; DistributedCOM 10037/10038 events.
  - For every DP in O(distribution_points), probed in parallel (a runspace pool, O(max_parallel) at a time), each
    within O(probe_timeout) seconds - DNS forward and reverse lookup (IPv4 and IPv6); TCP 135, 445, 80 and 443; a
    query of the RPC endpoint mapper (as C(portqry -e 135) does) and a connection to a sample of the dynamic RPC ports
    it lists; a connection to
    C(\\DP\root\SCCMDP) over DCOM (System.Management, like ConfigMgr, not WinRM - C(Get-CimInstance -ComputerName)
    uses WinRM and proves nothing here); the DP clock (Win32_UTCTime over DCOM, else one NTP sample); and the site
    system installation account when the SMS Provider can be read, else C(unknown).
  - Excerpts of C(distmgr.log), C(PkgXferMgr.log), C(PatchDownloader.log) and their C(.lo_) files, filtered ON THE
    HOST to errors, warnings and lines naming a requested DP, bounded by lines, characters and a time window; never
    the whole log (a WinRM file transfer costs about 25 s per MB).
  - The content distribution state per DP from the SMS Provider (C(root\SMS\site_<code>)) - counts from
    C(SMS_DPStatusInfo) and, for content that is not installed, C(SMS_PackageStatusDistPointsSummarizer) (state, source
    version) with the last status message of C(SMS_DistributionDPStatus) (ID, time, insertion strings). Installed
    content is counted, not listed.
  - Read-only; runs the same in check mode. A reading that fails does not stop the others; it is listed in
    RV(ansible_facts.sccm_site.errors).
  - This is an action plugin; the work on the host is done by the internal module
    M(mecm.fieldkit.sccm_op_runner_site) in a single execution.
options:
  distribution_points:
    description:
      - Names of the DPs to probe, as ConfigMgr knows them (FQDN).
      - A name that is not a DNS host name is not probed and does not stop the others - it gets its own entry in
        RV(ansible_facts.sccm_site.dps) with every stage C(failed) and C(error) (C(0x80070057)) naming the value and
        what is allowed, plus a warning. A name listed more than once (case and a trailing dot aside) is probed once,
        under its first spelling, with a warning.
    type: list
    elements: str
    default: []
  source_shares:
    description:
      - Package source shares (UNC paths) whose sharing, free space and access to check.
      - When empty and O(discover_source_shares) is true, the shares are read from the site itself.
    type: list
    elements: str
    default: []
  discover_source_shares:
    description:
      - When O(source_shares) is empty, read the package source paths of the site from the SMS Provider
        (C(root\SMS\site_<code>), C(SMS_Package.PkgSourcePath), at most 2000 packages), reduce them to their
        distinct C(\\server\share) roots (at most 10, most used first) and test those, in the same module execution.
      - Package sources that are not UNC paths are only counted. When the SMS Provider cannot be read, the source
        share parts of the checklist are UNKNOWN with the provider's error.
    type: bool
    default: true
  tcp_ports:
    description: TCP ports tested on every DP. 135 and 445 are what the site server needs; 80 and 443 serve clients.
    type: list
    elements: int
    default: [135, 445, 80, 443]
  probe_timeout:
    description: Seconds allowed for all the probes of one DP; a DP still running after it is reported as timed out.
    type: int
    default: 30
  connect_timeout_ms:
    description: Timeout of one TCP connection or DNS lookup, in milliseconds.
    type: int
    default: 3000
  max_parallel:
    description: DPs probed at the same time.
    type: int
    default: 16
  site_logs:
    description:
      - Log files in the site log folder (C(<Installation Directory>\Logs)) to excerpt; C(.lo_) files are added.
      - Only ConfigMgr log file names - letters, digits, C(_), C(-) and C(.), ending in C(.log) or C(.lo_), no folder
        (V(\\A[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\\.(?:log|lo_\)\\z), case-insensitive). Anything else (C(SAM), C(..),
        a path) is refused before the module runs, and the host refuses it again.
    type: list
    elements: str
    default: [distmgr.log, PkgXferMgr.log, PatchDownloader.log]
  log_paths:
    description:
      - More log files in the client log folder of the site server, written C(%windir%\CCM\Logs\<name>) (or
        C(%SystemRoot%\CCM\Logs\<name>)), the name as in O(site_logs). The default is where automatic deployment
        rules write C(PatchDownloader.log) when the ConfigMgr client is installed on the site server.
      - No other folder is read, and no UNC path - the module runs as SYSTEM. The host resolves the folder itself
        and checks the name again.
    type: list
    elements: str
    default: ['%windir%\CCM\Logs\PatchDownloader.log']
  log_window_hours:
    description: Log records older than this many hours are not returned.
    type: int
    default: 72
  log_max_lines:
    description: Per log file, at most this many records are returned (the newest).
    type: int
    default: 200
  log_max_bytes:
    description: Per log file, at most this many characters are returned (the newest records).
    type: int
    default: 65536
  event_window_hours:
    description: DistributedCOM events older than this many hours are not counted.
    type: int
    default: 168
  max_events:
    description: Newest events returned.
    type: int
    default: 10
  gather_hotfixes:
    description: List installed updates of the site server.
    type: bool
    default: true
  max_stuck_packages:
    description:
      - Per DP, content that is not installed listed at most (the rest is counted), read from the SMS Provider in the
        same module execution (RV(ansible_facts.sccm_site.distribution)). C(0) counts only.
      - The SMS Provider queries share a deadline of 60 seconds and read at most 20000 rows per class; what is not read
        then is flagged (C(timed_out), C(rows_truncated)) and warned about, never reported as installed.
    type: int
    default: 50
notes:
  - B(Run it as SYSTEM) (C(become=true), C(become_method=runas), C(become_user=SYSTEM)), as the checklist does
    with PsExec. SYSTEM uses the site server's computer account on the network, which is the account ConfigMgr uses
    by default, and avoids the WinRM double hop. Run as the WinRM user, remote WMI and share tests use that account
    without credentials for the second hop; C(ansible_facts.sccm_site.probe_identity.trusted) is then false, the
    module warns, and M(mecm.fieldkit.sccm_dp_diagnose) marks the remote tests as wrong identity (UNKNOWN).
  - Needs local administrator rights on the site server and read access to the SMS Provider for the installation
    accounts, the content distribution state and, when O(source_shares) is empty, the package source paths.
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
  - module: mecm.fieldkit.win_sccm_dp_facts
  - module: mecm.fieldkit.sccm_dp_diagnose
author:
  - mecm.fieldkit contributors (@mecm-fieldkit)
"""

EXAMPLES = r"""
- name: Probe the DPs of the play from the primary site server, as SYSTEM (one module execution)
  mecm.fieldkit.win_sccm_site_facts:
    distribution_points: "{{ ansible_play_hosts }}"
    source_shares:
      - \\cm01.contoso.local\Sources
  delegate_to: cm01.contoso.local
  delegate_facts: true
  run_once: true
  become: true
  become_method: ansible.builtin.runas
  become_user: SYSTEM

- name: Probe two DPs with a shorter time budget
  mecm.fieldkit.win_sccm_site_facts:
    distribution_points: [dp01.contoso.local, dp02.contoso.local]
    probe_timeout: 10
  become: true
  become_method: ansible.builtin.runas
  become_user: SYSTEM
"""

RETURN = r"""
ansible_facts:
  description: Facts about the site server and its view of the DPs.
  returned: success
  type: complex
  contains:
    sccm_site:
      description: The primary site server and its probes of the DPs. A fact that could not be read is null.
      returned: success
      type: complex
      contains:
        collected_at:
          description: When the facts were read (controller clock, ISO 8601 UTC).
          returned: always
          type: str
          sample: "2026-11-21T12:29:19.014Z"
        computer_name:
          description: NetBIOS name of the site server.
          returned: always
          type: str
          sample: CM01
        fqdn:
          description: FQDN of the site server.
          returned: always
          type: str
          sample: cm01.contoso.local
        site_code:
          description: Site code (C(HKLM\SOFTWARE\Microsoft\SMS\Identification)).
          returned: always
          type: str
          sample: PS1
        install_dir:
          description: ConfigMgr installation folder.
          returned: always
          type: str
          sample: C:\Program Files\Microsoft Configuration Manager
        log_dir:
          description: Site log folder.
          returned: always
          type: str
          sample: C:\Program Files\Microsoft Configuration Manager\Logs
        probe_identity:
          description:
            - Who ran the probe. C(trusted) is true when it ran as SYSTEM, so remote tests used the site server's
              computer account (C(network_identity)).
          returned: always
          type: dict
          sample: {user: NT AUTHORITY\SYSTEM, sid: S-1-5-18, as_system: true, network_identity: CONTOSO\CM01$, trusted: true}
        computer_account:
          description:
            - The site server's computer account, its SID and the SIDs of its domain groups (AD tokenGroups).
            - A group whose name is not translated within 5 s (or orphaned) has name null and C(resolved) false.
          returned: always
          type: dict
          sample:
            name: CONTOSO\CM01$
            sid: S-1-5-21-2718281828-3141592653-1414213562-1105
            domain: CONTOSO
            groups: [{sid: S-1-5-21-2718281828-3141592653-1414213562-515, name: CONTOSO\Domain Computers, resolved: true}]
            groups_error: null
        os:
          description: Windows product, build, UBR and updates of the site server (the same keys as the C(os) fact of M(mecm.fieldkit.win_sccm_dp_facts)).
          returned: always
          type: dict
          sample: {product_name: Windows Server 2022 Datacenter, build: 20348, ubr: 2849, version: "20348.2849", hotfixes_collected: true}
        dcom:
          description: C(EnableDCOM) and the DCOM hardening values of the site server.
          returned: always
          type: dict
          sample: {enable_dcom: "Y", enabled: true, enable_dcom_default: false, require_integrity_activation_authentication_level: null,
                   raise_activation_authentication_level: null}
        services:
          description: RPC, WMI, SMB, time and C(SMS_EXECUTIVE) services of the site server.
          returned: always
          type: dict
          sample: {RpcSs: {exists: true, state: running, start_mode: auto}, SMS_EXECUTIVE: {exists: true, state: running, start_mode: auto}}
        time:
          description: The site server clock and W32Time state, with its offset to the controller clock.
          returned: always
          type: dict
          sample: {utc_now: "2026-11-21T12:29:19.014Z", timezone_id: Tokyo Standard Time, bias_minutes: -540, source: dc01.contoso.local,
                   controller_offset_seconds: 0.152, controller_offset_uncertainty_seconds: 0.08}
        disks:
          description: Fixed drives of the site server.
          returned: always
          type: list
          elements: dict
          sample: [{drive: "E:", size_bytes: 2199023255552, free_bytes: 1299227607040, free_percent: 59.08, file_system: NTFS, no_sms_on_drive: false}]
        os_drive:
          description: Free space of the system drive.
          returned: always
          type: dict
          sample: {path: "C:\\", drive: "C:", size_bytes: 136365211648, free_bytes: 62277025792, free_percent: 45.67}
        temp:
          description: Free space of the drive of TEMP of the identity that ran the module (C:\Windows\TEMP as SYSTEM).
          returned: always
          type: dict
          sample: {path: C:\Windows\TEMP\, drive: "C:", size_bytes: 136365211648, free_bytes: 62277025792, free_percent: 45.67}
        content_library:
          description: The site server's content library (path of the C(SCCMContentLib$) share), its free space and NTFS ACL.
          returned: always
          type: dict
          sample:
            share_present: true
            path: E:\SCCMContentLib
            space: {path: E:\SCCMContentLib, drive: "E:", size_bytes: 2199023255552, free_bytes: 1299227607040, free_percent: 59.08}
            acl: [{path: E:\SCCMContentLib, exists: true, owner_sid: S-1-5-32-544, entries: []}]
        source_shares:
          description:
            - The source shares as seen by the identity that ran the module - the given ones, else those of the site's
              packages (with C(packages), the number of packages whose source is under the share).
            - Null when none were given and none could be read from the SMS Provider (see RV(ansible_facts.sccm_site.package_sources)).
          returned: always
          type: list
          elements: dict
          sample: [{path: \\cm01.contoso.local\Sources, exists: true, readable: true, free_bytes: 1299227607040, total_bytes: 2199023255552,
                    free_percent: 59.08, error: null, elapsed_ms: 3, packages: 3}]
        source_shares_origin:
          description: Where RV(ansible_facts.sccm_site.source_shares) come from - C(option), C(sms_provider), or null.
          returned: always
          type: str
          sample: sms_provider
        package_sources:
          description:
            - The package source shares read from the SMS Provider (O(discover_source_shares)); null when
              O(source_shares) was given or the discovery is off.
            - C(local_paths) counts package sources that are not UNC paths; C(packages_truncated) and
              C(shares_truncated) tell that a bound was reached.
          returned: always
          type: dict
          sample: {available: true, namespace: root\SMS\site_PS1, packages_read: 5, packages_truncated: false, local_paths: 1,
                   shares: [{path: \\cm01.contoso.local\Sources, packages: 3}], shares_truncated: false, error: null}
        sms_provider:
          description:
            - Whether the SMS Provider could be read (for the site system installation accounts and the DPs' roles).
            - C(distribution_points) is the number of DPs read from C(SMS_DistributionPointInfo) (null when they could
              not be read, C(dp_info_error) then says why), C(distribution_points_truncated) that the bound was reached.
          returned: always
          type: dict
          sample: {available: true, machine: cm01.contoso.local, namespace: root\SMS\site_PS1, site_code: PS1, site_systems: 14,
                   distribution_points: 16, distribution_points_truncated: false, dp_info_error: null, error: null}
        dps:
          description:
            - One entry per requested DP, keyed by its name. C(tcp) is keyed by port (C(open) null = not measured).
              C(wmi.identity) is the account the DP saw. C(clock.offset_seconds) is the DP clock minus the site server
              clock (method C(wmi) or C(ntp)). C(installation_account.value) is C(computer_account), an account name,
              or C(unknown).
            - C(dns.addresses) lists IPv4 then IPv6 addresses; the TCP probes use the first one.
            - "C(stages) gives the state of each probe stage (dns, tcp, epm, wmi, clock): C(done), C(skipped),
              C(timed_out), C(failed) or C(not_requested). A DP still running after O(probe_timeout) has C(timed_out)
              true and keeps the stages it finished; only the unfinished ones are stubs with error C(0x800705B4)."
            - "Without TCP 135 there is no RPC: C(epm) and C(wmi) are not attempted (C(skipped) true, C(skip_reason)
              C(tcp_135_closed), C(error) the reason 135 is closed) and the clock is read over NTP. C(skip_reason)
              C(dns_unresolved) when the name did not resolve."
            - "A name of O(distribution_points) that is not a host name has an entry too, not probed - every stage
              C(failed), C(error.hresult) C(0x80070057) and C(error.message) naming the value and what is allowed."
            - "C(epm.endpoints) lists at most 20 TCP elements of the endpoint map (interface C(uuid), C(port),
              C(annotation)), in the mapper's order, which is no order. C(epm.sample_ports) are at most 3 distinct
              dynamic ports of that map, each tried with TCP, and C(epm.dynamic_port_open) whether any answered.
              They are services registered with the endpoint mapper, a sample that shows whether the dynamic RPC
              range gets through the firewalls; they are NOT the port of the WMI/DCOM server (DCOM hands that out
              per activation and the map does not list it). Only C(wmi) proves the WMI/DCOM path."
            - "C(site_role) is the DP's role as the site knows it: C(known_to_site), C(pull_dp), C(pxe), C(source_dps)
              (a pull DP's source DPs in rank order, each C(name), C(rank), C(nal_path)) and C(source)
              (C(sms_provider), or null when the site could not be asked or does not know the DP)."
          returned: always
          type: dict
          sample:
            dp01.contoso.local:
              target: dp01.contoso.local
              timed_out: false
              elapsed_ms: 40
              stages: {dns: done, tcp: done, epm: done, wmi: done, clock: done}
              dns: {resolved: true, addresses: [10.20.103.213], reverse: [dp01.contoso.local], error: null}
              tcp: {"135": {open: true, error: null}, "445": {open: true, error: null}, "80": {open: true, error: null},
                    "443": {open: false, error: {code: 2147952461, hresult: "0x8007274D", message: actively refused, target: "443"}}}
              epm:
                reachable: true
                endpoint_count: 14
                endpoints: [{uuid: 367abb81-9844-35f1-ad32-98f038001003, port: 49668, annotation: ""},
                            {uuid: f6beaff7-1e19-4fbb-9f8f-b89e2018337c, port: 49665, annotation: Event log TCPIP}]
                sample_ports: [{port: 49668, uuid: 367abb81-9844-35f1-ad32-98f038001003, open: true, error: null},
                               {port: 49665, uuid: f6beaff7-1e19-4fbb-9f8f-b89e2018337c, open: true, error: null}]
                dynamic_port_open: true
                skipped: false
                skip_reason: null
                error: null
              wmi: {namespace: root\SCCMDP, identity: CONTOSO\CM01$, connected: true, class_present: true, skipped: false,
                    skip_reason: null, error: null}
              clock: {offset_seconds: 0.3, method: wmi, remote_utc: "2026-11-21T12:29:19Z", skipped: false, skip_reason: null,
                      error: null}
              installation_account: {value: computer_account, use_machine_account: true, user_name: null, known_to_site: true}
              error: null
        distribution:
          description:
            - The content distribution state per requested DP, read from the SMS Provider; null when no DP was requested
              or the reading failed (see RV(ansible_facts.sccm_site.errors)).
            - "C(dps) is keyed by DP name. C(found) false: the site reported nothing for that DP (counts null). C(total),
              C(installed), C(in_progress), C(errors), C(unknown) are the counts of C(SMS_DPStatusInfo). C(packages) lists
              at most O(max_stuck_packages) items that are not installed - C(state) is the C(State) of
              C(SMS_PackageStatusDistPointsSummarizer) (0 installed, 1 install pending, 2 install retrying, 3 install
              failed, 4 removal pending, 5 removal retrying, 6 removal failed, 7 content updating, 8 content monitoring)
              with C(state_name); C(message_id), C(message_time) and C(insertion_strings) are the last status message the
              DP reported for it (C(SMS_DistributionDPStatus))."
            - C(available) false with C(error) when the SMS Provider could not be read; C(timed_out) and
              C(rows_truncated) tell that the deadline or the row bound cut the reading short.
          returned: always
          type: dict
          sample:
            available: true
            namespace: root\SMS\site_PS1
            max_packages: 50
            rows_read: 29
            rows_truncated: false
            timed_out: false
            elapsed_ms: 412
            error: null
            dps:
              dp14.contoso.local:
                found: true
                total: 13
                installed: 4
                in_progress: 2
                errors: 7
                unknown: 0
                packages_truncated: false
                packages:
                  - {package_id: PS100020, name: Contoso LOB 2.1, state: 3, state_name: install_failed, source_version: 1,
                     summary_time: "2026-12-01T23:58:32Z", message_id: 2306, message_state: 4, message_severity: 3221225472,
                     message_time: "2026-12-01T23:58:32Z", insertion_strings: ['\\cm01.contoso.local\Sources\Apps\LOB', PS100020, ""]}
        probe_elapsed_ms:
          description: Milliseconds the parallel probe of all DPs took on the site server.
          returned: always
          type: int
          sample: 2150
        events:
          description: DistributedCOM 10037 and 10038 events of the site server (application below the required DCOM level).
          returned: always
          type: dict
          sample: {dcom_10037: {count: 0, count_capped: false, recent: []}, dcom_10038: {count: 0, count_capped: false, recent: []}}
        logs:
          description:
            - Host-filtered, bounded excerpts of the site logs. C(lines) are raw records (multi-line ones joined with
              a newline) with their first line number; C(files) tells per file its encoding and what was cut.
          returned: always
          type: dict
          sample:
            log_dir: C:\Program Files\Microsoft Configuration Manager\Logs
            since_utc: "2026-11-18T12:29:18Z"
            truncated: false
            files: [{path: C:\Program Files\Microsoft Configuration Manager\Logs\PkgXferMgr.log, name: PkgXferMgr.log, exists: true,
                     size_bytes: 9020, encoding: utf-16le, partial: false, records_scanned: 28, records_matched: 14, records_returned: 14,
                     truncated: false}]
            lines: [{log: distmgr.log, path: C:\Program Files\Microsoft Configuration Manager\Logs\distmgr.log, line_number: 8,
                     text: 'DPConnection::ConnectWMIEx() - Failed to connect to  dp04.contoso.local. error = 0x800706ba  $$<...>'}]
        errors:
          description: Readings that failed, with the Windows error code.
          returned: always
          type: list
          elements: dict
          sample: []
"""
