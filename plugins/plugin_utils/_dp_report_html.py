# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTML DP dashboard and fleet table, rendered with Jinja2 from report_templates/. FOR INTERNAL COLLECTION USE ONLY.

Python prepares plain view data (texts in the report language, chart geometry, the details blob);
the templates in ``report_templates/dp`` (and shared macros in ``report_templates/common``) lay it
out. Autoescaping is on for every template. The output is ONE self-contained file: CSS and JS files
are inlined at render time with :func:`_asset`. A user ``template_dir`` overrides our files one by
one (same file names); everything it does not contain comes from the collection.

Design of the dashboard: the grid (2,000 DPs x 9 cells) is static HTML so that it shows at once and
survives without JavaScript. The details of each cell (evidence, log lines, remediation) live once in
an embedded JSON blob (``<script type="application/json">``) and ``dashboard.js`` builds the panel of
the selected cell with DOM calls (textContent only, never innerHTML).
"""
from __future__ import annotations

# pylint: disable=protected-access
# (the report helpers of _dp_report are shared with the Markdown renderer on purpose)

import functools
import json
import os
import re

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from . import _dp_report as base
from ._dp_evidence_text import binary_size, duration, evidence_text, percent
from ._dp_knowledge import CHECK_IDS, SKEW_FAIL_SECONDS, SKEW_WARN_SECONDS, check_text

__all__ = ["TEMPLATE_ROOT", "render_html", "render_inventory_html", "template_environment", "validate_template_dir"]

TEMPLATE_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report_templates")
# Files a user template directory may replace (everything else in it is ignored).
TEMPLATE_FILES = ("dashboard.html.j2", "dashboard.css", "dashboard.js", "inventory.html.j2", "inventory.css",
                  "inventory.js", "charts.j2", "base.css")
# Same defaults as _dp_diagnose.DEFAULT_THRESHOLDS (free_space_*_percent); the diagnosis may carry its own.
DEFAULT_FREE_WARN_PERCENT = 15.0
DEFAULT_FREE_FAIL_PERCENT = 5.0
CHART_MAX_BARS = 40
_DRIVE_RE = re.compile(r"\b([A-Za-z]:)")


# ============================================================================================
# Templates
# ============================================================================================


def validate_template_dir(template_dir: object) -> str | None:
    """The absolute template directory, or None; ValueError naming the value when it is unusable."""
    if template_dir is None or template_dir == "":
        return None
    if not isinstance(template_dir, str):
        raise ValueError("template_dir=%r is not a path; allowed: an existing directory" % (template_dir,))
    path = os.path.abspath(os.path.expanduser(template_dir))
    if not os.path.exists(path):
        raise ValueError("template_dir=%r does not exist; allowed: an existing directory with template files "
                         "(%s)" % (template_dir, ", ".join(TEMPLATE_FILES)))
    if not os.path.isdir(path):
        raise ValueError("template_dir=%r is not a directory; allowed: an existing directory" % (template_dir,))
    return path


class _Environment(Environment):
    """``row.name`` on a plain dict looks the key up first: the view data are dicts, and Jinja2's default
    (attribute first, then key, through an AttributeError) costs a third of the render time at 2,000 DPs.
    Dict methods (``ui.items()``) still work unless a key of the same name exists."""

    def getattr(self, obj, attribute):  # pylint: disable=redefined-builtin
        if type(obj) is dict:  # pylint: disable=unidiomatic-typecheck
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


@functools.lru_cache(maxsize=8)
def template_environment(template_dir: str | None = None) -> Environment:
    """Jinja2 environment: the user's directory first, then ours (dp, then common)."""
    loaders = [FileSystemLoader(template_dir)] if template_dir else []
    loaders += [FileSystemLoader(os.path.join(TEMPLATE_ROOT, "dp")), FileSystemLoader(os.path.join(TEMPLATE_ROOT, "common"))]
    env = _Environment(loader=ChoiceLoader(loaders), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)

    def asset(name: str) -> Markup:
        """A CSS/JS file inlined as it is (not a template): ``</`` is refused so it cannot end its element."""
        source = env.loader.get_source(env, name)[0]
        if "</" in source:
            raise ValueError("asset %s contains '</', which would end its <style>/<script> element" % name)
        return Markup(source)

    env.globals["asset"] = asset
    return env


def _render(template: str, template_dir: str | None, context: dict) -> str:
    return template_environment(validate_template_dir(template_dir)).get_template(template).render(**context)


# ============================================================================================
# Shared view helpers
# ============================================================================================


def css(status: str) -> str:
    """CSS class suffix of a status (``N/A`` -> ``NA``)."""
    return status.replace("/", "")


def _num(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _free_thresholds(diagnosis: dict | None) -> tuple[float, float]:
    th = (diagnosis or {}).get("thresholds") or {}
    warn = th.get("free_space_warn_percent")
    fail = th.get("free_space_fail_percent")
    return (float(warn) if _num(warn) else DEFAULT_FREE_WARN_PERCENT, float(fail) if _num(fail) else DEFAULT_FREE_FAIL_PERCENT)


def _free_css(pct: object, warn: float, fail: float) -> str:
    if not _num(pct):
        return "UNKNOWN"
    return "FAIL" if pct < fail else "WARN" if pct < warn else "PASS"


def _bar_chart(ident: str, title: str, items: list[dict], ui: dict, *, unit_max: float, lines: list[dict],
               highest: bool, note_key: str) -> dict:
    """Horizontal bar chart geometry: items = [{label, value, text, css, raw}], sorted and cut by the caller."""
    total = len(items)
    items = items[:CHART_MAX_BARS]
    label_w, plot_w, bar_h, gap, top = 230, 460, 14, 5, 22
    scale = plot_w / unit_max if unit_max > 0 else 0
    bars = []
    for index, item in enumerate(items):
        width = max(1.0, min(plot_w, item["value"] * scale)) if item["value"] > 0 else 0.0
        bars.append(dict(item, y=top + index * (bar_h + gap), w=round(width, 1), clipped=item["value"] > unit_max))
    height = top + max(1, len(bars)) * (bar_h + gap) + 18
    for line in lines:
        line["x"] = round(label_w + min(plot_w, line["value"] * scale), 1)
    note = ""
    if total > len(items):
        note = ui[note_key].format(shown=len(items), total=total)
    return {"id": ident, "title": title, "bars": bars, "lines": lines, "label_w": label_w, "plot_w": plot_w,
            "bar_h": bar_h, "height": height, "width": label_w + plot_w + 90, "note": note, "empty": not bars,
            "highest": highest}


def free_space_chart(drives: list[dict], ui: dict, warn: float, fail: float) -> dict:
    """drives = [{dp, drive, free_percent, free_bytes, size_bytes}]: lowest free space first."""
    items = []
    for d in drives:
        pct = d.get("free_percent")
        if not _num(pct):
            continue
        text = "%s \u2014 %s" % (percent(pct), binary_size(d.get("free_bytes")))
        items.append({"label": "%s %s" % (d["dp"], d.get("drive") or ""), "value": max(0.0, float(pct)), "text": text,
                      "css": _free_css(pct, warn, fail), "dp": d["dp"]})
    items.sort(key=lambda i: (i["value"], i["label"]))
    lines = [{"value": warn, "label": ui["chart_threshold"].format(value=percent(warn)), "css": "WARN"},
             {"value": fail, "label": ui["chart_threshold"].format(value=percent(fail)), "css": "FAIL"}]
    return _bar_chart("chart-free", ui["chart_free"], items, ui, unit_max=100.0, lines=lines, highest=False,
                      note_key="chart_lowest")


def skew_chart(skews: list[tuple[str, float]], ui: dict, lang: str) -> dict:
    items = []
    for dp, seconds in skews:
        value = abs(float(seconds))
        status = "FAIL" if value > SKEW_FAIL_SECONDS else "WARN" if value > SKEW_WARN_SECONDS else "PASS"
        items.append({"label": dp, "value": value, "text": duration(seconds, lang), "css": status, "dp": dp})
    items.sort(key=lambda i: (-i["value"], i["label"]))
    top = max([i["value"] for i in items[:CHART_MAX_BARS]] + [SKEW_FAIL_SECONDS])
    unit_max = min(top, 2 * SKEW_FAIL_SECONDS) * 1.05
    lines = [{"value": SKEW_WARN_SECONDS, "label": duration(SKEW_WARN_SECONDS, lang), "css": "WARN"},
             {"value": SKEW_FAIL_SECONDS, "label": ui["chart_kerberos"].format(value=duration(SKEW_FAIL_SECONDS, lang)),
              "css": "FAIL"}]
    return _bar_chart("chart-skew", ui["chart_skew"], items, ui, unit_max=unit_max, lines=lines, highest=True,
                      note_key="chart_highest")


def stuck_chart(counts: list[tuple[str, int]], ui: dict) -> dict:
    items = [{"label": dp, "value": float(n), "text": str(n), "css": "FAIL", "dp": dp} for dp, n in counts if n > 0]
    items.sort(key=lambda i: (-i["value"], i["label"]))
    top = max([i["value"] for i in items] + [1.0])
    return _bar_chart("chart-stuck", ui["chart_stuck"], items, ui, unit_max=top * 1.05, lines=[], highest=True,
                      note_key="chart_highest")


def _stuck_count(dp: dict) -> int | None:
    content = dp.get("content")
    if isinstance(content, dict) and _num(content.get("stuck")):
        return int(content["stuck"])
    stuck = dp.get("stuck_packages")
    return len(stuck) if isinstance(stuck, list) else None


# ============================================================================================
# Dashboard
# ============================================================================================


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


def script_json(value: object) -> str:
    """JSON that is safe inside <script type="application/json">: no '<', '>' or '&' at all, so
    neither ``</script>`` nor ``<!--`` nor ``<![LOG[`` can appear in the element's text."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _evidence(check: str, finding: dict, lang: str, intern: _Interner, cache: dict) -> list[list]:
    """[label_i, text_i, raw_i or None, source, ok, is_block] per evidence item.

    Each distinct item is formatted once per render (``cache``): most items repeat on every DP, and
    the same (shared) list is put in the blob for all of them.
    """
    result = []
    for item in finding.get("evidence") or ():
        if not isinstance(item, dict):
            continue
        value, label, source, ok = item.get("value"), item.get("label"), item.get("source"), item.get("ok")
        # repr: fast, and exact for the JSON-like values of the engine (a different key order only misses the cache).
        key = (check, label, source, ok, value.__class__, value if value is None or isinstance(value, (str, int, float)) else repr(value))
        entry = cache.get(key)
        if entry is None:
            shown, block = evidence_text(check, value, lang)
            raw, _raw_block = base._fmt_value(value)
            entry = cache[key] = [intern(base._text(label)), intern(shown), intern(raw) if raw != shown else None,
                                  base._text(source), ok if isinstance(ok, bool) else None, 1 if block else 0]
        result.append(entry)
    return result


def _logs(finding: dict, ui: dict, lang: str, intern: _Interner, codes: dict) -> tuple[list, list]:
    """(log lines, error codes of the cell with their cause, once per code)."""
    lines, cell_codes, seen = [], [], set()
    for entry in finding.get("log_evidence") or []:
        if not isinstance(entry, dict):
            continue
        utc, local = base._log_times(entry, ui)
        for code in entry.get("error_codes") or []:
            if not isinstance(code, dict) or not code.get("hresult"):
                continue
            hresult = base._text(code["hresult"])
            if hresult not in codes:
                codes[hresult] = list(base._code_info(hresult, lang))
            if hresult not in seen:
                seen.add(hresult)
                win32 = code.get("win32")
                cell_codes.append([hresult, win32 if _num(win32) else None,
                                   intern(entry.get("cause")) if entry.get("cause") else None])
        line = entry.get("line_number")
        severity = base._text(entry.get("severity")) or "info"
        lines.append([base._text(entry.get("log")), line if _num(line) else None, utc, local,
                      base._text(entry.get("component")),
                      severity if severity in ("info", "warning", "error") else "info",
                      base._message_segments(base._text(entry.get("message")), entry.get("error_codes") or [])])
    return lines, cell_codes


def _dp_extra(dp: dict, intern: _Interner) -> dict | None:
    """Role, content counts and stuck packages of a DP (contract with the content/pull-DP probes)."""
    extra: dict = {}
    role = dp.get("role")
    if isinstance(role, dict):
        extra["role"] = {"pull_dp": role.get("pull_dp"), "pxe": role.get("pxe"),
                         "sources": [[base._text(s.get("name")), s.get("rank"), s.get("reachable")]
                                     for s in role.get("source_dps") or [] if isinstance(s, dict)]}
    content = dp.get("content")
    if isinstance(content, dict):
        extra["content"] = {k: content.get(k) for k in ("total", "installed", "stuck", "truncated")}
    stuck = dp.get("stuck_packages")
    if isinstance(stuck, list):
        extra["stuck"] = [[base._text(p.get("package_id")), base._text(p.get("name")),
                           intern(base._text(p.get("state_text")) or base._text(p.get("state"))),
                           base._text(p.get("message_id")), base._fmt_time(p.get("message_time")),
                           base._text(p.get("source_version")), intern(p.get("cause")), intern(p.get("fix")),
                           intern(p.get("message")), base._text(p.get("check"))]
                          for p in stuck if isinstance(p, dict)]
    return extra or None


def _blob(lang: str, dps: list[tuple[str, str, list[dict]]], raw_dps: list[dict]) -> dict:
    """Blob layout (positional arrays keep 18,000 findings small):

    s: interned strings (every *_i is an index into s, or null); checks: the nine check ids;
    dps: [name, overall, [finding x 9], extra]; finding: [status, summary_i, title_i, heading_i,
    explanation_i, remediation_i, evidence, logs, codes]; evidence: see _evidence; log line: [log,
    line_number, utc_text, local_text, component, severity, segments] (odd segments are error codes);
    codes (per cell, once per code): [hresult, win32, cause_i]; codes (top level): {hresult: [name,
    meaning]}; ui: the UI_TEXT strings the script needs.
    """
    ui = base.UI_TEXT[lang]
    intern = _Interner()
    codes: dict[str, list[str]] = {}
    rows = []
    cache: dict = {}
    for (name, overall, findings), raw in zip(dps, raw_dps):
        cells = []
        for finding in findings:
            check = finding["check"]
            texts = check_text(check, lang)
            log_lines, cell_codes = _logs(finding, ui, lang, intern, codes)
            heading = finding.get("heading", texts["heading"])
            cells.append([
                base._status(finding.get("status")),
                intern(base._text(finding.get("summary"))),
                intern(base._text(finding.get("title")) or texts["title"]),
                intern(heading) if heading else None,
                intern(base._text(finding.get("explanation", texts["explanation"]))),
                intern(base._text(finding.get("remediation", texts["remediation"]))),
                _evidence(check, finding, lang, intern, cache),
                log_lines,
                cell_codes,
            ])
        rows.append([name, overall, cells, _dp_extra(raw, intern)])
    keys = ("no_evidence", "item", "value", "source", "result", "no_logs", "cause", "remediation", "explanation",
            "evidence", "log_lines", "checklist_item", "raw_value", "error_codes", "this_dp", "stuck_packages",
            "pkg_id", "pkg_name", "pkg_state", "pkg_message", "pkg_version", "pkg_cause", "pkg_fix", "no_stuck",
            "content_counts", "truncated", "role_pull", "role_pxe", "role_standard", "source_dps", "rank",
            "reachable", "unreachable", "unknown", "col_content")
    js_ui: dict = {key: ui[key] for key in keys}
    js_ui["st"] = {status: ui["status_" + status] for status in base.STATUSES}
    js_ui["sym"] = dict(base.STATUS_SYMBOLS)
    js_ui["src"] = {"site": ui["source_site"], "dp": ui["source_dp"], "log": ui["source_log"]}
    js_ui["sev"] = {"info": ui["severity_info"], "warning": ui["severity_warning"], "error": ui["severity_error"]}
    return {"v": 2, "s": intern.strings, "checks": list(CHECK_IDS), "dps": rows, "codes": codes, "ui": js_ui}


def _dashboard_charts(raw_dps: list[dict], dps: list[tuple[str, str, list[dict]]], ui: dict, lang: str,
                      diagnosis: dict) -> list[dict]:
    warn, fail = _free_thresholds(diagnosis)
    drives, skews, stuck, any_stuck = [], [], [], False
    free_index, time_index = CHECK_IDS.index("free_space"), CHECK_IDS.index("time_sync")
    for raw, (name, _overall, findings) in zip(raw_dps, dps):
        for item in findings[free_index].get("evidence") or ():
            value = item.get("value") if isinstance(item, dict) else None
            if isinstance(value, dict) and item.get("source") == "dp":
                match = _DRIVE_RE.search(base._text(item.get("label")))
                drives.append(dict(value, dp=name, drive=match.group(1) if match else ""))
        for item in findings[time_index].get("evidence") or ():
            value = item.get("value") if isinstance(item, dict) else None
            if _num(value):
                skews.append((name, value))
        count = _stuck_count(raw)
        if count is not None:
            any_stuck = True
            stuck.append((name, count))
    charts = [free_space_chart(drives, ui, warn, fail), skew_chart(skews, ui, lang)]
    if any_stuck:
        charts.append(stuck_chart(stuck, ui))
    return charts


def _chips(dps: list[tuple[str, str, list[dict]]], counts: dict, ui: dict) -> list[dict]:
    cells = dict.fromkeys(base.STATUSES, 0)
    for _name, _overall, findings in dps:
        for finding in findings:
            cells[base._status(finding.get("status"))] += 1
    chips = []
    for status in base.SEVERITY_ORDER:
        dp_count = counts.get(base.count_key(status), 0)
        if status == "N/A" and not dp_count and not cells[status]:
            continue
        chips.append({"status": status, "css": css(status), "label": base._status_word(status, ui),
                      "dps": dp_count, "cells": cells[status],
                      "text": ui["chip_counts"].format(dps=dp_count, cells=cells[status])})
    return chips


def render_html(diagnosis: dict, template_dir: str | None = None) -> str:
    """Self-contained HTML dashboard: DPs (rows) x nine checks (columns), charts, details panel.

    Args:
        diagnosis: The diagnosis document (in-memory form or the JSON file's form with ``checks``).
        template_dir: A directory whose files replace ours by name (see TEMPLATE_FILES).
    """
    diagnosis = base.expand_diagnosis(diagnosis)
    lang = base._lang(diagnosis.get("language"))
    ui = base.UI_TEXT[lang]
    raw_dps = [dp for dp in diagnosis.get("dps") or [] if isinstance(dp, dict)]
    dps = base._prepared_dps(diagnosis, lang)
    counts = base._summary_counts(diagnosis, dps)
    identity = diagnosis.get("probe_identity") or {}
    per_check = [dict.fromkeys(base.STATUSES, 0) for _check in CHECK_IDS]
    for _name, _overall, findings in dps:
        for index, finding in enumerate(findings):
            per_check[index][base._status(finding.get("status"))] += 1
    columns = []
    for index, (check, title, heading) in enumerate(base._columns(lang)):
        parts = [{"css": css(st), "sym": base.STATUS_SYMBOLS[st], "n": per_check[index][st]}
                 for st in ("FAIL", "WARN", "UNKNOWN") if per_check[index][st]]
        columns.append({"check": check, "n": index + 1, "title": title, "heading": heading if heading != title else "",
                        "counts": parts or [{"css": "PASS", "sym": base.STATUS_SYMBOLS["PASS"], "n": per_check[index]["PASS"]}]})
    stuck_counts = [_stuck_count(raw) for raw in raw_dps]
    has_content = any(n is not None for n in stuck_counts)
    rows = []
    for (name, overall, findings), raw, stuck in zip(dps, raw_dps, stuck_counts):
        role = raw.get("role") if isinstance(raw.get("role"), dict) else {}
        tags = [ui["role_pull"]] if role.get("pull_dp") else []
        tags += [ui["role_pxe"]] if role.get("pxe") else []
        rows.append({"name": name, "overall": css(overall), "overall_word": ui["status_" + overall],
                     "sym": base.STATUS_SYMBOLS[overall], "cells": [css(base._status(f.get("status"))) for f in findings],
                     "tags": tags, "stuck": stuck})
    total = sum(counts.get(base.count_key(s), 0) for s in base.STATUSES) or 1
    summary = diagnosis.get("summary") or {}
    stuck_total = summary.get("stuck_packages") if _num(summary.get("stuck_packages")) else (
        sum(n for n in stuck_counts if n) if has_content else None)
    context = {
        "lang": lang,
        "ui": ui,
        "title": "%s \u2014 %s" % (ui["title"], base._text(diagnosis.get("site_code")) or base._text(diagnosis.get("site_server"))),
        "site_server": base._text(diagnosis.get("site_server")) or "\u2014",
        "site_code": base._text(diagnosis.get("site_code")) or "\u2014",
        "generated_raw": base._text(diagnosis.get("generated_at")),
        "generated": base._fmt_generated(diagnosis.get("generated_at")),
        "identity": base._identity_text(identity, ui),
        "untrusted": base._untrusted(identity),
        "identity_warning": base._text(identity.get("warning")),
        "dp_count": counts["dps"],
        "cell_count": sum(len(f) for _n, _o, f in dps),
        "chips": _chips(dps, counts, ui),
        "stuck_total": stuck_total,
        "bar": [{"css": css(s), "width": "%.3f" % (100.0 * counts.get(base.count_key(s), 0) / total)}
                for s in base.SEVERITY_ORDER if counts.get(base.count_key(s), 0)],
        "legend": [{"css": css(s), "label": base._status_label(s, ui), "text": ui["legend_" + s]} for s in base.STATUSES],
        "columns": columns,
        "rows": rows,
        "has_content": has_content,
        "cell_words": {css(s): base._status_word(s, ui) for s in base.STATUSES},
        "charts": _dashboard_charts(raw_dps, dps, ui, lang, diagnosis) if dps else [],
        "blob": Markup(script_json(_blob(lang, dps, raw_dps))),
    }
    return _render("dashboard.html.j2", template_dir, context)


# ============================================================================================
# Fleet table
# ============================================================================================


def _yes_no(value: object, ui: dict, yes: str, no: str, health: bool) -> dict:
    if value is True:
        return {"css": "PASS" if health else "", "v": 1, "text": ("%s %s" % (base.STATUS_SYMBOLS["PASS"], yes)) if health else yes}
    if value is False:
        return {"css": "FAIL" if health else "", "v": 0, "text": ("%s %s" % (base.STATUS_SYMBOLS["FAIL"], no)) if health else no}
    return {"css": "UNKNOWN" if health else "", "v": 2,
            "text": ("%s %s" % (base.STATUS_SYMBOLS["UNKNOWN"], ui["unknown"])) if health else ui["unknown"]}


def render_inventory_html(rows: list[dict], language: str = "en", template_dir: str | None = None,
                          thresholds: dict | None = None) -> str:
    """Fleet table as a self-contained, sortable HTML page with a free-space chart."""
    lang = base._lang(language)
    ui = base.UI_TEXT[lang]
    warn, fail = _free_thresholds({"thresholds": thresholds or {}})
    rows = [r for r in rows or [] if isinstance(r, dict)]
    has_stuck = any(_stuck_count(r) is not None for r in rows)
    view, drives, stuck = [], [], []
    for row in rows:
        name = base._text(row.get("dp"))
        build, ubr = base._build_parts(row.get("os_build"))
        cells = []
        for drive in base._drives(row):
            pct = drive.get("free_percent")
            drives.append(dict(drive, dp=name))
            cells.append({"drive": base._text(drive.get("drive")), "css": _free_css(pct, warn, fail),
                          "width": "%.1f" % (max(0.0, min(100.0, float(pct))) if _num(pct) else 0.0),
                          "text": ui["drive_free"].format(pct=percent(pct), free=binary_size(drive.get("free_bytes")),
                                                          size=binary_size(drive.get("size_bytes"))),
                          "raw": "free_bytes=%s size_bytes=%s free_percent=%s" % (
                              drive.get("free_bytes"), drive.get("size_bytes"), pct)})
        min_free = base._min_free(row)
        count = _stuck_count(row)
        if count is not None:
            stuck.append((name, count))
        view.append({
            "dp": name, "site_code": base._text(row.get("site_code")),
            "os": base._text(row.get("os_product")) or "\u2014",
            "build": base._text(row.get("os_build")) or "\u2014",
            "build_sort": "%d.%06d" % (build, ubr or 0) if build is not None else "",
            "patched": _yes_no(row.get("patched"), ui, ui["yes_patched"], ui["no_patched"], True),
            "drives": cells, "min_free": "" if min_free is None else "%.3f" % min_free,
            "min_css": _free_css(min_free, warn, fail) if min_free is not None else "",
            "shares": _yes_no(row.get("shares_ok"), ui, ui["ok"], ui["ng"], True),
            "wmi": _yes_no(row.get("wmi_ok"), ui, ui["ok"], ui["ng"], True),
            "pull_dp": _yes_no(row.get("pull_dp"), ui, ui["inv_yes"], ui["inv_no"], False),
            "pxe": _yes_no(row.get("pxe"), ui, ui["inv_yes"], ui["inv_no"], False),
            "stuck": count,
            "last_seen": base._fmt_time(row.get("last_seen_utc")) or "\u2014",
        })
    charts = [free_space_chart(drives, ui, warn, fail)] if rows else []
    if has_stuck:
        charts.append(stuck_chart(stuck, ui))
    context = {"lang": lang, "ui": ui, "rows": view, "charts": charts, "has_stuck": has_stuck,
               "low_count": sum(1 for r in view if r["min_css"] in ("FAIL", "WARN"))}
    return _render("inventory.html.j2", template_dir, context)
