# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ConfigMgr client ops. FOR INTERNAL COLLECTION USE ONLY.

PowerShell implementations: plugins/module_utils/_FieldkitClientOps.psm1, except the install record and the
imaging platform (``module_util=`` below), which only the client facts and the install read: they are in
_FieldkitClientFactsOps.psm1, so that the generalize runner does not ship them.
"""
from __future__ import annotations

from ._ops import OpSpec, register

CLIENT_FACTS = "_FieldkitClientFactsOps"

register(OpSpec(
    name="client.read_install",
    ps_function="Get-FieldkitClientInstall",
    mutating=False,
    args=(),
    result={
        "installed": "bool",
        "version": "str?",
        "version_source": "str?",
        "install_path": "str?",
        "components": "list",
        "wmi_errors": "list",
    },
    description="Whether the ConfigMgr client is installed (CcmExec service and CCM registry), its version "
                "(root\\ccm:SMS_Client.ClientVersion, else the registry) and CCM_InstalledComponent entries.",
), module_util=CLIENT_FACTS)

register(OpSpec(
    name="client.read_identity",
    ps_function="Get-FieldkitClientIdentity",
    mutating=False,
    args=(),
    result={
        "smscfg_path": "str",
        "smscfg_present": "bool",
        "smscfg_unique_id": "str?",
        "smscfg_previous_unique_id": "str?",
        "smscfg_certificate_identifier": "str?",
        "wmi_client_id": "str?",
        "wmi_previous_client_id": "str?",
        "wmi_client_id_change_date": "str?",
        "wmi_available": "bool",
        "wmi_errors": "list",
    },
    description="SMS Unique Identifier and the previous one from %windir%\\SMSCFG.ini and root\\ccm:CCM_Client.",
))

register(OpSpec(
    name="client.read_site_assignment",
    ps_function="Get-FieldkitClientSiteAssignment",
    mutating=False,
    args=(),
    result={
        "com_available": "bool",
        "com_assigned_site": "str?",
        "com_error": "dict?",
        "registry_assigned_site": "str?",
        "auto_assignment": "bool?",
        "current_management_point": "str?",
        "gp_site_assignment": "dict",
        "dns_suffix": "str?",
        "wmi_errors": "list",
    },
    description="Assigned site via Microsoft.SMS.Client GetAssignedSite() and the registry, auto-assignment, "
                "current MP (SMS_Authority) and Group Policy site-assignment values. A failed GetAssignedSite() "
                "is in com_error; com_assigned_site is then '' only when the registry holds no site either "
                "(and the code is neither WBEM_E_* nor a Win32 failure), else null.",
))

register(OpSpec(
    name="client.read_provisioning_mode",
    ps_function="Get-FieldkitClientProvisioningMode",
    mutating=False,
    args=(),
    result={
        "registry_value": "str?",
        "enabled_time_epoch": "int?",
        "max_minutes": "int?",
        "wmi_sms_client_available": "bool",
        "wmi_errors": "list",
    },
    description="Provisioning mode from HKLM\\SOFTWARE\\Microsoft\\CCM\\CcmExec and whether root\\ccm:SMS_Client "
                "(which carries SetClientProvisioningMode) answers.",
))

register(OpSpec(
    name="client.read_task_sequence",
    ps_function="Get-FieldkitTaskSequenceState",
    mutating=False,
    args=(),
    result={"running": "bool", "evidence": "list"},
    description="Whether a ConfigMgr task sequence is running (TSManager process, smstsmgr service running).",
))

register(OpSpec(
    name="client.read_imaging_platform",
    ps_function="Get-FieldkitImagingPlatform",
    mutating=False,
    args=(),
    result={
        "citrix_vda": "dict",
        "bisf": "dict",
        "horizon": "dict",
        "avd": "dict",
    },
    description="Raw evidence of the imaging platform: Citrix VDA (HKLM\\SOFTWARE\\Citrix\\VirtualDesktopAgent, the "
                "uninstall entry 'Citrix Virtual Desktop Agent' and its DisplayVersion, service BrokerAgent), BIS-F "
                "(HKLM\\SOFTWARE\\Login Consultants\\BISF Version/Path and whether Path exists), VMware/Omnissa "
                "Horizon agent (HKLM\\SOFTWARE\\VMware, Inc.\\VMware VDM\\Agent, HKLM\\SOFTWARE\\Omnissa\\Agent, "
                "ProductVersion) and Azure Virtual Desktop (services RDAgent, RDAgentBootLoader; "
                "HKLM\\SOFTWARE\\Microsoft\\RDInfraAgent). Registry key and value names and service names only, "
                "never display names. Shaped by _imaging_platform.shape_imaging_platform.",
), module_util=CLIENT_FACTS)

register(OpSpec(
    name="site.read_roles",
    ps_function="Get-FieldkitSiteRole",
    mutating=False,
    args=(),
    result={"is_site_server": "bool", "is_site_system": "bool", "site_code": "str?", "roles": "list",
            "evidence": "list"},
    description="Whether the host is a ConfigMgr site server (SMS_EXECUTIVE, SMS\\Identification) or another "
                "site system (DP/MP registry keys, SMS_DP$ share).",
))
