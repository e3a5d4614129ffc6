#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_sccm_client_facts
short_description: Gather the state of the ConfigMgr (MECM/SCCM) client on a Windows host
version_added: 0.1.0
description:
  - Reads, in one module execution per host, everything the client image-prep procedure checks and
    changes, and returns it as C(ansible_facts.sccm_client).
  - Covers the client version, the client identity (SMS Unique Identifier in C(%windir%\SMSCFG.ini)
    and C(root\ccm:CCM_Client)), the assigned site (C(Microsoft.SMS.Client) COM
    method C(GetAssignedSite) and the registry), auto-assignment, the current management point, the
    C(CcmExec) service state and start mode (including delayed start), the
    C(Configuration Manager Health Evaluation) scheduled task, the certificates in
    C(LocalMachine\SMS), C(TrustedRootKey) instances, provisioning mode, a running ccmsetup, a
    running task sequence, and whether the host is a site server or another site system.
  - Read-only; runs the same in check mode.
  - This is an action plugin; the work on the host is done by the internal module
    M(mecm.fieldkit.sccm_op_runner) in a single execution.
options: {}
notes:
  - Needs local administrator rights on the host (WMI C(root\ccm) and the COM object).
  - Names are read by service name, registry value and WMI class, never by display names, so the
    module behaves the same on Japanese and English Windows.
  - Facts are computed from the raw readings on the controller; C(ansible_facts.sccm_client.identity.consistent)
    tells whether C(SMSCFG.ini) and WMI agree.
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
  - module: mecm.fieldkit.sccm_op_runner
author:
  - mecm.fieldkit contributors (@mecm-fieldkit)
"""

EXAMPLES = r"""
- name: Gather ConfigMgr client facts
  mecm.fieldkit.win_sccm_client_facts:

- name: Refuse to continue on a site server
  ansible.builtin.assert:
    that: not ansible_facts.sccm_client.site_system.is_site_server
    fail_msg: "{{ inventory_hostname }} is a ConfigMgr site server; image prep must never run there"

- name: Show the SMS Unique Identifier of every reference VM
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }}: {{ ansible_facts.sccm_client.identity.sms_unique_id | default('none', true) }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts about the ConfigMgr client.
  returned: success
  type: complex
  contains:
    sccm_client:
      description: State of the ConfigMgr client on the host.
      returned: success
      type: complex
      contains:
        installed:
          description: Whether the client is installed (service C(CcmExec) and key C(HKLM\SOFTWARE\Microsoft\CCM)).
          returned: always
          type: bool
          sample: true
        version:
          description: Client version from C(root\ccm:SMS_Client.ClientVersion), else the registry.
          returned: always
          type: str
          sample: 5.00.9132.1011
        version_source:
          description: Where the version came from, C(wmi) or C(registry); null when unknown.
          returned: always
          type: str
          sample: wmi
        install_path:
          description: Client folder (C(Local SMS Path)).
          returned: always
          type: str
          sample: C:\Windows\CCM\
        components:
          description: Installed client components from C(root\ccm:CCM_InstalledComponent).
          returned: always
          type: list
          elements: dict
          sample: [{name: SmsClient, display_name: SMS Client, version: 5.00.9132.1011}]
        identity:
          description: The client identity that clones must not share.
          returned: always
          type: dict
          sample:
            sms_unique_id: GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B
            previous_sms_unique_id: GUID:00000000-0000-0000-0000-000000000000
            smscfg_path: C:\Windows\SMSCFG.ini
            smscfg_present: true
            smscfg_unique_id: GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B
            smscfg_certificate_identifier: SMS;5A0C1F3E9B7D2A4C6E8F0A1B3C5D7E9F1A2B3C4D
            wmi_client_id: GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B
            wmi_previous_client_id: GUID:00000000-0000-0000-0000-000000000000
            client_id_change_date: 11/02/2026 09:14:03
            consistent: true
        wmi_errors:
          description:
            - WMI reads of C(root\ccm) that failed (access denied, provider failure, timeout). The facts that
              depend on them are null rather than the whole task failing; an empty list when every read worked.
          returned: always
          type: list
          elements: dict
          sample: [{namespace: root\ccm, class_name: CCM_Client, code: 2147749891, hresult: "0x80041003", message: Access denied}]
        site_assignment:
          description:
            - Site assignment. C(assigned_site) is the COM answer when the COM object exists, else the registry
              value; null when unassigned.
            - When the COM method C(GetAssignedSite) fails, C(com_error) holds its code and C(com_assigned_site) is null unless
              the failure can only mean "unassigned" (no site in the registry, and neither a WMI nor a Win32
              error); C(assigned_site) then falls back to the registry value.
          returned: always
          type: dict
          sample:
            assigned_site: PS1
            com_available: true
            com_assigned_site: PS1
            com_error: null
            registry_assigned_site: PS1
            auto_assignment: false
            current_management_point: CM01.contoso.local
            gp_site_assignment: {}
            dns_suffix: null
        service:
          description: The C(CcmExec) (SMS Agent Host) service.
          returned: always
          type: dict
          sample: {name: CcmExec, exists: true, state: running, start_mode: delayed_auto, delayed_start: true, process_id: 4242}
        health_evaluation_task:
          description: The C(\Microsoft\Configuration Manager\Configuration Manager Health Evaluation) scheduled task.
          returned: always
          type: dict
          sample: {path: \Microsoft\Configuration Manager\Configuration Manager Health Evaluation, exists: true, enabled: true, state: ready}
        sms_certificates:
          description: Certificates in C(LocalMachine\SMS); never private keys.
          returned: always
          type: dict
          sample:
            store_exists: true
            certificates:
              - thumbprint: 5A0C1F3E9B7D2A4C6E8F0A1B3C5D7E9F1A2B3C4D
                subject: CN=SMS, CN=REF-W10-01
                issuer: CN=SMS, CN=REF-W10-01
                not_after: "2046-11-02T00:14:03Z"
                has_private_key: true
                enhanced_key_usages: [1.3.6.1.4.1.311.101]
                template: null
        trusted_root_key:
          description: C(TrustedRootKey) instances in C(root\ccm\locationservices); C(count) is null when the namespace is absent.
          returned: always
          type: dict
          sample: {namespace: root\ccm\locationservices, namespace_present: true, count: 1, status: 1 instance(s)}
        provisioning_mode:
          description: Provisioning mode from C(HKLM\SOFTWARE\Microsoft\CCM\CcmExec), and whether C(root\ccm:SMS_Client) answers.
          returned: always
          type: dict
          sample: {enabled: false, registry_value: "false", enabled_time: null, max_minutes: 2880, wmi_sms_client_available: true}
        ccmsetup:
          description: Whether ccmsetup is still running (process or service).
          returned: always
          type: dict
          sample: {running: false, processes: [], service_state: null}
        task_sequence:
          description: Whether a ConfigMgr task sequence is running, with the evidence.
          returned: always
          type: dict
          sample: {running: false, evidence: []}
        site_system:
          description: Whether the host is a ConfigMgr site server or another site system, with the evidence.
          returned: always
          type: dict
          sample: {is_site_server: false, is_site_system: false, site_code: null, roles: [], evidence: []}
        imaging_platform:
          description:
            - The imaging platform the host shows, read by registry key and value names and service names, never
              display names (one more read-only op in the same module execution).
            - C(citrix_vda) - key C(HKLM\SOFTWARE\Citrix\VirtualDesktopAgent) or the uninstall entry
              C(Citrix Virtual Desktop Agent); C(version) is its C(DisplayVersion), C(release) the YYMM release
              (null for 7.x numbers, which are not mapped). C(mcs_configmgr_step) is true from VDA 2311, whose MCS
              image preparation has its own ConfigMgr step (Citrix CTX678084, FixSCCM), false before, null when the
              version is unknown. C(mcs_configmgr_cleanup) - whether that step does the whole ConfigMgr cleanup - is
              always null - not confirmed from Citrix documentation; see C(note).
            - C(bisf) - BIS-F, key C(HKLM\SOFTWARE\Login Consultants\BISF) with C(Version) and C(Path), and whether
              the install folder exists.
            - C(horizon) - VMware Horizon agent (C(HKLM\SOFTWARE\VMware, Inc.\VMware VDM\Agent), version from
              C(ProductVersion)) or Omnissa (C(HKLM\SOFTWARE\Omnissa\Agent)).
            - C(avd) - Azure Virtual Desktop, services C(RDAgent), C(RDAgentBootLoader) and key
              C(HKLM\SOFTWARE\Microsoft\RDInfraAgent).
            - C(detected) lists the platforms found; C(handles_steps) the image-prep steps that
              M(mecm.fieldkit.win_sccm_client_generalize) with O(mecm.fieldkit.win_sccm_client_generalize#module:platform_handles=auto)
              leaves to the platform.
          returned: always
          type: dict
          sample:
            detected: [citrix_vda]
            handles_steps: [remove_sms_certificates, remove_smscfg]
            citrix_vda:
              installed: true
              version: 2311.0.0.29
              release: 2311
              version_source: uninstall_entry
              mcs_configmgr_step: true
              mcs_configmgr_cleanup: null
              note: "VDA 2311 and later: Citrix MCS image preparation has its own ConfigMgr step (FixSCCM, Citrix CTX678084) ..."
              evidence: ["key HKLM\\SOFTWARE\\Citrix\\VirtualDesktopAgent exists", "service BrokerAgent exists"]
            bisf: {installed: false, version: null, path: null, path_exists: null, note: null, evidence: []}
            horizon: {installed: false, vendor: null, version: null, evidence: []}
            avd: {installed: false, agent_service: false, boot_loader_service: false, evidence: []}
"""
