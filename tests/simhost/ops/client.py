"""Simulated ConfigMgr client ops.

Fixture keys used only here (optional):

* ``wmi_read_failures``: ``{"root\\ccm": 2147749891}``; every read of a class in that namespace fails with
  that HRESULT (access denied, provider failure, timeout) and is reported in ``wmi_errors``.
* ``com_get_assigned_site_error``: HRESULT that Microsoft.SMS.Client GetAssignedSite() fails with.
"""
from __future__ import annotations

import typing as t

from ..model import HostModel, OpContext
from . import sim_op
from .contract import contract

MOBILE_CLIENT = "HKLM\\" + contract.MOBILE_CLIENT_KEY
GP_VALUES = ("GPRequestedSiteAssignmentCode", "GPSiteAssignmentRetryInterval(Min)",
             "GPSiteAssignmentRetryDuration(Hour)")


def _wmi_error(host: HostModel, namespace: str, class_name: str) -> dict[str, t.Any] | None:
    failures = {k.lower(): v for k, v in host.state.get("wmi_read_failures", {}).items()}
    code = failures.get(namespace.lower())
    if code is None:
        return None
    return {"namespace": namespace, "class_name": class_name, "code": int(code), "hresult": f"0x{int(code):08X}",
            "message": f"simulated WMI failure reading {namespace}:{class_name}"}


def _first(host: HostModel, namespace: str, class_name: str,
           errors: list[dict[str, t.Any]] | None = None) -> dict[str, t.Any] | None:
    """Get-FieldkitCimInstanceOrNull: the first instance, None when absent or when the read failed."""
    failure = _wmi_error(host, namespace, class_name)
    if failure is not None:
        if errors is not None:
            errors.append(failure)
        return None
    if host.wmi_namespace(namespace) is None:
        return None
    instances = host.wmi_instances(namespace, class_name)
    return instances[0] if instances else None


def assigned_site_reading(host: HostModel) -> tuple[str | None, dict[str, t.Any] | None]:
    """Read-FieldkitComAssignedSite: (site, error); site '' only when unassigned, None when it cannot tell."""
    registry_site = str(host.reg_value(MOBILE_CLIENT, "AssignedSiteCode") or "")
    code = host.state.get("com_get_assigned_site_error")
    if code is None:
        return registry_site, None
    code = int(code)
    error = {"code": code, "hresult": f"0x{code:08X}", "message": "simulated GetAssignedSite() failure"}
    wbem_error = code & 0xFFFFF000 == 0x80041000
    win32_error = code & 0xFFFF0000 == 0x80070000
    if registry_site == "" and not wbem_error and not win32_error:
        return "", error
    return None, error


@sim_op("client.read_install")
def read_install(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    errors: list[dict[str, t.Any]] = []
    installed = host.service("CcmExec") is not None and host.reg_key("HKLM\\SOFTWARE\\Microsoft\\CCM") is not None
    sms_client = _first(host, "root\\ccm", "SMS_Client", errors)
    version, source = None, None
    if sms_client and sms_client.get("ClientVersion"):
        version, source = sms_client["ClientVersion"], "wmi"
    elif host.reg_value(MOBILE_CLIENT, "ProductVersion") is not None:
        version, source = str(host.reg_value(MOBILE_CLIENT, "ProductVersion")), "registry"
    components: list[dict[str, t.Any]] = []
    component_error = _wmi_error(host, "root\\ccm", "CCM_InstalledComponent")
    if component_error is not None:
        errors.append(component_error)
    elif host.wmi_namespace("root\\ccm") is not None:
        for comp in host.wmi_instances("root\\ccm", "CCM_InstalledComponent") or []:
            components.append({"name": comp["Name"], "display_name": comp.get("DisplayName", comp["Name"]),
                               "version": comp.get("Version", "")})
    return {
        "installed": installed,
        "version": version,
        "version_source": source,
        "install_path": host.reg_value("HKLM\\SOFTWARE\\Microsoft\\SMS\\Client\\Configuration\\Client Properties",
                                       "Local SMS Path"),
        "components": components,
        "wmi_errors": errors,
    }


def _smscfg_value(text: str, key: str) -> str | None:
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == key:
            return value.strip()
    return None


@sim_op("client.read_identity")
def read_identity(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    path = host.windir + "\\SMSCFG.ini"
    text = host.file(path)
    errors: list[dict[str, t.Any]] = []
    client = _first(host, "root\\ccm", "CCM_Client", errors)
    return {
        "smscfg_path": path,
        "smscfg_present": text is not None,
        "smscfg_unique_id": _smscfg_value(text, "SMS Unique Identifier") if text is not None else None,
        "smscfg_previous_unique_id": _smscfg_value(text, "Previous SMSUID") if text is not None else None,
        "smscfg_certificate_identifier": _smscfg_value(text, "SMS Certificate Identifier") if text is not None else None,
        "wmi_client_id": client.get("ClientId") if client else None,
        "wmi_previous_client_id": client.get("PreviousClientId") if client else None,
        "wmi_client_id_change_date": client.get("ClientIdChangeDate") if client else None,
        "wmi_available": client is not None,
        "wmi_errors": errors,
    }


@sim_op("client.read_site_assignment")
def read_site_assignment(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    registry_site = host.reg_value(MOBILE_CLIENT, "AssignedSiteCode")
    com_available = host.has_com_class("Microsoft.SMS.Client")
    com_site, com_error = assigned_site_reading(host) if com_available else (None, None)
    errors: list[dict[str, t.Any]] = []
    sms_client = _first(host, "root\\ccm", "SMS_Client", errors)
    authority = _first(host, "root\\ccm", "SMS_Authority", errors)
    gp = {name: str(host.reg_value(MOBILE_CLIENT, name)) for name in GP_VALUES
          if host.reg_value(MOBILE_CLIENT, name) is not None}
    return {
        "com_available": com_available,
        # The COM object reads the same assignment the registry holds.
        "com_assigned_site": com_site,
        "com_error": com_error,
        "registry_assigned_site": registry_site,
        "auto_assignment": bool(sms_client["EnableAutoAssignment"]) if sms_client else None,
        "current_management_point": (authority or {}).get("CurrentManagementPoint") or None,
        "gp_site_assignment": gp,
        "dns_suffix": host.reg_value("HKLM\\SOFTWARE\\Microsoft\\CCM\\LocationServices", "DnsSuffix"),
        "wmi_errors": errors,
    }


@sim_op("client.read_provisioning_mode")
def read_provisioning_mode(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    key = "HKLM\\" + contract.CCMEXEC_KEY
    errors: list[dict[str, t.Any]] = []
    value = host.reg_value(key, "ProvisioningMode")
    enabled_time = host.reg_value(key, "ProvisioningEnabledTime")
    max_minutes = host.reg_value(key, "ProvisioningMaxMinutes")
    return {
        "registry_value": str(value).lower() if value is not None else None,
        "enabled_time_epoch": int(enabled_time) if str(enabled_time).isdigit() else None,
        "max_minutes": int(max_minutes) if str(max_minutes).isdigit() else None,
        "wmi_sms_client_available": _first(host, "root\\ccm", "SMS_Client", errors) is not None,
        "wmi_errors": errors,
    }


@sim_op("client.read_task_sequence")
def read_task_sequence(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    evidence = []
    if host.processes("TSManager"):
        evidence.append("process TSManager is running")
    svc = host.service("smstsmgr")
    if svc is not None and svc["state"] == "running":
        evidence.append("service smstsmgr is running")
    return {"running": bool(evidence), "evidence": evidence}


def _folder_exists(host: HostModel, path: str) -> bool:
    """Test-Path -PathType Container: a listed folder, or a folder that holds a file of the fixture."""
    full = path.rstrip("\\").lower()
    return (any(f.rstrip("\\").lower() == full for f in host.state.get("folders", []))
            or any(name.lower().startswith(full + "\\") for name in host.state.get("files", {})))


def _optional_string(value: t.Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


@sim_op("client.read_imaging_platform")
def read_imaging_platform(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    """Get-FieldkitImagingPlatform: key, value and service names only (see _host_contract)."""
    hklm = "HKLM\\"
    uninstall = hklm + contract.CITRIX_VDA_UNINSTALL_KEY
    uninstall_present = host.reg_key(uninstall) is not None
    bisf_key = hklm + contract.BISF_KEY
    bisf_present = host.reg_key(bisf_key) is not None
    bisf_path = _optional_string(host.reg_value(bisf_key, "Path")) if bisf_present else None
    horizon_present = host.reg_key(hklm + contract.HORIZON_AGENT_KEY) is not None
    return {
        "citrix_vda": {
            "key_present": host.reg_key(hklm + contract.CITRIX_VDA_KEY) is not None,
            "uninstall_present": uninstall_present,
            "uninstall_version": _optional_string(host.reg_value(uninstall, "DisplayVersion"))
            if uninstall_present else None,
            "service_present": host.service(contract.CITRIX_VDA_SERVICE) is not None,
        },
        "bisf": {
            "key_present": bisf_present,
            "version": _optional_string(host.reg_value(bisf_key, "Version")) if bisf_present else None,
            "path": bisf_path,
            "path_exists": _folder_exists(host, bisf_path) if bisf_path is not None else None,
        },
        "horizon": {
            "vmware_key_present": horizon_present,
            "omnissa_key_present": host.reg_key(hklm + contract.OMNISSA_AGENT_KEY) is not None,
            "version": _optional_string(host.reg_value(hklm + contract.HORIZON_VDM_KEY, "ProductVersion"))
            if horizon_present else None,
        },
        "avd": {
            "key_present": host.reg_key(hklm + contract.AVD_AGENT_KEY) is not None,
            "agent_service_present": host.service(contract.AVD_AGENT_SERVICE) is not None,
            "boot_loader_service_present": host.service(contract.AVD_BOOT_LOADER_SERVICE) is not None,
        },
    }


@sim_op("site.read_roles")
def read_roles(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    evidence: list[str] = []
    roles: list[str] = []
    is_site_server = host.service("SMS_EXECUTIVE") is not None
    if is_site_server:
        roles.append("site_server")
        evidence.append("service SMS_EXECUTIVE exists")
    site_code = host.reg_value("HKLM\\SOFTWARE\\Microsoft\\SMS\\Identification", "Site Code")
    if site_code is not None:
        evidence.append(f"HKLM\\SOFTWARE\\Microsoft\\SMS\\Identification Site Code = {site_code}")
    if host.reg_key("HKLM\\SOFTWARE\\Microsoft\\SMS\\DP") is not None:
        roles.append("distribution_point")
        evidence.append("key HKLM\\SOFTWARE\\Microsoft\\SMS\\DP exists")
    if host.reg_key("HKLM\\SOFTWARE\\Microsoft\\SMS\\MP") is not None:
        roles.append("management_point")
        evidence.append("key HKLM\\SOFTWARE\\Microsoft\\SMS\\MP exists")
    if any(name.lower() == "sms_dp$" for name in host.state["shares"]):
        evidence.append("share SMS_DP$ exists")
        if "distribution_point" not in roles:
            roles.append("distribution_point")
    return {
        "is_site_server": is_site_server,
        "is_site_system": bool(roles) or site_code is not None,
        "site_code": str(site_code) if site_code is not None else None,
        "roles": roles,
        "evidence": evidence,
    }
