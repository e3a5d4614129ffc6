# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ops of the client image-prep procedure: guards, identity removal, ccmsetup, firewall, sysprep.

FOR INTERNAL COLLECTION USE ONLY.

Guards are read-only ops that throw an ErrorRecord with a specific Windows error code when the
host must not be prepared; everything after them in the batch is then not run (except ``always``
ops). Mutating ops are idempotent and honour check mode. Some of them are generic (scheduled
task, WMI instances, certificates, files, registry values, folders, firewall rule); they live here
because image prep is their only user so far.

PowerShell implementations, split so that each image runner ships only what its batches run
(``module_util=`` below; RUNNERS in _ops.py; tests/unit/contract/test_runner_closure.py checks that every
function an op calls is shipped by its runner), in plugins/module_utils/: the guards and the host record's read
and clear in _FieldkitImageCommon.psm1 (every image runner); the identity removal and the record's write, which
only generalize runs, in _FieldkitImageOps.psm1; the capture-ready gate and sysprep (a real run's second
execution) in _FieldkitImageFinishOps.psm1; the optional steps and the certificate filter guard in
_FieldkitImageOptionOps.psm1; the MP block rule in _FieldkitFirewallOps.psm1; ccmsetup in _FieldkitCcmSetupOps.psm1.
"""
from __future__ import annotations

from ._ops import Arg, OpSpec, register

IMAGE_COMMON = "_FieldkitImageCommon"
IMAGE_FINISH = "_FieldkitImageFinishOps"
IMAGE_OPTIONS = "_FieldkitImageOptionOps"
CCMSETUP = "_FieldkitCcmSetupOps"
FIREWALL = "_FieldkitFirewallOps"

# Windows error codes the guards throw (also used by the planner to name the guard that tripped).
GUARD_ERROR_CODES = {
    "guard.assert_client_installed": 0x80070645,  # ERROR_UNKNOWN_PRODUCT
    "guard.assert_not_site_system": 0x80070032,  # ERROR_NOT_SUPPORTED
    "guard.assert_ccmsetup_idle": 0x80070652,  # ERROR_INSTALL_ALREADY_RUNNING
    "guard.assert_no_task_sequence": 0x800700AA,  # ERROR_BUSY
    "guard.assert_not_provisioning": 0x8007139F,  # ERROR_INVALID_STATE
    "guard.assert_capture_ready": 0x80070015,  # ERROR_NOT_READY
    "guard.assert_certificate_filter": 0x80070057,  # ERROR_INVALID_PARAMETER
}

_GUARD_RESULT = {"guard": "str", "passed": "bool", "evidence": "list"}

register(OpSpec(
    name="guard.assert_client_installed",
    ps_function="Assert-FieldkitClientInstalled",
    mutating=False,
    args=(),
    result=_GUARD_RESULT,
    description="Fails with ERROR_UNKNOWN_PRODUCT (0x80070645) when the ConfigMgr client is not installed "
                "(no CcmExec service or no HKLM\\SOFTWARE\\Microsoft\\CCM).",
), module_util=IMAGE_COMMON)

register(OpSpec(
    name="guard.assert_not_site_system",
    ps_function="Assert-FieldkitNotSiteSystem",
    mutating=False,
    args=(),
    result=_GUARD_RESULT,
    description="Fails with ERROR_NOT_SUPPORTED (0x80070032) on a site server or another site system "
                "(SMS_EXECUTIVE, SMS\\Identification, DP/MP keys, SMS_DP$ share).",
), module_util=IMAGE_COMMON)

register(OpSpec(
    name="guard.assert_ccmsetup_idle",
    ps_function="Assert-FieldkitCcmSetupIdle",
    mutating=False,
    args=(),
    result=_GUARD_RESULT,
    description="Fails with ERROR_INSTALL_ALREADY_RUNNING (0x80070652) while a ccmsetup process or a running "
                "ccmsetup service exists.",
), module_util=IMAGE_COMMON)

register(OpSpec(
    name="guard.assert_no_task_sequence",
    ps_function="Assert-FieldkitNoTaskSequence",
    mutating=False,
    args=(),
    result=_GUARD_RESULT,
    description="Fails with ERROR_BUSY (0x800700AA) while a ConfigMgr task sequence runs (TSManager, smstsmgr).",
), module_util=IMAGE_COMMON)

register(OpSpec(
    name="guard.assert_not_provisioning",
    ps_function="Assert-FieldkitNotProvisioning",
    mutating=False,
    args=(),
    result=_GUARD_RESULT,
    description="Fails with ERROR_INVALID_STATE (0x8007139F) while HKLM\\SOFTWARE\\Microsoft\\CCM\\CcmExec "
                "ProvisioningMode is 'true'.",
), module_util=IMAGE_COMMON)

register(OpSpec(
    name="guard.assert_capture_ready",
    ps_function="Assert-FieldkitCaptureReady",
    mutating=False,
    args=(
        Arg("check_sms_store", "bool", default=True, description="LocalMachine\\SMS must be empty."),
        Arg("check_smscfg", "bool", default=True, description="%windir%\\SMSCFG.ini must be absent."),
        Arg("check_trusted_root_key", "bool", default=True, description="No TrustedRootKey instance may be left."),
    ),
    result=_GUARD_RESULT,
    description="Fails with ERROR_NOT_READY (0x80070015) unless CcmExec is stopped and the identity checks asked "
                "for hold; the last gate before sysprep.",
), module_util=IMAGE_FINISH)

register(OpSpec(
    name="task.ensure_enabled",
    ps_function="Set-FieldkitScheduledTaskEnabled",
    mutating=True,
    args=(
        Arg("path", "str", required=True, description=r"Task folder, e.g. \Microsoft\Configuration Manager\ ."),
        Arg("name", "str", required=True, description="Task name."),
        Arg("enabled", "bool", required=True, description="Wanted state."),
        Arg("marker", "str", description="Disable: record this marker when we disable the task. Enable: act "
                                         "only if the marker is recorded, then delete it (restore what we changed)."),
    ),
    result={"path": "str", "name": "str", "exists": "bool", "enabled": "bool?", "marker_present": "bool"},
    description="Enable or disable a scheduled task; an absent task is reported, not an error. With a marker "
                "(HKLM\\SOFTWARE\\mecm.fieldkit\\Markers) the enable only undoes a disable made with the same "
                "marker, also one left by an interrupted run.",
))

register(OpSpec(
    name="wmi.remove_instances",
    ps_function="Remove-FieldkitWmiInstance",
    mutating=True,
    args=(
        Arg("namespace", "str", required=True, description=r"WMI namespace, e.g. root\ccm\locationservices."),
        Arg("class_name", "str", required=True, description="WMI class name."),
        Arg("property_name", "str", description="Only instances whose property equals property_value."),
        Arg("property_value", "str", description="Value compared with property_name (string compare, no WQL)."),
        Arg("timeout_seconds", "int", default=30),
    ),
    result={"namespace": "str", "class_name": "str", "namespace_present": "bool", "count": "int"},
    description="Remove all (or the matching) instances of a class; an absent namespace or class means nothing "
                "to do. count is the number of matching instances.",
))

register(OpSpec(
    name="client.reset_site_assignment",
    ps_function="Reset-FieldkitClientSiteAssignment",
    mutating=True,
    args=(),
    result={"com_available": "bool", "assigned_site": "str?", "auto_assignment": "bool?"},
    description="Microsoft.SMS.Client RemoveAssignedSites() and EnableAutoAssignment($true) (seed B-2); "
                "unchanged when no site is assigned and auto-assignment is already on.",
))

register(OpSpec(
    name="client.set_provisioning_mode",
    ps_function="Set-FieldkitClientProvisioningMode",
    mutating=True,
    args=(Arg("enabled", "bool", required=True, description="Wanted provisioning mode."),),
    result={"registry_value": "str?"},
    description="root\\ccm:SMS_Client.SetClientProvisioningMode(bEnable); the registry alone is not enough.",
), module_util=IMAGE_OPTIONS)

_CERT_FILTER_ARGS = (
    Arg("store_location", "str", default="LocalMachine", choices=("LocalMachine",)),
    Arg("store_name", "str", required=True, description="Store name, e.g. SMS or My."),
    Arg("thumbprints", "list", elements="str", description="Only these thumbprints."),
    Arg("issuer", "str", description="Only certificates whose issuer is this distinguished name (attributes in "
                                     "any order) or, without '=', whose issuer CN is this name; never a substring "
                                     "(plugin_utils/_cert_filter.py)."),
    Arg("template", "str", description="Only certificates whose template OID (dotted) or template name "
                                       "(case-insensitive) is this; never a substring."),
    Arg("require_client_auth", "bool", default=True,
        description="Only certificates with the Client Authentication EKU (1.3.6.1.5.5.7.3.2)."),
)

register(OpSpec(
    name="guard.assert_certificate_filter",
    ps_function="Assert-FieldkitCertificateFilter",
    mutating=False,
    args=(
        *_CERT_FILTER_ARGS,
        Arg("allow_multiple", "bool", default=False,
            description="Allow a filter without thumbprints to select more than one certificate."),
    ),
    result=_GUARD_RESULT,
    description="Fails with ERROR_INVALID_PARAMETER (0x80070057) when a filter without thumbprints selects more "
                "than one certificate and allow_multiple is off; runs before anything is changed.",
), module_util=IMAGE_OPTIONS)

register(OpSpec(
    name="cert.remove",
    ps_function="Remove-FieldkitCertificate",
    mutating=True,
    args=(
        *_CERT_FILTER_ARGS,
        Arg("remove_all", "bool", default=False, description="Every certificate of the store; only for SMS."),
        Arg("allow_multiple", "bool", default=False,
            description="Allow a filter without thumbprints to remove more than one certificate."),
    ),
    result={"store": "str", "store_exists": "bool", "matching": "list", "removed": "list"},
    description="Remove the certificates of a LocalMachine store that match every filter given, each with its "
                "private key container (CNG CngKey.Delete, CAPI PersistKeyInCsp=false + Clear), located before "
                "anything is deleted; without a filter nothing matches unless remove_all is set, which is refused "
                "for any store but SMS, and a filter without thumbprints that matches several certificates is "
                "refused unless allow_multiple. matching lists thumbprint, subject, issuer, template, "
                "template_name, template_oid, has_private_key, key_provider, key_container; after.removed says per "
                "certificate whether the store and the key container, opened again, no longer hold it "
                "(certificate_removed, key_removed: null without a private key). Never key material.",
))

register(OpSpec(
    name="file.remove",
    ps_function="Remove-FieldkitFile",
    mutating=True,
    args=(Arg("path", "str", required=True, description="File path; %windir% and other variables are expanded."),),
    result={"path": "str", "exists": "bool"},
    description="Delete one file if it exists.",
))

register(OpSpec(
    name="registry.remove_values",
    ps_function="Remove-FieldkitRegistryValue",
    mutating=True,
    args=(
        Arg("path", "str", required=True, description=r"Key under HKLM, e.g. SOFTWARE\Microsoft\SMS\Mobile Client."),
        Arg("names", "list", required=True, elements="str", description="Value names."),
    ),
    result={"path": "str", "key_exists": "bool", "values": "dict"},
    description="Delete the named values of one HKLM key (64-bit view); values lists those present, as text.",
), module_util=IMAGE_OPTIONS)

register(OpSpec(
    name="folder.empty",
    ps_function="Clear-FieldkitFolder",
    mutating=True,
    args=(
        Arg("path", "str", required=True, description="Folder; %windir% and other variables are expanded."),
        Arg("required_leaf", "str", required=True,
            description="The folder's own name must be this (case-insensitive), e.g. ccmcache: a safety net."),
    ),
    result={"path": "str", "exists": "bool", "item_count": "int", "size_bytes": "int"},
    description="Delete the content of a folder, keeping the folder.",
), module_util=IMAGE_OPTIONS)

register(OpSpec(
    name="firewall.ensure_block_rule",
    ps_function="Set-FieldkitFirewallBlockRule",
    mutating=True,
    args=(
        Arg("name", "str", required=True, description="Rule name (also its display name)."),
        Arg("remote_addresses", "list", elements="str", description="IP addresses or host names to block."),
        Arg("state", "str", default="present", choices=("present", "absent")),
        Arg("resolve_timeout_seconds", "int", default=10, description="DNS timeout per host name."),
    ),
    result={"name": "str", "exists": "bool", "remote_addresses": "list"},
    description="An outbound Windows Firewall rule that blocks the given remote addresses (host names are "
                "resolved on the host; an unresolvable name is an error), or its absence.",
), module_util=FIREWALL)

register(OpSpec(
    name="firewall.read_rule",
    ps_function="Get-FieldkitFirewallRule",
    mutating=False,
    args=(Arg("name", "str", required=True, description="Rule name."),),
    result={"name": "str", "exists": "bool", "enabled": "bool?", "remote_addresses": "list"},
    description="Whether a Windows Firewall rule exists (by name), whether it is enabled and the remote addresses "
                "it applies to; the read-only twin of firewall.ensure_block_rule (verify-only image prep).",
), module_util=FIREWALL)

register(OpSpec(
    name="ccmsetup.start",
    ps_function="Start-FieldkitCcmSetup",
    mutating=True,
    args=(
        Arg("path", "str", required=True, description="Folder that holds ccmsetup.exe (the copied Client folder)."),
        Arg("arguments", "list", elements="str", default=[],
            description="ccmsetup switches and PROPERTY=value pairs; SMSSITECODE is refused."),
    ),
    result={"client_installed": "bool", "running": "bool", "process_id": "int?"},
    description="Start ccmsetup.exe without waiting, unless the client is already installed or ccmsetup already "
                "runs (then unchanged).",
), module_util=CCMSETUP)

register(OpSpec(
    name="ccmsetup.read_status",
    ps_function="Get-FieldkitCcmSetupStatus",
    mutating=False,
    args=(
        Arg("wait_seconds", "int", default=0, description="Wait up to this long on the host for ccmsetup to end."),
        Arg("tail_lines", "int", default=20, description="How many ccmsetup.log lines to return at most."),
    ),
    result={
        "running": "bool",
        "process_ids": "list",
        "service_state": "str?",
        "waited_seconds": "int",
        "log_path": "str",
        "log_present": "bool",
        "return_code": "int?",
        "log_tail": "list",
    },
    description="Whether ccmsetup (process or service) still runs, after waiting up to wait_seconds; the last "
                "'CcmSetup is exiting with return code N' of %windir%\\ccmsetup\\Logs\\ccmsetup.log and its tail.",
), module_util=CCMSETUP)

# The host record of what image prep is about to remove (HKLM\SOFTWARE\mecm.fieldkit\ImagePrep): written
# before the removal, reported by the run that gets the answer (or by the next run when the answer was lost),
# then removed by a second module execution, so a captured image never carries it.
_REMOVAL_RECORD = {
    "key": "str",
    "present": "bool",
    "record_id": "str?",
    "recorded_utc": "str?",
    "computer_name": "str?",
    "sms_unique_id": "str?",
    "previous_sms_unique_id": "str?",
    "smscfg_path": "str?",
    "certificates": "list",
    "site_code": "str?",
    "management_point": "str?",
    "trusted_root_keys": "int",
}

register(OpSpec(
    name="image.read_removal_record",
    ps_function="Get-FieldkitImagePrepRecord",
    mutating=False,
    args=(),
    result=_REMOVAL_RECORD,
    description="The image-prep host record under HKLM\\SOFTWARE\\mecm.fieldkit\\ImagePrep: what a run was about "
                "to remove (SMS Unique Identifier and the previous one, certificates, site, MP, TrustedRootKey "
                "count), present until a run has reported it. certificates lists store, thumbprint, subject, "
                "issuer, template.",
), module_util=IMAGE_COMMON)

register(OpSpec(
    name="image.write_removal_record",
    ps_function="Set-FieldkitImagePrepRecord",
    mutating=True,
    args=(
        Arg("smscfg", "bool", default=False, description="Record the SMS Unique Identifiers of SMSCFG.ini."),
        Arg("certificate_filters", "list", elements="dict", default=[],
            description="cert.remove arguments (PascalCase keys) of the certificate steps; the certificates they "
                        "match (cert.remove in check mode) are recorded."),
        Arg("site_assignment", "bool", default=False, description="Record the assigned site and the current MP."),
        Arg("trusted_root_key", "bool", default=False, description="Record the TrustedRootKey count."),
    ),
    result=_REMOVAL_RECORD,
    description="Record what the batch is about to remove, before it removes it. Nothing to record and no record: "
                "unchanged, nothing written. An existing record (a run whose answer was lost) is kept: its values "
                "stay, empty ones are filled and certificates are added.",
))

register(OpSpec(
    name="image.clear_removal_record",
    ps_function="Clear-FieldkitImagePrepRecord",
    mutating=True,
    args=(Arg("record_id", "str", required=True,
              description="Remove the record only if it is this one (the one the controller has reported)."),),
    result=_REMOVAL_RECORD,
    description="Remove the image-prep host record once it has been reported (and HKLM\\SOFTWARE\\mecm.fieldkit "
                "when nothing else is left in it); a record with another id is left in place.",
), module_util=IMAGE_COMMON)

register(OpSpec(
    name="sysprep.start",
    ps_function="Start-FieldkitSysprep",
    mutating=True,
    args=(Arg("mode_vm", "bool", default=False, description="Add /mode:vm."),),
    result={"running": "bool", "process_id": "int?", "command_line": "str"},
    description="Start 'sysprep.exe /generalize /oobe /shutdown /quiet' detached (Win32_Process.Create, outside "
                "the WinRM job), unless sysprep already runs.",
), module_util=IMAGE_FINISH)
