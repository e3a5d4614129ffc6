# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DP checklist engine: site facts + DP facts -> one finding per seed checklist item. FOR INTERNAL COLLECTION USE ONLY.

Pure functions over the plain dicts of ``ansible_facts.sccm_site`` (win_sccm_site_facts) and
``ansible_facts.sccm_dp`` (win_sccm_dp_facts). One function per checklist item of seed 003
(jpmem 20230813_01), in the seed's order; each returns a finding with status PASS / WARN / FAIL /
UNKNOWN, the evidence, and a one-line summary in the report language. Texts, thresholds and error
codes come from ``_dp_knowledge``; log lines are parsed with ``_cmlog``.

Rules of the engine:

* Missing evidence is UNKNOWN, never PASS. A check made of several parts is PASS only when every
  part is proven.
* Status order (worst first): FAIL > WARN > UNKNOWN > PASS > N/A; a DP's ``overall`` is its worst finding (PASS
  when every finding is PASS or N/A). N/A is only given to the push-only items of a pull DP (``_dp_pull``).
* Remote tests that fail because of another failing check (a name that does not resolve, a blocked
  port, clock skew, missing rights) make the dependent check UNKNOWN ("blocked by ..."), so the
  diagnosis names the failing check, and only it.
* Remote tests from a site probe that did not run as SYSTEM used the wrong identity: they prove
  nothing about the site server's computer account and are UNKNOWN.
* A probe stage that did not finish (the target was abandoned after its time budget) is missing
  evidence; the stages it finished still count. A stage the probe skipped because TCP 135 is closed
  (no RPC: endpoint mapper, remote WMI) is evidence of the port problem, never a PASS.
* A log line is attached to the first checklist item its error codes point to that fails (else
  warns, else the first item pointed to); a line pointing to a passing item turns it into WARN.
* Content that is not installed on a DP (site facts ``distribution``) is listed per DP in ``stuck_packages``
  with ``content`` counts; a failure status message makes the item it points to FAIL (failed state) or WARN
  (still retrying), other messages point to no item (``_dp_content``, ``_dp_status_messages``).
"""
from __future__ import annotations

import datetime as _dt
import ipaddress
import re
import typing as t

from . import _cmlog, _dp_content, _dp_knowledge, _dp_pull
from ._dp_evidence_text import service_state, start_mode, value_word
from ._gc_pause import paused
from ._dp_facts import DP_SHARES, drive_of, parse_utc, short_name, wmi_rights

CHECK_IDS = _dp_knowledge.CHECK_IDS
# N/A: the item does not apply to this DP (the push-only items of a pull DP, _dp_pull); it ranks below PASS, so a
# DP's overall is never N/A, and it is never a FAIL or UNKNOWN in disguise.
STATUSES = ("PASS", "WARN", "FAIL", "UNKNOWN", "N/A")
_RANK = _dp_knowledge.STATUS_RANK

EVERYONE = "S-1-1-0"
AUTHENTICATED_USERS = "S-1-5-11"
NETWORK = "S-1-5-2"
SYSTEM = "S-1-5-18"
ADMINISTRATORS = "S-1-5-32-544"
USERS = "S-1-5-32-545"

REQUIRED_PORTS = (135, 445)
WMI_REQUIRED_MASK = 0x1 | 0x2 | 0x20  # Enable Account, Execute Methods, Remote Enable
FILE_READ_WRITE_MASK = 0x1 | 0x2 | 0x4  # read data, write data, append data
_GENERIC_FILE = ((0x10000000, 0x1F01FF), (0x80000000, 0x120089), (0x40000000, 0x120116), (0x20000000, 0x1200A0))
RPC_SERVICES = ("DcomLaunch", "RpcSs", "RpcEptMapper")
UNSYNCED_SOURCES = ("local cmos clock", "free-running system clock", "ローカル cmos クロック")
WMI_PROVIDER_CODES = {"0x8004100E", "0x80041002", "0x80041010", "0x80041013", "0x80041001"}
GIB = 1024 ** 3

DEFAULT_THRESHOLDS: dict[str, float] = {
    "free_space_warn_percent": 15.0,
    "free_space_fail_percent": 5.0,
    "free_space_warn_gb": 10.0,
    "free_space_fail_gb": 2.0,
    "controller_skew_max_uncertainty_seconds": 30.0,
    "thread_window_minutes": 15.0,
    "max_log_lines_per_finding": 10,
}

# One line per message: (English, Japanese). Placeholders are filled with str.format.
_MSG: dict[str, tuple[str, str]] = {
    # generic
    "no_probe": ("No site server probe for this DP (run win_sccm_site_facts with it in distribution_points)",
                 "この配布ポイントに対するサイト サーバーからの調査結果がありません (win_sccm_site_facts の distribution_points に指定してください)"),
    "probe_timeout": ("The site server probe of this DP did not finish within its time budget",
                      "サイト サーバーからの調査が制限時間内に完了しませんでした"),
    "stage_unfinished": ("The site server probe did not finish this test ({stage}: {state})",
                         "サイト サーバーからの調査でこの確認が完了しませんでした ({stage}: {state})"),
    "not_attempted": ("not attempted: {reason}", "未実施: {reason}"),
    "probe_failed": ("The site server did not probe this DP: {reason}",
                     "サイト サーバーはこの配布ポイントを調査していません: {reason}"),
    "no_dp_facts": ("No facts from the DP (win_sccm_dp_facts did not run or failed)",
                    "配布ポイントの情報がありません (win_sccm_dp_facts が未実行または失敗)"),
    "no_site_facts": ("No facts from the site server", "サイト サーバーの情報がありません"),
    "blocked_by": ("Not tested: blocked by the failing check '{check}'",
                   "未確認: 失敗しているチェック「{check}」の影響で確認できません"),
    "wrong_identity": ("The site probe ran as {user}, not as SYSTEM: remote tests did not use the site server's "
                       "computer account (run win_sccm_site_facts with become_user SYSTEM)",
                       "サイト サーバーの調査が SYSTEM ではなく {user} で実行されたため、リモートの確認はサイト サーバーの"
                       "コンピューター アカウントで行われていません (win_sccm_site_facts を become_user: SYSTEM で実行してください)"),
    "log_points_here": ("{count} log line(s) point to this item although the current facts pass",
                        "現在の状態は問題ありませんが、この項目に関係するエラーがログに {count} 行あります"),
    # name resolution
    "nr.pass": ("{dp} resolves to {addresses} from {site}", "{site} から {dp} を {addresses} に名前解決できます"),
    "nr.fail": ("{dp} does not resolve from {site} ({code})", "{site} から {dp} を名前解決できません ({code})"),
    "nr.wrong_address": ("{dp} resolves to {addresses}, but the DP has {actual}",
                         "{dp} は {addresses} に解決されますが、配布ポイントのアドレスは {actual} です"),
    "nr.own_unknown": ("{dp} resolves to {addresses} from {site}, but the DP's own addresses are not known (no DP "
                       "facts): the name may point to another machine",
                       "{site} から {dp} を {addresses} に名前解決できますが、配布ポイント自身のアドレスが不明です (配布ポイントの情報なし)。"
                       "別のコンピューターを指している可能性があります"),
    "nr.reverse": ("{dp} resolves, but the reverse lookup of {addresses} gives {reverse}",
                   "{dp} は名前解決できますが、{addresses} の逆引き結果は {reverse} です"),
    # ports
    "ports.pass": ("TCP 135, 445 and the dynamic RPC range are open from {site}",
                   "{site} から TCP 135、445、動的 RPC ポートに接続できます"),
    "ports.closed": ("TCP {ports} blocked from {site}", "{site} から TCP {ports} に接続できません"),
    "ports.dynamic": ("The dynamic RPC range is blocked from {site} (endpoint mapper answered, sampled port(s) {port} "
                      "did not)",
                      "{site} から動的 RPC ポートに接続できません (エンドポイント マッパーは応答、サンプルのポート {port} は応答なし)"),
    "ports.dynamic_partial": ("Only some dynamic RPC ports answer from {site} (open: {open}; blocked: {blocked}): "
                              "firewall rules per program or service; the remote WMI test decides for DCOM",
                              "{site} から一部の動的 RPC ポートだけが応答します (接続可: {open}、不可: {blocked})。"
                              "プログラムまたはサービス単位のファイアウォール規則です。DCOM の可否はリモート WMI の確認で判断します"),
    "ports.unmeasured": ("TCP {ports} not measured from {site}", "{site} から TCP {ports} を確認できませんでした"),
    "ports.http": ("TCP 80 and 443 are both closed: clients cannot download content",
                   "TCP 80 と 443 がどちらも閉じているため、クライアントがコンテンツをダウンロードできません"),
    "ports.epm": ("TCP 135 is open but the endpoint mapper query failed ({code})",
                  "TCP 135 は開いていますが、エンドポイント マッパーへの問い合わせに失敗しました ({code})"),
    "ports.service": ("TCP 445 is closed and the Server service (LanmanServer) on the DP is {state}",
                      "TCP 445 が閉じており、配布ポイントの Server サービス (LanmanServer) は {state} です"),
    # free space
    "fs.pass": ("Enough free space on all {count} checked drive(s)", "確認した {count} 個のドライブすべてに十分な空き容量があります"),
    "fs.low": ("{where} has {free} free ({percent}%)", "{where} の空き容量は {free} ({percent}%) です"),
    "fs.part_missing": ("Free space not known for: {parts}", "空き容量を確認できなかった場所: {parts}"),
    # smb
    "smb.pass": ("All DP shares exist and the source share(s) are shared", "配布ポイントの共有フォルダーとソース共有フォルダーがすべて存在します"),
    "smb.missing": ("Missing share(s) on the DP: {shares}", "配布ポイントに共有フォルダーがありません: {shares}"),
    "smb.server": ("The Server service (LanmanServer) on the DP is not running", "配布ポイントの Server サービス (LanmanServer) が実行されていません"),
    "smb.source": ("Source share {path} is not available ({code})", "ソース共有フォルダー {path} を利用できません ({code})"),
    # rpc
    "rpc.pass": ("DCOM is enabled and DcomLaunch, RpcSs, RpcEptMapper are running on the DP and the site server",
                 "配布ポイントとサイト サーバーで DCOM が有効で、DcomLaunch、RpcSs、RpcEptMapper が実行中です"),
    "rpc.dcom_off": ("DCOM is disabled on {host} (EnableDCOM = {value})", "{host} で DCOM が無効です (EnableDCOM = {value})"),
    "rpc.service": ("Service {service} on {host} is {state} (start mode {mode})",
                    "{host} のサービス {service} の状態は {state} (スタートアップの種類 {mode}) です"),
    "rpc.remote_only": ("Remote WMI over DCOM from the site server works, but the DP's EnableDCOM and RPC services "
                        "are not known (no DP facts)",
                        "サイト サーバーから DCOM 経由のリモート WMI 接続に成功しましたが、配布ポイントの EnableDCOM と RPC "
                        "サービスの状態は不明です (配布ポイントの情報なし)"),
    # access rights
    "acc.pass": ("{account} has the rights it needs on the DP, its content library and WMI",
                 "{account} は配布ポイント、SCCMContentLib、WMI に必要な権限を持っています"),
    "acc.not_admin": ("{account} is not a member of the DP's local Administrators group",
                      "{account} は配布ポイントのローカル Administrators グループのメンバーではありません"),
    "acc.ntfs": ("{account} has no read/write NTFS right on {path}", "{account} には {path} の NTFS 読み書き権限がありません"),
    "acc.share": ("Share {share} does not give {account} change or full access", "共有 {share} で {account} に変更またはフル コントロールのアクセス許可がありません"),
    "acc.wmi": ("WMI Root namespace security does not give {account} Enable Account, Execute Methods and Remote Enable",
                "WMI の Root 名前空間のセキュリティで {account} に [アカウントの有効化]、[メソッドの実行]、[リモートの有効化] が許可されていません"),
    "acc.source": ("{account} cannot read source share {path} ({code})", "{account} でソース共有フォルダー {path} を読み取れません ({code})"),
    "acc.site_library": ("{account} has no read/write NTFS right on the site server's content library {path}",
                         "{account} にはサイト サーバーの SCCMContentLib ({path}) の NTFS 読み書き権限がありません"),
    "acc.install_account": ("The site system installation account is {user}, not the site server's computer account",
                            "サイト システムのインストール アカウントが {user} で、サイト サーバーのコンピューター アカウントではありません"),
    "acc.admins_unknown": ("Whether {account} is a local Administrator of the DP is not known, and the rights it "
                           "needs depend on it", "{account} が配布ポイントのローカル Administrators のメンバーかどうかが不明で、"
                           "必要な権限はそれによって決まります"),
    "acc.install_unknown": ("The site system installation account is not known (SMS Provider not read)",
                            "サイト システムのインストール アカウントが不明です (SMS プロバイダーを読み取れませんでした)"),
    "acc.not_site_system": ("The SMS Provider does not list {dp} as a site system of this site",
                            "SMS プロバイダーに {dp} がこのサイトのサイト システムとして登録されていません"),
    "acc.share_unknown": ("The share permissions of {share} on the DP are not known",
                          "配布ポイントの共有 {share} のアクセス許可が不明です"),
    "acc.site_library_unknown": ("The NTFS rights on the site server's content library are not known",
                                 "サイト サーバーの SCCMContentLib の NTFS 権限が不明です"),
    "acc.unknown_account": ("The site server's computer account is not known (no site facts)",
                            "サイト サーバーのコンピューター アカウントが不明です (サイト サーバーの情報なし)"),
    # time
    "time.ntp": ("W32Time is not synchronising on {host} ({detail})", "{host} で時刻同期 (W32Time) が行われていません ({detail})"),
    "time.w32time_unknown": ("The Windows Time state of {host} is not known", "{host} の Windows Time の状態が不明です"),
    "time.estimated": ("(estimated through the controller clock, +/- {uncertainty} s)", "(コントローラーの時刻を基準にした推定値、誤差 ±{uncertainty} 秒)"),
    # patch
    "patch.summary": ("DP: {dp} / site server: {site}", "配布ポイント: {dp} / サイト サーバー: {site}"),
    "patch.events_10036": ("The DP logged {count} DistributedCOM 10036 event(s): DCOM hardening rejects a caller",
                           "配布ポイントに DistributedCOM のイベント 10036 が {count} 件記録されています (DCOM の強化により呼び出し元が拒否されています)"),
    "patch.events_unknown": ("Both builds are patched, but these events were not read: {which}",
                             "両方のビルドは更新済みですが、次のイベントを読み取れませんでした: {which}"),
    "patch.events_site": ("The site server logged {count} DistributedCOM 10037/10038 event(s)",
                          "サイト サーバーに DistributedCOM のイベント 10037 / 10038 が {count} 件記録されています"),
    # wmi
    "wmi.pass": ("root\\SCCMDP answers locally on the DP and remotely from {site} over DCOM as {identity}",
                 "root\\SCCMDP は配布ポイント上でも、{site} から DCOM 経由 ({identity}) でも応答します"),
    "wmi.local_fail": ("root\\SCCMDP on the DP: {code} {message}", "配布ポイントの root\\SCCMDP: {code} {message}"),
    "wmi.remote_fail": ("Remote WMI \\\\{dp}\\root\\SCCMDP from {site} failed with {code}",
                        "{site} から \\\\{dp}\\root\\SCCMDP へのリモート WMI 接続が {code} で失敗しました"),
    "wmi.remote_missing": ("root\\SCCMDP answers locally; the remote test from the site server is missing",
                           "root\\SCCMDP はローカルでは応答しますが、サイト サーバーからのリモート確認結果がありません"),
    "wmi.skipped_135": ("Remote WMI from {site} was not attempted: TCP 135 is closed ({code})",
                        "TCP 135 が閉じているため、{site} からのリモート WMI 接続は実施されていません ({code})"),
    # evidence labels
    "ev.dns_forward": ("DNS forward lookup from the site server", "サイト サーバーでの正引き"),
    "ev.dns_reverse": ("DNS reverse lookup", "逆引き"),
    "ev.dp_addresses": ("IP addresses of the DP", "配布ポイントの IP アドレス"),
    "ev.tcp": ("TCP {port} from the site server", "サイト サーバーから TCP {port}"),
    "ev.epm": ("RPC endpoint mapper (registered endpoints)", "RPC エンドポイント マッパー (登録エンドポイント数)"),
    "ev.dynamic": ("Dynamic RPC port {port} (sampled from the endpoint map)", "動的 RPC ポート {port} (エンドポイント マップからのサンプル)"),
    "ev.space": ("Free space, {where}", "空き容量: {where}"),
    "ev.share": ("Share {share} on the DP", "配布ポイントの共有 {share}"),
    "ev.source": ("Source share {path}", "ソース共有フォルダー {path}"),
    "ev.server_service": ("Server service (LanmanServer) on the DP", "配布ポイントの Server サービス (LanmanServer)"),
    "ev.enable_dcom": ("EnableDCOM on {host}", "{host} の EnableDCOM"),
    "ev.service": ("Service {service} on {host}", "{host} のサービス {service}"),
    "ev.remote_wmi": ("Remote WMI over DCOM from the site server", "サイト サーバーから DCOM 経由のリモート WMI"),
    "ev.local_wmi": ("root\\SCCMDP query on the DP", "配布ポイント上での root\\SCCMDP への問い合わせ"),
    "ev.install_account": ("Site system installation account", "サイト システムのインストール アカウント"),
    "ev.admins": ("{account} in the DP's local Administrators", "配布ポイントのローカル Administrators に {account}"),
    "ev.ntfs": ("NTFS read/write for {account} on {path}", "{path} の {account} の NTFS 読み書き権限"),
    "ev.share_acl": ("Share permission of {share} for {account}", "共有 {share} の {account} のアクセス許可"),
    "ev.wmi_acl": ("WMI Root security for {account} (rights granted)", "WMI の Root 名前空間での {account} の権限"),
    "ev.source_access": ("{account} reads source share {path}", "{account} によるソース共有フォルダー {path} の読み取り"),
    "ev.site_library_acl": ("NTFS read/write on the site server's content library {path}", "サイト サーバーの SCCMContentLib ({path}) の NTFS 読み書き権限"),
    "ev.probe_identity": ("Identity of the site probe", "サイト サーバーの調査を実行した ID"),
    "ev.skew": ("Clock difference DP - site server (seconds, {method})", "時刻差 (配布ポイント - サイト サーバー、秒、{method})"),
    "ev.w32time": ("Windows Time on {host}", "{host} の Windows Time"),
    "ev.patch": ("Windows build of {host}", "{host} の Windows ビルド"),
    "ev.dcom_hardening": ("DCOM hardening registry on {host}", "{host} の DCOM 強化のレジストリ"),
    "ev.events_10036": ("DistributedCOM 10036 events on the DP", "配布ポイントの DistributedCOM 10036 イベント"),
    "ev.events_site": ("DistributedCOM 10037/10038 events on the site server", "サイト サーバーの DistributedCOM 10037 / 10038 イベント"),
    "w.dp": ("the DP", "配布ポイント"),
    "w.site": ("the site server", "サイト サーバー"),
    "w.dp_library": ("DP content library drive {drive}", "配布ポイントの SCCMContentLib ドライブ {drive}"),
    "w.site_library": ("site server content library drive {drive}", "サイト サーバーの SCCMContentLib ドライブ {drive}"),
    "w.site_temp": ("site server OS drive / TEMP {drive}", "サイト サーバーの OS ドライブ / TEMP {drive}"),
    "w.source": ("source share {path}", "ソース共有フォルダー {path}"),
    "w.not_given": ("source shares not given (option source_shares of win_sccm_site_facts, role variable "
                    "dp_diagnose_source_shares) and not read from the SMS Provider",
                    "ソース共有フォルダーが指定されておらず (win_sccm_site_facts の source_shares、ロール変数 "
                    "dp_diagnose_source_shares)、SMS プロバイダーからも読み取っていません"),
    "w.sources_unread": ("source shares not given, and the package sources could not be read from the SMS Provider "
                         "({code})", "ソース共有フォルダーが指定されておらず、SMS プロバイダーからパッケージのソースを読み取れませんでした ({code})"),
    "w.sources_none": ("no package of the site has a UNC source path ({count} package(s) read from the SMS Provider)",
                       "サイトのパッケージに UNC のソース パスがありません (SMS プロバイダーから {count} 個のパッケージを読み取り)"),
}


def _word(value: t.Any, lang: str) -> t.Any:
    """A machine word (skip reason, clock method) in Japanese; English keeps the word itself."""
    return value_word(str(value), lang) if lang == "ja" and value is not None else value


def _state(value: t.Any, lang: str) -> t.Any:
    return service_state(value, lang) if lang == "ja" else value


def _mode(value: t.Any, lang: str) -> t.Any:
    return start_mode(value, lang) if lang == "ja" else value


_JA_COMMA = re.compile(r"(?<=[^\x00-\x7f]), ")


def _punctuate(summary: str, lang: str) -> str:
    """Japanese punctuation between the parts of a summary: 。 for "; " and 、 after Japanese text."""
    if lang != "ja" or not summary:
        return summary
    return _JA_COMMA.sub("、", re.sub(r"。?; ", "。", summary))


def _m(key: str, lang: str, **values: t.Any) -> str:
    en, ja = _MSG[key]
    return (ja if lang == "ja" else en).format(**values)


def worst(statuses: t.Iterable[str]) -> str:
    """The worst status (FAIL > WARN > UNKNOWN > PASS > N/A); PASS for none (and for N/A only)."""
    result = "PASS"
    for status in statuses:
        if _RANK[status] > _RANK[result]:
            result = status
    return result


def _ev(label: str, value: t.Any, source: str, ok: bool | None) -> dict[str, t.Any]:
    return {"label": label, "value": value, "source": source, "ok": ok}


def _code(error: dict[str, t.Any] | None) -> str:
    return str((error or {}).get("hresult") or "unknown error")


def stage_state(probe: dict[str, t.Any] | None, stage: str) -> str:
    """State of one probe stage: done, skipped, timed_out, failed, not_requested (``missing`` without a probe).

    Probes without ``stages`` (older facts) count as all timed out when the target timed out."""
    if probe is None:
        return "missing"
    stages = probe.get("stages")
    if isinstance(stages, dict) and stage in stages:
        return str(stages[stage])
    if probe.get("timed_out"):
        return "timed_out"
    value = probe.get(stage)
    if value is None or value == {}:
        return "not_requested" if stage in ("epm", "wmi", "clock") else "timed_out"
    return "skipped" if isinstance(value, dict) and value.get("skipped") else "done"


def _unfinished(ctx: "Context", stage: str) -> str:
    state = stage_state(ctx.probe, stage)
    error = (ctx.probe or {}).get("error") or {}
    if state == "failed" and error.get("message"):
        return ctx.m("probe_failed", reason=error["message"])
    return ctx.m("probe_timeout") if state == "timed_out" and (ctx.probe or {}).get("timed_out") else ctx.m(
        "stage_unfinished", stage=stage, state=state)


def _same_addresses(left: t.Iterable[str], right: t.Iterable[str]) -> bool:
    """Whether two address lists share one address (IPv6 compared in canonical form)."""
    def canon(items: t.Iterable[str]) -> set[str]:
        found = set()
        for item in items:
            try:
                found.add(str(ipaddress.ip_address(str(item).split("%", maxsplit=1)[0])))
            except ValueError:
                found.add(str(item).lower())
        return found
    return bool(canon(left) & canon(right))


def _fmt_bytes(value: int | None) -> str:
    if value is None:
        return "?"
    for unit, size in (("TiB", 1024 ** 4), ("GiB", GIB), ("MiB", 1024 ** 2)):  # binary units, labelled as such
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value} B"


class _Part:
    """The outcome of one part of a check."""

    def __init__(self, status: str, summary: str | None = None) -> None:
        self.status = status
        self.summary = summary


class Context:
    """Everything the checks of one DP look at."""

    def __init__(self, dp: str, site: dict[str, t.Any] | None, probe: dict[str, t.Any] | None,
                 facts: dict[str, t.Any] | None, lang: str, thresholds: dict[str, float]) -> None:
        self.dp = dp
        self.site = site
        self.probe = probe
        self.facts = facts
        self.lang = lang
        self.th = thresholds
        site_name = (site or {}).get("fqdn") or (site or {}).get("computer_name") or "the site server"
        self.site_name = str(site_name)
        self.account = Account.from_facts(site, facts)

    def m(self, key: str, **values: t.Any) -> str:
        return _m(key, self.lang, **values)

    @property
    def trusted(self) -> bool:
        return bool(((self.site or {}).get("probe_identity") or {}).get("trusted"))

    @property
    def probe_user(self) -> str:
        return str(((self.site or {}).get("probe_identity") or {}).get("user") or "?")


class Account:
    """The site server's computer account as seen on a DP: SIDs and names of its network token."""

    def __init__(self, name: str | None, sid: str | None, groups: list[dict[str, t.Any]],
                 fallback_short: str | None = None) -> None:
        self.name = name
        self.sid = sid
        self.group_sids = {g["sid"] for g in groups if g.get("sid")}
        self.group_names = {str(g["name"]).lower() for g in groups if g.get("name")}
        self.fallback_short = fallback_short

    @classmethod
    def from_facts(cls, site: dict[str, t.Any] | None, facts: dict[str, t.Any] | None) -> "Account":
        computer = (site or {}).get("computer_account") or {}
        if computer.get("name") or computer.get("sid"):
            return cls(computer.get("name"), computer.get("sid"), computer.get("groups") or [])
        # No site facts: the DP's registry names its site server; match DOMAIN\NAME$ by name only.
        site_server = ((facts or {}).get("role") or {}).get("site_server")
        if site_server:
            return cls(None, None, [], fallback_short=short_name(str(site_server)) + "$")
        return cls(None, None, [])

    @property
    def known(self) -> bool:
        return bool(self.name or self.sid or self.fallback_short)

    @property
    def display(self) -> str:
        if self.name:
            return self.name
        if self.fallback_short:
            return "<domain>\\" + self.fallback_short.upper()
        return "?"

    def is_me(self, sid: str | None, name: str | None) -> bool:
        if sid and self.sid and sid == self.sid:
            return True
        if name:
            lowered = name.lower()
            if self.name and lowered == self.name.lower():
                return True
            if self.fallback_short and lowered.split("\\")[-1] == self.fallback_short:
                return True
        return False

    def in_group(self, sid: str | None, name: str | None) -> bool:
        return bool((sid and sid in self.group_sids) or (name and name.lower() in self.group_names))

    def is_local_admin(self, facts: dict[str, t.Any] | None) -> bool | None:
        admins = (facts or {}).get("local_administrators")
        if admins is None or not self.known:
            return None
        return any(self.is_me(m.get("sid"), m.get("name")) or self.in_group(m.get("sid"), m.get("name"))
                   for m in admins.get("members", []))

    def token(self, facts: dict[str, t.Any] | None) -> tuple[set[str], set[str]]:
        """(SIDs, lower-case names) that stand for this account in ACEs on the DP."""
        sids = {s for s in [self.sid, *self.group_sids] if s} | {EVERYONE, AUTHENTICATED_USERS, NETWORK, USERS}
        names = {n for n in [(self.name or "").lower(), *self.group_names] if n}
        if self.is_local_admin(facts):
            sids.add(ADMINISTRATORS)
        return sids, names

    def matches_ace(self, entry: dict[str, t.Any], token: tuple[set[str], set[str]]) -> bool:
        sids, names = token
        if entry.get("sid") in sids:
            return True
        account = str(entry.get("account") or "").lower()
        return bool(account) and (account in names or self.is_me(None, account))


def _effective(entries: list[dict[str, t.Any]], match: t.Callable[[dict[str, t.Any]], bool],
               generic: bool = False) -> int:
    allowed = denied = 0
    for entry in entries:
        if not match(entry):
            continue
        mask = int(entry.get("mask") or 0)
        if generic:
            for bit, mapped in _GENERIC_FILE:
                if mask & bit:
                    mask |= mapped
        if entry.get("type") == "deny":
            denied |= mask
        else:
            allowed |= mask
    return allowed & ~denied


# ---------------------------------------------------------------------------------------------
# The nine checks
# ---------------------------------------------------------------------------------------------
def check_name_resolution(ctx: Context) -> dict[str, t.Any]:
    """名前解決可否: the site server resolves the DP name, to the DP's address, with a matching PTR."""
    ev: list[dict[str, t.Any]] = []
    if ctx.probe is None:
        return _finding("UNKNOWN", ctx.m("no_probe"), ev)
    if stage_state(ctx.probe, "dns") != "done":
        return _finding("UNKNOWN", _unfinished(ctx, "dns"), ev)
    dns = ctx.probe.get("dns")
    if dns is None:
        return _finding("UNKNOWN", ctx.m("no_probe"), ev)
    addresses = dns.get("addresses") or []
    ev.append(_ev(ctx.m("ev.dns_forward"), addresses or _code(dns.get("error")), "site", bool(dns.get("resolved"))))
    if not dns.get("resolved"):
        return _finding("FAIL", ctx.m("nr.fail", dp=ctx.dp, site=ctx.site_name, code=_code(dns.get("error"))), ev)
    os_facts = (ctx.facts or {}).get("os") or {}
    actual = list(os_facts.get("ipv4_addresses") or []) + list(os_facts.get("ipv6_addresses") or [])
    if actual:
        overlap = _same_addresses(addresses, actual)
        ev.append(_ev(ctx.m("ev.dp_addresses"), actual, "dp", overlap))
        if not overlap:
            return _finding("FAIL", ctx.m("nr.wrong_address", dp=ctx.dp, addresses=", ".join(addresses),
                                          actual=", ".join(actual)), ev)
    else:
        ev.append(_ev(ctx.m("ev.dp_addresses"), None, "dp", None))
    reverse = [r for r in dns.get("reverse") or [] if r]
    reverse_ok = bool(reverse) and any(short_name(r) == short_name(ctx.dp) for r in reverse)
    ev.append(_ev(ctx.m("ev.dns_reverse"), reverse or None, "site", reverse_ok))
    if not reverse_ok:
        return _finding("WARN", ctx.m("nr.reverse", dp=ctx.dp, addresses=", ".join(addresses),
                                      reverse=", ".join(reverse) or "-"), ev)
    if not actual:
        # Missing evidence is never PASS: without the DP's own addresses the answer may be a stale record.
        return _finding("UNKNOWN", ctx.m("nr.own_unknown", dp=ctx.dp, site=ctx.site_name,
                                         addresses=", ".join(addresses)), ev)
    return _finding("PASS", ctx.m("nr.pass", dp=ctx.dp, site=ctx.site_name, addresses=", ".join(addresses)), ev)


def _skipped_for_135(probe: dict[str, t.Any]) -> dict[str, t.Any] | None:
    """The error of TCP 135 when the probe skipped an RPC stage because 135 is closed, else None."""
    for stage in ("epm", "wmi"):
        value = probe.get(stage) or {}
        if value.get("skipped") and value.get("skip_reason") == "tcp_135_closed":
            return value.get("error") or {}
    return None


def check_ports(ctx: Context, name_status: str) -> dict[str, t.Any]:
    """通信ポートの開放状況: TCP 135, 445 and the dynamic RPC range from the site server (80/443 informative)."""
    ev: list[dict[str, t.Any]] = []
    if ctx.probe is None:
        return _finding("UNKNOWN", ctx.m("no_probe"), ev)
    if stage_state(ctx.probe, "dns") != "done":
        return _finding("UNKNOWN", _unfinished(ctx, "dns"), ev)
    if name_status == "FAIL" or not (ctx.probe.get("dns") or {}).get("resolved"):
        return _finding("UNKNOWN", ctx.m("blocked_by", check=_title("name_resolution", ctx.lang)), ev)
    tcp = dict(ctx.probe.get("tcp") or {})
    closed_135 = _skipped_for_135(ctx.probe)
    if "135" not in tcp and closed_135 is not None:
        # Not in tcp_ports, but the probe tested it before the RPC stages: evidence all the same.
        tcp["135"] = {"open": False, "error": closed_135}
    closed, unmeasured = [], []
    for port in (135, 445, 80, 443):
        entry = tcp.get(str(port))
        if entry is None:
            continue
        required = port in REQUIRED_PORTS
        is_open = entry.get("open")
        value = "open" if is_open else _code(entry.get("error"))
        ev.append(_ev(ctx.m("ev.tcp", port=port), value, "site", (None if is_open is None else bool(is_open))
                      if required else None))
        if required and is_open is False:
            closed.append(port)
        elif required and is_open is None:
            unmeasured.append(port)
    if closed:
        summary = ctx.m("ports.closed", ports=", ".join(map(str, closed)), site=ctx.site_name)
        lanman = ((ctx.facts or {}).get("services") or {}).get("LanmanServer") or {}
        if 445 in closed and lanman and lanman.get("state") not in (None, "running"):
            summary += "; " + ctx.m("ports.service", state=_state(lanman.get("state"), ctx.lang))
        return _finding("FAIL", summary, ev)
    if unmeasured:
        if stage_state(ctx.probe, "tcp") != "done":
            return _finding("UNKNOWN", _unfinished(ctx, "tcp"), ev)
        return _finding("UNKNOWN", ctx.m("ports.unmeasured", ports=", ".join(map(str, unmeasured)),
                                         site=ctx.site_name), ev)
    if any(str(p) not in tcp for p in REQUIRED_PORTS):
        return _finding("UNKNOWN", ctx.m("no_probe"), ev)
    if stage_state(ctx.probe, "epm") not in ("done", "skipped"):
        return _finding("UNKNOWN", _unfinished(ctx, "epm") if stage_state(ctx.probe, "epm") != "not_requested"
                        else ctx.m("no_probe"), ev)
    epm = ctx.probe.get("epm")
    if not epm or epm.get("skipped"):
        return _finding("UNKNOWN", ctx.m("no_probe"), ev)
    ev.append(_ev(ctx.m("ev.epm"), epm.get("endpoint_count") if epm.get("reachable") else _code(epm.get("error")),
                  "site", bool(epm.get("reachable"))))
    if not epm.get("reachable"):
        return _finding("WARN", ctx.m("ports.epm", code=_code(epm.get("error"))), ev)
    samples = [p for p in epm.get("sample_ports") or [] if p.get("open") is not None]
    if not samples:
        return _finding("UNKNOWN", ctx.m("ports.epm", code="no dynamic endpoint"), ev)
    for sample in samples:
        ev.append(_ev(ctx.m("ev.dynamic", port=sample["port"]),
                      "open" if sample.get("open") else _code(sample.get("error")), "site", bool(sample.get("open"))))
    opened = [str(p["port"]) for p in samples if p.get("open")]
    blocked = [str(p["port"]) for p in samples if not p.get("open")]
    if not opened:
        return _finding("FAIL", ctx.m("ports.dynamic", site=ctx.site_name, port=", ".join(blocked)), ev)
    if blocked:
        return _finding("WARN", ctx.m("ports.dynamic_partial", site=ctx.site_name, open=", ".join(opened),
                                      blocked=", ".join(blocked)), ev)
    http = [tcp.get(p) for p in ("80", "443") if tcp.get(p) is not None]
    if len(http) == 2 and not any(h.get("open") for h in http):
        return _finding("WARN", ctx.m("ports.http"), ev)
    return _finding("PASS", ctx.m("ports.pass", site=ctx.site_name), ev)


def _space_part(ctx: Context, where: str, free: int | None, size: int | None, source: str,
                ev: list[dict[str, t.Any]]) -> _Part:
    if free is None or not size:
        ev.append(_ev(ctx.m("ev.space", where=where), None, source, None))
        return _Part("UNKNOWN", where)
    percent = round(free * 100.0 / size, 2)
    status = "PASS"
    if percent < ctx.th["free_space_fail_percent"] or free < ctx.th["free_space_fail_gb"] * GIB:
        status = "FAIL"
    elif percent < ctx.th["free_space_warn_percent"] or free < ctx.th["free_space_warn_gb"] * GIB:
        status = "WARN"
    ev.append(_ev(ctx.m("ev.space", where=where),
                  {"free_bytes": free, "size_bytes": size, "free_percent": percent}, source, status == "PASS"))
    summary = ctx.m("fs.low", where=where, free=_fmt_bytes(free), percent=percent) if status != "PASS" else None
    return _Part(status, summary)


def check_free_space(ctx: Context) -> dict[str, t.Any]:
    """格納フォルダーの容量: OS drive/TEMP, source share, site content library and DP content library drives."""
    ev: list[dict[str, t.Any]] = []
    parts: list[_Part] = []
    site = ctx.site or {}
    temp = site.get("temp") or site.get("os_drive")
    parts.append(_space_part(ctx, ctx.m("w.site_temp", drive=(temp or {}).get("drive", "?")),
                             (temp or {}).get("free_bytes"), (temp or {}).get("size_bytes"), "site", ev))
    sources = site.get("source_shares")
    if not sources:
        ev.append(_ev(_no_sources(ctx), None, "site", None))
        parts.append(_Part("UNKNOWN", _no_sources(ctx)))
    else:
        for source in sources:
            parts.append(_space_part(ctx, ctx.m("w.source", path=source["path"]), source.get("free_bytes"),
                                     source.get("total_bytes"), "site", ev))
    library = (site.get("content_library") or {}).get("space")
    parts.append(_space_part(ctx, ctx.m("w.site_library", drive=(library or {}).get("drive", "?")),
                             (library or {}).get("free_bytes"), (library or {}).get("size_bytes"), "site", ev))
    facts = ctx.facts or {}
    disks = {d["drive"]: d for d in facts.get("disks") or []}
    drives = ((facts.get("role") or {}).get("content_library_drives")) or []
    if not drives or not disks:
        ev.append(_ev(ctx.m("ev.space", where=ctx.m("w.dp_library", drive="?")), None, "dp", None))
        parts.append(_Part("UNKNOWN", ctx.m("w.dp_library", drive="?")))
    for drive in drives:
        disk = disks.get(drive)
        if disk is not None and disk.get("no_sms_on_drive") and drive != drive_of(
                (facts.get("role") or {}).get("content_library_path")):
            continue
        parts.append(_space_part(ctx, ctx.m("w.dp_library", drive=drive), (disk or {}).get("free_bytes"),
                                 (disk or {}).get("size_bytes"), "dp", ev))
    status = worst(p.status for p in parts)
    if status in ("FAIL", "WARN"):
        summary = "; ".join(p.summary for p in parts if p.status == status and p.summary)
    elif status == "UNKNOWN":
        summary = ctx.m("fs.part_missing", parts=", ".join(p.summary for p in parts if p.status == "UNKNOWN" and p.summary))
    else:
        summary = ctx.m("fs.pass", count=len(parts))
    return _finding(status, summary, ev)


def check_smb_shares(ctx: Context) -> dict[str, t.Any]:
    """SMBの利用可否: the DP's shares exist and the site server's source share is shared."""
    ev: list[dict[str, t.Any]] = []
    parts: list[_Part] = []
    shares = (ctx.facts or {}).get("shares")
    if shares is None:
        parts.append(_Part("UNKNOWN", ctx.m("no_dp_facts")))
    else:
        ev.append(_ev(ctx.m("ev.server_service"), shares.get("server_service_running"), "dp",
                      bool(shares.get("server_service_running"))))
        present = {s["name"].upper() for s in shares.get("items", [])}
        missing = []
        for pattern in DP_SHARES:
            if "*" in pattern:
                regex = re.compile("^" + re.escape(pattern.upper()).replace("\\*", ".*") + "$")
                names = sorted(n for n in present if regex.match(n))
                ok = bool(names)
                ev.append(_ev(ctx.m("ev.share", share=pattern.replace("*", _word("<drive>", ctx.lang))), names or None, "dp", ok))
            else:
                ok = pattern.upper() in present
                ev.append(_ev(ctx.m("ev.share", share=pattern), "present" if ok else "missing", "dp", ok))
            if not ok:
                missing.append(pattern.replace("*", "<drive>"))
        if not shares.get("server_service_running"):
            parts.append(_Part("FAIL", ctx.m("smb.server")))
        elif missing:
            parts.append(_Part("FAIL", ctx.m("smb.missing", shares=", ".join(missing))))
        else:
            parts.append(_Part("PASS"))
    sources = (ctx.site or {}).get("source_shares")
    if not sources:
        ev.append(_ev(_no_sources(ctx), None, "site", None))
        parts.append(_Part("UNKNOWN", _no_sources(ctx)))
    else:
        for source in sources:
            code = _code(source.get("error"))
            if source.get("exists") or source.get("readable"):
                ev.append(_ev(ctx.m("ev.source", path=source["path"]), "shared", "site", True))
                parts.append(_Part("PASS"))
            elif code in ("0x80070043", "0x80070035", "0x80070002", "0x80070003"):
                ev.append(_ev(ctx.m("ev.source", path=source["path"]), code, "site", False))
                parts.append(_Part("FAIL", ctx.m("smb.source", path=source["path"], code=code)))
            else:
                # Access denied or a timeout says nothing about whether the folder is shared.
                ev.append(_ev(ctx.m("ev.source", path=source["path"]), code, "site", None))
                parts.append(_Part("UNKNOWN", ctx.m("smb.source", path=source["path"], code=code)))
    return _combine(parts, ev, ctx.m("smb.pass"))


def _no_sources(ctx: Context) -> str:
    """Why there are no source shares to check: not given and not read, the SMS Provider failed, or none found."""
    found = (ctx.site or {}).get("package_sources")
    if found is None:
        return ctx.m("w.not_given")
    if not found.get("available"):
        return ctx.m("w.sources_unread", code=_code(found.get("error")))
    return ctx.m("w.sources_none", count=found.get("packages_read", 0))


def _combine(parts: list[_Part], ev: list[dict[str, t.Any]], pass_summary: str) -> dict[str, t.Any]:
    status = worst(p.status for p in parts)
    if status == "PASS":
        return _finding("PASS", pass_summary, ev)
    summary = "; ".join(dict.fromkeys(p.summary for p in parts if p.status == status and p.summary))
    return _finding(status, summary, ev)


def _rpc_host_parts(ctx: Context, host: str, dcom: dict[str, t.Any] | None, services: dict[str, t.Any] | None,
                    source: str, ev: list[dict[str, t.Any]]) -> list[_Part]:
    parts: list[_Part] = []
    if dcom is None:
        ev.append(_ev(ctx.m("ev.enable_dcom", host=host), None, source, None))
        parts.append(_Part("UNKNOWN", ctx.m("no_dp_facts") if source == "dp" else ctx.m("no_site_facts")))
    else:
        value = dcom.get("enable_dcom") if dcom.get("enable_dcom") is not None else "Y (default)"
        ev.append(_ev(ctx.m("ev.enable_dcom", host=host), value, source, bool(dcom.get("enabled"))))
        if not dcom.get("enabled"):
            parts.append(_Part("FAIL", ctx.m("rpc.dcom_off", host=host, value=dcom.get("enable_dcom"))))
    for name in RPC_SERVICES:
        svc = (services or {}).get(name)
        if svc is None:
            ev.append(_ev(ctx.m("ev.service", service=name, host=host), None, source, None))
            parts.append(_Part("UNKNOWN", ctx.m("no_dp_facts") if source == "dp" else ctx.m("no_site_facts")))
            continue
        state, mode = svc.get("state"), svc.get("start_mode")
        running = svc.get("exists") and state == "running"
        auto = mode in ("auto", "delayed_auto")
        ev.append(_ev(ctx.m("ev.service", service=name, host=host), {"state": state, "start_mode": mode}, source,
                      bool(running and auto)))
        if not running:
            parts.append(_Part("FAIL", ctx.m("rpc.service", service=name, host=host, state=_state(state or "missing", ctx.lang),
                                             mode=_mode(mode or "-", ctx.lang))))
        elif not auto:
            parts.append(_Part("WARN", ctx.m("rpc.service", service=name, host=host, state=_state(state, ctx.lang),
                                             mode=_mode(mode, ctx.lang))))
    return parts


def check_rpc_dcom(ctx: Context) -> dict[str, t.Any]:
    """RPCの利用可否: DCOM enabled, DcomLaunch / RpcSs / RpcEptMapper running and automatic, on both ends."""
    ev: list[dict[str, t.Any]] = []
    facts = ctx.facts
    remote = (ctx.probe or {}).get("wmi") or {}
    if facts is None:
        # Remote WMI working says DCOM answers, not that EnableDCOM and the RPC services of the DP are as the
        # checklist needs them: without the DP's facts the check is UNKNOWN, never PASS.
        if remote.get("connected"):
            ev.append(_ev(ctx.m("ev.remote_wmi"), "connected", "site", True))
            parts = [_Part("UNKNOWN", ctx.m("rpc.remote_only"))] + _rpc_host_parts(
                ctx, ctx.m("w.site"), (ctx.site or {}).get("dcom"), (ctx.site or {}).get("services"), "site", ev)
            return _combine(parts, ev, ctx.m("rpc.remote_only"))
        if remote:
            value = _code(remote.get("error"))
            if remote.get("skipped"):
                value = ctx.m("not_attempted", reason=_word(remote.get("skip_reason"), ctx.lang))
            ev.append(_ev(ctx.m("ev.remote_wmi"), value, "site", None))
        return _finding("UNKNOWN", ctx.m("no_dp_facts"), ev)
    parts = _rpc_host_parts(ctx, ctx.m("w.dp"), facts.get("dcom"), facts.get("services"), "dp", ev)
    if ctx.site is None:
        parts.append(_Part("UNKNOWN", ctx.m("no_site_facts")))
    else:
        parts += _rpc_host_parts(ctx, ctx.m("w.site"), ctx.site.get("dcom"), ctx.site.get("services"), "site", ev)
    if remote:
        value = "connected" if remote.get("connected") else _code(remote.get("error"))
        if remote.get("skipped"):
            value = ctx.m("not_attempted", reason=_word(remote.get("skip_reason"), ctx.lang))
        ev.append(_ev(ctx.m("ev.remote_wmi"), value, "site", True if remote.get("connected") else None))
    return _combine(parts, ev, ctx.m("rpc.pass"))


def _ntfs_ok(ctx: Context, acl: dict[str, t.Any], token: tuple[set[str], set[str]]) -> bool:
    mask = _effective(acl.get("entries") or [], lambda e: ctx.account.matches_ace(e, token), generic=True)
    return (mask & FILE_READ_WRITE_MASK) == FILE_READ_WRITE_MASK


def check_access_rights(ctx: Context) -> dict[str, t.Any]:
    """アクセス権限: the site server's computer account on the source share, both content libraries and DP WMI."""
    ev: list[dict[str, t.Any]] = []
    parts: list[_Part] = []
    account = ctx.account
    who = account.display
    if not account.known:
        return _finding("UNKNOWN", ctx.m("acc.unknown_account"), ev)
    # Site system installation account (console setting the seed asks to check).
    install = (ctx.probe or {}).get("installation_account") or {}
    if install.get("use_machine_account") is True:
        ev.append(_ev(ctx.m("ev.install_account"), "computer_account", "site", True))
    elif install.get("use_machine_account") is False:
        ev.append(_ev(ctx.m("ev.install_account"), install.get("user_name"), "site", False))
        parts.append(_Part("WARN", ctx.m("acc.install_account", user=install.get("user_name") or "?")))
    else:
        # Not read (no SMS Provider, or the DP is not a site system it knows): a part not proven.
        ev.append(_ev(ctx.m("ev.install_account"), "unknown", "site", None))
        parts.append(_Part("UNKNOWN", ctx.m("acc.install_unknown") if install.get("known_to_site") is not False
                           else ctx.m("acc.not_site_system", dp=ctx.dp)))
    facts = ctx.facts
    if facts is None:
        parts.append(_Part("UNKNOWN", ctx.m("no_dp_facts")))
    else:
        token = account.token(facts)
        admin = account.is_local_admin(facts)
        # Without the DP's local Administrators a right granted to Administrators is neither proven nor refused.
        as_admin = (token[0] | {ADMINISTRATORS}, token[1]) if admin is None else token

        def refused(ok: bool, ok_as_admin: t.Callable[[], bool], summary: str) -> None:
            if not ok:
                parts.append(_Part("UNKNOWN", ctx.m("acc.admins_unknown", account=who)) if admin is None
                             and ok_as_admin() else _Part("FAIL", summary))

        ev.append(_ev(ctx.m("ev.admins", account=who), admin, "dp", admin))
        if admin is None:
            parts.append(_Part("UNKNOWN", ctx.m("no_dp_facts")))
        elif not admin:
            parts.append(_Part("FAIL", ctx.m("acc.not_admin", account=who)))
        acls = facts.get("content_library_acl")
        library = ((facts.get("role") or {}).get("content_library_path") or "").rstrip("\\").lower()
        if acls is None:
            parts.append(_Part("UNKNOWN", ctx.m("no_dp_facts")))
        else:
            checked = [a for a in acls if a.get("exists")]
            if not checked:
                ev.append(_ev(ctx.m("ev.ntfs", account=who, path=library or "SCCMContentLib"), None, "dp", None))
                parts.append(_Part("UNKNOWN", ctx.m("no_dp_facts")))
            for acl in checked:
                ok = _ntfs_ok(ctx, acl, token)
                ev.append(_ev(ctx.m("ev.ntfs", account=who, path=acl["path"]),
                              [f"{e.get('account') or e['sid']}: {e['type']} {e.get('rights')}"
                               for e in acl.get("entries") or []], "dp", ok))
                refused(ok, lambda acl=acl: _ntfs_ok(ctx, acl, as_admin),
                        ctx.m("acc.ntfs", account=who, path=acl["path"]))
        if facts.get("shares") is None:
            parts.append(_Part("UNKNOWN", ctx.m("no_dp_facts")))
        for share in (facts.get("shares") or {}).get("items", []):
            if share["name"].upper() not in ("SCCMCONTENTLIB$", "SMS_DP$"):
                continue
            if share.get("access") is None:
                ev.append(_ev(ctx.m("ev.share_acl", share=share["name"], account=who), None, "dp", None))
                parts.append(_Part("UNKNOWN", ctx.m("acc.share_unknown", share=share["name"])))
                continue
            rights = _share_rights(account, share["access"], token)
            ok = bool(rights & {"full", "change"}) and "deny" not in rights
            ev.append(_ev(ctx.m("ev.share_acl", share=share["name"], account=who),
                          sorted(rights - {"deny"}) or None, "dp", ok))
            refused(ok, lambda share=share: bool(_share_rights(account, share["access"], as_admin) & {"full", "change"})
                    and "deny" not in _share_rights(account, share["access"], as_admin),
                    ctx.m("acc.share", share=share["name"], account=who))
        security = (facts.get("wmi") or {}).get("root_security")
        if security is None:
            parts.append(_Part("UNKNOWN", ctx.m("no_dp_facts")))
        else:
            mask = _effective(security.get("entries") or [], lambda e: account.matches_ace(e, token))
            ok = (mask & WMI_REQUIRED_MASK) == WMI_REQUIRED_MASK
            ev.append(_ev(ctx.m("ev.wmi_acl", account=who), wmi_rights(mask), "dp", ok))
            refused(ok, lambda: (_effective(security.get("entries") or [], lambda e: account.matches_ace(e, as_admin))
                                 & WMI_REQUIRED_MASK) == WMI_REQUIRED_MASK, ctx.m("acc.wmi", account=who))
    parts += _site_access_parts(ctx, ev)
    return _combine(parts, ev, ctx.m("acc.pass", account=who))


def _share_rights(account: Account, access: list[dict[str, t.Any]], token: tuple[set[str], set[str]]) -> set[str]:
    """Share rights (full/change/read) allowed to the account, plus ``deny`` when a deny entry matches it."""
    rights = {str(a.get("right")).lower() for a in access
              if a.get("type", "allow") == "allow" and account.matches_ace(a, token)}
    if any(a.get("type") == "deny" and account.matches_ace(a, token) for a in access):
        rights.add("deny")
    return rights


def _site_access_parts(ctx: Context, ev: list[dict[str, t.Any]]) -> list[_Part]:
    """Rights of the computer account on the site side: source shares and the site content library."""
    parts: list[_Part] = []
    site = ctx.site
    if site is None:
        return [_Part("UNKNOWN", ctx.m("no_site_facts"))]
    who = ctx.account.display
    sources = site.get("source_shares")
    if not sources:
        ev.append(_ev(_no_sources(ctx), None, "site", None))
        parts.append(_Part("UNKNOWN", _no_sources(ctx)))
    else:
        for source in sources:
            code = _code(source.get("error"))
            label = ctx.m("ev.source_access", account=who, path=source["path"])
            if source.get("readable"):
                ok: bool | None = True if ctx.trusted else None
                ev.append(_ev(label, "readable", "site", ok))
                parts.append(_Part("PASS" if ctx.trusted else "UNKNOWN", ctx.m("wrong_identity", user=ctx.probe_user)))
            elif code in ("0x80070005", "0x8007052E", "0x80070056") and ctx.trusted:
                ev.append(_ev(label, code, "site", False))
                parts.append(_Part("FAIL", ctx.m("acc.source", account=who, path=source["path"], code=code)))
            else:
                ev.append(_ev(label, code, "site", None))
                summary = ctx.m("wrong_identity", user=ctx.probe_user) if not ctx.trusted else ctx.m(
                    "smb.source", path=source["path"], code=code)
                parts.append(_Part("UNKNOWN", summary))
    library = site.get("content_library") or {}
    if not [a for a in library.get("acl") or [] if a.get("exists")]:
        ev.append(_ev(ctx.m("ev.site_library_acl", path=library.get("path") or "SCCMContentLib"), None, "site", None))
        parts.append(_Part("UNKNOWN", ctx.m("acc.site_library_unknown")))
    for acl in library.get("acl") or []:
        if not acl.get("exists"):
            continue
        # Locally the site server's services run as SYSTEM; on the network as the computer account.
        sids = {SYSTEM, ADMINISTRATORS, EVERYONE, AUTHENTICATED_USERS, USERS} | ({ctx.account.sid} if ctx.account.sid else set())
        mask = _effective(acl.get("entries") or [], lambda e: e.get("sid") in sids, generic=True)
        ok = (mask & FILE_READ_WRITE_MASK) == FILE_READ_WRITE_MASK
        ev.append(_ev(ctx.m("ev.site_library_acl", path=acl["path"]), ok, "site", ok))
        if not ok:
            parts.append(_Part("FAIL", ctx.m("acc.site_library", account=who, path=acl["path"])))
    return parts


def check_time_sync(ctx: Context) -> dict[str, t.Any]:
    """時刻同期: clock difference between the site server and the DP, and NTP working on both."""
    ev: list[dict[str, t.Any]] = []
    clock = (ctx.probe or {}).get("clock") or {}
    seconds = clock.get("offset_seconds")
    method = clock.get("method")
    estimated = ""
    if seconds is None:
        dp_time = (ctx.facts or {}).get("time") or {}
        site_time = (ctx.site or {}).get("time") or {}
        dp_off, site_off = dp_time.get("controller_offset_seconds"), site_time.get("controller_offset_seconds")
        if dp_off is not None and site_off is not None:
            uncertainty = (dp_time.get("controller_offset_uncertainty_seconds") or 0) + (
                site_time.get("controller_offset_uncertainty_seconds") or 0)
            if uncertainty <= ctx.th["controller_skew_max_uncertainty_seconds"]:
                seconds = round(dp_off - site_off, 3)
                method = "controller"
                estimated = " " + ctx.m("time.estimated", uncertainty=round(uncertainty, 1))
    skew = _dp_knowledge.classify_skew(seconds)
    if seconds is not None:
        ev.append(_ev(ctx.m("ev.skew", method=_word(method, ctx.lang)), seconds, "site" if method != "controller" else "dp",
                      skew["status"] == "PASS"))
    else:
        ev.append(_ev(ctx.m("ev.skew", method="-"), _code(clock.get("error")) if clock else None, "site", None))
    parts = [_Part(skew["status"], skew["summary"][ctx.lang] + estimated)]
    for host, facts, source in ((ctx.m("w.dp"), ctx.facts, "dp"), (ctx.m("w.site"), ctx.site, "site")):
        svc = ((facts or {}).get("services") or {}).get("W32Time")
        time_facts = (facts or {}).get("time") or {}
        if svc is None or not time_facts:
            # The W32Time state of both ends is part of the check: not read is UNKNOWN, never PASS.
            ev.append(_ev(ctx.m("ev.w32time", host=host), None, source, None))
            parts.append(_Part("UNKNOWN", ctx.m("time.w32time_unknown", host=host)))
            continue
        src = str(time_facts.get("source") or "")
        running = bool(svc and svc.get("state") == "running")
        unsynced = src.strip().lower() in UNSYNCED_SOURCES
        ok = running and not unsynced
        w32time = {"state": (svc or {}).get("state"), "source": src or None,
                   "last_sync_utc": time_facts.get("last_sync_utc")}
        ev.append(_ev(ctx.m("ev.w32time", host=host), w32time, source, ok))
        if not ok:
            detail = f"W32Time {_state((svc or {}).get('state') or 'missing', ctx.lang)}" if not running else src
            parts.append(_Part("WARN", ctx.m("time.ntp", host=host, detail=detail)))
    status = worst(p.status for p in parts)
    summary = "; ".join(p.summary for p in parts if p.status == status and p.summary) or parts[0].summary
    return _finding(status, summary or "", ev)


def check_patch_level(ctx: Context) -> dict[str, t.Any]:
    """更新プログラム適用状況: March 2023 (or later) cumulative update on the site server and the DP."""
    ev: list[dict[str, t.Any]] = []
    results = {}
    for key, host, facts, source in (("dp", ctx.m("w.dp"), ctx.facts, "dp"), ("site", ctx.m("w.site"), ctx.site, "site")):
        os_info = (facts or {}).get("os")
        dcom = (facts or {}).get("dcom") or {}
        if os_info is None:
            results[key] = None
            ev.append(_ev(ctx.m("ev.patch", host=host), None, source, None))
            continue
        hotfixes = os_info.get("hotfixes") if os_info.get("hotfixes_collected") else None
        result = _dp_knowledge.classify_patch_level(
            os_info.get("build"), os_info.get("ubr"), hotfixes=hotfixes,
            require_integrity_value=dcom.get("require_integrity_activation_authentication_level"))
        results[key] = result
        ev.append(_ev(ctx.m("ev.patch", host=host),
                      {"product": os_info.get("product_name"), "version": os_info.get("version"),
                       "threshold": (f"{result['detail']['build']}.{result['detail']['threshold_ubr']}"
                                     if result["detail"].get("threshold_ubr") else None),
                       "reason": result["reason_code"]}, source, result["status"] == "PASS"))
        if dcom:
            ev.append(_ev(ctx.m("ev.dcom_hardening", host=host), {
                "RequireIntegrityActivationAuthenticationLevel": dcom.get("require_integrity_activation_authentication_level"),
                "RaiseActivationAuthenticationLevel": dcom.get("raise_activation_authentication_level"),
                "state": result["detail"]["dcom_hardening"]["state"]}, source, None))
    statuses = [r["status"] if r else "UNKNOWN" for r in results.values()]
    status = worst(statuses)
    texts = {k: (r["summary"][ctx.lang] if r else (ctx.m("no_dp_facts") if k == "dp" else ctx.m("no_site_facts")))
             for k, r in results.items()}
    summary = ctx.m("patch.summary", dp=texts["dp"], site=texts["site"])
    events = (((ctx.facts or {}).get("events") or {}).get("dcom_10036")) or None
    if events is not None:
        ev.append(_ev(ctx.m("ev.events_10036"), {"count": events["count"], "recent": events.get("recent", [])[:3]},
                      "dp", events["count"] == 0))
        if events["count"] and status == "PASS":
            status, summary = "WARN", ctx.m("patch.events_10036", count=events["count"])
    site_events = ((ctx.site or {}).get("events") or {})
    site_read = [site_events.get(k) for k in ("dcom_10037", "dcom_10038") if site_events.get(k) is not None]
    site_count = sum(e.get("count", 0) for e in site_read)
    if site_read:
        ev.append(_ev(ctx.m("ev.events_site"), site_count, "site", site_count == 0))
        if site_count and status == "PASS":
            status, summary = "WARN", ctx.m("patch.events_site", count=site_count)
    if status == "PASS" and (events is None or not site_read):
        # The hardening events of both ends are part of the check: not read is UNKNOWN, never PASS.
        missing = [(label, source) for label, source, read in (
            (ctx.m("ev.events_10036"), "dp", events is not None),
            (ctx.m("ev.events_site"), "site", bool(site_read))) if not read]
        ev += [_ev(label, None, source, None) for label, source in missing]
        status, summary = "UNKNOWN", ctx.m("patch.events_unknown", which=", ".join(label for label, _s in missing))
    return _finding(status, summary, ev)


def check_wmi(ctx: Context, statuses: dict[str, str]) -> dict[str, t.Any]:
    """WMIの動作確認: root\\SCCMDP locally on the DP and remotely from the site server (as SYSTEM, over DCOM)."""
    ev: list[dict[str, t.Any]] = []
    local = ((ctx.facts or {}).get("wmi") or {}).get("sccmdp")
    local_status = "UNKNOWN"
    summary_local = ctx.m("no_dp_facts")
    if local is not None:
        ok = bool(local.get("query_ok"))
        ev.append(_ev(ctx.m("ev.local_wmi"), "ok" if ok else _code(local.get("error")), "dp", ok))
        local_status = "PASS" if ok else "FAIL"
        if not ok:
            err = local.get("error") or {}
            summary_local = ctx.m("wmi.local_fail", code=_code(err), message=err.get("message") or "")
    if local_status == "FAIL":
        return _finding("FAIL", summary_local, ev)
    if ctx.probe is None:
        return _finding("UNKNOWN", ctx.m("no_probe") if local_status == "PASS" else summary_local, ev)
    state = stage_state(ctx.probe, "wmi")
    if state not in ("done", "skipped"):
        return _finding("UNKNOWN", _unfinished(ctx, "wmi") if state != "not_requested" else ctx.m("no_probe"), ev)
    remote = ctx.probe.get("wmi")
    if remote is None:
        return _finding("UNKNOWN", ctx.m("no_probe"), ev)
    identity = remote.get("identity") or ctx.probe_user
    ev.append(_ev(ctx.m("ev.probe_identity"), identity, "site", ctx.trusted))
    if remote.get("skipped"):
        # Not tested: no RPC without TCP 135, or no address. The failing check is named, never PASS.
        error = remote.get("error") or {}
        ev.append(_ev(ctx.m("ev.remote_wmi"), ctx.m("not_attempted", reason=_word(remote.get("skip_reason"), ctx.lang)) + " "
                      + _code(error), "site", None))
        for blocker in ("name_resolution", "ports"):
            if statuses.get(blocker) == "FAIL":
                return _finding("UNKNOWN", ctx.m("blocked_by", check=_title(blocker, ctx.lang)), ev)
        if remote.get("skip_reason") == "tcp_135_closed":
            return _finding("UNKNOWN", ctx.m("wmi.skipped_135", site=ctx.site_name, code=_code(error)), ev)
        return _finding("UNKNOWN", ctx.m("blocked_by", check=_title("name_resolution", ctx.lang)), ev)
    if remote.get("connected") and remote.get("class_present"):
        ev.append(_ev(ctx.m("ev.remote_wmi"), "connected", "site", True if ctx.trusted else None))
        if not ctx.trusted:
            return _finding("UNKNOWN", ctx.m("wrong_identity", user=ctx.probe_user), ev)
        if local_status != "PASS":
            return _finding("UNKNOWN", ctx.m("no_dp_facts"), ev)
        return _finding("PASS", ctx.m("wmi.pass", site=ctx.site_name, identity=identity), ev)
    error = remote.get("error") or {}
    code = _code(error)
    ev.append(_ev(ctx.m("ev.remote_wmi"), f"{code} {error.get('message') or ''}".strip(), "site", False))
    if code.upper() in WMI_PROVIDER_CODES:
        return _finding("FAIL", ctx.m("wmi.remote_fail", dp=ctx.dp, site=ctx.site_name, code=code), ev)
    if not ctx.trusted:
        return _finding("UNKNOWN", ctx.m("wrong_identity", user=ctx.probe_user), ev)
    for category in _dp_knowledge.categories_for_error_codes([code]) or []:
        if category != "wmi" and statuses.get(category) == "FAIL":
            return _finding("UNKNOWN", ctx.m("blocked_by", check=_title(category, ctx.lang)) + " ("
                            + ctx.m("wmi.remote_fail", dp=ctx.dp, site=ctx.site_name, code=code) + ")", ev)
    if statuses.get("name_resolution") == "FAIL" or statuses.get("ports") == "FAIL":
        blocker = "name_resolution" if statuses.get("name_resolution") == "FAIL" else "ports"
        return _finding("UNKNOWN", ctx.m("blocked_by", check=_title(blocker, ctx.lang)), ev)
    return _finding("FAIL", ctx.m("wmi.remote_fail", dp=ctx.dp, site=ctx.site_name, code=code), ev)


def _title(check: str, lang: str) -> str:
    return _dp_knowledge.check_text(check, lang)["title"]


def _finding(status: str, summary: str, evidence: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    return {"status": status, "summary": summary, "evidence": evidence, "log_evidence": []}


# ---------------------------------------------------------------------------------------------
# Log evidence
# ---------------------------------------------------------------------------------------------
_HOST_TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
# A host a log line talks about: a UNC server (\\host\) or a dotted name ending in a domain label
# (dp07.contoso.local), not a version (PS100012.3) or a file (filelib.cpp).
_HOST_MENTION_RE = re.compile(r"\\\\([A-Za-z0-9][A-Za-z0-9.-]*)|(?<![\w.-])((?:[A-Za-z0-9-]+\.){2,}[A-Za-z]{2,})(?![\w-])")


class NameIndex:
    """DP names by FQDN and by short name (lower case), for lookups that stay linear in fleet size."""

    def __init__(self, names: t.Iterable[str]) -> None:
        self.by_token: dict[str, list[str]] = {}
        for name in names:
            for token in (_norm(name), short_name(name)):
                if token and name not in self.by_token.setdefault(token, []):
                    self.by_token[token].append(name)

    def named_in(self, text: str) -> list[str]:
        """DPs a text names: a host-name token equal to a DP's FQDN or short name, or whose first label is one."""
        found: list[str] = []
        for match in _HOST_TOKEN_RE.finditer(text):
            token = match.group(0).rstrip(".").lower()
            for candidate in (token, token.split(".", 1)[0]) if "." in token else (token,):
                for name in self.by_token.get(candidate, ()):
                    if name not in found:
                        found.append(name)
                if candidate in self.by_token:
                    break
        return found

    def mentions_other_host(self, text: str) -> bool:
        """Whether a text names a host (UNC server or FQDN) that is not one of the indexed DPs."""
        for match in _HOST_MENTION_RE.finditer(text):
            host = (match.group(1) or match.group(2)).rstrip(".").lower()
            if host not in self.by_token and host.split(".", 1)[0] not in self.by_token:
                return True
        return False

    def lookup(self, *candidates: str) -> list[str]:
        """Names matching any candidate, by FQDN first, then by short name."""
        for candidate in candidates:
            if candidate and _norm(candidate) in self.by_token:
                return self.by_token[_norm(candidate)]
        for candidate in candidates:
            if candidate and short_name(candidate) in self.by_token:
                return self.by_token[short_name(candidate)]
        return []


def parse_log_records(records: t.Iterable[dict[str, t.Any]]) -> list[tuple[str, _cmlog.LogEntry]]:
    """Parse the host-filtered records ``{log, line_number, text}``; line numbers become file line numbers."""
    parsed: list[tuple[str, _cmlog.LogEntry]] = []
    for record in records:
        for entry in _cmlog.parse_log_text(str(record.get("text") or "")):
            entry.line_number = int(record.get("line_number") or 1) + entry.line_number - 1
            parsed.append((str(record.get("log") or "?"), entry))
    return parsed


def attribute_log_entries(entries: list[tuple[str, _cmlog.LogEntry]], dps: t.Iterable[str],
                          window_minutes: float = 15.0) -> dict[str, list[tuple[str, _cmlog.LogEntry]]]:
    """Entries per DP: those naming the DP (FQDN or short name), and lines of the same log and thread that
    follow such a line within ``window_minutes`` and name no host at all (PkgXferMgr names the DP once
    per job). A line about another host (a DP not asked for, the site server) is nobody's and ends the
    thread's current DP."""
    dp_list = list(dps)
    index = NameIndex(dp_list)
    result: dict[str, list[tuple[str, _cmlog.LogEntry]]] = {dp: [] for dp in dp_list}
    last: dict[tuple[str, int], tuple[str, _dt.datetime | None]] = {}
    for log, entry in entries:
        stream = log.lower().replace(".lo_", ".log")
        named = index.named_in(entry.message)
        when = parse_utc(entry.time_utc)
        if named:
            for dp in named:
                result[dp].append((log, entry))
            if entry.thread is not None and len(named) == 1:
                last[(stream, entry.thread)] = (named[0], when)
            continue
        if entry.thread is None or (stream, entry.thread) not in last:
            continue
        if index.mentions_other_host(entry.message):
            del last[(stream, entry.thread)]
            continue
        dp, seen = last[(stream, entry.thread)]
        if when is not None and seen is not None and abs((when - seen).total_seconds()) > window_minutes * 60:
            continue
        result[dp].append((log, entry))
    return result


def _log_item(log: str, entry: _cmlog.LogEntry, lang: str) -> dict[str, t.Any]:
    codes = []
    cause = None
    for code in entry.error_codes:
        info = _dp_knowledge.lookup_error_code(code["hresult"])
        item = {"hresult": code["hresult"], "win32": code.get("win32"), "raw": code.get("raw"),
                "name": info["name"] if info else None, "meaning": info["meaning"][lang] if info else None}
        codes.append(item)
        if cause is None and info and info.get("checks"):
            cause = info["cause"][lang]
    return {
        "log": log,
        "line_number": entry.line_number,
        "time_utc": entry.time_utc,
        "time_local": entry.time_local,
        "bias_minutes": entry.bias_minutes,
        "component": entry.component,
        "severity": entry.severity,
        "message": entry.message,
        "error_codes": codes,
        "cause": cause,
    }


def attach_log_evidence(findings: dict[str, dict[str, t.Any]], entries: list[tuple[str, _cmlog.LogEntry]],
                        lang: str, max_per_finding: int = 10) -> None:
    """Attach error/warning lines to the checklist item their codes point to (see the module docstring)."""
    pointed: dict[str, int] = {}
    for log, entry in entries:
        if entry.severity not in ("error", "warning") or not entry.error_codes:
            continue
        categories = [c for c in _dp_knowledge.categories_for_error_codes(entry.error_codes) if c in findings]
        if not categories:
            continue
        # An item that does not apply (N/A) takes a line only when no applicable item is pointed to; it stays N/A.
        categories = [c for c in categories if findings[c]["status"] != "N/A"] or categories
        target = next((c for c in categories if findings[c]["status"] == "FAIL"), None) \
            or next((c for c in categories if findings[c]["status"] == "WARN"), None) \
            or next((c for c in categories if findings[c]["status"] == "UNKNOWN"), None) \
            or categories[0]
        findings[target]["log_evidence"].append(_log_item(log, entry, lang))
        if findings[target]["status"] == "PASS":
            pointed[target] = pointed.get(target, 0) + 1
    for check, count in pointed.items():
        findings[check]["status"] = "WARN"
        findings[check]["summary"] = _m("log_points_here", lang, count=count) + "; " + findings[check]["summary"]
    for finding in findings.values():
        items = sorted(finding["log_evidence"], key=lambda i: (i["time_utc"] or "", i["line_number"]))
        finding["log_evidence"] = items[-max_per_finding:] if max_per_finding else []


# ---------------------------------------------------------------------------------------------
# The diagnosis
# ---------------------------------------------------------------------------------------------
def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _match_probe(dp: str, facts: dict[str, t.Any] | None, probes: NameIndex) -> str | None:
    """The probe entry name of a DP: by its name or FQDN, then by short name when that is unambiguous."""
    found = probes.lookup(dp, (facts or {}).get("fqdn") or "")
    return found[0] if len(found) == 1 else None


def diagnose_dp(dp: str, site: dict[str, t.Any] | None, facts: dict[str, t.Any] | None,
                log_entries: list[tuple[str, _cmlog.LogEntry]], *, lang: str = "en",
                thresholds: dict[str, float] | None = None, probe: dict[str, t.Any] | None = None
                ) -> dict[str, t.Any]:
    """All nine findings of one DP, in the seed's order."""
    th = dict(DEFAULT_THRESHOLDS, **(thresholds or {}))
    ctx = Context(dp, site, probe, facts, lang, th)
    findings: dict[str, dict[str, t.Any]] = {}
    findings["name_resolution"] = check_name_resolution(ctx)
    findings["ports"] = check_ports(ctx, findings["name_resolution"]["status"])
    findings["free_space"] = check_free_space(ctx)
    findings["smb_shares"] = check_smb_shares(ctx)
    findings["rpc_dcom"] = check_rpc_dcom(ctx)
    findings["access_rights"] = check_access_rights(ctx)
    findings["time_sync"] = check_time_sync(ctx)
    findings["patch_level"] = check_patch_level(ctx)
    findings["wmi"] = check_wmi(ctx, {k: v["status"] for k, v in findings.items()})
    _dp_pull.note_local_identity(findings["wmi"], facts, lang)
    role = _dp_pull.dp_role((probe or {}).get("site_role"), facts)
    _dp_pull.apply_pull_dp(findings, dp, role, facts, lang)
    dp_log = parse_log_records(((facts or {}).get("smsdpprov_log") or {}).get("lines") or [])
    dp_log += parse_log_records(_dp_pull.pull_log_records(facts))
    attach_log_evidence(findings, log_entries + dp_log, lang, int(th["max_log_lines_per_finding"]))
    # Content not installed on this DP, from the site's distribution state (_dp_content: which item, FAIL or WARN).
    content, stuck = _dp_content.diagnose_content(site, lang, dp, (facts or {}).get("fqdn"))
    _dp_content.attach_stuck_evidence(findings, stuck, lang)
    ordered = []
    for check in CHECK_IDS:
        finding = findings[check]
        texts = _dp_knowledge.check_text(check, lang)
        ordered.append({
            "check": check,
            "status": finding["status"],
            "title": texts["title"],
            "heading": texts["heading"],
            "explanation": texts["explanation"],
            "remediation": texts["remediation"],
            "summary": _punctuate(finding["summary"], lang),
            "evidence": finding["evidence"],
            "log_evidence": finding["log_evidence"],
        })
    return {"dp": dp, "overall": worst(f["status"] for f in ordered), "role": role, "findings": ordered, "content": content,
            "stuck_packages": stuck}


def probe_identity_block(site: dict[str, t.Any] | None, lang: str) -> dict[str, t.Any]:
    """``probe_identity`` of the diagnosis: did the site probe run as SYSTEM (the computer account)?"""
    ident = (site or {}).get("probe_identity") or {}
    trusted = bool(ident.get("trusted"))
    warning = None
    if site is None:
        warning = _m("no_site_facts", lang)
    elif not trusted:
        warning = _m("wrong_identity", lang, user=ident.get("user") or "?")
    return {"as_system": bool(ident.get("as_system")), "user": ident.get("user"), "trusted": trusted,
            "warning": warning}


@paused  # no reference cycles here; the cyclic collector cost half the CPU at 2,000 DPs (docs/performance.md)
def diagnose(site_facts: dict[str, t.Any] | None, dp_facts: dict[str, dict[str, t.Any] | None], *,
             language: str = "en", dps: t.Sequence[str] | None = None,
             thresholds: dict[str, float] | None = None, generated_at: str | None = None) -> dict[str, t.Any]:
    """The diagnosis of every DP: site facts + DP facts -> findings (see the findings schema in the docs).

    Args:
        site_facts: ``ansible_facts.sccm_site`` of the primary site server, or None.
        dp_facts: DP name -> ``ansible_facts.sccm_dp`` (None when the DP gave no facts).
        language: ``en`` or ``ja``: titles, explanations, remediations and summaries.
        dps: DPs to report, in this order; default: every DP of dp_facts, then every probed DP.
        thresholds: overrides of DEFAULT_THRESHOLDS.
        generated_at: ISO 8601 UTC time of the diagnosis; default now.

    Raises:
        ValueError: unknown language or threshold, naming the value and what is allowed.
    """
    if language not in _dp_knowledge.LANGS:
        raise ValueError(f"language={language!r} is not allowed; use one of: {', '.join(_dp_knowledge.LANGS)}")
    unknown = sorted(set(thresholds or {}) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise ValueError(f"unknown threshold(s) {', '.join(unknown)}; allowed: {', '.join(DEFAULT_THRESHOLDS)}")
    th = dict(DEFAULT_THRESHOLDS, **(thresholds or {}))
    probes = (site_facts or {}).get("dps") or {}
    probe_index = NameIndex(probes)
    names: list[str] = list(dps) if dps is not None else list(dp_facts)
    if dps is None:
        known = NameIndex(names)
        names += [target for target in probes if not known.lookup(target)]
    facts_index = NameIndex(dp_facts)
    fqdns = {_norm(str(v.get("fqdn"))): k for k, v in dp_facts.items() if v and v.get("fqdn")}
    entries = parse_log_records(((site_facts or {}).get("logs") or {}).get("lines") or [])
    per_dp = attribute_log_entries(entries, names, th["thread_window_minutes"])
    results = []
    for name in names:
        facts = dp_facts.get(name)
        if facts is None:
            key = (facts_index.by_token.get(_norm(name)) or [fqdns.get(_norm(name))])[0]
            facts = dp_facts.get(key) if key else None
        probe_name = _match_probe(name, facts, probe_index)
        results.append(diagnose_dp(name, site_facts, facts, per_dp.get(name, []), lang=language, thresholds=th,
                                   probe=probes.get(probe_name) if probe_name else None))
    counts = {"dps": len(results), "pass": 0, "warn": 0, "fail": 0, "unknown": 0, "na_cells": 0}
    for result in results:
        counts[result["overall"].lower()] += 1
        # "na_cells" counts findings (cells), the others count DPs by their overall status.
        counts["na_cells"] += sum(1 for f in result["findings"] if f["status"] == "N/A")
    counts["stuck_packages"] = sum(result["content"]["stuck"] for result in results)
    site = site_facts or {}
    return {
        "generated_at": generated_at or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "language": language,
        "site_server": site.get("fqdn") or site.get("computer_name"),
        "site_code": site.get("site_code"),
        "probe_identity": probe_identity_block(site_facts, language),
        "dps": results,
        "summary": counts,
        "thresholds": th,
    }
