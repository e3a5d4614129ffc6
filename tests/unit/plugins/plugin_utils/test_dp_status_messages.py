# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status-message table of _dp_status_messages against Configuration Manager's own message file
(../shared/data/configmgr-status-messages/messages.xml.gz, see ../shared/data/README.md).

The reference file carries message IDs, texts and suggested solutions, but no severity field. Its "severity" is
therefore read from Configuration Manager's own wording: a text that says something failed (failed, cannot, does
not exist, not enough, unable, invalid) is an error; progress and success texts are not. A message with a
suggested solution in the file is never classified as "not a failure" here."""
from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_status_messages as m
from tests.simhost.paths import REPO_ROOT

REFERENCE = REPO_ROOT.parent / "shared" / "data" / "configmgr-status-messages" / "messages.xml.gz"
_NS = {"n": "http://tempuri.org/HealthCheckDataSet.xsd"}
_FAILURE_WORDS = re.compile(r"\b(?:fail(?:s|ed|ure)?|cannot|can not|does not exist|not enough|unable|invalid)\b",
                            re.IGNORECASE)


@pytest.fixture(scope="module")
def reference() -> tuple[dict[int, str], dict[int, str]]:
    if not REFERENCE.exists():
        pytest.skip(f"reference data absent: {REFERENCE} (../shared/data is present in CI); the mapping is not checked")
    root = ET.fromstring(gzip.decompress(REFERENCE.read_bytes()))

    def table(tag: str) -> dict[int, str]:
        # MessageSolution IDs also hold HRESULTs and "HTTP12007"-style keys; only numeric status message IDs count.
        rows = ((e.findtext("n:MessageID", namespaces=_NS) or "", e.findtext("n:Description", namespaces=_NS) or "")
                for e in root.findall(f"n:{tag}", _NS))
        return {int(key): text for key, text in rows if key.isdigit()}

    texts, solutions = table("Message"), table("MessageSolution")
    return texts, solutions


def test_every_mapped_id_exists_in_the_reference_file(reference) -> None:
    texts, _solutions = reference
    missing = sorted(set(m.MESSAGES) - set(texts))
    assert not missing, f"mapped message IDs that Configuration Manager does not have: {missing}"


def test_failure_classification_agrees_with_the_reference_wording(reference) -> None:
    texts, solutions = reference
    for message_id, entry in m.MESSAGES.items():
        says_failed = bool(_FAILURE_WORDS.search(texts[message_id]))
        assert entry.failure == says_failed, (message_id, entry.failure, texts[message_id])
        if not entry.failure:
            assert message_id not in solutions, (message_id, "has a suggested solution but is mapped as no failure")


def test_our_short_texts_keep_the_reference_placeholders(reference) -> None:
    """Each {n} of our text is a %n of Configuration Manager's text (the insertion strings mean the same)."""
    texts, _solutions = reference
    for message_id, entry in m.MESSAGES.items():
        ours = set(re.findall(r"\{(\d)\}", entry.text[0]))
        theirs = set(re.findall(r"%(\d)(?!\d)", texts[message_id]))
        assert ours <= theirs, (message_id, ours, theirs)
        assert set(re.findall(r"\{(\d)\}", entry.text[1])) == ours, message_id


@pytest.mark.parametrize("message_id", [2302, 2306, 2323, 2324, 8203, 8207, 8211])
def test_the_issue_failures_are_failures_with_a_checklist_item(message_id: int) -> None:
    entry = m.MESSAGES[message_id]
    assert entry.failure is True and entry.check in m.CHECK_IDS


@pytest.mark.parametrize("message_id", [2329, 8204])
def test_progress_messages_are_no_failure_and_point_nowhere(message_id: int) -> None:
    entry = m.MESSAGES[message_id]
    assert entry.failure is False and entry.check is None


def test_every_entry_has_both_languages() -> None:
    for message_id, entry in m.MESSAGES.items():
        for pair in (entry.text, entry.cause, entry.fix):
            assert all(part.strip() for part in pair), message_id
            assert pair[0] != pair[1], message_id
        assert (entry.check in m.CHECK_IDS) if entry.failure else entry.check is None, message_id


def test_describe_fills_the_insertion_strings_in_both_languages() -> None:
    strings = ["\\\\cm01\\Sources\\LOB", "PS100020", ""]
    en = m.describe(2306, strings, lang="en")
    ja = m.describe(2306, strings, lang="ja")
    assert en["message"] == 'The source directory "\\\\cm01\\Sources\\LOB" for package "PS100020" does not exist'
    assert "\\\\cm01\\Sources\\LOB" in ja["message"] and "PS100020" in ja["message"]
    assert (en["failure"], en["check"], ja["check"]) == (True, "smb_shares", "smb_shares")
    assert en["cause"] != ja["cause"] and en["fix"] != ja["fix"]


def test_unknown_ids_get_a_generic_cause_quoting_the_message_and_no_check() -> None:
    assert 2389 not in m.MESSAGES
    known = m.describe(2389, ["PS100028", "E:\\SMSPKGE$\\PS100028", ""], lang="en")
    assert (known["known"], known["failure"], known["check"]) == (False, None, None)
    assert '"PS100028; E:\\SMSPKGE$\\PS100028"' in known["cause"] and "2389" in known["cause"]
    bare = m.describe(99999, [], lang="ja")
    assert bare["check"] is None and "99999" in bare["cause"] and '"' not in bare["cause"]
    none = m.describe(None, None, state=1, lang="en")
    assert none["check"] is None and none["message"] is None and "Install pending" in none["cause"]


def test_state_texts_follow_the_sdk_values_and_refuse_unknown_languages() -> None:
    assert [m.state_name(n) for n in range(9)] == [
        "installed", "install_pending", "install_retrying", "install_failed", "removal_pending", "removal_retrying",
        "removal_failed", "content_updating", "content_monitoring"]
    assert m.state_text(3, "ja") == "インストール失敗" and m.state_text(42, "en") == "State 42"
    assert m.FAILED_STATE_NAMES == ("install_failed", "removal_failed")
    with pytest.raises(ValueError, match="language='de' is not allowed; use one of: en, ja"):
        m.describe(2306, lang="de")
