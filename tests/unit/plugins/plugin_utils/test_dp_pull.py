# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for pull DPs, PXE DPs and the DP side as SYSTEM (issue 9, "Beyond"): the plan and shapers of
_dp_facts, _dp_pull, the N/A status of _dp_diagnose and the flags of _dp_inventory. The hosts are simulated."""
from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.mecm.fieldkit.plugins.action.win_sccm_dp_facts import check_source_dps
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_diagnose as d
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_facts as f
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_pull as p
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._batch import utc_now
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_inventory import inventory_row
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._host_contract import LOG_FILE_NAME_RE
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import build_batch

from . import dp_lab

SITE = "cm01.contoso.local"
DP = "dp01.contoso.local"
PULL = "dp15.contoso.local"
PXE = "dp16.contoso.local"


def _dp_facts(host, ctx=dp_lab.SYSTEM, **params):
    merged = dict(dp_lab.DP_PARAMS, **params)
    outcome, _ = dp_lab.run(host, f.plan_dp_facts(merged, utc_now()), ctx)
    now = utc_now()
    return f.shape_dp_facts(outcome, started=now, finished=now, source_dps=merged.get("source_dps", []))


def _lab():
    site, hosts = dp_lab.lab({DP: "dp_healthy", PULL: "dp_pull_source_unreachable", PXE: "dp_pxe"})
    return site, hosts


def _diagnose(site_facts, dp_facts, lang="en"):
    return d.diagnose(site_facts, dp_facts, language=lang, generated_at="2026-11-21T12:00:00Z")


# --- plan ---------------------------------------------------------------------------------------
def test_pull_path_ops_are_planned_in_the_same_batch_only_for_a_pull_dp() -> None:
    standard = f.plan_dp_facts(dp_lab.DP_PARAMS, "2026-11-21T12:00:00Z")
    assert not [op for op in standard if op.id.startswith("pull_")]
    identity = next(op for op in standard if op.op == "identity.read")
    assert identity.args == {"include_computer_groups": False}
    plan = f.plan_dp_facts(dict(dp_lab.DP_PARAMS, source_dps=[SITE, DP], source_probe_timeout=20),
                           "2026-11-21T12:00:00Z")
    batch = build_batch(plan)
    assert len(batch) == len(standard) + 2 and all(op["always"] for op in batch)
    ops = {op.id: op for op in plan}
    probe = ops["pull_probe"].args
    assert probe["targets"] == [SITE, DP] and probe["tcp_ports"] == [80, 443]
    assert (probe["check_epm"], probe["check_wmi"], probe["check_clock"]) == (False, False, False)
    assert probe["timeout_seconds"] == 20 and probe["max_parallel"] == 2
    logs = ops["pull_logs"].args
    assert logs["since_utc"] == "2026-11-18T12:00:00Z" and logs["severities"] == ["error", "warning"]
    names = [r.get("name") or r["append"].rsplit("\\", 1)[-1] for r in logs["path_refs"]]
    assert names == ["PullDP.log", "DataTransferService.log"] * 2
    # The host refuses a site_log name that is not a ConfigMgr log file name: both are.
    assert all(LOG_FILE_NAME_RE.match(name) for name in f.PULL_DP_LOGS)
    assert {r["folder"] for r in logs["path_refs"] if r["kind"] == "site_log"} == {"client"}


@pytest.mark.parametrize("names, message", [
    (["dp 01"], "option source_dps: 'dp 01' is not a host name"),
    ([{"name": DP}], "is not a host name"),
    ([DP, "DP01.contoso.local."], "option source_dps: 'DP01.contoso.local.' is listed twice"),
    ([f"dp{n:02d}.contoso.local" for n in range(17)], "option source_dps has 17 entries; allowed: at most 16"),
])
def test_source_dps_are_validated_naming_the_option_and_value(names, message) -> None:
    with pytest.raises(AnsibleActionFail, match=message.replace(".", r"\.").replace("(", r"\(")):
        check_source_dps(names)
    check_source_dps([DP, SITE])


# --- site side: flags and source DPs from the SMS Provider -----------------------------------------
def test_nal_server() -> None:
    nal = '["Display=\\\\dp02.contoso.local\\"]MSWNET:["SMS_SITE=PS1"]\\\\dp02.contoso.local\\'
    assert f.nal_server(nal) == "dp02.contoso.local"
    assert f.nal_server('["Display=\\\\dp03.contoso.local\\"]MSWNET:') == "dp03.contoso.local"
    assert f.nal_server("") is None and f.nal_server(None) is None


def test_site_facts_carry_the_site_role_of_each_probed_dp() -> None:
    site, _hosts = _lab()
    facts = dp_lab.site_facts(site, [DP, PULL, "dp16"])
    assert facts["sms_provider"]["distribution_points"] == 3 and facts["sms_provider"]["dp_info_error"] is None
    pull = facts["dps"][PULL]["site_role"]
    assert pull == {"known_to_site": True, "pull_dp": True, "pxe": False, "source": "sms_provider",
                    "source_dps": [{"name": SITE, "rank": 1, "nal_path": pull["source_dps"][0]["nal_path"]}]}
    assert "SMS_SITE=PS1" in pull["source_dps"][0]["nal_path"]
    # By short name too, as the installation account.
    assert facts["dps"]["dp16"]["site_role"]["pxe"] is True
    assert facts["dps"][DP]["site_role"]["pull_dp"] is False


def test_site_role_sorts_sources_by_rank_and_says_when_the_site_cannot_tell() -> None:
    nal = '["Display=\\\\{0}\\"]MSWNET:["SMS_SITE=PS1"]\\\\{0}\\'
    sms = {"provider_available": True, "distribution_points": [{
        "server": PULL, "is_pull_dp": True, "is_pxe": False,
        "source_nal_paths": [nal.format("dp02.contoso.local"), nal.format(DP)], "source_ranks": [2, 1]}]}
    role = f.site_role(sms, PULL)
    assert [(s["name"], s["rank"]) for s in role["source_dps"]] == [(DP, 1), ("dp02.contoso.local", 2)]
    assert f.site_role(sms, "dp99.contoso.local")["known_to_site"] is False
    failed = dict(sms, dp_info_error={"hresult": "0x80041003"})
    assert f.site_role(failed, PULL) == {"known_to_site": None, "pull_dp": None, "pxe": None, "source_dps": [],
                                         "source": None}
    assert f.site_role(None, PULL)["source"] is None


def test_sim_site_query_failure_is_its_own_error() -> None:
    site, _hosts = dp_lab.lab({DP: "dp_healthy"}, {"sms_provider": {"dp_info_error": {"code": 0x80041003}}})
    facts = dp_lab.site_facts(site, [DP])
    assert facts["sms_provider"]["dp_info_error"]["hresult"] == "0x80041003"
    assert facts["sms_provider"]["distribution_points"] is None and facts["sms_provider"]["available"] is True
    assert facts["dps"][DP]["site_role"]["source"] is None
    assert facts["dps"][DP]["installation_account"]["value"] == "computer_account"


# --- DP side: the pull path and the identity ---------------------------------------------------------
def test_pull_dp_facts_probe_the_sources_and_read_its_logs() -> None:
    _site, hosts = _lab()
    facts = _dp_facts(hosts[PULL], source_dps=[SITE, "gone.contoso.local"])
    assert facts["errors"] == []
    cm01, gone = facts["pull_dp"]["source_dps"]
    assert (cm01["resolved"], cm01["tcp"]["80"]["open"], cm01["tcp"]["443"]["open"], cm01["reachable"]) == \
        (True, False, False, False)
    assert (gone["resolved"], gone["reachable"], gone["order"]) == (False, False, 2)
    logs = facts["pull_dp"]["logs"]
    assert logs["found"] and {line["log"] for line in logs["lines"]} == {"PullDP.log", "DataTransferService.log"}
    assert all("0x80072" in line["text"].upper().replace("0X", "0x") for line in logs["lines"])
    healthy = _dp_facts(hosts[DP], source_dps=[DP])
    assert healthy["pull_dp"]["source_dps"][0]["reachable"] is True
    assert healthy["pull_dp"]["logs"]["found"] is False


def test_dp_facts_record_who_ran_them() -> None:
    _site, hosts = _lab()
    as_system = _dp_facts(hosts[DP])["probe_identity"]
    assert as_system == {"user": "NT AUTHORITY\\SYSTEM", "sid": "S-1-5-18", "as_system": True, "trusted": True}
    as_user = _dp_facts(hosts[DP], ctx=dp_lab.WINRM_USER)["probe_identity"]
    assert as_user["as_system"] is False and as_user["trusted"] is False and as_user["user"].endswith("\\ansible")
    assert f.dp_identity(None) == {"user": None, "sid": None, "as_system": None, "trusted": False}


@pytest.mark.parametrize("entry, expected", [
    ({"dns": {"resolved": False}, "tcp": []}, False),
    ({"dns": {"resolved": True}, "tcp": [{"port": 80, "open": False}, {"port": 443, "open": True}]}, True),
    ({"dns": {"resolved": True}, "tcp": [{"port": 80, "open": False}, {"port": 443, "open": False}]}, False),
    ({"dns": {"resolved": True}, "tcp": [{"port": 80, "open": False}, {"port": 443, "open": None}]}, None),
    ({"dns": {"resolved": True}, "timed_out": True, "tcp": [{"port": 80, "open": False}]}, None),
    ({"dns": {"resolved": True}, "tcp": []}, None),
])
def test_source_reachable(entry, expected) -> None:
    assert f.source_reachable(entry) is expected


# --- diagnosis -----------------------------------------------------------------------------------------
def _run(lang="en", dp_ctx=dp_lab.SYSTEM, pull_sources=(SITE,)):
    site, hosts = _lab()
    site_facts = dp_lab.site_facts(site, [DP, PULL, PXE])
    dp_facts = {DP: _dp_facts(hosts[DP], ctx=dp_ctx),
                PULL: _dp_facts(hosts[PULL], ctx=dp_ctx, source_dps=list(pull_sources)),
                PXE: _dp_facts(hosts[PXE], ctx=dp_ctx)}
    return site_facts, dp_facts, _diagnose(site_facts, dp_facts, lang)


@pytest.mark.parametrize("lang, words", [("en", "pull DP"), ("ja", "プル配布ポイント")])
def test_push_only_items_of_a_pull_dp_are_na_never_fail_or_unknown(lang, words) -> None:
    _site, _facts, diagnosis = _run(lang)
    by_dp = {r["dp"]: r for r in diagnosis["dps"]}
    pull = {x["check"]: x for x in by_dp[PULL]["findings"]}
    for check in p.PUSH_ONLY_CHECKS:
        assert pull[check]["status"] == "N/A" and words in pull[check]["summary"]
        assert pull[check]["evidence"][0]["source"] == "site"
    assert pull["ports"]["status"] == "FAIL" and SITE in pull["ports"]["summary"]
    assert {i["log"] for i in pull["ports"]["log_evidence"]} == {"PullDP.log", "DataTransferService.log"}
    assert by_dp[PULL]["role"] == {"pull_dp": True, "pxe": False, "source": "site",
                                   "source_dps": [{"name": SITE, "rank": 1, "reachable": False}]}
    assert by_dp[PXE]["role"]["pxe"] is True and by_dp[PXE]["overall"] == "PASS"
    assert diagnosis["summary"]["na_cells"] == 2 and diagnosis["summary"]["fail"] == 1 and diagnosis["summary"]["pass"] == 2
    assert "N/A" in d.STATUSES


def test_pull_path_statuses() -> None:
    site, hosts = _lab()
    site_facts = dp_lab.site_facts(site, [PULL])
    # A reachable source and an unreachable one: WARN, the pull DP downloads from the other.
    role = site_facts["dps"][PULL]["site_role"]
    role["source_dps"] = [{"name": SITE, "rank": 1}, {"name": DP, "rank": 2}]
    facts = _dp_facts(hosts[PULL], source_dps=[SITE, DP])
    checks = {x["check"]: x for x in _diagnose(site_facts, {PULL: facts})["dps"][0]["findings"]}
    assert checks["ports"]["status"] == "WARN" and SITE in checks["ports"]["summary"]
    assert checks["ports"]["log_evidence"]  # the 0x80072EFD lines of its logs point here
    facts_no_logs = copy.deepcopy(facts)
    facts_no_logs["pull_dp"]["logs"]["lines"] = []
    checks = {x["check"]: x for x in _diagnose(site_facts, {PULL: facts_no_logs})["dps"][0]["findings"]}
    assert checks["ports"]["status"] == "WARN" and not checks["ports"]["log_evidence"]
    # Every source reachable: the pull path adds evidence, no status.
    role["source_dps"] = [{"name": DP, "rank": 1}]
    fine = _dp_facts(hosts[PULL], source_dps=[DP])
    fine["pull_dp"]["logs"]["lines"] = []
    checks = {x["check"]: x for x in _diagnose(site_facts, {PULL: fine})["dps"][0]["findings"]}
    assert checks["ports"]["status"] == "PASS" and checks["name_resolution"]["status"] == "PASS"
    assert [e["ok"] for e in checks["ports"]["evidence"] if e["source"] == "dp"] == [True]
    # No source resolves: name_resolution FAILS, ports is blocked (UNKNOWN), never PASS.
    role["source_dps"] = [{"name": "gone.contoso.local", "rank": 1}]
    gone = _dp_facts(hosts[PULL], source_dps=["gone.contoso.local"])
    gone["pull_dp"]["logs"]["lines"] = []
    checks = {x["check"]: x for x in _diagnose(site_facts, {PULL: gone})["dps"][0]["findings"]}
    assert checks["name_resolution"]["status"] == "FAIL" and "gone.contoso.local" in checks["name_resolution"]["summary"]
    assert checks["ports"]["status"] == "UNKNOWN"
    # The DP facts ran without source_dps: the pull path is missing evidence (UNKNOWN), the push items still N/A.
    plain = _dp_facts(hosts[PULL])
    checks = {x["check"]: x for x in _diagnose(site_facts, {PULL: plain})["dps"][0]["findings"]}
    assert checks["ports"]["status"] == "UNKNOWN" and checks["smb_shares"]["status"] == "N/A"
    # A pull DP the site lists without source DPs.
    role["source_dps"] = []
    checks = {x["check"]: x for x in _diagnose(site_facts, {PULL: plain})["dps"][0]["findings"]}
    assert checks["name_resolution"]["status"] == "UNKNOWN"


def test_a_registry_pull_flag_alone_changes_no_finding() -> None:
    site, hosts = _lab()
    site_facts = dp_lab.site_facts(site, [PULL])
    site_facts["dps"][PULL]["site_role"] = f.site_role(None, PULL)
    facts = _dp_facts(hosts[PULL])
    result = _diagnose(site_facts, {PULL: facts})["dps"][0]
    assert result["role"] == {"pull_dp": True, "pxe": False, "source": "dp_registry", "source_dps": []}
    assert "N/A" not in {x["status"] for x in result["findings"]}


def test_na_ranks_below_pass_and_never_takes_a_log_line_from_an_applicable_item() -> None:
    assert d.worst(["N/A", "PASS"]) == "PASS" and d.worst(["N/A"]) == "PASS" and d.worst(["N/A", "UNKNOWN"]) == "UNKNOWN"
    findings = {c: {"status": "PASS", "summary": "ok", "evidence": [], "log_evidence": []} for c in d.CHECK_IDS}
    findings["access_rights"]["status"] = "N/A"
    line = '<![LOG[Access denied 0x80041003]LOG]!><time="10:00:00.000-540" date="11-21-2026" component="x" ' \
           'context="" type="3" thread="1" file="">'
    entries = d.parse_log_records([{"log": "PullDP.log", "line_number": 1, "text": line}])
    d.attach_log_evidence(findings, entries, "en")
    assert findings["access_rights"]["status"] == "N/A" and not findings["access_rights"]["log_evidence"]
    assert findings["wmi"]["status"] == "WARN" and findings["wmi"]["log_evidence"]
    # Pointed only to an N/A item: kept there as evidence, the item stays N/A.
    findings["wmi"].update(status="N/A", log_evidence=[])
    findings["access_rights"]["log_evidence"] = []
    d.attach_log_evidence(findings, entries, "en")
    assert findings["access_rights"]["status"] == "N/A" and findings["access_rights"]["log_evidence"]


def test_the_wmi_finding_says_whether_the_local_test_ran_as_system() -> None:
    _site, _facts, as_system = _run()
    wmi = next(x for x in as_system["dps"][0]["findings"] if x["check"] == "wmi")
    assert wmi["status"] == "PASS" and wmi["evidence"][0]["value"] == "NT AUTHORITY\\SYSTEM"
    assert wmi["evidence"][0]["ok"] is True and "SYSTEM" not in wmi["summary"].split("(")[-1]
    _site, _facts, as_user = _run("ja", dp_ctx=dp_lab.WINRM_USER)
    wmi = next(x for x in as_user["dps"][0]["findings"] if x["check"] == "wmi")
    assert wmi["evidence"][0]["ok"] is None and "SYSTEM ではなく" in wmi["summary"]


# --- inventory -------------------------------------------------------------------------------------------
def test_inventory_flags_come_from_the_site_and_fall_back_to_the_registry_with_the_source() -> None:
    site, hosts = _lab()
    site_facts = dp_lab.site_facts(site, [DP, PULL])
    facts = _dp_facts(hosts[DP])
    # The site says dp01 is a pull DP, its registry says it is not: the site wins.
    site_facts["dps"][DP]["site_role"].update(pull_dp=True)
    row = inventory_row(DP, facts, site_facts=site_facts)
    assert (row["pull_dp"], row["pxe"], row["role_source"]) == (True, False, "site")
    assert facts["role"]["is_pull_dp"] is False
    # No site probe: the DP's registry, and the row says so.
    row = inventory_row(PULL, _dp_facts(hosts[PULL]))
    assert (row["pull_dp"], row["pxe"], row["role_source"]) == (True, False, "dp_registry")
    # Neither: None, never a guess.
    row = inventory_row("dp99.contoso.local", None)
    assert (row["pull_dp"], row["pxe"], row["role_source"]) == (None, None, None)
    # A DP without facts still shows what the site says.
    row = inventory_row(PULL, None, site_facts=site_facts)
    assert (row["pull_dp"], row["role_source"]) == (True, "site")
