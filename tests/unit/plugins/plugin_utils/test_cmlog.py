# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_cmlog.py."""
from __future__ import annotations

import codecs
import datetime as dt
import importlib.util
import json
import re
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]
DATA_DIR = REPO_ROOT / "tests" / "unit" / "test_data" / "cmlog"


def _load(name: str, relative: str):
    """Load a plugin_utils module by path (no collection loader needed)."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


cmlog = _load("mecm_fieldkit_test__cmlog", "plugins/plugin_utils/_cmlog.py")


# Text test logs are kept as UTF-8 with LF (``<name>.txt``) so the repository passes ansible-test's
# line-ending and encoding checks; the bytes Windows would write (CRLF, the file's own encoding and
# BOM) are rebuilt here. The UTF-16 files are binary and kept as they are.
WINDOWS_ENCODINGS = {
    "distmgr_cp1252.log": "cp1252",
    "distmgr_cp932.log": "cp932",
    "distmgr_jst.log": "utf-8",
    "patchdownloader_pst.log": "utf-8",
    "smsdpprov_utf8bom.log": "utf-8-sig",
}


def _read(name: str) -> bytes:
    if name in WINDOWS_ENCODINGS:
        text = (DATA_DIR / f"{name}.txt").read_text(encoding="utf-8")
        return text.replace("\n", "\r\n").encode(WINDOWS_ENCODINGS[name])
    return (DATA_DIR / name).read_bytes()


def _utc(local: str, bias: int) -> str:
    """Independent UTC computation: UTC = local + bias minutes."""
    value = dt.datetime.strptime(local, "%Y-%m-%dT%H:%M:%S.%f") + dt.timedelta(minutes=bias)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (value.microsecond // 1000)


# Lines from domain-reference section 4.4 (COMPOSED there), verbatim.
ADMIN_53 = (
    r"Failed to make a network connection to \\DP01.contoso.local\ADMIN$ (0x35).~  "
    r"$$<SMS_DISTRIBUTION_MANAGER><08-13-2023 10:15:30.123-540><thread=4312 (0x10D8)>"
)
WMI_1722 = (
    r"DPConnection::ConnectWMIEx() - Failed to connect to  DP01.contoso.local. error = 0x800706ba  "
    r"$$<SMS_DISTRIBUTION_MANAGER><08-13-2023 10:17:44.002-540><thread=5120 (0x1400)>"
)
DPPROV_CMTRACE = (
    '<![LOG[Failed to add file to the content library. Error = 0x80070070]LOG]!><time="10:25:45.870-540" '
    'date="08-13-2023" component="SMSDPProv" context="" type="3" thread="2212" file="smsdpprov.cpp:1234">'
)


# ------------------------------------------------------------------------------------------
# SMS trace format
# ------------------------------------------------------------------------------------------


def test_sms_line_fields():
    (entry,) = cmlog.parse_log_text(ADMIN_53 + "\n")
    assert entry.format == "sms"
    assert entry.message == r"Failed to make a network connection to \\DP01.contoso.local\ADMIN$ (0x35).~"
    assert entry.component == "SMS_DISTRIBUTION_MANAGER"
    assert entry.time_local == "2023-08-13T10:15:30.123"
    assert entry.time_utc == "2023-08-13T01:15:30.123Z"
    assert entry.bias_minutes == -540
    assert entry.thread == 4312
    assert entry.severity == "error"
    assert entry.error_codes == [{"raw": "(0x35)", "hresult": "0x80070035", "win32": 53}]
    assert entry.line_number == 1
    assert entry.source_file is None


def test_sms_continuation_lines_join_next_trailer_entry():
    entries = cmlog.parse_log_bytes(_read("distmgr_jst.log"))
    statmsg = [e for e in entries if e.message.startswith("STATMSG:")]
    assert len(statmsg) == 1
    entry = statmsg[0]
    lines = entry.message.split("\n")
    assert len(lines) == 3
    assert lines[1].startswith('ISTR1="PS100012"')
    assert lines[2].startswith("NUMATTRS=1")
    assert "$$<" not in entry.message
    # first physical line of the entry, 1-based; the file has 8 entries before it
    assert entry.line_number == 9
    assert entry.time_local == "2023-08-13T10:19:00.010"
    assert entry.severity == "error"  # SEV=E
    # the entry after the continuation block starts counting again correctly
    following = entries[entries.index(entry) + 1]
    assert following.line_number == 12
    assert all(e.format == "sms" for e in entries)
    assert len(entries) == 11  # 13 physical lines, one entry spans three


def test_sms_blank_lines_between_entries_are_not_continuations():
    text = ADMIN_53 + "\n\n   \n" + WMI_1722 + "\n"
    entries = cmlog.parse_log_text(text)
    assert [e.line_number for e in entries] == [1, 4]
    assert entries[1].message.startswith("DPConnection::ConnectWMIEx()")


def test_sms_single_digit_date_and_missing_milliseconds():
    line = "Something happened  $$<COMP><8-3-2023 9:05:07+480><thread=7 (0x7)>"
    (entry,) = cmlog.parse_log_text(line)
    assert entry.time_local == "2023-08-03T09:05:07.000"
    assert entry.time_utc == "2023-08-03T17:05:07.000Z"
    assert entry.thread == 7


def test_sms_trailer_without_bias_has_no_utc():
    (entry,) = cmlog.parse_log_text("msg  $$<COMP><08-13-2023 10:00:00.000><thread=1 (0x1)>")
    assert entry.time_local == "2023-08-13T10:00:00.000"
    assert entry.time_utc is None
    assert entry.bias_minutes is None


def test_sms_invalid_date_keeps_entry_without_time():
    (entry,) = cmlog.parse_log_text("msg  $$<COMP><13-45-2023 10:00:00.000-540><thread=1 (0x1)>")
    assert entry.format == "sms"
    assert entry.time_local is None and entry.time_utc is None
    assert entry.bias_minutes == -540


@pytest.mark.parametrize(
    "stamp, bias",
    [
        ("08-13-2023 10:15:30.123", -540),  # JST
        ("08-13-2023 09:00:00.000", 480),  # US Pacific
        ("08-13-2023 23:59:59.999", -60),  # CET
        ("01-01-2024 03:00:00.500", -540),  # crosses into the previous year in UTC
        ("12-31-2023 20:30:00.000", 300),  # crosses into the next year in UTC
    ],
)
def test_bias_conversion(stamp, bias):
    sign = "+" if bias >= 0 else "-"
    line = "msg  $$<COMP><%s%s%d><thread=1 (0x1)>" % (stamp, sign, abs(bias))
    (entry,) = cmlog.parse_log_text(line)
    local = dt.datetime.strptime(stamp, "%m-%d-%Y %H:%M:%S.%f").strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert entry.time_local == local[:-3]
    assert entry.bias_minutes == bias
    assert entry.time_utc == _utc(local, bias)


def test_jst_minus_540_is_nine_hours_ahead_of_utc():
    (entry,) = cmlog.parse_log_text("x  $$<C><08-13-2023 08:00:00.000-540><thread=1 (0x1)>")
    assert entry.time_utc == "2023-08-12T23:00:00.000Z"


def test_sms_message_with_dollar_signs_uses_last_trailer():
    line = r"copy \\dp\SMS_DP$\x $$<not a trailer>  $$<C><08-13-2023 08:00:00.000-540><thread=1 (0x1)>"
    (entry,) = cmlog.parse_log_text(line)
    assert entry.component == "C"
    assert entry.message == r"copy \\dp\SMS_DP$\x $$<not a trailer>"


# ------------------------------------------------------------------------------------------
# CMTrace format
# ------------------------------------------------------------------------------------------


def test_cmtrace_line_fields():
    (entry,) = cmlog.parse_log_text(DPPROV_CMTRACE)
    assert entry.format == "cmtrace"
    assert entry.message == "Failed to add file to the content library. Error = 0x80070070"
    assert entry.component == "SMSDPProv"
    assert entry.time_local == "2023-08-13T10:25:45.870"
    assert entry.time_utc == "2023-08-13T01:25:45.870Z"
    assert entry.bias_minutes == -540
    assert entry.thread == 2212
    assert entry.severity == "error"
    assert entry.source_file == "smsdpprov.cpp:1234"
    assert entry.error_codes == [{"raw": "Error = 0x80070070", "hresult": "0x80070070", "win32": 112}]


@pytest.mark.parametrize(
    "type_, message, expected",
    [
        ("3", "Client is starting", "error"),  # type 3: an error whatever the text says
        ("3", "Will retry in 60 seconds", "error"),
        ("2", "Failed badly", "warning"),  # type 2: the writer's warning, even with failure text
        ("2", "Client is starting", "warning"),
        ("1", "Failed badly", "error"),  # type 1: the text decides
        ("1", "Will retry in 60 seconds", "warning"),
        ("1", "Client is starting", "info"),
        ("7", "Failed badly", "error"),  # an unknown type: the text decides
    ],
)
def test_cmtrace_type_precedence(type_, message, expected):
    line = ('<![LOG[%s]LOG]!><time="01:00:00.000+000" date="01-02-2023" component="c" type="%s" thread="1" '
            'file="a.cpp:1">' % (message, type_))
    (entry,) = cmlog.parse_log_text(line)
    assert entry.severity == expected


def test_cmtrace_without_type_falls_back_to_heuristic():
    line = '<![LOG[Will retry in 60 seconds]LOG]!><time="01:00:00.000+000" date="01-02-2023" component="c" thread="1">'
    (entry,) = cmlog.parse_log_text(line)
    assert entry.severity == "warning"
    assert entry.source_file is None
    assert entry.time_utc == "2023-01-02T01:00:00.000Z"


def test_cmtrace_multiline_file():
    entries = cmlog.parse_log_bytes(_read("smsdpprov_utf8bom.log"))
    assert [e.format for e in entries] == ["cmtrace"] * 4
    assert [e.line_number for e in entries] == [1, 2, 3, 7]
    multi = entries[2]
    assert multi.message == (
        "CContentDefinition::AddFile failed for D:\\SCCMContentLib\\FileLib\\1A2B\\1A2B3C.\n"
        "Package PS100012 will be retried.\n"
    )
    assert multi.severity == "warning"  # type="2"
    assert multi.source_file == "smsdpprov.cpp:1240"  # file attribute on its own line
    last = entries[3]
    assert last.message == "Free space on drive D: is 12 MB (Übersicht → ドライブ)"
    assert last.thread == 2212  # thread="2212 (0x8A4)"
    assert last.source_file is None  # no file attribute, an extra one with ">" inside quotes
    assert entries[0].error_codes == []  # state message id 0x40000950 is not an error
    assert entries[0].severity == "info"


def test_two_cmtrace_records_on_one_physical_line():
    text = DPPROV_CMTRACE + DPPROV_CMTRACE.replace("type=\"3\"", "type=\"2\"") + "\n"
    entries = cmlog.parse_log_text(text)
    assert [e.severity for e in entries] == ["error", "warning"]
    assert [e.line_number for e in entries] == [1, 1]


def test_truncated_cmtrace_record_becomes_plain_entry():
    text = "<![LOG[Half a record\nstill going\n" + DPPROV_CMTRACE + "\n"
    entries = cmlog.parse_log_text(text)
    assert [e.format for e in entries] == ["plain", "cmtrace"]
    assert entries[0].message == "<![LOG[Half a record\nstill going"
    assert entries[0].line_number == 1
    assert entries[1].line_number == 3


def test_truncated_cmtrace_record_at_end_of_file():
    entries = cmlog.parse_log_text(DPPROV_CMTRACE + "\n<![LOG[cut here")
    assert [e.format for e in entries] == ["cmtrace", "plain"]
    assert entries[1].message == "<![LOG[cut here"


def test_unterminated_cmtrace_record_is_bounded():
    text = "<![LOG[never closed\n" + "filler\n" * 600 + DPPROV_CMTRACE + "\n"
    entries = cmlog.parse_log_text(text)
    assert entries[0].format == "plain"
    assert entries[0].message.count("\n") == 500  # 501 physical lines, then the record is given up
    assert entries[-1].format == "cmtrace" and entries[-1].line_number == 602
    assert all(e.format == "plain" for e in entries[:-1])


# ------------------------------------------------------------------------------------------
# Plain lines and mixed content
# ------------------------------------------------------------------------------------------


def test_plain_msi_log_bomless_utf16():
    entries = cmlog.parse_log_bytes(_read("client_msi_plain.log"))
    assert [e.format for e in entries] == ["plain"] * 4
    assert all(e.time_utc is None and e.time_local is None and e.component is None for e in entries)
    assert entries[0].severity == "info"
    assert entries[1].severity == "error"
    assert entries[1].error_codes == [{"raw": "Error 1603", "hresult": "0x80070643", "win32": 1603}]
    assert entries[2].severity == "error"  # "Return value 3."
    assert [e.line_number for e in entries] == [1, 2, 3, 4]


def test_plain_lines_before_cmtrace_stay_plain_and_blank_lines_are_dropped():
    text = "header line\n\n" + DPPROV_CMTRACE + "\ntrailing plain\n"
    entries = cmlog.parse_log_text(text)
    assert [(e.format, e.line_number) for e in entries] == [("plain", 1), ("cmtrace", 3), ("plain", 4)]


def test_crlf_and_cr_line_endings():
    text = "a  $$<C><01-01-2023 00:00:00.000+000><thread=1 (0x1)>\r\nb\rc  $$<C><01-01-2023 00:00:01.000+000><thread=1 (0x1)>\r\n"
    entries = cmlog.parse_log_text(text)
    assert [e.message for e in entries] == ["a", "b\nc"]
    assert [e.line_number for e in entries] == [1, 2]


# ------------------------------------------------------------------------------------------
# Error codes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message, expected",
    [
        ("error = 0x800706BA", [("error = 0x800706BA", "0x800706BA", 1722)]),
        ("error = 0x800706ba", [("error = 0x800706ba", "0x800706BA", 1722)]),
        ("CSendFileAction::SendFiles failed; 0x80041002", [("0x80041002", "0x80041002", None)]),
        ("~ExecStaticMethod failed (80041002) SMS_DistributionPoint, AddFile", [("(80041002)", "0x80041002", None)]),
        ("connect error = 0x35", [("error = 0x35", "0x80070035", 53)]),
        (r"\\DP01\ADMIN$ (0x35).~", [("(0x35)", "0x80070035", 53)]),
        (r"\\DP01\ADMIN$ (0x576).~", [("(0x576)", "0x80070576", 1398)]),
        ("MSWNET:... Error = 53", [("Error = 53", "0x80070035", 53)]),
        ("cannot access it, Win32 last error = 5", [("Win32 last error = 5", "0x80070005", 5)]),
        ("DownloadContentFiles() failed with hr=0x80070194", [("hr=0x80070194", "0x80070194", 404)]),
        ("Failed to create directory \\\\h\\f\\x.cab, error 5", [("error 5", "0x80070005", 5)]),
        ("Authentication of file x.tmp failed, error 0x800b0004", [("error 0x800b0004", "0x800B0004", None)]),
        ("CWmi::Connect() failed. Error = 0x8004100E", [("Error = 0x8004100E", "0x8004100E", None)]),
        ("hr=-2147024891", [("hr=-2147024891", "0x80070005", 5)]),
        ("Error = 80070005", [("Error = 80070005", "0x80070005", 5)]),
    ],
)
def test_extract_error_codes_forms(message, expected):
    got = cmlog.extract_error_codes(message)
    assert [(c["raw"], c["hresult"], c["win32"]) for c in got] == expected


@pytest.mark.parametrize("win32", [2, 3, 5, 32, 53, 64, 67, 112, 1326, 1398, 1722, 1753, 1825])
def test_win32_codes_map_to_facility_win32(win32):
    (code,) = cmlog.extract_error_codes("failed (0x%X)" % win32)
    assert int(code["hresult"], 16) == 0x80070000 | win32
    assert code["win32"] == win32
    assert re.fullmatch(r"0x[0-9A-F]{8}", code["hresult"])
    (decimal,) = cmlog.extract_error_codes("Error = %d" % win32)
    assert decimal["hresult"] == code["hresult"]


@pytest.mark.parametrize(
    "message",
    [
        "Report state message 0x40000950 to MP",
        "Started thread 4312 (0x10D8)",
        "Download http://x/y.cab to C:\\t.tmp returns 0",
        "~ Sending failed. Failure count = 3, Restart time = 2023/08/13 10:50:01 Tokyo Standard Time",
        "Completed with error = 0",
        "hr=0x00000000",
        "~Currently using 3 out of 3 allowed package processing threads.",
        "Found send request with ID: 412, Package: PS100012, Version:1, Priority: 2",
    ],
)
def test_extract_error_codes_ignores_non_errors(message):
    assert cmlog.extract_error_codes(message) == []


def test_extract_error_codes_dedups_and_keeps_order():
    message = "first 0x80070005 then (0x35) then again Error = 5 and 0x80041002"
    got = cmlog.extract_error_codes(message)
    assert [c["hresult"] for c in got] == ["0x80070005", "0x80070035", "0x80041002"]
    assert got[0]["raw"] == "0x80070005"


# ------------------------------------------------------------------------------------------
# Severity heuristic
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message, expected",
    [
        ("CSendFileAction::SendFiles failed; 0x80070070", "error"),
        ("~Cannot establish connection to x", "error"),
        ("Unable to open registry key", "error"),
        ("Access is denied", "error"),
        ("ERROR: something", "error"),
        ("Operation returned 0x80070005", "error"),
        ("hr=0x80070194", "error"),
        ("Return code (0x35)", "error"),
        ("~ Sending failed. Failure count = 3. Will retry", "error"),  # failure beats retry
        ("Package will retry in 30 minutes", "warning"),
        ("Retrying the connection", "warning"),
        ("WARNING: low disk space", "warning"),
        ("STATMSG: ID=2300 SEV=W LEV=M", "warning"),
        ("STATMSG: ID=2301 SEV=I LEV=M", "info"),
        ("Completed with error = 0", "info"),
        ("Finished with 0 errors", "info"),
        ("Report state message 0x40000950 to MP", "info"),
        ("~Currently using 3 out of 3 allowed package processing threads.", "info"),
    ],
)
def test_severity_heuristic(message, expected):
    (entry,) = cmlog.parse_log_text(message + "  $$<C><01-01-2023 00:00:00.000+000><thread=1 (0x1)>")
    assert entry.severity == expected
    assert cmlog.classify_severity(message) == expected


def test_severity_rules_table_is_the_single_source():
    severities = {rule[0] for rule in cmlog.SEVERITY_RULES}
    assert severities == {"error", "warning"}
    for severity, pattern, why in cmlog.SEVERITY_RULES:
        re.compile(pattern)
        assert why


# ------------------------------------------------------------------------------------------
# Encodings
# ------------------------------------------------------------------------------------------


def test_utf16le_with_bom_file():
    raw = _read("pkgxfermgr_utf16le_bom.log")
    assert raw.startswith(codecs.BOM_UTF16_LE)
    text = cmlog.decode_log_bytes(raw)
    assert "\x00" not in text and not text.startswith("\ufeff")
    entries = cmlog.parse_log_bytes(raw)
    assert len(entries) == 8
    assert {e.component for e in entries} == {"SMS_PACKAGE_TRANSFER_MANAGER"}
    hresults = [c["hresult"] for e in entries for c in e.error_codes]
    assert hresults == ["0x80041002", "0x80041002", "0x80070035", "0x80070040", "0x80070070"]
    assert entries[2].error_codes[0]["raw"] == "(80041002)"


def test_utf16be_with_bom():
    raw = codecs.BOM_UTF16_BE + (ADMIN_53 + "\r\n").encode("utf-16-be")
    (entry,) = cmlog.parse_log_bytes(raw)
    assert entry.error_codes[0]["hresult"] == "0x80070035"


def test_utf8_bom_file():
    raw = _read("smsdpprov_utf8bom.log")
    assert raw.startswith(codecs.BOM_UTF8)
    text = cmlog.decode_log_bytes(raw)
    assert text.startswith("<![LOG[")
    assert "Übersicht → ドライブ" in text


def test_cp932_ansi_with_japanese_text():
    raw = _read("distmgr_cp932.log")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    entries = cmlog.parse_log_bytes(raw, ansi_encoding="cp932")
    assert len(entries) == 2
    assert "\\\\SITE01\\ソース共有\\アプリ\\Office" in entries[0].message
    assert entries[0].error_codes == [{"raw": "Win32 last error = 5", "hresult": "0x80070005", "win32": 5}]
    assert entries[1].message.endswith("東京 (標準時)")
    # With the default code page the Japanese text is not recovered.
    assert "ソース共有" not in cmlog.decode_log_bytes(raw)


def test_cp1252_default_ansi():
    raw = _read("distmgr_cp1252.log")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    (entry,) = cmlog.parse_log_bytes(raw)
    assert "\\Société\\Paquet" in entry.message
    assert entry.time_utc == "2023-03-05T10:00:00.000Z"  # bias +60


def test_truncated_utf8_tail_read_is_still_utf8():
    full = ("é" + ADMIN_53 + "\nドライブ").encode("utf-8")
    cut = full[1:-1]  # starts and ends in the middle of a multi-byte character
    text = cmlog.decode_log_bytes(cut)
    assert "ADMIN$" in text and "Ã" not in text


def test_bomless_utf16le_misaligned_tail():
    raw = (ADMIN_53 + "\r\n").encode("utf-16-le")[1:]
    (entry,) = cmlog.parse_log_bytes(raw)
    assert entry.component == "SMS_DISTRIBUTION_MANAGER"


def test_nul_padding_removed():
    raw = (ADMIN_53 + "\r\n").encode("utf-8") + b"\x00" * 3
    (entry,) = cmlog.parse_log_bytes(raw)
    assert entry.format == "sms"


def test_unknown_ansi_encoding_rejected():
    with pytest.raises(ValueError, match="no-such-codepage"):
        cmlog.decode_log_bytes(b"abc", ansi_encoding="no-such-codepage")


def test_decode_requires_bytes():
    with pytest.raises(TypeError):
        cmlog.decode_log_bytes("text")


# ------------------------------------------------------------------------------------------
# Other sample files
# ------------------------------------------------------------------------------------------


def test_patchdownloader_sample():
    entries = cmlog.parse_log_bytes(_read("patchdownloader_pst.log"))
    assert [e.severity for e in entries] == ["info", "error", "error", "error", "error"]
    codes = [[c["hresult"] for c in e.error_codes] for e in entries]
    assert codes == [[], [], ["0x80070194"], ["0x80070005"], ["0x800B0004"]]
    assert entries[-1].time_local == "2023-08-13T09:00:03.000"
    assert entries[-1].time_utc == "2023-08-13T17:00:03.000Z"
    assert entries[0].component == "Software Updates Patch Downloader"


def test_distmgr_sample_codes():
    entries = cmlog.parse_log_bytes(_read("distmgr_jst.log"))
    by_code = {c["hresult"]: e for e in entries for c in e.error_codes}
    assert set(by_code) == {
        "0x80070035", "0x80070005", "0x800706BA", "0x8004100E", "0x80070576", "0x80070721",
    }
    assert entries[0].severity == "info"


# ------------------------------------------------------------------------------------------
# filter_entries
# ------------------------------------------------------------------------------------------


@pytest.fixture(name="distmgr")
def _distmgr():
    return cmlog.parse_log_bytes(_read("distmgr_jst.log"))


def test_filter_since_utc_inclusive(distmgr):
    cutoff = "2023-08-13T01:18:10.376Z"  # 10:18:10.376 JST, the WMI access-denied line
    kept = cmlog.filter_entries(distmgr, since_utc=cutoff)
    assert kept[0].time_local == "2023-08-13T10:18:10.376"
    assert all(e.time_utc >= cutoff for e in kept)
    assert len(kept) == len([e for e in distmgr if e.time_utc >= cutoff])
    assert len(kept) < len(distmgr)


@pytest.mark.parametrize("cutoff", ["2023-08-13T10:18:10.376+09:00", "2023-08-13T01:18:10.376", "2023-08-13T01:18:10.376+00:00"])
def test_filter_since_utc_offsets_and_naive(distmgr, cutoff):
    kept = cmlog.filter_entries(distmgr, since_utc=cutoff)
    assert kept[0].time_local == "2023-08-13T10:18:10.376"


def test_filter_since_drops_entries_without_time():
    entries = cmlog.parse_log_text(ADMIN_53 + "\nplain line at the end\n")
    kept = cmlog.filter_entries(entries, since_utc="2000-01-01T00:00:00Z")
    assert [e.format for e in kept] == ["sms"]
    assert len(cmlog.filter_entries(entries)) == 2


def test_filter_patterns_case_insensitive(distmgr):
    kept = cmlog.filter_entries(distmgr, patterns=["dp02.CONTOSO.local"])
    assert len(kept) == 1 and kept[0].error_codes[0]["hresult"] == "0x8004100E"
    both = cmlog.filter_entries(distmgr, patterns=["DP02", "(0x576)"])
    assert len(both) == 2


def test_filter_patterns_match_component():
    entries = cmlog.parse_log_text(ADMIN_53 + "\n" + DPPROV_CMTRACE)
    assert [e.format for e in cmlog.filter_entries(entries, patterns=["smsdpprov"])] == ["cmtrace"]


def test_filter_severities(distmgr):
    errors = cmlog.filter_entries(distmgr, severities={"error"})
    assert errors and all(e.severity == "error" for e in errors)
    assert len(errors) == len([e for e in distmgr if e.severity == "error"])
    assert cmlog.filter_entries(distmgr, severities={"warning"}) == []


def test_filter_max_entries_keeps_last(distmgr):
    kept = cmlog.filter_entries(distmgr, max_entries=3)
    assert kept == distmgr[-3:]
    assert cmlog.filter_entries(distmgr, max_entries=0) == []
    assert cmlog.filter_entries(distmgr, max_entries=1000) == distmgr


def test_filter_combined_applies_max_after_selection(distmgr):
    kept = cmlog.filter_entries(distmgr, patterns=["DP01"], severities={"error"}, max_entries=2)
    selected = [e for e in distmgr if "dp01" in e.message.lower() and e.severity == "error"]
    assert kept == selected[-2:]
    assert kept[-1].error_codes[0]["hresult"] == "0x80070721"


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"severities": {"fatal"}}, "fatal"),
        ({"max_entries": -1}, "max_entries"),
        ({"since_utc": "yesterday"}, "since_utc"),
    ],
)
def test_filter_rejects_bad_arguments(distmgr, kwargs, text):
    with pytest.raises(ValueError, match=text):
        cmlog.filter_entries(distmgr, **kwargs)


# ------------------------------------------------------------------------------------------
# to_dict
# ------------------------------------------------------------------------------------------


def test_to_dict_is_json_serialisable_plain_dict():
    (entry,) = cmlog.parse_log_text(DPPROV_CMTRACE)
    data = entry.to_dict()
    assert set(data) == {
        "format", "message", "component", "time_local", "time_utc", "bias_minutes", "thread",
        "severity", "error_codes", "line_number", "source_file",
    }
    assert json.loads(json.dumps(data)) == data
    data["error_codes"][0]["hresult"] = "changed"
    assert entry.error_codes[0]["hresult"] == "0x80070070"  # a copy, not a view


# ------------------------------------------------------------------------------------------
# Defect classes seen on real ConfigMgr logs (issue 9): each test holds the minimal
# reproducer and the other members of its class.
# ------------------------------------------------------------------------------------------

SMS_X_TRAILER = "  $$<SMS_X><12-09-2022 11:25:00.000+360><thread=1 (0x1)>"


def _cm(message: str, type_: str = "1") -> str:
    return ('<![LOG[%s]LOG]!><time="11:25:00.000+360" date="12-09-2022" component="C" context="" type="%s" '
            'thread="6156" file="x.cpp:1">' % (message, type_))


def test_thread_id_in_a_message_is_not_an_error_code():
    (entry,) = cmlog.parse_log_text("SMS_EXECUTIVE started SMS_X as thread ID 6156 (0x180C)." + SMS_X_TRAILER)
    assert entry.error_codes == [] and entry.severity == "info"
    assert entry.thread == 1


@pytest.mark.parametrize(
    "message",
    [
        "SMS_EXECUTIVE started SMS_X as thread ID 6156 (0x180C).",
        "Started thread 4312 (0x10D8)",
        "Thread Id = 4312 (0x10D8) exiting",
        "process id 508 (0x1FC) started",
        "pid=508 (0x1FC)",
        "Session 3 (0x3) connected",
        "Component SMS_X <thread=1 (0x1)>",  # a trailer left in the text (no complete SMS trailer)
        "<thread=5120 (0x1400)>",
        "Allocated 6156 (0x180C) handles",  # the hex repeats the decimal number: an echo, not a code
    ],
)
def test_identifiers_printed_as_decimal_and_hex_are_never_error_codes(message):
    assert cmlog.extract_error_codes(message) == []
    assert cmlog.classify_severity(message) == "info"


def test_a_thread_trailer_line_without_a_valid_trailer_gives_no_code():
    # Broken date: the line is plain, and its "<thread=1 (0x1)>" must not read as ERROR_INVALID_FUNCTION.
    (entry,) = cmlog.parse_log_text("Worker started  $$<SMS_X><12-09-2022><thread=1 (0x1)>")
    assert entry.format == "plain" and entry.error_codes == [] and entry.severity == "info"


def test_real_codes_in_parentheses_still_count():
    assert [c["hresult"] for c in cmlog.extract_error_codes(r"\\DP01\ADMIN$ (0x35).~")] == ["0x80070035"]
    assert [c["hresult"] for c in cmlog.extract_error_codes("error 53 (0x35)")] == ["0x80070035"]
    assert [c["hresult"] for c in cmlog.extract_error_codes("on thread 7: failed (0x80070005)")] == ["0x80070005"]


def test_type_1_does_not_hide_failure_text():
    (entry,) = cmlog.parse_log_text(_cm("CcmSetup failed with error code 0x87d00454"))
    assert entry.severity == "error"
    assert [c["hresult"] for c in entry.error_codes] == ["0x87D00454"]
    assert cmlog.filter_entries([entry], severities={"error"}) == [entry]


def test_nul_padding_ends_the_data():
    # A pre-allocated log: the records, NUL padding, then a UTF-16 LE marker the padding hides.
    raw = (ADMIN_53 + "\r\n").encode("utf-8") + b"\x00" * 64 + "MARKER Failed".encode("utf-16-le")
    entries = cmlog.parse_log_bytes(raw)
    assert [e.format for e in entries] == ["sms"]
    assert cmlog.decode_log_bytes(raw) == ADMIN_53 + "\r\n"


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", b""), ("utf-16-le", codecs.BOM_UTF16_LE),
                                           ("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("cp932", b"")])
def test_nul_padding_ends_the_data_in_every_encoding(encoding, bom):
    text = "更新の失敗 failed (0x35)" + SMS_X_TRAILER + "\r\n"
    raw = bom + text.encode(encoding) + b"\x00" * 6000 + "left-over Failed\r\n".encode(encoding)
    entries = cmlog.parse_log_bytes(raw, ansi_encoding="cp932")
    assert [e.message for e in entries] == ["更新の失敗 failed (0x35)"]


def test_bom_at_the_start_of_a_later_line_is_dropped():
    # Two logs concatenated, each with its BOM: the CMTrace record behind the second BOM is parsed.
    raw = codecs.BOM_UTF8 + (ADMIN_53 + "\r\n").encode() + codecs.BOM_UTF8 + (DPPROV_CMTRACE + "\r\n").encode()
    entries = cmlog.parse_log_bytes(raw)
    assert [e.format for e in entries] == ["sms", "cmtrace"]
    assert entries[1].component == "SMSDPProv" and entries[1].severity == "error"
    assert not any("\ufeff" in e.message for e in entries)


@pytest.mark.parametrize(
    "text, formats",
    [
        ("\ufeff" + ADMIN_53 + "\n\ufeff" + WMI_1722 + "\n", ["sms", "sms"]),
        (DPPROV_CMTRACE + "\n\ufeff\ufeff  " + DPPROV_CMTRACE + "\n", ["cmtrace", "cmtrace"]),
        (DPPROV_CMTRACE + "\ufeff" + DPPROV_CMTRACE + "\n", ["cmtrace", "cmtrace"]),  # appended on the same line
        ("<![LOG[cut\n\ufeff" + DPPROV_CMTRACE + "\n", ["plain", "cmtrace"]),  # BOM ends a broken record
    ],
)
def test_boms_before_any_record_are_dropped(text, formats):
    entries = cmlog.parse_log_text(text)
    assert [e.format for e in entries] == formats
    assert not any(e.message.startswith("\ufeff") for e in entries)


@pytest.mark.parametrize("ansi", ["cp1252", "cp932"])
def test_bom_inside_an_ansi_log_is_dropped_before_decoding(ansi):
    raw = "Société failed  $$<C><01-01-2023 00:00:00.000+000><thread=1 (0x1)>\r\n".encode("cp1252" if ansi == "cp1252" else "cp932", errors="replace")
    raw += codecs.BOM_UTF8 + DPPROV_CMTRACE.encode("ascii") + b"\r\n"
    entries = cmlog.parse_log_bytes(raw, ansi_encoding=ansi)
    assert [e.format for e in entries] == ["sms", "cmtrace"]


@pytest.mark.parametrize(
    "message, hresult",
    [
        ("failed with 80070002.", "0x80070002"),
        ("Download failed with 80070005", "0x80070005"),
        ("CcmSetup fails with error 8007000E", "0x8007000E"),
        ("ExecQuery failed with code 80041010;", "0x80041010"),
        ("CopyFile failed (5)", "0x80070005"),
        ("Failed to get token for current process (5).", "0x80070005"),
        ("Failed to open the service (1060)", "0x80070424"),
        ("GetFileVersionInfoSize failed (1813)~", "0x80070715"),
        ("Unable to connect, (53)", "0x80070035"),
    ],
)
def test_codes_without_prefix_in_error_context_are_extracted(message, hresult):
    assert [c["hresult"] for c in cmlog.extract_error_codes(message)] == [hresult]
    assert cmlog.classify_severity(message) == "error"


@pytest.mark.parametrize(
    "message",
    [
        "Copied (5) files",  # no failure text
        "Processing package (5) of 12",
        "Retry attempt (3)",
        "Failed to copy (5 files)",  # not a bare number
        "Failed items: see (70000)",  # not a Win32 code (above 0xFFFF)
        "Download failed with 12345678 bytes left",  # not a failure HRESULT
    ],
)
def test_numbers_in_parentheses_outside_error_context_are_not_codes(message):
    assert cmlog.extract_error_codes(message) == []


def test_multi_line_cmtrace_record_parses_in_linear_time():
    def record(lines: int) -> str:
        body = "\n".join("line %d of a long multi-line message, padded to look like a real log line" % i
                         for i in range(lines - 1))
        return "<![LOG[" + body + "\n" + DPPROV_CMTRACE[len("<![LOG["):] + "\n"

    def best_of_three(text: str) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            (entry,) = cmlog.parse_log_text(text)
            times.append(time.perf_counter() - started)
        assert entry.format == "cmtrace"
        return min(times)

    # 499 lines took about 0.5 s when every line re-joined and re-matched the whole record; a
    # linear scan takes a few milliseconds.
    assert best_of_three(record(499)) < 0.1


def test_lines_glued_into_an_sms_entry_are_capped():
    plain = "".join("plain text line %d\n" % i for i in range(1000))
    entries = cmlog.parse_log_text(plain + ADMIN_53 + "\n")
    sms = entries[-1]
    assert sms.format == "sms"
    assert sms.message.count("\n") + 1 == cmlog.MAX_SMS_ENTRY_LINES
    assert sms.line_number == 1001 - cmlog.MAX_SMS_ENTRY_LINES + 1
    assert [e.format for e in entries[:-1]] == ["plain"] * (1001 - cmlog.MAX_SMS_ENTRY_LINES)
    assert [e.line_number for e in entries[:-1]] == list(range(1, 1001 - cmlog.MAX_SMS_ENTRY_LINES + 1))


def test_continuation_lines_within_the_cap_are_still_glued():
    text = "".join("part %d\n" % i for i in range(cmlog.MAX_SMS_ENTRY_LINES - 1)) + ADMIN_53 + "\n"
    (entry,) = cmlog.parse_log_text(text)
    assert entry.line_number == 1 and entry.message.count("\n") == cmlog.MAX_SMS_ENTRY_LINES - 1


@pytest.mark.parametrize(
    "message, expected",
    [
        ("Process exited with return code: 1603", "error"),
        ("exited with return code: 1603", "error"),
        ("MSI exited with code 1618", "error"),
        ("ccmsetup.exe ExitCode = 7", "error"),
        ("Exit code: 0x80070643", "error"),
        ("Process exited with return code: 0", "info"),
        ("exit code 3010", "info"),  # success, restart required
        ("Process exited with code 1641", "info"),  # success, restart initiated
        ("Action ended 10:00:00: InstallFinalize. Return value 1.", "info"),  # MSI success
        ("Task 'Configuration Manager Client Retry Task' does not exist", "info"),
        ("Task 'Configuration Manager Client Upgrade Task' does not exist", "info"),
        ('Service "Windows Error Reporting Service" is running', "info"),
        ("Scheduled task: 'Warning Collector' registered", "info"),
        ("Failed to run task 'Configuration Manager Client Retry Task'", "error"),  # text outside the name
        ("Task 'Upload' will retry in 30 minutes", "warning"),
        ("State changed to 'Error'", "error"),  # a quoted value that is not a name
        ("The file's name can't be read", "error"),  # a contraction, not a quoted name
    ],
)
def test_severity_heuristic_return_codes_and_names(message, expected):
    assert cmlog.classify_severity(message) == expected
    (entry,) = cmlog.parse_log_text(message + SMS_X_TRAILER)
    assert entry.severity == expected


def _reference_severity(message: str) -> str:
    """classify_severity without the substring pre-checks: one regex per rule, as the table reads."""
    text = cmlog._BENIGN_RE.sub(" ", cmlog._QUOTED_NAME_RE.sub(" ", message))
    rules = [(severity, re.compile(pattern, re.I)) for severity, pattern, _why in cmlog.SEVERITY_RULES]
    if any(p.search(text) for s, p in rules if s == "error") or cmlog.extract_error_codes(message):
        return "error"
    if any(p.search(text) for s, p in rules if s == "warning"):
        return "warning"
    return "info"


def test_substring_pre_checks_never_change_a_severity():
    messages = [e.message for name in WINDOWS_ENCODINGS for e in cmlog.parse_log_bytes(_read(name), "cp1252")]
    messages += [e.message for e in cmlog.parse_log_bytes(_read("pkgxfermgr_utf16le_bom.log"))]
    messages += ["CAN NOT open", "can't open", "SEV=E", "sev=w", "0X8007000E here", "Return Value 3", "EXIT CODE 5",
                 "Retried twice", "warnings: 2", "No errors", "HR = 0", "status: 0"]
    for message in messages:
        assert cmlog.classify_severity(message) == _reference_severity(message), message


@pytest.mark.parametrize(
    "text, ansi",
    [
        ("msg 凜", "cp932"),  # b"msg \xea\xa3": looks like a UTF-8 character cut at the end
        ("凜 msg", "cp932"),
        ("ログ 凜\r\nnext ascii line\r\n", "cp932"),
        ("msg café", "cp1252"),  # b"caf\xe9": a UTF-8 lead byte at the end
        ("é msg", "cp1252"),
    ],
)
def test_ansi_characters_at_the_edges_stay_intact(text, ansi):
    assert cmlog.decode_log_bytes(text.encode(ansi), ansi_encoding=ansi) == text


def test_cut_lead_byte_of_a_double_byte_code_page_is_dropped():
    raw = "msg 凜".encode("cp932")[:-1]  # the read ends after the lead byte
    assert cmlog.decode_log_bytes(raw, ansi_encoding="cp932") == "msg "


def test_utf8_with_multi_byte_text_still_tolerates_cut_edges():
    full = ("ドライブ " + ADMIN_53 + " ドライブ").encode("utf-8")
    text = cmlog.decode_log_bytes(full[1:-1], ansi_encoding="cp932")
    assert "ADMIN$" in text and "\ufffd" not in text
    assert text.endswith(" ドライ") and text.startswith("ライブ ")
