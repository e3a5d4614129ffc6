"""Diagnoses and fleet tables of the simulated DP lab (every DP fixture, one DP each) for the report
tests and the browser test; plus the content / stuck-package / role data agreed with the content and
pull-DP probes, added by hand until the engine produces it. Everything here is simulated."""
from __future__ import annotations

import copy
import functools

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_diagnose import diagnose
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_inventory import inventory_rows
from tests.unit.plugins.plugin_utils import dp_lab

FIXTURES = ("dp_healthy", "dp_name_unresolved", "dp_smb_blocked", "dp_rpc_blocked", "dp_dcom_disabled",
            "dp_rpcss_stopped", "dp_share_missing", "dp_ntfs_denied", "dp_wmi_denied", "dp_clock_skew",
            "dp_unpatched", "dp_sccmdp_missing", "dp_disk_full", "dp_content_failed", "dp_pull_source_unreachable",
            "dp_pxe")
GENERATED_AT = "2026-11-21T12:00:00Z"


def dp_name(fixture: str) -> str:
    return "%s.contoso.local" % fixture.replace("_", "-")


@functools.lru_cache(maxsize=1)
def _facts() -> tuple[dict, dict]:
    names = {dp_name(f): f for f in FIXTURES}
    site, hosts = dp_lab.lab(names)
    return dp_lab.site_facts(site, sorted(names)), {n: dp_lab.dp_facts(hosts[n]) for n in names}


def lab_facts() -> tuple[dict, dict]:
    site, dps = _facts()
    return copy.deepcopy(site), copy.deepcopy(dps)


def lab_diagnosis(lang: str, with_content: bool = True) -> dict:
    site, dps = lab_facts()
    result = diagnose(site, dps, language=lang, generated_at=GENERATED_AT)
    return add_content_data(result, lang) if with_content else result


def lab_inventory(with_content: bool = True) -> list[dict]:
    site, dps = lab_facts()
    rows = inventory_rows(dps, site_facts=site)
    if with_content:
        for row in rows:
            row["content"] = {"total": 42, "installed": 42, "stuck": 0, "truncated": False}
        rows[2]["content"] = {"total": 42, "installed": 39, "stuck": 3, "truncated": False}
    return rows


def stuck_package(index: int, lang: str) -> dict:
    ja = lang == "ja"
    return {
        "package_id": "PS1000%02d" % index, "name": "Office 365 %d" % index, "state": 2,
        "state_text": "配布が完了していません" if ja else "install retrying",
        "message_id": "2302", "message_time": "2026-11-21T10:%02d:00Z" % index, "source_version": 3,
        "check": "smb_shares",
        "cause": "配布ポイントの共有フォルダー `SMS_DP$` に接続できません" if ja else "The DP share `SMS_DP$` cannot be reached",
        "fix": "サーバー サービスを開始してください" if ja else "Start the Server service",
        "message": "Distribution Manager failed to process package \"Office 365\" (package ID = PS1000%02d)." % index,
    }


def add_content_data(diagnosis: dict, lang: str) -> dict:
    """The contract of the content and pull-DP helpers: content counts, stuck packages, role, N/A."""
    result = copy.deepcopy(diagnosis)
    stuck_total = 0
    for index, dp in enumerate(result["dps"]):
        stuck = [stuck_package(n, lang) for n in range(index % 4 if index % 3 == 0 else 0)]
        stuck_total += len(stuck)
        dp["content"] = {"total": 42, "installed": 42 - len(stuck), "stuck": len(stuck), "truncated": False}
        dp["stuck_packages"] = stuck
        dp["role"] = {"pull_dp": index == 1, "pxe": index == 2, "source_dps": []}
    pull = result["dps"][1]
    pull["role"]["source_dps"] = [{"name": "dp-healthy.contoso.local", "rank": 1, "reachable": True},
                                  {"name": "dp-smb-blocked.contoso.local", "rank": 2, "reachable": False}]
    # A pull DP gets its content from its source DPs: the site server's SMB check does not apply.
    pull["findings"][3]["status"] = "N/A"
    result["summary"]["stuck_packages"] = stuck_total
    return result
