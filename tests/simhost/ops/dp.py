"""Simulated DP diagnosis ops: shares, disks, ACLs, groups, events, filtered logs, WMI security,
identity and the parallel network probe of a site server (everything simulated).

Host model sections read here (all optional): ``os``, ``registry``, ``services``, ``shares``
(``{name: {path, description, access: [{account, sid, type, right}]}}``), ``disks``
(``{"D:": {size_bytes, free_bytes, file_system, volume_name}}``), ``files`` (text) and
``files_b64`` (raw bytes, e.g. UTF-16 logs), ``directories``, ``acls``
(``{path: {owner_sid, protected, entries: [...]}}``), ``wmi_security`` (``{"root": {owner_sid,
entries}}``), ``local_groups`` (``{sid: {name, members: [{sid, name, class}]}}``), ``events``
(``{"System": [{id, provider, time_utc, level, data, message}]}``), ``identity``,
``sms_provider``, ``wmi_faults`` (``{namespace: {code, message}}``) and ``network`` (see
tests/simhost/network.py).
"""
from __future__ import annotations

import base64
import codecs
import datetime as dt
import fnmatch
import re
import typing as t

from ..model import HostModel, OpContext, SimWindowsError
from ..network import (
    ERROR_TIMEOUT,
    WSAETIMEDOUT,
    Network,
    addresses_of,
    error,
    fqdn_of,
    host_now,
    is_ipv6,
    service_running,
)
from . import sim_op
from .contract import contract

DP_KEY = "HKLM\\" + contract.DP_KEY
IDENT_KEY = "HKLM\\" + contract.IDENTIFICATION_KEY
CURRENT_VERSION = "HKLM\\" + contract.CURRENT_VERSION_KEY
W32TIME_PARAMS = "HKLM\\" + contract.W32TIME_PARAMETERS_KEY
WBEM_E_INVALID_NAMESPACE = 0x8004100E
WBEM_E_INVALID_CLASS = 0x80041010
ERROR_FILE_NOT_FOUND = 0x80070002
WBEM_RIGHTS_SIMULATED = "simulated"


def _network(host: HostModel) -> Network:
    if host.network is None:
        return Network([host])
    return host.network


def _ci(mapping: dict[str, t.Any], key: str) -> t.Any:
    return next((v for k, v in mapping.items() if k.lower() == key.lower()), None)


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- path references (mirrors Resolve-FieldkitPathRef) ------------------------------------------
def _join(base: str, append: str | None) -> str:
    if not append:
        return base
    return base.rstrip("\\") + "\\" + append.lstrip("\\")


def _exists(host: HostModel, path: str) -> bool:
    low = path.rstrip("\\").lower()
    pools = [host.state.get("files", {}), host.state.get("files_b64", {}), host.state.get("acls", {})]
    if any(k.rstrip("\\").lower() == low for pool in pools for k in pool):
        return True
    return any(d.rstrip("\\").lower() == low for d in host.state.get("directories", []))


def _site_log_dir(host: HostModel) -> str | None:
    install = host.reg_value(IDENT_KEY, "Installation Directory")
    return _join(str(install), "Logs") if install else None


def resolve_refs(host: HostModel, refs: list[dict[str, t.Any]]) -> list[tuple[str, str]]:
    """(path, description) pairs; unresolvable references give nothing."""
    found: list[tuple[str, str]] = []
    for ref in refs:
        kind = str(ref.get("kind", "")).lower()
        append = ref.get("append")
        if kind == "registry":
            value = host.reg_value("HKLM\\" + str(ref["key"]), str(ref["name"]))
            items = value if isinstance(value, list) else re.split(r"[,;]", str(value or ""))
            for item in (i.strip() for i in items):
                if item:
                    found.append((_join(item, append), f"registry {ref['key']}\\{ref['name']}"))
        elif kind == "share":
            share = _ci(host.state.get("shares", {}), str(ref["name"]))
            if share and share.get("path"):
                found.append((_join(share["path"], append), f"share {ref['name']}"))
        elif kind == "fixed_drives":
            for drive in sorted(host.state.get("disks", {})):
                candidate = _join(drive + "\\", append)
                if _exists(host, candidate):
                    found.append((candidate, "fixed drives"))
        elif kind == "site_log":
            # Mirrors the host: a ConfigMgr log file name only, in the site or the client log folder.
            name = str(ref.get("name") or "")
            if not contract.LOG_FILE_NAME_RE.match(name):
                raise SimWindowsError(0x80070057, f"site_log name '{name}' is not a ConfigMgr log file name",
                                      "path_refs", "InvalidArgument")
            folder = str(ref.get("folder") or "site")
            if folder == "site":
                log_dir, desc = _site_log_dir(host), "site log folder"
            elif folder == "client":
                log_dir, desc = _join(host.windir, contract.CLIENT_LOG_SUBFOLDER), "client log folder"
            else:
                raise SimWindowsError(0x80070057, f"site_log folder '{folder}' is not allowed; allowed: site, client",
                                      "path_refs", "InvalidArgument")
            if log_dir:
                found.append((_join(log_dir, name), desc))
        else:
            raise SimWindowsError(0x80070057, f"unknown path reference kind {kind!r}", "path_refs", "InvalidArgument")
    unique: dict[str, tuple[str, str]] = {}
    for path, desc in found:
        unique.setdefault(path.lower(), (path, desc))
    return list(unique.values())


def _expand(host: HostModel, path: str) -> str:
    env = {"windir": host.windir, "systemroot": host.windir,
           "systemdrive": host.state.get("os", {}).get("system_drive", "C:"),
           "programfiles": "C:\\Program Files"}
    return re.sub(r"%([^%]+)%", lambda m: env.get(m.group(1).lower(), m.group(0)), path)


# --- DP role, shares, disks, paths --------------------------------------------------------------
@sim_op("dp.read_role")
def read_dp_role(host: HostModel, ctx: OpContext) -> dict[str, t.Any]:
    key = host.reg_key(DP_KEY)
    share = _ci(host.state.get("shares", {}), "SMS_DP$")
    evidence: list[str] = []
    if key is not None:
        evidence.append("registry key HKLM\\SOFTWARE\\Microsoft\\SMS\\DP exists")
    if share is not None:
        evidence.append("share SMS_DP$ exists")
    drives_raw = str((key or {}).get("ContentLibUsableDrives", "") or "")
    drives = [d.strip().rstrip("\\") for d in re.split(r"[,;]", drives_raw) if d.strip()]

    def flag(name: str) -> bool | None:
        value = (key or {}).get(name)
        return None if value is None else bool(int(value))

    return {
        "installed": key is not None and bool(key.get("ContentLibraryPath") or share),
        "registry_present": key is not None,
        "site_server": (key or {}).get("SiteServer"),
        "site_code": host.reg_value(IDENT_KEY, "Site Code"),
        "content_library_path": (key or {}).get("ContentLibraryPath"),
        "usable_drives": drives,
        "is_pull_dp": flag("IsPullDP"),
        "is_pxe": flag("IsPXE"),
        "sms_dp_share_path": share.get("path") if share else None,
        "evidence": evidence,
    }


SID_RE = re.compile(r"^S-1-\d+(-\d+)+$", re.I)


def _share_ace(ace: dict[str, t.Any]) -> dict[str, t.Any]:
    """A share ACE as Get-FieldkitShareAccess reports it. For a deleted account Get-SmbShareAccess shows
    the SID string as AccountName (reported as sid) or an empty name (account null; the fixture's sid
    stands for the one found in the share's DACL, ``dacl_sid: false`` for none)."""
    account = ace.get("account") or None
    if account and SID_RE.match(account):
        sid, resolved = account.upper(), True
    elif account is None:
        sid, resolved = (ace.get("sid") if ace.get("dacl_sid", True) else None), False
    else:
        sid = ace.get("sid")
        resolved = bool(ace.get("resolved", sid is not None))
        sid = sid if resolved else None
    return {"account": account, "sid": sid, "resolved": resolved, "type": ace.get("type", "allow"),
            "right": ace.get("right", "read")}


@sim_op("share.list")
def share_list(host: HostModel, ctx: OpContext, *, names: list[str] | None = None,
               include_access: bool = True) -> dict[str, t.Any]:
    patterns = names or ["*"]
    shares = []
    matched: set[str] = set()
    for name, share in sorted(host.state.get("shares", {}).items(), key=lambda kv: kv[0].lower()):
        hits = [p for p in patterns if fnmatch.fnmatchcase(name.lower(), p.lower())]
        if not hits:
            continue
        matched.update(hits)
        shares.append({
            "name": name,
            "path": share.get("path"),
            "description": share.get("description", ""),
            "special": name.endswith("$"),
            "access": [_share_ace(a) for a in share.get("access", [])] if include_access else None,
        })
    return {"server_service_running": service_running(host, "LanmanServer"), "shares": shares,
            "missing": [p for p in patterns if p not in matched]}


@sim_op("disk.list")
def disk_list(host: HostModel, ctx: OpContext, *, drives: list[str] | None = None, marker_file: str | None = None,
              timeout_seconds: int = 30) -> dict[str, t.Any]:
    wanted = {d.strip().rstrip("\\").upper() for d in drives or []}
    disks = []
    for drive, disk in sorted((host.state.get("disks") or {}).items()):
        if wanted and drive.upper() not in wanted:
            continue
        size, free = int(disk["size_bytes"]), int(disk["free_bytes"])
        disks.append({
            "drive": drive.upper(),
            "size_bytes": size,
            "free_bytes": free,
            "free_percent": round(free * 100.0 / size, 2) if size else None,
            "file_system": disk.get("file_system", "NTFS"),
            "volume_name": disk.get("volume_name", ""),
            "marker_present": _exists(host, f"{drive}\\{marker_file}") if marker_file else None,
        })
    return {"disks": disks}


@sim_op("path.test_access")
def path_test_access(host: HostModel, ctx: OpContext, *, paths: list[str], timeout_seconds: int = 15
                     ) -> dict[str, t.Any]:
    identity = Network.network_identity(host, ctx)
    results = []
    for path in paths:
        if path.startswith("\\\\"):
            entry = _network(host).unc_access(host, ctx, path)
        else:
            local = _expand(host, path)
            drive = (host.state.get("disks") or {}).get(local[:2].upper(), {})
            exists = _exists(host, local)
            entry = {"path": path, "exists": exists, "readable": exists,
                     "free_bytes": drive.get("free_bytes"), "total_bytes": drive.get("size_bytes"),
                     "error": None if exists else error(0x80070003, path, "Could not find a part of the path.")}
        entry["elapsed_ms"] = 3
        results.append(entry)
    user = "NT AUTHORITY\\SYSTEM" if ctx.as_system else identity["name"]
    return {"identity": user, "paths": results}


# --- OS, registry, time -------------------------------------------------------------------------
@sim_op("os.read_info")
def os_read_info(host: HostModel, ctx: OpContext, *, include_hotfixes: bool = True, max_hotfixes: int = 40,
                 timeout_seconds: int = 60) -> dict[str, t.Any]:
    os_ = host.state.get("os", {})
    build = host.reg_value(CURRENT_VERSION, "CurrentBuildNumber") or os_.get("build")
    ubr = host.reg_value(CURRENT_VERSION, "UBR")
    ubr = os_.get("ubr") if ubr is None else ubr
    hotfixes = sorted(os_.get("hotfixes", []), key=lambda h: h.get("installed_on") or "", reverse=True)
    system_drive = os_.get("system_drive", "C:")
    temp = f"{host.windir}\\TEMP\\" if ctx.as_system else f"{system_drive}\\Users\\{ctx.winrm_user}\\AppData\\Local\\Temp\\"
    return {
        "computer_name": str(os_.get("computer_name", host.name.split(".")[0])).upper(),
        "fqdn": os_.get("fqdn") or (host.state.get("network") or {}).get("fqdn") or (host.name if "." in host.name else None),
        "domain": os_.get("domain"),
        "ipv4_addresses": [a for a in addresses_of(host) if not is_ipv6(a)],
        "ipv6_addresses": [a for a in addresses_of(host) if is_ipv6(a)],
        "product_name": host.reg_value(CURRENT_VERSION, "ProductName") or os_.get("product_name"),
        "installation_type": host.reg_value(CURRENT_VERSION, "InstallationType") or os_.get("installation_type"),
        # The registry value only, as on Windows: absent (Server 2019 and older) is null, never "".
        "display_version": host.reg_value(CURRENT_VERSION, "DisplayVersion"),
        "build": int(build) if build is not None else None,
        "ubr": int(ubr) if ubr is not None else None,
        "system_drive": system_drive,
        "temp_path": temp,
        "windir": host.windir,
        "ansi_code_page": os_.get("ansi_code_page", 1252),
        "ui_culture": os_.get("ui_culture", "en-US"),
        "hotfixes": hotfixes[:max_hotfixes] if include_hotfixes else [],
        "hotfixes_collected": include_hotfixes,
    }


def _reg_json(value: t.Any) -> t.Any:
    if isinstance(value, dict) and "binary_b64" in value:
        return value["binary_b64"]
    return value


@sim_op("registry.read_values")
def registry_read_values(host: HostModel, ctx: OpContext, *, items: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    keys = []
    for item in items:
        subkey = str(item.get("key", "")).strip("\\")
        if not subkey:
            raise SimWindowsError(0x80070057, "registry.read_values: every item needs a key", "items", "InvalidArgument")
        key = host.reg_key("HKLM\\" + subkey)
        values: dict[str, t.Any] = {}
        if key is not None:
            names = item.get("names")
            for name, value in key.items():
                if names is None or any(n.lower() == name.lower() for n in names):
                    values[name] = _reg_json(value)
        keys.append({"key": subkey, "exists": key is not None, "values": values})
    return {"keys": keys}


@sim_op("time.read")
def time_read(host: HostModel, ctx: OpContext, *, timeout_seconds: int = 15) -> dict[str, t.Any]:
    os_ = host.state.get("os", {})
    tm = host.state.get("time", {})
    now = host_now(host)
    last_sync = tm.get("last_sync_age_seconds")
    return {
        "utc_now": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z",
        "timezone_id": os_.get("timezone_id", "UTC"),
        "bias_minutes": os_.get("bias_minutes", 0),
        "w32time_type": host.reg_value(W32TIME_PARAMS, "Type"),
        "ntp_server": host.reg_value(W32TIME_PARAMS, "NtpServer"),
        "source": tm.get("source"),
        "last_sync_utc": _utc(now - dt.timedelta(seconds=last_sync)) if last_sync is not None else None,
        "status_lines": list(tm.get("status_lines", [])),
    }


# --- WMI ----------------------------------------------------------------------------------------
@sim_op("wmi.test_namespace")
def wmi_test_namespace(host: HostModel, ctx: OpContext, *, namespace: str, class_name: str | None = None,
                       timeout_seconds: int = 30) -> dict[str, t.Any]:
    if class_name and not contract.CLASS_NAME_RE.match(class_name):
        raise SimWindowsError(0x80070057, f"class_name '{class_name}' is not a WMI class name", "class_name")
    result: dict[str, t.Any] = {"namespace": namespace, "connected": False, "class_name": class_name,
                                "class_present": None, "instance_count": None, "error": None, "elapsed_ms": 4}
    fault = _ci(host.state.get("wmi_faults", {}), namespace)
    if fault:
        code = int(fault["code"], 16) if isinstance(fault["code"], str) else int(fault["code"])
        result["error"] = error(code, namespace, fault.get("message"))
        return result
    if host.wmi_namespace(namespace) is None:
        result["error"] = error(WBEM_E_INVALID_NAMESPACE, namespace)
        return result
    result["connected"] = True
    if class_name:
        instances = host.wmi_instances(namespace, class_name)
        result["class_present"] = instances is not None
        result["instance_count"] = len(instances) if instances is not None else None
        if instances is None:
            result["error"] = error(WBEM_E_INVALID_CLASS, f"{namespace}:{class_name}")
    return result


def _sddl(owner: str | None, entries: list[dict[str, t.Any]], protected: bool = False) -> str:
    aces = []
    for entry in entries:
        flags = ""
        if entry.get("container_inherit", True):
            flags += "CI"
        if entry.get("object_inherit"):
            flags += "OI"
        if entry.get("inherited"):
            flags += "ID"
        aces.append(f"({'D' if entry.get('type') == 'deny' else 'A'};{flags};0x{int(entry.get('mask', 0)):x};;;{entry['sid']})")
    owner_part = f"O:{owner}G:{owner}" if owner else ""
    return f"{owner_part}D:{'P' if protected else ''}" + "".join(aces)


@sim_op("wmi.read_namespace_security")
def wmi_read_namespace_security(host: HostModel, ctx: OpContext, *, namespace: str = "root",
                                timeout_seconds: int = 30) -> dict[str, t.Any]:
    sd = _ci(host.state.get("wmi_security", {}), namespace)
    if sd is None:
        raise SimWindowsError(WBEM_E_INVALID_NAMESPACE, f"Invalid namespace {namespace}", namespace)
    entries = [{
        "sid": e["sid"],
        **_lookup(e.get("account"), e, "account"),
        "type": e.get("type", "allow"),
        "mask": int(e.get("mask", 0)),
        "flags": (0x2 if e.get("container_inherit", True) else 0) | (0x10 if e.get("inherited") else 0),
        "inherited": bool(e.get("inherited", False)),
        "container_inherit": bool(e.get("container_inherit", True)),
    } for e in sd.get("entries", [])]
    return {"namespace": namespace, "sddl": _sddl(sd.get("owner_sid"), sd.get("entries", [])),
            "owner_sid": sd.get("owner_sid"), "entries": entries}


def _lookup(name: str | None, entry: dict[str, t.Any], key: str) -> dict[str, t.Any]:
    """``{key: name, resolved}`` as Resolve-FieldkitSidName gives them: a fixture entry may say
    ``resolved: false`` (orphaned SID, or a domain controller that did not answer in time): name null."""
    resolved = bool(entry.get("resolved", name is not None))
    return {key: name if resolved else None, "resolved": resolved}


# --- ACLs, groups, events ------------------------------------------------------------------------
@sim_op("acl.read")
def acl_read(host: HostModel, ctx: OpContext, *, paths: list[str] | None = None,
             path_refs: list[dict[str, t.Any]] | None = None) -> dict[str, t.Any]:
    targets = [(_expand(host, p), "path") for p in paths or []] + resolve_refs(host, path_refs or [])
    acls = []
    for path, source in targets:
        acl = _ci(host.state.get("acls", {}), path.rstrip("\\"))
        if acl is None:
            acls.append({"path": path, "source": source, "exists": _exists(host, path), "owner": None,
                         "owner_sid": None, "sddl": None, "protected": None, "entries": []})
            continue
        entries = [{
            "sid": e["sid"],
            **_lookup(e.get("account"), e, "account"),
            "type": e.get("type", "allow"),
            "rights": e.get("rights", "FullControl"),
            "mask": int(e.get("mask", 2032127)),
            "inherited": bool(e.get("inherited", False)),
            "inheritance": e.get("inheritance", "ContainerInherit, ObjectInherit"),
        } for e in acl.get("entries", [])]
        acls.append({"path": path, "source": source, "exists": True, "owner": acl.get("owner"),
                     "owner_sid": acl.get("owner_sid"),
                     "sddl": _sddl(acl.get("owner_sid"), acl.get("entries", []), bool(acl.get("protected"))),
                     "protected": bool(acl.get("protected", False)), "entries": entries})
    return {"acls": acls}


@sim_op("group.read_members")
def group_read_members(host: HostModel, ctx: OpContext, *, sid: str, timeout_seconds: int = 30) -> dict[str, t.Any]:
    """``local_groups[sid].hang``: enumerating the members does not finish (a domain controller that does
    not answer the WinNT provider): ERROR_TIMEOUT, as Get-FieldkitLocalGroupMember fails rather than
    return a partial list."""
    group = _ci(host.state.get("local_groups", {}), sid)
    if group is None:
        return {"sid": sid, "name": None, "exists": False, "members": []}
    if group.get("hang"):
        raise SimWindowsError(ERROR_TIMEOUT, f"members of {group.get('name')} not read within {timeout_seconds} s", sid)
    members = [{"sid": m.get("sid"), **_lookup(m.get("name"), m, "name"), "class": m.get("class", "unknown")}
               for m in group.get("members", [])]
    return {"sid": sid, "name": group.get("name"), "exists": True, "members": members}


@sim_op("event.query")
def event_query(host: HostModel, ctx: OpContext, *, log_name: str = "System", provider_name: str | None = None,
                event_ids: list[int] | None = None, since_hours: int = 168, max_events: int = 10,
                max_count: int = 1000, timeout_seconds: int = 30) -> dict[str, t.Any]:
    since = host_now(host) - dt.timedelta(hours=since_hours)
    events = []
    missing = [name.lower() for name in host.state.get("missing_event_providers", [])]
    if provider_name and provider_name.lower() in missing:
        # Get-WinEvent: NoMatchingProvidersFound (the op reports it instead of failing).
        return {"log_name": log_name, "count": 0, "count_capped": False, "events": [], "provider_missing": True}
    for event in _ci(host.state.get("events", {}), log_name) or []:
        if provider_name and str(event.get("provider", "")).lower() != provider_name.lower():
            continue
        if event_ids and int(event["id"]) not in event_ids:
            continue
        when = _event_time(host, event)
        if when < since:
            continue
        events.append({"id": int(event["id"]), "time_utc": _utc(when), "level": event.get("level", "error"),
                       "provider": event.get("provider"), "data": list(event.get("data", [])),
                       "message": event.get("message", "")})
    events.sort(key=lambda e: e["time_utc"], reverse=True)
    counted = events[:max_count]
    return {"log_name": log_name, "count": len(counted), "count_capped": len(events) > max_count,
            "events": counted[:max_events], "provider_missing": False}


def _event_time(host: HostModel, event: dict[str, t.Any]) -> dt.datetime:
    if "age_minutes" in event:
        return host_now(host) - dt.timedelta(minutes=float(event["age_minutes"]))
    return dt.datetime.fromisoformat(str(event["time_utc"]).replace("Z", "+00:00"))


# --- filtered logs (mirrors Read-FieldkitLogFiltered) -------------------------------------------
# The patterns and the record cap are the host's $script:Log* constants (_host_contract.LOG_*).
_LOG_FLAGS = re.IGNORECASE
SMS_TRAILER = re.compile(contract.LOG_SMS_TRAILER_PATTERN)
CM_TIME = re.compile(contract.LOG_CMTRACE_TIME_PATTERN)
CM_TYPE = re.compile(contract.LOG_CMTRACE_TYPE_PATTERN, _LOG_FLAGS)
RECORD_CLOSE = re.compile(contract.LOG_RECORD_CLOSE_PATTERN)
ERROR_MARK = re.compile(contract.LOG_ERROR_MARK_PATTERN, _LOG_FLAGS)
WARN_MARK = re.compile(contract.LOG_WARNING_MARK_PATTERN, _LOG_FLAGS)
BENIGN = re.compile(contract.LOG_BENIGN_PATTERN, _LOG_FLAGS)
QUOTED_NAME = re.compile(contract.LOG_QUOTED_NAME_PATTERN, _LOG_FLAGS)
CODE_MARK = re.compile(contract.LOG_CODE_MARK_PATTERN, _LOG_FLAGS)
CM_START = contract.LOG_CMTRACE_START
CM_MESSAGE_END = contract.LOG_CMTRACE_MESSAGE_END
MAX_RECORD_LINES = contract.LOG_MAX_RECORD_LINES
SAMPLE_BYTES = 1048576
UTF8_BOM_BYTES = codecs.BOM_UTF8


def detect_encoding(data: bytes, start: int, ansi_code_page: int) -> tuple[str, str]:
    """(Python codec, reported name) as Get-FieldkitLogEncoding detects it for a read from ``start``: BOM, BOM-less
    UTF-16 LE (NUL bytes before any NUL padding), strict UTF-8 up to the first NUL byte (a cut UTF-8 character
    allowed only where the sample really cuts the file), else the ANSI code page."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8", "utf-8-bom"
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", "utf-16le"
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", "utf-16be"
    sample = data[start:start + SAMPLE_BYTES]
    window = min(len(sample), 4096)
    for i in range(0, window - 1, 2):
        if sample[i] == 0 and sample[i + 1] == 0:
            window = i
            break
    zeros = sample[1:window:2].count(0)
    if zeros > window / 4:
        return "utf-16-le", "utf-16le"
    to = len(sample)
    cut_end = start + len(sample) < len(data)
    nul = sample.find(b"\x00")
    if nul >= 0:
        to, cut_end = nul, False
    begin = 0
    if start > 0:
        while begin < 3 and begin < to and 0x80 <= sample[begin] <= 0xBF:
            begin += 1
    if cut_end:
        lead = to - 1
        while lead > begin and to - lead < 4 and 0x80 <= sample[lead] <= 0xBF:
            lead -= 1
        if lead >= begin and sample[lead] >= 0xC0:
            needed = 4 if sample[lead] >= 0xF0 else 3 if sample[lead] >= 0xE0 else 2
            if to - lead < needed:
                to = lead
    try:
        sample[begin:max(begin, to)].decode("utf-8")
    except UnicodeDecodeError:
        return f"cp{ansi_code_page}", f"cp{ansi_code_page}"
    return "utf-8", "utf-8"


def read_log_lines(data: bytes, start: int, codec: str) -> list[str]:
    """The lines the host's StreamReader loop sees from ``start``: a tail read skips its first (cut) line; a NUL
    ends the data; BOMs at the start of a line are dropped (for an 8-bit log also a UTF-8 BOM as the ANSI code
    page decodes it)."""
    body = data[start:]
    if start == 0:
        for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            if body.startswith(bom):
                body = body[len(bom):]
                break
    text = body.decode(codec, errors="replace")
    lines = re.split(r"\r\n|\n|\r", text)
    if lines and lines[-1] == "":
        lines.pop()
    if start > 0 and lines:
        if "\x00" in lines.pop(0):
            return []
    ansi_bom = None if codec.startswith("utf") else UTF8_BOM_BYTES.decode(codec, errors="replace")
    result = []
    for line in lines:
        nul = line.find("\x00")
        if nul >= 0:
            line = line[:nul]
        line = line.lstrip("\ufeff")
        if ansi_bom and line.startswith(ansi_bom):
            line = line[len(ansi_bom):]
        result.append(line)
        if nul >= 0:
            break
    return result


TIME_TOKEN = re.compile(r"\{\{(sms|cmtime|cmdate):([+-]?\d+(?:\.\d+)?)\}\}")


def expand_time_tokens(host: HostModel, text: str) -> str:
    """Fixture log lines carry times relative to the host clock, so they fall inside the log window:
    ``{{sms:-95}}`` -> ``08-13-2023 10:15:30.123-540`` (SMS trace trailer), ``{{cmtime:-95}}`` ->
    ``10:15:30.123-540`` and ``{{cmdate:-95}}`` -> ``08-13-2023`` (CMTrace); minutes from now, local
    time of the host's ``os.bias_minutes`` (UTC = local + bias)."""
    bias = int(host.state.get("os", {}).get("bias_minutes", 0))
    now = host_now(host)

    def render(match: re.Match[str]) -> str:
        local = (now + dt.timedelta(minutes=float(match.group(2))) - dt.timedelta(minutes=bias)).replace(tzinfo=None)
        millis = f"{local.microsecond // 1000:03d}"
        if match.group(1) == "cmdate":
            return local.strftime("%m-%d-%Y")
        clock = local.strftime("%H:%M:%S.") + millis + f"{bias:+d}"
        return clock if match.group(1) == "cmtime" else local.strftime("%m-%d-%Y ") + clock

    return TIME_TOKEN.sub(render, text)


def _file_bytes(host: HostModel, path: str) -> bytes | None:
    """Raw bytes of a file: ``files_b64`` as is, ``files`` text (time tokens expanded) encoded with
    ``file_encodings[path]`` (default UTF-8; ``utf-16`` writes a BOM, ``cp932`` is Japanese ANSI)."""
    raw = _ci(host.state.get("files_b64", {}), path)
    if raw is not None:
        return base64.b64decode(raw)
    text = host.file(path)
    if text is None:
        return None
    encoding = _ci(host.state.get("file_encodings", {}), path) or "utf-8"
    return expand_time_tokens(host, text).encode(encoding)


def _record_utc(text: str) -> dt.datetime | None:
    match = SMS_TRAILER.search(text)
    if match:
        month, day, year, hour, minute, second, bias = match.groups()
    else:
        match = CM_TIME.search(text)
        if not match:
            return None
        hour, minute, second, bias, month, day, year = match.groups()
    try:
        local = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    return local + dt.timedelta(minutes=int(bias or 0))


def _severity(text: str) -> str:
    """Test-FieldkitLogRecord: decided on the message only (not the SMS trailer, not the CMTrace attributes)."""
    message, type_ = text, ""
    body = text.lstrip()
    if body.startswith(CM_START):
        message = body[len(CM_START):]
        close = message.find(CM_MESSAGE_END)
        if close >= 0:
            cm_type = CM_TYPE.search(message, close + len(CM_MESSAGE_END))
            if cm_type:
                type_ = cm_type.group(1)
            message = message[:close]
    else:
        trailer = SMS_TRAILER.search(text)
        if trailer:
            message = text[:trailer.start()]
    if type_ == "3":
        return "error"
    if type_ == "2":
        return "warning"
    plain = BENIGN.sub(" ", QUOTED_NAME.sub(" ", message))
    if ERROR_MARK.search(plain) or CODE_MARK.search(message):
        return "error"
    if WARN_MARK.search(plain):
        return "warning"
    return "info"


def split_records(lines: list[str]) -> list[tuple[int, str]]:
    """(first line number, record text) in file order, as the PowerShell reader groups the lines it read."""
    records: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    in_cm = message_ended = False
    for number, line in enumerate(lines, start=1):
        if not buffer and not line.strip():
            continue
        starts_cm = line.lstrip().startswith(CM_START)
        if starts_cm and buffer:
            records.append((start, "\n".join(buffer)))
            buffer = []
        if not buffer:
            start, in_cm, message_ended = number, starts_cm, False
        buffer.append(line)
        if in_cm:
            message_ended = message_ended or CM_MESSAGE_END in line
            ends = message_ended and bool(RECORD_CLOSE.search(line))
        else:
            ends = bool(SMS_TRAILER.search(line))
        if ends or len(buffer) >= MAX_RECORD_LINES:
            records.append((start, "\n".join(buffer)))
            buffer = []
    if buffer and any(b.strip() for b in buffer):
        records.append((start, "\n".join(buffer)))
    return records


@sim_op("log.read_filtered")
def log_read_filtered(host: HostModel, ctx: OpContext, *, paths: list[str] | None = None,
                      path_refs: list[dict[str, t.Any]] | None = None, include_rotated: bool = True,
                      patterns: list[str] | None = None, severities: list[str] | None = None,
                      since_utc: str | None = None, max_lines: int = 200, max_bytes: int = 65536,
                      max_scan_bytes: int = 33554432, timeout_seconds: int = 60) -> dict[str, t.Any]:
    targets = [_expand(host, p) for p in paths or []] + [p for p, _ in resolve_refs(host, path_refs or [])]
    ordered: list[str] = []
    for path in targets:
        if include_rotated and path.lower().endswith(".log"):
            ordered.append(path[:-4] + ".lo_")
        ordered.append(path)
    since = dt.datetime.fromisoformat(since_utc.replace("Z", "+00:00")) if since_utc else None
    needles = [p.lower() for p in patterns or [] if p]
    wanted = set(severities if severities is not None else ["error", "warning"])
    code_page = int(host.state.get("os", {}).get("ansi_code_page", 1252))
    files, records = [], []
    truncated_any = False
    for path in ordered:
        data = _file_bytes(host, path)
        name = path.rsplit("\\", 1)[-1]
        if data is None:
            if not path.lower().endswith(".lo_"):
                files.append({"path": path, "name": name, "exists": False, "size_bytes": None, "encoding": None,
                              "partial": False, "records_scanned": 0, "records_matched": 0, "records_returned": 0,
                              "truncated": False})
            continue
        partial = len(data) > max_scan_bytes
        start = len(data) - max_scan_bytes if partial else 0
        codec, encoding = detect_encoding(data, start, code_page)
        if start > 0 and codec == "utf-16-le" and start % 2:
            start += 1
        matched: list[dict[str, t.Any]] = []
        scanned = 0
        for line_number, record in split_records(read_log_lines(data, start, codec)):
            scanned += 1
            if since is not None:
                when = _record_utc(record)
                if when is not None and when < since:
                    continue
            lowered = record.lower()
            if not (any(n in lowered for n in needles) or _severity(record) in wanted):
                continue
            matched.append({"file": name, "path": path, "line_number": line_number, "text": record})
        kept = matched[-max_lines:] if max_lines > 0 else []
        budget, selected = max_bytes, []
        for item in reversed(kept):
            if len(item["text"]) > budget:
                break
            budget -= len(item["text"])
            selected.append(item)
        selected.reverse()
        truncated = len(selected) < len(matched)
        truncated_any = truncated_any or truncated
        files.append({"path": path, "name": name, "exists": True, "size_bytes": len(data), "encoding": encoding,
                      "partial": partial, "records_scanned": scanned, "records_matched": len(matched),
                      "records_returned": len(selected), "truncated": truncated})
        records.extend(selected)
    return {"log_dir": _site_log_dir(host), "files": files, "records": records, "truncated": truncated_any}


# --- identity, probes, SMS provider -----------------------------------------------------------
@sim_op("identity.read")
def identity_read(host: HostModel, ctx: OpContext, *, include_computer_groups: bool = True,
                  timeout_seconds: int = 15) -> dict[str, t.Any]:
    ident = host.state.get("identity", {})
    os_ = host.state.get("os", {})
    computer = str(os_.get("computer_name", host.name.split(".")[0])).upper()
    domain = ident.get("domain")
    groups: list[dict[str, t.Any]] = []
    groups_error = None
    if include_computer_groups and domain:
        if ctx.as_system:
            groups = [{"sid": g["sid"], **_lookup(g.get("name"), g, "name")} for g in ident.get("computer_groups", [])]
        else:
            # The WinRM logon has no credentials for a second hop to a domain controller.
            groups_error = error(0x80072020, "tokenGroups", "An operations error occurred.")
    if ctx.as_system:
        user, user_sid = "NT AUTHORITY\\SYSTEM", "S-1-5-18"
    else:
        user, user_sid = f"{computer}\\{ctx.winrm_user}", ident.get("winrm_user_sid", f"S-1-5-21-1004336348-1177238915-682003330-1001")
    return {
        "user": user,
        "user_sid": user_sid,
        "is_system": ctx.as_system,
        "computer_name": computer,
        "domain": domain,
        "computer_account": f"{domain}\\{computer}$" if domain else None,
        "computer_account_sid": ident.get("computer_account_sid") if domain else None,
        "computer_groups": groups,
        "computer_groups_error": groups_error,
    }


PROBE_STAGES = ("dns", "tcp", "epm", "wmi", "clock")


def _probe_stub(stage: str, reason: dict[str, t.Any], namespace: str, identity: str, ports: list[int]) -> t.Any:
    """What Complete-FieldkitProbeResult reports for a stage that did not finish."""
    if stage == "dns":
        return {"resolved": None, "addresses": [], "reverse": [], "error": reason}
    if stage == "tcp":
        return [{"port": p, "open": None, "error": reason} for p in ports]
    if stage == "epm":
        return {"reachable": None, "endpoint_count": None, "endpoints": [], "sample_ports": [],
                "dynamic_port_open": None, "skipped": False, "skip_reason": None, "error": reason}
    if stage == "wmi":
        return {"namespace": namespace, "identity": identity, "connected": None, "class_present": None,
                "skipped": False, "skip_reason": None, "error": reason}
    return {"offset_seconds": None, "method": None, "remote_utc": None, "skipped": False, "skip_reason": None,
            "error": reason}


def _skipped(result: dict[str, t.Any], reason: str, cause: dict[str, t.Any] | None) -> dict[str, t.Any]:
    result.update(skipped=True, skip_reason=reason, error=cause)
    return result


@sim_op("net.probe_targets")
def net_probe_targets(host: HostModel, ctx: OpContext, *, targets: list[str], tcp_ports: list[int] | None = None,
                      check_epm: bool = True, check_wmi: bool = True, wmi_namespace: str = "root\\SCCMDP",
                      wmi_class: str = "SMS_DistributionPoint", check_clock: bool = True,
                      connect_timeout_ms: int = 3000, timeout_seconds: int = 30, max_parallel: int = 16
                      ) -> dict[str, t.Any]:
    """Mirrors Test-FieldkitNetworkTarget stage by stage (dns, tcp, epm, wmi, clock). Without TCP 135
    (closed, or a stale address that does not answer) the endpoint mapper, remote WMI and the DCOM
    clock are skipped; ``network.hang`` abandons the target at a stage, keeping the finished ones."""
    for target in targets:
        if not contract.HOST_NAME_RE.match(target):
            raise SimWindowsError(0x80070057, f"target '{target}' is not a host name", "targets")
    if not contract.CLASS_NAME_RE.match(wmi_class):
        raise SimWindowsError(0x80070057, f"wmi_class '{wmi_class}' is not a WMI class name", "wmi_class")
    net = _network(host)
    identity = Network.network_identity(host, ctx)
    ports = list(tcp_ports if tcp_ports is not None else [135, 445, 80, 443])
    requested = {"epm": check_epm, "wmi": check_wmi, "clock": check_clock}
    results = []
    for target in targets:
        model = net.find(target)
        dns = net.dns(target)
        resolved = bool(dns["resolved"]) and model is not None
        stale = bool(dns.pop("stale", False))
        values: dict[str, t.Any] = {"dns": dns}
        # TCP: to the first address; a stale address answers nothing (WSAETIMEDOUT).
        if not resolved:
            values["tcp"] = [{"port": p, "open": None, "error": dns["error"]} for p in ports]
        elif stale:
            values["tcp"] = [{"port": p, "open": False, "error": error(WSAETIMEDOUT, str(p))} for p in ports]
        else:
            values["tcp"] = [net.tcp(model, p) for p in ports]
        skip_reason, skip_error = None, None
        gate_open = False
        if not resolved:
            skip_reason, skip_error = "dns_unresolved", dns["error"]
        elif check_epm or check_wmi or check_clock:
            gate = next((e for e in values["tcp"] if e["port"] == 135), None)
            if gate is None:
                gate = ({"port": 135, "open": False, "error": error(WSAETIMEDOUT, "135")} if stale
                        else net.tcp(model, 135))
            gate_open = bool(gate["open"])
            if not gate_open:
                skip_reason = "tcp_135_closed"
                skip_error = dict(gate["error"], target="135",
                                  message=f"not attempted: TCP 135 is closed ({gate['error']['message']})")
        if check_epm:
            values["epm"] = net.epm(model) if skip_reason is None else _skipped(
                {"reachable": None, "endpoint_count": None, "endpoints": [], "sample_ports": [],
                 "dynamic_port_open": None}, skip_reason, skip_error)
        wmi_connected = False
        if check_wmi:
            if skip_reason:
                values["wmi"] = _skipped({"namespace": wmi_namespace, "identity": identity["name"], "connected": False,
                                          "class_present": None}, skip_reason, skip_error)
            else:
                values["wmi"] = dict(net.wmi(host, ctx, target, wmi_namespace, wmi_class), skipped=False,
                                     skip_reason=None)
                wmi_connected = bool(values["wmi"]["connected"])
        if check_clock:
            if not resolved:
                values["clock"] = _skipped({"offset_seconds": None, "method": None, "remote_utc": None},
                                           "dns_unresolved", dns["error"])
            elif stale:
                values["clock"] = {"offset_seconds": None, "method": None, "remote_utc": None, "skipped": False,
                                   "skip_reason": None, "error": error(WSAETIMEDOUT, "123")}
            else:
                dcom = skip_reason is None and (wmi_connected if check_wmi else
                                                gate_open and net.rpc_path_error(model) is None)
                values["clock"] = dict(net.clock(host, target, dcom), skipped=False, skip_reason=None)
        entry: dict[str, t.Any] = {"target": target, "timed_out": False, "elapsed_ms": 40, "dns": None, "tcp": [],
                                   "epm": None, "wmi": None, "clock": None, "stages": {}, "error": None}
        hang = (model.state.get("network") or {}).get("hang") if model is not None else None
        hang_at = PROBE_STAGES.index("dns" if hang is True else hang) if hang else len(PROBE_STAGES)
        reason = error(ERROR_TIMEOUT, target, f"not finished within {timeout_seconds} s")
        for number, stage in enumerate(PROBE_STAGES):
            if stage in requested and not requested[stage]:
                entry["stages"][stage] = "not_requested"
                continue
            if number >= hang_at:
                entry[stage] = _probe_stub(stage, reason, wmi_namespace, identity["name"], ports)
                entry["stages"][stage] = "timed_out"
                continue
            entry[stage] = values[stage]
            skipped = isinstance(values[stage], dict) and values[stage].get("skipped")
            entry["stages"][stage] = "skipped" if skipped else "done"
        if hang:
            entry.update(timed_out=True, elapsed_ms=timeout_seconds * 1000)
        results.append(entry)
    return {"identity": identity["name"] if ctx.as_system else f"{identity['name']} (no delegation)",
            "targets": results, "elapsed_ms": 120}


@sim_op("sms.read_site_systems")
def sms_read_site_systems(host: HostModel, ctx: OpContext, *, timeout_seconds: int = 30,
                          max_distribution_points: int = 5000) -> dict[str, t.Any]:
    """Mirrors Get-FieldkitSmsSiteSystem. The site's DPs (SMS_DistributionPointInfo and the SourceDistributionPoints /
    SourceDPRanks property lists; NAL paths built here) are ``sms_provider.distribution_points`` ([{server,
    is_pull_dp, is_pxe, sources: [{server, rank}]}]) when given, else every lab host with the DP role key, with the
    flags of its ``site_dp`` ({is_pull_dp, is_pxe, sources}: the site's view, not the DP's registry);
    ``sms_provider.dp_info_error`` fails that query."""
    provider = host.state.get("sms_provider")
    empty = {"distribution_points": [], "distribution_points_truncated": False, "dp_info_error": None}
    if not provider:
        return {"provider_available": False, "provider_machine": None, "namespace": None, "site_code": None,
                "systems": [], **empty, "error": error(WBEM_E_INVALID_NAMESPACE, "root\\SMS")}
    if not ctx.as_system and provider.get("requires_system", False):
        return {"provider_available": False, "provider_machine": provider.get("machine"), "namespace": None,
                "site_code": None, "systems": [], **empty, "error": error(0x80041003, "root\\SMS", "Access denied")}
    site = provider.get("site_code")
    result = {"provider_available": True, "provider_machine": provider.get("machine"),
              "namespace": f"root\\SMS\\site_{site}", "site_code": site,
              "systems": [dict(s) for s in provider.get("systems", [])], **empty, "error": None}
    fault = provider.get("dp_info_error")
    if fault:
        result["dp_info_error"] = error(int(fault["code"]), f"{result['namespace']}:SMS_DistributionPointInfo",
                                        fault.get("message"))
        return result
    dps = list(provider.get("distribution_points") or _lab_dps(host))
    result["distribution_points_truncated"] = len(dps) > max_distribution_points
    result["distribution_points"] = [{
        "server": dp["server"], "nal_path": _nal_path(dp["server"], site), "is_pull_dp": bool(dp.get("is_pull_dp")),
        "is_pxe": bool(dp.get("is_pxe")),
        "source_nal_paths": [_nal_path(src["server"], site) for src in dp.get("sources", [])],
        "source_ranks": [int(src.get("rank", 1)) for src in dp.get("sources", [])],
    } for dp in dps[:max_distribution_points]]
    return result


def _lab_dps(host: HostModel) -> list[dict[str, t.Any]]:
    """Every lab host with HKLM\\SOFTWARE\\Microsoft\\SMS\\DP, as the site knows it (its ``site_dp``), in lab order."""
    found = []
    for model in _network(host).models:
        if model is host or model.reg_key(DP_KEY) is None:
            continue
        found.append({"server": fqdn_of(model), **(model.state.get("site_dp") or {})})
    return found


def _nal_path(server: str, site: str | None) -> str:
    """A DP's NAL path as the SMS Provider writes it (e.g. SMS_DistributionPointInfo.NALPath)."""
    return f'["Display=\\\\{server}\\"]MSWNET:["SMS_SITE={site}"]\\\\{server}\\'


_UNC_ROOT = re.compile(r"\A(\\\\[^\\/:*?\"<>|]+\\[^\\/:*?\"<>|]+)")


@sim_op("sms.read_package_sources")
def sms_read_package_sources(host: HostModel, ctx: OpContext, *, max_packages: int = 2000, max_shares: int = 10,
                             access_timeout_seconds: int = 15, timeout_seconds: int = 30) -> dict[str, t.Any]:
    """Mirrors Get-FieldkitSmsPackageSource: ``sms_provider.packages`` ([{package_id, name, source_path}]) reduced
    to their \\\\server\\share roots, each tested like path.test_access; ``sms_provider.packages_error`` fails the
    query (e.g. {code, message} for access denied)."""
    base = sms_read_site_systems(host, ctx, timeout_seconds=timeout_seconds)
    result: dict[str, t.Any] = {"provider_available": False, "namespace": base["namespace"], "site_code": base["site_code"],
                                "packages_read": 0, "packages_truncated": False, "local_paths": 0, "shares": [],
                                "shares_truncated": False, "identity": None, "access": [], "error": None}
    if not base["provider_available"]:
        result["error"] = base["error"]
        return result
    provider = host.state.get("sms_provider") or {}
    fault = provider.get("packages_error")
    if fault:
        result["error"] = error(int(fault["code"]), f"{base['namespace']}:SMS_Package", fault.get("message"))
        return result
    result["provider_available"] = True
    packages = list(provider.get("packages", []))
    result["packages_truncated"] = len(packages) > max_packages
    packages = packages[:max_packages]
    result["packages_read"] = len(packages)
    roots: dict[str, dict[str, t.Any]] = {}
    for package in packages:
        source = str(package.get("source_path") or "").strip()
        if not source:
            continue
        match = _UNC_ROOT.match(source)
        if not match:
            result["local_paths"] += 1
            continue
        entry = roots.setdefault(match.group(1).lower(), {"path": match.group(1), "packages": 0})
        entry["packages"] += 1
    ranked = sorted(roots.values(), key=lambda r: (-r["packages"], r["path"].lower()))
    result["shares_truncated"] = len(ranked) > max_shares
    result["shares"] = ranked[:max_shares]
    if result["shares"]:
        access = path_test_access(host, ctx, paths=[r["path"] for r in result["shares"]],
                                  timeout_seconds=access_timeout_seconds)
        result["identity"], result["access"] = access["identity"], access["paths"]
    return result


# sms.read_distribution_status (Get-FieldkitSmsDistributionStatus). The site database's view of each DP lives in
# that DP's fixture (``site_distribution.packages``: package ID -> {name, state, source_version, message_id,
# message_state, message_severity, message_minutes_ago, insertion_strings}), so that a DP fixture carries its own
# failure class; the site server's fixture may add ``sms_provider.distribution_error`` ({code, message}: the first
# query fails) and ``sms_provider.distribution_query_seconds`` (simulated seconds each query takes, against the
# deadline). Rows, bounds and the deadline follow the PowerShell query by query.
_FAILED_STATES = (3, 6)


def _distribution_sites(host: HostModel) -> list[tuple[str, dict[str, t.Any]]]:
    """(server name, site_distribution) of every lab host the site knows as a DP, in lab order."""
    found = []
    for model in _network(host).models:
        data = model.state.get("site_distribution")
        if isinstance(data, dict):
            found.append((fqdn_of(model), data))
    return found


@sim_op("sms.read_distribution_status")
def sms_read_distribution_status(host: HostModel, ctx: OpContext, *, distribution_points: list[str],
                                 max_packages: int = 50, max_rows: int = 20000,
                                 timeout_seconds: int = 60) -> dict[str, t.Any]:
    for dp in distribution_points:
        if not contract.HOST_NAME_RE.match(dp):
            raise SimWindowsError(0x80070057, f"distribution point '{dp}' is not a host name", "distribution_points")
    if not 0 <= max_packages <= contract.DISTRIBUTION_MAX_PACKAGES_LIMIT:
        raise SimWindowsError(0x80070057, f"max_packages {max_packages} is not allowed; allowed: 0 to "
                              f"{contract.DISTRIBUTION_MAX_PACKAGES_LIMIT}", "max_packages")
    if not 1 <= max_rows <= contract.DISTRIBUTION_MAX_ROWS_LIMIT:
        raise SimWindowsError(0x80070057, f"max_rows {max_rows} is not allowed; allowed: 1 to "
                              f"{contract.DISTRIBUTION_MAX_ROWS_LIMIT}", "max_rows")
    if timeout_seconds < 1:
        raise SimWindowsError(0x80070057, f"timeout_seconds {timeout_seconds} is not allowed; allowed: 1 or more",
                              "timeout_seconds")
    entries: dict[str, dict[str, t.Any]] = {}
    lookup: dict[str, str] = {}
    for dp in distribution_points:
        key = dp.rstrip(".").lower()
        if key in entries:
            continue
        entries[key] = {"name": dp, "found": False, "total": None, "installed": None, "in_progress": None,
                        "errors": None, "unknown": None, "packages": [], "packages_truncated": False}
        lookup[key] = key
    shorts = [k.split(".")[0] for k in entries]
    for key in entries:
        short = key.split(".")[0]
        if shorts.count(short) == 1 and short not in lookup:
            lookup[short] = key

    def find(server: str) -> str | None:
        server = server.rstrip(".").lower()
        return lookup.get(server) or lookup.get(server.split(".")[0])

    result: dict[str, t.Any] = {"provider_available": False, "namespace": None, "site_code": None, "dps": [],
                                "rows_read": 0, "rows_truncated": False, "timed_out": False, "elapsed_ms": 0,
                                "error": None}
    base = sms_read_site_systems(host, ctx, timeout_seconds=timeout_seconds)
    result["namespace"], result["site_code"] = base["namespace"], base["site_code"]
    if not base["provider_available"]:
        result["error"] = base["error"]
        result["dps"] = list(entries.values())
        return result
    provider = host.state.get("sms_provider") or {}
    per_query = float(provider.get("distribution_query_seconds", 0.0))
    clock = {"elapsed": 0.0}

    def query(rows: list[t.Any], bound: int, cls: str) -> tuple[list[t.Any], bool, bool, dict[str, t.Any] | None]:
        """(rows, truncated, timed_out, error) of one query, as Invoke-FieldkitDistributionQuery."""
        remaining = timeout_seconds - int(-(-clock["elapsed"] // 1))
        if remaining < 1 or bound < 1:
            return [], bound < 1, remaining < 1, None
        if clock["elapsed"] + per_query > timeout_seconds:
            clock["elapsed"] = float(timeout_seconds)
            return [], False, True, None
        clock["elapsed"] += per_query
        fault = provider.get("distribution_error")
        if fault and cls == "SMS_DPStatusInfo":
            return [], False, False, error(int(fault["code"]), f"{base['namespace']}:{cls}", fault.get("message"))
        return rows[:bound], len(rows) > bound, False, None

    sites = _distribution_sites(host)
    now = host_now(host)
    # 1. SMS_DPStatusInfo: one row per DP of the site.
    rows, truncated, timed_out, fault = query(sites, max_rows, "SMS_DPStatusInfo")
    result["error"], result["timed_out"], result["rows_truncated"] = fault, timed_out, truncated
    result["provider_available"] = fault is None and not timed_out
    result["rows_read"] = len(rows)
    for server, data in rows:
        key = find(server)
        if key is None:
            continue
        states = [int(p.get("state", 0)) for p in (data.get("packages") or {}).values()]
        entry = entries[key]
        entry.update(found=True, installed=states.count(0), errors=sum(states.count(s) for s in _FAILED_STATES),
                     unknown=0)
        entry["in_progress"] = len(states) - entry["installed"] - entry["errors"]
        entry["total"] = len(states)
    # 2. SMS_PackageStatusDistPointsSummarizer WHERE State <> 0.
    items: dict[str, dict[str, t.Any]] = {}
    messages: dict[str, dict[str, t.Any]] = {}
    if result["error"] is None and not result["timed_out"]:
        stuck = [(server, pid, p) for server, data in sites for pid, p in (data.get("packages") or {}).items()
                 if int(p.get("state", 0)) != 0]
        rows, truncated, timed_out, fault = query(stuck, max_rows, "SMS_PackageStatusDistPointsSummarizer")
        result["error"], result["timed_out"] = fault, timed_out
        result["rows_truncated"] = result["rows_truncated"] or truncated
        result["rows_read"] += len(rows)
        for server, pid, package in rows:
            key = find(server)
            if key is None or not contract.PACKAGE_ID_RE.match(pid):
                continue
            entry = entries[key]
            entry["found"] = True
            if len(entry["packages"]) >= max_packages:
                entry["packages_truncated"] = True
                continue
            minutes = float(package.get("message_minutes_ago", 60))
            item = {"package_id": pid.upper(), "name": None, "state": int(package["state"]),
                    "source_version": package.get("source_version"),
                    "summary_time": _utc(now - dt.timedelta(minutes=minutes)),
                    "message_id": None, "message_state": None, "message_severity": None, "message_time": None,
                    "insertion_strings": []}
            entry["packages"].append(item)
            items[f"{key}|{item['package_id']}"] = item
            messages[f"{key}|{item['package_id']}"] = package
    # 3. SMS_DistributionDPStatus and 4. SMS_PackageBaseclass, by chunks of package IDs.
    ids = sorted({i["package_id"] for i in items.values()})
    names = {pid.upper(): p.get("name") for _server, data in sites for pid, p in (data.get("packages") or {}).items()}
    for start in range(0, len(ids), contract.DISTRIBUTION_QUERY_CHUNK):
        if result["error"] is not None or result["timed_out"]:
            break
        chunk = set(ids[start:start + contract.DISTRIBUTION_QUERY_CHUNK])
        status_rows = [(server, pid.upper(), p) for server, data in sites
                       for pid, p in (data.get("packages") or {}).items() if pid.upper() in chunk]
        rows, truncated, timed_out, fault = query(status_rows, max_rows - result["rows_read"], "SMS_DistributionDPStatus")
        result["error"], result["timed_out"] = fault, timed_out
        result["rows_truncated"] = result["rows_truncated"] or truncated
        result["rows_read"] += len(rows)
        for server, pid, package in rows:
            key = find(server)
            item = items.get(f"{key}|{pid}") if key else None
            if item is None or package.get("message_id") is None:
                continue
            minutes = float(package.get("message_minutes_ago", 60))
            item.update(message_id=int(package["message_id"]), message_state=int(package.get("message_state", 4)),
                        message_severity=int(package.get("message_severity", 0xC0000000)),
                        message_time=_utc(now - dt.timedelta(minutes=minutes)),
                        insertion_strings=[str(s)[:256] for s in (package.get("insertion_strings") or ["", "", ""])][:3])
        if result["error"] is not None or result["timed_out"]:
            break
        known = [pid for pid in sorted(chunk) if names.get(pid) is not None]
        rows, truncated, timed_out, fault = query(known, max_rows - result["rows_read"], "SMS_PackageBaseclass")
        result["error"], result["timed_out"] = fault, timed_out
        result["rows_truncated"] = result["rows_truncated"] or truncated
        result["rows_read"] += len(rows)
        for item in items.values():
            if item["package_id"] in rows:
                item["name"] = names[item["package_id"]]
    result["dps"] = list(entries.values())
    result["elapsed_ms"] = int(clock["elapsed"] * 1000)
    return result
