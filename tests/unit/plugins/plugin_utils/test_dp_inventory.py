# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_dp_inventory.py (fleet table rows)."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_inventory import inventory_row, inventory_rows

from . import dp_lab

ROW_KEYS = {"dp", "site_code", "os_product", "os_build", "patched", "content_library_drives", "shares_ok", "wmi_ok",
            "wmi_local_ok", "wmi_remote_ok", "pull_dp", "pxe", "role_source", "last_seen_utc"}


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
        "shares_ok": True, "wmi_ok": True, "wmi_local_ok": True, "wmi_remote_ok": True, "pull_dp": False,
        "pxe": False, "role_source": "site", "last_seen_utc": healthy["last_seen_utc"]}
    assert healthy["last_seen_utc"].endswith("Z")
    assert rows["dp11.contoso.local"]["patched"] is False
    assert rows["dp12.contoso.local"]["wmi_ok"] is False
    assert rows["dp13.contoso.local"]["content_library_drives"][0]["free_percent"] == 0.12
    assert rows["dp07.contoso.local"]["shares_ok"] is False
    # The DP itself answers WMI, but the site server cannot reach it (its name does not resolve).
    assert rows["dp02.contoso.local"]["wmi_ok"] is False
    assert (rows["dp02.contoso.local"]["wmi_local_ok"], rows["dp02.contoso.local"]["wmi_remote_ok"]) == (True, False)


def test_rows_without_site_or_facts(fleet) -> None:
    _site, facts = fleet
    row = inventory_row("dp01.contoso.local", facts["dp01.contoso.local"])
    # Without the site server's remote test, wmi_ok is not proven: it never means the local test alone.
    assert row["site_code"] is None and row["wmi_ok"] is None
    assert row["wmi_local_ok"] is True and row["wmi_remote_ok"] is None
    empty = inventory_row("dp99.contoso.local", None)
    assert set(empty) == ROW_KEYS and empty["dp"] == "dp99.contoso.local"
    assert all(empty[k] is None for k in ROW_KEYS - {"dp", "content_library_drives"})
    unknown_build = copy.deepcopy(facts["dp01.contoso.local"])
    unknown_build["os"].update(build=None, ubr=None)
    assert inventory_row("dp01", unknown_build)["patched"] is None


def test_columns_mean_the_same_with_or_without_the_site_probe(fleet) -> None:
    """Issue 9 defect 6: the fleet table of an inventory run and of a diagnosis run have the same meanings."""
    site, facts = fleet
    with_site = {r["dp"]: r for r in inventory_rows(facts, site_facts=site)}
    alone = {r["dp"]: r for r in inventory_rows(facts)}
    for name, row in alone.items():
        assert set(row) == ROW_KEYS
        # A value the DP alone proves is the same in both tables; the site columns are null, not guessed.
        for key in ("os_build", "patched", "shares_ok", "wmi_local_ok", "pull_dp", "pxe"):
            assert row[key] == with_site[name][key], (name, key)
        assert row["wmi_remote_ok"] is None
        assert row["wmi_ok"] in (None, False) and (row["wmi_ok"] is False) == (row["wmi_local_ok"] is False)
    # dp12 fails its own WMI test: False in both.
    assert alone["dp12.contoso.local"]["wmi_ok"] is with_site["dp12.contoso.local"]["wmi_ok"] is False


def test_site_code_comes_from_the_site_server_the_dp_names(fleet) -> None:
    site, facts = fleet
    no_probe = dict(site, dps={})
    row = inventory_row("dp01.contoso.local", facts["dp01.contoso.local"], site_facts=no_probe)
    assert facts["dp01.contoso.local"]["role"]["site_server"] == "cm01.contoso.local" and row["site_code"] == "PS1"
    other = copy.deepcopy(facts["dp01.contoso.local"])
    other["role"]["site_server"] = "cm99.fabrikam.local"
    assert inventory_row("dp01.contoso.local", other, site_facts=no_probe)["site_code"] is None


def test_pull_dp_and_pxe_flags(fleet) -> None:
    _site, facts = fleet
    pull = copy.deepcopy(facts["dp01.contoso.local"])
    pull["role"].update(is_pull_dp=True, is_pxe=True)
    row = inventory_row("dp01.contoso.local", pull)
    assert (row["pull_dp"], row["pxe"]) == (True, True)
    unknown = copy.deepcopy(facts["dp01.contoso.local"])
    unknown["role"].update(is_pull_dp=None, is_pxe=None)
    assert (inventory_row("dp01", unknown)["pull_dp"], inventory_row("dp01", unknown)["pxe"]) == (None, None)
