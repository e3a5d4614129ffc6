# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the templated DP dashboard and fleet table (_dp_report_html, report_templates/dp),
the readable evidence texts (_dp_evidence_text) and the Japanese output of every DP report, rendered
from every DP lab fixture."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_report_html
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_evidence_text import (
    binary_size, duration, evidence_text, percent, service_state, start_mode)
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_report import (
    UI_TEXT, render_html, render_inventory_html, render_json, render_markdown)
from tests.unit.plugins.plugin_utils.dp_report_lab import FIXTURES, dp_name, lab_diagnosis, lab_inventory

# English words of our own UI and evidence vocabulary that must not be left in Japanese output
# (identifiers, paths, Windows messages and log text are removed before the check).
ENGLISH_UI_WORDS = (
    "controller", "running", "stopped", "paused", "present", "missing", "shared", "readable", "connected",
    "enforced", "not attempted", "allow", "deny", "Automatic", "Manual", "Disabled", "auto", "manual", "disabled",
    "start mode", "start type", "free", "state", "start_mode", "reason", "threshold", "recent", "count", "yes", "no",
    "true", "false", "unknown", "Evidence", "Remediation", "Possible cause", "Log lines", "Summary", "Distribution point",
    "site server", "the DP", "Charts", "cells", "DPs", "stuck", "installed", "packages", "rank", "reachable", "Source",
    "Value", "Item", "Result", "GB", "MB", "TB", "dns_unresolved", "tcp_135_closed", "disabled_by_registry",
    "ubr_below_threshold", "ubr_at_or_above_threshold", "drive", "Content", "Name", "Package", "Last status",
    "pull DP", "standard DP", "Close", "Details", "Legend", "lowest", "highest", "Kerberos limit", "No data",
)
_WORD_RES = [re.compile(r"(?<![\w\\$<])%s(?![\w$>])" % re.escape(word)) for word in ENGLISH_UI_WORDS]
# Not UI text: Windows error messages quoted in summaries ("0x80070005 Access is denied. (...)").
# Not UI text: host names and other dotted names, paths (with a backslash), NAME_WITH_UNDERSCORES.
_IDENTIFIER = re.compile(r"[\w-]+(?:\.[\w-]+)+|\S*\\\S*")
_WINDOWS_MESSAGE = re.compile(r"0x[0-9A-Fa-f]{8} [A-Z][^()]*?\.(?: \(Exception from HRESULT[^)]*\)+)?")


def _leftovers(texts: list[str]) -> list[tuple[str, str]]:
    found = []
    for text in texts:
        clean = _WINDOWS_MESSAGE.sub(" ", re.sub(r"`[^`]*`", " ", text))
        clean = _IDENTIFIER.sub(" ", re.sub(r"\{\w+\}", " ", clean))  # and {placeholders}
        for word, pattern in zip(ENGLISH_UI_WORDS, _WORD_RES):
            if pattern.search(clean):
                found.append((word, text))
    return found


class _Text(HTMLParser):
    """Visible text of a page, without scripts, code/pre/.mono/.raw elements (identifiers, log text)."""

    SKIP = {"script", "style", "code", "pre", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.texts: list[str] = []
        self.blob = ""
        self._in_blob = False

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        skip = tag in self.SKIP or "mono" in classes or "raw" in classes or (self.stack and self.stack[-1])
        self._in_blob = dict(attrs).get("id") == "dp-data"
        if tag not in ("meta", "input", "br", "line", "rect"):
            self.stack.append(bool(skip))

    def handle_endtag(self, tag):
        if tag not in ("meta", "input", "br", "line", "rect") and self.stack:
            self.stack.pop()
        self._in_blob = False

    def handle_data(self, data):
        if self._in_blob:
            self.blob += data
        elif data.strip() and not (self.stack and self.stack[-1]):
            self.texts.append(data.strip())


def _page(text: str) -> _Text:
    parser = _Text()
    parser.feed(text)
    return parser


def _blob_texts(blob: dict) -> list[str]:
    """Texts of the details blob a person reads (not raw values, log lines, DP names or package messages)."""
    strings = blob["s"]
    texts = []
    for _name, _overall, cells, extra in blob["dps"]:
        for cell in cells:
            texts += [strings[cell[1]], strings[cell[2]], strings[cell[5]]]
            texts += [strings[e[0]] for e in cell[6]] + [strings[e[1]] for e in cell[6] if not e[5]]
            texts += [strings[c[2]] for c in cell[8] if c[2] is not None]
        for package in (extra or {}).get("stuck") or []:
            texts += [strings[i] for i in (package[2], package[6], package[7]) if i is not None]
    texts += [v for v in blob["ui"].values() if isinstance(v, str)]
    texts += [v for table in ("st", "src", "sev") for v in blob["ui"][table].values()]
    texts += [meaning for _name, meaning in blob["codes"].values()]
    return texts


def _markdown_texts(text: str) -> list[str]:
    text = re.sub(r"(?ms)^(`{3,}).*?^\1", " ", text)  # fenced log blocks
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def lab_ja() -> dict:
    return lab_diagnosis("ja")


@pytest.fixture(scope="module")
def lab_en() -> dict:
    return lab_diagnosis("en")


# ------------------------------------------------------------------------------------------
# Japanese without leftovers
# ------------------------------------------------------------------------------------------


def test_every_lab_fixture_is_in_the_japanese_reports(lab_ja):
    fixtures = Path(__file__).resolve().parents[3] / "simhost" / "fixtures"
    assert sorted(FIXTURES) == sorted(p.stem for p in fixtures.glob("dp_*.json"))  # a new DP fixture is rendered too
    assert [dp["dp"] for dp in lab_ja["dps"]] == [dp_name(f) for f in FIXTURES]
    assert {dp["overall"] for dp in lab_ja["dps"]} >= {"PASS", "FAIL"}


def test_japanese_dashboard_has_no_english_ui_words(lab_ja):
    page = _page(render_html(lab_ja))
    texts = page.texts + _blob_texts(json.loads(page.blob))
    assert _leftovers(texts) == []


def test_japanese_markdown_has_no_english_ui_words(lab_ja):
    assert _leftovers(_markdown_texts(render_markdown(lab_ja))) == []


def test_japanese_fleet_table_has_no_english_ui_words():
    assert _leftovers(_page(render_inventory_html(lab_inventory(), "ja")).texts) == []


def test_the_leftover_check_can_fail(lab_en):
    """The same check finds our English words in the English reports (it is not blind)."""
    page = _page(render_html(lab_en))
    words = {word for word, _text in _leftovers(page.texts + _blob_texts(json.loads(page.blob)))}
    assert {"running", "Evidence", "Remediation", "present", "controller"} <= words
    assert _leftovers(["状態: running"]) == [("running", "状態: running")]
    assert _leftovers(["`running` は識別子", "0x80070005 Access is denied. (Exception from HRESULT: 0x80070005)"]) == []


def test_japanese_punctuation_and_microsoft_terms(lab_ja):
    text = render_markdown(lab_ja)
    summaries = [f["summary"] for dp in lab_ja["dps"] for f in dp["findings"]]
    assert not [s for s in summaries if "; " in s]
    # Microsoft's term is フォルダー; only the seed's checklist headings, quoted verbatim, keep フォルダ.
    everything = text + render_html(lab_ja)
    for finding in lab_ja["dps"][0]["findings"]:
        everything = everything.replace(finding["heading"] or "\0", "")
    assert "フォルダー" in text and not re.search("フォルダ(?!ー)", everything)


# ------------------------------------------------------------------------------------------
# Readable evidence
# ------------------------------------------------------------------------------------------


def test_units_percentages_and_durations():
    assert binary_size(1099511627776) == "1.0 TiB" and binary_size(644245094) == "614.4 MiB"
    assert binary_size(39 * 1024 ** 3) == "39.0 GiB" and binary_size(512) == "512 B" and binary_size(None) == "?"
    assert percent(7.84) == "7.8 %" and percent(0.1) == "0.10 %" and percent("x") == "?"
    assert duration(0.305, "en") == "0.305 s" and duration(-412, "ja") == "-412 秒"
    assert duration(3600 * 5, "en") == "5.0 h" and duration(900, "ja") == "15.0 分"


def test_service_state_and_start_type_in_japanese():
    assert service_state("running", "ja") == "実行中" and service_state("stopped", "ja") == "停止"
    assert start_mode("delayed_auto", "ja") == "自動 (遅延開始)" and start_mode("disabled", "ja") == "無効"
    assert start_mode("auto", "en") == "Automatic" and service_state("weird", "ja") == "weird"


@pytest.mark.parametrize("check, value, lang, expected", [
    ("free_space", {"free_bytes": 644245094, "free_percent": 0.12, "size_bytes": 536870912000}, "en",
     "614.4 MiB free of 500.0 GiB (0.12 %)"),
    ("free_space", {"free_bytes": 644245094, "free_percent": 0.12, "size_bytes": 536870912000}, "ja",
     "空き 614.4 MiB / 全体 500.0 GiB (0.12 %)"),
    ("rpc_dcom", {"state": "stopped", "start_mode": "disabled"}, "ja", "停止、スタートアップの種類: 無効"),
    ("time_sync", 412.5, "ja", "412.5 秒"),
    ("patch_level", {"product": "Windows Server 2019", "version": "17763.3000", "threshold": "17763.4131",
                     "reason": "ubr_below_threshold"}, "en",
     "Windows Server 2019 17763.3000: older than the March 2023 update (needs 17763.4131)"),
    ("smb_shares", "present", "ja", "あり"),
    ("access_rights", ["enable_account", "remote_enable"], "ja", "アカウントの有効化、リモートの有効化"),
    ("access_rights", ["BUILTIN\\Users: allow ReadAndExecute"], "ja", "BUILTIN\\Users: 許可 ReadAndExecute"),
    ("smb_shares", True, "ja", "はい"),
    ("wmi", "0x8004100E", "ja", "0x8004100E"),
])
def test_evidence_text(check, value, lang, expected):
    assert evidence_text(check, value, lang) == (expected, False)


def test_dashboard_keeps_the_raw_value_next_to_the_readable_one(lab_en):
    blob = json.loads(_page(render_html(lab_en)).blob)
    strings = blob["s"]
    full = blob["dps"][[dp["dp"] for dp in lab_en["dps"]].index(dp_name("dp_disk_full"))]
    evidence = full[2][2][6]  # free_space
    dp_drive = [e for e in evidence if e[3] == "dp"][0]
    assert "MiB free of" in strings[dp_drive[1]] and " GB" not in strings[dp_drive[1]]
    assert "free_bytes" in strings[dp_drive[2]]  # raw value (tooltip / small line)


# ------------------------------------------------------------------------------------------
# Counts, charts, new data
# ------------------------------------------------------------------------------------------


def _chips(text: str) -> dict[str, tuple[int, int]]:
    return {m.group(1): (int(m.group(3)), int(m.group(2)))
            for m in re.finditer(r'data-status="([^"]+)"[^>]*data-cells="(\d+)"[^>]*>[^<]*<b>(\d+)</b>', text)}


def test_summary_chips_count_dps_and_cells(lab_ja):
    chips = _chips(render_html(lab_ja))
    cells = [f["status"] for dp in lab_ja["dps"] for f in dp["findings"]]
    assert sum(c for _d, c in chips.values()) == len(cells) == 9 * len(lab_ja["dps"])
    for status, (dps, cell_count) in chips.items():
        assert cell_count == cells.count(status), status
        assert dps == sum(1 for dp in lab_ja["dps"] if dp["overall"] == status), status
    na_cells = cells.count("N/A")
    assert chips["UNKNOWN"][1] > 0 and na_cells >= 1 and chips["N/A"] == (0, na_cells)
    # The engine's summary "na_cells" counts N/A cells: it never becomes the number of N/A DPs.
    assert _chips(render_html(dict(lab_ja, summary=dict(lab_ja["summary"], na_cells=99))))["N/A"] == (0, na_cells)


def test_dashboard_charts_are_inline_svg(lab_en):
    text = render_html(lab_en)
    for ident in ("chart-free", "chart-skew", "chart-stuck"):
        assert 'id="%s"' % ident in text, ident
    free = re.search(r'id="chart-free".*?</figure>', text, re.S).group(0)
    bars = re.findall(r'<g class="bar b-(\w+)" data-dp="([^"]+)">', free)
    # Sorted lowest first: the full disk is first and red; a threshold line is drawn.
    assert bars[0] == ("FAIL", dp_name("dp_disk_full")) and "th-WARN" in free and "th-FAIL" in free
    assert all(css != "FAIL" for css, _dp in bars[1:])
    skew = re.search(r'id="chart-skew".*?</figure>', text, re.S).group(0)
    assert re.findall(r'<g class="bar b-(\w+)" data-dp="([^"]+)">', skew)[0] == ("FAIL", dp_name("dp_clock_skew"))
    assert "Kerberos limit 300 s" in skew
    assert "<script src" not in text and "http" not in free


def test_stuck_packages_role_and_na_in_the_blob(lab_ja):
    text = render_html(lab_ja)
    blob = json.loads(_page(text).blob)
    by_name = {row[0]: row for row in blob["dps"]}
    source = {dp["dp"]: dp for dp in lab_ja["dps"]}
    with_stuck = [name for name, dp in source.items() if dp["stuck_packages"]]
    assert with_stuck
    extra = by_name[with_stuck[0]][3]
    assert [p[0] for p in extra["stuck"]] == [p["package_id"] for p in source[with_stuck[0]]["stuck_packages"]]
    assert blob["s"][extra["stuck"][0][6]] == source[with_stuck[0]]["stuck_packages"][0]["cause"]
    pull = by_name[lab_ja["dps"][1]["dp"]]
    assert pull[3]["role"]["pull_dp"] is True and pull[3]["role"]["sources"][1] == ["dp-smb-blocked.contoso.local", 2, False]
    assert pull[2][3][0] == "N/A" and '<td class="s-NA">' in text and "プル配布ポイント" in text
    assert 'data-testid="chip-stuck"' in text and ">%d</b>" % lab_ja["summary"]["stuck_packages"] in text
    # A content column: the stuck count of each DP, red when not zero.
    assert 'data-check="content"' in text and "content s-FAIL" in text


def test_markdown_and_json_handle_na(lab_ja):
    md = render_markdown(lab_ja)
    # An N/A finding is no problem: the pull DP's section lists its failing check, not the N/A one.
    assert "### \u2205" not in md and "### \u2716 エラー (FAIL) 1." in md
    document = json.loads(render_json(lab_ja))
    assert document["dps"][1]["findings"][3]["status"] == "N/A"


def test_fleet_table_colours_low_free_space_and_draws_the_chart():
    rows = lab_inventory()
    full = [r for r in rows if r["dp"] == dp_name("dp_disk_full")][0]
    assert min(d["free_percent"] for d in full["content_library_drives"]) < 1
    text = render_inventory_html(rows, "en")
    row = re.search(r"<tr><th scope=\"row\">%s</th>.*?</tr>" % re.escape(full["dp"]), text).group(0)
    assert 'class="drv s-FAIL"' in row and 'data-free="FAIL"' in row
    assert 'id="chart-free"' in text and re.search(r'<g class="bar b-FAIL" data-dp="%s">' % re.escape(full["dp"]), text)
    assert 'id="chart-stuck"' in text  # the rows carry content counts


# ------------------------------------------------------------------------------------------
# Templates: Jinja2, autoescape, one file, user overrides
# ------------------------------------------------------------------------------------------


def test_autoescape_is_on_and_assets_are_inlined(lab_en):
    env = _dp_report_html.template_environment(None)
    assert env.autoescape is True
    text = render_html(lab_en)
    assert "<link" not in text and "<script src" not in text and ".grid td button" in text


def test_user_template_dir_overrides_file_by_file(tmp_path, lab_en):
    (tmp_path / "base.css").write_text("body{background:#123456}\n", encoding="utf-8")
    (tmp_path / "inventory.html.j2").write_text("<p>{{ ui.inventory_title }} {{ rows|length }} {{ '<b>' }}</p>\n",
                                                encoding="utf-8")
    text = render_html(lab_en, template_dir=str(tmp_path))
    assert "body{background:#123456}" in text and ".grid td button" in text  # ours for the rest
    rows = lab_inventory()
    inv = render_inventory_html(rows, "ja", template_dir=str(tmp_path))
    assert inv == "<p>%s %d &lt;b&gt;</p>\n" % (UI_TEXT["ja"]["inventory_title"], len(rows))  # user template, still autoescaped
    assert render_html(lab_en) != text  # no leak into the default environment


def test_template_dir_is_validated(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        render_html({"dps": []}, template_dir=str(tmp_path / "nope"))
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match="is not a directory"):
        render_inventory_html([], "en", template_dir=str(tmp_path / "file"))


def test_an_asset_cannot_close_its_element(tmp_path, lab_en):
    (tmp_path / "dashboard.js").write_text("var x = '</script><script>alert(1)';\n", encoding="utf-8")
    with pytest.raises(ValueError, match="dashboard.js"):
        render_html(lab_en, template_dir=str(tmp_path))


# ------------------------------------------------------------------------------------------
# The cyclic collector is paused around a render, and restored
# ------------------------------------------------------------------------------------------


def test_gc_is_paused_during_the_call_and_restored():
    import gc  # pylint: disable=import-outside-toplevel

    from ansible_collections.mecm.fieldkit.plugins.plugin_utils._gc_pause import paused  # pylint: disable=import-outside-toplevel

    seen = []

    @paused
    def work(fail: bool = False) -> str:
        seen.append(gc.isenabled())
        if fail:
            raise RuntimeError("boom")
        return "ok"

    assert gc.isenabled()
    assert work() == "ok" and seen == [False] and gc.isenabled()
    with pytest.raises(RuntimeError):
        work(fail=True)
    assert gc.isenabled()
    gc.disable()
    try:
        work()
        assert not gc.isenabled()  # left off when it was off
    finally:
        gc.enable()
    assert render_html.__wrapped__ and render_json.__wrapped__  # the renderers are wrapped
