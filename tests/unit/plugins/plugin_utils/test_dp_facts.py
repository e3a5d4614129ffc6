# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_dp_facts.py: plans (one batch, registry-valid) and shapers."""
from __future__ import annotations

import copy

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_facts as f
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import build_batch

from . import dp_lab

DP = "dp01.contoso.local"


def test_dp_plan_is_one_registry_valid_batch_of_always_ops() -> None:
    plan = f.plan_dp_facts(dp_lab.DP_PARAMS, "2026-11-21T12:00:00Z")
    batch = build_batch(plan)
    assert len(batch) == len(plan) and all(op["always"] for op in batch)
    ops = {p.id: p for p in plan}
    assert {f"svc_{s}" for s in f.DP_SERVICES} <= set(ops)
    assert ops["smsdpprov"].args["since_utc"] == "2026-11-18T12:00:00Z"
    assert ops["shares"].args["names"] == list(f.DP_SHARES)
    assert ops["administrators"].args == {"sid": "S-1-5-32-544"}


def test_site_plan_probes_every_dp_in_one_op_and_filters_logs_on_the_host() -> None:
    params = dict(dp_lab.SITE_PARAMS, distribution_points=["dp01.contoso.local", "DP02.contoso.local"])
    plan = f.plan_site_facts(params, "2026-11-21T12:00:00Z")
    build_batch(plan)
    probes = [p for p in plan if p.op == "net.probe_targets"]
    assert len(probes) == 1 and probes[0].args["targets"] == params["distribution_points"]
    logs = next(p for p in plan if p.id == "logs")
    assert logs.args["patterns"] == ["dp01.contoso.local", "dp01", "DP02.contoso.local", "dp02"]
    assert logs.args["severities"] == ["error", "warning"] and logs.args["since_utc"] == "2026-11-18T12:00:00Z"
    assert [r["name"] for r in logs.args["path_refs"]] == [*f.SITE_LOGS, "PatchDownloader.log"]
    assert logs.args["path_refs"][-1]["folder"] == "client" and "paths" not in logs.args
    no_dps = f.plan_site_facts(dict(dp_lab.SITE_PARAMS, source_shares=[]), None)
    assert not [p for p in no_dps if p.op in ("net.probe_targets", "path.test_access")]


def test_dp_facts_shape() -> None:
    _site, hosts = dp_lab.lab({DP: "dp_healthy"})
    facts = dp_lab.dp_facts(hosts[DP])
    assert facts["errors"] == [] and facts["fqdn"] == DP
    assert facts["role"]["content_library_drives"] == ["D:"] and facts["role"]["site_server"] == "cm01.contoso.local"
    assert facts["shares"]["missing"] == [] and facts["dcom"]["enabled"] is True
    assert facts["os"]["version"] == "17763.6532"
    root = facts["wmi"]["root_security"]
    admins = next(e for e in root["entries"] if e["sid"] == "S-1-5-32-544")
    assert admins["rights"] == ["enable_account", "execute_methods", "full_write", "partial_write", "provider_write",
                                "remote_enable", "read_security", "edit_security"]
    assert root["sddl"].startswith("O:S-1-5-32-544")
    assert facts["wmi"]["sccmdp"]["query_ok"] is True
    assert {m["name"] for m in facts["local_administrators"]["members"]} >= {"CONTOSO\\CM01$"}
    disks = {d["drive"]: d for d in facts["disks"]}
    assert disks["C:"]["no_sms_on_drive"] is True and disks["D:"]["free_percent"] == 62.5
    assert facts["smsdpprov_log"]["found"] is True and facts["smsdpprov_log"]["error_count"] == 0


def test_dp_facts_keep_going_when_a_reading_fails() -> None:
    _site, hosts = dp_lab.lab({DP: "dp_healthy"})
    host = hosts[DP]
    host.state["wmi_security"] = {}
    facts = dp_lab.dp_facts(host)
    assert facts["wmi"]["root_security"] is None
    assert facts["errors"] == [{"step": "wmi_security", "op": "wmi.read_namespace_security", "hresult": "0x8004100E",
                                "message": "Invalid namespace root"}]
    assert facts["shares"] is not None and facts["local_administrators"] is not None


def test_site_facts_shape_as_system_and_as_winrm_user() -> None:
    site, _hosts = dp_lab.lab({DP: "dp_healthy"})
    facts = dp_lab.site_facts(site, [DP])
    assert facts["site_code"] == "PS1" and facts["log_dir"].endswith("\\Logs")
    assert facts["probe_identity"] == {"user": "NT AUTHORITY\\SYSTEM", "sid": "S-1-5-18", "as_system": True,
                                       "network_identity": "CONTOSO\\CM01$", "trusted": True}
    assert facts["content_library"]["path"] == "E:\\SCCMContentLib"
    assert facts["content_library"]["space"]["drive"] == "E:" and facts["temp"]["drive"] == "C:"
    probe = facts["dps"][DP]
    assert probe["wmi"]["identity"] == "CONTOSO\\CM01$" and probe["wmi"]["connected"] is True
    assert probe["installation_account"]["value"] == "computer_account"
    assert set(probe["tcp"]) == {"135", "445", "80", "443"}
    assert facts["source_shares"][0]["readable"] is True
    user = dp_lab.site_facts(site, [DP], ctx=dp_lab.WINRM_USER)
    assert user["probe_identity"]["trusted"] is False and user["probe_identity"]["as_system"] is False
    assert user["dps"][DP]["wmi"]["error"]["hresult"] == "0x80070005"
    assert user["computer_account"]["groups_error"]["hresult"] == "0x80072020"
    assert user["source_shares"][0]["error"]["hresult"] == "0x80070005"


def test_installation_account() -> None:
    sms = {"provider_available": True, "systems": [
        {"server": "dp01.contoso.local", "use_machine_account": True, "user_name": None},
        {"server": "dp02.contoso.local", "use_machine_account": False, "user_name": "CONTOSO\\svc-cm"}]}
    assert f.installation_account(sms, "DP01")["value"] == "computer_account"
    assert f.installation_account(sms, "dp02.contoso.local")["value"] == "CONTOSO\\svc-cm"
    assert f.installation_account(sms, "dp03.contoso.local")["value"] == "unknown"
    assert f.installation_account(None, "dp01")["value"] == "unknown"


def test_helpers() -> None:
    assert f.drive_of("d:\\SCCMContentLib") == "D:" and f.drive_of("\\\\srv\\share") is None
    assert f.wmi_rights(0x23) == ["enable_account", "execute_methods", "remote_enable"]
    assert f.parse_utc("2026-11-21T12:00:00Z").isoformat() == "2026-11-21T12:00:00+00:00"
    assert f.parse_utc("garbage") is None
    assert f.log_patterns(["dp01.contoso.local", "DP01"]) == ["dp01.contoso.local", "dp01"]
    assert f.HOST_NAME_RE.fullmatch("dp01.contoso.local") and not f.HOST_NAME_RE.fullmatch("dp01;calc")
    assert not f.HOST_NAME_RE.fullmatch("dp01\n") and not f.UNC_RE.fullmatch("\\\\cm01\\Sources\n")
    assert f.UNC_RE.fullmatch("\\\\cm01\\Sources\\Apps") and not f.UNC_RE.fullmatch("C:\\Sources")
    assert copy.deepcopy(f.DP_SHARES) == ("ADMIN$", "SCCMContentLib$", "SMS_DP$", "SMSPKG*$", "SMSSIG$")


def test_source_shares_are_read_from_the_sms_provider_when_not_given() -> None:
    """Issue 9 defect 7: without source_shares the batch reads the site's package sources and tests them."""
    params = dict(dp_lab.SITE_PARAMS, distribution_points=[DP], source_shares=[])
    plan = {p.id: p for p in f.plan_site_facts(params, None)}
    assert "sources" not in plan and plan["package_sources"].op == "sms.read_package_sources"
    assert plan["package_sources"].args["max_packages"] == f.MAX_PACKAGES
    assert "package_sources" not in {p.id for p in f.plan_site_facts(dict(params, discover_source_shares=False), None)}
    site, _hosts = dp_lab.lab({DP: "dp_healthy"})
    facts = dp_lab.site_facts(site, [DP], source_shares=[])
    assert facts["source_shares_origin"] == "sms_provider"
    assert facts["source_shares"] == [{
        "path": "\\\\cm01.contoso.local\\Sources", "exists": True, "readable": True, "free_bytes": 1299227607040,
        "total_bytes": 2199023255552, "free_percent": 59.08, "error": None, "elapsed_ms": 3, "packages": 3}]
    assert facts["package_sources"]["packages_read"] == 5 and facts["package_sources"]["local_paths"] == 1
    given = dp_lab.site_facts(site, [DP])
    assert given["source_shares_origin"] == "option" and given["package_sources"] is None


def test_source_share_discovery_is_bounded_and_reports_the_provider_error() -> None:
    overlay = {"sms_provider": {"packages": [
        {"package_id": f"PS1{n:05d}", "source_path": f"\\\\fs{n % 15:02d}.contoso.local\\src{n % 15}\\p{n}"}
        for n in range(40)]}}
    site, _hosts = dp_lab.lab({DP: "dp_healthy"}, site_overlay=overlay)
    facts = dp_lab.site_facts(site, [DP], source_shares=[])
    found = facts["package_sources"]
    assert found["packages_read"] == 40 and found["shares_truncated"] is True
    assert len(found["shares"]) == len(facts["source_shares"]) == f.MAX_SOURCE_SHARES
    # Unknown file servers: not reachable, which the checks report (never PASS).
    assert all(s["readable"] is False for s in facts["source_shares"])
    denied, _hosts = dp_lab.lab({DP: "dp_healthy"},
                                site_overlay={"sms_provider": {"packages_error": {"code": 0x80041003}}})
    facts = dp_lab.site_facts(denied, [DP], source_shares=[])
    assert facts["source_shares"] is None and facts["source_shares_origin"] is None
    assert facts["package_sources"]["available"] is False
    assert facts["package_sources"]["error"]["hresult"] == "0x80041003"
