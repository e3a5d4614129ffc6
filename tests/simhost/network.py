"""The simulated network between the hosts of a lab: name resolution, TCP reachability, RPC/DCOM,
remote WMI as a given identity, clocks and SMB paths (simulated lab support code, not packaged).

A host's fixture may carry a ``network`` section describing how it looks from the other hosts::

    "network": {
      "fqdn": "dp01.contoso.local", "addresses": ["10.20.1.11", "fd00::11"],  # IPv4 and/or IPv6
      "dns": "ok" | "nxdomain" | "stale",          # stale: resolves to stale_address
      "stale_address": "10.20.9.99", "reverse": "dp01.contoso.local",
      "blocked_ports": [445],                        # dropped by a firewall on the path (timeout);
                                                     # dynamic RPC ports of the endpoint map too
      "rpc_dynamic": "open" | "blocked",            # dynamic RPC range (49152-65535)
      "epm_endpoints": [["<uuid>", 49668, "annotation"], ...],  # default: DEFAULT_EPM_ENDPOINTS
      "ntp": true, "down": false,
      "hang": false | true | "<stage>",             # the probe hangs from this stage on (true = dns):
                                                     # dns, tcp, epm, wmi, clock; earlier stages finish
      "wmi_fault": {"code": "0x80041013", "message": "..."}
    }

and an ``identity`` section (site servers): the AD domain, the computer account SID and the SIDs of
the domain groups it belongs to. Remote WMI as SYSTEM runs as the computer account; as the WinRM
user it runs without credentials on the second hop (double hop) and is denied. Everything here is
simulated.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import typing as t

from .model import HostModel, OpContext

# Well-known SIDs every network logon of a domain computer carries.
EVERYONE = "S-1-1-0"
AUTHENTICATED_USERS = "S-1-5-11"
NETWORK = "S-1-5-2"
ADMINISTRATORS = "S-1-5-32-544"
USERS = "S-1-5-32-545"
DCOM_USERS = "S-1-5-32-562"

# Windows error codes used by the probes (HRESULT form).
DNS_NAME_ERROR = 0x80072AF9          # WSAHOST_NOT_FOUND (11001), what Dns.GetHostAddresses reports
WSAETIMEDOUT = 0x8007274C            # 10060
WSAECONNREFUSED = 0x8007274D         # 10061
RPC_S_SERVER_UNAVAILABLE = 0x800706BA
EPT_S_NOT_REGISTERED = 0x800706D9
WSANO_DATA = 0x80072AFC             # 11004: the name exists but has no address of a known family
E_ACCESSDENIED = 0x80070005
RPC_S_SEC_PKG_ERROR = 0x80070721
WBEM_E_INVALID_NAMESPACE = 0x8004100E
WBEM_E_INVALID_CLASS = 0x80041010
ERROR_TIMEOUT = 0x800705B4
ERROR_BAD_NETPATH = 0x80070035
ERROR_BAD_NET_NAME = 0x80070043
KERBEROS_MAX_SKEW_SECONDS = 300.0

MESSAGES = {
    DNS_NAME_ERROR: "No such host is known",
    WSAETIMEDOUT: "A connection attempt failed because the connected party did not properly respond after a period of time",
    WSAECONNREFUSED: "No connection could be made because the target machine actively refused it",
    RPC_S_SERVER_UNAVAILABLE: "The RPC server is unavailable. (Exception from HRESULT: 0x800706BA)",
    EPT_S_NOT_REGISTERED: "There are no more endpoints available from the endpoint mapper.",
    E_ACCESSDENIED: "Access is denied. (Exception from HRESULT: 0x80070005 (E_ACCESSDENIED))",
    RPC_S_SEC_PKG_ERROR: "A security package specific error occurred. (Exception from HRESULT: 0x80070721)",
    WBEM_E_INVALID_NAMESPACE: "Invalid namespace",
    WBEM_E_INVALID_CLASS: "Invalid class",
    ERROR_TIMEOUT: "This operation returned because the timeout period expired.",
    ERROR_BAD_NETPATH: "The network path was not found.",
    ERROR_BAD_NET_NAME: "The network name cannot be found.",
}


def error(code: int, target: str = "", message: str | None = None) -> dict[str, t.Any]:
    """An error record as the PowerShell side returns it."""
    return {"code": code, "hresult": f"0x{code:08X}", "message": message or MESSAGES.get(code, "error"),
            "target": target}


def _net(model: HostModel) -> dict[str, t.Any]:
    return model.state.get("network") or {}


def fqdn_of(model: HostModel) -> str:
    os_ = model.state.get("os", {})
    return (_net(model).get("fqdn") or os_.get("fqdn") or model.name).lower()


def addresses_of(model: HostModel) -> list[str]:
    """The host's addresses, IPv4 first: ``network.addresses``, else one IPv4 derived from its name (stable)."""
    given = _net(model).get("addresses")
    if given:
        return sorted(given, key=is_ipv6)
    digest = hashlib.sha256(fqdn_of(model).encode()).digest()
    return [f"10.20.{digest[0] % 250 + 1}.{digest[1] % 250 + 2}"]


def is_ipv6(address: str) -> bool:
    return ":" in address


# Elements of a Windows Server endpoint map over TCP (interface UUID, dynamic port, annotation), in
# no particular order, as RpcMgmtEpEltInqNext returns them. None is the WMI/DCOM server: DCOM hands
# out the port of an object exporter per activation and the endpoint map does not list it.
DEFAULT_EPM_ENDPOINTS: tuple[tuple[str, int, str], ...] = (
    ("367abb81-9844-35f1-ad32-98f038001003", 49668, ""),                  # svcctl (services.exe)
    ("d95afe70-a6d5-4259-822e-2c84da1ddb0d", 49664, ""),                  # WindowsShutdown (wininit)
    ("f6beaff7-1e19-4fbb-9f8f-b89e2018337c", 49665, "Event log TCPIP"),
    ("86d35949-83c9-4044-b424-db363231fd0c", 49666, ""),                  # ITaskSchedulerService
    ("12345778-1234-abcd-ef00-0123456789ac", 49667, ""),                  # samr (lsass)
    ("6b5bdd1e-528c-422c-af8c-a4079be4fe48", 49669, "Remote Fw APIs"),
    ("29770a8f-829b-4158-90a2-78cd488501f7", 49670, ""),
)


def service_running(model: HostModel, name: str) -> bool:
    svc = model.service(name)
    return svc is not None and svc.get("state") == "running"


def clock_offset(model: HostModel) -> float:
    return float(model.state.get("os", {}).get("clock_offset_seconds", 0.0))


def host_now(model: HostModel) -> dt.datetime:
    """The host's clock: real UTC now plus the fixture's offset."""
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=clock_offset(model))


class Network:
    """Every host of a lab, reachable by FQDN, short name or lab name."""

    def __init__(self, models: t.Iterable[HostModel]) -> None:
        self.models = list(models)

    def find(self, name: str) -> HostModel | None:
        wanted = name.strip().lower().rstrip(".")
        for model in self.models:
            names = {model.name.lower(), fqdn_of(model), fqdn_of(model).split(".")[0],
                     str(model.state.get("os", {}).get("computer_name", "")).lower()}
            if wanted in names:
                return model
        return None

    # --- identities -----------------------------------------------------------------------
    @staticmethod
    def network_identity(source: HostModel, ctx: OpContext) -> dict[str, t.Any]:
        """Who the target sees: the computer account as SYSTEM, nobody (double hop) otherwise."""
        ident = source.state.get("identity", {})
        computer = str(source.state.get("os", {}).get("computer_name", source.name.split(".")[0])).upper()
        if ctx.as_system:
            return {"name": f"{ident.get('domain', 'CONTOSO')}\\{computer}$", "sid": ident.get("computer_account_sid"),
                    "groups": [g["sid"] for g in ident.get("computer_groups", [])], "delegated": True}
        return {"name": f"{computer}\\{ctx.winrm_user}", "sid": None, "groups": [], "delegated": False}

    @staticmethod
    def principals(identity: dict[str, t.Any], target: HostModel) -> set[str]:
        """SIDs in the network token of ``identity`` on ``target``, local groups included."""
        sids = {s for s in [identity.get("sid"), *identity.get("groups", [])] if s}
        if not sids:
            return set()
        sids |= {EVERYONE, AUTHENTICATED_USERS, NETWORK, USERS}
        for group_sid, group in (target.state.get("local_groups") or {}).items():
            members = {m.get("sid") for m in group.get("members", [])}
            if sids & members:
                sids.add(group_sid)
        return sids

    # --- probes -----------------------------------------------------------------------------
    def dns(self, name: str) -> dict[str, t.Any]:
        """Forward and reverse lookup as Test-FieldkitNetworkTarget does: IPv4 and IPv6, IPv4 first."""
        model = self.find(name)
        if model is None or _net(model).get("dns", "ok") == "nxdomain":
            return {"resolved": False, "addresses": [], "reverse": [], "error": error(DNS_NAME_ERROR, name)}
        net = _net(model)
        if net.get("dns") == "stale":
            return {"resolved": True, "addresses": [net.get("stale_address", "10.255.0.1")], "reverse": [],
                    "error": None, "stale": True}
        addresses = addresses_of(model)
        return {"resolved": True, "addresses": addresses,
                "reverse": [net.get("reverse", fqdn_of(model)) for _ in addresses[:4]], "error": None}

    def tcp(self, model: HostModel, port: int) -> dict[str, t.Any]:
        net = _net(model)
        if net.get("down") or port in net.get("blocked_ports", []):
            return {"port": port, "open": False, "error": error(WSAETIMEDOUT, str(port))}
        listening = {135: service_running(model, "RpcEptMapper"), 445: service_running(model, "LanmanServer"),
                     80: service_running(model, "W3SVC") and 80 in net.get("http_ports", [80]),
                     443: service_running(model, "W3SVC") and 443 in net.get("http_ports", [80])}
        if listening.get(port, port in net.get("listening", [])):
            return {"port": port, "open": True, "error": None}
        return {"port": port, "open": False, "error": error(WSAECONNREFUSED, str(port))}

    def epm(self, model: HostModel) -> dict[str, t.Any]:
        """The endpoint map (at most 20 TCP elements) and TCP to at most 3 distinct dynamic ports of it."""
        result: dict[str, t.Any] = {"reachable": False, "endpoint_count": None, "endpoints": [], "sample_ports": [],
                                    "dynamic_port_open": None, "skipped": False, "skip_reason": None, "error": None}
        if not self.tcp(model, 135)["open"]:
            result["error"] = error(RPC_S_SERVER_UNAVAILABLE, "135")
            return result
        net = _net(model)
        elements = [tuple(e) for e in net.get("epm_endpoints", DEFAULT_EPM_ENDPOINTS)]
        if not service_running(model, "RpcSs"):
            elements = elements[:2]
        samples: list[dict[str, t.Any]] = []
        for uuid, port, _annotation in elements:
            if port >= 1024 and port not in {s["port"] for s in samples} and len(samples) < 3:
                blocked = (net.get("rpc_dynamic", "open") == "blocked" or port in net.get("blocked_ports", [])
                           or net.get("down"))
                samples.append({"port": port, "uuid": uuid, "open": not blocked,
                                "error": error(WSAETIMEDOUT, str(port)) if blocked else None})
        result.update(reachable=True, endpoint_count=len(elements) * 2,
                      endpoints=[{"uuid": u, "port": p, "annotation": a} for u, p, a in elements[:20]],
                      sample_ports=samples)
        if samples:
            result["dynamic_port_open"] = any(s["open"] for s in samples)
            if not result["dynamic_port_open"]:
                result["error"] = samples[0]["error"]
        return result

    def rpc_path_error(self, target: HostModel) -> int | None:
        """Why DCOM cannot reach the target at all (before authentication), or None."""
        net = _net(target)
        reg_dcom = target.reg_value("HKLM\\SOFTWARE\\Microsoft\\Ole", "EnableDCOM")
        if (net.get("down") or not self.tcp(target, 135)["open"] or net.get("rpc_dynamic", "open") == "blocked"
                or not all(service_running(target, s) for s in ("RpcSs", "DcomLaunch"))
                or str(reg_dcom or "Y").upper() != "Y"):
            return RPC_S_SERVER_UNAVAILABLE
        return None

    def wmi(self, source: HostModel, ctx: OpContext, name: str, namespace: str, class_name: str) -> dict[str, t.Any]:
        identity = self.network_identity(source, ctx)
        result: dict[str, t.Any] = {"namespace": namespace, "identity": identity["name"], "connected": False,
                                    "class_present": None, "error": None}
        model = self.find(name)
        if not self.dns(name)["resolved"] or model is None:
            result["error"] = error(RPC_S_SERVER_UNAVAILABLE, name)
            return result
        code = self.rpc_path_error(model)
        if code is None and abs(clock_offset(model) - clock_offset(source)) > KERBEROS_MAX_SKEW_SECONDS:
            code = RPC_S_SEC_PKG_ERROR
        if code is None and not identity["delegated"]:
            code = E_ACCESSDENIED
        if code is None:
            principals = self.principals(identity, model)
            if not principals & {ADMINISTRATORS, DCOM_USERS} or not self._wmi_root_allows(model, principals):
                code = E_ACCESSDENIED
        if code is None and model.wmi_namespace(namespace) is None:
            code = WBEM_E_INVALID_NAMESPACE
        if code is None and _net(model).get("wmi_fault"):
            fault = _net(model)["wmi_fault"]
            code = int(fault["code"], 16) if isinstance(fault["code"], str) else int(fault["code"])
            result["error"] = error(code, name, fault.get("message"))
            return result
        if code is None and model.wmi_instances(namespace, class_name) is None:
            code = WBEM_E_INVALID_CLASS
        if code is not None:
            result["error"] = error(code, name)
            return result
        result.update(connected=True, class_present=True)
        return result

    @staticmethod
    def _wmi_root_allows(model: HostModel, principals: set[str]) -> bool:
        """Enable Account (0x1) and Remote Enable (0x20) on the Root namespace, deny ACEs first."""
        sd = (model.state.get("wmi_security") or {}).get("root") or {}
        allowed = denied = 0
        for entry in sd.get("entries", []):
            if entry.get("sid") not in principals:
                continue
            if entry.get("type") == "deny":
                denied |= int(entry.get("mask", 0))
            else:
                allowed |= int(entry.get("mask", 0))
        need = 0x1 | 0x20
        return (allowed & ~denied & need) == need

    def clock(self, source: HostModel, name: str, wmi_connected: bool) -> dict[str, t.Any]:
        model = self.find(name)
        if model is None or not self.dns(name)["resolved"]:
            return {"offset_seconds": None, "method": None, "remote_utc": None, "error": error(DNS_NAME_ERROR, name)}
        offset = round(clock_offset(model) - clock_offset(source), 3)
        remote = host_now(model).strftime("%Y-%m-%dT%H:%M:%SZ")
        if wmi_connected:
            return {"offset_seconds": offset, "method": "wmi", "remote_utc": remote, "error": None}
        net = _net(model)
        if not net.get("down") and net.get("ntp", True) and service_running(model, "W32Time"):
            return {"offset_seconds": offset, "method": "ntp", "remote_utc": None, "error": None}
        return {"offset_seconds": None, "method": None, "remote_utc": None, "error": error(WSAETIMEDOUT, "123")}

    def unc_access(self, source: HostModel, ctx: OpContext, path: str) -> dict[str, t.Any]:
        """Access to ``\\\\server\\share[\\sub]`` as the network identity of the op."""
        parts = [p for p in path.strip("\\").split("\\") if p]
        result: dict[str, t.Any] = {"path": path, "exists": False, "readable": False, "free_bytes": None,
                                    "total_bytes": None, "error": None}
        if len(parts) < 2:
            result["error"] = error(ERROR_BAD_NETPATH, path)
            return result
        server, share_name = parts[0], parts[1]
        model = self.find(server)
        if model is None or not self.dns(server)["resolved"] or not self.tcp(model, 445)["open"]:
            result["error"] = error(ERROR_BAD_NETPATH, path)
            return result
        share = next((v for k, v in model.state.get("shares", {}).items() if k.lower() == share_name.lower()), None)
        if share is None:
            result["error"] = error(ERROR_BAD_NET_NAME, path)
            return result
        identity = self.network_identity(source, ctx)
        principals = self.principals(identity, model)
        allowed = {a.get("sid") for a in share.get("access", []) if a.get("type", "allow") == "allow"}
        if not identity["delegated"] or not principals & allowed:
            result["error"] = error(E_ACCESSDENIED, path)
            return result
        local = share.get("path", "")
        drive = (local[:2].upper() if len(local) >= 2 and local[1] == ":" else None)
        disk = (model.state.get("disks") or {}).get(drive or "", {})
        result.update(exists=True, readable=True, free_bytes=disk.get("free_bytes"), total_bytes=disk.get("size_bytes"))
        return result
