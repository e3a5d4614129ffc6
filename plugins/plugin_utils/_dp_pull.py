# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pull DPs and PXE DPs in the DP checklist. FOR INTERNAL COLLECTION USE ONLY.

A pull DP gets its content from its source DPs over HTTP or HTTPS (BITS), not from the site server: the site
server's Package Transfer Manager tells it to download, and it downloads itself. The seed checklist (jpmem
20230813_01) is written for the push case, where the site server copies content over SMB into the DP's content
library as its computer account. For a pull DP:

* ``smb_shares`` and ``access_rights`` are NOT APPLICABLE (``N/A``): they test the site server's SMB copy into the
  DP's ``SCCMContentLib$`` / ``SMSPKG<drive>$`` / ``SMSSIG$`` shares and the write rights of its computer account
  on them and on the DP's content library folder. No site server writes there for a pull DP (the pull DP writes its
  own library locally). The site-side parts of both items (the package source share, the site's content library)
  concern every DP and are shown on the standard DPs, the source DPs among them.
* every other item still applies: the site server still resolves the pull DP, installs and configures it (SMB to
  ``ADMIN$``, RPC/WMI to ``root\\SCCMDP``), and both clocks, patch levels and the free space of its content library
  still matter (domain reference section 3: "Site server -> DP (standard and pull DP)").
* the pull path is evidence under the items it belongs to: a source DP that does not resolve from the pull DP under
  ``name_resolution``; TCP 80/443 from the pull DP to a source DP under ``ports``; error lines of PullDP.log and
  DataTransferService.log under the item their error codes point to (``_dp_knowledge``).

N/A is decided only on the site's word (SMS_DistributionPointInfo.IsPullDP); a pull flag from the DP's own registry
alone (``IsPullDP`` under ``HKLM\\SOFTWARE\\Microsoft\\SMS\\DP``, a value whose existence is unconfirmed) is reported
in ``role`` with its source, but changes no finding.
"""
from __future__ import annotations

import typing as t

from . import _dp_knowledge

PUSH_ONLY_CHECKS = ("smb_shares", "access_rights")

_MSG: dict[str, tuple[str, str]] = {
    "na.smb_shares": (
        "Not applicable: {dp} is a pull DP. It downloads content from its source DPs over HTTP/HTTPS (BITS); the site "
        "server copies nothing over SMB into its shares. The source share is checked on the standard DPs",
        "該当なし: {dp} はプル配布ポイントです。コンテンツはソース配布ポイントから HTTP/HTTPS (BITS) でダウンロードされ、サイト "
        "サーバーが SMB で共有フォルダーにコピーすることはありません。ソース共有フォルダーは通常の配布ポイントで確認します"),
    "na.access_rights": (
        "Not applicable: {dp} is a pull DP. The site server's computer account writes nothing into its content "
        "library (the pull DP writes it itself); the site-side rights are checked on the standard DPs",
        "該当なし: {dp} はプル配布ポイントです。サイト サーバーのコンピューター アカウントがコンテンツ ライブラリに書き込むことは"
        "ありません (プル配布ポイント自身が書き込みます)。サイト側の権限は通常の配布ポイントで確認します"),
    "ev.delivery": ("Content delivery", "コンテンツの配布方式"),
    "delivery.pull": ("pull from the source DPs {sources} (site: SMS_DistributionPointInfo.IsPullDP)",
                      "ソース配布ポイント {sources} からのプル (サイト: SMS_DistributionPointInfo.IsPullDP)"),
    "ev.source_dns": ("Source DP {source} (rank {rank}) resolves from the pull DP",
                      "プル配布ポイントからソース配布ポイント {source} (ランク {rank}) の名前解決"),
    "ev.source_tcp": ("TCP 80/443 from the pull DP to source DP {source} (rank {rank})",
                      "プル配布ポイントからソース配布ポイント {source} (ランク {rank}) への TCP 80/443"),
    "pull.no_sources": ("The site lists no source DP for this pull DP", "サイトにこのプル配布ポイントのソース配布ポイントが登録されていません"),
    "pull.not_probed": ("The path from the pull DP to its source DPs was not probed (no DP facts, or win_sccm_dp_facts "
                        "ran without source_dps)",
                        "プル配布ポイントからソース配布ポイントへの経路は未確認です (配布ポイントの情報なし、または "
                        "win_sccm_dp_facts を source_dps なしで実行)"),
    "pull.unfinished": ("The probe from the pull DP to {source} did not finish",
                        "プル配布ポイントから {source} への確認が完了しませんでした"),
    "pull.dns_none": ("No source DP resolves from the pull DP ({sources}): it cannot download content",
                      "プル配布ポイントからどのソース配布ポイントも名前解決できません ({sources})。コンテンツをダウンロードできません"),
    "pull.dns_some": ("Source DP(s) {sources} do not resolve from the pull DP; it downloads from the others",
                      "プル配布ポイントからソース配布ポイント {sources} を名前解決できません。他のソースからダウンロードします"),
    "pull.tcp_none": ("No source DP answers on TCP 80 or 443 from the pull DP ({sources}): it cannot download content "
                      "(IIS / BITS on the source DP, or a firewall on the path)",
                      "プル配布ポイントからどのソース配布ポイントにも TCP 80/443 で接続できません ({sources})。コンテンツを"
                      "ダウンロードできません (ソース配布ポイントの IIS / BITS、または経路上のファイアウォール)"),
    "pull.tcp_some": ("Source DP(s) {sources} do not answer on TCP 80/443 from the pull DP; it downloads from the others",
                      "プル配布ポイントからソース配布ポイント {sources} に TCP 80/443 で接続できません。他のソースからダウンロードします"),
    "pull.blocked_dns": ("Not tested: no source DP resolves from the pull DP", "未確認: プル配布ポイントからソース配布ポイントを名前解決できません"),
    "ev.local_identity": ("Identity of the DP-local root\\SCCMDP test", "配布ポイント上の root\\SCCMDP 確認の実行ユーザー"),
    "wmi.local_not_system": ("the DP-local test ran as {user}, not as SYSTEM as in the checklist (PsExec -s): set "
                             "dp_diagnose_dp_become",
                             "配布ポイント上の確認はチェックリスト (PsExec -s) と異なり SYSTEM ではなく {user} で実行されました "
                             "(dp_diagnose_dp_become を設定してください)"),
}

_RANK = _dp_knowledge.STATUS_RANK


def _m(key: str, lang: str, **values: t.Any) -> str:
    en, ja = _MSG[key]
    return (ja if lang == "ja" else en).format(**values)


def _ev(label: str, value: t.Any, source: str, ok: bool | None) -> dict[str, t.Any]:
    return {"label": label, "value": value, "source": source, "ok": ok}


def dp_role(site_role: dict[str, t.Any] | None, facts: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """``role`` of a DP result: pull DP / PXE from the site, else from the DP's registry (``source`` says which),
    and the source DPs by rank with whether the pull DP reached each (None: not probed)."""
    site_role = site_role or {}
    registry = (facts or {}).get("role") or {}
    from_site = site_role.get("source") == "sms_provider"
    probed = {str(s.get("name")).lower(): s for s in ((facts or {}).get("pull_dp") or {}).get("source_dps") or []}
    sources = [{"name": s["name"], "rank": s.get("rank"), "reachable": (probed.get(str(s["name"]).lower()) or {}).get(
        "reachable")} for s in site_role.get("source_dps") or []]
    if from_site:
        return {"pull_dp": site_role.get("pull_dp"), "pxe": site_role.get("pxe"), "source": "site",
                "source_dps": sources}
    pull, pxe = registry.get("is_pull_dp"), registry.get("is_pxe")
    return {"pull_dp": pull, "pxe": pxe, "source": "dp_registry" if pull is not None or pxe is not None else None,
            "source_dps": sources}


def _join(names: t.Iterable[str]) -> str:
    return ", ".join(names) or "-"


def _merge(finding: dict[str, t.Any], status: str, summary: str) -> None:
    """Fold one more part into a finding: the worse status wins; at the same (non-PASS) status both summaries."""
    if _RANK[status] > _RANK[finding["status"]]:
        finding["status"], finding["summary"] = status, summary
    elif status == finding["status"] and status != "PASS":
        finding["summary"] = f"{finding['summary']}; {summary}"


def _pull_parts(role: dict[str, t.Any], facts: dict[str, t.Any] | None, lang: str
                ) -> tuple[list[dict[str, t.Any]], list[dict[str, t.Any]], tuple[str, str], tuple[str, str]]:
    """(name evidence, port evidence, (name status, summary), (port status, summary)) of the pull path."""
    ranks = {str(s["name"]).lower(): s.get("rank") for s in role["source_dps"]}
    if not role["source_dps"]:
        part = ("UNKNOWN", _m("pull.no_sources", lang))
        return [], [], part, part
    pull = (facts or {}).get("pull_dp")
    if not pull or not pull.get("probed"):
        part = ("UNKNOWN", _m("pull.not_probed", lang))
        return [], [], part, part
    dns_ev, tcp_ev = [], []
    unresolved, unreachable, unknown, resolved = [], [], [], []
    for source in pull.get("source_dps") or []:
        name = source["name"]
        rank = ranks.get(name.lower(), source.get("order"))
        code = ((source.get("dns_error") or {}).get("hresult")) or None
        if source.get("resolved") is None:
            unknown.append(name)
            dns_ev.append(_ev(_m("ev.source_dns", lang, source=name, rank=rank), None, "dp", None))
            continue
        dns_ev.append(_ev(_m("ev.source_dns", lang, source=name, rank=rank),
                          source.get("addresses") or code, "dp", bool(source.get("resolved"))))
        if not source.get("resolved"):
            unresolved.append(name)
            continue
        resolved.append(name)
        ports = {port: (value or {}).get("open") for port, value in (source.get("tcp") or {}).items()}
        tcp_ev.append(_ev(_m("ev.source_tcp", lang, source=name, rank=rank), ports, "dp", source.get("reachable")))
        if source.get("reachable") is False:
            unreachable.append(name)
        elif source.get("reachable") is None:
            unknown.append(name)
    every = [s["name"] for s in pull.get("source_dps") or []]
    if unresolved and len(unresolved) == len(every):
        name_part = ("FAIL", _m("pull.dns_none", lang, sources=_join(unresolved)))
        port_part = ("UNKNOWN", _m("pull.blocked_dns", lang))
        return dns_ev, tcp_ev, name_part, port_part
    name_part = ("WARN", _m("pull.dns_some", lang, sources=_join(unresolved))) if unresolved else ("PASS", "")
    if unreachable and len(unreachable) == len(resolved):
        port_part = ("FAIL", _m("pull.tcp_none", lang, sources=_join(unreachable)))
    elif unknown:
        port_part = ("UNKNOWN", _m("pull.unfinished", lang, source=_join(unknown)))
    elif unreachable:
        port_part = ("WARN", _m("pull.tcp_some", lang, sources=_join(unreachable)))
    else:
        port_part = ("PASS", "")
    return dns_ev, tcp_ev, name_part, port_part


def apply_pull_dp(findings: dict[str, dict[str, t.Any]], dp: str, role: dict[str, t.Any],
                  facts: dict[str, t.Any] | None, lang: str) -> None:
    """For a pull DP (on the site's word): the push-only items become N/A, the pull path becomes evidence."""
    if not (role.get("pull_dp") and role.get("source") == "site"):
        return
    sources = _join(f"{s['name']} ({s.get('rank')})" for s in role["source_dps"])
    for check in PUSH_ONLY_CHECKS:
        findings[check] = {"status": "N/A", "summary": _m(f"na.{check}", lang, dp=dp),
                           "evidence": [_ev(_m("ev.delivery", lang), _m("delivery.pull", lang, sources=sources),
                                            "site", None)],
                           "log_evidence": []}
    dns_ev, tcp_ev, name_part, port_part = _pull_parts(role, facts, lang)
    findings["name_resolution"]["evidence"] += dns_ev
    findings["ports"]["evidence"] += tcp_ev
    _merge(findings["name_resolution"], *name_part)
    _merge(findings["ports"], *port_part)


def note_local_identity(finding: dict[str, t.Any], facts: dict[str, t.Any] | None, lang: str) -> None:
    """Evidence of who ran the DP-local root\\SCCMDP test; the summary says so when it was not SYSTEM."""
    if facts is None or "probe_identity" not in facts:
        return
    ident = facts.get("probe_identity") or {}
    finding["evidence"].insert(0, _ev(_m("ev.local_identity", lang), ident.get("user"), "dp",
                                      True if ident.get("as_system") else None))
    if not ident.get("as_system") and finding["status"] in ("PASS", "WARN"):
        finding["summary"] = f"{finding['summary']} ({_m('wmi.local_not_system', lang, user=ident.get('user') or '?')})"


def pull_log_records(facts: dict[str, t.Any] | None) -> list[dict[str, t.Any]]:
    """The PullDP.log / DataTransferService.log records a pull DP returned (parsed like smsdpprov.log)."""
    return list((((facts or {}).get("pull_dp") or {}).get("logs") or {}).get("lines") or [])
