# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which content is stuck on which DP, and why: sms.read_distribution_status in the site batch (simulated), its
facts, and the diagnosis (content counts, stuck packages as evidence under the item their message points to).
Everything the hosts answer is simulated."""
from __future__ import annotations

import copy
import typing as t

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_content as content
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_diagnose as diagnose
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import utc_now
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_facts import plan_site_facts, shape_site_facts
from tests.simhost.model import SimWindowsError
from tests.simhost.ops import dp as ops
from tests.unit.plugins.plugin_utils import dp_lab

HEALTHY = "dp01.contoso.local"
STUCK = "dp14.contoso.local"
# Package -> (the checklist item its last status message points to, the status it gives that item).
EXPECTED = {
    "PS100020": ("smb_shares", "FAIL"),      # 2306 source directory does not exist
    "PS100021": ("access_rights", "FAIL"),   # 8203 failed to send files (no full access)
    "PS100022": ("ports", "FAIL"),           # 8202 cannot connect over the LAN
    "PS100023": ("rpc_dcom", "FAIL"),        # 2323 failed to connect to the DP
    "PS100024": ("free_space", "FAIL"),      # 2343 not enough free disk space
    "PS100025": ("wmi", "FAIL"),             # 8211 failed to update the package on the DP
    "PS100026": (None, None),                # 8206 retrying: no failure yet
    "PS100027": (None, None),                # 8204 sending, 40 percent
    "PS100028": (None, None),                # 2389: not in the table, generic cause
}


def _site_facts(site, dps: list[str], max_packages: int = 50) -> dict[str, t.Any]:
    params = dict(dp_lab.SITE_PARAMS, distribution_points=dps)
    plan = plan_site_facts(params, utc_now()) + [content.plan_distribution_status(dps, max_packages)]
    outcome, _body = dp_lab.run(site, plan)
    facts = shape_site_facts(outcome, params)
    facts["distribution"] = content.shape_distribution(outcome.data("distribution"), max_packages)
    return facts


def _diagnosis(site_overlay: dict | None = None, language: str = "en", max_packages: int = 50,
               dp_fixture: str | dict = "dp_content_failed") -> tuple[dict, dict]:
    site, hosts = dp_lab.lab({HEALTHY: "dp_healthy", STUCK: dp_fixture}, site_overlay=site_overlay)
    facts = _site_facts(site, list(hosts), max_packages)
    result = diagnose.diagnose(facts, {name: dp_lab.dp_facts(host) for name, host in hosts.items()},
                               language=language)
    return facts, {r["dp"]: r for r in result["dps"]} | {"summary": result["summary"]}


def test_healthy_dp_has_everything_installed_and_nothing_listed() -> None:
    facts, dps = _diagnosis()
    entry = facts["distribution"]["dps"][HEALTHY]
    assert (entry["found"], entry["total"], entry["installed"], entry["packages"]) == (True, 4, 4, [])
    assert dps[HEALTHY]["content"] == {"total": 4, "installed": 4, "stuck": 0, "truncated": False}
    assert dps[HEALTHY]["stuck_packages"] == [] and dps[HEALTHY]["overall"] == "PASS"


@pytest.mark.parametrize("language", ["en", "ja"])
def test_each_stuck_package_is_evidence_under_the_item_its_message_points_to(language: str) -> None:
    _facts, dps = _diagnosis(language=language)
    dp = dps[STUCK]
    assert dp["content"] == {"total": 13, "installed": 4, "stuck": 9, "truncated": False}
    assert dps["summary"]["stuck_packages"] == 9
    stuck = {p["package_id"]: p for p in dp["stuck_packages"]}
    assert set(stuck) == set(EXPECTED)
    statuses = {f["check"]: f for f in dp["findings"]}
    for package_id, (check, status) in EXPECTED.items():
        package = stuck[package_id]
        assert package["check"] == check, package_id
        assert package["cause"] and package["fix"] and package["message"], package_id
        assert set(package) == {"package_id", "name", "state", "state_text", "message_id", "message_time",
                                "source_version", "check", "cause", "fix", "message"}
        if check is None:
            assert all(package_id not in str(e.get("value")) for f in dp["findings"] for e in f["evidence"])
            continue
        finding = statuses[check]
        assert finding["status"] == status, (package_id, check, finding["status"])
        evidence = [e for e in finding["evidence"] if isinstance(e.get("value"), dict)
                    and e["value"].get("package_id") == package_id]
        assert len(evidence) == 1 and evidence[0]["ok"] is False and evidence[0]["source"] == "site"
        assert package_id in finding["summary"]
    # Untouched by content: the DP itself is healthy on these items.
    assert statuses["name_resolution"]["status"] == statuses["time_sync"]["status"] == "PASS"
    # The unknown message ID quotes its insertion strings, in the diagnosis language.
    assert "2389" in stuck["PS100028"]["cause"] and "PS100028" in stuck["PS100028"]["cause"]
    assert stuck["PS100020"]["state"] == "install_failed"
    assert stuck["PS100020"]["state_text"] == ("Install failed" if language == "en" else "インストール失敗")


def test_a_failure_message_while_still_retrying_is_warn_not_fail() -> None:
    overlay = {"site_distribution": {"packages": {pid: None for pid in EXPECTED if pid != "PS100020"}}}
    overlay["site_distribution"]["packages"]["PS100020"] = {"state": 2}
    fixture = dp_lab.merge_fixture(dp_lab.load_fixture("dp_content_failed"), overlay)
    _facts, dps = _diagnosis(dp_fixture=fixture)
    finding = next(f for f in dps[STUCK]["findings"] if f["check"] == "smb_shares")
    assert dps[STUCK]["stuck_packages"][0]["state"] == "install_retrying"
    assert finding["status"] == "WARN"


def test_max_packages_bounds_the_list_but_not_the_count() -> None:
    facts, dps = _diagnosis(max_packages=2)
    assert len(facts["distribution"]["dps"][STUCK]["packages"]) == 2
    assert facts["distribution"]["dps"][STUCK]["packages_truncated"] is True
    assert dps[STUCK]["content"] == {"total": 13, "installed": 4, "stuck": 9, "truncated": True}
    counts_only, dps = _diagnosis(max_packages=0)
    assert counts_only["distribution"]["dps"][STUCK]["packages"] == [] and dps[STUCK]["content"]["stuck"] == 9


def test_missing_distribution_data_is_never_all_installed() -> None:
    for overlay in ({"sms_provider": None}, {"sms_provider": {"distribution_error": {"code": 0x80041003}}}):
        facts, dps = _diagnosis(site_overlay=overlay)
        assert facts["distribution"]["available"] is False
        for name in (HEALTHY, STUCK):
            assert dps[name]["content"]["total"] is None and dps[name]["content"]["installed"] is None
            assert dps[name]["stuck_packages"] == []
    assert facts["distribution"]["error"]["hresult"] == "0x80041003"
    # A DP the site does not know: not found, counts null.
    site, _hosts = dp_lab.lab({HEALTHY: "dp_healthy"})
    facts = _site_facts(site, [HEALTHY, "dp99.contoso.local"])
    assert facts["distribution"]["dps"]["dp99.contoso.local"]["found"] is False
    assert content.diagnose_content(facts, "en", "dp99.contoso.local")[0]["total"] is None
    # No distribution facts at all (an older site probe): nothing is claimed.
    assert content.diagnose_content({}, "en", HEALTHY) == ({"total": None, "installed": None, "stuck": 0,
                                                            "truncated": False}, [])


def test_the_deadline_cuts_the_reading_short_and_says_so() -> None:
    # Each simulated query takes 25 s against the 60 s deadline: counts and the stuck list, no messages, no names.
    facts, dps = _diagnosis(site_overlay={"sms_provider": {"distribution_query_seconds": 25}})
    distribution = facts["distribution"]
    assert distribution["timed_out"] is True and distribution["available"] is True
    assert distribution["dps"][STUCK]["packages"] and all(
        p["message_id"] is None for p in distribution["dps"][STUCK]["packages"])
    assert dps[STUCK]["content"]["truncated"] is True
    assert all(p["check"] is None for p in dps[STUCK]["stuck_packages"])


def test_the_lab_refuses_what_the_host_refuses() -> None:
    site, _hosts = dp_lab.lab({HEALTHY: "dp_healthy"})
    for kwargs, target in (({"distribution_points": ["dp01' OR 1=1"]}, "distribution_points"),
                           ({"distribution_points": [HEALTHY], "max_packages": 1001}, "max_packages"),
                           ({"distribution_points": [HEALTHY], "max_rows": 0}, "max_rows"),
                           ({"distribution_points": [HEALTHY], "timeout_seconds": 0}, "timeout_seconds")):
        with pytest.raises(SimWindowsError) as caught:
            ops.sms_read_distribution_status(site, dp_lab.SYSTEM, **kwargs)
        assert caught.value.code == 0x80070057 and target in str(caught.value.target), kwargs


def test_one_name_twice_is_read_once_and_short_names_match() -> None:
    site, _hosts = dp_lab.lab({HEALTHY: "dp_healthy", STUCK: "dp_content_failed"})
    result = ops.sms_read_distribution_status(site, dp_lab.SYSTEM,
                                              distribution_points=["DP01.contoso.local.", HEALTHY, "dp14"])
    assert [(d["name"], d["found"], d["installed"]) for d in result["dps"]] == [
        ("DP01.contoso.local.", True, 4), ("dp14", True, 4)]
    assert copy.deepcopy(result) == result


def test_plan_is_none_without_dps() -> None:
    assert content.plan_distribution_status([]) is None
    op = content.plan_distribution_status([HEALTHY], 7)
    assert (op.op, op.args["max_packages"], op.always) == ("sms.read_distribution_status", 7, True)


def test_a_stuck_package_on_a_not_applicable_item_is_evidence_but_keeps_it_na() -> None:
    findings = {check: {"status": "N/A" if check == "smb_shares" else "PASS", "summary": "s", "evidence": []}
                for check in ("smb_shares", "ports")}
    package = {"package_id": "PS100020", "name": "App", "state": "install_failed", "state_text": "Install failed",
               "message_id": 2306, "message_time": None, "source_version": 1, "message": "m", "cause": "c",
               "fix": "f", "check": "smb_shares"}
    content.attach_stuck_evidence(findings, [package, dict(package, package_id="PS100022", check="ports")], "en")
    assert findings["smb_shares"]["status"] == "N/A" and len(findings["smb_shares"]["evidence"]) == 1
    assert findings["ports"]["status"] == "FAIL"
