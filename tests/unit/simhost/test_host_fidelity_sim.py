"""The simulated client and image-prep ops mirror the corrected host behaviour (issue: host-side fidelity):
WMI read failures reported instead of failing the op, GetAssignedSite() errors never read as
"unassigned", Win32_Process.Create return values mapped to Windows codes, firewall addresses compared in
one canonical form. Each test fails against the behaviour before the fix."""
from __future__ import annotations

import pytest

from tests.simhost.model import HostModel, OpContext, SimWindowsError, load_fixture
from tests.simhost.ops import load_all

OPS = load_all()
WBEM_E_ACCESS_DENIED = 0x80041003


def _host(fixture: str = "ref_assigned", **state) -> HostModel:
    host = HostModel(load_fixture(fixture))
    host.state.update(state)
    return host


@pytest.mark.parametrize("op", ["client.read_install", "client.read_identity", "client.read_site_assignment",
                                "client.read_provisioning_mode"])
def test_a_failing_root_ccm_is_reported_not_fatal(op: str) -> None:
    host = _host(wmi_read_failures={"root\\ccm": WBEM_E_ACCESS_DENIED})
    data = OPS[op](host, OpContext())
    assert data["wmi_errors"], op
    assert {e["code"] for e in data["wmi_errors"]} == {WBEM_E_ACCESS_DENIED}
    assert all(e["namespace"] == "root\\ccm" for e in data["wmi_errors"])
    assert OPS[op](_host(), OpContext())["wmi_errors"] == []


def test_a_wmi_failure_in_get_assigned_site_stops_the_reset_instead_of_skipping_it() -> None:
    host = _host(com_get_assigned_site_error=0x80041001)
    reading = OPS["client.read_site_assignment"](host, OpContext())
    assert reading["com_assigned_site"] is None and reading["com_error"]["hresult"] == "0x80041001"
    with pytest.raises(SimWindowsError) as failure:
        OPS["client.reset_site_assignment"](host, OpContext(), check_mode=False)
    assert failure.value.code == 0x80041001
    assert host.reg_value("HKLM\\SOFTWARE\\Microsoft\\SMS\\Mobile Client", "AssignedSiteCode") is not None


def test_a_client_error_with_an_empty_registry_reads_as_unassigned() -> None:
    host = _host(com_get_assigned_site_error=0x80040215)
    host.delete_reg_value("HKLM\\SOFTWARE\\Microsoft\\SMS\\Mobile Client", "AssignedSiteCode")
    reading = OPS["client.read_site_assignment"](host, OpContext())
    assert reading["com_assigned_site"] == "" and reading["com_error"]["code"] == 0x80040215


def test_a_client_error_with_a_site_in_the_registry_is_not_unassigned() -> None:
    host = _host(com_get_assigned_site_error=0x80040215)
    reading = OPS["client.read_site_assignment"](host, OpContext())
    assert reading["com_assigned_site"] is None


@pytest.mark.parametrize(("return_value", "code"), [(2, 0x80070005), (3, 0x80070522), (9, 0x80070003),
                                                    (21, 0x80070057), (8, 0x80004005)])
def test_process_create_return_values_become_windows_codes(return_value: int, code: int) -> None:
    host = _host("clean_windows", process_create_failures={"sysprep": return_value})
    with pytest.raises(SimWindowsError) as failure:
        OPS["sysprep.start"](host, OpContext(), check_mode=False)
    assert failure.value.code == code
    assert not host.processes("sysprep")


def test_firewall_rule_read_back_in_another_notation_is_unchanged() -> None:
    host = _host("clean_windows")
    rule = "mecm.fieldkit - test"
    first = OPS["firewall.ensure_block_rule"](host, OpContext(), name=rule,
                                              remote_addresses=["FE80:0:0::0A", "10.0.0.10"], check_mode=False)
    assert first["changed"] and first["after"]["remote_addresses"] == ["10.0.0.10", "fe80::a"]
    host.state["firewall_rules"][rule]["remote_addresses"] = ["fe80:0000::000a", "10.0.0.10"]
    second = OPS["firewall.ensure_block_rule"](host, OpContext(), name=rule,
                                               remote_addresses=["10.0.0.10", "fe80::a"], check_mode=False)
    assert second["changed"] is False


def test_an_event_provider_the_host_does_not_have_is_no_failure() -> None:
    host = HostModel({"missing_event_providers": ["Microsoft-Windows-DistributedCOM"]})
    data = OPS["event.query"](host, OpContext(), log_name="System", provider_name="Microsoft-Windows-DistributedCOM",
                              event_ids=[10036])
    assert data["provider_missing"] is True and data["count"] == 0
    assert OPS["event.query"](HostModel({}), OpContext(), log_name="System")["provider_missing"] is False
