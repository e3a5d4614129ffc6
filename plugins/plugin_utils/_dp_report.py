# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render DP diagnosis reports (HTML, Markdown, JUnit XML, JSON) and DP inventories (CSV, HTML,
JSON) from plain data. FOR INTERNAL COLLECTION USE ONLY."""
from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import xml.etree.ElementTree as ET

from ._dp_knowledge import CHECK_IDS, check_text, lookup_error_code
from ._files import write_text_if_changed

# Standard library only; no Ansible imports. Every renderer is a pure function of its input and
# never mutates it. Texts inside findings are already in the report language; UI_TEXT holds the
# report's own chrome.

__all__ = [
    "STATUSES",
    "STATUS_SYMBOLS",
    "UI_TEXT",
    "render_html",
    "render_inventory_csv",
    "render_inventory_html",
    "render_inventory_json",
    "render_json",
    "render_junit",
    "render_markdown",
    "write_inventory",
    "write_reports",
]

STATUSES = ("PASS", "WARN", "FAIL", "UNKNOWN")
# A symbol next to every status word, so that no status is told by colour alone.
STATUS_SYMBOLS = {"PASS": "\u2714", "WARN": "\u25b2", "FAIL": "\u2716", "UNKNOWN": "?"}
_SEVERITY_ORDER = ("FAIL", "WARN", "UNKNOWN", "PASS")

UI_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "MECM distribution point content diagnosis",
        "inventory_title": "MECM distribution point inventory",
        "site_server": "Site server",
        "site_code": "Site code",
        "generated_at": "Generated",
        "probe_identity": "Probe identity",
        "identity_system": "SYSTEM (the site server's computer account)",
        "identity_unknown": "unknown",
        "identity_banner_title": "The checks did not run as the site server's computer account.",
        "identity_banner_body": (
            "Configuration Manager connects to distribution points with the site server's computer "
            "account by default. Results for access rights, SMB shares and WMI may therefore differ "
            "from what Configuration Manager itself experiences."
        ),
        "identity_ran_as": "Ran as",
        "summary": "Summary",
        "dps": "Distribution points",
        "col_dp": "Distribution point",
        "status_PASS": "PASS",
        "status_WARN": "WARN",
        "status_FAIL": "FAIL",
        "status_UNKNOWN": "UNKNOWN",
        "legend": "Legend",
        "legend_PASS": "no problem found",
        "legend_WARN": "check recommended",
        "legend_FAIL": "likely cause of the distribution failure",
        "legend_UNKNOWN": "could not be checked",
        "hint": "Select a cell to see its evidence, log lines and remediation.",
        "filter_placeholder": "Filter by DP name",
        "only_problems": "Only DPs with findings",
        "no_match": "No distribution point matches the filter.",
        "no_dps": "No distribution points were diagnosed.",
        "checklist_item": "Checklist item",
        "evidence": "Evidence",
        "item": "Item",
        "value": "Value",
        "source": "Source",
        "result": "Result",
        "source_site": "Site server",
        "source_dp": "Distribution point",
        "source_log": "Log",
        "no_evidence": "No evidence was recorded.",
        "log_lines": "Log lines",
        "no_logs": "No related log lines.",
        "local_time": "local",
        "bias": "bias",
        "time_unknown": "time unknown",
        "severity_info": "INFO",
        "severity_warning": "WARNING",
        "severity_error": "ERROR",
        "error_codes": "Error codes",
        "cause": "Possible cause",
        "remediation": "Remediation",
        "explanation": "About this check",
        "close": "Close",
        "details": "Details of the selected cell",
        "not_reported": "The diagnosis contains no result for this check.",
        "noscript": (
            "JavaScript is disabled, so the details of each cell cannot be shown. "
            "Open the Markdown or JSON report written next to this file."
        ),
        "problem_dps": "Distribution points with findings",
        "problem_checks": "Checks with findings",
        "overall": "Overall",
        "count": "Count",
        "passed_checks": "Passed checks",
        "passed_dps": "Distribution points without findings",
        "all_passed": "No problem was found on any distribution point.",
        "none": "none",
        "inv_site_code": "Site code",
        "inv_os": "OS",
        "inv_build": "OS build",
        "inv_patched": "March 2023 update",
        "inv_drives": "Content library drives",
        "inv_shares": "DP shares",
        "inv_wmi": "WMI (on the DP and from the site server)",
        "inv_pull_dp": "Pull DP",
        "inv_pxe": "PXE",
        "inv_yes": "yes",
        "inv_no": "no",
        "inv_last_seen": "Last seen (UTC)",
        "inv_empty": "No distribution points.",
        "inv_sort_hint": "Select a column header to sort.",
        "yes_patched": "installed",
        "no_patched": "missing",
        "ok": "OK",
        "ng": "problem",
        "unknown": "unknown",
        "drive_free": "{pct}% free ({free} of {size})",
    },
    "ja": {
        "title": "配布ポイントへのコンテンツ配布 診断レポート",
        "inventory_title": "配布ポイント一覧",
        "site_server": "サイト サーバー",
        "site_code": "サイト コード",
        "generated_at": "作成日時",
        "probe_identity": "診断の実行アカウント",
        "identity_system": "SYSTEM (サイト サーバーのコンピューター アカウント)",
        "identity_unknown": "不明",
        "identity_banner_title": "診断はサイト サーバーのコンピューター アカウントで実行されていません。",
        "identity_banner_body": (
            "既定では、Configuration Manager はサイト サーバーのコンピューター アカウントで配布ポイントに"
            "接続します。そのため、アクセス権限、SMB の共有フォルダ、WMI の結果は、Configuration Manager "
            "の実際の動作と異なる場合があります。"
        ),
        "identity_ran_as": "実行アカウント",
        "summary": "概要",
        "dps": "配布ポイント",
        "col_dp": "配布ポイント",
        "status_PASS": "正常",
        "status_WARN": "警告",
        "status_FAIL": "エラー",
        "status_UNKNOWN": "不明",
        "legend": "凡例",
        "legend_PASS": "問題は見つかりませんでした",
        "legend_WARN": "確認をお勧めします",
        "legend_FAIL": "配布に失敗する原因と考えられます",
        "legend_UNKNOWN": "確認できませんでした",
        "hint": "セルを選択すると、確認結果、ログ、対処方法が表示されます。",
        "filter_placeholder": "配布ポイント名で絞り込み",
        "only_problems": "問題のある配布ポイントのみ表示",
        "no_match": "条件に一致する配布ポイントはありません。",
        "no_dps": "診断した配布ポイントはありません。",
        "checklist_item": "チェック リストの項目",
        "evidence": "確認結果",
        "item": "項目",
        "value": "値",
        "source": "取得元",
        "result": "判定",
        "source_site": "サイト サーバー",
        "source_dp": "配布ポイント",
        "source_log": "ログ",
        "no_evidence": "記録された確認結果はありません。",
        "log_lines": "ログの該当行",
        "no_logs": "関連するログはありません。",
        "local_time": "ローカル時刻",
        "bias": "バイアス",
        "time_unknown": "時刻不明",
        "severity_info": "情報",
        "severity_warning": "警告",
        "severity_error": "エラー",
        "error_codes": "エラー コード",
        "cause": "考えられる原因",
        "remediation": "対処方法",
        "explanation": "この項目について",
        "close": "閉じる",
        "details": "選択したセルの詳細",
        "not_reported": "この項目の診断結果はありません。",
        "noscript": (
            "JavaScript が無効なため、各セルの詳細を表示できません。"
            "このファイルと同じ場所に出力された Markdown または JSON のレポートをご確認ください。"
        ),
        "problem_dps": "問題のある配布ポイント",
        "problem_checks": "問題のある項目",
        "overall": "総合判定",
        "count": "件数",
        "passed_checks": "正常な項目",
        "passed_dps": "問題のない配布ポイント",
        "all_passed": "すべての配布ポイントで問題は見つかりませんでした。",
        "none": "なし",
        "inv_site_code": "サイト コード",
        "inv_os": "OS",
        "inv_build": "OS ビルド",
        "inv_patched": "2023 年 3 月の更新プログラム",
        "inv_drives": "コンテンツ ライブラリのドライブ",
        "inv_shares": "配布ポイントの共有フォルダ",
        "inv_wmi": "WMI (配布ポイント上とサイト サーバーから)",
        "inv_pull_dp": "プル配布ポイント",
        "inv_pxe": "PXE 対応",
        "inv_yes": "はい",
        "inv_no": "いいえ",
        "inv_last_seen": "最終確認日時 (UTC)",
        "inv_empty": "配布ポイントはありません。",
        "inv_sort_hint": "列見出しを選択すると並べ替えできます。",
        "yes_patched": "適用済み",
        "no_patched": "未適用",
        "ok": "正常",
        "ng": "問題あり",
        "unknown": "不明",
        "drive_free": "空き {pct}% ({size} 中 {free})",
    },
}


# ============================================================================================
# Shared helpers
# ============================================================================================


def _lang(value: object) -> str:
    """Report language: ``ja`` for ``ja``/``ja-JP``/``ja_JP``, otherwise ``en``."""
    return "ja" if isinstance(value, str) and value.lower().replace("_", "-").split("-")[0] == "ja" else "en"


def _status(value: object) -> str:
    """Normalise a status; anything unexpected is shown as UNKNOWN rather than dropped."""
    text = str(value).upper() if value is not None else ""
    return text if text in STATUSES else "UNKNOWN"


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _columns(lang: str) -> list[tuple[str, str, str]]:
    """(check id, title, seed heading) for the nine grid columns, from _dp_knowledge."""
    result = []
    for check in CHECK_IDS:
        texts = check_text(check, lang)
        result.append((check, texts["title"], texts["heading"] or ""))
    return result


def _findings(dp: dict, lang: str) -> list[dict]:
    """The DP's findings in CHECK_IDS order, one per check.

    The engine promises nine findings in order; a missing one (or one with an unknown ``check``)
    is replaced by an UNKNOWN placeholder so one bad record cannot hide the rest of the report.
    """
    by_check: dict[str, dict] = {}
    for finding in dp.get("findings") or []:
        if isinstance(finding, dict) and finding.get("check") in CHECK_IDS and finding["check"] not in by_check:
            by_check[finding["check"]] = finding
    result = []
    for check in CHECK_IDS:
        finding = by_check.get(check)
        if finding is None:
            texts = check_text(check, lang)
            finding = {
                "check": check,
                "status": "UNKNOWN",
                "title": texts["title"],
                "heading": texts["heading"],
                "explanation": texts["explanation"],
                "remediation": texts["remediation"],
                "summary": UI_TEXT[lang]["not_reported"],
                "evidence": [],
                "log_evidence": [],
            }
        result.append(finding)
    return result


def _overall(dp: dict, findings: list[dict]) -> str:
    if dp.get("overall") is not None:
        return _status(dp.get("overall"))
    statuses = {_status(f.get("status")) for f in findings}
    for status in _SEVERITY_ORDER:
        if status in statuses:
            return status
    return "UNKNOWN"


def _summary_counts(diagnosis: dict, dps: list[tuple[str, str, list[dict]]]) -> dict[str, int]:
    """The engine's summary, filled in from the DPs where a count is missing."""
    given = diagnosis.get("summary") or {}
    computed = {"dps": len(dps), "pass": 0, "warn": 0, "fail": 0, "unknown": 0}
    for _name, overall, _findings_ in dps:
        computed[overall.lower()] += 1
    result = {}
    for key, value in computed.items():
        given_value = given.get(key)
        result[key] = given_value if isinstance(given_value, int) and not isinstance(given_value, bool) else value
    return result


def _fmt_time(value: object) -> str:
    """``2023-08-13T01:15:30.123Z`` -> ``2023-08-13 01:15:30.123`` (no parsing, never fails)."""
    text = _text(value)
    return text.replace("T", " ", 1).rstrip("Z")


def _fmt_generated(value: object) -> str:
    text = _text(value)
    return _fmt_time(text) + " UTC" if text.endswith("Z") else text


def _utc_offset(bias: int) -> str:
    """Windows bias (UTC = local + bias) -> ``UTC+09:00`` (bias -540)."""
    offset = -bias
    sign = "+" if offset >= 0 else "-"
    return "UTC%s%02d:%02d" % (sign, abs(offset) // 60, abs(offset) % 60)


def _log_times(entry: dict, ui: dict) -> tuple[str, str]:
    """(UTC text, local text) of a log line; the local text carries the original bias."""
    utc = _fmt_time(entry.get("time_utc")) + " UTC" if entry.get("time_utc") else ""
    local = ""
    if entry.get("time_local"):
        local = "%s %s" % (ui["local_time"], _fmt_time(entry.get("time_local")))
        bias = entry.get("bias_minutes")
        if isinstance(bias, int) and not isinstance(bias, bool):
            local += " (%s, %s %+d)" % (_utc_offset(bias), ui["bias"], bias)
    if not utc and not local:
        utc = ui["time_unknown"]
    return utc, local


def _message_segments(message: str, error_codes: list) -> list[str]:
    """Split a log message so that odd indexes are the error-code texts to highlight."""
    raws = sorted(
        {c.get("raw") for c in error_codes or [] if isinstance(c, dict) and c.get("raw")},
        key=len,
        reverse=True,
    )
    raws = [raw for raw in raws if raw in message]
    if not raws:
        return [message]
    return re.split("(%s)" % "|".join(re.escape(raw) for raw in raws), message)


def _fmt_value(value: object) -> tuple[str, bool]:
    """Evidence value as display text, and whether it needs a block (pretty JSON)."""
    if value is None:
        return "\u2014", False
    if isinstance(value, bool):
        return ("true" if value else "false"), False
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value), False
    if isinstance(value, str):
        return value, "\n" in value
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return ", ".join(_fmt_value(v)[0] for v in value), False
    if isinstance(value, dict) and value and all(not isinstance(v, (dict, list)) for v in value.values()):
        return ", ".join("%s: %s" % (key, _fmt_value(v)[0]) for key, v in value.items()), False
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str), True


def _ok_symbol(ok: object) -> str:
    return "\u2714" if ok is True else "\u2716" if ok is False else "\u2013"


def _code_info(hresult: str, lang: str) -> tuple[str, str]:
    """(symbolic name, meaning) of an HRESULT from _dp_knowledge, or empty strings."""
    entry = lookup_error_code(hresult) if isinstance(hresult, str) and hresult else None
    if not entry:
        return "", ""
    return entry.get("name") or "", entry["meaning"][lang]


def _identity_text(identity: dict, ui: dict) -> str:
    if identity.get("as_system"):
        return ui["identity_system"]
    return _text(identity.get("user")) or ui["identity_unknown"]


def _untrusted(identity: dict) -> bool:
    return isinstance(identity, dict) and identity.get("trusted") is False


def _status_word(status: str, ui: dict) -> str:
    return "%s %s" % (STATUS_SYMBOLS[status], ui["status_" + status])


def _status_label(status: str, ui: dict) -> str:
    """``✖ FAIL`` in English, ``✖ エラー (FAIL)`` in Japanese (keeps the machine word visible)."""
    word = ui["status_" + status]
    return "%s %s" % (STATUS_SYMBOLS[status], word if word == status else "%s (%s)" % (word, status))


# ============================================================================================
# HTML dashboard
# ============================================================================================

# Design: the grid (2,000 DPs x 9 cells) is static HTML so that it shows at once and survives
# without JavaScript. The details of each cell (evidence, log lines, remediation) are NOT static:
# they live once in an embedded JSON blob (<script type="application/json">) and a small script
# builds the panel of the selected cell with DOM calls (textContent only, never innerHTML). Static
# <details> for every cell would repeat each check's explanation and remediation 2,000 times; the
# blob interns repeated strings instead (see tests/benchmarks/render_report_scale.py for sizes).

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 "Segoe UI","Yu Gothic UI","Meiryo",system-ui,"Noto Sans CJK JP",sans-serif;color:#202124;background:#f6f7f9}
:lang(ja) body,body:lang(ja){font-family:"Yu Gothic UI","Meiryo","Segoe UI",system-ui,"Noto Sans CJK JP",sans-serif}
header,main{padding:0 20px}
header{background:#fff;border-bottom:1px solid #dadce0;padding-top:12px;padding-bottom:10px}
h1{font-size:20px;margin:0 0 4px}
.meta{margin:0;color:#5f6368;font-size:13px}
.meta span{margin-right:18px;white-space:nowrap}
.meta b{color:#202124;font-weight:600}
.banner{margin:12px 0 0;padding:10px 14px;background:#fff4e5;border:1px solid #f29900;border-left:6px solid #e37400;border-radius:4px}
.banner strong{display:block}
.banner p{margin:4px 0 0}
.sumbar{display:flex;flex-wrap:wrap;align-items:center;gap:8px;margin:14px 0 6px}
.chip{display:inline-block;padding:3px 10px;border-radius:14px;font-weight:600;font-size:13px}
.chip b{font-size:15px;margin-left:4px}
.chip.total{background:#fff;border:1px solid #dadce0}
.bar{display:flex;height:8px;border-radius:4px;overflow:hidden;background:#eee;margin:0 0 10px}
.bar span{display:block;height:100%}
.legend{font-size:12px;color:#3c4043;margin:0 0 8px}
.legend span.k{display:inline-block;padding:0 6px;border-radius:3px;margin:0 4px 0 12px;font-weight:600}
.legend span.k:first-child{margin-left:0}
.tools{display:flex;flex-wrap:wrap;gap:14px;align-items:center;margin:8px 0;font-size:13px}
.tools input[type=search]{padding:4px 8px;border:1px solid #bdc1c6;border-radius:4px;min-width:260px;font:inherit}
.hint{color:#5f6368}
.wrap{overflow:auto;max-height:calc(100vh - 40px);background:#fff;border:1px solid #dadce0;border-radius:4px}
table.grid{border-collapse:separate;border-spacing:2px;font-size:12px;min-width:100%}
.grid thead th{position:sticky;top:0;z-index:2;background:#fff;vertical-align:bottom;text-align:left}
.grid thead th{padding:6px 3px;min-width:88px;max-width:132px;font-weight:600;border-bottom:2px solid #dadce0}
.grid thead th.dpcol{left:0;z-index:3;min-width:170px}
.grid th .n{color:#80868b;margin-right:3px}
.grid th .hd{display:block;font-weight:400;color:#5f6368;font-size:11px;margin-top:2px}
.grid th .cnt{display:block;font-weight:600;font-size:11px;margin-top:3px;white-space:nowrap}
.grid tbody th{position:sticky;left:0;z-index:1;background:#fff;text-align:left;font-weight:500;padding:2px 8px 2px 4px;white-space:nowrap}
.grid tbody th .ov{display:inline-block;width:18px;text-align:center;border-radius:3px;margin-right:6px}
.grid td{padding:0;text-align:center}
.grid td button{all:unset;box-sizing:border-box;display:block;width:100%;padding:3px 2px;cursor:pointer;white-space:nowrap;border-radius:2px}
.grid td button:hover{filter:brightness(.93)}
.grid td button:focus-visible{outline:2px solid #1a73e8;outline-offset:1px}
.grid td.sel{outline:3px solid #1a73e8;outline-offset:0}
table.grid.only tr.r-PASS{display:none}
.s-PASS{background:#e6f4ea;color:#0d652d}
.s-WARN{background:#fbd25e;color:#4a2c00}
.s-FAIL{background:#c5221f;color:#fff}
.s-UNKNOWN{background:#d5d8dc;color:#303336}
.k-PASS{color:#0d652d}.k-WARN{color:#8a5a00}.k-FAIL{color:#b3261e}.k-UNKNOWN{color:#5f6368}
.empty{color:#5f6368;font-style:italic;padding:8px}
#panel{position:fixed;top:0;right:0;bottom:0;width:min(780px,58vw);overflow:auto;z-index:10;padding:14px 20px 30px}
#panel{background:#fff;border-left:1px solid #dadce0;box-shadow:-6px 0 18px rgba(0,0,0,.18)}
#panel:focus{outline:none}
#panel .x{position:sticky;top:0;float:right;font:inherit;font-size:13px;padding:4px 12px}
#panel .x{border:1px solid #bdc1c6;border-radius:4px;background:#fff;cursor:pointer}
#panel .pdp{color:#5f6368;font-size:13px}
#panel h2{font-size:18px;margin:2px 0 4px}
#panel .phd{color:#5f6368;font-size:12px;margin:0 0 8px}
#panel .badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:700;font-size:13px}
#panel .psum{font-size:15px;margin:8px 0 4px}
#panel h3{font-size:14px;margin:16px 0 6px;padding-bottom:2px;border-bottom:1px solid #e8eaed}
table.ev{border-collapse:collapse;width:100%;font-size:13px}
table.ev th,table.ev td{border:1px solid #e0e3e7;padding:4px 6px;text-align:left;vertical-align:top}
table.ev th{background:#f1f3f4;font-weight:600}
table.ev td.ok{text-align:center;font-weight:700;width:3.5em}
table.ev td.src{white-space:nowrap;color:#5f6368}
table.ev pre{margin:0;font-size:12px}
.ok-t{color:#0d652d}.ok-f{color:#b3261e}.ok-n{color:#80868b}
.log{border-left:4px solid #9aa0a6;background:#f8f9fa;margin:8px 0;padding:6px 10px;border-radius:0 4px 4px 0}
.log.sev-error{border-left-color:#c5221f}.log.sev-warning{border-left-color:#f29900}
.log .lm{font:12px/1.5 Consolas,"BIZ UDGothic","MS Gothic","Noto Sans Mono CJK JP",monospace;color:#3c4043}
.log .lm span{margin-right:12px;display:inline-block;white-space:nowrap}
.log .lm .utc{font-weight:700;color:#202124}
.log .lm .sv{font-weight:700}
pre,code,.mono{font-family:Consolas,"BIZ UDGothic","MS Gothic","Noto Sans Mono CJK JP",monospace}
.log pre.msg{white-space:pre-wrap;word-break:break-all;margin:4px 0;font-size:12.5px;background:#fff;border:1px solid #e8eaed;padding:4px 6px}
mark.ec{background:#ffd54f;color:#6a1b00;font-weight:700;padding:0 2px;border-radius:2px}
.log ul{margin:4px 0 0;padding-left:18px;font-size:12.5px}
.log .cause{margin:4px 0 0;font-size:12.5px}
.rem{background:#e8f0fe;border-left:4px solid #1a73e8;padding:8px 12px;border-radius:0 4px 4px 0}
.rem p,#panel details p{margin:0}
code{background:#f1f3f4;padding:0 3px;border-radius:3px;font-size:.95em;word-break:break-all}
details summary{cursor:pointer;color:#1a73e8;margin:12px 0 4px}
footer{color:#80868b;font-size:12px;padding:10px 20px 20px}
@media print{.tools,#panel{display:none}.wrap{max-height:none;overflow:visible}}
"""

# Blob layout (positional arrays keep 18,000 findings small):
#   s: interned strings; every *_i below is an index into s (or null)
#   checks: the nine check ids
#   dps: [name, overall, [finding x 9]]
#   finding: [status, summary_i, title_i, heading_i, explanation_i, remediation_i, evidence, logs]
#   evidence item: [label_i, value_i, source, ok, is_block]
#   log line: [log, line_number, utc_text, local_text, component, severity, segments, hresults, cause_i]
#             segments: message pieces; odd indexes are error-code texts to highlight
#   codes: {hresult: [symbolic name, meaning]}
#   ui: the UI_TEXT strings the script needs
_JS = r"""
(function () {
  "use strict";
  var D = null, current = null, lastFocus = null;
  var grid = document.getElementById("grid");
  var panel = document.getElementById("panel");
  var pbody = document.getElementById("pbody");
  function data() {
    if (!D) { D = JSON.parse(document.getElementById("dp-data").textContent); }
    return D;
  }
  function s(i) { return i === null || i === undefined ? "" : D.s[i]; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function rich(parent, text) {
    var parts = String(text).split("`");
    if (parts.length % 2 === 0) { parent.appendChild(document.createTextNode(text)); return parent; }
    for (var i = 0; i < parts.length; i++) {
      if (!parts[i]) { continue; }
      parent.appendChild(i % 2 ? el("code", null, parts[i]) : document.createTextNode(parts[i]));
    }
    return parent;
  }
  function cellOf(i, c) {
    var row = grid.tBodies[0].rows[i];
    return row ? row.cells[c + 1] : null;
  }
  function evidence(list, U) {
    if (!list.length) { return el("p", "empty", U.no_evidence); }
    var t = el("table", "ev"), hr = t.createTHead().insertRow();
    [U.item, U.value, U.source, U.result].forEach(function (h) { hr.appendChild(el("th", null, h)); });
    var tb = t.createTBody();
    list.forEach(function (e) {
      var r = tb.insertRow();
      r.appendChild(el("td", null, s(e[0])));
      var v = el("td");
      v.appendChild(e[4] ? el("pre", null, s(e[1])) : document.createTextNode(s(e[1])));
      r.appendChild(v);
      r.appendChild(el("td", "src", U.src[e[2]] || e[2] || ""));
      var ok = e[3] === true ? ["\u2714", "ok-t"] : e[3] === false ? ["\u2716", "ok-f"] : ["\u2013", "ok-n"];
      r.appendChild(el("td", "ok " + ok[1], ok[0]));
    });
    return t;
  }
  function logs(list, U) {
    var box = el("div");
    if (!list.length) { box.appendChild(el("p", "empty", U.no_logs)); return box; }
    list.forEach(function (l) {
      var d = el("div", "log sev-" + l[5]);
      var m = el("div", "lm");
      m.appendChild(el("span", "src", l[0] + (l[1] !== null ? ":" + l[1] : "")));
      if (l[2]) { m.appendChild(el("span", "utc", l[2])); }
      if (l[3]) { m.appendChild(el("span", "loc", l[3])); }
      if (l[4]) { m.appendChild(el("span", "cmp", l[4])); }
      m.appendChild(el("span", "sv", U.sev[l[5]] || l[5]));
      d.appendChild(m);
      var pre = el("pre", "msg");
      l[6].forEach(function (seg, k) {
        if (!seg) { return; }
        pre.appendChild(k % 2 ? el("mark", "ec", seg) : document.createTextNode(seg));
      });
      d.appendChild(pre);
      if (l[7].length) {
        var ul = el("ul");
        l[7].forEach(function (h) {
          var info = D.codes[h[0]] || ["", ""], li = el("li");
          li.appendChild(el("code", null, h[0]));
          var txt = (h[1] !== null ? " (Win32 " + h[1] + ")" : "") + (info[0] ? " " + info[0] : "") + (info[1] ? " \u2014 " + info[1] : "");
          li.appendChild(document.createTextNode(txt));
          ul.appendChild(li);
        });
        d.appendChild(ul);
      }
      if (l[8] !== null) {
        var c = el("p", "cause");
        c.appendChild(el("b", null, U.cause + ": "));
        c.appendChild(document.createTextNode(s(l[8])));
        d.appendChild(c);
      }
      box.appendChild(d);
    });
    return box;
  }
  function open(i, c, fromUser) {
    var d = data(), row = d.dps[i];
    if (!row || !row[2][c]) { return; }
    var f = row[2][c], U = d.ui;
    if (current) { var old = cellOf(current[0], current[1]); if (old) { old.classList.remove("sel"); } }
    current = [i, c];
    var cell = cellOf(i, c);
    if (cell) {
      cell.classList.add("sel");
      if (!fromUser) {  /* scroll only the grid box, never the page */
        var wrap = grid.parentNode, cr = cell.getBoundingClientRect(), wr = wrap.getBoundingClientRect();
        wrap.scrollTop += cr.top - wr.top - wrap.clientHeight / 2;
      }
    }
    pbody.textContent = "";
    pbody.appendChild(el("div", "pdp", row[0]));
    pbody.appendChild(el("h2", null, (c + 1) + ". " + s(f[2])));
    if (f[3] !== null && s(f[3]) !== s(f[2])) { pbody.appendChild(el("p", "phd", U.checklist_item + ": " + s(f[3]))); }
    pbody.appendChild(el("span", "badge s-" + f[0], U.sym[f[0]] + " " + U.st[f[0]]));
    pbody.appendChild(rich(el("p", "psum"), s(f[1])));
    pbody.appendChild(el("h3", null, U.evidence));
    pbody.appendChild(evidence(f[6], U));
    pbody.appendChild(el("h3", null, U.log_lines));
    pbody.appendChild(logs(f[7], U));
    var rem = rich(el("p"), s(f[5])), box = el("div", "rem");
    box.appendChild(rem);
    if (f[0] === "PASS") {
      var dr = el("details");
      dr.appendChild(el("summary", null, U.remediation));
      dr.appendChild(box);
      pbody.appendChild(dr);
    } else {
      pbody.appendChild(el("h3", null, U.remediation));
      pbody.appendChild(box);
    }
    var det = el("details");
    det.appendChild(el("summary", null, U.explanation));
    det.appendChild(rich(el("p"), s(f[4])));
    pbody.appendChild(det);
    panel.hidden = false;
    panel.scrollTop = 0;
    var h = "#dp=" + encodeURIComponent(row[0]) + "&check=" + encodeURIComponent(d.checks[c]);
    if (location.hash !== h) { location.hash = h; }
    if (fromUser) { lastFocus = document.activeElement; panel.focus(); }
  }
  function close() {
    if (current) { var old = cellOf(current[0], current[1]); if (old) { old.classList.remove("sel"); } }
    current = null;
    panel.hidden = true;
    if (location.hash) {
      try { history.replaceState(null, "", location.pathname + location.search); } catch (e) { location.hash = ""; }
    }
    if (lastFocus && lastFocus.focus) { lastFocus.focus(); }
  }
  function fromHash() {
    var q = {}, h = location.hash.replace(/^#/, "");
    if (!h) { return; }
    h.split("&").forEach(function (kv) {
      var p = kv.split("=");
      try { q[decodeURIComponent(p[0])] = decodeURIComponent(p.slice(1).join("=")); } catch (e) { }
    });
    if (!q.dp) { return; }
    var d = data(), i = -1, c;
    for (var k = 0; k < d.dps.length; k++) { if (d.dps[k][0] === q.dp) { i = k; break; } }
    if (i < 0) { return; }
    c = q.check ? d.checks.indexOf(q.check) : -1;
    if (c < 0) {
      ["FAIL", "WARN", "UNKNOWN"].some(function (st) {
        c = d.dps[i][2].map(function (f) { return f[0]; }).indexOf(st);
        return c >= 0;
      });
      if (c < 0) { c = 0; }
    }
    if (current && current[0] === i && current[1] === c) { return; }
    open(i, c, false);
  }
  if (grid && grid.tBodies.length) {
    grid.tBodies[0].addEventListener("click", function (ev) {
      var td = ev.target.closest ? ev.target.closest("td") : null;
      if (!td || !td.parentNode || td.cellIndex < 1) { return; }
      open(td.parentNode.sectionRowIndex, td.cellIndex - 1, true);
    });
  }
  document.getElementById("pclose").addEventListener("click", close);
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape" && !panel.hidden) { close(); } });
  window.addEventListener("hashchange", fromHash);
  var q = document.getElementById("q"), only = document.getElementById("only"), nomatch = document.getElementById("nomatch");
  function filter() {
    if (!grid) { return; }
    var text = q.value.trim().toLowerCase(), rows = grid.tBodies[0].rows, shown = 0;
    grid.classList.toggle("only", only.checked);
    for (var k = 0; k < rows.length; k++) {
      var r = rows[k];
      var hit = !text || r.cells[0].textContent.toLowerCase().indexOf(text) >= 0;
      r.hidden = !hit;
      if (hit && !(only.checked && r.classList.contains("r-PASS"))) { shown++; }
    }
    nomatch.hidden = shown > 0 || !rows.length;
  }
  if (q) { q.addEventListener("input", filter); only.addEventListener("change", filter); }
  fromHash();
})();
"""


class _Interner:
    """String table for the HTML blob: each distinct string is stored once."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, value: object) -> int | None:
        if value is None:
            return None
        text = value if isinstance(value, str) else str(value)
        index = self._index.get(text)
        if index is None:
            index = self._index[text] = len(self.strings)
            self.strings.append(text)
        return index


def _script_json(value: object) -> str:
    """JSON that is safe inside <script type="application/json">: no '<', '>' or '&' at all, so
    neither ``</script>`` nor ``<!--`` nor ``<![LOG[`` can appear in the element's text."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _blob(diagnosis: dict, lang: str, dps: list[tuple[str, str, list[dict]]]) -> dict:
    ui = UI_TEXT[lang]
    intern = _Interner()
    codes: dict[str, list[str]] = {}
    rows = []
    for name, overall, findings in dps:
        cells = []
        for finding in findings:
            evidence = []
            for item in finding.get("evidence") or []:
                if not isinstance(item, dict):
                    continue
                shown, block = _fmt_value(item.get("value"))
                ok = item.get("ok")
                evidence.append([intern(_text(item.get("label"))), intern(shown), _text(item.get("source")),
                                 ok if isinstance(ok, bool) else None, 1 if block else 0])
            log_lines = []
            for entry in finding.get("log_evidence") or []:
                if not isinstance(entry, dict):
                    continue
                utc, local = _log_times(entry, ui)
                hresults = []
                for code in entry.get("error_codes") or []:
                    if not isinstance(code, dict) or not code.get("hresult"):
                        continue
                    hresult = _text(code["hresult"])
                    if hresult not in codes:
                        codes[hresult] = list(_code_info(hresult, lang))
                    win32 = code.get("win32")
                    hresults.append([hresult, win32 if isinstance(win32, int) and not isinstance(win32, bool) else None])
                line = entry.get("line_number")
                severity = _text(entry.get("severity")) or "info"
                log_lines.append([
                    _text(entry.get("log")),
                    line if isinstance(line, int) and not isinstance(line, bool) else None,
                    utc,
                    local,
                    _text(entry.get("component")),
                    severity if severity in ("info", "warning", "error") else "info",
                    _message_segments(_text(entry.get("message")), entry.get("error_codes") or []),
                    hresults,
                    intern(entry.get("cause")) if entry.get("cause") else None,
                ])
            heading = finding.get("heading")
            cells.append([
                _status(finding.get("status")),
                intern(_text(finding.get("summary"))),
                intern(_text(finding.get("title")) or check_text(finding["check"], lang)["title"]),
                intern(heading) if heading else None,
                intern(_text(finding.get("explanation"))),
                intern(_text(finding.get("remediation"))),
                evidence,
                log_lines,
            ])
        rows.append([name, overall, cells])
    js_ui = {
        key: ui[key]
        for key in ("no_evidence", "item", "value", "source", "result", "no_logs", "cause", "remediation",
                    "explanation", "evidence", "log_lines", "checklist_item")
    }
    js_ui["st"] = {status: ui["status_" + status] for status in STATUSES}
    js_ui["sym"] = dict(STATUS_SYMBOLS)
    js_ui["src"] = {"site": ui["source_site"], "dp": ui["source_dp"], "log": ui["source_log"]}
    js_ui["sev"] = {"info": ui["severity_info"], "warning": ui["severity_warning"], "error": ui["severity_error"]}
    return {"v": 1, "s": intern.strings, "checks": list(CHECK_IDS), "dps": rows, "codes": codes, "ui": js_ui}


def _prepared_dps(diagnosis: dict, lang: str) -> list[tuple[str, str, list[dict]]]:
    result = []
    for dp in diagnosis.get("dps") or []:
        if not isinstance(dp, dict):
            continue
        findings = _findings(dp, lang)
        result.append((_text(dp.get("dp")), _overall(dp, findings), findings))
    return result


def render_html(diagnosis: dict) -> str:
    """Self-contained HTML dashboard: DPs (rows) x nine checks (columns).

    Works offline from a file: inline CSS, a small inline script, no external resources. Every
    text from the diagnosis is escaped (static parts with html.escape, the details blob with
    _script_json and rendered with textContent).

    Args:
        diagnosis: The diagnosis document (see module docs of the diagnosis engine).

    Returns:
        The HTML document as a string.
    """
    lang = _lang(diagnosis.get("language"))
    ui = UI_TEXT[lang]
    esc = html.escape
    dps = _prepared_dps(diagnosis, lang)
    counts = _summary_counts(diagnosis, dps)
    identity = diagnosis.get("probe_identity") or {}

    out: list[str] = []
    add = out.append
    add('<!DOCTYPE html>\n<html lang="%s">\n<head>\n<meta charset="utf-8">\n' % lang)
    add('<meta name="viewport" content="width=device-width, initial-scale=1">\n')
    add('<meta name="generator" content="mecm.fieldkit">\n')
    title = "%s \u2014 %s" % (ui["title"], _text(diagnosis.get("site_code")) or _text(diagnosis.get("site_server")))
    add("<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n" % (esc(title), _CSS))

    # Header: title, site, time, identity.
    add("<header>\n<h1>%s</h1>\n<p class=\"meta\">" % esc(ui["title"]))
    add('<span>%s: <b>%s</b></span>' % (esc(ui["site_server"]), esc(_text(diagnosis.get("site_server")) or "\u2014")))
    add('<span>%s: <b>%s</b></span>' % (esc(ui["site_code"]), esc(_text(diagnosis.get("site_code")) or "\u2014")))
    add('<span>%s: <b><time datetime="%s">%s</time></b></span>' % (
        esc(ui["generated_at"]), esc(_text(diagnosis.get("generated_at"))), esc(_fmt_generated(diagnosis.get("generated_at")))))
    add('<span>%s: <b>%s</b></span>' % (esc(ui["probe_identity"]), esc(_identity_text(identity, ui))))
    add("</p>\n")
    if _untrusted(identity):
        add('<div class="banner" id="identity-warning" role="alert"><strong>\u26a0 %s</strong><p>%s</p>' % (
            esc(ui["identity_banner_title"]), esc(ui["identity_banner_body"])))
        add("<p>%s: <b>%s</b></p>" % (esc(ui["identity_ran_as"]), esc(_identity_text(identity, ui))))
        if identity.get("warning"):
            add("<p>%s</p>" % esc(_text(identity.get("warning"))))
        add("</div>\n")
    add("</header>\n<main>\n")

    # Summary bar.
    add('<section class="sumbar" id="summary" aria-label="%s">' % esc(ui["summary"]))
    add('<span class="chip total">%s <b>%d</b></span>' % (esc(ui["dps"]), counts["dps"]))
    for status in _SEVERITY_ORDER:
        add('<span class="chip s-%s" data-status="%s">%s <b>%d</b></span>' % (
            status, status, esc(_status_word(status, ui)), counts[status.lower()]))
    add("</section>\n")
    total = sum(counts[s.lower()] for s in STATUSES) or 1
    add('<div class="bar" aria-hidden="true">')
    for status in _SEVERITY_ORDER:
        if counts[status.lower()]:
            add('<span class="s-%s" style="width:%.3f%%"></span>' % (status, 100.0 * counts[status.lower()] / total))
    add("</div>\n")
    add('<p class="legend">')
    for status in STATUSES:
        add('<span class="k s-%s">%s</span>%s' % (status, esc(_status_label(status, ui)), esc(ui["legend_" + status])))
    add("</p>\n")

    if not dps:
        add('<p class="empty" id="empty">%s</p>\n' % esc(ui["no_dps"]))
    else:
        add('<div class="tools"><input type="search" id="q" placeholder="%s" aria-label="%s">' % (
            esc(ui["filter_placeholder"]), esc(ui["filter_placeholder"])))
        add('<label><input type="checkbox" id="only"> %s</label><span class="hint">%s</span></div>\n' % (
            esc(ui["only_problems"]), esc(ui["hint"])))
        add("<noscript><p class=\"banner\">%s</p></noscript>\n" % esc(ui["noscript"]))

        # Grid header: number, title, seed heading, per-check counts.
        per_check = [dict.fromkeys(STATUSES, 0) for _check in CHECK_IDS]
        for _name, _overall_status, findings in dps:
            for index, finding in enumerate(findings):
                per_check[index][_status(finding.get("status"))] += 1
        add('<div class="wrap"><table class="grid" id="grid">\n<thead><tr><th class="dpcol" scope="col">%s</th>' % esc(ui["col_dp"]))
        for index, (check, title, heading) in enumerate(_columns(lang)):
            add('<th scope="col" data-check="%s"><span class="n">%d.</span>%s' % (check, index + 1, esc(title)))
            if heading and heading != title:
                add('<span class="hd" lang="ja">%s</span>' % esc(heading))
            parts = ['<span class="k-%s">%s%d</span>' % (st, STATUS_SYMBOLS[st], per_check[index][st])
                     for st in ("FAIL", "WARN", "UNKNOWN") if per_check[index][st]]
            if not parts:
                parts = ['<span class="k-PASS">%s%d</span>' % (STATUS_SYMBOLS["PASS"], per_check[index]["PASS"])]
            add('<span class="cnt">%s</span></th>' % " ".join(parts))
        add("</tr></thead>\n<tbody>\n")
        cell = {st: '<td class="s-%s"><button>%s</button></td>' % (st, esc(_status_word(st, ui))) for st in STATUSES}
        for name, overall, findings in dps:
            add('<tr class="r-%s"><th scope="row"><span class="ov s-%s" title="%s">%s</span>%s</th>%s</tr>\n' % (
                overall, overall, esc(ui["status_" + overall]), STATUS_SYMBOLS[overall], esc(name),
                "".join(cell[_status(f.get("status"))] for f in findings)))
        add("</tbody></table></div>\n")
        add('<p class="empty" id="nomatch" hidden>%s</p>\n' % esc(ui["no_match"]))

    add("</main>\n")
    add('<aside id="panel" tabindex="-1" hidden role="region" aria-label="%s"><button class="x" id="pclose">%s \u2715</button>'
        '<div id="pbody"></div></aside>\n' % (esc(ui["details"]), esc(ui["close"])))
    add("<footer>mecm.fieldkit</footer>\n")
    add('<script type="application/json" id="dp-data">%s</script>\n' % _script_json(_blob(diagnosis, lang, dps)))
    add("<script>%s</script>\n</body>\n</html>\n" % _JS)
    return "".join(out)


# ============================================================================================
# Markdown (tickets)
# ============================================================================================

# Backslash-escape CommonMark syntax in prose, but only where it would be syntax: a backslash
# before punctuation, "<" that could open a tag or autolink, "&" that could form an entity, "]"
# that could close a link, "_" at a word boundary, emphasis/strike marks, and block markers at
# the start of a line. Windows paths (CONTOSO\CM01$, SMS_DP$) and "[管理] - [概要]" stay readable
# in the raw ticket text and still render as written.
_MD_SPECIAL = re.compile(
    r"\\(?=[!-/:-@\[-`{-~]|$)"
    r"|[*~`]"
    r"|<(?=[A-Za-z/!?])"
    r"|&(?=#?[0-9A-Za-z]+;)"
    r"|\](?=[(\[:])"
    r"|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])"
    r"|^[#>+=-]",
    re.MULTILINE,
)


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def _md_code(text: str) -> str:
    """Inline code span that survives any backticks in ``text``."""
    if not text:
        return ""
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return fence + pad + text + pad + fence


def _md_text(text: object) -> str:
    """Prose with `code spans` kept as code spans and everything else escaped."""
    value = _text(text)
    parts = value.split("`")
    if len(parts) % 2 == 0:  # unbalanced backticks: all prose
        return _md_escape(value)
    return "".join(_md_code(part) if i % 2 else _md_escape(part) for i, part in enumerate(parts) if part)


def _md_cell(text: object) -> str:
    """Table cell: escaped, one line, with ``|`` escaped for GFM tables (also inside code)."""
    return re.sub(r"\s*[\r\n]+\s*", " ", _md_text(text)).replace("|", "\\|")


def _fence(text: str) -> str:
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, run + 1)


def _log_header(entry: dict, ui: dict) -> str:
    utc, local = _log_times(entry, ui)
    line = entry.get("line_number")
    parts = [_text(entry.get("log")) + (":%s" % line if line is not None else "")]
    parts += [p for p in (utc, local, _text(entry.get("component"))) if p]
    severity = _text(entry.get("severity"))
    parts.append(ui.get("severity_" + severity, severity.upper()))
    return "  ".join(parts)


def _heading_suffix(finding: dict) -> str:
    title, heading = _text(finding.get("title")), _text(finding.get("heading"))
    return heading if heading and heading != title else ""


def render_markdown(diagnosis: dict) -> str:
    """Markdown for tickets: summary tables, then a section per DP with findings.

    Each non-PASS finding gets its summary, evidence bullets, log lines in code blocks and the
    remediation. PASS findings are named only; DPs without findings share one line.
    """
    lang = _lang(diagnosis.get("language"))
    ui = UI_TEXT[lang]
    dps = _prepared_dps(diagnosis, lang)
    counts = _summary_counts(diagnosis, dps)
    identity = diagnosis.get("probe_identity") or {}
    columns = {check: title for check, title, _heading in _columns(lang)}
    out: list[str] = []
    add = out.append

    add("# %s\n" % _md_escape(ui["title"]))
    add("- %s: %s" % (ui["site_server"], _md_code(_text(diagnosis.get("site_server"))) or "\u2014"))
    add("- %s: %s" % (ui["site_code"], _md_code(_text(diagnosis.get("site_code"))) or "\u2014"))
    add("- %s: %s" % (ui["generated_at"], _md_escape(_fmt_generated(diagnosis.get("generated_at")))))
    add("- %s: %s" % (ui["probe_identity"], _md_text(_identity_text(identity, ui))))
    add("")
    if _untrusted(identity):
        add("> **\u26a0 %s**" % _md_escape(ui["identity_banner_title"]))
        add("> %s" % _md_escape(ui["identity_banner_body"]))
        if identity.get("warning"):
            add(">")
            add("> %s" % re.sub(r"\s*[\r\n]+\s*", " ", _md_text(identity.get("warning"))))
        add("")

    add("## %s\n" % _md_escape(ui["summary"]))
    add("| %s | %s |" % (_md_cell(ui["overall"]), _md_cell(ui["count"])))
    add("|---|---:|")
    for status in _SEVERITY_ORDER:
        add("| %s | %d |" % (_md_cell(_status_label(status, ui)), counts[status.lower()]))
    add("| %s | %d |" % (_md_cell(ui["dps"]), counts["dps"]))
    add("")

    problems = [(name, overall, findings) for name, overall, findings in dps if overall != "PASS"]
    passed = [name for name, overall, _findings_ in dps if overall == "PASS"]
    if not dps:
        add("_%s_\n" % _md_escape(ui["no_dps"]))
    elif not problems:
        add("%s\n" % _md_escape(ui["all_passed"]))
    else:
        add("## %s\n" % _md_escape(ui["problem_dps"]))
        add("| %s | %s | %s |" % (_md_cell(ui["col_dp"]), _md_cell(ui["overall"]), _md_cell(ui["problem_checks"])))
        add("|---|---|---|")
        for name, overall, findings in problems:
            bad = ["%s %s" % (STATUS_SYMBOLS[_status(f.get("status"))], columns[f["check"]])
                   for f in findings if _status(f.get("status")) != "PASS"]
            add("| %s | %s | %s |" % (_md_cell(name), _md_cell(_status_label(overall, ui)), _md_cell(", ".join(bad))))
        add("")

    for name, overall, findings in problems:
        add("## %s \u2014 %s\n" % (_md_escape(name), _md_escape(_status_label(overall, ui))))
        for index, finding in enumerate(findings):
            status = _status(finding.get("status"))
            if status == "PASS":
                continue
            title = _text(finding.get("title")) or columns[finding["check"]]
            add("### %s %d. %s\n" % (_md_escape(_status_label(status, ui)), index + 1, _md_text(title)))
            suffix = _heading_suffix(finding)
            if suffix:
                add("%s: %s\n" % (_md_escape(ui["checklist_item"]), _md_text(suffix)))
            add("%s\n" % _md_text(finding.get("summary")))
            evidence = [e for e in finding.get("evidence") or [] if isinstance(e, dict)]
            add("**%s**\n" % _md_escape(ui["evidence"]))
            if evidence:
                for item in evidence:
                    shown, block = _fmt_value(item.get("value"))
                    if block:  # one line in a bullet: compact JSON
                        shown = json.dumps(item.get("value"), ensure_ascii=False, sort_keys=True, default=str)
                    value = "\u2014" if item.get("value") is None else _md_code(shown) or "\u2014"
                    source = ui.get("source_" + _text(item.get("source")), _text(item.get("source")))
                    label = _md_text(item.get("label"))
                    add("- %s %s: %s (%s)" % (_ok_symbol(item.get("ok")), label, value, _md_escape(source)))
            else:
                add("- %s" % _md_escape(ui["no_evidence"]))
            add("")
            entries = [e for e in finding.get("log_evidence") or [] if isinstance(e, dict)]
            if entries:
                add("**%s**\n" % _md_escape(ui["log_lines"]))
                block = "\n".join("%s\n%s" % (_log_header(e, ui), _text(e.get("message"))) for e in entries)
                fence = _fence(block)
                add("%stext\n%s\n%s\n" % (fence, block, fence))
                notes = []
                for entry in entries:
                    for code in entry.get("error_codes") or []:
                        if isinstance(code, dict) and code.get("hresult"):
                            name_, meaning = _code_info(_text(code["hresult"]), lang)
                            note = "- %s %s" % (_md_code(_text(code["hresult"])), _md_escape(" ".join(p for p in (name_, meaning) if p)))
                            if entry.get("cause"):
                                note += " \u2014 %s: %s" % (_md_escape(ui["cause"]), _md_text(entry.get("cause")))
                            if note not in notes:
                                notes.append(note)
                if notes:
                    add("%s\n" % "\n".join(notes))
            add("**%s**\n" % _md_escape(ui["remediation"]))
            add("%s\n" % _md_text(finding.get("remediation")))
        ok_titles = [columns[f["check"]] for f in findings if _status(f.get("status")) == "PASS"]
        add("%s: %s\n" % (_md_escape(ui["passed_checks"]), _md_text(", ".join(ok_titles)) if ok_titles else _md_escape(ui["none"])))

    if passed:
        add("## %s (%d)\n" % (_md_escape(ui["passed_dps"]), len(passed)))
        add("%s %s\n" % (STATUS_SYMBOLS["PASS"], ", ".join(_md_escape(n) for n in passed)))
    return "\n".join(out).rstrip("\n") + "\n"


# ============================================================================================
# JUnit XML (CI systems)
# ============================================================================================

# Layout: <testsuites> with one <testsuite> per DP and one <testcase> per DP x check.
# - GitLab shows testcase@classname as "Suite" and testcase@name as "Name" (testsuite@name is
#   ignored) and keys each test on classname + name; Jenkins splits classname at the LAST dot
#   into package and class; Azure DevOps shows testcase@name as the test title. So:
#   classname = "<site code>.<DP with dots replaced by _>" -> Jenkins: package = site code,
#   class = DP; GitLab: suite = site code + DP. name = "<nn> <check id>: <title> [<DP FQDN>]" so
#   that the list sorts in checklist order and Azure's title still names the DP.
# - One suite per DP gives per-DP tests/failures/skipped counts in the file itself, which tools
#   that do use testsuite (TestRail sections, Azure's run attachments, humans) show as groups.
# - FAIL -> <failure>; UNKNOWN -> <skipped>; WARN passes (CI must not go red on a warning)
#   with "[WARN] ..." as the first line of <system-out> and the check id in the suite property
#   "warnings" (testcase-level <properties> are not in every JUnit schema).

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: object) -> str:
    """Text without characters XML 1.0 forbids (shown as \\xNN instead of breaking the file)."""
    return _XML_BAD.sub(lambda m: "\\x%02x" % ord(m.group(0)) if ord(m.group(0)) < 0x100 else "\\u%04x" % ord(m.group(0)), _text(value))


def _junit_classname(site_code: str, dp: str) -> str:
    return "%s.%s" % (site_code or "MECM", dp.replace(".", "_") or "unnamed")


def _finding_details(finding: dict, ui: dict, lang: str, with_remediation: bool = True) -> str:
    """Plain-text body: summary, evidence, log lines, remediation (JUnit failure/system-out)."""
    lines = [_text(finding.get("summary")), ""]
    evidence = [e for e in finding.get("evidence") or [] if isinstance(e, dict)]
    lines.append("%s:" % ui["evidence"])
    if not evidence:
        lines.append("  %s" % ui["no_evidence"])
    for item in evidence:
        shown, block = _fmt_value(item.get("value"))
        if block:
            shown = shown.replace("\n", "\n      ")
        source = ui.get("source_" + _text(item.get("source")), _text(item.get("source")))
        lines.append("  %s %s: %s (%s)" % (_ok_symbol(item.get("ok")), _text(item.get("label")), shown, source))
    entries = [e for e in finding.get("log_evidence") or [] if isinstance(e, dict)]
    if entries:
        lines += ["", "%s:" % ui["log_lines"]]
        for entry in entries:
            lines.append("  " + _log_header(entry, ui))
            lines.append("    " + _text(entry.get("message")).replace("\n", "\n    "))
            for code in entry.get("error_codes") or []:
                if isinstance(code, dict) and code.get("hresult"):
                    name, meaning = _code_info(_text(code["hresult"]), lang)
                    lines.append("    %s %s" % (_text(code["hresult"]), " ".join(p for p in (name, meaning) if p)))
            if entry.get("cause"):
                lines.append("    %s: %s" % (ui["cause"], _text(entry.get("cause"))))
    if with_remediation:
        lines += ["", "%s:" % ui["remediation"], _text(finding.get("remediation"))]
    return _xml_text("\n".join(lines).strip("\n") + "\n")


def render_junit(diagnosis: dict) -> str:
    """JUnit XML: one testsuite per DP, one testcase per DP x check (see layout notes above)."""
    lang = _lang(diagnosis.get("language"))
    ui = UI_TEXT[lang]
    dps = _prepared_dps(diagnosis, lang)
    site_code = _text(diagnosis.get("site_code"))
    generated = _text(diagnosis.get("generated_at"))
    # JUnit's timestamp is an xs:dateTime without zone (Ant schema); the full value is a property.
    timestamp = generated[:-1] if generated.endswith("Z") else generated
    identity = diagnosis.get("probe_identity") or {}

    root = ET.Element("testsuites")
    root.set("name", _xml_text("%s %s (%s)" % (ui["title"], site_code, _text(diagnosis.get("site_server")))))
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for index, (name, overall, findings) in enumerate(dps):
        suite = ET.SubElement(root, "testsuite")
        suite.set("name", _xml_text(name))
        suite.set("id", str(index))
        suite.set("hostname", _xml_text(name))
        if timestamp:
            suite.set("timestamp", _xml_text(timestamp))
        properties = ET.SubElement(suite, "properties")
        warned = [f["check"] for f in findings if _status(f.get("status")) == "WARN"]
        for key, value in (
            ("dp", name),
            ("overall", overall),
            ("site_code", site_code),
            ("site_server", _text(diagnosis.get("site_server"))),
            ("generated_at", generated),
            ("language", lang),
            ("probe_trusted", "false" if _untrusted(identity) else "true"),
            ("warnings", ",".join(warned)),
        ):
            ET.SubElement(properties, "property", name=key, value=_xml_text(value))
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        classname = _xml_text(_junit_classname(site_code, name))
        for number, finding in enumerate(findings, 1):
            status = _status(finding.get("status"))
            title = _text(finding.get("title")) or check_text(finding["check"], lang)["title"]
            case = ET.SubElement(suite, "testcase")
            case.set("classname", classname)
            case.set("name", _xml_text("%02d %s: %s [%s]" % (number, finding["check"], title, name)))
            case.set("time", "0")
            counts["tests"] += 1
            summary = _xml_text(_text(finding.get("summary")))
            if status == "FAIL":
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", message=summary, type="FAIL")
                failure.text = _finding_details(finding, ui, lang)
            elif status == "UNKNOWN":
                counts["skipped"] += 1
                skipped = ET.SubElement(case, "skipped", message=summary)
                skipped.text = _finding_details(finding, ui, lang)
            elif status == "WARN":
                out = ET.SubElement(case, "system-out")
                out.text = "[WARN] " + _finding_details(finding, ui, lang)
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", "0")
        suite.set("skipped", str(counts["skipped"]))
        suite.set("time", "0")
        for key in totals:
            totals[key] += counts[key]
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", "0")
    root.set("skipped", str(totals["skipped"]))
    root.set("time", "0")
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ============================================================================================
# JSON
# ============================================================================================

# Keys in schema order (one list per document type, since the same key name sits at different
# places: "summary" ends the diagnosis but follows "remediation" in a finding); other keys follow
# alphabetically. The order depends only on key names, so the same data always gives the same
# bytes (diff-friendly) whatever order the engine built its dicts in.
def _rank(keys: tuple[str, ...]) -> dict[str, int]:
    return {key: rank for rank, key in enumerate(keys)}


_DIAGNOSIS_ORDER = _rank((
    "generated_at", "language", "site_server", "site_code", "probe_identity", "as_system", "user",
    "trusted", "warning", "dps", "dp", "overall", "findings", "check", "status", "title", "heading",
    "explanation", "remediation", "summary", "evidence", "log_evidence", "label", "value", "source", "ok",
    "log", "line_number", "time_utc", "time_local", "bias_minutes", "component", "severity", "message",
    "error_codes", "raw", "hresult", "win32", "cause", "pass", "warn", "fail", "unknown",
))
_INVENTORY_ORDER = _rank((
    "dp", "site_code", "os_product", "os_build", "patched", "content_library_drives", "drive",
    "free_percent", "free_bytes", "size_bytes", "shares_ok", "wmi_ok", "wmi_local_ok", "wmi_remote_ok", "pull_dp",
    "pxe", "last_seen_utc",
))


def _ordered(value: object, order: dict[str, int]) -> object:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (order.get(k, len(order)), str(k)))
        return {key: _ordered(value[key], order) for key in keys}
    if isinstance(value, (list, tuple)):
        return [_ordered(item, order) for item in value]
    return value


def render_json(diagnosis: dict) -> str:
    """The diagnosis as pretty UTF-8 JSON with a stable key order."""
    return json.dumps(_ordered(diagnosis, _DIAGNOSIS_ORDER), ensure_ascii=False, indent=2, default=str) + "\n"


# ============================================================================================
# Inventory (CSV, HTML, JSON)
# ============================================================================================

INVENTORY_CSV_COLUMNS = (
    "dp", "site_code", "os_product", "os_build", "os_build_number", "os_ubr", "patched",
    "content_library_drives", "min_free_percent", "shares_ok", "wmi_ok", "wmi_local_ok", "wmi_remote_ok",
    "pull_dp", "pxe", "last_seen_utc",
)


def _gb(value: object) -> str:
    """Bytes as "GB" the way Windows Explorer shows them (1 GB = 1024^3 bytes)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "?"
    return "%.1f GB" % (value / 1024.0 ** 3)


def _drives(row: dict) -> list[dict]:
    return [d for d in row.get("content_library_drives") or [] if isinstance(d, dict)]


def _min_free(row: dict) -> float | None:
    values = [d.get("free_percent") for d in _drives(row)
              if isinstance(d.get("free_percent"), (int, float)) and not isinstance(d.get("free_percent"), bool)]
    return min(values) if values else None


def _pct(value: object) -> str:
    return ("%.1f" % value) if isinstance(value, (int, float)) and not isinstance(value, bool) else "?"


def _build_parts(build: object) -> tuple[int | None, int | None]:
    match = re.fullmatch(r"\s*(\d+)(?:\.(\d+))?\s*", _text(build))
    if not match:
        return None, None
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return str(value)
    text = _text(value)
    # Excel runs cells starting with = + - @ (or a tab/CR before them) as formulas; DP facts come
    # from remote hosts, so neutralise them with a leading apostrophe (OWASP "CSV injection").
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def render_inventory_csv(rows: list[dict]) -> str:
    """Inventory as CSV for Excel.

    The text starts with a UTF-8 BOM: Excel on Japanese Windows opens a BOM-less CSV as
    Shift_JIS (CP932), which garbles UTF-8 DP names, OS captions and comments; with the BOM it
    reads UTF-8. Rows end with CRLF (csv module default). Column keys stay English in both
    languages so scripts can rely on them. ``os_build`` ("17763.4010") is also split into the
    integers ``os_build_number`` and ``os_ubr``, because Excel turns "17763.4010" into the number
    17763.401 and the UBR cannot be read back from it.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(INVENTORY_CSV_COLUMNS)
    for row in rows or []:
        if not isinstance(row, dict):
            continue
        build, ubr = _build_parts(row.get("os_build"))
        drives = "; ".join(
            "%s %s%% (%s / %s)" % (_text(d.get("drive")), _pct(d.get("free_percent")), _gb(d.get("free_bytes")), _gb(d.get("size_bytes")))
            for d in _drives(row)
        )
        values = {
            "dp": row.get("dp"),
            "site_code": row.get("site_code"),
            "os_product": row.get("os_product"),
            "os_build": row.get("os_build"),
            "os_build_number": build,
            "os_ubr": ubr,
            "patched": row.get("patched"),
            "content_library_drives": drives,
            "min_free_percent": _min_free(row),
            "shares_ok": row.get("shares_ok"),
            "wmi_ok": row.get("wmi_ok"),
            "wmi_local_ok": row.get("wmi_local_ok"),
            "wmi_remote_ok": row.get("wmi_remote_ok"),
            "pull_dp": row.get("pull_dp"),
            "pxe": row.get("pxe"),
            "last_seen_utc": row.get("last_seen_utc"),
        }
        writer.writerow([_csv_cell(values[key]) for key in INVENTORY_CSV_COLUMNS])
    return "\ufeff" + buffer.getvalue()


def render_inventory_json(rows: list[dict]) -> str:
    """Inventory rows as pretty UTF-8 JSON with a stable key order."""
    return json.dumps(_ordered(list(rows or []), _INVENTORY_ORDER), ensure_ascii=False, indent=2, default=str) + "\n"


_INV_JS = r"""
(function () {
  "use strict";
  var t = document.getElementById("inv");
  if (!t || !t.tBodies.length) { return; }
  var ths = t.tHead.rows[0].cells;
  function key(cell, numeric) {
    var v = cell.getAttribute("data-v");
    if (v === null) { v = cell.textContent; }
    if (!numeric) { return v.toLowerCase(); }
    var n = parseFloat(v);
    return isNaN(n) ? Infinity : n;
  }
  Array.prototype.forEach.call(ths, function (th, col) {
    var b = th.querySelector("button");
    b.addEventListener("click", function () {
      var numeric = th.getAttribute("data-type") === "num";
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      Array.prototype.forEach.call(ths, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a.cells[col], numeric), y = key(b.cells[col], numeric);
        return x < y ? -dir : x > y ? dir : 0;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
"""

_INV_CSS = """
body{margin:0;padding:12px 20px;font:14px/1.45 "Segoe UI","Yu Gothic UI","Meiryo",system-ui,"Noto Sans CJK JP",sans-serif;color:#202124;background:#f6f7f9}
h1{font-size:20px;margin:0 0 6px}
.hint{color:#5f6368;font-size:13px;margin:0 0 8px}
table{border-collapse:collapse;background:#fff;font-size:13px;width:100%}
th,td{border:1px solid #e0e3e7;padding:4px 8px;text-align:left;vertical-align:top}
thead th{position:sticky;top:0;background:#f1f3f4;z-index:1}
thead th button{all:unset;cursor:pointer;font-weight:600;display:block}
thead th button:focus-visible{outline:2px solid #1a73e8}
th[aria-sort=ascending] button::after{content:" \\25B2"}
th[aria-sort=descending] button::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.b{white-space:nowrap;font-weight:600;text-align:center}
.s-PASS{background:#e6f4ea;color:#0d652d}.s-FAIL{background:#c5221f;color:#fff}.s-UNKNOWN{background:#d5d8dc;color:#303336}
.drv{white-space:nowrap}
.meter{display:inline-block;width:60px;height:8px;background:#e8eaed;border-radius:4px;overflow:hidden;vertical-align:middle;margin-right:6px}
.meter span{display:block;height:100%;background:#5f6368}
.empty{color:#5f6368;font-style:italic}
.mono{font-family:Consolas,"BIZ UDGothic","MS Gothic","Noto Sans Mono CJK JP",monospace}
"""


def _inv_bool(value: object, ui: dict, yes: str, no: str) -> str:
    if value is True:
        return '<td class="b s-PASS" data-v="1">%s %s</td>' % (STATUS_SYMBOLS["PASS"], html.escape(yes))
    if value is False:
        return '<td class="b s-FAIL" data-v="0">%s %s</td>' % (STATUS_SYMBOLS["FAIL"], html.escape(no))
    return '<td class="b s-UNKNOWN" data-v="2">%s %s</td>' % (STATUS_SYMBOLS["UNKNOWN"], html.escape(ui["unknown"]))


def _inv_flag(value: object, ui: dict) -> str:
    """A yes/no property of the DP (not a health result): plain text, "?" when not known."""
    if value is True:
        return '<td class="b" data-v="1">%s</td>' % html.escape(ui["inv_yes"])
    if value is False:
        return '<td class="b" data-v="0">%s</td>' % html.escape(ui["inv_no"])
    return '<td class="b" data-v="2">%s</td>' % html.escape(ui["unknown"])


def render_inventory_html(rows: list[dict], language: str = "en") -> str:
    """Inventory as a self-contained, sortable HTML table."""
    lang = _lang(language)
    ui = UI_TEXT[lang]
    esc = html.escape
    headers = (
        (ui["col_dp"], "text"), (ui["inv_site_code"], "text"), (ui["inv_os"], "text"), (ui["inv_build"], "num"),
        (ui["inv_patched"], "num"), (ui["inv_drives"], "num"), (ui["inv_shares"], "num"), (ui["inv_wmi"], "num"),
        (ui["inv_pull_dp"], "num"), (ui["inv_pxe"], "num"), (ui["inv_last_seen"], "text"),
    )
    out = ['<!DOCTYPE html>\n<html lang="%s">\n<head>\n<meta charset="utf-8">\n' % lang,
           '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
           "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n" % (esc(ui["inventory_title"]), _INV_CSS),
           "<h1>%s</h1>\n" % esc(ui["inventory_title"])]
    rows = [r for r in rows or [] if isinstance(r, dict)]
    if not rows:
        out.append('<p class="empty" id="empty">%s</p>\n</body>\n</html>\n' % esc(ui["inv_empty"]))
        return "".join(out)
    out.append('<p class="hint">%s</p>\n<table id="inv">\n<thead><tr>' % esc(ui["inv_sort_hint"]))
    for label, kind in headers:
        out.append('<th scope="col" data-type="%s"><button>%s</button></th>' % (kind, esc(label)))
    out.append("</tr></thead>\n<tbody>\n")
    for row in rows:
        build, ubr = _build_parts(row.get("os_build"))
        sort_build = "%d.%06d" % (build, ubr or 0) if build is not None else ""
        drives = []
        for drive in _drives(row):
            pct = drive.get("free_percent")
            width = max(0.0, min(100.0, float(pct))) if isinstance(pct, (int, float)) and not isinstance(pct, bool) else 0.0
            text = ui["drive_free"].format(pct=_pct(pct), free=_gb(drive.get("free_bytes")), size=_gb(drive.get("size_bytes")))
            drives.append('<div class="drv"><span class="meter"><span style="width:%.1f%%"></span></span><b>%s</b> %s</div>'
                          % (width, esc(_text(drive.get("drive"))), esc(text)))
        min_free = _min_free(row)
        out.append(
            "<tr><th scope=\"row\">%s</th><td>%s</td><td>%s</td><td class=\"num mono\" data-v=\"%s\">%s</td>%s"
            "<td data-v=\"%s\">%s</td>%s%s%s%s<td class=\"mono\" style=\"white-space:nowrap\">%s</td></tr>\n" % (
                esc(_text(row.get("dp"))),
                esc(_text(row.get("site_code"))),
                esc(_text(row.get("os_product")) or "\u2014"),
                sort_build,
                esc(_text(row.get("os_build")) or "\u2014"),
                _inv_bool(row.get("patched"), ui, ui["yes_patched"], ui["no_patched"]),
                "" if min_free is None else "%.3f" % min_free,
                "".join(drives) or "\u2014",
                _inv_bool(row.get("shares_ok"), ui, ui["ok"], ui["ng"]),
                _inv_bool(row.get("wmi_ok"), ui, ui["ok"], ui["ng"]),
                _inv_flag(row.get("pull_dp"), ui),
                _inv_flag(row.get("pxe"), ui),
                esc(_fmt_time(row.get("last_seen_utc")) or "\u2014"),
            )
        )
    out.append("</tbody>\n</table>\n<script>%s</script>\n</body>\n</html>\n" % _INV_JS)
    return "".join(out)


# ============================================================================================
# Writing files
# ============================================================================================


def _write(path: str, text: str) -> str:
    """Write atomically, so a reader never sees half a report; return the path."""
    write_text_if_changed(path, text)
    return path


def write_reports(diagnosis: dict, directory: str, basename: str = "dp_diagnosis") -> dict[str, str]:
    """Write ``<basename>.html``, ``.md``, ``.json`` and ``.junit.xml`` into ``directory``.

    Returns:
        ``{"html": path, "markdown": path, "json": path, "junit": path}``.
    """
    os.makedirs(directory, exist_ok=True)
    base = os.path.join(directory, basename)
    return {
        "html": _write(base + ".html", render_html(diagnosis)),
        "markdown": _write(base + ".md", render_markdown(diagnosis)),
        "json": _write(base + ".json", render_json(diagnosis)),
        "junit": _write(base + ".junit.xml", render_junit(diagnosis)),
    }


def write_inventory(rows: list[dict], directory: str, language: str = "en", basename: str = "dp_inventory") -> dict[str, str]:
    """Write ``<basename>.csv`` (UTF-8 with BOM), ``.html`` and ``.json`` into ``directory``.

    Returns:
        ``{"csv": path, "html": path, "json": path}``.
    """
    os.makedirs(directory, exist_ok=True)
    base = os.path.join(directory, basename)
    return {
        "csv": _write(base + ".csv", render_inventory_csv(rows)),
        "html": _write(base + ".html", render_inventory_html(rows, language)),
        "json": _write(base + ".json", render_inventory_json(rows)),
    }
