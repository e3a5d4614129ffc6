# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_dp_diagnose.py: every rule, the log evidence, the schema."""
from __future__ import annotations

import copy
import pathlib
import re
import typing as t

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _cmlog
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_diagnose as dx
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_knowledge import CHECK_IDS, check_text

from . import dp_lab

DP = "dp01.contoso.local"
CM01_SID = "S-1-5-21-2718281828-3141592653-1414213562-1105"
SEED = pathlib.Path(__file__).resolve().parents[5] / "shared" / "seeds" / "003_8fbe772eac7c26e4.txt"

FAILURE_FIXTURES = {
    # fixture -> (the one failing check, checks allowed to be UNKNOWN because the failure blocks them)
    "dp_name_unresolved": ("name_resolution", {"ports", "wmi"}),
    "dp_smb_blocked": ("ports", set()),
    "dp_rpc_blocked": ("ports", {"wmi"}),
    "dp_dcom_disabled": ("rpc_dcom", {"wmi"}),
    "dp_rpcss_stopped": ("rpc_dcom", {"wmi"}),
    "dp_share_missing": ("smb_shares", set()),
    "dp_ntfs_denied": ("access_rights", set()),
    "dp_wmi_denied": ("access_rights", {"wmi"}),
    "dp_clock_skew": ("time_sync", {"wmi"}),
    "dp_unpatched": ("patch_level", set()),
    "dp_sccmdp_missing": ("wmi", set()),
    "dp_disk_full": ("free_space", set()),
}


@pytest.fixture(scope="module")
def healthy() -> tuple[dict, dict]:
    """(site facts, DP facts) of the healthy DP, probed as SYSTEM."""
    site, hosts = dp_lab.lab({DP: "dp_healthy"})
    return dp_lab.site_facts(site, [DP]), dp_lab.dp_facts(hosts[DP])


def _ctx(site: dict | None, facts: dict | None, lang: str = "en", **th: float) -> dx.Context:
    probe = (site or {}).get("dps", {}).get(DP) if site else None
    return dx.Context(DP, site, probe, facts, lang, dict(dx.DEFAULT_THRESHOLDS, **th))


def _statuses(result: dict) -> dict[str, str]:
    return {f["check"]: f["status"] for f in result["findings"]}


def _evidence(finding: dict, label_part: str) -> dict:
    return next(e for e in finding["evidence"] if label_part in e["label"])


# ---------------------------------------------------------------------------------------------
# Whole diagnosis over the simulated fixtures
# ---------------------------------------------------------------------------------------------
def test_healthy_dp_is_all_pass(healthy) -> None:
    site, facts = healthy
    diagnosis = dx.diagnose(site, {DP: facts})
    assert diagnosis["dps"][0]["overall"] == "PASS"
    assert set(_statuses(diagnosis["dps"][0]).values()) == {"PASS"}
    assert diagnosis["summary"] == {"dps": 1, "pass": 1, "warn": 0, "fail": 0, "unknown": 0, "na_cells": 0,
                                    "stuck_packages": 0}
    # The thresholds in force travel with the diagnosis, so the reports draw the same lines.
    assert diagnosis["thresholds"] == dx.DEFAULT_THRESHOLDS
    tighter = dx.diagnose(site, {DP: facts}, thresholds={"free_space_warn_percent": 40.0})
    assert tighter["thresholds"]["free_space_warn_percent"] == 40.0


@pytest.mark.parametrize("fixture", sorted(FAILURE_FIXTURES))
def test_each_failure_class_fails_exactly_its_check(fixture: str) -> None:
    expected, may_be_unknown = FAILURE_FIXTURES[fixture]
    name = "dpx.contoso.local"
    site, hosts = dp_lab.lab({name: fixture})
    diagnosis = dx.diagnose(dp_lab.site_facts(site, [name]), {name: dp_lab.dp_facts(hosts[name])})
    statuses = _statuses(diagnosis["dps"][0])
    assert [c for c, s in statuses.items() if s == "FAIL"] == [expected]
    assert {c for c, s in statuses.items() if s not in ("PASS", "FAIL")} <= may_be_unknown
    assert all(statuses[c] == "UNKNOWN" for c in may_be_unknown if statuses[c] != "PASS")
    assert diagnosis["dps"][0]["overall"] == "FAIL"


def test_probe_without_become_is_flagged_as_wrong_identity() -> None:
    site, hosts = dp_lab.lab({DP: "dp_healthy"})
    site_facts = dp_lab.site_facts(site, [DP], ctx=dp_lab.WINRM_USER)
    diagnosis = dx.diagnose(site_facts, {DP: dp_lab.dp_facts(hosts[DP])})
    identity = diagnosis["probe_identity"]
    assert identity["as_system"] is False and identity["trusted"] is False
    assert "not as SYSTEM" in identity["warning"] and identity["user"] == "CM01\\ansible"
    findings = {f["check"]: f for f in diagnosis["dps"][0]["findings"]}
    assert findings["wmi"]["status"] == "UNKNOWN"
    assert "not as SYSTEM" in findings["wmi"]["summary"]
    assert _evidence(findings["wmi"], "Identity of the site probe")["ok"] is False
    # Access to the source share as the WinRM user proves nothing about the computer account.
    assert findings["access_rights"]["status"] == "UNKNOWN"
    assert "FAIL" not in _statuses(diagnosis["dps"][0]).values()


def test_dp_without_facts_is_unknown_never_pass(healthy) -> None:
    site, _facts = healthy
    result = dx.diagnose(site, {DP: None})["dps"][0]
    statuses = _statuses(result)
    for check in ("free_space", "smb_shares", "access_rights", "patch_level", "rpc_dcom", "time_sync", "wmi",
                  "name_resolution"):
        assert statuses[check] == "UNKNOWN", check
    # The port test needs nothing from the DP: the site server's evidence alone decides it.
    assert statuses["ports"] == "PASS"


def test_without_site_facts_the_site_side_is_unknown(healthy) -> None:
    _site, facts = healthy
    diagnosis = dx.diagnose(None, {DP: facts})
    statuses = _statuses(diagnosis["dps"][0])
    assert statuses["name_resolution"] == statuses["ports"] == statuses["wmi"] == "UNKNOWN"
    assert diagnosis["probe_identity"]["trusted"] is False and diagnosis["site_server"] is None
    # The DP names its site server; the computer account is matched by name (CONTOSO\CM01$).
    finding = next(f for f in diagnosis["dps"][0]["findings"] if f["check"] == "access_rights")
    assert _evidence(finding, "local Administrators")["ok"] is True


def _drop(side: str, *keys: str) -> t.Callable[[dict, dict], None]:
    """Set one reading of the ``site`` or ``dp`` facts to None, as a failed read leaves it."""
    def drop(site: dict, facts: dict) -> None:
        target = site if side == "site" else facts
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = None
    return drop


def _both(*drops: t.Callable[[dict, dict], None]) -> t.Callable[[dict, dict], None]:
    """Readings that come from one op go missing together."""
    def drop(site: dict, facts: dict) -> None:
        for one in drops:
            one(site, facts)
    return drop


# One reading each check needs, taken away (issue 9 defect 3): the check is never PASS without it.
MISSING_EVIDENCE: dict[str, list[t.Callable[[dict, dict], None]]] = {
    "name_resolution": [_drop("dp", "os"), _drop("site", "dps", DP, "dns")],
    "ports": [_drop("site", "dps", DP, "epm"), _drop("site", "dps", DP, "tcp")],
    "free_space": [_drop("dp", "disks"), _both(_drop("site", "temp"), _drop("site", "os_drive")),
                   _drop("site", "content_library"), _drop("dp", "role")],
    "smb_shares": [_drop("dp", "shares"), _drop("site", "source_shares")],
    "rpc_dcom": [_drop("dp", "dcom"), _drop("dp", "services", "RpcSs"), _drop("site", "dcom"), _drop("site", "services", "DcomLaunch")],
    "access_rights": [_drop("dp", "local_administrators"), _drop("dp", "content_library_acl"), _drop("dp", "shares"),
                      _drop("dp", "wmi", "root_security"), _drop("site", "dps", DP, "installation_account"),
                      _drop("site", "content_library"), _drop("site", "source_shares")],
    "time_sync": [_drop("dp", "services", "W32Time"), _drop("dp", "time"), _drop("site", "services", "W32Time"),
                  _drop("site", "time")],
    "patch_level": [_drop("dp", "os"), _drop("site", "os"), _drop("dp", "events", "dcom_10036"),
                    _both(_drop("site", "events", "dcom_10037"), _drop("site", "events", "dcom_10038"))],
    "wmi": [_drop("dp", "wmi", "sccmdp"), _drop("site", "dps", DP, "wmi")],
}


@pytest.mark.parametrize("check", CHECK_IDS)
def test_missing_evidence_is_never_pass_for_any_check(healthy, check: str) -> None:
    """Every check: without the DP's facts, without the site's, or with one of its readings missing, the
    finding is not PASS (UNKNOWN, unless the evidence left proves a failure)."""
    site, facts = healthy
    assert _statuses(dx.diagnose(site, {DP: facts})["dps"][0])[check] == "PASS"
    if check != "ports":  # the port test is the site server's alone
        assert _statuses(dx.diagnose(site, {DP: None})["dps"][0])[check] == "UNKNOWN", "no DP facts"
    assert _statuses(dx.diagnose(None, {DP: facts})["dps"][0])[check] == "UNKNOWN", "no site facts"
    for number, drop in enumerate(MISSING_EVIDENCE[check]):
        site_copy, facts_copy = copy.deepcopy(site), copy.deepcopy(facts)
        drop(site_copy, facts_copy)
        status = _statuses(dx.diagnose(site_copy, {DP: facts_copy})["dps"][0])[check]
        assert status == "UNKNOWN", (check, number, status)


def test_findings_follow_the_schema_and_the_seed(healthy) -> None:
    site, facts = healthy
    seed = SEED.read_text(encoding="utf-8") if SEED.exists() else None
    for lang in ("en", "ja"):
        diagnosis = dx.diagnose(site, {DP: facts}, language=lang, generated_at="2026-11-21T12:00:00Z")
        assert set(diagnosis) == {"generated_at", "language", "site_server", "site_code", "probe_identity", "dps",
                                  "summary", "thresholds"}
        assert diagnosis["generated_at"] == "2026-11-21T12:00:00Z" and diagnosis["language"] == lang
        assert diagnosis["site_server"] == "cm01.contoso.local" and diagnosis["site_code"] == "PS1"
        findings = diagnosis["dps"][0]["findings"]
        assert [f["check"] for f in findings] == list(CHECK_IDS)
        for finding in findings:
            assert set(finding) == {"check", "status", "title", "heading", "explanation", "remediation", "summary",
                                    "evidence", "log_evidence"}
            texts = check_text(finding["check"], lang)
            assert finding["title"] == texts["title"] and finding["remediation"] == texts["remediation"]
            if seed is not None:
                assert finding["heading"] in seed
            for item in finding["evidence"]:
                assert set(item) == {"label", "value", "source", "ok"} and item["source"] in ("site", "dp", "log")
            if lang == "ja":
                assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", finding["summary"]), finding["summary"]


def test_unknown_language_and_threshold_are_refused(healthy) -> None:
    site, facts = healthy
    with pytest.raises(ValueError, match=r"language='fr' is not allowed; use one of: en, ja"):
        dx.diagnose(site, {DP: facts}, language="fr")
    with pytest.raises(ValueError, match="unknown threshold"):
        dx.diagnose(site, {DP: facts}, thresholds={"free_space_percent": 3})


def test_worst_orders_fail_warn_unknown_pass() -> None:
    assert dx.worst(["PASS", "UNKNOWN"]) == "UNKNOWN"
    assert dx.worst(["UNKNOWN", "WARN"]) == "WARN"
    assert dx.worst(["WARN", "FAIL", "PASS"]) == "FAIL"
    assert dx.worst([]) == "PASS"


def test_dps_are_matched_by_fqdn_and_short_name(healthy) -> None:
    site, facts = healthy
    diagnosis = dx.diagnose(site, {"dp01": facts})
    assert [d["dp"] for d in diagnosis["dps"]] == ["dp01"]
    assert diagnosis["dps"][0]["overall"] == "PASS"
    # A probed DP without facts is reported too.
    assert [d["dp"] for d in dx.diagnose(site, {})["dps"]] == [DP]


# ---------------------------------------------------------------------------------------------
# name_resolution
# ---------------------------------------------------------------------------------------------
def test_name_resolution_rules(healthy) -> None:
    site, facts = healthy
    assert dx.check_name_resolution(_ctx(site, facts))["status"] == "PASS"
    broken = copy.deepcopy(site)
    broken["dps"][DP]["dns"] = {"resolved": False, "addresses": [], "reverse": [],
                                "error": {"hresult": "0x80072AF9"}}
    finding = dx.check_name_resolution(_ctx(broken, facts))
    assert finding["status"] == "FAIL" and "0x80072AF9" in finding["summary"]
    stale = copy.deepcopy(site)
    stale["dps"][DP]["dns"]["addresses"] = ["10.99.0.1"]
    finding = dx.check_name_resolution(_ctx(stale, facts))
    assert finding["status"] == "FAIL" and "10.99.0.1" in finding["summary"]
    reverse = copy.deepcopy(site)
    reverse["dps"][DP]["dns"]["reverse"] = ["oldhost.contoso.local"]
    assert dx.check_name_resolution(_ctx(reverse, facts))["status"] == "WARN"
    assert dx.check_name_resolution(_ctx(None, facts))["status"] == "UNKNOWN"
    late = copy.deepcopy(site)
    late["dps"][DP]["timed_out"] = True
    late["dps"][DP]["stages"]["dns"] = "timed_out"
    late["dps"][DP]["dns"] = {"resolved": None, "addresses": [], "reverse": [], "error": {"hresult": "0x800705B4"}}
    assert dx.check_name_resolution(_ctx(late, facts))["status"] == "UNKNOWN"
    # Older facts without stages: a timed-out target proves nothing.
    legacy = copy.deepcopy(site)
    legacy["dps"][DP]["timed_out"] = True
    del legacy["dps"][DP]["stages"]
    assert dx.check_name_resolution(_ctx(legacy, facts))["status"] == "UNKNOWN"


# ---------------------------------------------------------------------------------------------
# ports
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("port", ["135", "445"])
def test_ports_required_port_closed_fails(healthy, port: str) -> None:
    site, facts = healthy
    broken = copy.deepcopy(site)
    broken["dps"][DP]["tcp"][port] = {"open": False, "error": {"hresult": "0x8007274C"}}
    finding = dx.check_ports(_ctx(broken, facts), "PASS")
    assert finding["status"] == "FAIL" and f"TCP {port} blocked" in finding["summary"]


def test_ports_other_rules(healthy) -> None:
    site, facts = healthy
    assert dx.check_ports(_ctx(site, facts), "PASS")["status"] == "PASS"
    dynamic = copy.deepcopy(site)
    for sample in dynamic["dps"][DP]["epm"]["sample_ports"]:
        sample.update(open=False, error={"hresult": "0x8007274C"})
    assert "dynamic RPC range" in dx.check_ports(_ctx(dynamic, facts), "PASS")["summary"]
    assert dx.check_ports(_ctx(dynamic, facts), "PASS")["status"] == "FAIL"
    epm = copy.deepcopy(site)
    epm["dps"][DP]["epm"] = {"reachable": False, "error": {"hresult": "0x800706D9"}}
    assert dx.check_ports(_ctx(epm, facts), "PASS")["status"] == "WARN"
    http = copy.deepcopy(site)
    http["dps"][DP]["tcp"]["80"] = {"open": False, "error": None}
    assert dx.check_ports(_ctx(http, facts), "PASS")["status"] == "WARN"
    assert dx.check_ports(_ctx(site, facts), "FAIL")["status"] == "UNKNOWN"
    lanman = copy.deepcopy(facts)
    lanman["services"]["LanmanServer"]["state"] = "stopped"
    closed = copy.deepcopy(site)
    closed["dps"][DP]["tcp"]["445"] = {"open": False, "error": {"hresult": "0x8007274D"}}
    assert "LanmanServer" in dx.check_ports(_ctx(closed, lanman), "PASS")["summary"]


# ---------------------------------------------------------------------------------------------
# free_space
# ---------------------------------------------------------------------------------------------
def _with_dp_disk(facts: dict, free_gb: float, size_gb: float) -> dict:
    changed = copy.deepcopy(facts)
    for disk in changed["disks"]:
        if disk["drive"] == "D:":
            disk["free_bytes"], disk["size_bytes"] = int(free_gb * dx.GIB), int(size_gb * dx.GIB)
    return changed


@pytest.mark.parametrize(("free_gb", "size_gb", "status"), [
    (600, 1000, "PASS"),
    (100, 1000, "WARN"),    # 10 % < 15 %
    (40, 1000, "FAIL"),     # 4 % < 5 %
    (9, 50, "WARN"),        # 18 % but under 10 GiB
    (1.5, 10, "FAIL"),      # 15 % but under 2 GiB
])
def test_free_space_thresholds(healthy, free_gb: float, size_gb: float, status: str) -> None:
    site, facts = healthy
    assert dx.check_free_space(_ctx(site, _with_dp_disk(facts, free_gb, size_gb)))["status"] == status


def test_free_space_covers_four_locations(healthy) -> None:
    site, facts = healthy
    finding = dx.check_free_space(_ctx(site, facts))
    labels = " | ".join(e["label"] for e in finding["evidence"])
    for where in ("OS drive / TEMP", "source share", "site server content library", "DP content library drive D:"):
        assert where in labels
    no_sources = copy.deepcopy(site)
    no_sources["source_shares"] = None
    finding = dx.check_free_space(_ctx(no_sources, facts))
    assert finding["status"] == "UNKNOWN" and "source shares not given" in finding["summary"]
    site_full = copy.deepcopy(site)
    site_full["temp"]["free_bytes"] = int(0.5 * dx.GIB)
    assert dx.check_free_space(_ctx(site_full, facts))["status"] == "FAIL"
    assert dx.check_free_space(_ctx(site, None))["status"] == "UNKNOWN"
    assert dx.check_free_space(_ctx(site, facts, free_space_warn_percent=70))["status"] == "WARN"


def test_free_space_skips_a_usable_drive_marked_no_sms(healthy) -> None:
    site, facts = healthy
    marked = copy.deepcopy(facts)
    marked["role"]["content_library_drives"] = ["D:", "E:"]
    marked["disks"].append({"drive": "E:", "size_bytes": 100 * dx.GIB, "free_bytes": 1, "free_percent": 0.0,
                            "file_system": "NTFS", "no_sms_on_drive": True})
    assert dx.check_free_space(_ctx(site, marked))["status"] == "PASS"


# ---------------------------------------------------------------------------------------------
# smb_shares
# ---------------------------------------------------------------------------------------------
def test_smb_share_rules(healthy) -> None:
    site, facts = healthy
    assert dx.check_smb_shares(_ctx(site, facts))["status"] == "PASS"
    no_pkg = copy.deepcopy(facts)
    no_pkg["shares"]["items"] = [s for s in no_pkg["shares"]["items"] if not s["name"].startswith("SMSPKG")]
    finding = dx.check_smb_shares(_ctx(site, no_pkg))
    assert finding["status"] == "FAIL" and "SMSPKG<drive>$" in finding["summary"]
    server = copy.deepcopy(facts)
    server["shares"]["server_service_running"] = False
    assert "LanmanServer" in dx.check_smb_shares(_ctx(site, server))["summary"]
    unshared = copy.deepcopy(site)
    unshared["source_shares"][0].update(exists=False, readable=False, error={"hresult": "0x80070043"})
    assert dx.check_smb_shares(_ctx(unshared, facts))["status"] == "FAIL"
    denied = copy.deepcopy(site)
    denied["source_shares"][0].update(exists=False, readable=False, error={"hresult": "0x80070005"})
    assert dx.check_smb_shares(_ctx(denied, facts))["status"] == "UNKNOWN"
    assert dx.check_smb_shares(_ctx(site, None))["status"] == "UNKNOWN"


# ---------------------------------------------------------------------------------------------
# rpc_dcom
# ---------------------------------------------------------------------------------------------
def test_rpc_dcom_rules(healthy) -> None:
    site, facts = healthy
    assert dx.check_rpc_dcom(_ctx(site, facts))["status"] == "PASS"
    off = copy.deepcopy(facts)
    off["dcom"].update(enable_dcom="N", enabled=False)
    assert "EnableDCOM = N" in dx.check_rpc_dcom(_ctx(site, off))["summary"]
    default = copy.deepcopy(facts)
    default["dcom"].update(enable_dcom=None, enabled=True, enable_dcom_default=True)
    assert dx.check_rpc_dcom(_ctx(site, default))["status"] == "PASS"
    stopped = copy.deepcopy(facts)
    stopped["services"]["RpcEptMapper"]["state"] = "stopped"
    assert dx.check_rpc_dcom(_ctx(site, stopped))["status"] == "FAIL"
    manual = copy.deepcopy(facts)
    manual["services"]["DcomLaunch"]["start_mode"] = "manual"
    assert dx.check_rpc_dcom(_ctx(site, manual))["status"] == "WARN"
    site_off = copy.deepcopy(site)
    site_off["dcom"].update(enable_dcom="N", enabled=False)
    assert "the site server" in dx.check_rpc_dcom(_ctx(site_off, facts))["summary"]
    # Without DP facts a working remote DCOM connection is evidence, not proof of EnableDCOM and the services.
    remote_only = dx.check_rpc_dcom(_ctx(site, None))
    assert remote_only["status"] == "UNKNOWN" and "not known (no DP facts)" in remote_only["summary"]
    assert _evidence(remote_only, "Remote WMI")["ok"] is True
    failed = copy.deepcopy(site)
    failed["dps"][DP]["wmi"].update(connected=False, error={"hresult": "0x800706BA"})
    assert dx.check_rpc_dcom(_ctx(failed, None))["status"] == "UNKNOWN"


# ---------------------------------------------------------------------------------------------
# access_rights
# ---------------------------------------------------------------------------------------------
def test_access_rights_pass_and_account(healthy) -> None:
    site, facts = healthy
    finding = dx.check_access_rights(_ctx(site, facts))
    assert finding["status"] == "PASS" and "CONTOSO\\CM01$" in finding["summary"]


def test_access_rights_local_admin_through_a_domain_group(healthy) -> None:
    site, facts = healthy
    via_group = copy.deepcopy(facts)
    members = via_group["local_administrators"]["members"]
    members[:] = [m for m in members if m["sid"] != CM01_SID]
    members.append({"sid": "S-1-5-21-2718281828-3141592653-1414213562-1131", "name": "CONTOSO\\SCCM Site Servers",
                    "class": "group"})
    assert dx.check_access_rights(_ctx(site, via_group))["status"] == "PASS"
    nobody = copy.deepcopy(via_group)
    nobody["local_administrators"]["members"].pop()
    finding = dx.check_access_rights(_ctx(site, nobody))
    assert finding["status"] == "FAIL" and "not a member" in finding["summary"]


def test_access_rights_ntfs_rules(healthy) -> None:
    site, facts = healthy
    deny = copy.deepcopy(facts)
    deny["content_library_acl"][0]["entries"].append(
        {"sid": CM01_SID, "account": "CONTOSO\\CM01$", "type": "deny", "rights": "Write", "mask": 0x116,
         "inherited": False, "inheritance": "None"})
    finding = dx.check_access_rights(_ctx(site, deny))
    assert finding["status"] == "FAIL" and "NTFS" in finding["summary"]
    generic = copy.deepcopy(facts)
    generic["content_library_acl"][0]["entries"] = [
        {"sid": "S-1-5-32-544", "account": "BUILTIN\\Administrators", "type": "allow", "rights": "268435456",
         "mask": 0x10000000, "inherited": False, "inheritance": "ContainerInherit, ObjectInherit"}]
    assert dx.check_access_rights(_ctx(site, generic))["status"] == "PASS"
    read_only = copy.deepcopy(facts)
    read_only["content_library_acl"][0]["entries"] = [
        {"sid": "S-1-5-32-544", "account": "BUILTIN\\Administrators", "type": "allow", "rights": "ReadAndExecute",
         "mask": 0x1200A9, "inherited": False, "inheritance": "ContainerInherit, ObjectInherit"}]
    assert dx.check_access_rights(_ctx(site, read_only))["status"] == "FAIL"


def test_access_rights_share_and_wmi_rules(healthy) -> None:
    site, facts = healthy
    share = copy.deepcopy(facts)
    for item in share["shares"]["items"]:
        if item["name"] == "SMS_DP$":
            item["access"] = [{"account": "Everyone", "sid": "S-1-1-0", "type": "allow", "right": "read"}]
    finding = dx.check_access_rights(_ctx(site, share))
    assert finding["status"] == "FAIL" and "SMS_DP$" in finding["summary"]
    wmi = copy.deepcopy(facts)
    wmi["wmi"]["root_security"]["entries"].append(
        {"sid": CM01_SID, "account": "CONTOSO\\CM01$", "type": "deny", "mask": 0x20, "rights": ["remote_enable"],
         "inherited": False, "applies_to_subnamespaces": True})
    finding = dx.check_access_rights(_ctx(site, wmi))
    assert finding["status"] == "FAIL" and "Remote Enable" in finding["summary"]


def test_access_rights_site_side_rules(healthy) -> None:
    site, facts = healthy
    other = copy.deepcopy(site)
    other["dps"][DP]["installation_account"] = {"value": "CONTOSO\\svc-cmpush", "use_machine_account": False,
                                                "user_name": "CONTOSO\\svc-cmpush", "known_to_site": True}
    finding = dx.check_access_rights(_ctx(other, facts))
    assert finding["status"] == "WARN" and "svc-cmpush" in finding["summary"]
    denied = copy.deepcopy(site)
    denied["source_shares"][0].update(readable=False, exists=False, error={"hresult": "0x80070005"})
    assert dx.check_access_rights(_ctx(denied, facts))["status"] == "FAIL"
    unknown = copy.deepcopy(site)
    unknown["computer_account"] = None
    assert dx.check_access_rights(_ctx(unknown, {**facts, "role": None}))["status"] == "UNKNOWN"


# ---------------------------------------------------------------------------------------------
# time_sync
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("seconds", "status"), [(0.4, "PASS"), (60.0, "PASS"), (61.0, "WARN"), (-299.0, "WARN"),
                                                 (300.5, "FAIL"), (-420.0, "FAIL")])
def test_time_sync_skew_thresholds(healthy, seconds: float, status: str) -> None:
    site, facts = healthy
    skewed = copy.deepcopy(site)
    skewed["dps"][DP]["clock"] = {"offset_seconds": seconds, "method": "wmi", "remote_utc": None, "error": None}
    assert dx.check_time_sync(_ctx(skewed, facts))["status"] == status


def test_time_sync_fallback_and_ntp(healthy) -> None:
    site, facts = healthy
    unmeasured = copy.deepcopy(site)
    unmeasured["dps"][DP]["clock"] = {"offset_seconds": None, "method": None, "error": {"hresult": "0x8007274C"}}
    estimated = dx.check_time_sync(_ctx(unmeasured, facts))
    assert estimated["status"] == "PASS" and "controller" in estimated["summary"]
    far = copy.deepcopy(facts)
    far["time"]["controller_offset_seconds"] = site["time"]["controller_offset_seconds"] + 400
    assert dx.check_time_sync(_ctx(unmeasured, far))["status"] == "FAIL"
    vague = copy.deepcopy(facts)
    vague["time"]["controller_offset_uncertainty_seconds"] = 45
    assert dx.check_time_sync(_ctx(unmeasured, vague))["status"] == "UNKNOWN"
    stopped = copy.deepcopy(facts)
    stopped["services"]["W32Time"]["state"] = "stopped"
    assert dx.check_time_sync(_ctx(site, stopped))["status"] == "WARN"
    cmos = copy.deepcopy(facts)
    cmos["time"]["source"] = "Local CMOS Clock"
    assert dx.check_time_sync(_ctx(site, cmos))["status"] == "WARN"


# ---------------------------------------------------------------------------------------------
# patch_level
# ---------------------------------------------------------------------------------------------
def _with_build(facts: dict, build: int, ubr: int | None, hotfixes: list | None = None) -> dict:
    changed = copy.deepcopy(facts)
    changed["os"].update(build=build, ubr=ubr, version=f"{build}.{ubr}")
    if hotfixes is not None:
        changed["os"]["hotfixes"] = hotfixes
    return changed


@pytest.mark.parametrize(("build", "ubr", "hotfixes", "status"), [
    (17763, 4131, None, "PASS"),
    (17763, 4130, None, "FAIL"),
    (20348, 1607, None, "PASS"),
    (19045, 2673, None, "FAIL"),
    (26100, 1, None, "PASS"),
    (9600, None, [{"hotfix_id": "KB5023765", "installed_on": "2023-03-15"}], "PASS"),
    (9600, None, [{"hotfix_id": "KB5022899", "installed_on": "2023-02-14"}], "FAIL"),
])
def test_patch_level_march_2023(healthy, build: int, ubr: int | None, hotfixes, status: str) -> None:
    site, facts = healthy
    assert dx.check_patch_level(_ctx(site, _with_build(facts, build, ubr, hotfixes)))["status"] == status


def test_patch_level_both_ends_and_events(healthy) -> None:
    site, facts = healthy
    old_site = copy.deepcopy(site)
    old_site["os"].update(build=20348, ubr=1547)
    finding = dx.check_patch_level(_ctx(old_site, facts))
    assert finding["status"] == "FAIL" and "site server" in finding["summary"]
    assert dx.check_patch_level(_ctx(None, facts))["status"] == "UNKNOWN"
    events = copy.deepcopy(facts)
    events["events"]["dcom_10036"] = {"count": 3, "count_capped": False, "recent": []}
    finding = dx.check_patch_level(_ctx(site, events))
    assert finding["status"] == "WARN" and "10036" in finding["summary"]
    unpatched = _with_build(facts, 17763, 4010)
    unpatched["dcom"]["require_integrity_activation_authentication_level"] = 0
    hardening = _evidence(dx.check_patch_level(_ctx(site, unpatched)), "DCOM hardening registry on the DP")
    assert hardening["value"]["state"] == "disabled_by_registry"


# ---------------------------------------------------------------------------------------------
# wmi
# ---------------------------------------------------------------------------------------------
def test_wmi_rules(healthy) -> None:
    site, facts = healthy
    passing = {c: "PASS" for c in CHECK_IDS}
    assert dx.check_wmi(_ctx(site, facts), passing)["status"] == "PASS"
    missing = copy.deepcopy(facts)
    missing["wmi"]["sccmdp"].update(present=False, query_ok=False,
                                    error={"hresult": "0x8004100E", "message": "Invalid namespace"})
    assert dx.check_wmi(_ctx(site, missing), passing)["status"] == "FAIL"
    provider = copy.deepcopy(site)
    provider["dps"][DP]["wmi"].update(connected=True, class_present=None, error={"hresult": "0x80041013"})
    assert dx.check_wmi(_ctx(provider, facts), passing)["status"] == "FAIL"
    denied = copy.deepcopy(site)
    denied["dps"][DP]["wmi"].update(connected=False, class_present=None, error={"hresult": "0x80070005"})
    assert dx.check_wmi(_ctx(denied, facts), passing)["status"] == "FAIL"
    blocked = dx.check_wmi(_ctx(denied, facts), dict(passing, access_rights="FAIL"))
    assert blocked["status"] == "UNKNOWN" and "Access rights" in blocked["summary"]
    unresolved = copy.deepcopy(denied)
    unresolved["dps"][DP]["wmi"]["error"] = {"hresult": "0x800706BA"}
    assert dx.check_wmi(_ctx(unresolved, facts), dict(passing, name_resolution="FAIL"))["status"] == "UNKNOWN"
    assert dx.check_wmi(_ctx(None, facts), passing)["status"] == "UNKNOWN"


# ---------------------------------------------------------------------------------------------
# Log evidence
# ---------------------------------------------------------------------------------------------
def _records(*lines: tuple[str, int, str]) -> list[dict]:
    return [{"log": log, "line_number": number, "text": text} for log, number, text in lines]


SMS = "  $$<SMS_PACKAGE_TRANSFER_MANAGER><11-21-2026 {t}-540><thread={th} (0x{th:X})>"


def test_log_lines_are_parsed_with_their_bias_and_line_numbers() -> None:
    entries = dx.parse_log_records(_records(
        ("distmgr.log", 40, "Error occurred for DP dp13.contoso.local:\n    disk full. Error = 0x80070070"
         "  $$<SMS_DISTRIBUTION_MANAGER><11-21-2026 19:15:30.123-540><thread=4312 (0x10D8)>"),
        ("smsdpprov.log", 7, '<![LOG[Failed to add file.\nError = 0x80070070]LOG]!><time="19:15:29.870-540" '
         'date="11-21-2026" component="SMSDPProv" context="" type="3" thread="2212" file="smsdpprov.cpp:1234">'),
    ))
    (log1, sms), (log2, cmtrace) = entries
    assert (log1, sms.format, sms.line_number, sms.time_utc) == ("distmgr.log", "sms", 40, "2026-11-21T10:15:30.123Z")
    assert "\n" in sms.message and sms.error_codes[0]["hresult"] == "0x80070070"
    assert (log2, cmtrace.format, cmtrace.severity, cmtrace.bias_minutes) == ("smsdpprov.log", "cmtrace", "error", -540)
    assert cmtrace.time_utc == "2026-11-21T10:15:29.870Z"


def test_log_lines_are_attributed_by_name_and_by_thread() -> None:
    entries = dx.parse_log_records(_records(
        ("PkgXferMgr.log", 1, "Sending thread starting for Job: {1}, server: dp13.contoso.local" + SMS.format(t="19:00:00.000", th=6620)),
        ("PkgXferMgr.log", 2, "CSendFileAction::SendFiles failed; 0x80070070" + SMS.format(t="19:00:01.000", th=6620)),
        ("PkgXferMgr.log", 3, "CSendFileAction::SendFiles failed; 0x80070005" + SMS.format(t="19:40:01.000", th=6620)),
        ("PkgXferMgr.log", 4, "CSendFileAction::SendFiles failed; 0x80070043" + SMS.format(t="19:00:02.000", th=7000)),
        ("distmgr.log", 5, "Failed to make a network connection to \\\\DP130.contoso.local\\ADMIN$ (0x35).~"
         + SMS.format(t="19:00:03.000", th=4312)),
    ))
    per_dp = dx.attribute_log_entries(entries, ["dp13.contoso.local", "dp130.contoso.local"], window_minutes=15)
    assert [e.line_number for _, e in per_dp["dp13.contoso.local"]] == [1, 2]
    assert [e.line_number for _, e in per_dp["dp130.contoso.local"]] == [5]


def test_lines_about_dps_not_asked_for_are_nobodys() -> None:
    # Limiting the run to dp03 (-l) still returns the site server's error lines about other DPs.
    entries = dx.parse_log_records(_records(
        ("distmgr.log", 1, "Failed to make a network connection to \\\\dp03.contoso.local\\ADMIN$ (0x35).~"
         + SMS.format(t="19:00:00.000", th=4312)),
        ("distmgr.log", 2, "Failed to make a network connection to \\\\dp07.contoso.local\\SCCMContentLib$ (0x43).~"
         + SMS.format(t="19:00:01.000", th=4312)),
        ("distmgr.log", 3, "CWmi::Connect() failed. Error = 0x80070005" + SMS.format(t="19:00:02.000", th=4312)),
        ("distmgr.log", 4, "Failed to make a network connection to \\\\DP09\\ADMIN$ (0x5).~" + SMS.format(t="19:00:03.000", th=9)),
    ))
    per_dp = dx.attribute_log_entries(entries, ["dp03.contoso.local"])
    assert [e.line_number for _, e in per_dp["dp03.contoso.local"]] == [1]


def test_log_evidence_goes_to_the_failing_check_or_warns_a_passing_one() -> None:
    findings = {c: {"status": "PASS", "summary": "ok", "evidence": [], "log_evidence": []} for c in CHECK_IDS}
    findings["ports"]["status"] = "FAIL"
    entries = dx.parse_log_records(_records(
        ("distmgr.log", 1, "Failed to make a network connection to \\\\dp03\\ADMIN$ (0x35).~" + SMS.format(t="19:00:00.000", th=1)),
        ("PkgXferMgr.log", 2, "CSendFileAction::SendFiles failed; 0x80070070" + SMS.format(t="19:01:00.000", th=2)),
        ("PkgXferMgr.log", 3, "Address is closed for priority 2 jobs, stop sending" + SMS.format(t="19:02:00.000", th=2)),
    ))
    dx.attach_log_evidence(findings, entries, "en")
    assert [item["line_number"] for item in findings["ports"]["log_evidence"]] == [1]
    item = findings["ports"]["log_evidence"][0]
    assert item["error_codes"][0]["hresult"] == "0x80070035" and item["error_codes"][0]["name"] == "ERROR_BAD_NETPATH"
    assert item["cause"] and item["time_utc"] == "2026-11-21T10:00:00.000Z" and item["bias_minutes"] == -540
    assert set(item) == {"log", "line_number", "time_utc", "time_local", "bias_minutes", "component", "severity",
                         "message", "error_codes", "cause"}
    assert findings["free_space"]["status"] == "WARN"
    assert findings["free_space"]["summary"].startswith("1 log line(s) point to this item")
    assert all(not f["log_evidence"] for c, f in findings.items() if c not in ("ports", "free_space"))


def test_log_evidence_is_bounded_per_finding() -> None:
    findings = {c: {"status": "PASS", "summary": "", "evidence": [], "log_evidence": []} for c in CHECK_IDS}
    findings["free_space"]["status"] = "FAIL"
    lines = [("PkgXferMgr.log", n, "CSendFileAction::SendFiles failed; 0x80070070"
              + SMS.format(t=f"19:{n:02d}:00.000", th=1)) for n in range(30)]
    dx.attach_log_evidence(findings, dx.parse_log_records(_records(*lines)), "en", max_per_finding=5)
    assert [i["line_number"] for i in findings["free_space"]["log_evidence"]] == [25, 26, 27, 28, 29]


def test_site_log_excerpts_reach_the_right_dp_end_to_end() -> None:
    site, hosts = dp_lab.lab({"dp13.contoso.local": "dp_disk_full", "dp03.contoso.local": "dp_smb_blocked"})
    site_facts = dp_lab.site_facts(site, sorted(hosts))
    diagnosis = dx.diagnose(site_facts, {n: dp_lab.dp_facts(h) for n, h in hosts.items()})
    by_dp = {d["dp"]: {f["check"]: f for f in d["findings"]} for d in diagnosis["dps"]}
    disk = by_dp["dp13.contoso.local"]["free_space"]["log_evidence"]
    # PkgXferMgr.log is UTF-16 in the fixture; smsdpprov.log comes from the DP facts.
    assert {i["log"] for i in disk} >= {"PkgXferMgr.log", "smsdpprov.log", "distmgr.log"}
    ports = by_dp["dp03.contoso.local"]["ports"]["log_evidence"]
    assert {i["log"] for i in ports} >= {"distmgr.lo_", "distmgr.log", "PkgXferMgr.log"}
    assert all(_cmlog.SEVERITIES.index(i["severity"]) >= 1 for i in disk + ports)


def test_source_share_parts_say_why_there_are_no_shares() -> None:
    """Issue 9 defect 7: read from the SMS Provider when not given; UNKNOWN with the reason only when that fails."""
    site, hosts = dp_lab.lab({DP: "dp_healthy"})
    facts = dp_lab.dp_facts(hosts[DP])
    discovered = dp_lab.site_facts(site, [DP], source_shares=[])
    statuses = _statuses(dx.diagnose(discovered, {DP: facts})["dps"][0])
    assert statuses["free_space"] == statuses["smb_shares"] == statuses["access_rights"] == "PASS"
    denied, _hosts = dp_lab.lab({DP: "dp_healthy"},
                                site_overlay={"sms_provider": {"packages_error": {"code": 0x80041003}}})
    unread = dp_lab.site_facts(denied, [DP], source_shares=[])
    finding = next(f for f in dx.diagnose(unread, {DP: facts})["dps"][0]["findings"] if f["check"] == "smb_shares")
    assert finding["status"] == "UNKNOWN"
    assert "package sources could not be read from the SMS Provider (0x80041003)" in finding["summary"]
    none_found, _hosts = dp_lab.lab({DP: "dp_healthy"}, site_overlay={"sms_provider": {"packages": []}})
    empty = dp_lab.site_facts(none_found, [DP], source_shares=[])
    finding = next(f for f in dx.diagnose(empty, {DP: facts})["dps"][0]["findings"] if f["check"] == "free_space")
    assert finding["status"] == "UNKNOWN" and "no package of the site has a UNC source path" in finding["summary"]
