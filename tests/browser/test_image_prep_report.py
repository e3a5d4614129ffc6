# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image-prep dashboard in a real browser (Debian's headless Chromium, tests/browser/conftest.py).

The records come from a run of playbooks/client_image_prep.yml over every host of the simulated lab
``imageprep`` (prepared, already clean, guarded, a failed step, one host made unreachable). The English page is
the one the playbook wrote; the Japanese one is rendered from the same records with the duplicates of the
identity audit run on the lab's master and clone before. Screenshots go to
reports/screenshots/. Everything here runs against SIMULATED hosts.
"""
from __future__ import annotations

import json
import pathlib
import re
import typing as t

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _image_prep_dashboard as dash
from tests.e2e.conftest import run_playbook
from tests.simhost.lab import Lab
from tests.simhost.paths import LABS_DIR

KEY_ELEMENTS = ("title", "summary", "chip-hosts", "chip-ready", "chip-guard", "chip-unreachable", "cell-counts", "grid",
                "legend", "host-detail", "guards", "duplicates", "run-duplicates")
FAILED_CELL = ("ref-certdenied", "remove_sms_certificates")
# English words of our UI that must not remain in the Japanese page (host/module texts and identifiers excepted).
ENGLISH_UI_WORDS = re.compile(r"\b(host|hosts|ready|failed|skipped|done|clean|guard|removed|unreachable|step|steps|"
                              r"status|identity|duplicat\w*|certificates?|scenario|message|result|none|running|stopped|"
                              r"manual|automatic|select|close|legend)\b", re.IGNORECASE)
VISIBLE_UI_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('script, style, code, [data-raw], [translate="no"]').forEach(e => e.remove());
  return copy.textContent;
}"""


@pytest.fixture(scope="module")
def lab_records(tmp_path_factory) -> tuple[pathlib.Path, dict[str, dict[str, t.Any]]]:
    """The report directory of one image-prep run over lab imageprep, and its records."""
    work = tmp_path_factory.mktemp("imageprep")
    reports = work / "reports"
    with Lab.named("imageprep") as lab:
        inventory = lab.write_inventory(work / "inventory.yml")
        # The identity audit first: the master and its clone share an identity before the master is prepared.
        audit = run_playbook(work, inventory, "mecm.fieldkit.client_identity_audit", "-e", "client_identity_audit_hosts=clones",
                             "-e", f"client_identity_audit_report_dir={work / 'audit'}")
        assert audit.rc == 0, audit.stdout + audit.stderr
        lab.set_unreachable("ref-hang")
        run = run_playbook(work, inventory, "mecm.fieldkit.client_image_prep", "-i", str(LABS_DIR / "imageprep_vars.yml"),
                           "-e", "client_image_prep_hosts=reference_vms:guarded:faulty",
                           "-e", f"client_image_prep_report_dir={reports}", "-f", "12")
    assert run.rc == 2, run.stdout + run.stderr  # the guarded, failed and unreachable hosts fail the run
    records = {}
    for path in sorted(reports.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if "host" in data:
            records[data["host"]] = data
    return reports, records, json.loads((work / "audit" / "client_identity_audit.json").read_text(encoding="utf-8"))


def dashboard(lab_records, lang: str, tmp_path: pathlib.Path, **kwargs: t.Any) -> pathlib.Path:
    """The English page the playbook wrote, or the page rendered from its records (Japanese: with the audit)."""
    reports, records, audit = lab_records
    if lang == "en" and not kwargs:
        return reports / dash.DASHBOARD_FILE
    if lang == "ja":
        kwargs.setdefault("identity_audit", audit)
    path = tmp_path / f"client_image_prep.{lang}.html"
    path.write_text(dash.render_dashboard(records, lang, **kwargs), encoding="utf-8")
    return path


def missing_elements(page) -> list[str]:
    return [name for name in KEY_ELEMENTS if page.get_by_test_id(name).count() == 0]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_dashboard_opens_a_cell_without_console_errors(lab_records, open_report, screenshot, tmp_path, lang) -> None:
    page, errors = open_report(dashboard(lab_records, lang, tmp_path))
    assert page.evaluate("document.documentElement.lang") == lang
    assert missing_elements(page) == []
    _reports, records, _audit = lab_records
    assert page.get_by_test_id("chip-hosts").inner_text().startswith(str(len(records)))
    assert page.get_by_test_id("chip-unreachable").inner_text().startswith("1")
    assert page.get_by_test_id("chip-guard").inner_text().startswith("5")
    assert page.get_by_test_id("host-row-ref-hang").locator("[data-state=unreachable]").count() == 12
    assert page.get_by_test_id("guard-cm01").count() == 1
    assert page.get_by_test_id("detail-ref-certdenied").is_hidden()
    screenshot(page, f"image_prep-{lang}-first")

    host, step = FAILED_CELL
    page.get_by_test_id(f"cell-{host}-{step}").click()
    detail = page.get_by_test_id(f"detail-{host}")
    assert detail.is_visible() and page.get_by_test_id("detail-hint").is_hidden()
    assert detail.get_by_test_id("readiness").inner_text().startswith("✖")
    assert detail.locator(f"[data-step-row={step}]").get_attribute("class").endswith("focus")
    assert "0x80070005" in detail.locator(f"[data-step-row={step}]").inner_text()
    # The panel sits beside the grid and hides none of it.
    grid, panel = page.get_by_test_id("grid-section").bounding_box(), page.get_by_test_id("host-detail").bounding_box()
    assert panel["x"] >= grid["x"] + grid["width"]
    screenshot(page, f"image_prep-{lang}-cell")

    page.get_by_test_id("host-ref-new").click()
    removed = page.get_by_test_id("detail-ref-new").get_by_test_id("removed-identity")
    assert "GUID:" in removed.inner_text() and page.get_by_test_id("detail-ref-new").get_by_test_id("detail-install").is_visible()
    page.keyboard.press("Escape")
    assert page.get_by_test_id("detail-ref-new").is_hidden()
    page.get_by_test_id("chip-guard").click()
    assert page.locator(".row:visible").count() == 5
    if lang == "ja":
        assert ENGLISH_UI_WORDS.findall(page.evaluate(VISIBLE_UI_TEXT)) == []
        # The audit's duplicates: the master and its clone share an SMS Unique Identifier and two certificates.
        assert page.get_by_test_id("audit-duplicates").locator("tbody tr").count() == 3
    assert errors == []


def test_on_a_narrow_screen_the_panel_opens_below_the_grid(lab_records, open_report, screenshot, tmp_path) -> None:
    page, errors = open_report(dashboard(lab_records, "ja", tmp_path))
    page.set_viewport_size({"width": 760, "height": 900})
    page.get_by_test_id("cell-ref-certdenied-remove_sms_certificates").click()
    grid, panel = page.get_by_test_id("grid-section").bounding_box(), page.get_by_test_id("host-detail").bounding_box()
    assert panel["y"] >= grid["y"] + grid["height"]
    screenshot(page, "image_prep-ja-narrow")
    assert errors == []


@pytest.mark.parametrize("defect, expect", [
    ("image_prep.js", "pageerror: planted defect"),
    ("missing-grid", None),
    ("external", "external request: https://cdn.example.invalid/x.js"),
])
def test_the_harness_reports_a_planted_defect(lab_records, open_report, tmp_path, defect, expect) -> None:
    """A JS error, a missing element or an external script is reported, so the tests above can fail."""
    templates = tmp_path / "templates"
    templates.mkdir()
    if defect == "image_prep.js":
        (templates / defect).write_text("throw new Error('planted defect');", encoding="utf-8")
    elif defect == "missing-grid":
        (templates / "image_prep.html.j2").write_text(
            '{% extends "fieldkit/image_prep.html.j2" %}{% block grid %}{% endblock %}', encoding="utf-8")
    else:
        (templates / "image_prep.html.j2").write_text(
            '{% extends "fieldkit/image_prep.html.j2" %}{% block head_extra %}'
            '<script src="https://cdn.example.invalid/x.js"></script>{% endblock %}', encoding="utf-8")
    page, errors = open_report(dashboard(lab_records, "en", tmp_path, template_dir=str(templates)))
    page.wait_for_timeout(200)
    if expect is None:
        assert missing_elements(page) == ["grid", "legend"]
    else:
        assert any(e.startswith(expect) for e in errors), errors


def test_a_missing_chromium_fails_and_says_how_to_install_it(monkeypatch) -> None:
    """No silent skip: without /usr/bin/chromium every browser test fails with this message."""
    from tests.browser import conftest as harness  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(harness, "CHROMIUM", pathlib.Path("/nonexistent/chromium"))
    with pytest.raises(pytest.fail.Exception, match=r"/nonexistent/chromium not found: .*`make test` installs it "
                                                    r"\(apt package `chromium`"):
        harness._launch_options()  # pylint: disable=protected-access
