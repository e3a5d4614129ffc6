"""Simulated image-prep ops: guards, identity removal, ccmsetup, firewall rule, sysprep.

Fixture keys used only here (all optional):

* ``client_network``: ``{"management_points": {"cm01.contoso.local": {"address": "10.0.0.10", "site_code": "PS1"}},
  "dns": {"name": "address"}, "ad_site_publishing": false}``; what a freshly installed client can reach.
* ``ccmsetup_profile``: ``{"duration_seconds": 300, "return_code": 0, "client_version": "5.00.9132.1011"}``;
  how the next ccmsetup run behaves. Time passes only when ``ccmsetup.read_status`` waits.
* ``ccmsetup_job`` (runtime): the running ccmsetup. ``firewall_rules`` (runtime): rule name -> rule.
* ``sysprep`` (runtime): what ``sysprep.start`` launched.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import ipaddress
import re
import typing as t
import uuid

from ..model import E_ACCESSDENIED, E_INVALIDARG, HostModel, OpContext, SimWindowsError
from . import sim_op
from .client import MOBILE_CLIENT, assigned_site_reading, read_roles, read_task_sequence
from .contract import cert_filter, contract

ERROR_FILE_NOT_FOUND = 0x80070002
REGDB_E_CLASSNOTREG = 0x80040154
WBEM_E_NOT_FOUND = 0x80041002
WSAHOST_NOT_FOUND = 0x80072AF9
GUARD_CODES = {guard: contract.guard_hresult(guard) for guard in contract.GUARDS}
CLIENT_AUTH_EKU = contract.CLIENT_AUTH_EKU
CCMEXEC_KEY = "HKLM\\" + contract.CCMEXEC_KEY
HEALTH_TASK = contract.HEALTH_TASK_PATH + contract.HEALTH_TASK_NAME


def _expand(host: HostModel, path: str) -> str:
    env = {"windir": host.windir, "systemroot": host.windir, "programdata": "C:\\ProgramData",
           "systemdrive": host.windir[:2]}
    return re.sub(r"%(\w+)%", lambda m: env.get(m.group(1).lower(), m.group(0)), path)


def _guard_fail(host: HostModel, guard: str, message: str) -> t.NoReturn:
    raise SimWindowsError(GUARD_CODES[guard], message, host.name)


def _passed(guard: str, evidence: list[str]) -> dict[str, t.Any]:
    return {"guard": guard, "passed": True, "evidence": evidence}


# --- guards -------------------------------------------------------------------------------------
def _client_installed(host: HostModel) -> bool:
    return host.service("CcmExec") is not None and host.reg_key("HKLM\\SOFTWARE\\Microsoft\\CCM") is not None


@sim_op("guard.assert_client_installed")
def assert_client_installed(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    if not _client_installed(host):
        _guard_fail(host, "client_installed",
                    f"the ConfigMgr client is not installed on {host.name} (no CcmExec service or no "
                    "HKLM\\SOFTWARE\\Microsoft\\CCM); install it first")
    return _passed("client_installed", ["service CcmExec exists", "key HKLM\\SOFTWARE\\Microsoft\\CCM exists"])


@sim_op("guard.assert_not_site_system")
def assert_not_site_system(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    roles = read_roles(host, ctx)
    if roles["is_site_server"] or roles["is_site_system"]:
        kind = "site server" if roles["is_site_server"] else "site system"
        _guard_fail(host, "not_site_system",
                    f"{host.name} is a ConfigMgr {kind} ({'; '.join(roles['evidence'])}); "
                    "image prep never runs on a site server or site system")
    return _passed("not_site_system", ["no site server or site system role found"])


def _ccmsetup_evidence(host: HostModel) -> list[str]:
    evidence = [f"process ccmsetup (pid {p['pid']}) is running" for p in host.processes("ccmsetup")]
    svc = host.service("ccmsetup")
    if svc is not None and svc["state"] != "stopped":
        evidence.append(f"service ccmsetup is {svc['state']}")
    return evidence


@sim_op("guard.assert_ccmsetup_idle")
def assert_ccmsetup_idle(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    evidence = _ccmsetup_evidence(host)
    if evidence:
        _guard_fail(host, "ccmsetup_idle",
                    f"ccmsetup is still running on {host.name} ({'; '.join(evidence)}); wait until it has finished")
    return _passed("ccmsetup_idle", ["no ccmsetup process or running ccmsetup service"])


@sim_op("guard.assert_no_task_sequence")
def assert_no_task_sequence(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    ts = read_task_sequence(host, ctx)
    if ts["running"]:
        _guard_fail(host, "no_task_sequence",
                    f"a ConfigMgr task sequence is running on {host.name} ({'; '.join(ts['evidence'])}); "
                    "removing the client identity now would cut the task sequence off from its MP")
    return _passed("no_task_sequence", ["no TSManager process, smstsmgr not running"])


@sim_op("guard.assert_not_provisioning")
def assert_not_provisioning(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    value = host.reg_value(CCMEXEC_KEY, "ProvisioningMode")
    if str(value).lower() == "true":
        _guard_fail(host, "not_provisioning",
                    f"the ConfigMgr client on {host.name} is in provisioning mode "
                    "(HKLM\\SOFTWARE\\Microsoft\\CCM\\CcmExec ProvisioningMode = true); clones would not process "
                    "policy until it times out")
    return _passed("not_provisioning", [f"ProvisioningMode = {value}"])


@sim_op("guard.assert_capture_ready")
def assert_capture_ready(host: HostModel, ctx: OpContext, *, check_sms_store: bool = True, check_smscfg: bool = True,
                         check_trusted_root_key: bool = True) -> dict[str, t.Any]:
    problems: list[str] = []
    svc = host.service("CcmExec")
    if svc is not None and svc["state"] != "stopped":
        problems.append(f"service CcmExec is {svc['state']}")
    if check_sms_store and host.cert_store("LocalMachine", "SMS"):
        problems.append(f"LocalMachine\\SMS holds {len(host.cert_store('LocalMachine', 'SMS') or [])} certificate(s)")
    if check_smscfg and host.file(host.windir + "\\SMSCFG.ini") is not None:
        problems.append(f"{host.windir}\\SMSCFG.ini exists")
    if check_trusted_root_key and host.wmi_namespace("root\\ccm\\locationservices") is not None:
        count = len(host.wmi_instances("root\\ccm\\locationservices", "TrustedRootKey") or [])
        if count:
            problems.append(f"{count} TrustedRootKey instance(s) left")
    if host.reg_key("HKLM\\" + contract.IMAGE_PREP_RECORD_KEY) is not None:
        problems.append(f"the image-prep host record HKLM\\{contract.IMAGE_PREP_RECORD_KEY} is present: it holds the "
                        "identity this procedure removed until a run has reported it")
    if problems:
        _guard_fail(host, "capture_ready", f"{host.name} is not ready for capture: {'; '.join(problems)}")
    return _passed("capture_ready", ["CcmExec stopped and no client identity left"])


# --- mutating ops -------------------------------------------------------------------------------
MARKERS_KEY = "HKLM\\" + contract.MARKERS_KEY


@sim_op("task.ensure_enabled")
def task_ensure_enabled(host: HostModel, ctx: OpContext, *, path: str, name: str, enabled: bool,
                        marker: str | None = None, check_mode: bool = False) -> dict[str, t.Any]:
    marked = bool(marker) and host.reg_value(MARKERS_KEY, marker) is not None
    task = host.task(path, name)
    if task is None:
        absent = {"path": path, "name": name, "exists": False, "enabled": None, "marker_present": marked}
        return {"changed": False, "before": absent, "after": dict(absent)}
    before = {"path": path, "name": name, "exists": True, "enabled": bool(task["enabled"]), "marker_present": marked}
    after = dict(before)
    if enabled and marker and not marked:
        # Only undo what a disable with this marker did.
        return {"changed": False, "before": before, "after": after}
    changed = before["enabled"] != enabled
    after["enabled"] = enabled
    if marker:
        after["marker_present"] = not enabled and (marked or changed)
    if not check_mode:
        if changed:
            task["enabled"] = enabled
        if marker and not enabled and changed:
            host.set_reg_value(MARKERS_KEY, marker, "disabled by mecm.fieldkit image prep")
        if marker and enabled and marked:
            host.delete_reg_value(MARKERS_KEY, marker)
            key = host.reg_key(MARKERS_KEY)
            if key is not None and not key:
                stored = next(k for k in host.state["registry"] if k.lower() == MARKERS_KEY.lower())
                del host.state["registry"][stored]
    return {"changed": changed, "before": before, "after": after}


# --- the image-prep host record (HKLM\SOFTWARE\mecm.fieldkit\ImagePrep) ---------------------------
RECORD_KEY = "HKLM\\" + contract.IMAGE_PREP_RECORD_KEY
_RECORD_VALUES = {"record_id": "RecordId", "recorded_utc": "RecordedUtc", "computer_name": "ComputerName",
                  "sms_unique_id": "SmsUniqueId", "previous_sms_unique_id": "PreviousSmsUniqueId",
                  "smscfg_path": "SmscfgPath", "site_code": "SiteCode", "management_point": "ManagementPoint"}
_CERT_FIELDS = ("store", "thumbprint", "subject", "issuer", "template")


def _empty_record() -> dict[str, t.Any]:
    record: dict[str, t.Any] = {"key": RECORD_KEY, "present": False, "certificates": [], "trusted_root_keys": 0}
    record.update({field: None for field in _RECORD_VALUES})
    return record


def read_record(host: HostModel) -> dict[str, t.Any]:
    """Get-FieldkitImagePrepRecord: the registry key as the op result (certificates one tab-separated line each)."""
    record = _empty_record()
    key = host.reg_key(RECORD_KEY)
    if key is None:
        return record
    record["present"] = True
    for field, name in _RECORD_VALUES.items():
        value = host.reg_value(RECORD_KEY, name)
        if value not in (None, ""):
            record[field] = str(value)
    record["trusted_root_keys"] = int(host.reg_value(RECORD_KEY, "TrustedRootKeys") or 0)
    for line in host.reg_value(RECORD_KEY, "Certificates") or []:
        parts = str(line).split("\t")
        if len(parts) < 2:
            continue
        cert = dict(zip(_CERT_FIELDS, parts + [""] * (len(_CERT_FIELDS) - len(parts))))
        record["certificates"].append({k: (v or None) if k not in ("store", "thumbprint") else v
                                       for k, v in cert.items()})
    return record


def _write_record(host: HostModel, record: dict[str, t.Any]) -> None:
    for field, name in _RECORD_VALUES.items():
        if record.get(field) in (None, ""):
            host.delete_reg_value(RECORD_KEY, name)
        else:
            host.set_reg_value(RECORD_KEY, name, str(record[field]))
    lines = ["\t".join(str(c.get(f) or "").replace("\t", " ") for f in _CERT_FIELDS) for c in record["certificates"]]
    if lines:
        host.set_reg_value(RECORD_KEY, "Certificates", lines)
    else:
        host.delete_reg_value(RECORD_KEY, "Certificates")
    host.set_reg_value(RECORD_KEY, "TrustedRootKeys", int(record["trusted_root_keys"]))


@sim_op("image.read_removal_record")
def image_read_removal_record(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    return read_record(host)


@sim_op("image.write_removal_record")
def image_write_removal_record(host: HostModel, ctx: OpContext, *, smscfg: bool = False,
                               certificate_filters: list[dict[str, t.Any]] | None = None,
                               site_assignment: bool = False, trusted_root_key: bool = False,
                               check_mode: bool = False) -> dict[str, t.Any]:
    from .client import read_identity, read_site_assignment  # pylint: disable=import-outside-toplevel
    from .system import wmi_count_instances  # pylint: disable=import-outside-toplevel
    from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import (  # pylint: disable=import-outside-toplevel
        wire_args_to_snake,
    )

    before = read_record(host)
    after = {**before, "certificates": list(before["certificates"])}
    added = False
    if smscfg:
        identity = read_identity(host, ctx)
        if identity["smscfg_present"] and not after["smscfg_path"]:
            after["smscfg_path"] = identity["smscfg_path"]
            added = True
        unique_id = identity["smscfg_unique_id"] or identity["wmi_client_id"]
        if identity["smscfg_present"] and unique_id and not after["sms_unique_id"]:
            after["sms_unique_id"] = unique_id
            after["previous_sms_unique_id"] = identity["smscfg_previous_unique_id"] or None
            added = True
    for cert_filter in certificate_filters or []:
        try:
            plan = cert_remove(host, ctx, **wire_args_to_snake(cert_filter), check_mode=True)
        except SimWindowsError:
            continue  # the certificate step fails with this error itself and then removes nothing
        store = plan["before"]["store"]
        for match in plan["before"]["matching"]:
            if not any(c["thumbprint"] == match["thumbprint"] and c["store"] == store for c in after["certificates"]):
                after["certificates"].append({"store": store, "thumbprint": match["thumbprint"],
                                              "subject": match.get("subject"), "issuer": match.get("issuer"),
                                              "template": match.get("template")})
                added = True
    if site_assignment:
        site = read_site_assignment(host, ctx)
        code = site["registry_assigned_site"] or ""
        if site["com_available"] and site["com_assigned_site"] is not None:
            code = site["com_assigned_site"]
        if code and not after["site_code"]:
            after["site_code"] = str(code)
            after["management_point"] = site["current_management_point"] or None
            added = True
    if trusted_root_key:
        count = wmi_count_instances(host, ctx, namespace="root\\ccm\\locationservices",
                                    class_name="TrustedRootKey")["count"]
        if count > after["trusted_root_keys"]:
            after["trusted_root_keys"] = int(count)
            added = True
    if not added:
        return {"changed": False, "before": before, "after": after}
    if not after["present"]:
        after.update(present=True, computer_name=host.state["os"].get("computer_name", host.name.upper()),
                     recorded_utc=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     record_id=None if check_mode else str(uuid.uuid4()))
    if not check_mode:
        _write_record(host, after)
    return {"changed": True, "before": before, "after": after}


@sim_op("image.clear_removal_record")
def image_clear_removal_record(host: HostModel, ctx: OpContext, *, record_id: str,
                               check_mode: bool = False) -> dict[str, t.Any]:
    before = read_record(host)
    if not before["present"] or before["record_id"] != record_id:
        return {"changed": False, "before": before, "after": dict(before)}
    if not check_mode:
        stored = next(k for k in host.state["registry"] if k.lower() == RECORD_KEY.lower())
        del host.state["registry"][stored]
    return {"changed": True, "before": before, "after": _empty_record()}


def _wmi_matches(instance: dict[str, t.Any], property_name: str | None, property_value: str | None) -> bool:
    if not property_name:
        return True
    actual = next((v for k, v in instance.items() if k.lower() == property_name.lower()), None)
    return str(actual).lower() == str(property_value).lower()


@sim_op("wmi.remove_instances")
def wmi_remove_instances(host: HostModel, ctx: OpContext, *, namespace: str, class_name: str,
                         property_name: str | None = None, property_value: str | None = None,
                         timeout_seconds: int = 30, check_mode: bool = False) -> dict[str, t.Any]:
    base = {"namespace": namespace, "class_name": class_name, "namespace_present": True, "count": 0}
    if host.wmi_namespace(namespace) is None:
        absent = dict(base, namespace_present=False)
        return {"changed": False, "before": absent, "after": dict(absent)}
    instances = host.wmi_instances(namespace, class_name) or []
    matching = [i for i in instances if _wmi_matches(i, property_name, property_value)]
    before = dict(base, count=len(matching))
    if matching and not check_mode:
        instances[:] = [i for i in instances if not _wmi_matches(i, property_name, property_value)]
    return {"changed": bool(matching), "before": before, "after": dict(base)}


def _sms_client(host: HostModel) -> dict[str, t.Any] | None:
    if host.wmi_namespace("root\\ccm") is None:
        return None
    instances = host.wmi_instances("root\\ccm", "SMS_Client")
    return instances[0] if instances else None


@sim_op("client.reset_site_assignment")
def client_reset_site_assignment(host: HostModel, ctx: OpContext, *, check_mode: bool = False) -> dict[str, t.Any]:
    if not host.has_com_class("Microsoft.SMS.Client"):
        raise SimWindowsError(REGDB_E_CLASSNOTREG,
                              "Retrieving the COM class factory for component Microsoft.SMS.Client failed: "
                              "Class not registered", "Microsoft.SMS.Client")
    sms_client = _sms_client(host)
    site, error = assigned_site_reading(host)
    if site is None:
        raise SimWindowsError(error["code"], f"Microsoft.SMS.Client GetAssignedSite() failed: {error['message']} "
                              f"({error['hresult']}); cannot tell whether the client is assigned, so the site "
                              "assignment is not reset", "Microsoft.SMS.Client")
    before = {
        "com_available": True,
        "assigned_site": site,
        "auto_assignment": bool(sms_client["EnableAutoAssignment"]) if sms_client else None,
    }
    after = {"com_available": True, "assigned_site": "", "auto_assignment": True}
    changed = before["assigned_site"] != "" or before["auto_assignment"] is not True
    if changed and not check_mode:
        host.delete_reg_value(MOBILE_CLIENT, "AssignedSiteCode")
        if sms_client is not None:
            sms_client["EnableAutoAssignment"] = True
        ccm = host.wmi_namespace("root\\ccm")
        if ccm is not None:
            for key in [k for k in ccm if k.lower() == "sms_authority"]:
                ccm[key] = []
    return {"changed": changed, "before": before, "after": after}


@sim_op("client.set_provisioning_mode")
def client_set_provisioning_mode(host: HostModel, ctx: OpContext, *, enabled: bool,
                                 check_mode: bool = False) -> dict[str, t.Any]:
    value = host.reg_value(CCMEXEC_KEY, "ProvisioningMode")
    before = {"registry_value": str(value).lower() if value is not None else None}
    wanted = "true" if enabled else "false"
    changed = (before["registry_value"] == "true") != enabled
    if changed:
        if _sms_client(host) is None:
            raise SimWindowsError(WBEM_E_NOT_FOUND, "root\\ccm:SMS_Client is not available; is CcmExec running?",
                                  "SMS_Client")
        if not check_mode:
            host.set_reg_value(CCMEXEC_KEY, "ProvisioningMode", wanted)
    return {"changed": changed, "before": before, "after": {"registry_value": wanted if changed else before["registry_value"]}}


def _template_fields(cert: dict[str, t.Any]) -> dict[str, t.Any]:
    """template_name / template_oid of a certificate of the model (``template`` is the display label)."""
    name = cert.get("template_name")
    oid = cert.get("template_oid")
    return {"template": name or oid or None, "template_name": name, "template_oid": oid}


def cert_view(host: HostModel, cert: dict[str, t.Any]) -> dict[str, t.Any]:
    """A certificate of the model as cert.list returns it (shared with system.cert_list)."""
    return {
        "thumbprint": cert["thumbprint"],
        "subject": cert["subject"],
        "issuer": cert.get("issuer", cert["subject"]),
        "not_after": cert.get("not_after"),
        "has_private_key": _has_key(host, cert),
        "enhanced_key_usages": list(cert.get("enhanced_key_usages", [])),
        **_template_fields(cert),
    }


def _private_keys(host: HostModel) -> dict[str, t.Any]:
    """Key containers of the host (fixture key ``private_keys``: container name -> {"provider": cng|capi})."""
    keys: dict[str, t.Any] = host.state.get("private_keys") or {}
    return keys


def _key_exists(host: HostModel, container: str) -> bool:
    return any(name.lower() == str(container).lower() for name in _private_keys(host))


def _has_key(host: HostModel, cert: dict[str, t.Any]) -> bool:
    key = cert.get("key")
    if key:
        return _key_exists(host, key["container"])
    return bool(cert.get("has_private_key", True))


def _cert_key(host: HostModel, cert: dict[str, t.Any]) -> dict[str, t.Any] | None:
    """Where the private key is kept; a fixture certificate with a private key and no ``key`` has an implicit
    CAPI container that goes with the certificate."""
    if not _has_key(host, cert):
        return None
    key = cert.get("key")
    if key:
        return {"provider": key["provider"], "container": key["container"], "implicit": False}
    return {"provider": "capi", "container": f"sim-implicit-{cert['thumbprint'].lower()}", "implicit": True}


def _cert_matches(cert: dict[str, t.Any], thumbprints: list[str] | None, issuer: str | None, template: str | None,
                  require_client_auth: bool) -> bool:
    """The rule of plugin_utils/_cert_filter.py (the PowerShell implements the same)."""
    view = dict(cert, issuer=cert.get("issuer", cert["subject"]), **_template_fields(cert))
    return cert_filter.certificate_matches(view, thumbprints=thumbprints, issuer=issuer, template=template,
                                           require_client_auth=require_client_auth)


def _cert_summary(host: HostModel, cert: dict[str, t.Any]) -> dict[str, t.Any]:
    key = _cert_key(host, cert)
    return {"thumbprint": cert["thumbprint"], "subject": cert["subject"],
            "issuer": cert.get("issuer", cert["subject"]), **_template_fields(cert),
            "has_private_key": key is not None, "key_provider": key["provider"] if key else None,
            "key_container": key["container"] if key else None}


def _ambiguous_message(label: str, issuer: str | None, template: str | None, matching: list[dict[str, t.Any]]) -> str:
    listed = "; ".join(f"{c['thumbprint']} ({c['subject']}, template {_template_fields(c)['template']})"
                       for c in matching)
    return (f"the certificate filter (issuer '{issuer or ''}', template '{template or ''}') matches {len(matching)} "
            f"certificates in {label}: {listed}; without thumbprints it may select one certificate at most, so "
            "nothing was removed")


@sim_op("guard.assert_certificate_filter")
def assert_certificate_filter(host: HostModel, ctx: OpContext, *, store_name: str, store_location: str = "LocalMachine",
                              thumbprints: list[str] | None = None, issuer: str | None = None,
                              template: str | None = None, require_client_auth: bool = True,
                              allow_multiple: bool = False) -> dict[str, t.Any]:
    label = f"{store_location}\\{store_name}"
    store = host.cert_store(store_location, store_name)
    if store is None:
        return _passed("certificate_filter", [f"store {label} does not exist"])
    matching = [c for c in store if _cert_matches(c, thumbprints, issuer, template, require_client_auth)]
    if cert_filter.ambiguous(len(matching), thumbprints, allow_multiple):
        raise SimWindowsError(GUARD_CODES["certificate_filter"], _ambiguous_message(label, issuer, template, matching),
                              label)
    return _passed("certificate_filter", [f"{len(matching)} certificate(s) in {label} match the filter"])


def _delete_key(host: HostModel, cert: dict[str, t.Any], key: dict[str, t.Any], label: str) -> None:
    if cert.get("key_delete_denied"):
        raise SimWindowsError(E_ACCESSDENIED, f"could not delete the {key['provider']} private key container "
                              f"{key['container']} of certificate {cert['thumbprint']} ({cert['subject']}): Access is "
                              "denied.; the certificate is not removed", cert["thumbprint"], "PermissionDenied")
    if key["implicit"]:
        cert["has_private_key"] = False
        return
    keys = _private_keys(host)
    for name in [n for n in keys if n.lower() == key["container"].lower()]:
        del keys[name]


@sim_op("cert.remove")
def cert_remove(host: HostModel, ctx: OpContext, *, store_name: str, store_location: str = "LocalMachine",
                thumbprints: list[str] | None = None, issuer: str | None = None, template: str | None = None,
                require_client_auth: bool = True, remove_all: bool = False, allow_multiple: bool = False,
                check_mode: bool = False) -> dict[str, t.Any]:
    label = f"{store_location}\\{store_name}"
    if remove_all and store_name.lower() != "sms":
        raise SimWindowsError(E_INVALIDARG, f"remove_all is only allowed for LocalMachine\\SMS, not {label}", label,
                              "InvalidArgument")
    if not remove_all and not (thumbprints or issuer or template):
        raise SimWindowsError(E_INVALIDARG, f"no certificate filter given for {label}; refusing to remove anything",
                              label, "InvalidArgument")
    store = host.cert_store(store_location, store_name)
    if store is None:
        absent = {"store": label, "store_exists": False, "matching": [], "removed": []}
        return {"changed": False, "before": absent, "after": dict(absent)}
    matching = [c for c in store
                if remove_all or _cert_matches(c, thumbprints, issuer, template, require_client_auth)]
    if not remove_all and cert_filter.ambiguous(len(matching), thumbprints, allow_multiple):
        raise SimWindowsError(E_INVALIDARG, _ambiguous_message(label, issuer, template, matching), label,
                              "InvalidArgument")
    keys = {c["thumbprint"]: _cert_key(host, c) for c in matching}
    before = {"store": label, "store_exists": True, "matching": [_cert_summary(host, c) for c in matching],
              "removed": []}
    after: dict[str, t.Any] = {"store": label, "store_exists": True, "matching": [], "removed": []}
    if matching and not check_mode:
        removed: list[tuple[str, dict[str, t.Any] | None]] = []
        for cert in matching:
            key = keys[cert["thumbprint"]]
            if key is not None:
                _delete_key(host, cert, key, label)
            if cert.get("delete_denied"):
                raise SimWindowsError(E_ACCESSDENIED, f"Access is denied. (deleting {cert['thumbprint']} from {label})",
                                      label, "PermissionDenied")
            store.remove(cert)
            removed.append((cert["thumbprint"], key))
        # Verification: the store and the key containers are read again.
        present = {c["thumbprint"] for c in store}
        after["matching"] = [_cert_summary(host, c) for c in store
                             if remove_all or _cert_matches(c, thumbprints, issuer, template, require_client_auth)]
        after["removed"] = [{
            "thumbprint": thumbprint,
            "certificate_removed": thumbprint not in present,
            "key_provider": key["provider"] if key else None,
            "key_container": key["container"] if key else None,
            "key_removed": None if key is None else (key["implicit"] or not _key_exists(host, key["container"])),
        } for thumbprint, key in removed]
    return {"changed": bool(matching), "before": before, "after": after}


@sim_op("file.remove")
def file_remove(host: HostModel, ctx: OpContext, *, path: str, check_mode: bool = False) -> dict[str, t.Any]:
    full = _expand(host, path)
    exists = host.file(full) is not None
    if exists and not check_mode:
        host.delete_file(full)
    return {"changed": exists, "before": {"path": full, "exists": exists}, "after": {"path": full, "exists": False}}


@sim_op("registry.remove_values")
def registry_remove_values(host: HostModel, ctx: OpContext, *, path: str, names: list[str],
                           check_mode: bool = False) -> dict[str, t.Any]:
    key = host.reg_key(path)
    present = {} if key is None else {n: str(host.reg_value(path, n)) for n in names
                                      if host.reg_value(path, n) is not None}
    if present and not check_mode:
        for name in present:
            host.delete_reg_value(path, name)
    return {"changed": bool(present), "before": {"path": path, "key_exists": key is not None, "values": present},
            "after": {"path": path, "key_exists": key is not None, "values": {}}}


@sim_op("folder.empty")
def folder_empty(host: HostModel, ctx: OpContext, *, path: str, required_leaf: str,
                 check_mode: bool = False) -> dict[str, t.Any]:
    full = _expand(host, path).rstrip("\\")
    if full.rsplit("\\", 1)[-1].lower() != required_leaf.lower():
        raise SimWindowsError(E_INVALIDARG, f"refusing to empty {full}: the folder must be named {required_leaf}",
                              full, "InvalidArgument")
    prefix = full.lower() + "\\"
    inside = [p for p in host.state["files"] if p.lower().startswith(prefix)]
    exists = bool(inside) or any(f.lower() == full.lower() for f in host.state.get("folders", []))
    size = sum(len(host.state["files"][p]) for p in inside)
    if inside and not check_mode:
        for p in inside:
            del host.state["files"][p]
    return {"changed": bool(inside),
            "before": {"path": full, "exists": exists, "item_count": len(inside), "size_bytes": size},
            "after": {"path": full, "exists": exists, "item_count": 0, "size_bytes": 0}}


def _resolve(host: HostModel, name: str) -> list[str]:
    try:
        ipaddress.ip_address(name)
        return [name]
    except ValueError:
        pass
    network = host.state.get("client_network", {})
    for mp_name, mp in network.get("management_points", {}).items():
        if mp_name.lower() == name.lower():
            return [mp["address"]]
    for dns_name, address in network.get("dns", {}).items():
        if dns_name.lower() == name.lower():
            return [address] if isinstance(address, str) else list(address)
    raise SimWindowsError(WSAHOST_NOT_FOUND, f"No such host is known ({name})", name)


def _address_set(addresses: list[str]) -> list[str]:
    """ConvertTo-FieldkitAddressSet: single addresses in [IPAddress] form, the rest lower case, sorted ordinally."""
    canonical: list[str] = []
    for entry in addresses:
        text = str(entry).strip().lower()
        if not text:
            continue
        try:
            text = str(ipaddress.ip_address(text))
        except ValueError:
            pass
        if text not in canonical:
            canonical.append(text)
    return sorted(canonical)


@sim_op("firewall.ensure_block_rule")
def firewall_ensure_block_rule(host: HostModel, ctx: OpContext, *, name: str, remote_addresses: list[str] | None = None,
                               state: str = "present", resolve_timeout_seconds: int = 10,
                               check_mode: bool = False) -> dict[str, t.Any]:
    rules = host.state.get("firewall_rules", {})
    current = rules.get(name)
    before = {"name": name, "exists": current is not None,
              "remote_addresses": _address_set(current["remote_addresses"]) if current else []}
    if state == "absent":
        if current is not None and not check_mode:
            del rules[name]
        return {"changed": current is not None, "before": before,
                "after": {"name": name, "exists": False, "remote_addresses": []}}
    wanted = _address_set([address for n in (remote_addresses or []) for address in _resolve(host, n)])
    if not wanted:
        raise SimWindowsError(E_INVALIDARG, f"firewall rule {name}: no remote address to block", name, "InvalidArgument")
    changed = before["remote_addresses"] != wanted
    if changed and not check_mode:
        host.state.setdefault("firewall_rules", {})[name] = {
            "direction": "outbound", "action": "block", "enabled": True, "remote_addresses": wanted,
            "group": "mecm.fieldkit"}
    return {"changed": changed, "before": before, "after": {"name": name, "exists": True, "remote_addresses": wanted}}


@sim_op("firewall.read_rule")
def firewall_read_rule(host: HostModel, ctx: OpContext, *, name: str) -> dict[str, t.Any]:
    current = host.state.get("firewall_rules", {}).get(name)
    return {"name": name, "exists": current is not None,
            "enabled": bool(current.get("enabled", True)) if current is not None else None,
            "remote_addresses": _address_set(current["remote_addresses"]) if current else []}


# --- ccmsetup -------------------------------------------------------------------------------------
def _ccmsetup_log_path(host: HostModel) -> str:
    return host.windir + "\\ccmsetup\\Logs\\ccmsetup.log"


def _cmtrace(message: str, clock: int, thread: int = 3312, type_: int = 1) -> str:
    seconds = 9 * 3600 + clock
    stamp = f"{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.000-540"
    return (f'<![LOG[{message}]LOG]!><time="{stamp}" date="11-20-2026" component="ccmsetup" context="" '
            f'type="{type_}" thread="{thread}" file="ccmsetup.cpp:1">')


def _append_log(host: HostModel, lines: list[str]) -> None:
    path = _ccmsetup_log_path(host)
    stored = next((p for p in host.state["files"] if p.lower() == path.lower()), path)
    host.state["files"][stored] = host.state["files"].get(stored, "") + "".join(line + "\r\n" for line in lines)


def _next_pid(host: HostModel) -> int:
    used = {p.get("pid") for p in host.state["processes"]}
    pid = 5100
    while pid in used:
        pid += 4
    return pid


def _check_process_create(host: HostModel, name: str, command: str) -> None:
    """Fixture key ``process_create_failures: {"ccmsetup": 9}``: Win32_Process.Create returns that value."""
    return_value = host.state.get("process_create_failures", {}).get(name)
    if return_value:
        raise SimWindowsError(contract.process_create_hresult(int(return_value)),
                              f"Win32_Process.Create returned {return_value} for {command}", command)


@sim_op("ccmsetup.start")
def ccmsetup_start(host: HostModel, ctx: OpContext, *, path: str, arguments: list[str] | None = None,
                   check_mode: bool = False) -> dict[str, t.Any]:
    arguments = list(arguments or [])
    for argument in arguments:
        if "smssitecode" in argument.lower():
            raise SimWindowsError(E_INVALIDARG, "SMSSITECODE is refused: image prep installs the client unassigned",
                                  "ccmsetup.exe", "InvalidArgument")
        if not contract.is_safe_ccmsetup_argument(argument):
            raise SimWindowsError(E_INVALIDARG, f"ccmsetup argument {argument} contains characters that are not allowed",
                                  "ccmsetup.exe", "InvalidArgument")
    exe = _expand(host, path).rstrip("\\") + "\\ccmsetup.exe"
    if host.file(exe) is None:
        raise SimWindowsError(ERROR_FILE_NOT_FOUND, f"Could not find file '{exe}'", exe, "ObjectNotFound")
    job = host.state.get("ccmsetup_job")
    running = bool(job) or bool(_ccmsetup_evidence(host))
    before = {"client_installed": _client_installed(host), "running": running,
              "process_id": job["pid"] if job else None}
    if before["client_installed"] or running:
        return {"changed": False, "before": before, "after": dict(before)}
    after = {"client_installed": False, "running": True, "process_id": None}
    if not check_mode:
        profile = host.state.get("ccmsetup_profile", {})
        _check_process_create(host, "ccmsetup", exe)
        pid = _next_pid(host)
        host.state["processes"].append({"name": "ccmsetup", "pid": pid})
        host.state["services"]["ccmsetup"] = {"state": "running", "start_mode": "auto", "process_id": pid}
        host.state["ccmsetup_job"] = {
            "pid": pid, "elapsed_seconds": 0, "arguments": arguments,
            "duration_seconds": int(profile.get("duration_seconds", 300)),
            "return_code": int(profile.get("return_code", 0)),
        }
        _append_log(host, [_cmtrace(f"==========[ ccmsetup started in process {pid} ]==========", 0),
                           _cmtrace(f"Running on 'Microsoft Windows' as {ctx.become_user or ctx.winrm_user}", 0),
                           _cmtrace("Command line: \"" + exe + "\" " + " ".join(arguments), 0)])
        after["process_id"] = pid
    return {"changed": True, "before": before, "after": after}


def _stable_guid(seed: str) -> str:
    return "GUID:" + str(uuid.uuid5(uuid.NAMESPACE_DNS, seed)).upper()


def _stable_thumbprint(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest().upper()


def _candidate_mps(host: HostModel, arguments: list[str]) -> list[str]:
    network = host.state.get("client_network", {})
    known = network.get("management_points", {})
    found: list[str] = []
    for arg in arguments:
        match = re.match(r"(?i)^(?:SMSMP=|/mp:)(.+)$", arg)
        if match:
            found.extend(m for m in match.group(1).split(";") if m)
    if network.get("ad_site_publishing") or any(a.upper().startswith("DNSSUFFIX=") for a in arguments):
        found.extend(known)
    return [m for m in dict.fromkeys(found) if any(m.lower() == k.lower() for k in known)]


def _blocked(host: HostModel, address: str) -> bool:
    return any(rule.get("enabled", True) and rule.get("direction") == "outbound" and rule.get("action") == "block"
               and address in rule.get("remote_addresses", [])
               for rule in host.state.get("firewall_rules", {}).values())


def _install_client(host: HostModel, arguments: list[str]) -> None:
    """What a successful ccmsetup leaves behind; a reachable MP assigns the site (why the seed unplugs)."""
    profile = host.state.get("ccmsetup_profile", {})
    version = profile.get("client_version", "5.00.9132.1011")
    guid = _stable_guid(f"{host.name}-client")
    computer = host.state["os"].get("computer_name", host.name.upper())
    pid = 4300
    host.state["services"]["CcmExec"] = {"state": "running", "start_mode": "delayed_auto", "process_id": pid,
                                         "display_name": "SMS Agent Host"}
    host.state["services"].setdefault("smstsmgr", {"state": "stopped", "start_mode": "manual", "process_id": None})
    host.state["processes"].append({"name": "CcmExec", "pid": pid})
    host.state["scheduled_tasks"][HEALTH_TASK] = {"enabled": True, "state": "ready"}
    if host.reg_key("HKLM\\SOFTWARE\\Microsoft\\CCM") is None:
        host.state["registry"]["HKLM\\SOFTWARE\\Microsoft\\CCM"] = {}
    host.set_reg_value(CCMEXEC_KEY, "ProvisioningMode", "false")
    host.set_reg_value(CCMEXEC_KEY, "ProvisioningMaxMinutes", 2880)
    host.set_reg_value(MOBILE_CLIENT, "ProductVersion", version)
    host.set_reg_value("HKLM\\SOFTWARE\\Microsoft\\SMS\\Client\\Configuration\\Client Properties", "Local SMS Path",
                       host.windir + "\\CCM\\")
    for arg in arguments:
        if arg.upper().startswith("DNSSUFFIX="):
            host.set_reg_value("HKLM\\SOFTWARE\\Microsoft\\CCM\\LocationServices", "DnsSuffix", arg.split("=", 1)[1])
    host.state["files"][host.windir + "\\SMSCFG.ini"] = (
        "[Configuration - Client Properties]\r\n"
        f"SMS Unique Identifier={guid}\r\n"
        "Previous SMSUID=\r\n"
        f"SMS Certificate Identifier=SMS;{_stable_thumbprint(host.name + '-signing')}\r\n"
        f"Last Version={version}\r\n")
    components = [("CcmFramework", "CCM Framework"), ("CcmPolicyAgent", "CCM Policy Agent"),
                  ("SmsClient", "SMS Client"), ("SmsInventory", "SMS Inventory Agent"),
                  ("CcmNotificationAgent", "CCM Notification Agent")]
    host.state["wmi"]["root\\ccm"] = {
        "SMS_Client": [{"ClientVersion": version, "EnableAutoAssignment": True, "ClientType": 1}],
        "CCM_Client": [{"ClientId": guid, "PreviousClientId": "", "ClientIdChangeDate": "11/20/2026 09:05:00"}],
        "SMS_Authority": [],
        "CCM_InstalledComponent": [{"Name": n, "DisplayName": d, "Version": version} for n, d in components],
    }
    host.state["wmi"]["root\\ccm\\invagt"] = {"InventoryActionStatus": []}
    subject = f"CN=SMS, CN={computer}"
    for role in ("signing", "encryption"):
        container = f"SMS-{_stable_guid(host.name + '-' + role)[5:]}"
        host.state.setdefault("private_keys", {})[container] = {"provider": "capi"}
    host.state["cert_stores"]["LocalMachine\\SMS"] = [
        {"thumbprint": _stable_thumbprint(host.name + "-signing"), "subject": subject, "issuer": subject,
         "not_after": "2046-11-20T00:05:00Z", "has_private_key": True,
         "enhanced_key_usages": ["1.3.6.1.4.1.311.101"], "template_name": None, "template_oid": None,
         "key": {"provider": "capi", "container": f"SMS-{_stable_guid(host.name + '-signing')[5:]}"}},
        {"thumbprint": _stable_thumbprint(host.name + "-encryption"), "subject": subject, "issuer": subject,
         "not_after": "2046-11-20T00:05:00Z", "has_private_key": True,
         "enhanced_key_usages": ["1.3.6.1.4.1.311.101.2"], "template_name": None, "template_oid": None,
         "key": {"provider": "capi", "container": f"SMS-{_stable_guid(host.name + '-encryption')[5:]}"}},
    ]
    if "Microsoft.SMS.Client" not in host.state["com_classes"]:
        host.state["com_classes"].append("Microsoft.SMS.Client")
    known = host.state.get("client_network", {}).get("management_points", {})
    for mp in _candidate_mps(host, arguments):
        info = next(v for k, v in known.items() if k.lower() == mp.lower())
        if _blocked(host, info["address"]):
            continue
        host.set_reg_value(MOBILE_CLIENT, "AssignedSiteCode", info["site_code"])
        host.state["wmi"]["root\\ccm"]["SMS_Authority"] = [{"Name": f"SMS:{info['site_code']}",
                                                             "CurrentManagementPoint": mp}]
        host.state["wmi"]["root\\ccm\\locationservices"] = {
            "TrustedRootKey": [{"TrustedRootKey": "0602000000A4000052534131" + _stable_thumbprint(mp)}],
            "SMS_ActiveMPCandidate": [{"MP": mp}]}
        break


def _finish_ccmsetup(host: HostModel, job: dict[str, t.Any]) -> None:
    host.state["processes"] = [p for p in host.state["processes"] if p["name"].lower() != "ccmsetup"]
    for name in [n for n in host.state["services"] if n.lower() == "ccmsetup"]:
        del host.state["services"][name]
    host.state.pop("ccmsetup_job", None)
    code = job["return_code"]
    clock = job["elapsed_seconds"]
    lines = [_cmtrace("Running check for pending reboot.", clock)]
    if code in (0, 7):
        _install_client(host, job["arguments"])
        lines.append(_cmtrace("Installation succeeded. Windows Installer has requested a reboot." if code == 7
                              else "Client installation succeeded.", clock))
    else:
        lines.append(_cmtrace("CcmSetup failed with error code 0x80070643", clock, type_=3))
    lines.append(_cmtrace(f"CcmSetup is exiting with return code {code}", clock))
    _append_log(host, lines)


_PROGRESS = (
    "Successfully extracted manifest file C:\\WINDOWS\\ccmsetup\\ccmsetup.xml from file C:\\WINDOWS\\ccmsetup\\ccmsetup.cab.",
    "Installing file 'C:\\WINDOWS\\ccmsetup\\vcredist_x64.exe' with options '/Q'",
    "Running installation of 'C:\\WINDOWS\\ccmsetup\\client.msi'...",
    "Waiting for the client.msi installation to complete",
)


@sim_op("ccmsetup.read_status")
def ccmsetup_read_status(host: HostModel, ctx: OpContext, *, wait_seconds: int = 0,
                         tail_lines: int = 20) -> dict[str, t.Any]:
    job = host.state.get("ccmsetup_job")
    waited = 0
    if job is not None and wait_seconds > 0:
        # Simulated time: the host "waits" without the test waiting.
        waited = min(wait_seconds, job["duration_seconds"] - job["elapsed_seconds"])
        job["elapsed_seconds"] += waited
        if job["elapsed_seconds"] >= job["duration_seconds"]:
            _finish_ccmsetup(host, job)
        else:
            _append_log(host, [_cmtrace(_PROGRESS[min(len(_PROGRESS) - 1,
                                                      len(_PROGRESS) * job["elapsed_seconds"] // job["duration_seconds"])],
                                        job["elapsed_seconds"])])
    svc = host.service("ccmsetup")
    pids = [p["pid"] for p in host.processes("ccmsetup")]
    path = _ccmsetup_log_path(host)
    text = host.file(path)
    lines = [line for line in (text or "").splitlines() if line.strip()]
    codes = [int(m.group(1)) for line in lines for m in [re.search(r"CcmSetup is exiting with return code (\d+)", line)]
             if m]
    return {
        "running": bool(pids) or (svc is not None and svc["state"] != "stopped"),
        "process_ids": pids,
        "service_state": svc["state"] if svc else None,
        "waited_seconds": int(waited),
        "log_path": path,
        "log_present": text is not None,
        "return_code": codes[-1] if codes else None,
        "log_tail": lines[-tail_lines:] if tail_lines > 0 else [],
    }


@sim_op("sysprep.start")
def sysprep_start(host: HostModel, ctx: OpContext, *, mode_vm: bool = False, check_mode: bool = False
                  ) -> dict[str, t.Any]:
    command = f"{host.windir}\\System32\\Sysprep\\sysprep.exe /generalize /oobe /shutdown /quiet"
    if mode_vm:
        command += " /mode:vm"
    running = host.processes("sysprep")
    before = {"running": bool(running), "process_id": running[0]["pid"] if running else None, "command_line": command}
    if running:
        return {"changed": False, "before": before, "after": dict(before)}
    after = {"running": True, "process_id": None, "command_line": command}
    if not check_mode:
        _check_process_create(host, "sysprep", command)
        pid = _next_pid(host)
        host.state["processes"].append({"name": "sysprep", "pid": pid})
        host.state["sysprep"] = {"command_line": command, "process_id": pid}
        after["process_id"] = pid
    return {"changed": True, "before": before, "after": after}
