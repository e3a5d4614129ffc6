# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DPs of a play by the name ConfigMgr uses, read from hostvars (no set_fact task per DP)."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mecm.fieldkit.plugins.filter.dp_diagnose_hosts import FilterModule

FILTERS = FilterModule().filters()


def facts_result(fqdn: str) -> dict:
    return {"changed": False, "ansible_facts": {"sccm_dp": {"fqdn": fqdn, "os": {"build": "17763"}}}}


UNREACHABLE = {"unreachable": True, "msg": "ntlm: connection refused"}


def test_all_filters_are_exported() -> None:
    assert set(FILTERS) == {"dp_diagnose_probe_names", "dp_diagnose_dp_facts", "dp_diagnose_same_dp"}


def test_probe_names_are_the_dp_name_else_the_inventory_name() -> None:
    hostvars = {"dp01": {"dp_diagnose_dp_name": "dp01.contoso.local"}, "dp02.contoso.local": {},
                "dp03": {"dp_diagnose_dp_name": ""}}
    names = FILTERS["dp_diagnose_probe_names"](["dp01", "dp02.contoso.local", "dp03"], hostvars)
    assert names == ["dp01.contoso.local", "dp02.contoso.local", "dp03"]


def test_facts_are_keyed_by_dp_name_else_reported_fqdn_else_inventory_name() -> None:
    hostvars = {
        "a": {"dp_diagnose_dp_name": "dp-a.contoso.local", "dp_diagnose_dp_facts_result": facts_result("other.local")},
        "b": {"dp_diagnose_dp_facts_result": facts_result("dp-b.contoso.local")},
        "c": {"dp_diagnose_dp_facts_result": UNREACHABLE},
        "d": {},
    }
    by_name = FILTERS["dp_diagnose_dp_facts"](["a", "b", "c", "d"], hostvars)
    assert list(by_name) == ["dp-a.contoso.local", "dp-b.contoso.local", "c", "d"]
    assert by_name["dp-a.contoso.local"]["fqdn"] == "other.local"
    assert by_name["dp-b.contoso.local"] == {"fqdn": "dp-b.contoso.local", "os": {"build": "17763"}}
    assert by_name["c"] is None and by_name["d"] is None


def test_the_later_host_of_one_name_wins_as_combine_did() -> None:
    hostvars = {"old": {"dp_diagnose_dp_facts_result": facts_result("dp01.contoso.local")},
                "new": {"dp_diagnose_dp_name": "dp01.contoso.local",
                        "dp_diagnose_dp_facts_result": {"ansible_facts": {"sccm_dp": {"fqdn": "x", "marker": 2}}}}}
    assert FILTERS["dp_diagnose_dp_facts"](["old", "new"], hostvars) == {"dp01.contoso.local": {"fqdn": "x",
                                                                                                 "marker": 2}}


def test_same_dp_ignores_case_and_a_trailing_dot() -> None:
    hostvars = {"dp01": {"dp_diagnose_dp_facts_result": facts_result("DP01.contoso.local")},
                "alias": {"dp_diagnose_dp_name": "dp01.contoso.local."},
                "dp02": {"dp_diagnose_dp_facts_result": facts_result("dp02.contoso.local")}}
    assert FILTERS["dp_diagnose_same_dp"](["dp01", "alias", "dp02"], hostvars) == [
        "alias and dp01 are the same DP dp01.contoso.local. (dp_diagnose_dp_name or the FQDN they report); "
        "it is diagnosed once"]
    assert FILTERS["dp_diagnose_same_dp"](["dp01", "dp02"], hostvars) == []


def test_a_host_missing_from_hostvars_is_a_dp_without_facts() -> None:
    assert FILTERS["dp_diagnose_dp_facts"](["gone"], {}) == {"gone": None}


@pytest.mark.parametrize("name", ["dp_diagnose_probe_names", "dp_diagnose_dp_facts", "dp_diagnose_same_dp"])
def test_hosts_must_be_a_list(name: str) -> None:
    with pytest.raises(AnsibleFilterError, match=f"{name}: expects a list of inventory names"):
        FILTERS[name]("dp01", {})
