# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DP diagnosis over what net.probe_targets now reports: stages kept from a slow target, RPC
stages skipped when TCP 135 is closed, sampled dynamic RPC ports, IPv6 addresses. Missing evidence
is never PASS. The probes come from the simulated lab (tests/simhost), shaped by the real shapers."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_diagnose as dx
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_knowledge import CHECK_IDS

from . import dp_lab

DP = "dp01.contoso.local"
PASSING = {c: "PASS" for c in CHECK_IDS}


def _ctx(site: dict, facts: dict | None) -> dx.Context:
    return dx.Context(DP, site, site["dps"][DP], facts, "en", dict(dx.DEFAULT_THRESHOLDS))


def _statuses(diagnosis: dict) -> dict[str, str]:
    return {f["check"]: f["status"] for f in diagnosis["dps"][0]["findings"]}


def _lab(overlay: dict | None = None, **site_params) -> tuple[dict, dict]:
    """(site facts, DP facts) of dp_healthy with ``overlay`` merged in."""
    site = dp_lab.model("cm01.contoso.local", "site_cm01")
    dp = dp_lab.model(DP, "dp_healthy", overlay)
    dp_lab.connect(site, dp)
    return dp_lab.site_facts(site, [DP], **site_params), dp_lab.dp_facts(dp)


@pytest.fixture(scope="module")
def healthy() -> tuple[dict, dict]:
    return _lab()


# ---------------------------------------------------------------------------------------------
# A target abandoned after its time budget keeps the stages it finished
# ---------------------------------------------------------------------------------------------
def test_slow_wmi_keeps_dns_and_ports_evidence() -> None:
    site, facts = _lab({"network": {"hang": "wmi", "blocked_ports": [445]}})
    probe = site["dps"][DP]
    assert probe["timed_out"] is True and probe["stages"]["dns"] == "done" and probe["stages"]["wmi"] == "timed_out"
    diagnosis = dx.diagnose(site, {DP: facts})
    statuses = _statuses(diagnosis)
    # DNS and TCP finished before the hang: they still prove (and fail) what they measured.
    assert statuses["name_resolution"] == "PASS"
    assert statuses["ports"] == "FAIL"
    wmi = next(f for f in diagnosis["dps"][0]["findings"] if f["check"] == "wmi")
    assert wmi["status"] == "UNKNOWN" and "time budget" in wmi["summary"]


def test_unfinished_tcp_ports_are_unknown_not_closed(healthy) -> None:
    site, facts = healthy
    slow = copy.deepcopy(site)
    slow["dps"][DP]["timed_out"] = True
    slow["dps"][DP]["stages"].update(tcp="timed_out", epm="timed_out", wmi="timed_out", clock="timed_out")
    slow["dps"][DP]["tcp"]["445"] = {"open": None, "error": {"hresult": "0x800705B4"}}
    finding = dx.check_ports(_ctx(slow, facts), "PASS")
    assert finding["status"] == "UNKNOWN" and "time budget" in finding["summary"]
    assert next(e for e in finding["evidence"] if "TCP 445" in e["label"])["ok"] is None


def test_unfinished_wmi_stage_is_unknown_even_with_a_stub(healthy) -> None:
    site, facts = healthy
    slow = copy.deepcopy(site)
    slow["dps"][DP]["timed_out"] = True
    slow["dps"][DP]["stages"]["wmi"] = "timed_out"
    slow["dps"][DP]["wmi"] = {"namespace": "root\\SCCMDP", "identity": "CONTOSO\\CM01$", "connected": None,
                              "class_present": None, "skipped": False, "skip_reason": None,
                              "error": {"hresult": "0x800705B4"}}
    assert dx.check_wmi(_ctx(slow, facts), PASSING)["status"] == "UNKNOWN"


# ---------------------------------------------------------------------------------------------
# TCP 135 closed: no RPC stage is attempted, and that is evidence of a port problem
# ---------------------------------------------------------------------------------------------
def test_dcom_skipped_for_135_fails_ports_and_never_passes_wmi() -> None:
    site, facts = _lab({"network": {"blocked_ports": [135]}})
    probe = site["dps"][DP]
    assert probe["wmi"]["skipped"] is True and probe["wmi"]["skip_reason"] == "tcp_135_closed"
    assert probe["stages"]["wmi"] == probe["stages"]["epm"] == "skipped"
    statuses = _statuses(dx.diagnose(site, {DP: facts}))
    assert statuses["ports"] == "FAIL"
    assert statuses["wmi"] == "UNKNOWN"


def test_135_outside_tcp_ports_still_proves_the_port_problem() -> None:
    site, facts = _lab({"network": {"blocked_ports": [135]}}, tcp_ports=[445, 80, 443])
    probe = site["dps"][DP]
    assert "135" not in probe["tcp"] and probe["wmi"]["error"]["target"] == "135"
    finding = dx.check_ports(_ctx(site, facts), "PASS")
    assert finding["status"] == "FAIL" and "TCP 135 blocked" in finding["summary"]
    wmi = dx.check_wmi(_ctx(site, facts), dict(PASSING, ports="FAIL"))
    assert wmi["status"] == "UNKNOWN" and "blocked by the failing check 'Network ports'" in wmi["summary"]
    # Even when the ports check is not FAIL, a skipped remote test is not a PASS.
    alone = dx.check_wmi(_ctx(site, facts), PASSING)
    assert alone["status"] == "UNKNOWN" and "not attempted: TCP 135 is closed" in alone["summary"]


def test_rpc_dcom_evidence_says_not_attempted() -> None:
    site, _facts = _lab({"network": {"blocked_ports": [135]}})
    finding = dx.check_rpc_dcom(_ctx(site, None))
    assert finding["status"] == "UNKNOWN"
    remote = next(e for e in finding["evidence"] if "Remote WMI" in e["label"])
    assert "not attempted" in remote["value"] and remote["ok"] is None


# ---------------------------------------------------------------------------------------------
# Dynamic RPC ports: a sample of the endpoint map, labelled as such
# ---------------------------------------------------------------------------------------------
def test_sampled_dynamic_ports_partly_blocked_warn(healthy) -> None:
    site, facts = healthy
    samples = site["dps"][DP]["epm"]["sample_ports"]
    assert len(samples) == 3 and len({s["port"] for s in samples}) == 3 and all(s["uuid"] for s in samples)
    partial = copy.deepcopy(site)
    partial["dps"][DP]["epm"]["sample_ports"][1].update(open=False, error={"hresult": "0x8007274C"})
    finding = dx.check_ports(_ctx(partial, facts), "PASS")
    assert finding["status"] == "WARN" and "Only some dynamic RPC ports" in finding["summary"]
    labels = [e["label"] for e in finding["evidence"] if "Dynamic RPC port" in e["label"]]
    assert len(labels) == 3 and all("sampled from the endpoint map" in label for label in labels)
    none = copy.deepcopy(site)
    none["dps"][DP]["epm"]["sample_ports"] = []
    assert dx.check_ports(_ctx(none, facts), "PASS")["status"] == "UNKNOWN"


def test_lab_with_blocked_dynamic_range_fails_ports() -> None:
    site, facts = _lab({"network": {"rpc_dynamic": "blocked"}})
    finding = dx.check_ports(_ctx(site, facts), "PASS")
    assert finding["status"] == "FAIL" and "dynamic RPC range is blocked" in finding["summary"]


# ---------------------------------------------------------------------------------------------
# IPv6
# ---------------------------------------------------------------------------------------------
def test_ipv6_answer_matches_a_dual_stack_dp() -> None:
    site, facts = _lab({"network": {"addresses": ["10.20.1.11", "fd00:20::11"]}})
    assert facts["os"]["ipv4_addresses"] == ["10.20.1.11"] and facts["os"]["ipv6_addresses"] == ["fd00:20::11"]
    aaaa_only = copy.deepcopy(site)
    # DNS answered with the AAAA record only, written in another (equivalent) form.
    aaaa_only["dps"][DP]["dns"]["addresses"] = ["fd00:20:0:0::11"]
    assert dx.check_name_resolution(_ctx(aaaa_only, facts))["status"] == "PASS"
    elsewhere = copy.deepcopy(site)
    elsewhere["dps"][DP]["dns"]["addresses"] = ["fd00:99::1"]
    assert dx.check_name_resolution(_ctx(elsewhere, facts))["status"] == "FAIL"


def test_ipv6_only_dp_is_resolved_and_probed() -> None:
    site, facts = _lab({"network": {"addresses": ["fd00:20::12"]}})
    probe = site["dps"][DP]
    assert probe["dns"]["resolved"] is True and probe["dns"]["addresses"] == ["fd00:20::12"]
    assert probe["tcp"]["135"]["open"] is True and probe["wmi"]["connected"] is True
    assert set(_statuses(dx.diagnose(site, {DP: facts})).values()) == {"PASS"}


def test_stage_state_helper() -> None:
    assert dx.stage_state(None, "dns") == "missing"
    assert dx.stage_state({"stages": {"wmi": "skipped"}}, "wmi") == "skipped"
    assert dx.stage_state({"timed_out": True, "dns": {"resolved": True}}, "dns") == "timed_out"
    assert dx.stage_state({"dns": {"resolved": True}, "wmi": None}, "wmi") == "not_requested"
    assert dx.stage_state({"wmi": {"skipped": True}}, "wmi") == "skipped"


# ---------------------------------------------------------------------------------------------
# A name the site server did not probe (issue 9 defects 1 and 3)
# ---------------------------------------------------------------------------------------------
def test_a_name_that_was_not_probed_is_unknown_with_its_reason_and_never_pass(healthy) -> None:
    site, facts = healthy
    bad = "dp_14"
    probed = dp_lab.site_facts(dp_lab.model("cm01.contoso.local", "site_cm01"), [bad])
    entry = probed["dps"][bad]
    assert set(entry["stages"].values()) == {"failed"} and entry["error"]["hresult"] == "0x80070057"
    mixed = copy.deepcopy(site)
    mixed["dps"][bad] = entry
    diagnosis = dx.diagnose(mixed, {DP: facts, bad: None})
    by_dp = {d["dp"]: {f["check"]: f for f in d["findings"]} for d in diagnosis["dps"]}
    assert {c: f["status"] for c, f in by_dp[DP].items()} == PASSING
    for check in ("name_resolution", "ports", "wmi"):
        finding = by_dp[bad][check]
        assert finding["status"] == "UNKNOWN", check
        assert f"did not probe this DP: option distribution_points: {bad!r} is not a host name" in finding["summary"]
    assert "PASS" not in {f["status"] for f in by_dp[bad].values()}


def test_remote_wmi_without_dp_facts_is_evidence_not_proof(healthy) -> None:
    """Issue 9 defect 3: rpc_dcom used to PASS on the remote WMI test alone, time_sync without the DP's W32Time."""
    site, _facts = healthy
    statuses = _statuses(dx.diagnose(site, {DP: None}))
    assert statuses["rpc_dcom"] == "UNKNOWN" and statuses["time_sync"] == "UNKNOWN"
    assert statuses["ports"] == "PASS"
