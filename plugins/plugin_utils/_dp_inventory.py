# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DP fleet inventory rows from ``ansible_facts.sccm_dp``. FOR INTERNAL COLLECTION USE ONLY.

One row per DP: ``{dp, site_code, os_product, os_build, patched, content_library_drives,
shares_ok, wmi_ok, wmi_local_ok, wmi_remote_ok, pull_dp, pxe, role_source, last_seen_utc}``. A value that the facts cannot
prove is None, never a guess: a DP that gave no facts has a row of Nones (and its name), so it still shows up in
the fleet table.

Every column means the same in every table, whichever entry point wrote it and whatever facts it had:

* ``wmi_local_ok``: ``root\\SCCMDP`` answers on the DP itself (win_sccm_dp_facts);
* ``wmi_remote_ok``: it answers the site server's remote test over DCOM as SYSTEM (win_sccm_site_facts); None
  without a trusted site probe of this DP;
* ``wmi_ok``: both are proven (True), either failed (False), else None - never the local test alone;
* ``site_code``: the DP's own registry, else the site of the site server that probed it or that the DP names
  (``HKLM\\SOFTWARE\\Microsoft\\SMS\\DP\\SiteServer``);
* ``pull_dp`` / ``pxe``: what the site says (``SMS_DistributionPointInfo.IsPullDP`` / ``IsPXE``, read by the site
  probe), ``role_source`` ``site``; only when the site could not say (no site probe, SMS Provider not answering, a
  DP the site does not list), the DP's own ``IsPullDP`` / ``IsPXE`` under ``HKLM\\SOFTWARE\\Microsoft\\SMS\\DP``
  (values whose existence is unconfirmed), ``role_source`` ``dp_registry``; None (and ``role_source`` None) when
  neither says.
"""
from __future__ import annotations

import re
import typing as t

from . import _dp_knowledge
from ._dp_diagnose import NameIndex
from ._dp_pull import dp_role
from ._dp_facts import DP_SHARES
from ._gc_pause import paused


# The DP share names (``SMS_DP$``, ``SCCMContentLib$``, ``SMSPKG<drive>$`` ...), ``*`` a wildcard, compiled once.
_DP_SHARE_PATTERNS = tuple(re.compile(re.escape(pattern.upper()).replace("\\*", ".*")) for pattern in DP_SHARES)


def _shares_ok(facts: dict[str, t.Any]) -> bool | None:
    shares = facts.get("shares")
    if shares is None:
        return None
    if not shares.get("server_service_running"):
        return False
    present = {str(s["name"]).upper() for s in shares.get("items", [])}
    return all(any(regex.fullmatch(name) for name in present) for regex in _DP_SHARE_PATTERNS)


def _wmi_local_ok(facts: dict[str, t.Any] | None) -> bool | None:
    local = ((facts or {}).get("wmi") or {}).get("sccmdp")
    return None if local is None else bool(local.get("query_ok"))


def _wmi_remote_ok(probe: dict[str, t.Any] | None, trusted: bool) -> bool | None:
    """The site server's remote test as SYSTEM: False also when the site server could not even try (the name does
    not resolve, TCP 135 closed); None when it was not made, not as SYSTEM, or not finished."""
    remote = (probe or {}).get("wmi")
    stages = (probe or {}).get("stages") or {}
    if remote is None or not trusted or stages.get("wmi", "done") not in ("done", "skipped"):
        return None
    return bool(remote.get("connected") and remote.get("class_present"))


def _both(local: bool | None, remote: bool | None) -> bool | None:
    if local is False or remote is False:
        return False
    return True if local and remote else None


def _patched(facts: dict[str, t.Any]) -> bool | None:
    os_info = facts.get("os")
    if not os_info:
        return None
    hotfixes = os_info.get("hotfixes") if os_info.get("hotfixes_collected") else None
    dcom = facts.get("dcom") or {}
    status = _dp_knowledge.classify_patch_level(
        os_info.get("build"), os_info.get("ubr"), hotfixes=hotfixes,
        require_integrity_value=dcom.get("require_integrity_activation_authentication_level"))["status"]
    return {"PASS": True, "FAIL": False}.get(status)


def _drives(facts: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    role = facts.get("role") or {}
    disks = {d["drive"]: d for d in facts.get("disks") or []}
    drives = []
    for drive in role.get("content_library_drives") or []:
        disk = disks.get(drive)
        drives.append({
            "drive": drive,
            "free_percent": disk.get("free_percent") if disk else None,
            "free_bytes": disk.get("free_bytes") if disk else None,
            "size_bytes": disk.get("size_bytes") if disk else None,
        })
    return drives


def _site_code(role: dict[str, t.Any], site: dict[str, t.Any], probed: bool) -> str | None:
    """The DP's own site code, else the probing site's, else the site of the site server the DP names."""
    if role.get("site_code"):
        return role["site_code"]
    if not site.get("site_code"):
        return None
    server = str(role.get("site_server") or "").strip().rstrip(".").lower()
    names = {str(site.get(k) or "").strip().rstrip(".").lower() for k in ("fqdn", "computer_name")} - {""}
    if probed or (server and (server in names or server.split(".", maxsplit=1)[0] in {n.split(".", maxsplit=1)[0] for n in names})):
        return site["site_code"]
    return None


def inventory_row(dp: str, facts: dict[str, t.Any] | None, *, site_facts: dict[str, t.Any] | None = None,
                  _probes: NameIndex | None = None) -> dict[str, t.Any]:
    """The fleet-table row of one DP."""
    site = site_facts or {}
    probes = site.get("dps") or {}
    index = _probes if _probes is not None else NameIndex(probes)
    found = index.lookup(dp, (facts or {}).get("fqdn") or "")
    probe = probes.get(found[0]) if len(found) == 1 else None
    # A name the site server refused to probe (not a host name) is no probe of this DP.
    probed = probe is not None and set(((probe.get("stages") or {}).values())) != {"failed"}
    trusted = bool((site.get("probe_identity") or {}).get("trusted"))
    remote = _wmi_remote_ok(probe, trusted)
    role_flags = dp_role((probe or {}).get("site_role"), facts)
    if not facts:
        return {"dp": dp, "site_code": site.get("site_code") if probed else None, "os_product": None,
                "os_build": None, "patched": None, "content_library_drives": [], "shares_ok": None,
                "wmi_ok": False if remote is False else None, "wmi_local_ok": None, "wmi_remote_ok": remote,
                "pull_dp": role_flags["pull_dp"], "pxe": role_flags["pxe"], "role_source": role_flags["source"],
                "last_seen_utc": None}
    os_info = facts.get("os") or {}
    role = facts.get("role") or {}
    local = _wmi_local_ok(facts)
    return {
        "dp": dp,
        "site_code": _site_code(role, site, probed),
        "os_product": os_info.get("product_name"),
        "os_build": os_info.get("version"),
        "patched": _patched(facts),
        "content_library_drives": _drives(facts),
        "shares_ok": _shares_ok(facts),
        "wmi_ok": _both(local, remote),
        "wmi_local_ok": local,
        "wmi_remote_ok": remote,
        "pull_dp": role_flags["pull_dp"],
        "pxe": role_flags["pxe"],
        "role_source": role_flags["source"],
        "last_seen_utc": facts.get("collected_at"),
    }


@paused  # as the report action runs it: no reference cycles, the cyclic collector would cost a third here
def inventory_rows(dp_facts: dict[str, dict[str, t.Any] | None], *, site_facts: dict[str, t.Any] | None = None
                   ) -> list[dict[str, t.Any]]:
    """Rows of every DP, sorted by name."""
    index = NameIndex((site_facts or {}).get("dps") or {})
    return [inventory_row(dp, dp_facts[dp], site_facts=site_facts, _probes=index)
            for dp in sorted(dp_facts, key=str.lower)]
