# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DP fleet inventory rows from ``ansible_facts.sccm_dp``. FOR INTERNAL COLLECTION USE ONLY.

One row per DP: ``{dp, site_code, os_product, os_build, patched, content_library_drives,
shares_ok, wmi_ok, last_seen_utc}``. A value that the facts cannot prove is None, never a guess:
a DP that gave no facts has a row of Nones (and its name), so it still shows up in the fleet table.
"""
from __future__ import annotations

import re
import typing as t

from . import _dp_knowledge
from ._dp_diagnose import NameIndex
from ._dp_facts import DP_SHARES


def _shares_ok(facts: dict[str, t.Any]) -> bool | None:
    shares = facts.get("shares")
    if shares is None:
        return None
    if not shares.get("server_service_running"):
        return False
    present = {str(s["name"]).upper() for s in shares.get("items", [])}
    for pattern in DP_SHARES:
        regex = re.compile("^" + re.escape(pattern.upper()).replace("\\*", ".*") + "$")
        if not any(regex.match(name) for name in present):
            return False
    return True


def _wmi_ok(facts: dict[str, t.Any], probe: dict[str, t.Any] | None, trusted: bool) -> bool | None:
    local = (facts.get("wmi") or {}).get("sccmdp")
    if local is None:
        return None
    if not local.get("query_ok"):
        return False
    remote = (probe or {}).get("wmi")
    if remote is None or not trusted:
        # The local test passed; without a trusted remote test the row reports the local result.
        return True
    return bool(remote.get("connected") and remote.get("class_present"))


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


def inventory_row(dp: str, facts: dict[str, t.Any] | None, *, site_facts: dict[str, t.Any] | None = None,
                  _probes: NameIndex | None = None) -> dict[str, t.Any]:
    """The fleet-table row of one DP."""
    site = site_facts or {}
    probes = site.get("dps") or {}
    index = _probes if _probes is not None else NameIndex(probes)
    found = index.lookup(dp, (facts or {}).get("fqdn") or "")
    probe = probes.get(found[0]) if len(found) == 1 else None
    trusted = bool((site.get("probe_identity") or {}).get("trusted"))
    if not facts:
        return {"dp": dp, "site_code": site.get("site_code") if probe else None, "os_product": None, "os_build": None,
                "patched": None, "content_library_drives": [], "shares_ok": None, "wmi_ok": None,
                "last_seen_utc": None}
    os_info = facts.get("os") or {}
    role = facts.get("role") or {}
    return {
        "dp": dp,
        "site_code": role.get("site_code") or (site.get("site_code") if probe else None),
        "os_product": os_info.get("product_name"),
        "os_build": os_info.get("version"),
        "patched": _patched(facts),
        "content_library_drives": _drives(facts),
        "shares_ok": _shares_ok(facts),
        "wmi_ok": _wmi_ok(facts, probe, trusted),
        "last_seen_utc": facts.get("collected_at"),
    }


def inventory_rows(dp_facts: dict[str, dict[str, t.Any] | None], *, site_facts: dict[str, t.Any] | None = None
                   ) -> list[dict[str, t.Any]]:
    """Rows of every DP, sorted by name."""
    index = NameIndex((site_facts or {}).get("dps") or {})
    return [inventory_row(dp, dp_facts[dp], site_facts=site_facts, _probes=index)
            for dp in sorted(dp_facts, key=str.lower)]
