# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DP dashboard and the DP fleet table in a real browser (Debian's headless Chromium, tests/browser/conftest.py).

The data is the diagnosis and the fleet table of the simulated DP lab: one DP per DP fixture of tests/simhost
(tests/unit/plugins/plugin_utils/dp_report_lab.py), with stuck packages, a pull DP and an N/A cell. For each
language the test opens both pages, clicks cells, checks the panel, the charts and the layout, and takes
screenshots (reports/screenshots/dp_*.png). Everything here runs against SIMULATED hosts.
"""
from __future__ import annotations

import pathlib

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_report import render_html, render_inventory_html
from tests.unit.plugins.plugin_utils.dp_report_lab import dp_name, lab_diagnosis, lab_inventory

LANGS = ("en", "ja")
CHECK_COLUMN = {"name_resolution": 1, "smb_shares": 4, "free_space": 3}


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, pathlib.Path]:
    out = tmp_path_factory.mktemp("dp_reports")
    paths = {}
    for lang in LANGS:
        paths["dashboard_" + lang] = out / f"dp_diagnosis_{lang}.html"
        paths["dashboard_" + lang].write_text(render_html(lab_diagnosis(lang)), encoding="utf-8")
        paths["inventory_" + lang] = out / f"dp_inventory_{lang}.html"
        paths["inventory_" + lang].write_text(render_inventory_html(lab_inventory(), lang), encoding="utf-8")
    return paths


def _cell(page, dp: str, column: int):
    row = page.locator("#grid tbody tr", has=page.locator("th", has_text=dp)).first
    return row.locator("td").nth(column - 1)


@pytest.mark.parametrize("lang", LANGS)
def test_dashboard_cell_opens_the_panel_beside_the_grid(pages, open_report, screenshot, lang):
    page, errors = open_report(pages["dashboard_" + lang])
    for testid in ("summary", "grid", "charts", "chart-free", "chart-skew", "chart-stuck", "chip-FAIL", "chip-stuck"):
        assert page.get_by_test_id(testid).count() == 1, testid
    assert page.get_by_test_id("detail-panel").is_hidden()
    # The chips count cells too: their cell numbers add up to DPs x 9.
    cells = sum(int(c.get_attribute("data-cells")) for c in page.locator("#summary [data-cells]").all())
    assert cells == 9 * page.locator("#grid tbody tr").count()
    # The SVG charts are drawn: the full disk is the first (red) bar of the free-space chart.
    first = page.locator("#chart-free g.bar").first
    assert first.get_attribute("data-dp") == dp_name("dp_disk_full") and "b-FAIL" in first.get_attribute("class")
    assert page.locator("#chart-free rect").first.bounding_box()["width"] >= 1

    _cell(page, dp_name("dp_disk_full"), CHECK_COLUMN["free_space"]).locator("button").click()
    panel = page.get_by_test_id("detail-panel")
    assert panel.is_visible()
    assert page.get_by_test_id("panel-status").inner_text().startswith("\u2716")
    assert page.get_by_test_id("evidence").locator("tbody tr").count() >= 1
    text = panel.inner_text()
    assert "MiB" in text and " GB" not in text
    # The panel does not cover the grid: both are visible side by side and the grid still scrolls.
    grid_box = page.locator(".wrap").bounding_box()
    panel_box = panel.bounding_box()
    assert grid_box["x"] + grid_box["width"] <= panel_box["x"] + 1
    assert page.locator(".wrap").evaluate("e => getComputedStyle(e).overflow") == "auto"
    screenshot(page, f"dp_dashboard_{lang}")

    # A cell with log lines: the error codes are listed once, each with its possible cause.
    _cell(page, dp_name("dp_rpc_blocked"), 2).locator("button").click()
    codes = page.get_by_test_id("error-codes")
    if codes.count():
        hresults = [li.locator("code").inner_text() for li in codes.locator("li").all()]
        assert len(hresults) == len(set(hresults))
    # The N/A cell of the pull DP and the DP's own block (role, stuck packages).
    _cell(page, dp_name("dp_name_unresolved"), CHECK_COLUMN["smb_shares"]).locator("button").click()
    assert "s-NA" in page.get_by_test_id("panel-status").get_attribute("class")
    assert page.get_by_test_id("dp-info").count() == 1
    _cell(page, dp_name("dp_rpc_blocked"), 10).locator("button").click()  # the content column (3 stuck packages)
    assert page.get_by_test_id("stuck-packages").locator("tbody tr").count() >= 1
    screenshot(page, f"dp_dashboard_{lang}_stuck")
    page.get_by_test_id("panel-close").click()
    assert panel.is_hidden()

    # Narrow screen: the panel opens below the grid, not over it.
    page.set_viewport_size({"width": 800, "height": 900})
    _cell(page, dp_name("dp_clock_skew"), 7).locator("button").click()
    assert panel.bounding_box()["y"] >= page.locator(".wrap").bounding_box()["y"] + page.locator(".wrap").bounding_box()["height"] - 1
    screenshot(page, f"dp_dashboard_{lang}_narrow")
    assert errors == []


@pytest.mark.parametrize("lang", LANGS)
def test_fleet_table_colours_and_sorts(pages, open_report, screenshot, lang):
    page, errors = open_report(pages["inventory_" + lang])
    assert page.get_by_test_id("inventory").count() == 1 and page.get_by_test_id("chart-free").count() == 1
    full = page.locator("#inv tbody tr", has=page.locator("th", has_text=dp_name("dp_disk_full")))
    assert full.locator(".drv.s-FAIL").count() == 1
    background = full.locator(".drv.s-FAIL").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    # Sorting by the drive column puts the fullest drive first.
    page.locator("#inv thead th").nth(5).locator("button").click()
    assert page.locator("#inv tbody tr").first.locator("th").inner_text() == dp_name("dp_disk_full")
    screenshot(page, f"dp_inventory_{lang}")
    assert errors == []
