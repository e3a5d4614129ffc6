# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_dp_inventory.py (fleet table rows)."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_inventory import inventory_row, inventory_rows

from . import dp_lab

ROW_KEYS = {"dp", "site_code", "os_product", "os_build", "patched", "content_library_drives", "shares_ok", "wmi_ok",
            "last_seen_utc"}


@pytest.fixture(scope="module")
def fleet() -> tuple[dict, dict]:
    names = {"dp01.contoso.local": "dp_healthy", "dp11.contoso.local": "dp_unpatched",
             "dp12.contoso.local": "dp_sccmdp_missing", "dp13.contoso.local": "dp_disk_full",
             "dp07.contoso.local": "dp_share_missing", "dp02.contoso.local": "dp_name_unresolved"}
    site, hosts = dp_lab.lab(names)
    return dp_lab.site_facts(site, sorted(names)), {n: dp_lab.dp_facts(h) for n, h in hosts.items()}


def test_rows(fleet) -> None:
    site, facts = fleet
    rows = {r["dp"]: r for r in inventory_rows(facts, site_facts=site)}
    assert list(rows) == sorted(rows)
    assert all(set(r) == ROW_KEYS for r in rows.values())
    healthy = rows["dp01.contoso.local"]
    assert healthy == {
        "dp": "dp01.contoso.local", "site_code": "PS1", "os_product": "Windows Server 2019 Datacenter",
        "os_build": "17763.6532", "patched": True,
        "content_library_drives": [{"drive": "D:", "free_percent": 62.5, "free_bytes": 640 * 1024 ** 3,
                                    "size_bytes": 1024 * 1024 ** 3}],
        "shares_ok": True, "wmi_ok": True, "last_seen_utc": healthy["last_seen_utc"]}
    assert healthy["last_seen_utc"].endswith("Z")
    assert rows["dp11.contoso.local"]["patched"] is False
    assert rows["dp12.contoso.local"]["wmi_ok"] is False
    assert rows["dp13.contoso.local"]["content_library_drives"][0]["free_percent"] == 0.12
    assert rows["dp07.contoso.local"]["shares_ok"] is False
    # The DP itself answers WMI, but the site server cannot reach it (its name does not resolve).
    assert rows["dp02.contoso.local"]["wmi_ok"] is False


def test_rows_without_site_or_facts(fleet) -> None:
    _site, facts = fleet
    row = inventory_row("dp01.contoso.local", facts["dp01.contoso.local"])
    assert row["site_code"] is None and row["wmi_ok"] is True
    empty = inventory_row("dp99.contoso.local", None)
    assert set(empty) == ROW_KEYS and empty["dp"] == "dp99.contoso.local"
    assert all(empty[k] is None for k in ROW_KEYS - {"dp", "content_library_drives"})
    unknown_build = copy.deepcopy(facts["dp01.contoso.local"])
    unknown_build["os"].update(build=None, ubr=None)
    assert inventory_row("dp01", unknown_build)["patched"] is None
