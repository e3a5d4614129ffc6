# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render DP diagnosis reports (HTML, Markdown, JUnit XML, JSON) and DP inventories (CSV, HTML,
JSON) from plain data. FOR INTERNAL COLLECTION USE ONLY.

The two HTML pages come from Jinja2 templates (_dp_report_html, report_templates/dp); the JSON file
form stores repeated texts once (_dp_report_json); Markdown, JUnit and CSV are built here."""
from __future__ import annotations

import csv
import io
import json
import os
import re

from . import _dp_report_json
from ._gc_pause import paused
from ._dp_evidence_text import evidence_text
from ._dp_knowledge import CHECK_IDS, check_text, lookup_error_code
from ._files import write_text_if_changed
from . import _junit

# Standard library only; no Ansible imports. Every renderer is a pure function of its input and
# never mutates it. Texts inside findings are already in the report language; UI_TEXT holds the
# report's own chrome.

__all__ = [
    "SEVERITY_ORDER",
    "STATUSES",
    "STATUS_SYMBOLS",
    "UI_TEXT",
    "compact_diagnosis",
    "count_key",
    "expand_diagnosis",
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

# N/A: the check does not apply to this DP (e.g. a pull DP); it ranks below PASS.
STATUSES = ("PASS", "WARN", "FAIL", "UNKNOWN", "N/A")
# A symbol next to every status word, so that no status is told by colour alone.
STATUS_SYMBOLS = {"PASS": "\u2714", "WARN": "\u25b2", "FAIL": "\u2716", "UNKNOWN": "?", "N/A": "\u2205"}
SEVERITY_ORDER = ("FAIL", "WARN", "UNKNOWN", "PASS", "N/A")
_SEVERITY_ORDER = SEVERITY_ORDER


def count_key(status: str) -> str:
    """Key of a status in the diagnosis summary: ``fail`` ... ``unknown``, ``na`` for N/A."""
    return status.lower().replace("/", "")


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
        "drive_free": "{pct} free ({free} of {size})",
        "status_N/A": "N/A",
        "legend_N/A": "does not apply to this distribution point",
        "chip_counts": "{dps} DPs \u00b7 {cells} cells",
        "cells": "Cells",
        "charts": "Charts",
        "chart_free": "Free space per DP content library drive",
        "chart_skew": "Clock difference per DP against the site server",
        "chart_stuck": "Stuck packages per DP",
        "chart_threshold": "threshold {value}",
        "chart_kerberos": "Kerberos limit {value}",
        "chart_lowest": "The {shown} lowest of {total}.",
        "chart_highest": "The {shown} highest of {total}.",
        "chart_none": "No data.",
        "chart_low_dps": "Distribution points low on free space",
        "raw_value": "Raw value",
        "this_dp": "This distribution point",
        "col_content": "Content",
        "stuck_packages": "Stuck packages",
        "stuck_total": "Stuck packages",
        "no_stuck": "No stuck package.",
        "pkg_id": "Package ID",
        "pkg_name": "Name",
        "pkg_state": "State",
        "pkg_message": "Last status message",
        "pkg_version": "Source version",
        "pkg_cause": "Possible cause",
        "pkg_fix": "Remediation",
        "content_counts": "{installed} of {total} packages installed, {stuck} stuck",
        "truncated": "(list shortened)",
        "role_pull": "pull DP",
        "role_pxe": "PXE",
        "role_standard": "standard DP",
        "list_sep": ", ",
        "source_dps": "Source distribution points",
        "rank": "rank",
        "reachable": "reachable",
        "unreachable": "not reachable",
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
            "接続します。そのため、アクセス権限、SMB の共有フォルダー、WMI の結果は、Configuration Manager "
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
        "inv_shares": "配布ポイントの共有フォルダー",
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
        "drive_free": "空き {pct} ({size} 中 {free})",
        "status_N/A": "対象外",
        "legend_N/A": "この配布ポイントには該当しません",
        "chip_counts": "配布ポイント {dps} 台 \u00b7 セル {cells} 個",
        "cells": "セル",
        "charts": "グラフ",
        "chart_free": "配布ポイントのコンテンツ ライブラリ ドライブごとの空き容量",
        "chart_skew": "配布ポイントごとのサイト サーバーとの時刻のずれ",
        "chart_stuck": "配布ポイントごとの配布が完了しないパッケージ数",
        "chart_threshold": "しきい値 {value}",
        "chart_kerberos": "Kerberos の上限 {value}",
        "chart_lowest": "{total} 件中、少ない順に {shown} 件を表示しています。",
        "chart_highest": "{total} 件中、多い順に {shown} 件を表示しています。",
        "chart_none": "データがありません。",
        "chart_low_dps": "空き容量が少ない配布ポイント",
        "raw_value": "元の値",
        "this_dp": "この配布ポイント",
        "col_content": "コンテンツ",
        "stuck_packages": "配布が完了しないパッケージ",
        "stuck_total": "配布が完了しないパッケージ",
        "no_stuck": "配布が完了しないパッケージはありません。",
        "pkg_id": "パッケージ ID",
        "pkg_name": "名前",
        "pkg_state": "状態",
        "pkg_message": "最後のステータス メッセージ",
        "pkg_version": "ソースのバージョン",
        "pkg_cause": "考えられる原因",
        "pkg_fix": "対処方法",
        "content_counts": "パッケージ {total} 個中 {installed} 個がインストール済み、{stuck} 個が未完了",
        "truncated": "(一覧は一部のみ)",
        "role_pull": "プル配布ポイント",
        "role_pxe": "PXE 対応",
        "role_standard": "標準の配布ポイント",
        "list_sep": "、",
        "source_dps": "ソース配布ポイント",
        "rank": "優先順位",
        "reachable": "接続可",
        "unreachable": "接続不可",
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


CHECK_TEXT_KEYS = ("title", "heading", "explanation", "remediation")


def _findings(dp: dict, lang: str, checks: dict | None = None) -> list[dict]:
    """The DP's findings in CHECK_IDS order, one per check.

    The engine promises nine findings in order; a missing one (or one with an unknown ``check``)
    is replaced by an UNKNOWN placeholder so one bad record cannot hide the rest of the report.
    A finding without its check texts (the JSON file's form) gets them from ``checks`` (the
    document's table), else from _dp_knowledge, as a copy.
    """
    by_check: dict[str, dict] = {}
    for finding in dp.get("findings") or []:
        if isinstance(finding, dict) and finding.get("check") in CHECK_IDS and finding["check"] not in by_check:
            if any(key not in finding for key in CHECK_TEXT_KEYS):
                table = (checks or {}).get(finding["check"])
                texts = table if isinstance(table, dict) else check_text(finding["check"], lang)
                finding = dict({key: texts.get(key) for key in CHECK_TEXT_KEYS}, **finding)
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
    computed = {"dps": len(dps), "pass": 0, "warn": 0, "fail": 0, "unknown": 0, "na": 0}
    for _name, overall, _findings in dps:
        computed[count_key(overall)] += 1
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
# HTML dashboard (Jinja2 templates: _dp_report_html and report_templates/dp)
# ============================================================================================


def _prepared_dps(diagnosis: dict, lang: str) -> list[tuple[str, str, list[dict]]]:
    """(name, overall, nine findings with their check texts) per DP (either form of the diagnosis)."""
    checks = diagnosis.get("checks") if isinstance(diagnosis.get("checks"), dict) else None
    if _dp_report_json.is_compact(diagnosis):
        diagnosis, checks = _dp_report_json.expand(diagnosis), None
    result = []
    for dp in diagnosis.get("dps") or []:
        if not isinstance(dp, dict):
            continue
        findings = _findings(dp, lang, checks)
        result.append((_text(dp.get("dp")), _overall(dp, findings), findings))
    return result


@paused
def render_html(diagnosis: dict, template_dir: str | None = None) -> str:
    """Self-contained HTML dashboard: DPs (rows) x nine checks (columns); see _dp_report_html.

    Args:
        diagnosis: The diagnosis document (in-memory form, or the JSON file's form with ``checks``).
        template_dir: A directory whose template, CSS and JS files replace ours by file name.
    """
    # Jinja2 is imported only when HTML is asked for.
    from . import _dp_report_html  # pylint: disable=import-outside-toplevel

    return _dp_report_html.render_html(diagnosis, template_dir=template_dir)


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


@paused
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
        if status == "N/A" and not counts["na"]:
            continue
        add("| %s | %d |" % (_md_cell(_status_label(status, ui)), counts[count_key(status)]))
    add("| %s | %d |" % (_md_cell(ui["dps"]), counts["dps"]))
    add("")

    problems = [(name, overall, findings) for name, overall, findings in dps if overall not in ("PASS", "N/A")]
    passed = [name for name, overall, _findings_ in dps if overall in ("PASS", "N/A")]
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
                   for f in findings if _status(f.get("status")) not in ("PASS", "N/A")]
            add("| %s | %s | %s |" % (_md_cell(name), _md_cell(_status_label(overall, ui)), _md_cell(ui["list_sep"].join(bad))))
        add("")

    for name, overall, findings in problems:
        add("## %s \u2014 %s\n" % (_md_escape(name), _md_escape(_status_label(overall, ui))))
        for index, finding in enumerate(findings):
            status = _status(finding.get("status"))
            if status in ("PASS", "N/A"):
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
                    shown, block = evidence_text(finding["check"], item.get("value"), lang)
                    if block:  # one line in a bullet: compact JSON
                        shown = json.dumps(item.get("value"), ensure_ascii=False, sort_keys=True, default=str)
                    value = "\u2014" if item.get("value") is None else _md_text(shown) or "\u2014"
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
        add("%s: %s\n" % (_md_escape(ui["passed_checks"]), _md_text(ui["list_sep"].join(ok_titles)) if ok_titles else _md_escape(ui["none"])))

    if passed:
        add("## %s (%d)\n" % (_md_escape(ui["passed_dps"]), len(passed)))
        add("%s %s\n" % (STATUS_SYMBOLS["PASS"], ui["list_sep"].join(_md_escape(n) for n in passed)))
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
# - FAIL -> <failure>; UNKNOWN -> <skipped type="UNKNOWN">; N/A (not applicable, e.g. a pull DP) ->
#   <skipped type="N/A"> whose message is the reason; WARN passes (CI must not go red on a warning)
#   with "[WARN] ..." as the first line of <system-out> and the check id in the suite property
#   "warnings" (testcase-level <properties> are not in every JUnit schema).
# - Written by the collection's one JUnit writer (_junit: valid against junit-10.xsd, no skipped count
#   on <testsuites>, counts computed from the cases). time is 0: no check is timed on its own.


def _xml_text(value: object) -> str:
    """Text without characters XML 1.0 forbids (shown as \\xNN instead of breaking the file)."""
    return _junit.xml_text(_text(value))


def _junit_classname(site_code: str, dp: str) -> str:
    """``<site code>.<DP with dots escaped as _>`` (``_junit.classname``: Jenkins splits at the last dot)."""
    return _junit.classname(site_code or "MECM", dp)


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


@paused
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
    suites = []
    for name, overall, findings in dps:
        warned = [f["check"] for f in findings if _status(f.get("status")) == "WARN"]
        suite = _junit.Suite(name=name, hostname=name, timestamp=timestamp or None, properties=[
            ("dp", name),
            ("overall", overall),
            ("site_code", site_code),
            ("site_server", _text(diagnosis.get("site_server"))),
            ("generated_at", generated),
            ("language", lang),
            ("probe_trusted", "false" if _untrusted(identity) else "true"),
            ("warnings", ",".join(warned)),
        ])
        classname = _junit_classname(site_code, name)
        for number, finding in enumerate(findings, 1):
            raw = _text(finding.get("status")).upper()
            status = "N/A" if raw == "N/A" else _status(finding.get("status"))
            title = _text(finding.get("title")) or check_text(finding["check"], lang)["title"]
            case = suite.add(_junit.Case(name="%02d %s: %s [%s]" % (number, finding["check"], title, name),
                                         classname=classname))
            summary = _text(finding.get("summary"))
            if status == "FAIL":
                case.outcome, case.type, case.message = "failure", "FAIL", summary
                case.text = _finding_details(finding, ui, lang)
            elif status in ("UNKNOWN", "N/A"):
                # N/A: not applicable (a pull DP); the summary says why, and CI shows it as skipped.
                case.outcome, case.type, case.message = "skipped", status, summary
                case.text = _finding_details(finding, ui, lang)
            elif status == "WARN":
                case.system_out = "[WARN] " + _finding_details(finding, ui, lang)
        suites.append(suite)
    return _junit.render(suites, "%s %s (%s)" % (ui["title"], site_code, _text(diagnosis.get("site_server"))))


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
    "trusted", "warning", "format", "checks", "texts", "values", "dps", "dp", "overall", "findings", "check", "status", "title", "heading",
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
    if isinstance(value, (list, tuple)):  # scalars are taken as they are (no call per item: 2,000 DPs)
        return [_ordered(item, order) if isinstance(item, (dict, list, tuple)) else item for item in value]
    return value


def compact_diagnosis(diagnosis: dict) -> dict:
    """The file form of the diagnosis (check texts, evidence labels and values stored once; _dp_report_json)."""
    return _dp_report_json.compact(diagnosis)


def expand_diagnosis(diagnosis: dict) -> dict:
    """The in-memory form of a diagnosis given in either form (every finding with its texts and evidence)."""
    return _dp_report_json.expand(diagnosis)


def _key_rank(key: object) -> tuple[int, str]:
    return (_DIAGNOSIS_ORDER.get(key, len(_DIAGNOSIS_ORDER)), str(key))  # type: ignore[arg-type]


def _ordered_dp(dp: object) -> object:
    """_ordered for one DP of the file form, without walking the evidence arrays (scalars only)."""
    if not isinstance(dp, dict):
        return _ordered(dp, _DIAGNOSIS_ORDER)
    result = {}
    for key in sorted(dp, key=_key_rank):
        value = dp[key]
        if key == "findings" and isinstance(value, list):
            value = [{k: f[k] if k == "evidence" else _ordered(f[k], _DIAGNOSIS_ORDER) for k in sorted(f, key=_key_rank)}
                     if isinstance(f, dict) else f for f in value]
        else:
            value = _ordered(value, _DIAGNOSIS_ORDER)
        result[key] = value
    return result


@paused
def render_json(diagnosis: dict) -> str:
    """The diagnosis as UTF-8 JSON with a stable key order, in its file form (check texts, evidence
    labels and values stored once: :func:`compact_diagnosis`) and one line per DP (diff-friendly and
    small at 2,000 DPs)."""
    compact = compact_diagnosis(diagnosis)
    document = _ordered({key: value for key, value in compact.items() if key != "dps"}, _DIAGNOSIS_ORDER)
    document["dps"] = [_ordered_dp(dp) for dp in compact.get("dps") or []]
    document = {key: document[key] for key in sorted(document, key=lambda k: (_DIAGNOSIS_ORDER.get(k, len(_DIAGNOSIS_ORDER)), k))}
    items = list(document.items())
    lines = ["{"]
    for index, (key, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        if key == "dps" and isinstance(value, list) and value:
            lines.append("  %s: [" % json.dumps(key))
            last = len(value) - 1
            lines += ["    %s%s" % (json.dumps(dp, ensure_ascii=False, separators=(",", ":"), default=str), "," if i < last else "")
                      for i, dp in enumerate(value)]
            lines.append("  ]" + comma)
        else:
            body = json.dumps(value, ensure_ascii=False, indent=2, default=str).replace("\n", "\n  ")
            lines.append("  %s: %s%s" % (json.dumps(key), body, comma))
    lines.append("}")
    return "\n".join(lines) + "\n"


# ============================================================================================
# Inventory (CSV, HTML, JSON)
# ============================================================================================

INVENTORY_CSV_COLUMNS = (
    "dp", "site_code", "os_product", "os_build", "os_build_number", "os_ubr", "patched",
    "content_library_drives", "min_free_percent", "shares_ok", "wmi_ok", "wmi_local_ok", "wmi_remote_ok",
    "pull_dp", "pxe", "last_seen_utc",
)


def _gb(value: object) -> str:
    """Bytes in GiB (1024^3 bytes; what Windows Explorer labels "GB"), labelled as binary units."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "?"
    return "%.1f GiB" % (value / 1024.0 ** 3)


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


@paused
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


@paused
def render_inventory_html(rows: list[dict], language: str = "en", template_dir: str | None = None) -> str:
    """Fleet table as a self-contained, sortable HTML page with a free-space chart; see _dp_report_html."""
    from . import _dp_report_html  # pylint: disable=import-outside-toplevel

    return _dp_report_html.render_inventory_html(rows, language, template_dir=template_dir)


# ============================================================================================
# Writing files
# ============================================================================================


def _write(path: str, text: str) -> str:
    """Write atomically, so a reader never sees half a report; return the path."""
    write_text_if_changed(path, text)
    return path


def write_reports(diagnosis: dict, directory: str, basename: str = "dp_diagnosis", template_dir: str | None = None) -> dict[str, str]:
    """Write ``<basename>.html``, ``.md``, ``.json`` and ``.junit.xml`` into ``directory``.

    Returns:
        ``{"html": path, "markdown": path, "json": path, "junit": path}``.
    """
    os.makedirs(directory, exist_ok=True)
    base = os.path.join(directory, basename)
    return {
        "html": _write(base + ".html", render_html(diagnosis, template_dir=template_dir)),
        "markdown": _write(base + ".md", render_markdown(diagnosis)),
        "json": _write(base + ".json", render_json(diagnosis)),
        "junit": _write(base + ".junit.xml", render_junit(diagnosis)),
    }


def write_inventory(rows: list[dict], directory: str, language: str = "en", basename: str = "dp_inventory",
                    template_dir: str | None = None) -> dict[str, str]:
    """Write ``<basename>.csv`` (UTF-8 with BOM), ``.html`` and ``.json`` into ``directory``.

    Returns:
        ``{"csv": path, "html": path, "json": path}``.
    """
    os.makedirs(directory, exist_ok=True)
    base = os.path.join(directory, basename)
    return {
        "csv": _write(base + ".csv", render_inventory_csv(rows)),
        "html": _write(base + ".html", render_inventory_html(rows, language, template_dir=template_dir)),
        "json": _write(base + ".json", render_inventory_json(rows)),
    }
