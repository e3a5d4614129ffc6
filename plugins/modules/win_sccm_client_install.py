#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_sccm_client_install
short_description: Install the ConfigMgr client unassigned on a reference machine (image prep, new capture)
version_added: 0.1.0
description:
  - Step 1 of the seed's new-capture procedure (scenario A) - install the ConfigMgr client without a site
    code while the machine cannot reach a management point, wait until ccmsetup has finished, and verify
    that the components are installed and the assigned site code is blank, as the seed checks in
    Control Panel.
  - C(SMSSITECODE) is refused. C(SMSMP), C(DNSSUFFIX) and other client properties are allowed.
  - The seed pulls the network cable. Ansible needs the network, so the module blocks outbound traffic to
    O(block_management_points) with a Windows Firewall rule for the duration and removes it afterwards,
    also when the install fails - but only once ccmsetup is known to have ended. With O(keep_block_rule=true)
    the rule stays until M(mecm.fieldkit.win_sccm_client_generalize) removes it
    (O(mecm.fieldkit.win_sccm_client_generalize#module:remove_mp_block_rules=true)) after CcmExec is stopped.
  - The rule is never lifted while ccmsetup may still run. When a step fails after ccmsetup was started (a
    status read fails, the O(timeout) passes), the module reads the ccmsetup status once more; if ccmsetup
    still runs, or its status cannot be read, the rule is left in place, the task fails and says so
    (C(left_in_place) and C(reason) in RV(mp_block_rule)), and RV(changed) is true. Run the task again -
    it waits for that ccmsetup and then removes the rule. A run without O(block_management_points) also
    removes a rule an earlier run left, once no ccmsetup runs (it waits for a running one first).
  - A host lost during the start / poll cycle (a connection error or a task timeout while a module execution
    runs, so its answer is lost) is reported unreachable with what is known - whether ccmsetup was started,
    that the host may already have been changed, and that the rule is left in place - never as a raw
    transport error. No cleanup is tried on a lost host; the next run removes the rule.
  - Secrets - every value of O(properties) and every switch value of O(switches) is treated as a secret
    (C(no_log)), not only known ones such as C(/regtoken:<token>) - ccmsetup gains properties and switches over
    time, so all values is the safe choice. The host gets the real arguments; the module returns
    C(********) in their place - in the task invocation, RV(ccmsetup.arguments), the C(ccmsetup.log) lines of
    RV(ccmsetup.log_tail) and RV(polls), and every message (a value of four or more characters is masked
    wherever it appears in them, so an MP name given as C(SMSMP) is masked in a message too). Host facts the
    module reads back, such as C(current_management_point) in RV(client), are returned as read. The op runner
    writes no C(Invoked with) entry carrying the arguments to the host's event log (which would go into the
    captured image), because it does not use C(Ansible.Basic); the batches are sent with C(_ansible_no_log) too. At C(-vvvvv) the winrm connection
    plugin logs the raw module output; do not use that verbosity with a token.
  - ccmsetup runs for minutes, so this is a start / poll cycle. The first module execution starts ccmsetup
    detached and waits on the host up to O(poll_interval) seconds; each further execution waits again. A
    5-minute install costs 3 module executions with the default interval; RV(module_executions) reports the
    count.
  - Idempotent - when the client is already installed, nothing is started and the result is not changed.
  - This is an action plugin; the work on the host is done by the internal module
    M(mecm.fieldkit.sccm_op_runner).
options:
  source_path:
    description:
      - Folder on the host that holds C(ccmsetup.exe), the C(Client) folder copied from the site server
        (C(<ConfigMgr install folder>\Client)).
    type: str
    required: true
  properties:
    description:
      - Client installation properties, C(NAME=value) on the ccmsetup command line, for example C(SMSMP) or
        C(DNSSUFFIX) in a workgroup, or C(PROVISIONTS). C(SMSSITECODE) is refused.
      - Values may hold letters, digits and the characters C(_.:;@\/-); no spaces or quotes.
      - C(no_log) - every value is a secret; results and messages show C(********) in its place.
    type: dict
    default: {}
  switches:
    description:
      - ccmsetup switches such as C(/mp:cm01.contoso.local), C(/regtoken:<token>) or C(/forceinstall);
        C(/uninstall) is refused.
      - C(no_log) - every switch value (after the C(:)) is a secret; results and messages show
        C(/regtoken:********).
    type: list
    elements: str
    default: []
  block_management_points:
    description:
      - Host names or IP addresses of the management points to block outbound while the client installs.
        Names are resolved on the host. Empty means nothing is blocked (a warning says so).
    type: list
    elements: str
    default: []
  keep_block_rule:
    description: Keep the block rule after a successful install, for the generalize step to remove.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for ccmsetup to finish (60 to 14400).
    type: int
    default: 1800
  poll_interval:
    description: Seconds each module execution waits on the host for ccmsetup to end (5 to 600).
    type: int
    default: 120
  expected_components:
    description: C(root\ccm:CCM_InstalledComponent) names that must be installed afterwards.
    type: list
    elements: str
    default: [CcmFramework, SmsClient]
notes:
  - ccmsetup is started through C(Win32_Process.Create) so that it outlives the WinRM shell.
  - ccmsetup has finished when no C(ccmsetup) process or running C(ccmsetup) service is left; the result is
    the last C(CcmSetup is exiting with return code N) line of C(%windir%\ccmsetup\Logs\ccmsetup.log)
    (0 success, 7 success with a reboot required, anything else a failure).
  - Progress is printed on the controller after every poll.
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
    details: Reports whether ccmsetup would be started; starts nothing and creates or removes no firewall rule.
  diff_mode:
    support: none
  platform:
    platforms: windows
seealso:
  - module: mecm.fieldkit.win_sccm_client_generalize
  - name: About client installation parameters and properties
    description: Microsoft Learn, the ccmsetup switches and client.msi properties and the ccmsetup return codes.
    link: https://learn.microsoft.com/mem/configmgr/core/clients/deploy/about-client-installation-properties
author:
  - mecm.fieldkit contributors (@mecm-fieldkit)
"""

EXAMPLES = r"""
- name: Install the client unassigned with the site's MP blocked, keep the block for generalize
  mecm.fieldkit.win_sccm_client_install:
    source_path: C:\Install\Client
    properties:
      SMSMP: cm01.contoso.local
    block_management_points:
      - cm01.contoso.local
    keep_block_rule: true
  register: install

- name: Then remove the client identity and the block rule in one batch
  mecm.fieldkit.win_sccm_client_generalize:
    scenario: new
    remove_mp_block_rules: true

- name: Workgroup machine that finds its MP through DNS
  mecm.fieldkit.win_sccm_client_install:
    source_path: D:\ConfigMgr\Client
    properties:
      DNSSUFFIX: contoso.local
    block_management_points: [10.0.0.10, 10.0.0.11]
    timeout: 3600
"""

RETURN = r"""
changed:
  description:
    - Whether ccmsetup was started, or the block rule this run created was left in place (a failure while
      ccmsetup may run). The temporary block rule does not count when it is removed or handed to generalize.
  returned: always
  type: bool
  sample: true
unreachable:
  description:
    - The host was lost while a module execution ran (its answer is lost). RV(msg) says when, whether ccmsetup
      was started and that the host may already have been changed; RV(mp_block_rule) says the rule is left in
      place. Ansible reports the task unreachable.
  returned: when the host was lost
  type: bool
  sample: true
msg:
  description:
    - Summary; on failure it names the guard, step or ccmsetup return code, and says when the MP block rule
      was left in place and why. Property and switch values are masked.
  returned: always
  type: str
  sample: installed the client unassigned (ccmsetup return code 0)
module_executions:
  description: Module executions this task used on the host (start, polls, cleanup).
  returned: always
  type: int
  sample: 3
ccmsetup:
  description: How ccmsetup ended.
  returned: when the start batch succeeded
  type: dict
  contains:
    started:
      description: ccmsetup was started by this run (false - already installed or already running; null - unknown,
        the answer of the start batch was lost).
      type: bool
      sample: true
    running:
      description: What the last status read that succeeded said (null - unknown).
      type: bool
      sample: false
    arguments:
      description: The ccmsetup arguments with every value masked (C(/regtoken:********), C(SMSMP=********)).
      type: list
      elements: str
      sample: ["/regtoken:********", "SMSMP=********"]
    log_tail:
      description: The last C(ccmsetup.log) lines, property and switch values masked.
      type: list
      elements: str
      sample: ["Command line: \"C:\\Install\\Client\\ccmsetup.exe\" /regtoken:******** SMSMP=********"]
  sample:
    started: true
    running: false
    return_code: 0
    return_code_meaning: success
    reboot_required: false
    log_path: C:\Windows\ccmsetup\Logs\ccmsetup.log
    log_tail: ["Client installation succeeded.", "CcmSetup is exiting with return code 0"]
    arguments: ["/regtoken:********", "SMSMP=********"]
client:
  description: The client after the install, as verified (components, blank site code).
  returned: when the start batch succeeded
  type: dict
  sample:
    installed: true
    version: 5.00.9132.1011
    components: [CcmFramework, CcmPolicyAgent, SmsClient, CcmNotificationAgent]
    assigned_site: null
    auto_assignment: true
    current_management_point: null
polls:
  description: Progress record, one entry per status read.
  returned: when ccmsetup was waited for
  type: list
  elements: dict
  sample: [{waited_seconds: 120, elapsed_seconds: 120, running: true, last_log_line: "Running installation of 'C:\\WINDOWS\\ccmsetup\\client.msi'..."}]
elapsed_seconds:
  description: Seconds from start to the end of ccmsetup.
  returned: when ccmsetup was waited for
  type: int
  sample: 300
reboot_required:
  description: ccmsetup returned 7.
  returned: when ccmsetup returned 7
  type: bool
  sample: true
mp_block_rule:
  description:
    - The management-point block rule - its name, the resolved addresses, whether it was kept for generalize
      (C(kept)), removed (C(removed)), or left in place because ccmsetup may still run (C(left_in_place), with
      C(reason)); C(stale) when a run without O(block_management_points) found a rule an earlier run left.
  returned: when O(block_management_points) is not empty, or a rule an earlier run left was found
  type: dict
  sample:
    name: mecm.fieldkit - block ConfigMgr management points during client install
    remote_addresses: [10.0.0.10]
    kept: false
    left_in_place: true
    reason: ccmsetup still runs
"""
