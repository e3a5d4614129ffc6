# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_image_prep_dashboard.py (view model, templates, overrides, escaping)."""
from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _image_prep_dashboard as dash
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _image_prep_report as rep
from tests.unit.plugins.plugin_utils.test_image_prep_report import records

# English words of our UI that must not appear in the Japanese page outside host/module texts and identifiers.
ENGLISH_UI_WORDS = re.compile(r"\b(host|hosts|ready|failed|skipped|done|clean|guard|removed|unreachable|step|steps|"
                              r"status|identity|duplicat\w*|certificates?|scenario|message|result|none|running|stopped|"
                              r"manual|automatic|select|close|legend)\b", re.IGNORECASE)


class _Text(HTMLParser):
    """Visible text outside <script>/<style>, data-raw elements (host and module texts), identifiers
    (``translate="no"``, host names) and <code>."""

    VOID = {"meta", "br", "input", "img", "hr", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        skip = tag in ("script", "style", "code", "title") or any(k == "data-raw" or (k, v) == ("translate", "no") for k, v in attrs)
        self.stack.append(skip or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)


def test_cells_chips_and_guards() -> None:
    view = dash.dashboard_view(records(), "en")
    hosts = {h["host"]: h for h in view["hosts"]}
    assert [c["name"] for c in view["columns"]] == ["install_client", "stop_service", "remove_sms_certificates",
                                                    "remove_smscfg", "empty_ccmcache"]
    states = {h: [c["state"] for c in v["cells"]] for h, v in hosts.items()}
    assert states["ok-01"] == ["none", "done", "none", "none", "skipped"]
    assert states["new-01"] == ["done", "done", "none", "none", "skipped"]
    assert states["bad-01"] == ["none", "done", "failed", "skipped", "none"]
    assert states["gone-01"] == ["none", "unreachable", "unreachable", "unreachable", "unreachable"]
    chips = {c["key"]: c["count"] for c in view["chips"]}
    assert chips == {"hosts": 6, "ready": 2, "failed": 1, "guard": 1, "unreachable": 1, "no-result": 1}
    assert [h["host"] for h in view["guarded"]] == ["cm01"]
    assert hosts["ok-01"]["removed"]["sms_unique_id"] == "GUID:1" and hosts["cm01"]["removed"] is None
    # The cell tallies add up to the grid.
    assert sum(c["count"] for c in view["cell_counts"]) == sum(c["state"] != "none" for h in hosts.values()
                                                               for c in h["cells"])


def test_run_duplicates_and_identity_audit() -> None:
    recs = records()
    dups = dash.run_duplicates(recs)
    assert dups == [{"kind": "sms_unique_id", "value": "GUID:1", "hosts": ["new-01", "ok-01"],
                     "sources": {"new-01": ["removed"], "ok-01": ["removed"]}}]
    audit = rep.identity_audit({"a": {"installed": True, "identity": {"smscfg_unique_id": "GUID:9", "smscfg_present": True}},
                                "b": {"installed": True, "identity": {"smscfg_unique_id": "guid:9", "smscfg_present": True}}})
    page = dash.render_dashboard(recs, "en", identity_audit=audit)
    assert 'data-testid="audit-duplicates"' in page and "GUID:9" in page
    assert 'data-testid="audit-duplicates"' not in dash.render_dashboard(recs, "en")


def test_host_texts_are_escaped() -> None:
    recs = records()
    recs["bad-01"]["msg"] = "<script>alert(1)</script>"
    recs['x"><img src=x onerror=alert(1)>'] = copy.deepcopy(recs["ok-01"])
    page = dash.render_dashboard(recs, "en")
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert page.count("<script>") == 1  # ours, inlined


def test_japanese_page_has_no_english_ui_words() -> None:
    page = dash.render_dashboard(records(), "ja")
    text = visible_text(page)
    assert "イメージ準備" in text
    assert ENGLISH_UI_WORDS.findall(text) == []
    # The check can fail: the English page is full of them.
    assert ENGLISH_UI_WORDS.findall(visible_text(dash.render_dashboard(records(), "en")))


def test_user_template_dir_overrides_ours(tmp_path: Path) -> None:
    (tmp_path / "image_prep.css").write_text("body { background: #123456; }", encoding="utf-8")
    (tmp_path / "image_prep.html.j2").write_text(
        '{% extends "fieldkit/image_prep.html.j2" %}{% block footer %}<footer data-testid="custom">Contoso IT'
        ' - {{ view.hosts | length }} {{ "<b>" }}</footer>{% endblock %}', encoding="utf-8")
    page = dash.render_dashboard(records(), "en", template_dir=str(tmp_path))
    assert "background: #123456" in page and "--ink:" not in page  # their CSS replaced ours
    assert '<footer data-testid="custom">Contoso IT - 6 &lt;b&gt;</footer>' in page  # autoescaped
    assert "closest" in page  # our JS is still inlined
    assert 'data-testid="grid"' in page


def test_inlined_files_cannot_close_their_element(tmp_path: Path) -> None:
    (tmp_path / "image_prep.js").write_text("var x = '</script><script>alert(1)';", encoding="utf-8")
    with pytest.raises(ValueError, match="image_prep.js: the inlined file must not contain '</'"):
        dash.render_dashboard(records(), "en", template_dir=str(tmp_path))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"language": "fr"}, "language='fr' is not a report language; use one of en, ja"),
    ({"template_dir": "/nonexistent"}, "template_dir='/nonexistent' must be a directory on the controller"),
])
def test_options_are_validated(kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        dash.render_dashboard(records(), **kwargs)


def test_check_mode_says_would_change() -> None:
    recs = {"ok-01": dict(records()["ok-01"], msg="check mode: would change stop_service")}
    view = dash.dashboard_view(recs, "en")
    assert view["planned"] is True and view["hosts"][0]["status_word"] == "planned (would change)"
    assert [c["word"] for c in view["cell_counts"] if c["state"] == "done"] == ["would change"]
    assert "Check mode: this is the plan, nothing was changed." in dash.render_dashboard(recs, "en")


def test_malformed_records_do_not_break_the_page() -> None:
    recs = {"a": {"status": None, "steps": None, "client_state": "x", "removed_identity": "x", "install": "y"}, "b": {},
            "c": {"status": "failed", "steps": [{"status": "weird"}, "not a step"],
                  "removed_identity": {"certificates": ["x", {"thumbprint": None}], "sms_unique_id": "GUID:2"}},
            "d": "not a record"}
    view = dash.dashboard_view(recs, "en")
    assert [h["host"] for h in view["hosts"]] == ["a", "b", "c", "d"]
    assert view["hosts"][2]["removed"] == {"sms_unique_id": "GUID:2", "thumbprints": [], "trusted_root_keys": None,
                                           "site_code": None, "management_point": None, "smscfg_path": None,
                                           "previous_sms_unique_id": None}
    assert 'data-testid="detail-d"' in dash.render_dashboard(recs, "ja")
