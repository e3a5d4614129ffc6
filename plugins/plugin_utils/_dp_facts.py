# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans and shapers of win_sccm_dp_facts and win_sccm_site_facts. FOR INTERNAL COLLECTION USE ONLY.

Both facts modules send ONE batch. Every op of a facts batch is planned with ``always=True``, so
a failing read (say, WMI security on a broken DP) does not hide the others: the failure becomes
an entry of ``errors`` in the facts and the fact it would have filled is null.
"""
from __future__ import annotations

import datetime as _dt
import re
import typing as t

from ._batch import BatchOutcome
from ._host_contract import LOG_FILE_NAME_RE
from ._ops import PlannedOp

DP_SHARES = ("ADMIN$", "SCCMContentLib$", "SMS_DP$", "SMSPKG*$", "SMSSIG$")
DP_SERVICES = ("DcomLaunch", "RpcSs", "RpcEptMapper", "Winmgmt", "LanmanServer", "W32Time", "W3SVC")
SITE_SERVICES = ("DcomLaunch", "RpcSs", "RpcEptMapper", "Winmgmt", "LanmanServer", "W32Time", "SMS_EXECUTIVE")
SITE_LOGS = ("distmgr.log", "PkgXferMgr.log", "PatchDownloader.log")
# PatchDownloader.log of automatic deployment rules lives in the client log folder of the site server.
SITE_LOG_PATHS = ("%windir%\\CCM\\Logs\\PatchDownloader.log",)
# The only folders log_paths may name (the client log folder of the site server); the host resolves them itself
# (path reference kind site_log, folder client) and reads nothing but ConfigMgr log file names there.
# Package source shares read from the SMS Provider when source_shares is not given (sms.read_package_sources).
MAX_PACKAGES = 2000
MAX_SOURCE_SHARES = 10
CLIENT_LOG_FOLDERS = ("%windir%\\ccm\\logs", "%systemroot%\\ccm\\logs")
NO_SMS_MARKER = "NO_SMS_ON_DRIVE.SMS"
SCCMDP_NAMESPACE = "root\\SCCMDP"
SCCMDP_CLASS = "SMS_DistributionPoint"
ADMINISTRATORS_SID = "S-1-5-32-544"
DCOM_PROVIDER = "Microsoft-Windows-DistributedCOM"
OLE_KEY = "SOFTWARE\\Microsoft\\Ole"
APPCOMPAT_KEY = "SOFTWARE\\Microsoft\\Ole\\AppCompat"
IDENTIFICATION_KEY = "SOFTWARE\\Microsoft\\SMS\\Identification"
DP_KEY = "SOFTWARE\\Microsoft\\SMS\\DP"
DCOM_VALUES = ("RequireIntegrityActivationAuthenticationLevel", "RaiseActivationAuthenticationLevel")
# A pull DP downloads from its source DPs over HTTP or HTTPS (BITS), as the source DP's clients do.
PULL_PORTS = (80, 443)
PULL_DP_LOGS = ("PullDP.log", "DataTransferService.log")
MAX_SOURCE_DPS = 16
# Use with fullmatch ("$" alone would accept a trailing newline). Every name HOST_NAME_RE accepts, the host's
# _host_contract.HOST_NAME_PATTERN accepts too (tests/unit/contract/test_host_contract.py).
HOST_NAME_RE = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?")
UNC_RE = re.compile(r"\\\\[^\\/:*?\"<>|\r\n]+\\[^\\/:*?\"<>|\r\n]+(\\[^/:*?\"<>|\r\n]*)*")

# Named access rights of WMI namespaces ([MS] "Namespace Access Rights Constants").
WMI_RIGHTS: tuple[tuple[int, str], ...] = (
    (0x1, "enable_account"),
    (0x2, "execute_methods"),
    (0x4, "full_write"),
    (0x8, "partial_write"),
    (0x10, "provider_write"),
    (0x20, "remote_enable"),
    (0x20000, "read_security"),
    (0x40000, "edit_security"),
)


def parse_utc(value: str | None) -> _dt.datetime | None:
    """ISO 8601 (``Z`` or offset) to an aware UTC datetime; None when absent or unparsable."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    return parsed.astimezone(_dt.timezone.utc)


def wmi_rights(mask: int) -> list[str]:
    """Names of the WMI namespace rights in an access mask."""
    return [name for bit, name in WMI_RIGHTS if mask & bit]


def short_name(name: str) -> str:
    return name.strip().rstrip(".").split(".")[0].lower()


# ---------------------------------------------------------------------------------------------
# win_sccm_dp_facts
# ---------------------------------------------------------------------------------------------
def pull_log_refs() -> list[dict[str, t.Any]]:
    """Where a pull DP writes PullDP.log and DataTransferService.log.

    Microsoft lists them among the client logs ("Advanced troubleshooting tips for content distribution": client logs
    include the pull DP logs), so they are read from the client log folder (%windir%\\CCM\\Logs) and, for a DP
    without the client, from SMS_CCM\\Logs at the root of each fixed drive (only existing files are read)."""
    refs: list[dict[str, t.Any]] = [{"kind": "site_log", "name": name, "folder": "client"} for name in PULL_DP_LOGS]
    refs += [{"kind": "fixed_drives", "append": f"SMS_CCM\\Logs\\{name}"} for name in PULL_DP_LOGS]
    return refs


def plan_pull_path(params: dict[str, t.Any], since: str) -> list[PlannedOp]:
    """A pull DP's own path, in the same batch: from the DP to each source DP (DNS, TCP 80/443; no RPC), and the
    errors and warnings of its PullDP.log and DataTransferService.log."""
    sources = list(params.get("source_dps") or [])
    if not sources:
        return []
    return [
        PlannedOp("pull_probe", "net.probe_targets", {
            "targets": sources, "tcp_ports": list(PULL_PORTS), "check_epm": False, "check_wmi": False,
            "check_clock": False, "connect_timeout_ms": params.get("source_connect_timeout_ms", 3000),
            "timeout_seconds": params.get("source_probe_timeout", 15),
            "max_parallel": min(len(sources), MAX_SOURCE_DPS)}, always=True),
        PlannedOp("pull_logs", "log.read_filtered", {
            "path_refs": pull_log_refs(), "severities": ["error", "warning"], "since_utc": since,
            "max_lines": params["log_max_lines"], "max_bytes": params["log_max_bytes"]}, always=True),
    ]


def plan_dp_facts(params: dict[str, t.Any], now_utc: str | None = None) -> list[PlannedOp]:
    """The read-only ops behind ``ansible_facts.sccm_dp``: one batch, one module execution."""
    since = window_start_utc(now_utc, params["log_window_hours"])
    plan = [
        # Who runs the batch: the seed's local root\SCCMDP test runs as SYSTEM (PsExec -s); become does the same.
        PlannedOp("identity", "identity.read", {"include_computer_groups": False}, always=True),
        PlannedOp("role", "dp.read_role", always=True),
        PlannedOp("shares", "share.list", {"names": list(DP_SHARES), "include_access": True}, always=True),
        PlannedOp("disks", "disk.list", {"marker_file": NO_SMS_MARKER}, always=True),
    ]
    plan += [PlannedOp(f"svc_{name}", "service.read", {"name": name}, always=True) for name in DP_SERVICES]
    plan += [
        PlannedOp("registry", "registry.read_values", {"items": [
            {"key": OLE_KEY, "names": ["EnableDCOM"]},
            {"key": APPCOMPAT_KEY, "names": list(DCOM_VALUES)},
        ]}, always=True),
        PlannedOp("os", "os.read_info", {"include_hotfixes": params["gather_hotfixes"]}, always=True),
        PlannedOp("time", "time.read", always=True),
        PlannedOp("wmi_local", "wmi.test_namespace", {"namespace": SCCMDP_NAMESPACE, "class_name": SCCMDP_CLASS},
                  always=True),
        PlannedOp("wmi_security", "wmi.read_namespace_security", {"namespace": "root"}, always=True),
        PlannedOp("content_acl", "acl.read", {"path_refs": [
            {"kind": "registry", "key": DP_KEY, "name": "ContentLibraryPath"},
            {"kind": "registry", "key": DP_KEY, "name": "ContentLibUsableDrives", "append": "SCCMContentLib"},
        ]}, always=True),
        PlannedOp("administrators", "group.read_members", {"sid": ADMINISTRATORS_SID}, always=True),
        PlannedOp("dcom_events", "event.query", {
            "log_name": "System", "provider_name": DCOM_PROVIDER, "event_ids": [10036],
            "since_hours": params["event_window_hours"], "max_events": params["max_events"]}, always=True),
        PlannedOp("smsdpprov", "log.read_filtered", {
            "path_refs": [{"kind": "fixed_drives", "append": "SMS_DP$\\sms\\logs\\smsdpprov.log"}],
            "severities": ["error"], "since_utc": since,
            "max_lines": params["log_max_lines"], "max_bytes": params["log_max_bytes"]}, always=True),
    ]
    return plan + plan_pull_path(params, since)


def window_start_utc(now_utc: str | None, hours: int) -> str:
    now = parse_utc(now_utc) or _dt.datetime.now(_dt.timezone.utc)
    return (now - _dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def op_errors(outcome: BatchOutcome) -> list[dict[str, t.Any]]:
    """Failed ops of a facts batch, as ``{op, step, hresult, message}``."""
    errors = []
    for op in outcome.ops.values():
        if op.status == "failed":
            err = op.error or {}
            errors.append({"step": op.id, "op": op.op, "hresult": err.get("hresult"), "message": err.get("message")})
        elif op.status in ("missing", "not_run"):
            errors.append({"step": op.id, "op": op.op, "hresult": None, "message": f"op {op.status}"})
    return errors


def _services(outcome: BatchOutcome, names: t.Iterable[str]) -> dict[str, t.Any]:
    services: dict[str, t.Any] = {}
    for name in names:
        data = outcome.data(f"svc_{name}")
        services[name] = None if data is None else {
            "exists": data["exists"], "state": data["state"], "start_mode": data["start_mode"]}
    return services


def _registry(outcome: BatchOutcome, step: str = "registry") -> dict[str, dict[str, t.Any]] | None:
    data = outcome.data(step)
    if data is None:
        return None
    return {item["key"].lower(): (item["values"] if item["exists"] else {}) for item in data["keys"]}


def _dcom(registry: dict[str, dict[str, t.Any]] | None) -> dict[str, t.Any] | None:
    if registry is None:
        return None
    ole = registry.get(OLE_KEY.lower(), {})
    compat = registry.get(APPCOMPAT_KEY.lower(), {})
    enable = ole.get("EnableDCOM")
    return {
        "enable_dcom": enable,
        "enabled": True if enable is None else str(enable).strip().upper() == "Y",
        "enable_dcom_default": enable is None,
        "require_integrity_activation_authentication_level": _int_or_none(compat.get(DCOM_VALUES[0])),
        "raise_activation_authentication_level": _int_or_none(compat.get(DCOM_VALUES[1])),
    }


def _int_or_none(value: t.Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _os(data: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
    if data is None:
        return None
    build, ubr = data.get("build"), data.get("ubr")
    return {
        "computer_name": data["computer_name"],
        "fqdn": data.get("fqdn"),
        "domain": data.get("domain"),
        "ipv4_addresses": data.get("ipv4_addresses", []),
        "ipv6_addresses": data.get("ipv6_addresses", []),
        "product_name": data.get("product_name"),
        "installation_type": data.get("installation_type"),
        "display_version": data.get("display_version"),
        "build": build,
        "ubr": ubr,
        "version": f"{build}.{ubr}" if build is not None and ubr is not None else None,
        "system_drive": data.get("system_drive"),
        "temp_path": data.get("temp_path"),
        "ansi_code_page": data.get("ansi_code_page"),
        "ui_culture": data.get("ui_culture"),
        "hotfixes": data.get("hotfixes", []),
        "hotfixes_collected": data.get("hotfixes_collected", False),
    }


def _time(data: dict[str, t.Any] | None, started: str | None, finished: str | None) -> dict[str, t.Any] | None:
    """Host clock facts plus an estimate of its offset to the controller clock."""
    if data is None:
        return None
    keys = ("utc_now", "timezone_id", "bias_minutes", "w32time_type", "ntp_server", "source", "last_sync_utc",
            "status_lines")
    result = {key: data.get(key) for key in keys}
    host = parse_utc(data.get("utc_now"))
    before, after = parse_utc(started), parse_utc(finished)
    result["controller_offset_seconds"] = None
    result["controller_offset_uncertainty_seconds"] = None
    if host and before and after:
        middle = before + (after - before) / 2
        result["controller_offset_seconds"] = round((host - middle).total_seconds(), 3)
        result["controller_offset_uncertainty_seconds"] = round((after - before).total_seconds() / 2, 3)
    return result


def _disks(data: dict[str, t.Any] | None) -> list[dict[str, t.Any]] | None:
    if data is None:
        return None
    return [{"drive": d["drive"], "size_bytes": d["size_bytes"], "free_bytes": d["free_bytes"],
             "free_percent": d["free_percent"], "file_system": d.get("file_system"),
             "no_sms_on_drive": bool(d.get("marker_present"))} for d in data["disks"]]


def drive_of(path: str | None) -> str | None:
    """``D:`` of ``D:\\SCCMContentLib``; None for UNC or relative paths."""
    if path and len(path) >= 2 and path[1] == ":" and path[0].isalpha():
        return path[0].upper() + ":"
    return None


def _acl_entries(entries: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    return [{"sid": e["sid"], "account": e.get("account"), "resolved": e.get("resolved", e.get("account") is not None),
             "type": e["type"], "rights": e.get("rights"), "mask": e["mask"], "inherited": e.get("inherited", False),
             "inheritance": e.get("inheritance")}
            for e in entries]


def _wmi_security(data: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
    if data is None:
        return None
    return {
        "namespace": data["namespace"],
        "sddl": data["sddl"],
        "owner_sid": data.get("owner_sid"),
        "entries": [{"sid": e["sid"], "account": e.get("account"),
                     "resolved": e.get("resolved", e.get("account") is not None), "type": e["type"], "mask": e["mask"],
                     "rights": wmi_rights(int(e["mask"])), "inherited": e.get("inherited", False),
                     "applies_to_subnamespaces": bool(e.get("container_inherit"))} for e in data["entries"]],
    }


def _events(data: dict[str, t.Any] | None, event_id: int) -> dict[str, t.Any] | None:
    if data is None:
        return None
    events = [e for e in data["events"] if e.get("id") == event_id]
    if len({e.get("id") for e in data["events"]}) <= 1:
        count = data["count"]
    else:
        count = len(events)
    return {"count": count, "count_capped": data["count_capped"], "recent": events}


def dp_identity(identity: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """Who ran the DP batch: the seed runs the local root\\SCCMDP test as SYSTEM (PsExec -s), so only a batch run
    as SYSTEM (become) is the seed's test (``trusted``)."""
    if identity is None:
        return {"user": None, "sid": None, "as_system": None, "trusted": False}
    as_system = bool(identity.get("is_system"))
    return {"user": identity.get("user"), "sid": identity.get("user_sid"), "as_system": as_system,
            "trusted": as_system}


def source_reachable(entry: dict[str, t.Any]) -> bool | None:
    """Whether a pull DP reached a source DP: True with a name that resolves and TCP 80 or 443 open; False when the
    name does not resolve or every port was refused or timed out; None when the probe did not finish."""
    dns = entry.get("dns") or {}
    if dns.get("resolved") is False:
        return False
    ports = [p for p in entry.get("tcp") or [] if p.get("port") in PULL_PORTS]
    if any(p.get("open") for p in ports):
        return True
    if entry.get("timed_out") or not ports or any(p.get("open") is None for p in ports):
        return None
    return False


def _pull_path(outcome: BatchOutcome, source_dps: t.Sequence[str]) -> dict[str, t.Any] | None:
    """``pull_dp`` of the DP facts: each source DP as the pull DP sees it, and its own PullDP / DTS log lines."""
    if not source_dps:
        return None
    probe = outcome.data("pull_probe")
    by_name = {str(e.get("target")).lower(): e for e in (probe or {}).get("targets") or []}
    sources = []
    for rank, name in enumerate(source_dps, start=1):
        entry = by_name.get(name.lower())
        if entry is None:
            sources.append({"name": name, "order": rank, "resolved": None, "addresses": [], "tcp": {},
                            "reachable": None, "timed_out": None, "error": None})
            continue
        dns = entry.get("dns") or {}
        sources.append({
            "name": name, "order": rank, "resolved": dns.get("resolved"), "addresses": dns.get("addresses") or [],
            "dns_error": dns.get("error"),
            "tcp": {str(p["port"]): {"open": p.get("open"), "error": p.get("error")} for p in entry.get("tcp") or []},
            "reachable": source_reachable(entry), "timed_out": bool(entry.get("timed_out")), "error": entry.get("error")})
    logs = outcome.data("pull_logs")
    return {
        "source_dps": sources,
        "probed": probe is not None,
        "logs": None if logs is None else {
            "files": logs["files"],
            "found": any(f["exists"] for f in logs["files"]),
            "error_count": sum(f.get("records_matched", 0) for f in logs["files"]),
            "lines": [{"log": r["file"], "path": r["path"], "line_number": r["line_number"], "text": r["text"]}
                      for r in logs["records"]],
            "truncated": logs["truncated"],
        },
    }


def shape_dp_facts(outcome: BatchOutcome, *, started: str | None = None, finished: str | None = None,
                   source_dps: t.Sequence[str] = ()) -> dict[str, t.Any]:
    """Build ``ansible_facts.sccm_dp`` from the batch outcome (missing readings are null)."""
    role = outcome.data("role")
    shares = outcome.data("shares")
    os_info = _os(outcome.data("os"))
    time_info = _time(outcome.data("time"), started, finished)
    wmi_local = outcome.data("wmi_local")
    acl = outcome.data("content_acl")
    admins = outcome.data("administrators")
    smsdpprov = outcome.data("smsdpprov")
    usable = role.get("usable_drives", []) if role else []
    candidates = [drive_of(role.get("content_library_path")) if role else None,
                  *[drive_of(u) or u.upper() for u in usable]]
    library_drives = sorted({d for d in candidates if d})
    return {
        "collected_at": finished or (time_info or {}).get("utc_now"),
        "computer_name": os_info["computer_name"] if os_info else None,
        "fqdn": os_info["fqdn"] if os_info else None,
        "role": None if role is None else {
            "installed": role["installed"],
            "registry_present": role["registry_present"],
            "site_server": role.get("site_server"),
            "site_code": role.get("site_code"),
            "content_library_path": role.get("content_library_path"),
            "content_library_drives": library_drives,
            "usable_drives": usable,
            "is_pull_dp": role.get("is_pull_dp"),
            "is_pxe": role.get("is_pxe"),
            "sms_dp_share_path": role.get("sms_dp_share_path"),
        },
        "shares": None if shares is None else {
            "server_service_running": shares["server_service_running"],
            "expected": list(DP_SHARES),
            "missing": shares["missing"],
            "items": [{"name": s["name"], "path": s.get("path"), "special": s.get("special"),
                       "access": s.get("access")} for s in shares["shares"]],
        },
        "disks": _disks(outcome.data("disks")),
        "services": _services(outcome, DP_SERVICES),
        "dcom": _dcom(_registry(outcome)),
        "os": os_info,
        "time": time_info,
        "wmi": {
            "sccmdp": None if wmi_local is None else {
                "namespace": wmi_local["namespace"],
                "present": wmi_local["connected"],
                "class_present": wmi_local.get("class_present"),
                "instance_count": wmi_local.get("instance_count"),
                "query_ok": bool(wmi_local["connected"] and wmi_local.get("class_present")),
                "error": wmi_local.get("error"),
            },
            "root_security": _wmi_security(outcome.data("wmi_security")),
        },
        "content_library_acl": None if acl is None else [
            {"path": a["path"], "exists": a["exists"], "owner": a.get("owner"), "owner_sid": a.get("owner_sid"),
             "sddl": a.get("sddl"), "protected": a.get("protected"), "entries": _acl_entries(a.get("entries", []))}
            for a in acl["acls"]],
        "local_administrators": None if admins is None else {
            "sid": admins["sid"], "name": admins.get("name"), "members": admins["members"]},
        "events": {"dcom_10036": _events(outcome.data("dcom_events"), 10036)},
        "smsdpprov_log": None if smsdpprov is None else {
            "files": smsdpprov["files"],
            "found": any(f["exists"] for f in smsdpprov["files"]),
            "error_count": sum(f["records_matched"] for f in smsdpprov["files"]),
            "lines": [{"log": r["file"], "path": r["path"], "line_number": r["line_number"], "text": r["text"]}
                      for r in smsdpprov["records"]],
            "truncated": smsdpprov["truncated"],
        },
        "probe_identity": dp_identity(outcome.data("identity")),
        "pull_dp": _pull_path(outcome, source_dps),
        "errors": op_errors(outcome),
    }


# ---------------------------------------------------------------------------------------------
# win_sccm_site_facts
# ---------------------------------------------------------------------------------------------
def log_patterns(dps: t.Iterable[str]) -> list[str]:
    """Names a log line may use for a DP: the FQDN and the short name."""
    names: list[str] = []
    for dp in dps:
        for candidate in (dp.strip().rstrip("."), short_name(dp)):
            if candidate and candidate.lower() not in (n.lower() for n in names):
                names.append(candidate)
    return names


ERROR_INVALID_PARAMETER_HRESULT = 0x80070057
PROBE_STAGES = ("dns", "tcp", "epm", "wmi", "clock")


def split_dps(names: t.Iterable[str]) -> tuple[list[str], dict[str, str], list[str]]:
    """(names to probe, rejected name -> reason, names listed more than once).

    A name that is not a DNS host name is not probed and gets its own reason; a name listed again (case and a
    trailing dot aside) is probed once, under its first spelling. The other DPs are probed as usual."""
    valid: list[str] = []
    rejected: dict[str, str] = {}
    seen: dict[str, str] = {}
    duplicates: list[str] = []
    for name in names:
        if not HOST_NAME_RE.fullmatch(name):
            rejected[name] = (f"option distribution_points: {name!r} is not a host name; allowed: DNS names such as "
                              "dp01.contoso.local (letters, digits, '-' and '.'); not probed")
            continue
        key = name.lower().rstrip(".")
        if key in seen:
            if key not in duplicates:
                duplicates.append(seen[key])
            continue
        seen[key] = name
        valid.append(name)
    return valid, rejected, duplicates


def rejected_probe(name: str, reason: str) -> dict[str, t.Any]:
    """The ``dps`` entry of a name that was not probed: every stage failed, ``error`` says why."""
    return {
        "target": name, "timed_out": False, "elapsed_ms": 0, "dns": None, "tcp": {}, "epm": None, "wmi": None,
        "clock": None, "stages": dict.fromkeys(PROBE_STAGES, "failed"),
        "installation_account": {"value": "unknown", "use_machine_account": None, "user_name": None,
                                 "known_to_site": None},
        "error": {"code": ERROR_INVALID_PARAMETER_HRESULT, "hresult": "0x80070057", "message": reason,
                  "target": name},
    }


def site_log_ref(path: str, folder: str = "site") -> dict[str, t.Any] | None:
    """The path reference of a site log: ``name`` in the site log folder, or ``%windir%\\CCM\\Logs\\name``
    (folder ``client``); None for anything else (another folder, a UNC path, a name that is not a log file)."""
    if folder == "site":
        return {"kind": "site_log", "name": path} if LOG_FILE_NAME_RE.match(path) else None
    parent, _sep, name = path.strip().rpartition("\\")
    if parent.lower() in CLIENT_LOG_FOLDERS and LOG_FILE_NAME_RE.match(name):
        return {"kind": "site_log", "name": name, "folder": "client"}
    return None


def plan_site_facts(params: dict[str, t.Any], now_utc: str | None = None) -> list[PlannedOp]:
    """The ops behind ``ansible_facts.sccm_site``; the DPs are probed by ONE op, in parallel."""
    dps, _rejected, _duplicates = split_dps(params["distribution_points"])
    plan = [
        PlannedOp("identity", "identity.read", always=True),
        PlannedOp("registry", "registry.read_values", {"items": [
            {"key": IDENTIFICATION_KEY, "names": ["Site Code", "Installation Directory", "Site Server"]},
            {"key": OLE_KEY, "names": ["EnableDCOM"]},
            {"key": APPCOMPAT_KEY, "names": list(DCOM_VALUES)},
        ]}, always=True),
        PlannedOp("os", "os.read_info", {"include_hotfixes": params["gather_hotfixes"]}, always=True),
        PlannedOp("time", "time.read", always=True),
    ]
    plan += [PlannedOp(f"svc_{name}", "service.read", {"name": name}, always=True) for name in SITE_SERVICES]
    plan += [
        PlannedOp("shares", "share.list", {"names": ["SCCMContentLib$"], "include_access": True}, always=True),
        PlannedOp("content_acl", "acl.read", {"path_refs": [{"kind": "share", "name": "SCCMContentLib$"}]},
                  always=True),
        PlannedOp("disks", "disk.list", {}, always=True),
        PlannedOp("sms", "sms.read_site_systems", always=True),
        PlannedOp("dcom_events", "event.query", {
            "log_name": "System", "provider_name": DCOM_PROVIDER, "event_ids": [10037, 10038],
            "since_hours": params["event_window_hours"], "max_events": params["max_events"]}, always=True),
        PlannedOp("logs", "log.read_filtered", {
            # Path references only: the host resolves the folders and refuses what is not a log file name.
            "path_refs": [ref for ref in (*(site_log_ref(n) for n in params["site_logs"]),
                                          *(site_log_ref(p, "client") for p in params["log_paths"])) if ref],
            "patterns": log_patterns(dps),
            "severities": ["error", "warning"],
            "since_utc": window_start_utc(now_utc, params["log_window_hours"]),
            "max_lines": params["log_max_lines"],
            "max_bytes": params["log_max_bytes"],
        }, always=True),
    ]
    if params["source_shares"]:
        plan.append(PlannedOp("sources", "path.test_access",
                              {"paths": list(params["source_shares"]), "timeout_seconds": params["probe_timeout"]},
                              always=True))
    elif params.get("discover_source_shares", True):
        # Not given: the shares the site's packages come from (SMS_Package.PkgSourcePath), read and tested in the
        # same batch.
        plan.append(PlannedOp("package_sources", "sms.read_package_sources", {
            "max_packages": MAX_PACKAGES, "max_shares": MAX_SOURCE_SHARES,
            "access_timeout_seconds": params["probe_timeout"]}, always=True))
    if dps:
        plan.append(PlannedOp("probe", "net.probe_targets", {
            "targets": dps,
            "tcp_ports": list(params["tcp_ports"]),
            "connect_timeout_ms": params["connect_timeout_ms"],
            "timeout_seconds": params["probe_timeout"],
            "max_parallel": params["max_parallel"],
        }, always=True))
    return plan


def _installation_accounts(sms: dict[str, t.Any] | None) -> dict[str, dict[str, t.Any]]:
    if not sms or not sms.get("provider_available"):
        return {}
    accounts = {}
    for system in sms.get("systems", []):
        server = str(system.get("server") or "")
        if not server:
            continue
        accounts[server.lower()] = system
    return accounts


def installation_account(sms: dict[str, t.Any] | None, dp: str) -> dict[str, t.Any]:
    """The site system installation account of one DP: computer_account, an account name, or unknown."""
    systems = _installation_accounts(sms)
    match = systems.get(dp.lower()) or next((s for k, s in systems.items() if short_name(k) == short_name(dp)), None)
    if match is None or match.get("use_machine_account") is None:
        return {"value": "unknown", "use_machine_account": None, "user_name": None,
                "known_to_site": match is not None if systems else None}
    if match["use_machine_account"]:
        return {"value": "computer_account", "use_machine_account": True, "user_name": None, "known_to_site": True}
    return {"value": match.get("user_name") or "unknown", "use_machine_account": False,
            "user_name": match.get("user_name"), "known_to_site": True}


# The server of a NAL path as the SMS Provider writes it (SMS_DistributionPointInfo.NALPath), e.g.
# ["Display=\\dp01.contoso.local\"]MSWNET:["SMS_SITE=PS1"]\\dp01.contoso.local\
_NAL_SERVER_RE = re.compile(r"\\\\([A-Za-z0-9][A-Za-z0-9.-]*)\\?\s*\Z")
_NAL_DISPLAY_RE = re.compile(r"Display=\\\\([A-Za-z0-9][A-Za-z0-9.-]*)")


def nal_server(nal_path: str | None) -> str | None:
    """The server name of a ConfigMgr NAL path (its trailing \\\\server\\, else its Display=); None when absent."""
    text = str(nal_path or "").strip()
    match = _NAL_SERVER_RE.search(text) or _NAL_DISPLAY_RE.search(text)
    return match.group(1) if match else None


def _site_dps(sms: dict[str, t.Any] | None) -> dict[str, dict[str, t.Any]] | None:
    """The site's DPs by lower-case server name; None when the SMS Provider did not answer the DP query."""
    if not sms or not sms.get("provider_available") or sms.get("dp_info_error") or "distribution_points" not in sms:
        return None
    return {str(d.get("server") or "").lower(): d for d in sms.get("distribution_points") or [] if d.get("server")}


def site_role(sms: dict[str, t.Any] | None, dp: str) -> dict[str, t.Any]:
    """Pull DP / PXE flags and source DPs (rank order) of one DP as the site knows them (SMS_DistributionPointInfo,
    SysResUse property lists); every value None when the site could not be asked or does not know the DP."""
    dps = _site_dps(sms)
    unknown = {"known_to_site": None if dps is None else False, "pull_dp": None, "pxe": None, "source_dps": [],
               "source": None}
    if dps is None:
        return unknown
    match = dps.get(dp.lower().rstrip(".")) or next((d for k, d in dps.items() if short_name(k) == short_name(dp)), None)
    if match is None:
        return unknown
    paths = list(match.get("source_nal_paths") or [])
    ranks = list(match.get("source_ranks") or [])
    sources = []
    for number, path in enumerate(paths):
        rank = ranks[number] if number < len(ranks) else None
        sources.append({"name": nal_server(path) or path, "rank": rank, "nal_path": path})
    sources.sort(key=lambda src: (src["rank"] is None, src["rank"] or 0))
    return {"known_to_site": True, "pull_dp": bool(match.get("is_pull_dp")), "pxe": bool(match.get("is_pxe")),
            "source_dps": sources if match.get("is_pull_dp") else [], "source": "sms_provider"}


def _probe_entry(entry: dict[str, t.Any], sms: dict[str, t.Any] | None) -> dict[str, t.Any]:
    tcp = {str(p["port"]): {"open": p.get("open"), "error": p.get("error")} for p in entry.get("tcp") or []}
    return {
        "target": entry["target"],
        "timed_out": bool(entry.get("timed_out")),
        "elapsed_ms": entry.get("elapsed_ms"),
        "dns": entry.get("dns"),
        "tcp": tcp,
        "epm": entry.get("epm"),
        "wmi": entry.get("wmi"),
        "clock": entry.get("clock"),
        "stages": entry.get("stages"),
        "installation_account": installation_account(sms, entry["target"]),
        "site_role": site_role(sms, entry["target"]),
        "error": entry.get("error"),
    }


def probe_identity(identity: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """Who ran the site probe, and whether remote tests used the site server's computer account."""
    if identity is None:
        return {"user": None, "sid": None, "as_system": None, "network_identity": None, "trusted": False}
    as_system = bool(identity.get("is_system"))
    return {
        "user": identity.get("user"),
        "sid": identity.get("user_sid"),
        "as_system": as_system,
        "network_identity": identity.get("computer_account") if as_system else identity.get("user"),
        "trusted": as_system and bool(identity.get("computer_account")),
    }


def _drive_space(disks: list[dict[str, t.Any]] | None, path: str | None) -> dict[str, t.Any] | None:
    drive = drive_of(path)
    if disks is None or drive is None:
        return None
    disk = next((d for d in disks if d["drive"] == drive), None)
    if disk is None:
        return None
    return {"path": path, "drive": drive, "size_bytes": disk["size_bytes"], "free_bytes": disk["free_bytes"],
            "free_percent": disk["free_percent"]}


def _source_entry(s: dict[str, t.Any], packages: int | None = None) -> dict[str, t.Any]:
    entry = {"path": s["path"], "exists": s["exists"], "readable": s["readable"], "free_bytes": s.get("free_bytes"),
             "total_bytes": s.get("total_bytes"),
             "free_percent": (round(s["free_bytes"] * 100.0 / s["total_bytes"], 2)
                              if s.get("free_bytes") is not None and s.get("total_bytes") else None),
             "error": s.get("error"), "elapsed_ms": s.get("elapsed_ms")}
    if packages is not None:
        entry["packages"] = packages
    return entry


def _source_shares(params: dict[str, t.Any], sources: dict[str, t.Any] | None,
                   discovered: dict[str, t.Any] | None) -> tuple[list[dict[str, t.Any]] | None, str | None]:
    """(source_shares, origin): the given shares, else those of the site's packages, else None."""
    if params["source_shares"]:
        return (None if sources is None else [_source_entry(s) for s in sources["paths"]]), "option"
    if discovered is None or not discovered.get("provider_available"):
        return None, None
    counts = {str(r["path"]).lower(): r.get("packages") for r in discovered.get("shares") or []}
    return [_source_entry(s, counts.get(str(s["path"]).lower())) for s in discovered.get("access") or []], \
        "sms_provider"


def _package_sources(discovered: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
    if discovered is None:
        return None
    return {"available": discovered["provider_available"], "namespace": discovered.get("namespace"),
            "packages_read": discovered.get("packages_read", 0),
            "packages_truncated": bool(discovered.get("packages_truncated")),
            "local_paths": discovered.get("local_paths", 0),
            "shares": [{"path": r["path"], "packages": r.get("packages")} for r in discovered.get("shares") or []],
            "shares_truncated": bool(discovered.get("shares_truncated")), "error": discovered.get("error")}


def _dps(probe: dict[str, t.Any] | None, sms: dict[str, t.Any] | None, names: list[str]
         ) -> dict[str, dict[str, t.Any]] | None:
    """Probe entries by DP name, plus one entry with its reason per name that was not probed."""
    _valid, rejected, _duplicates = split_dps(names)
    if probe is None and not rejected:
        return None
    dps = {} if probe is None else {entry["target"]: _probe_entry(entry, sms) for entry in probe["targets"]}
    for name, reason in rejected.items():
        dps[name] = rejected_probe(name, reason)
    return dps


def shape_site_facts(outcome: BatchOutcome, params: dict[str, t.Any], *, started: str | None = None,
                     finished: str | None = None, since_utc: str | None = None) -> dict[str, t.Any]:
    """Build ``ansible_facts.sccm_site`` from the batch outcome (missing readings are null)."""
    identity = outcome.data("identity")
    registry = _registry(outcome)
    ident = (registry or {}).get(IDENTIFICATION_KEY.lower(), {})
    os_info = _os(outcome.data("os"))
    time_info = _time(outcome.data("time"), started, finished)
    disks = _disks(outcome.data("disks"))
    shares = outcome.data("shares")
    library_share = next((s for s in (shares or {}).get("shares", []) if s["name"].lower() == "sccmcontentlib$"), None)
    library_path = library_share.get("path") if library_share else None
    acl = outcome.data("content_acl")
    sms = outcome.data("sms")
    events = outcome.data("dcom_events")
    logs = outcome.data("logs")
    sources = outcome.data("sources")
    discovered = outcome.data("package_sources")
    source_shares, source_origin = _source_shares(params, sources, discovered)
    probe = outcome.data("probe")
    install_dir = ident.get("Installation Directory")
    system_drive = (os_info or {}).get("system_drive")
    return {
        "collected_at": finished or (time_info or {}).get("utc_now"),
        "computer_name": (os_info or {}).get("computer_name") or (identity or {}).get("computer_name"),
        "fqdn": (os_info or {}).get("fqdn"),
        "site_code": ident.get("Site Code") or (sms or {}).get("site_code"),
        "install_dir": install_dir,
        "log_dir": (logs or {}).get("log_dir") or (install_dir.rstrip("\\") + "\\Logs" if install_dir else None),
        "probe_identity": probe_identity(identity),
        "computer_account": None if identity is None else {
            "name": identity.get("computer_account"),
            "sid": identity.get("computer_account_sid"),
            "domain": identity.get("domain"),
            "groups": identity.get("computer_groups", []),
            "groups_error": identity.get("computer_groups_error"),
        },
        "os": os_info,
        "dcom": _dcom(registry),
        "services": _services(outcome, SITE_SERVICES),
        "time": time_info,
        "disks": disks,
        "os_drive": _drive_space(disks, f"{system_drive}\\" if system_drive else None),
        "temp": _drive_space(disks, (os_info or {}).get("temp_path")),
        "content_library": None if shares is None else {
            "share_present": library_share is not None,
            "path": library_path,
            "space": _drive_space(disks, library_path),
            "acl": None if acl is None else [
                {"path": a["path"], "exists": a["exists"], "owner_sid": a.get("owner_sid"),
                 "entries": _acl_entries(a.get("entries", []))} for a in acl["acls"]],
        },
        "source_shares": source_shares,
        "source_shares_origin": source_origin,
        "package_sources": _package_sources(discovered),
        "sms_provider": None if sms is None else {
            "available": sms["provider_available"], "machine": sms.get("provider_machine"),
            "namespace": sms.get("namespace"), "site_code": sms.get("site_code"),
            "site_systems": len(sms.get("systems", [])),
            "distribution_points": None if _site_dps(sms) is None else len(sms.get("distribution_points") or []),
            "distribution_points_truncated": bool(sms.get("distribution_points_truncated")),
            "dp_info_error": sms.get("dp_info_error"), "error": sms.get("error")},
        "dps": _dps(probe, sms, params["distribution_points"]),
        "probe_elapsed_ms": (probe or {}).get("elapsed_ms"),
        "events": {"dcom_10037": _events(events, 10037), "dcom_10038": _events(events, 10038)},
        "logs": None if logs is None else {
            "log_dir": logs.get("log_dir"),
            "since_utc": since_utc,
            "files": logs["files"],
            "lines": [{"log": r["file"], "path": r["path"], "line_number": r["line_number"], "text": r["text"]}
                      for r in logs["records"]],
            "truncated": logs["truncated"],
        },
        "errors": op_errors(outcome),
    }
