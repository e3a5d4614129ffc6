# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_dp_report.py."""
from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_knowledge import CHECK_IDS, check_text
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_report import (
    INVENTORY_CSV_COLUMNS,
    STATUS_SYMBOLS,
    UI_TEXT,
    expand_diagnosis,
    render_html,
    render_inventory_csv,
    render_inventory_html,
    render_inventory_json,
    render_json,
    render_junit,
    render_markdown,
    write_inventory,
    write_reports,
)

DATA = Path(__file__).resolve().parents[2] / "test_data" / "dp_report"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_LOG = "<![LOG[x]LOG]!>"


def _load(name: str):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture(params=["en", "ja"])
def diagnosis(request) -> dict:
    return _load("diagnosis_%s.json" % request.param)


@pytest.fixture()
def diagnosis_en() -> dict:
    return _load("diagnosis_en.json")


@pytest.fixture()
def diagnosis_ja() -> dict:
    return _load("diagnosis_ja.json")


@pytest.fixture()
def inventory() -> list[dict]:
    return _load("inventory.json")


# ------------------------------------------------------------------------------------------
# A tiny DOM on top of html.parser: strict about nesting so a broken escape shows up
# ------------------------------------------------------------------------------------------

VOID = {"meta", "input", "br", "img", "hr", "link", "source", "wbr", "col", "area", "base"}


class Node:
    def __init__(self, tag: str, attrs: dict, parent: Node | None) -> None:
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs) -> list[Node]:
        return [n for n in self.iter() if (tag is None or n.tag == tag) and all(n.attrs.get(k) == v for k, v in attrs.items())]

    def by_id(self, ident: str) -> Node | None:
        found = self.find_all(id=ident)
        return found[0] if found else None

    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()


class Dom(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root
        self.errors: list[str] = []
        self.declarations: list[str] = []
        self.comments: list[str] = []
        self.feed(text)
        self.close()
        if self.cur is not self.root:
            self.errors.append("unclosed <%s>" % self.cur.tag)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, dict(attrs), self.cur))

    def handle_endtag(self, tag):
        if self.cur.tag == tag:
            self.cur = self.cur.parent
        else:
            self.errors.append("</%s> closes <%s>" % (tag, self.cur.tag))

    def handle_data(self, data):
        self.cur.children.append(data)

    def unknown_decl(self, data):
        self.declarations.append(data)

    def handle_comment(self, data):
        self.comments.append(data)


def _dom(text: str) -> Dom:
    dom = Dom(text)
    assert dom.errors == []
    return dom


def _grid_rows(dom: Dom) -> list[Node]:
    grid = dom.root.by_id("grid")
    assert grid is not None
    (tbody,) = grid.find_all("tbody")
    return [row for row in tbody.children if isinstance(row, Node) and row.tag == "tr"]


def _blob(dom: Dom) -> dict:
    node = dom.root.by_id("dp-data")
    assert node is not None and node.tag == "script" and node.attrs.get("type") == "application/json"
    return json.loads(node.text())


def _finding(check: str, status: str, summary: str, **extra) -> dict:
    texts = check_text(check, "en")
    finding = {"check": check, "status": status, "title": texts["title"], "heading": texts["heading"],
               "explanation": texts["explanation"], "remediation": texts["remediation"], "summary": summary,
               "evidence": [], "log_evidence": []}
    finding.update(extra)
    return finding


def _hostile() -> dict:
    """A diagnosis whose every text field tries to break out of its context."""
    message = 'x ' + XSS_LOG + ' ' + XSS_SCRIPT + ' </script><script>alert(2)</script> "q" \'s\' & <!-- c --> (0x35)'
    log = {"log": "distmgr.log", "line_number": 7, "time_utc": "2023-08-13T01:15:30.123Z",
           "time_local": "2023-08-13T10:15:30.123", "bias_minutes": -540, "component": "<b>comp</b>",
           "severity": "error", "message": message,
           "error_codes": [{"raw": "(0x35)", "hresult": "0x80070035", "win32": 53}], "cause": "<i>cause</i> & more"}
    findings = [_finding(check, "PASS", "ok " + check) for check in CHECK_IDS]
    findings[1] = _finding("ports", "FAIL", "summary " + XSS_LOG + XSS_SCRIPT,
                           evidence=[{"label": '"label" <b>&amp;</b>', "value": {"k": XSS_SCRIPT}, "source": "<dp>", "ok": False},
                                     {"label": "plain", "value": XSS_LOG, "source": "dp", "ok": None}],
                           log_evidence=[log], remediation="Run `<script>alert(3)</script>` then " + XSS_SCRIPT)
    return {
        "generated_at": "2026-11-21T12:00:00Z", "language": "en", "site_server": '<img src=x onerror="alert(4)">',
        "site_code": "P&S", "probe_identity": {"as_system": False, "user": XSS_SCRIPT, "trusted": False, "warning": XSS_LOG + XSS_SCRIPT},
        "dps": [{"dp": XSS_SCRIPT + ".evil", "overall": "FAIL", "findings": findings}],
        "summary": {"dps": 1, "pass": 0, "warn": 0, "fail": 1, "unknown": 0},
    }


# ------------------------------------------------------------------------------------------
# UI texts
# ------------------------------------------------------------------------------------------


def test_ui_text_tables_match_and_japanese_is_japanese():
    assert set(UI_TEXT["en"]) == set(UI_TEXT["ja"])
    same_allowed = {"inv_os", "inv_wmi", "list_sep"}
    assert UI_TEXT["ja"]["list_sep"] == "、"
    for key, en in UI_TEXT["en"].items():
        ja = UI_TEXT["ja"][key]
        assert en and ja, key
        if key.startswith("status_"):
            continue
        if key not in same_allowed:
            assert JAPANESE.search(ja), key
    assert UI_TEXT["en"]["drive_free"].count("{") == UI_TEXT["ja"]["drive_free"].count("{") == 3


# ------------------------------------------------------------------------------------------
# HTML dashboard
# ------------------------------------------------------------------------------------------


def test_html_one_row_per_dp_nine_cells_with_status_classes(diagnosis):
    lang = diagnosis["language"]
    dom = _dom(render_html(diagnosis))
    rows = _grid_rows(dom)
    assert len(rows) == len(diagnosis["dps"]) == 8
    for row, dp in zip(rows, diagnosis["dps"]):
        (header,) = [c for c in row.children if isinstance(c, Node) and c.tag == "th"]
        assert header.text().endswith(dp["dp"])
        assert "r-" + dp["overall"] in row.classes()
        cells = [c for c in row.children if isinstance(c, Node) and c.tag == "td"]
        assert len(cells) == 9
        for cell, finding in zip(cells, dp["findings"]):
            assert cell.classes() == ["s-" + finding["status"]]
            label = cell.text()
            assert label == "%s %s" % (STATUS_SYMBOLS[finding["status"]], UI_TEXT[lang]["status_" + finding["status"]])


def test_html_lang_attribute_and_charset(diagnosis):
    dom = _dom(render_html(diagnosis))
    (html_node,) = dom.root.find_all("html")
    assert html_node.attrs["lang"] == diagnosis["language"]
    assert dom.root.find_all("meta", charset="utf-8")


def test_html_japanese_ui_text(diagnosis_ja, diagnosis_en):
    ja = render_html(diagnosis_ja)
    for key in ("title", "col_dp", "legend_FAIL", "hint", "only_problems", "status_FAIL", "identity_banner_title"):
        assert UI_TEXT["ja"][key] in ja, key
    assert UI_TEXT["en"]["title"] not in ja and UI_TEXT["en"]["hint"] not in ja
    blob = _blob(_dom(ja))
    assert blob["ui"]["evidence"] == "確認結果" and blob["ui"]["st"]["FAIL"] == "エラー"
    en = render_html(diagnosis_en)
    assert UI_TEXT["en"]["title"] in en and UI_TEXT["ja"]["title"] not in en


def test_html_column_headers_show_title_and_seed_heading(diagnosis_en):
    dom = _dom(render_html(diagnosis_en))
    headers = [th for th in dom.root.find_all("th") if "data-check" in th.attrs]
    assert [th.attrs["data-check"] for th in headers] == list(CHECK_IDS)
    for index, (th, check) in enumerate(zip(headers, CHECK_IDS)):
        texts = check_text(check, "en")
        assert texts["title"] in th.text() and texts["heading"] in th.text()
        assert th.text().startswith("%d." % (index + 1))
    # Per-check counts: ports fails on one DP in the sample.
    assert "%s1" % STATUS_SYMBOLS["FAIL"] in headers[1].text()


def test_html_identity_banner_only_when_untrusted(diagnosis_en, diagnosis_ja):
    assert diagnosis_en["probe_identity"]["trusted"] is True
    assert _dom(render_html(diagnosis_en)).root.by_id("identity-warning") is None
    banner = _dom(render_html(diagnosis_ja)).root.by_id("identity-warning")
    assert banner is not None
    assert diagnosis_ja["probe_identity"]["warning"] in banner.text()
    assert "CONTOSO\\cmadmin" in banner.text()
    flipped = copy.deepcopy(diagnosis_en)
    flipped["probe_identity"].update({"trusted": False, "as_system": False, "user": "CONTOSO\\admin", "warning": "ran as admin"})
    banner = _dom(render_html(flipped)).root.by_id("identity-warning")
    assert banner is not None and "ran as admin" in banner.text() and UI_TEXT["en"]["identity_banner_title"] in banner.text()
    trusted_ja = copy.deepcopy(diagnosis_ja)
    trusted_ja["probe_identity"]["trusted"] = True
    assert _dom(render_html(trusted_ja)).root.by_id("identity-warning") is None


def test_html_summary_bar_meta_and_counts(diagnosis_en):
    dom = _dom(render_html(diagnosis_en))
    summary = dom.root.by_id("summary")
    chips = {n.attrs["data-status"]: n for n in summary.find_all("span") if "data-status" in n.attrs}
    for status in ("PASS", "WARN", "FAIL", "UNKNOWN"):
        assert chips[status].find_all("b")[0].text() == str(diagnosis_en["summary"][status.lower()])
    (header,) = dom.root.find_all("header")
    text = header.text()
    assert "cm01.contoso.local" in text and "PS1" in text and "2026-11-21 12:00:00 UTC" in text
    assert dom.root.find_all("time")[0].attrs["datetime"] == "2026-11-21T12:00:00Z"


def test_html_is_self_contained(diagnosis_en):
    text = render_html(diagnosis_en)
    dom = _dom(text)
    assert not dom.root.find_all("link")
    for node in dom.root.iter():
        for attr in ("src", "href", "action"):
            assert attr not in node.attrs, (node.tag, attr)
    assert "@import" not in text and "url(" not in text
    scripts = dom.root.find_all("script")
    assert [s.attrs.get("type") for s in scripts] == ["application/json", None]


def test_html_escapes_everything():
    hostile = _hostile()
    text = render_html(hostile)
    dom = _dom(text)
    # Nothing hostile appears as markup: no extra elements, no CMTrace declaration, no comment.
    assert "<script>alert" not in text and "<![LOG[" not in text and "<img" not in text and "<!-- c" not in text
    assert len(dom.root.find_all("script")) == 2
    assert not dom.root.find_all("img") and not dom.root.find_all("i")
    assert all(b.text() not in ("comp", "&amp;") for b in dom.root.find_all("b"))
    assert dom.declarations == [] and dom.comments == []
    # ...but every text comes back unchanged (escaped once, not twice).
    row = _grid_rows(dom)[0]
    assert row.children[0].text().endswith(XSS_SCRIPT + ".evil")
    header_text = dom.root.find_all("header")[0].text()
    assert hostile["site_server"] in header_text and "P&S" in header_text
    assert XSS_LOG + XSS_SCRIPT in dom.root.by_id("identity-warning").text()
    blob_text = dom.root.by_id("dp-data").text()
    assert "<" not in blob_text and ">" not in blob_text and "&" not in blob_text
    blob = json.loads(blob_text)
    name, overall, cells, _extra = blob["dps"][0]
    assert name == XSS_SCRIPT + ".evil" and overall == "FAIL"
    strings = blob["s"]
    status, summary, _title, _heading, _expl, remediation, evidence, logs, codes = cells[1]
    assert status == "FAIL" and strings[summary] == hostile["dps"][0]["findings"][1]["summary"]
    assert strings[remediation].startswith("Run `<script>")
    assert strings[evidence[0][0]] == '"label" <b>&amp;</b>' and XSS_SCRIPT in strings[evidence[0][1]]
    log = logs[0]
    original = hostile["dps"][0]["findings"][1]["log_evidence"][0]
    assert "".join(log[6]) == original["message"]
    assert log[6][1::2] == ["(0x35)"]
    assert log[4] == "<b>comp</b>"
    # The possible cause is given once per error code of the cell, not under each log line.
    assert len(log) == 7 and [c[0] for c in codes] == ["0x80070035"] and strings[codes[0][2]] == "<i>cause</i> & more"


def test_html_script_never_uses_innerhtml(diagnosis_en):
    dom = _dom(render_html(diagnosis_en))
    code = dom.root.find_all("script")[1].text()
    assert "textContent" in code, "the dashboard script is missing"
    code = "\n".join(line for line in code.splitlines() if not line.strip().startswith("/*"))
    assert "innerHTML" not in code and "outerHTML" not in code and "insertAdjacentHTML" not in code
    assert "document.write" not in code and "eval(" not in code
    assert "hashchange" in code


def test_html_blob_carries_details(diagnosis_en):
    blob = _blob(_dom(render_html(diagnosis_en)))
    assert blob["checks"] == list(CHECK_IDS)
    strings = blob["s"]
    assert len(strings) == len(set(strings))  # interned
    by_name = {row[0]: row for row in blob["dps"]}
    dp02 = by_name["dp02.osaka.contoso.local"]
    ports = dp02[2][1]
    source = diagnosis_en["dps"][1]["findings"][1]
    assert ports[0] == "FAIL" and strings[ports[1]] == source["summary"]
    assert strings[ports[5]] == source["remediation"] and strings[ports[3]] == "通信 ポート の開放状況"
    assert [strings[e[0]] for e in ports[6]] == [e["label"] for e in source["evidence"]]
    assert [e[4] for e in ports[6]] == [False, True, True]
    first = ports[7][0]
    assert first[0] == "distmgr.log" and first[1] == 18211
    assert first[2] == "2026-11-21 11:41:07.311 UTC"
    assert first[3] == "local 2026-11-21 20:41:07.311 (UTC+09:00, bias -540)"
    assert first[6][1::2] == ["(0x35)"] and ports[8][0][:2] == ["0x80070035", 53]
    assert blob["codes"]["0x80070035"][0] == "ERROR_BAD_NETPATH"
    # The truncated CMTrace record of dp08 has no time: shown as "time unknown".
    dp08 = by_name["dp08.hiroshima.contoso.local"]
    raw = dp08[2][2][7][2]
    assert raw[2] == UI_TEXT["en"]["time_unknown"] and raw[3] == ""
    assert "".join(raw[6]).startswith("<![LOG[Failed to copy")


def test_html_empty_state():
    empty = {"generated_at": "2026-11-21T12:00:00Z", "language": "ja", "site_server": "cm01", "site_code": "PS1",
             "probe_identity": {"as_system": True, "user": None, "trusted": True, "warning": None},
             "dps": [], "summary": {"dps": 0, "pass": 0, "warn": 0, "fail": 0, "unknown": 0}}
    dom = _dom(render_html(empty))
    assert dom.root.by_id("grid") is None
    assert dom.root.by_id("empty").text() == UI_TEXT["ja"]["no_dps"]
    assert _blob(dom)["dps"] == []
    md = render_markdown(empty)
    assert UI_TEXT["ja"]["no_dps"] in md
    root = ET.fromstring(render_junit(empty).encode("utf-8"))
    assert root.get("tests") == "0" and len(root) == 0


def test_html_missing_or_unknown_findings_become_unknown_cells(diagnosis_en):
    broken = copy.deepcopy(diagnosis_en)
    broken["dps"][0]["findings"] = broken["dps"][0]["findings"][:4]  # engine bug: 5 checks missing
    broken["dps"][1]["findings"][0]["status"] = "weird"
    rows = _grid_rows(_dom(render_html(broken)))
    cells = [c for c in rows[0].children if isinstance(c, Node) and c.tag == "td"]
    assert [c.classes()[0] for c in cells] == ["s-PASS"] * 4 + ["s-UNKNOWN"] * 5
    cells = [c for c in rows[1].children if isinstance(c, Node) and c.tag == "td"]
    assert cells[0].classes() == ["s-UNKNOWN"]


def _scaled(count: int) -> dict:
    sample = _load("diagnosis_en.json")
    dps = []
    for index in range(count):
        template = sample["dps"][index % len(sample["dps"])]
        text = json.dumps(template, ensure_ascii=False).replace(template["dp"], "dp%04d.contoso.local" % index)
        dps.append(json.loads(text))
    sample["dps"] = dps
    sample["summary"] = {"dps": count}
    return sample


def test_html_stays_small_for_2000_dps():
    diagnosis = _scaled(2000)
    text = render_html(diagnosis)
    assert len(text.encode("utf-8")) < 6_000_000
    dom = _dom(text)
    assert len(_grid_rows(dom)) == 2000
    # Missing summary counts are computed from the DPs.
    chips = {n.attrs["data-status"]: n for n in dom.root.by_id("summary").find_all("span") if "data-status" in n.attrs}
    assert chips["PASS"].find_all("b")[0].text() == "250"
    # Cells are counted too, and the cell counts add up to DPs x 9.
    cells = {status: int(chip.attrs["data-cells"]) for status, chip in chips.items()}
    assert sum(cells.values()) == 2000 * 9 and cells["PASS"] > 250 * 9


def test_renderers_do_not_mutate_input(diagnosis, inventory):
    before = copy.deepcopy(diagnosis)
    rows_before = copy.deepcopy(inventory)
    render_html(diagnosis)
    render_markdown(diagnosis)
    render_junit(diagnosis)
    render_json(diagnosis)
    render_inventory_csv(inventory)
    render_inventory_html(inventory, "ja")
    render_inventory_json(inventory)
    assert diagnosis == before and inventory == rows_before


# ------------------------------------------------------------------------------------------
# Markdown
# ------------------------------------------------------------------------------------------


def _md_html(text: str) -> str:
    markdown_it = pytest.importorskip("markdown_it")
    return markdown_it.MarkdownIt("commonmark").enable("table").render(text)


def _visible(html_text: str) -> str:
    return _dom("<div>%s</div>" % html_text).root.text()


def test_markdown_lists_failing_findings_and_hides_pass_details(diagnosis):
    md = render_markdown(diagnosis)
    visible = _visible(_md_html(md))
    pass_summaries = set()
    for dp in diagnosis["dps"]:
        for finding in dp["findings"]:
            if finding["status"] == "PASS":
                pass_summaries.add(finding["summary"])
            else:
                assert finding["summary"] in visible, finding["summary"]
                for entry in finding["log_evidence"]:
                    assert entry["message"] in md  # verbatim inside a code block
                for item in finding["evidence"]:
                    assert item["label"] in visible
    for summary in pass_summaries:
        assert summary not in md and summary not in visible
    # The healthy DP is one line, not a section.
    assert "## dp01.contoso.local" not in md
    (line,) = [line for line in md.splitlines() if "dp01.contoso.local" in line]
    assert line.startswith(STATUS_SYMBOLS["PASS"])
    assert "## dp02.osaka.contoso.local" in md


def test_markdown_remediation_and_log_code_blocks(diagnosis_en):
    md = render_markdown(diagnosis_en)
    html_text = _md_html(md)
    ports = diagnosis_en["dps"][1]["findings"][1]
    assert "netsh int ipv4 show dynamicport tcp" in html_text
    assert "<code>netsh int ipv4 show dynamicport tcp</code>" in html_text
    assert "Test-NetConnection &lt;DP&gt; -Port 445" in html_text  # <DP> survives as text
    assert '<pre><code class="language-text">' in html_text
    assert ports["log_evidence"][0]["message"] in _visible(html_text)
    assert "(UTC+09:00, bias -540)" in md


def test_markdown_escapes_pipes_in_tables(diagnosis_en):
    piped = copy.deepcopy(diagnosis_en)
    piped["dps"][1]["dp"] = "dp|02.contoso.local"
    md = render_markdown(piped)
    (row,) = [line for line in md.splitlines() if line.startswith("| dp") and "02.contoso" in line]
    assert "dp\\|02.contoso.local" in row
    dom = _dom("<div>%s</div>" % _md_html(md))
    tables = dom.root.find_all("table")
    problem_rows = [tr for tr in tables[1].find_all("tr")]
    cells = [[td.text() for td in tr.find_all("td")] for tr in problem_rows]
    assert ["dp|02.contoso.local", "\u2716 FAIL", "\u2716 Network ports, ? SMB shares"] in cells
    assert all(len(tr.find_all("td")) in (0, 3) for tr in problem_rows)


def test_markdown_is_inert_and_keeps_texts():
    hostile = _hostile()
    md = render_markdown(hostile)
    html_text = _md_html(md)
    dom = _dom("<div>%s</div>" % html_text)
    assert not dom.root.find_all("script") and not dom.root.find_all("img") and not dom.root.find_all("i")
    visible = dom.root.text()
    assert hostile["dps"][0]["findings"][1]["summary"] in visible
    assert XSS_LOG + XSS_SCRIPT in visible  # the probe warning
    assert hostile["site_server"] in visible
    assert "<script>alert(3)</script>" in visible  # from a code span of the remediation


def test_markdown_code_fence_is_longer_than_backticks_in_logs(diagnosis_en):
    tricky = copy.deepcopy(diagnosis_en)
    tricky["dps"][1]["findings"][1]["log_evidence"][0]["message"] = "before\n```\n# not a heading\nafter"
    md = render_markdown(tricky)
    assert "````text\n" in md
    assert "# not a heading" not in _visible(_md_html(md)).split("before", 1)[0]
    assert "<h1>not a heading</h1>" not in _md_html(md)


# ------------------------------------------------------------------------------------------
# JUnit XML
# ------------------------------------------------------------------------------------------


def test_junit_counts_tests_failures_and_skipped(diagnosis):
    text = render_junit(diagnosis)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    findings = [f for dp in diagnosis["dps"] for f in dp["findings"]]
    fails = sum(f["status"] == "FAIL" for f in findings)
    unknown = sum(f["status"] == "UNKNOWN" for f in findings)
    # junit-10.xsd has no skipped count on <testsuites>: the skipped cases are counted per suite.
    assert (root.get("tests"), root.get("failures"), root.get("skipped"), root.get("errors")) == (
        str(len(findings)), str(fails), None, "0")
    suites = root.findall("testsuite")
    assert sum(int(s.get("skipped")) for s in suites) == unknown
    assert [s.get("name") for s in suites] == [dp["dp"] for dp in diagnosis["dps"]]
    for suite, dp in zip(suites, diagnosis["dps"]):
        cases = suite.findall("testcase")
        assert len(cases) == 9 == int(suite.get("tests"))
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
        assert int(suite.get("skipped")) == len(suite.findall("testcase/skipped"))
        props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
        assert props["overall"] == dp["overall"]
        assert props["warnings"] == ",".join(f["check"] for f in dp["findings"] if f["status"] == "WARN")
        classnames = {c.get("classname") for c in cases}
        assert classnames == {"PS1." + dp["dp"].replace(".", "_")}
        for case, finding, check in zip(cases, dp["findings"], CHECK_IDS):
            assert case.get("name").startswith("%02d %s: " % (CHECK_IDS.index(check) + 1, check))
            assert case.get("name").endswith("[%s]" % dp["dp"])
            failure, skipped, out = case.find("failure"), case.find("skipped"), case.find("system-out")
            if finding["status"] == "FAIL":
                assert failure.get("message") == finding["summary"]
                assert finding["remediation"] in failure.text
                for item in finding["evidence"]:
                    assert item["label"] in failure.text
                for entry in finding["log_evidence"]:
                    assert entry["message"] in failure.text
                assert skipped is None and out is None
            elif finding["status"] == "UNKNOWN":
                assert skipped.get("message") == finding["summary"] and failure is None
            elif finding["status"] == "WARN":
                assert failure is None and skipped is None
                assert out.text.startswith("[WARN] " + finding["summary"])
            else:
                assert len(case) == 0


def test_junit_japanese_and_invalid_xml_characters(diagnosis_ja):
    dirty = copy.deepcopy(diagnosis_ja)
    finding = dirty["dps"][1]["findings"][1]
    finding["summary"] = "制御文字\x00\x1b入り <&> \"引用\""
    finding["log_evidence"][0]["message"] = "bell\x07 " + XSS_LOG
    data = render_junit(dirty).encode("utf-8")
    root = ET.fromstring(data)
    failure = root.findall("testsuite")[1].findall("testcase")[1].find("failure")
    assert failure.get("message") == "制御文字\\x00\\x1b入り <&> \"引用\""
    assert "bell\\x07 " + XSS_LOG in failure.text
    assert "対処方法" in failure.text and "確認結果" in failure.text
    assert root.findall("testsuite")[1].findall("testcase")[1].get("name").startswith("02 ports: 通信 ポート の開放状況")


# ------------------------------------------------------------------------------------------
# JSON
# ------------------------------------------------------------------------------------------


def test_json_round_trips_with_stable_order(diagnosis):
    text = render_json(diagnosis)
    assert expand_diagnosis(json.loads(text)) == diagnosis
    assert text.endswith("}\n") and "\n  " in text
    if diagnosis["language"] == "ja":
        assert "通信 ポート の開放状況" in text and "\\u" not in text
    document = json.loads(text)
    assert list(document) == ["generated_at", "language", "site_server", "site_code", "probe_identity", "format", "checks",
                              "texts", "values", "dps", "summary"]
    # Check texts are stored once per check, summaries, evidence labels and values once each; one line per DP.
    assert document["format"] == 2 and sorted(document["checks"]) == sorted(CHECK_IDS)
    assert text.count(json.dumps(diagnosis["dps"][0]["findings"][0]["explanation"], ensure_ascii=False)) == 1
    label = diagnosis["dps"][0]["findings"][2]["evidence"][0]["label"]
    assert text.count(json.dumps(label, ensure_ascii=False)) == 1
    assert len(document["texts"]) == len(set(document["texts"]))
    assert document["dps"][0]["findings"][2]["evidence"][0][0] == document["texts"].index(label)
    first = diagnosis["dps"][0]["findings"][0]
    assert document["texts"][document["dps"][0]["findings"][0]["summary"]] == first["summary"]
    assert "log_evidence" not in document["dps"][0]["findings"][0] and first["log_evidence"] == []
    assert sum(1 for line in text.splitlines() if line.startswith('    {"dp":')) == len(diagnosis["dps"])
    first_finding = list(document["dps"][0]["findings"][0])
    assert first_finding[:3] == ["check", "status", "summary"]
    # A finding whose texts differ from the table keeps its own (nothing is lost).
    changed = copy.deepcopy(diagnosis)
    changed["dps"][1]["findings"][0]["remediation"] = "custom"
    assert expand_diagnosis(json.loads(render_json(changed))) == changed
    # The JSON file renders like the in-memory diagnosis.
    expanded = expand_diagnosis(document)
    assert render_html(document) == render_html(expanded) and render_markdown(document) == render_markdown(expanded)
    assert diagnosis["dps"][0]["findings"][0]["remediation"] in _blob(_dom(render_html(document)))["s"]
    shuffled = {key: diagnosis[key] for key in reversed(list(diagnosis))}
    shuffled["dps"] = [{k: dp[k] for k in sorted(dp, reverse=True)} for dp in diagnosis["dps"]]
    assert render_json(shuffled) == text


# ------------------------------------------------------------------------------------------
# Inventory
# ------------------------------------------------------------------------------------------


def test_inventory_csv_round_trips_with_bom(tmp_path, inventory):
    paths = write_inventory(inventory, str(tmp_path / "out"), language="ja")
    raw = Path(paths["csv"]).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    with open(paths["csv"], encoding="utf-8-sig", newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames) == INVENTORY_CSV_COLUMNS
        read = list(reader)
    assert len(read) == len(inventory)
    for got, row in zip(read, inventory):
        assert got["dp"] == row["dp"] and got["site_code"] == row["site_code"]
        assert got["os_product"] == (row["os_product"] or "")
        assert got["os_build"] == (row["os_build"] or "")
        if row["os_build"]:
            build, ubr = row["os_build"].split(".")
            assert (got["os_build_number"], got["os_ubr"]) == (build, ubr)
        for key in ("patched", "shares_ok", "wmi_ok"):
            assert got[key] == {True: "TRUE", False: "FALSE", None: ""}[row[key]]
        drives = row["content_library_drives"]
        if drives:
            assert float(got["min_free_percent"]) == min(d["free_percent"] for d in drives)
            for drive in drives:
                assert "%s %.1f%%" % (drive["drive"], drive["free_percent"]) in got["content_library_drives"]
        else:
            assert got["min_free_percent"] == "" and got["content_library_drives"] == ""
        assert got["last_seen_utc"] == row["last_seen_utc"]
    # The string renderer gives the same text, BOM included.
    assert raw.decode("utf-8") == render_inventory_csv(inventory)


def test_inventory_csv_neutralises_formulas_and_keeps_japanese():
    rows = [{"dp": "=cmd|' /C calc'!A0", "site_code": "@SUM(1)", "os_product": "日本語 OS", "os_build": "-1",
             "patched": None, "content_library_drives": [], "shares_ok": None, "wmi_ok": None, "last_seen_utc": "+x"}]
    text = render_inventory_csv(rows)
    (got,) = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert got["dp"] == "'=cmd|' /C calc'!A0" and got["site_code"] == "'@SUM(1)"
    assert got["os_build"] == "'-1" and got["last_seen_utc"] == "'+x" and got["os_product"] == "日本語 OS"


def test_inventory_json_round_trips(inventory):
    text = render_inventory_json(inventory)
    assert json.loads(text) == inventory
    assert list(json.loads(text)[0])[:3] == ["dp", "site_code", "os_product"]
    assert render_inventory_json(list(reversed(inventory)))  # any order of rows is kept as given
    assert render_inventory_json([]) == "[]\n"


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_inventory_html(inventory, lang):
    hostile = copy.deepcopy(inventory)
    hostile[0]["os_product"] = XSS_SCRIPT + XSS_LOG
    text = render_inventory_html(hostile, language=lang)
    dom = _dom(text)
    assert dom.root.find_all("html")[0].attrs["lang"] == lang
    assert "<script>alert" not in text and "<![LOG[" not in text and dom.declarations == []
    (table,) = dom.root.find_all("table")
    header = [th.text() for th in table.find_all("thead")[0].find_all("th")]
    assert header[0] == UI_TEXT[lang]["col_dp"] and UI_TEXT[lang]["inv_patched"] in header
    rows = table.find_all("tbody")[0].find_all("tr")
    assert [r.find_all("th")[0].text() for r in rows] == [r["dp"] for r in inventory]
    assert XSS_SCRIPT + XSS_LOG in rows[0].text()
    patched = [r.find_all("td")[3] for r in rows]
    assert [c.classes()[-1] for c in patched] == [
        {True: "s-PASS", False: "s-FAIL", None: "s-UNKNOWN"}[r["patched"]] for r in inventory]
    if lang == "ja":
        assert "空き 7.8 % (500.0 GiB 中 39.0 GiB)" in text and "適用済み" in text
    else:
        assert "7.8 % free (39.0 GiB of 500.0 GiB)" in text
    assert " GB" not in text
    assert len(dom.root.find_all("script")) == 1
    empty = _dom(render_inventory_html([], language=lang))
    assert empty.root.by_id("empty").text() == UI_TEXT[lang]["inv_empty"]


# ------------------------------------------------------------------------------------------
# Writing files
# ------------------------------------------------------------------------------------------


def test_write_reports(tmp_path, diagnosis_ja):
    target = tmp_path / "new" / "dir"
    paths = write_reports(diagnosis_ja, str(target), basename="site_PS1")
    assert paths == {
        "html": str(target / "site_PS1.html"),
        "markdown": str(target / "site_PS1.md"),
        "json": str(target / "site_PS1.json"),
        "junit": str(target / "site_PS1.junit.xml"),
    }
    assert sorted(os.listdir(target)) == ["site_PS1.html", "site_PS1.json", "site_PS1.junit.xml", "site_PS1.md"]
    assert Path(paths["html"]).read_text(encoding="utf-8") == render_html(diagnosis_ja)
    assert Path(paths["markdown"]).read_text(encoding="utf-8") == render_markdown(diagnosis_ja)
    assert expand_diagnosis(json.loads(Path(paths["json"]).read_text(encoding="utf-8"))) == diagnosis_ja
    ET.parse(paths["junit"])
    # Rewriting replaces the files in place.
    write_reports(diagnosis_ja, str(target), basename="site_PS1")
    assert len(os.listdir(target)) == 4
    default = write_reports(diagnosis_ja, str(tmp_path))
    assert default["html"].endswith("dp_diagnosis.html")


def test_write_inventory_default_names(tmp_path, inventory):
    paths = write_inventory(inventory, str(tmp_path))
    assert sorted(paths) == ["csv", "html", "json"]
    assert [Path(p).name for p in (paths["csv"], paths["html"], paths["json"])] == [
        "dp_inventory.csv", "dp_inventory.html", "dp_inventory.json"]
    assert 'lang="en"' in Path(paths["html"]).read_text(encoding="utf-8")
