#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_sccm_client_generalize
short_description: Remove the ConfigMgr (MECM/SCCM) client identity from a reference machine before image capture
version_added: 0.1.0
description:
  - Runs the Microsoft Japan ConfigMgr support team's image-prep procedure (new capture and recapture of
    a master image with the client installed) so that machines cloned from the image never share a
    client identity.
  - The whole procedure, verification included, is B(one module execution) per host (plus a small second
    one that removes the host record of what was removed, see the notes). Each step is named,
    reported, idempotent and can be switched off with O(steps), because Citrix MCS and other image tools
    do some of them already; a step that is already done reports C(ok).
  - "Steps, in execution order: C(leave_provisioning_mode) (optional), C(disable_health_task),
    C(stop_service), C(remove_trusted_root_key), C(reset_site_assignment), C(reset_hardware_inventory)
    (optional), C(clear_gp_site_assignment) (optional), C(remove_sms_certificates),
    C(remove_pki_certificates), C(remove_smscfg), C(empty_ccmcache) (optional), C(final_start_mode)."
  - Before any change, guards refuse to run on a site server or site system, while ccmsetup runs,
    while a task sequence runs, when the client is not installed, and when the client is in
    provisioning mode (the only guard with an override).
  - The C(Configuration Manager Health Evaluation) task, which restarts CcmExec, is disabled for the
    duration and re-enabled at the end even when a later step fails. A task that was already disabled
    before the run is enabled at the end too, and reported (O(health_task_final_state)).
  - Before the first removal the batch records on the host what it is about to remove (SMS Unique
    Identifier and the previous one, certificate thumbprints, site, management point, TrustedRootKey count,
    time) under C(HKLM\SOFTWARE\mecm.fieldkit\ImagePrep). If the answer of the batch is lost (connection
    dropped, the task keyword C(timeout) reached), the host is reported
    unreachable, and the next run reports that record as what the lost run removed
    (RV(removed_identity.recovered_from_host_record=true)). Once an answer with the record's content has
    arrived, a second module execution removes the record, so the captured image carries no identity-bearing
    leftover; RV(client_state.ready_for_capture) is false while the record exists.
  - CcmExec is left stopped with start mode Automatic (Delayed Start); it is never started.
  - This is an action plugin; the work on the host is done by the internal module
    M(mecm.fieldkit.sccm_op_runner).
options:
  scenario:
    description:
      - Which scenario of the seed procedure sets the default steps.
      - C(recapture) (scenario B, a machine whose client has talked to a site) stops the service, disables
        the health task for the duration, removes the trusted root key, clears the site assignment
        through C(Microsoft.SMS.Client), removes the SMS certificates and C(SMSCFG.ini), and sets the final
        start mode.
      - C(new) (scenario A, a client installed unassigned without network, see
        M(mecm.fieldkit.win_sccm_client_install)) does the same without C(reset_site_assignment).
        C(remove_smscfg) is part of it although the seed's scenario A has no such step, because ccmsetup writes
        C(SMSCFG.ini) with an SMS Unique Identifier even when the client never reached a site, and Microsoft's
        own procedure (Prepare the client computer for imaging) always deletes it. Switch it off with
        O(steps.remove_smscfg=false) only if another tool deletes the file; the machine is then not ready for
        capture while the file is there.
      - Running C(recapture) on a new-capture machine is safe; the extra steps report C(ok) or remove
        what is there.
    type: str
    choices: [recapture, new]
    default: recapture
  steps:
    description:
      - Switch single steps on (V(true)) or off (V(false)); steps not named follow O(scenario).
      - C(remove_pki_certificates) is on exactly when O(pki_certificate_filter) is given.
    type: dict
    default: {}
    suboptions:
      leave_provisioning_mode:
        description: Leave provisioning mode through C(root\ccm:SMS_Client.SetClientProvisioningMode) before anything else. Off by default.
        type: bool
      disable_health_task:
        description: Disable C(\Microsoft\Configuration Manager\Configuration Manager Health Evaluation) for the duration (seed A-2.3, B-1.3).
        type: bool
      stop_service:
        description: Stop C(CcmExec) with a timeout, end its process if it hangs, start mode Manual (seed A-2, B-1).
        type: bool
      remove_trusted_root_key:
        description: Remove every C(TrustedRootKey) instance in C(root\ccm\locationservices); an absent namespace means nothing to do (seed A-4, B-2).
        type: bool
      reset_site_assignment:
        description: The COM methods C(RemoveAssignedSites) and C(EnableAutoAssignment) (with C($true)) of C(Microsoft.SMS.Client) (seed B-2).
        type: bool
      reset_hardware_inventory:
        description: Delete the hardware-inventory C(InventoryActionStatus) so clones send a full inventory. Off by default.
        type: bool
      clear_gp_site_assignment:
        description: Delete the Group Policy site-assignment values under C(HKLM\SOFTWARE\Microsoft\SMS\Mobile Client). Off by default.
        type: bool
      remove_sms_certificates:
        description: Empty C(LocalMachine\SMS), the client's two self-signed certificates (seed A-3, B-3).
        type: bool
      remove_pki_certificates:
        description: Remove the client-authentication certificates that match O(pki_certificate_filter) (seed A-3, B-3, HTTPS sites).
        type: bool
      remove_smscfg:
        description:
          - Delete C(%windir%\SMSCFG.ini) after recording its SMS Unique Identifier (seed B-4; in scenario
            C(new) from Microsoft Learn, Prepare the client computer for imaging). On by default in both scenarios.
        type: bool
      empty_ccmcache:
        description: Empty O(ccmcache_path) and the cache index C(root\ccm\SoftMgmtAgent:CacheInfoEx). Off by default.
        type: bool
      final_start_mode:
        description: Leave C(CcmExec) stopped with start mode Automatic (Delayed Start); never start it (seed A-5, B-5).
        type: bool
  pki_certificate_filter:
    description:
      - Which client-authentication certificates (EKU 1.3.6.1.5.5.7.3.2) to remove; a certificate is removed
        when it matches every criterion given. At least one of O(pki_certificate_filter.thumbprints),
        O(pki_certificate_filter.issuer), O(pki_certificate_filter.template) is required; all certificates
        of a store are never removed. No criterion is a substring match.
      - A filter without O(pki_certificate_filter.thumbprints) that selects more than one certificate (for
        example the ConfigMgr client certificate and the VPN or 802.1X certificates of the same CA) stops the
        run before anything is changed (guard C(certificate_filter), 0x80070057), unless
        O(pki_certificate_filter.allow_multiple=true).
      - The private key container of every removed certificate (CNG or CAPI) is deleted first; the step reads
        the store and the key containers again and fails when a certificate or a key is still there.
    type: dict
    suboptions:
      store_name:
        description: LocalMachine store to clean (the seed's Personal store is C(My); a custom store is allowed, C(SMS) is not).
        type: str
        default: My
      thumbprints:
        description: SHA-1 thumbprints (40 hexadecimal characters).
        type: list
        elements: str
        default: []
      issuer:
        description:
          - The issuer. With an C(=) it is the issuer's full distinguished name, for example
            C(CN=Contoso Issuing CA 01, DC=contoso, DC=local); it matches when the certificate's issuer has the
            same attributes, in any order, compared without regard to case and to runs of spaces.
          - Without an C(=) it is the issuer's common name, matched exactly (case-insensitive), for example
            C(Contoso Issuing CA 01).
          - An empty value or a malformed DN such as C(CN=) is refused.
        type: str
      template:
        description:
          - The certificate template. A dotted OID (for example C(1.3.6.1.4.1.311.21.8.1.2)) matches the template OID
            of the certificate template information extension (1.3.6.1.4.1.311.21.7); on a master that cannot
            reach the domain this is all a v2 template shows. Anything else matches the template name exactly,
            case-insensitive (the v1 template name extension 1.3.6.1.4.1.311.20.2, or the name Windows resolves for
            the v2 template OID).
          - An empty value is refused.
        type: str
      allow_multiple:
        description:
          - Let a filter without O(pki_certificate_filter.thumbprints) remove every certificate it selects. Without
            it such a filter may select one certificate at most.
        type: bool
        default: false
  service_stop_timeout:
    description: Seconds to wait for C(CcmExec) to stop before its process is ended (1 to 3600).
    type: int
    default: 60
  kill_hung_service:
    description:
      - End the C(CcmExec) process when it does not stop in time; with V(false) the step fails instead.
      - To the service control manager an ended service process is a service failure, which runs the
        service's recovery actions (for C(CcmExec) a restart). They are therefore suspended ("take no action")
        right before the process is ended, recorded under
        C(HKLM\SOFTWARE\mecm.fieldkit\Markers\ImagePrepCcmExecRecoveryActions), and restored exactly at the end of
        the batch, also after a failure (or by the next run if the connection was lost); the verification reads
        that C(CcmExec) is still stopped afterwards.
    type: bool
    default: true
  ccmcache_path:
    description: The client cache folder for C(empty_ccmcache); its own name must be C(ccmcache).
    type: str
    default: '%windir%\ccmcache'
  allow_provisioning_mode:
    description:
      - Prepare a client that is in provisioning mode as it is. Clones then process no policy until provisioning
        mode times out (48 hours by default); prefer O(steps.leave_provisioning_mode).
    type: bool
    default: false
  remove_mp_block_rules:
    description:
      - Remove the management-point block rule that M(mecm.fieldkit.win_sccm_client_install) keeps with
        O(mecm.fieldkit.win_sccm_client_install#module:keep_block_rule=true), at the end of this batch and also
        when a step fails.
      - The rule is the procedure's own temporary artifact, so removing it does not make the result changed.
    type: bool
    default: false
  health_task_final_state:
    description:
      - What the C(Configuration Manager Health Evaluation) task is at the end of the run.
      - V(enabled) leaves it enabled, also when it was already disabled before the run (not by this procedure),
        because clones of an image with the task disabled never repair their client. The step reports that it found the
        task disabled and enabled it (C(changed)).
      - V(as_found) restores only what this procedure disabled; a task disabled before the run stays disabled,
        and the step detail, the message and RV(client_state.warnings) say so.
      - Only with O(steps.disable_health_task) (on by default).
    type: str
    choices: [enabled, as_found]
    default: enabled
  platform_handles:
    description:
      - Whether to leave the steps the imaging platform performs itself to it. Running both breaks the platform's own
        step (Citrix MCS image preparation of VDA 2311 and later fails its ConfigMgr step, FixSCCM, when the cleanup
        was already done - Citrix CTX678084).
      - V(none) runs every switched-on step.
      - V(auto) reads C(ansible_facts.sccm_client.imaging_platform) (run M(mecm.fieldkit.win_sccm_client_facts) on the
        host earlier in the play; without those facts the task fails) and switches off the steps the platform performs.
        Today that is only Citrix VDA 2311 and later (C(mcs_configmgr_step) true) - C(remove_sms_certificates) and
        C(remove_smscfg); each is reported C(skipped) with the detail
        V(skipped), a colon and V(performed by Citrix MCS image preparation (VDA 2311+\)), the items they would remove are listed in
        RV(client_state.warnings) instead of RV(client_state.problems), and RV(platform_handles) says what was left.
        Every other step (service, health task, trusted root key, site assignment) still runs. BIS-F, Horizon, Azure
        Virtual Desktop and a VDA older than 2311 or of unknown version take no step over.
      - The default is V(none) - which items the Citrix step removes is not confirmed from Citrix documentation;
        check the clones after the first boot.
    type: str
    choices: [none, auto]
    default: none
  mode:
    description:
      - V(prepare) runs the procedure.
      - V(verify) checks the machine against every readiness item and changes nothing - for a reference machine
        before capture, a captured VM started once, or a CI gate. It is B(one module execution) of read-only ops
        (no step, no host record, no second execution) - CcmExec installed, stopped and its start mode, the health
        evaluation task, provisioning mode, the certificates in C(LocalMachine\SMS), the certificates matching
        O(pki_certificate_filter), C(SMSCFG.ini), C(TrustedRootKey), the site assignment (COM method C(GetAssignedSite)
        and the registry; an assignment that cannot be read is not ready), the Group Policy site-assignment values
        (with O(steps.clear_gp_site_assignment)), the host record C(HKLM\SOFTWARE\mecm.fieldkit\ImagePrep) of a
        run whose answer was lost, no ccmsetup and no task sequence running, not a site system, and no
        management-point block rule left by M(mecm.fieldkit.win_sccm_client_install).
      - The result is RV(ready_for_capture) and RV(checks), one per item, each with the step that fixes it;
        C(changed) is always false, and the task fails when the machine is not ready (O(fail_when_not_ready)).
      - Distinct from check mode of V(prepare), which predicts what a run would change; verify says whether the
        machine is ready now. Check mode of V(verify) runs the same reads and gives the same answer.
      - "Switched-off steps: the identity items (C(SMSCFG.ini), SMS and matching PKI certificates, C(TrustedRootKey),
        the site assignment, the host record) are checked whatever O(steps) says - a leftover identity is never
        ready for capture, as for RV(client_state.ready_for_capture) of V(prepare); the evidence says the step is
        off. Items that only exist as the outcome of a step are C(not_checked) when the user turned the step off or
        chose another outcome - the start mode with O(steps.final_start_mode=false), the Group Policy values
        unless O(steps.clear_gp_site_assignment=true), a disabled health task with O(health_task_final_state=as_found)
        or O(steps.disable_health_task=false) (a warning), provisioning mode with O(allow_provisioning_mode=true).
        Items left to the imaging platform (O(platform_handles=auto)) are C(not_checked) with a warning."
      - O(sysprep.enabled=true) is refused with V(verify).
    type: str
    choices: [prepare, verify]
    default: prepare
  fail_when_not_ready:
    description:
      - With O(mode=verify), fail the task when the machine is not ready for capture (the message lists the
        problems). With V(false) the task succeeds and RV(ready_for_capture) says it; the role
        C(mecm.fieldkit.client_image_prep) uses that to record the status C(not ready) in its reports.
      - Ignored with O(mode=prepare).
    type: bool
    default: true
  sysprep:
    description:
      - Start C(sysprep /generalize /oobe /shutdown /quiet) detached as the last operation, after a host-side gate
        that checks CcmExec is stopped, no identity item is left and the host record of what was removed is gone
        (seed A-6, B-6). It runs in the second module execution of the run, after the host record has been
        removed, and only when the first one left the machine ready for capture.
      - In check mode the gate is predicted from the plan (the host has not changed yet) and
        C(sysprep.start) runs in check mode, so the plan says what the real run does.
      - The machine shuts down a few minutes later; expect the connection to end.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Start sysprep.
        type: bool
        default: false
      mode_vm:
        description: Add C(/mode:vm) (same virtual hardware only; faster first boot).
        type: bool
        default: false
notes:
  - Needs local administrator rights on the host.
  - Services, tasks, WMI classes and registry values are addressed by name, never by display names, so the
    module behaves the same on Japanese and English Windows.
  - The C(CcmExec) start mode is set to Manual for the duration (as the seed does) and to Automatic (Delayed
    Start) at the end; the health evaluation task is disabled for the duration and re-enabled. These
    transient changes are reported in the step details but do not make the result C(changed), so a second
    run on a prepared machine reports C(changed=false).
  - The procedure records that it disabled the health evaluation task (a marker under
    C(HKLM\SOFTWARE\mecm.fieldkit\Markers)), so a task disabled by an interrupted run is enabled again by
    the next run. A task an administrator had disabled is enabled at the end with the default
    O(health_task_final_state=enabled), and stays disabled with V(as_found).
  - Module executions per host, B(real run) - one for the procedure; a second one (the removal of the host
    record, then the capture-ready gate and sysprep when enabled) when the first one recorded or found
    something removed, or sysprep is enabled. A second run on a prepared machine is one execution. Check mode is
    always one execution (RV(module_executions)). O(mode=verify) is always one execution, in check mode too.
  - C(root\ccm:CCM_Client.ClientId) in WMI keeps the old SMS Unique Identifier until the client starts on a
    clone, finds no C(SMSCFG.ini) and creates a new one; RV(client_state.wmi_client_id) shows it.
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
    details:
      - Returns the plan, every step with what it would change, and changes nothing. The plan equals what the
        real run then changes, step by step (a lab test compares both on every image-prep fixture).
      - RV(client_state.ready_for_capture) and RV(client_state.problems) are the predicted ones, and
        C(start_sysprep) says whether the capture-ready gate would let sysprep start.
      - With O(mode=verify) check mode runs the same read-only batch and gives the same answer as a run.
  diff_mode:
    support: full
    details: Shows the client identity (SMS Unique Identifier, certificates, site, trusted root key, service) before and after.
  platform:
    platforms: windows
seealso:
  - module: mecm.fieldkit.win_sccm_client_install
  - module: mecm.fieldkit.win_sccm_client_facts
  - name: MECM client image prep (new capture and recapture), Microsoft Japan ConfigMgr support team
    description: The procedure this module automates.
    link: https://jpmem.github.io/blog/mecm/20220418_01/
  - name: Prepare the client computer for imaging
    description: Microsoft Learn, Configuration Manager client deployment.
    link: https://learn.microsoft.com/mem/configmgr/core/clients/deploy/deploy-clients-to-windows-computers
author:
  - mecm.fieldkit contributors (@mecm-fieldkit)
"""

EXAMPLES = r"""
- name: Recapture a master image that already has the client (scenario B)
  mecm.fieldkit.win_sccm_client_generalize:
  register: prep

- name: Show what was removed from the master
  ansible.builtin.debug:
    msg: "{{ prep.removed_identity.sms_unique_id }} / {{ prep.removed_identity.certificates | map(attribute='thumbprint') | list }}"

- name: New capture after win_sccm_client_install (scenario A), removing the MP block rule it kept
  mecm.fieldkit.win_sccm_client_generalize:
    scenario: new
    remove_mp_block_rules: true

- name: Citrix MCS master - MCS removes the certificates itself (VDA 2311 and later)
  mecm.fieldkit.win_sccm_client_generalize:
    steps:
      remove_sms_certificates: false

- name: HTTPS site - also remove the PKI client certificate issued from the ConfigMgr client template
  mecm.fieldkit.win_sccm_client_generalize:
    pki_certificate_filter:
      issuer: CN=Contoso Issuing CA 01, DC=contoso, DC=local
      template: ConfigMgr Client Certificate

- name: Offline master - the v2 template shows only as its OID; name the certificate by thumbprint too
  mecm.fieldkit.win_sccm_client_generalize:
    pki_certificate_filter:
      issuer: Contoso Issuing CA 01
      template: 1.3.6.1.4.1.311.21.8.4181979.12268412.10205467.9813521.1312302.45.7398411.1052422
      thumbprints: [0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C]

- name: Everything the field adds, then seal with sysprep for a VM image
  mecm.fieldkit.win_sccm_client_generalize:
    steps:
      leave_provisioning_mode: true
      reset_hardware_inventory: true
      clear_gp_site_assignment: true
      empty_ccmcache: true
    sysprep:
      enabled: true
      mode_vm: true
  ignore_unreachable: true

- name: Plan only - what would change on every master (check mode) with the identity diff
  mecm.fieldkit.win_sccm_client_generalize:
  check_mode: true
  diff: true

- name: Keep a health evaluation task the administrator disabled on purpose (reported as a warning)
  mecm.fieldkit.win_sccm_client_generalize:
    health_task_final_state: as_found

- name: A slow or flaky link - a lost answer makes the host unreachable; the rerun reports what was removed
  mecm.fieldkit.win_sccm_client_generalize:
  timeout: 600
  ignore_unreachable: true
  register: prep
  until: prep is reachable
  retries: 2

- name: CI gate - is the reference machine ready for capture now? (reads only, fails with the problem list)
  mecm.fieldkit.win_sccm_client_generalize:
    mode: verify

- name: Verify a half-prepared master without failing, then show what is left
  mecm.fieldkit.win_sccm_client_generalize:
    mode: verify
    fail_when_not_ready: false
  register: readiness

- name: Show the items that are not ready and the step that fixes each
  ansible.builtin.debug:
    msg: "{{ readiness.checks | selectattr('status', 'equalto', 'failed') | map(attribute='name') | list }}"

- name: Show what a run whose answer was lost had removed
  ansible.builtin.debug:
    msg: "{{ prep.removed_identity.sms_unique_id }} (recovered from the host record: {{ prep.removed_identity.recovered_from_host_record }})"
"""

RETURN = r"""
changed:
  description: Whether a step changed the host (transient changes of the procedure excluded, see the notes).
  returned: always
  type: bool
  sample: true
msg:
  description: One-line summary; on failure it names the guard or the step and the Windows error code.
  returned: always
  type: str
  sample: "step remove_sms_certificates failed on ref-01 (cert.remove) with 0x80070005: Access is denied.; the health evaluation task is enabled again"
mode:
  description: V(prepare) or V(verify) (O(mode)).
  returned: when O(mode=verify)
  type: str
  sample: verify
ready_for_capture:
  description: O(mode=verify) - every check passed or was not checked; false when any check failed.
  returned: when O(mode=verify) and the host answered
  type: bool
  sample: false
checks:
  description:
    - O(mode=verify) - one entry per readiness item, in this order - C(client_installed), C(not_site_system),
      C(ccmsetup_idle), C(no_task_sequence), C(ccmexec_stopped), C(ccmexec_start_mode), C(health_task_enabled),
      C(provisioning_mode), C(sms_certificates), C(pki_certificates), C(smscfg), C(trusted_root_key),
      C(site_assignment), C(gp_site_assignment), C(host_record), C(mp_block_rule).
  returned: when O(mode=verify)
  type: list
  elements: dict
  contains:
    name:
      description: The readiness item.
      type: str
      sample: smscfg
    status:
      description:
        - C(passed), C(failed) (not ready, or the item could not be read), or C(not_checked) (the step is off or
          its outcome was chosen otherwise, see O(mode)).
      type: str
      sample: failed
    passed:
      description: True, false, or null when not checked.
      type: bool
      sample: false
    evidence:
      description: What the read found.
      type: str
      sample: "C:\\Windows\\SMSCFG.ini present (SMS Unique Identifier GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B): clones would share it"
    fixed_by:
      description:
        - What fixes a failed check - a step of O(steps) (for example C(remove_smscfg)), C(remove_mp_block_rules),
          C(mode=prepare) (the host record), C(win_sccm_client_install); null when it passed or nothing here fixes it
          (ccmsetup or a task sequence running, a site system).
      type: str
      sample: remove_smscfg
    warning:
      description: What clones inherit by the user's choice (the health task left disabled, an item left for the imaging platform); null otherwise.
      type: str
      sample: null
  sample:
    - {name: ccmexec_stopped, status: passed, passed: true, evidence: CcmExec stopped, fixed_by: null, warning: null}
    - {name: trusted_root_key, status: failed, passed: false, evidence: 1 TrustedRootKey instance(s),
       fixed_by: remove_trusted_root_key, warning: null}
check_counts:
  description: O(mode=verify) - how many checks C(passed), C(failed) and were C(not_checked).
  returned: when O(mode=verify) and the host answered
  type: dict
  sample: {passed: 13, failed: 1, not_checked: 2}
scenario:
  description: The scenario that set the default steps.
  returned: always
  type: str
  sample: recapture
steps:
  description: One entry per step in execution order, switched-off steps included, plus C(start_sysprep) when O(sysprep.enabled=true).
  returned: when O(mode=prepare)
  type: list
  elements: dict
  contains:
    name:
      description: Step name.
      type: str
      sample: remove_smscfg
    status:
      description: C(changed), C(ok) (already done), C(skipped) (switched off or not run after a failure) or C(failed) (the step or its verification failed).
      type: str
      sample: changed
    detail:
      description: What the step did or would do, or why it was skipped or failed (with the Windows error code).
      type: str
      sample: deleted C:\Windows\SMSCFG.ini
    reference:
      description: The step of the seed procedure (A = new capture, B = recapture) or the field practice it comes from.
      type: str
      sample: seed B-4
    verified:
      description: Whether the state read at the end of the batch confirms the step; null in check mode and for steps that did not run.
      type: bool
      sample: true
    verification:
      description: What the verification read.
      type: str
      sample: C:\Windows\SMSCFG.ini absent
    ops:
      description: The ops the step ran on the host.
      type: list
      elements: str
      sample: [file.remove]
  sample:
    - {name: stop_service, status: changed, detail: "stopped CcmExec (was running); start mode manual for the duration",
       reference: seed A-2 / B-1, verified: true, verification: CcmExec stopped, ops: [service.ensure]}
    - {name: remove_smscfg, status: changed, detail: deleted C:\Windows\SMSCFG.ini, reference: seed B-4,
       verified: true, verification: C:\Windows\SMSCFG.ini absent, ops: [file.remove]}
removed_identity:
  description: The client identity the run removed (in check mode, would remove). Never key material.
  returned: when O(mode=prepare)
  type: dict
  contains:
    sms_unique_id:
      description: SMS Unique Identifier recorded from C(SMSCFG.ini) before it was deleted; null when C(remove_smscfg) changed nothing.
      type: str
      sample: GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B
    previous_sms_unique_id:
      description: The previous identifier recorded in C(SMSCFG.ini).
      type: str
      sample: GUID:00000000-0000-0000-0000-000000000000
    smscfg_path:
      description: The file deleted.
      type: str
      sample: C:\Windows\SMSCFG.ini
    certificates:
      description:
        - Certificates removed from C(LocalMachine\SMS) and by the PKI filter, each with its private key.
        - C(template) is the template name, else its OID. C(key_provider) is C(cng) or C(capi) (null without a
          private key); C(key_removed) is whether the key container, opened again after the removal, is gone
          (null without a private key and in check mode).
      type: list
      elements: dict
      sample:
        - store: LocalMachine\SMS
          thumbprint: 5A0C1F3E9B7D2A4C6E8F0A1B3C5D7E9F1A2B3C4D
          subject: "CN=SMS, CN=REF-W10-01"
          issuer: "CN=SMS, CN=REF-W10-01"
          template: null
          key_provider: capi
          key_removed: true
    site_code:
      description: The site assignment removed by C(reset_site_assignment).
      type: str
      sample: PS1
    management_point:
      description: The current management point the client knew when its site assignment was removed.
      type: str
      sample: CM01.contoso.local
    trusted_root_keys:
      description: Number of C(TrustedRootKey) instances removed.
      type: int
      sample: 1
    recovered_from_host_record:
      description:
        - Whether this includes what an earlier run removed whose answer was lost, read from the host record
          C(HKLM\SOFTWARE\mecm.fieldkit\ImagePrep) that run wrote before removing anything. Values this run
          removed itself come first; the record fills the rest.
      type: bool
      sample: false
    recorded_utc:
      description: When that earlier run wrote the host record (UTC); null unless RV(removed_identity.recovered_from_host_record).
      type: str
      sample: null
  sample:
    sms_unique_id: GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B
    previous_sms_unique_id: GUID:00000000-0000-0000-0000-000000000000
    smscfg_path: C:\Windows\SMSCFG.ini
    certificates:
      - store: LocalMachine\SMS
        thumbprint: 5A0C1F3E9B7D2A4C6E8F0A1B3C5D7E9F1A2B3C4D
        subject: "CN=SMS, CN=REF-W10-01"
        issuer: "CN=SMS, CN=REF-W10-01"
        template: null
        key_provider: capi
        key_removed: true
    site_code: PS1
    management_point: CM01.contoso.local
    trusted_root_keys: 1
    recovered_from_host_record: false
    recorded_utc: null
client_state:
  description:
    - The client state read at the end of the same batch (the verification reads).
    - In check mode the state is the host as it is and RV(client_state.ready_for_capture),
      RV(client_state.problems) and RV(client_state.warnings) are predicted for the end of the real run.
    - With O(mode=verify) it is the host as it is now, in check mode too; RV(client_state.problems) lists the
      failed checks (the check name, its evidence and what fixes it), and C(ccmsetup_running), C(task_sequence_running),
      C(host_record_present) and C(mp_block_rule_present) are added.
  returned: unless the op runner itself failed
  type: dict
  contains:
    ready_for_capture:
      description:
        - CcmExec exists and is stopped, and no client identity item is left, whatever the steps switched on -
          C(SMSCFG.ini), certificates in C(LocalMachine\SMS), certificates matching O(pki_certificate_filter),
          C(TrustedRootKey) instances, a site assignment (or one that cannot be read), the host record
          C(HKLM\SOFTWARE\mecm.fieldkit\ImagePrep) - and the client is not in provisioning mode (unless
          O(allow_provisioning_mode=true)).
      type: bool
      sample: true
    problems:
      description: What keeps the machine from being ready for capture, with the step to switch on when it is off.
      type: list
      elements: str
      sample: ["SMSCFG.ini present (SMS Unique Identifier GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B): clones would share it; switch on steps.remove_smscfg"]
    warnings:
      description:
        - What clones inherit that does not stop the capture but was the user's choice - the health evaluation
          task left disabled (O(health_task_final_state=as_found) or O(steps.disable_health_task=false)).
      type: list
      elements: str
      sample: []
    predicted:
      description: Present (true) in check mode, where the readiness is the predicted one.
      type: bool
      returned: in check mode
      sample: true
    service:
      description: The C(CcmExec) service.
      type: dict
      sample: {name: CcmExec, exists: true, state: stopped, start_mode: delayed_auto}
    health_evaluation_task:
      description: The health evaluation task.
      type: dict
      sample: {exists: true, enabled: true}
    trusted_root_key:
      description: C(TrustedRootKey) instances left; C(count) is null when the namespace is absent.
      type: dict
      sample: {namespace_present: true, count: 0}
    site_assignment:
      description: Assigned site (null when blank), auto-assignment and Group Policy site-assignment values.
      type: dict
      sample: {assigned_site: null, auto_assignment: true, gp_site_assignment: {}}
    sms_certificates:
      description: Certificates left in C(LocalMachine\SMS).
      type: list
      elements: dict
      sample: []
    pki_certificates:
      description: Certificates left that match O(pki_certificate_filter); only with a filter.
      type: list
      elements: dict
      sample: []
    smscfg_present:
      description: Whether C(%windir%\SMSCFG.ini) exists.
      type: bool
      sample: false
    smscfg_unique_id:
      description: SMS Unique Identifier in C(SMSCFG.ini), null when the file is absent.
      type: str
      sample: null
    wmi_client_id:
      description: C(root\ccm:CCM_Client.ClientId); keeps the old value until the client starts on a clone.
      type: str
      sample: GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B
    provisioning_mode:
      description: C(ProvisioningMode) registry value.
      type: str
      sample: "false"
  sample:
    ready_for_capture: true
    problems: []
    warnings: []
    service: {name: CcmExec, exists: true, state: stopped, start_mode: delayed_auto}
    health_evaluation_task: {exists: true, enabled: true}
    trusted_root_key: {namespace_present: true, count: 0}
    site_assignment: {assigned_site: null, auto_assignment: true, gp_site_assignment: {}}
    sms_certificates: []
    smscfg_present: false
    smscfg_unique_id: null
    wmi_client_id: GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B
    provisioning_mode: "false"
guard:
  description:
    - The guard that stopped the run (C(not_site_system), C(client_installed), C(ccmsetup_idle), C(no_task_sequence),
      C(not_provisioning), C(certificate_filter) - a PKI filter without thumbprints that selects several certificates).
  returned: when a guard stopped the run
  type: str
  sample: not_site_system
failed_step:
  description: The step that failed, or whose verification failed.
  returned: when a step failed
  type: str
  sample: stop_service
host_record:
  description:
    - The host record of what the run was about to remove, C(HKLM\SOFTWARE\mecm.fieldkit\ImagePrep), written
      before the first removal and removed by the second module execution once the first answer has arrived.
  returned: when a step of the procedure is switched on
  type: dict
  contains:
    key:
      description: The registry key.
      type: str
      sample: HKLM\SOFTWARE\mecm.fieldkit\ImagePrep
    found:
      description: A record of an earlier run was there (that run's answer was lost); see RV(removed_identity.recovered_from_host_record).
      type: bool
      sample: false
    written:
      description: This run wrote (or completed) the record before removing anything.
      type: bool
      sample: true
    removed:
      description: This run removed the record.
      type: bool
      sample: true
    present:
      description: The record is still there at the end (then RV(client_state.ready_for_capture) is false; a guard keeps it for the next run).
      type: bool
      sample: false
  sample: {key: HKLM\SOFTWARE\mecm.fieldkit\ImagePrep, found: false, written: true, removed: true, present: false}
module_executions:
  description: Module executions this task took on the host (1, or 2 with the removal of the host record and sysprep; always 1 with O(mode=verify)).
  returned: always
  type: int
  sample: 2
unreachable:
  description:
    - The answer of a module execution was lost (connection dropped, task C(timeout)); the host may already have
      been changed. The message says so; rerun to recover what was removed. With a lost second execution the
      rest of the result (steps, RV(removed_identity)) is that of the first one.
  returned: when an answer was lost
  type: bool
  sample: true
connection_error:
  description: The connection or timeout error behind RV(unreachable), for diagnosis.
  returned: when an answer was lost
  type: str
  sample: "ConnectionError: ('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))"
platform_handles:
  description:
    - With O(platform_handles=auto) - the platforms the facts showed and the steps left to the platform (C(reason) is
      the step detail; null and C(skipped_steps) empty when the platform performs none).
  returned: when O(platform_handles=auto)
  type: dict
  sample:
    mode: auto
    detected: [citrix_vda]
    skipped_steps: [remove_sms_certificates, remove_smscfg]
    reason: "skipped: performed by Citrix MCS image preparation (VDA 2311+)"
mp_block_rule_removed:
  description: Whether the management-point block rule of M(mecm.fieldkit.win_sccm_client_install) was there and was removed.
  returned: when O(remove_mp_block_rules=true)
  type: bool
  sample: true
diff:
  description: The client identity before and after (in check mode, the predicted after).
  returned: in diff mode
  type: dict
  sample:
    before:
      sms_unique_id: GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B
      smscfg_present: true
      assigned_site: PS1
      trusted_root_keys: 1
      ccmexec: running / delayed_auto
    after:
      sms_unique_id: null
      smscfg_present: false
      assigned_site: null
      trusted_root_keys: 0
      ccmexec: stopped / delayed_auto
"""
