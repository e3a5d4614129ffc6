# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse Configuration Manager log files (SMS trace, CMTrace, plain). FOR INTERNAL COLLECTION USE ONLY."""
from __future__ import annotations

import codecs
import collections
import dataclasses
import datetime as _dt
import re
from collections.abc import Iterable

# This module must import only the standard library: it is loaded by plain path in unit tests
# and must not depend on Ansible.

__all__ = [
    "LogEntry",
    "SEVERITIES",
    "SEVERITY_RULES",
    "classify_severity",
    "decode_log_bytes",
    "extract_error_codes",
    "filter_entries",
    "parse_log_bytes",
    "parse_log_text",
]

SEVERITIES = ("info", "warning", "error")

# --------------------------------------------------------------------------------------------
# Line grammars (domain-reference section 4.2)
# --------------------------------------------------------------------------------------------

# SMS trace: "<message>  $$<Component><MM-DD-YYYY HH:MM:SS.mmm+bias><thread=N (0xHEX)>".
# The message part is greedy so that the LAST "$$<" carrying a full trailer wins.
_SMS_TRAILER_RE = re.compile(
    r"^(?P<msg>.*)\$\$<(?P<component>[^<>]*)>"
    r"<(?P<date>\d{1,2}-\d{1,2}-\d{4})\s+(?P<time>\d{1,2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,7}))?"
    r"(?P<bias>[+-]\d{1,4})?>"
    r"(?:<thread=(?P<thread>\d+)(?:\s*\(0x[0-9A-Fa-f]+\))?>)?\s*$",
    re.DOTALL,
)

_CMTRACE_START = "<![LOG["
# CMTrace: "<![LOG[msg]LOG]!><time=".." date=".." component=".." ... file="..">". The message ends
# at the first "]LOG]!><"; the attribute block ends at the first ">" outside double quotes, so
# extra, missing or unquoted attributes are tolerated and a ">" inside a quoted value cannot end
# it. Both may span lines; _CmTraceRecord scans each physical line once (linear time).
_CMTRACE_MESSAGE_END = "]LOG]!><"
_ATTR_RE = re.compile(r"([\w.:-]+)\s*=\s*(?:\"([^\"]*)\"|([^\s\">]*))")
_CMTRACE_TIME_RE = re.compile(
    r"^(?P<time>\d{1,2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,7}))?(?P<bias>[+-]\d{1,4})?$"
)
_DATE_RE = re.compile(r"^(?P<m>\d{1,2})-(?P<d>\d{1,2})-(?P<y>\d{4})$")
_LINE_SPLIT_RE = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"

# CMTrace severity precedence: type="3" is an error and type="2" a warning whatever the text says
# (the writer chose them); type="1", a missing or an unknown type is decided by the text heuristic
# (classify_severity), so "CcmSetup failed with error code 0x87d00454" written with type="1" is an
# error: many writers (ccmsetup among them) log their failures with type 1.
_CMTRACE_TYPES = {"2": "warning", "3": "error"}
# A CMTrace record still open after this many physical lines is treated as broken and emitted
# as one plain entry, which bounds the work on damaged files.
_MAX_RECORD_LINES = 500
# An SMS trace entry spans at most this many physical lines: its trailer line and the trailer-less
# lines just before it. Older trailer-less lines become plain entries (a plain text block before an
# SMS trace line is not glued into one huge entry). The host's record cap is the same value
# (_host_contract.LOG_MAX_RECORD_LINES).
MAX_SMS_ENTRY_LINES = 64

# --------------------------------------------------------------------------------------------
# Severity heuristic for lines that carry no type (SMS trace and plain lines)
# --------------------------------------------------------------------------------------------

# The one table of the heuristic: (severity, regex, why). Order of evaluation: any "error"
# rule matches -> "error"; else the message yields an error code (extract_error_codes(), which
# never returns zero codes) -> "error"; else any "warning" rule matches -> "warning"; else
# "info". Before matching, two kinds of text are blanked: phrases that only report success
# (BENIGN_PATTERN), so "error = 0", "hr=0x0" or "0 errors" do not make a line an error, and quoted
# names after a naming noun (QUOTED_NAME_PATTERN), so "Task 'Configuration Manager Client Retry Task'
# does not exist" is not a warning because of the word in the task's name. Matching is
# case-insensitive. So "Sending failed. ... will retry" is an error: failure wins over retry. A
# non-zero exit or return code ("exited with return code: 1603") is an error, except 3010 and 1641
# (success, restart required / initiated). "Return value 1" of MSI logs is success and not matched.
# The host's pre-filter (log.read_filtered, _host_contract.LOG_*) is built from this same table.
SEVERITY_RULES: tuple[tuple[str, str, str], ...] = (
    ("error", r"\bfail(?:s|ed|ure|ures)?\b", "failed / failure"),
    ("error", r"\berrors?\b", "error"),
    ("error", r"\b(?:cannot|can\s*not|can't|unable)\b", "cannot / unable"),
    ("error", r"\bdenied\b", "access denied"),
    ("error", r"\b0x[89a-f][0-9a-f]{7}\b", "failure HRESULT 0x8xxxxxxx"),
    ("error", r"\breturn value 3\b", "MSI action failed (plain MSI logs)"),
    ("error", r"\bSEV=E\b", "STATMSG with error severity"),
    (
        "error",
        r"\b(?:(?:exit|return)[ _-]?code|exit\s+status|exited\s+with)\b(?:\s+(?:code|value|status))?"
        r"\s*(?:[:=]|is|of|was)?\s*(?!(?:0x)?0+\b|3010\b|1641\b)(?:0x[0-9a-f]{1,8}|-?\d{1,10})\b",
        "non-zero exit / return code (not 3010 / 1641)",
    ),
    ("warning", r"\b(?:will\s+)?retr(?:y|ying|ies|ied)\b", "retry / will retry"),
    ("warning", r"\bwarn(?:ing|ings)?\b", "warning"),
    ("warning", r"\bSEV=W\b", "STATMSG with warning severity"),
)
# One alternation per severity: one regex search instead of one per rule, run only when the
# lower-cased message holds one of the substrings any rule needs (most lines hold none).
_ERROR_RULES_RE = re.compile("|".join("(?:%s)" % r[1] for r in SEVERITY_RULES if r[0] == "error"), re.IGNORECASE)
_WARNING_RULES_RE = re.compile("|".join("(?:%s)" % r[1] for r in SEVERITY_RULES if r[0] == "warning"), re.IGNORECASE)
_ERROR_HINTS = ("fail", "error", "can", "unable", "denied", "0x", "return", "sev=e", "exit")
_WARNING_HINTS = ("retr", "warn", "sev=w")
_BENIGN_HINTS = ("error", "failure", "hr", "result", "status")
BENIGN_PATTERN = (
    r"\b(?:no|0|zero|without)\s+(?:errors?|failures?)\b"
    r"|\b(?:error|hr|result|status)(?:\s+code)?\s*(?:=|:)?\s*(?:0x)?0+\b(?!\.\d)"
)
_BENIGN_RE = re.compile(BENIGN_PATTERN, re.IGNORECASE)
# A quoted name right after a naming noun: Task 'X', service "X", file 'X', package: 'X' (not a
# contraction: in "the file's name can't be read" nothing is a name).
QUOTED_NAME_PATTERN = (
    r"\b(?:task|service|file|folder|directory|path|package|program|application|deployment|collection"
    r"|component|process|share|job|class|namespace|object|item|setting|policy|account|user|group|name)s?"
    r"""(?:\s*[:=]\s*|\s+)(?:'[^'\r\n]{1,260}'|"[^"\r\n]{1,260}")(?!\w)"""
)
_QUOTED_NAME_RE = re.compile(QUOTED_NAME_PATTERN, re.IGNORECASE)

# --------------------------------------------------------------------------------------------
# Error codes
# --------------------------------------------------------------------------------------------

_HEX8 = r"[0-9A-Fa-f]{8}"
# Each pattern has a group "val". Patterns are tried in this order; a later match that
# overlaps an earlier accepted one is ignored.
_CODE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # "hr=0x80070194", "hr = 80070005", "hr=-2147024891"
    ("hr", re.compile(r"\bhr\s*[=:]?\s*(?P<val>0x[0-9A-Fa-f]{1,8}\b|-\d{1,10}\b|" + _HEX8 + r"\b)", re.I)),
    # "Win32 last error = 5", "Error = 53", "error = 0x35", "error 5", "error 0x800b0004"
    (
        "keyword",
        re.compile(
            r"\b(?:win32\s+)?(?:last\s+)?error(?:\s+code)?\s*(?:=|:|is)?\s*"
            r"(?P<val>0x[0-9A-Fa-f]{1,8}\b|-\d{1,10}\b|\d{1,10}\b)(?![.:/-]\d)",
            re.I,
        ),
    ),
    # "failed with 80070002", "fails with error 8007000E", "returned 80004005": an HRESULT without 0x
    # after failure text (only failure HRESULTs: high bit set)
    (
        "failed_with",
        re.compile(
            r"\b(?:fail(?:s|ed|ure)?|returned)\s+(?:with\s+)?(?:(?:error|exit|return|status)\s+)?(?:code\s*)?[=:]?\s*"
            r"(?P<val>[89A-Fa-f][0-9A-Fa-f]{7})(?![0-9A-Za-z])",
            re.I,
        ),
    ),
    # "(0x35)", "(0x80070005)", "(80041002)" (8 hex digits, no prefix)
    ("paren", re.compile(r"\(\s*(?P<val>0x[0-9A-Fa-f]{1,8}|" + _HEX8 + r")\s*\)")),
    # "CreateFile failed (5)", "Failed to open the service (1060)": a decimal Win32 code in parentheses
    # at the end of a clause, taken only after failure text in the same message (_ERROR_CONTEXT_RE)
    ("paren_decimal", re.compile(r"\(\s*(?P<val>\d{1,5})\s*\)(?=\s*(?:$|[.,;:~!]))")),
    # bare "0x800706BA" anywhere (only failure HRESULTs: high bit set)
    ("bare", re.compile(r"(?<![0-9A-Za-z])(?P<val>0x[0-9A-Fa-f]{8})(?![0-9A-Za-z])")),
)
# Cheap substring test (on the lower-cased message) before running each pattern.
_CODE_HINTS = {
    "hr": ("hr",), "keyword": ("error",), "failed_with": ("fail", "returned"), "paren": ("(",),
    "paren_decimal": ("(",), "bare": ("0x",),
}
# An identifier printed in decimal and then in hex must not yield a code from the parenthesised hex:
# "thread 4312 (0x10D8)", "as thread ID 6156 (0x180C)", the trailer "<thread=1 (0x1)>",
# "process id 508 (0x1FC)". Two rules: an ID word before the number, or the hex equal to the number.
_ID_BEFORE_PAREN_RE = re.compile(
    r"(?:thread|tid|pid|process|session|job)(?:\s*id)?\s*[=:#]?\s*\d+\s*$", re.I
)
_DECIMAL_BEFORE_PAREN_RE = re.compile(r"(?<![0-9A-Za-z.])(\d{1,10})\s*$")
# Failure text that makes a bare "(5)" an error code.
_ERROR_CONTEXT_RE = re.compile(
    r"\b(?:fail(?:s|ed|ure|ures)?|errors?|cannot|can\s*not|can't|couldn't|could\s+not|unable|denied)\b", re.I
)


def _is_echoed_identifier(message: str, start: int, val_text: str) -> bool:
    """Whether the parenthesised value at ``start`` is an identifier, not an error code.

    True after an ID word and a number (``thread ID 6156 (0x180C)``, ``pid=508 (0x1FC)``) and when
    a hex value repeats the decimal number just before it (``6156 (0x180C)``, ``1 (0x1)``).
    """
    before = message[max(0, start - 64):start]
    if _ID_BEFORE_PAREN_RE.search(before):
        return True
    if val_text[:2].lower() != "0x":
        return False
    number = _DECIMAL_BEFORE_PAREN_RE.search(before)
    return number is not None and int(number.group(1)) == int(val_text, 16)


def _code_from_value(text: str, kind: str) -> int | None:
    """Turn a captured value into an unsigned 32-bit integer.

    Args:
        text: The captured value (``0x35``, ``53``, ``80041002``, ``-2147024891``).
        kind: Which pattern captured it (``hr``, ``keyword``, ``paren``, ``bare``).

    Returns:
        The value, or None when it does not fit in 32 bits.
    """
    if text[:2].lower() == "0x":
        return int(text, 16)
    if text.startswith("-"):
        # HRESULT printed as a signed 32-bit integer (-2147024891 = 0x80070005).
        value = int(text)
        return value & 0xFFFFFFFF if value >= -0x80000000 else None
    if kind in ("paren", "hr", "failed_with"):
        # Without a prefix these patterns only capture eight hex digits (80041002).
        return int(text, 16)
    if len(text) == 8 and text[0] in "89":
        # "error = 80070005": an HRESULT written without 0x; Win32 codes are far smaller.
        return int(text, 16)
    value = int(text)
    return value if value <= 0xFFFFFFFF else None


def _normalise_code(value: int) -> dict[str, object] | None:
    """Canonical HRESULT string and Win32 code for an unsigned value; None for zero."""
    if value == 0:
        return None
    if value <= 0xFFFF:
        return {"hresult": "0x%08X" % (0x80070000 | value), "win32": value}
    win32 = value & 0xFFFF if (value & 0xFFFF0000) == 0x80070000 else None
    return {"hresult": "0x%08X" % value, "win32": win32}


def extract_error_codes(message: str) -> list[dict]:
    """Find Windows error codes in a log message.

    Recognised forms: ``0x800706BA``, ``(80041002)``, ``(0x35)``, ``error = 0x35``,
    ``Error = 53``, ``Win32 last error = 5``, ``hr=0x80070194``, ``error 5``, ``failed with
    80070002`` (eight hex digits without ``0x`` after failure text) and ``failed (5)`` (a decimal
    code in parentheses at the end of a clause, only when the message has failure text before it).
    Win32 codes (values up to 0xFFFF) become FACILITY_WIN32 HRESULTs (``0x80070000 | code``). A bare
    ``0x`` number is taken only when it is a failure HRESULT (high bit set), so state message
    IDs such as ``0x40000950`` are ignored. Identifiers printed as ``<decimal> (0x<hex>)`` are not
    codes: after an ID word (``thread ID 6156 (0x180C)``, ``<thread=1 (0x1)>``) or when the hex
    repeats the decimal number. Zero values are not errors and are skipped. Each HRESULT is reported
    once per message, at its first occurrence.

    Args:
        message: The message text.

    Returns:
        A list of ``{"raw": str, "hresult": "0x8007XXXX", "win32": int | None}`` in text order.
    """
    found: list[tuple[int, int, dict]] = []
    taken: list[tuple[int, int]] = []
    lowered = message.lower()
    for kind, pattern in _CODE_PATTERNS:
        if not _has_hint(lowered, _CODE_HINTS[kind]):
            continue
        for match in pattern.finditer(message):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            val_text = match.group("val")
            if kind in ("paren", "paren_decimal") and _is_echoed_identifier(message, start, val_text):
                continue
            if kind == "paren_decimal" and not _ERROR_CONTEXT_RE.search(message, 0, start):
                continue
            value = _code_from_value(val_text, kind)
            if value is None:
                continue
            if kind == "paren_decimal" and value > 0xFFFF:
                continue
            if kind == "bare" and value < 0x80000000:
                continue
            if kind == "paren" and not val_text.lower().startswith("0x") and value < 0x80000000:
                continue
            norm = _normalise_code(value)
            if norm is None:
                continue
            taken.append((start, end))
            raw = match.group(0).strip()
            found.append((start, end, {"raw": raw, "hresult": norm["hresult"], "win32": norm["win32"]}))
    found.sort(key=lambda item: item[0])
    result: list[dict] = []
    seen: set[str] = set()
    for _start, _end, code in found:
        if code["hresult"] in seen:
            continue
        seen.add(code["hresult"])
        result.append(code)
    return result


def classify_severity(message: str, error_codes: list[dict] | None = None) -> str:
    """Guess the severity of a message that carries no CMTrace type (see SEVERITY_RULES).

    Args:
        message: The message text.
        error_codes: Codes already extracted from it; extracted here when None.

    Returns:
        ``"error"``, ``"warning"`` or ``"info"``.
    """
    codes = extract_error_codes(message) if error_codes is None else error_codes
    text = message
    if "'" in text or '"' in text:
        text = _QUOTED_NAME_RE.sub(" ", text)
    lowered = text.lower()
    if _has_hint(lowered, _BENIGN_HINTS):
        text = _BENIGN_RE.sub(" ", text)
        lowered = text.lower()
    if _has_hint(lowered, _ERROR_HINTS) and _ERROR_RULES_RE.search(text):
        return "error"
    if codes:
        return "error"
    if _has_hint(lowered, _WARNING_HINTS) and _WARNING_RULES_RE.search(text):
        return "warning"
    return "info"


def _has_hint(lowered: str, hints: tuple[str, ...]) -> bool:
    for hint in hints:
        if hint in lowered:
            return True
    return False


# --------------------------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class LogEntry:
    """One log record.

    Attributes:
        format: ``"sms"``, ``"cmtrace"`` or ``"plain"``.
        message: Message text; physical lines of multi-line records joined with ``\\n``.
        component: Writing component, or None.
        time_local: Local time as ISO 8601 without offset (milliseconds), or None.
        time_utc: UTC time as ISO 8601 with ``Z``, or None when the bias is unknown.
        bias_minutes: Windows bias (UTC = local + bias), e.g. -540 for JST.
        thread: Thread id, or None.
        severity: ``"info"``, ``"warning"`` or ``"error"``.
        error_codes: Output of extract_error_codes() for the message.
        line_number: First physical line of the record, 1-based.
        source_file: CMTrace ``file`` attribute (``src.cpp:123``), or None.
    """

    format: str
    message: str
    component: str | None = None
    time_local: str | None = None
    time_utc: str | None = None
    bias_minutes: int | None = None
    thread: int | None = None
    severity: str = "info"
    error_codes: list[dict] = dataclasses.field(default_factory=list)
    line_number: int = 0
    source_file: str | None = None

    def to_dict(self) -> dict:
        """Return a JSON-serialisable plain dict."""
        return dataclasses.asdict(self)


def _times(date_text: str, time_text: str, frac: str | None, bias: str | None) -> tuple[str | None, str | None, int | None]:
    """Build (time_local, time_utc, bias_minutes); invalid dates give None times."""
    bias_minutes = int(bias) if bias else None
    date_match = _DATE_RE.match(date_text)
    if not date_match:
        return None, None, bias_minutes
    try:
        hour, minute, second = (int(part) for part in time_text.split(":"))
        micro = int((frac or "0").ljust(6, "0")[:6])
        local = _dt.datetime(
            int(date_match.group("y")), int(date_match.group("m")), int(date_match.group("d")),
            hour, minute, second, micro,
        )
    except ValueError:
        return None, None, bias_minutes
    time_local = local.isoformat(timespec="milliseconds")
    if bias_minutes is None:
        return time_local, None, None
    utc = local + _dt.timedelta(minutes=bias_minutes)
    return time_local, utc.isoformat(timespec="milliseconds") + "Z", bias_minutes


def _sms_entry(match: re.Match[str], message: str, line_number: int) -> LogEntry:
    time_local, time_utc, bias = _times(match.group("date"), match.group("time"), match.group("frac"), match.group("bias"))
    codes = extract_error_codes(message)
    thread = match.group("thread")
    return LogEntry(
        format="sms",
        message=message,
        component=match.group("component") or None,
        time_local=time_local,
        time_utc=time_utc,
        bias_minutes=bias,
        thread=int(thread) if thread else None,
        severity=classify_severity(message, codes),
        error_codes=codes,
        line_number=line_number,
    )


def _cmtrace_entry(message: str, attr_text: str, line_number: int) -> LogEntry:
    attrs = {name.lower(): quoted or bare for name, quoted, bare in _ATTR_RE.findall(attr_text)}
    time_local = time_utc = None
    bias = None
    time_match = _CMTRACE_TIME_RE.match(attrs.get("time", "").strip())
    if time_match:
        time_local, time_utc, bias = _times(
            attrs.get("date", "").strip(), time_match.group("time"), time_match.group("frac"), time_match.group("bias")
        )
    codes = extract_error_codes(message)
    severity = _CMTRACE_TYPES.get(attrs.get("type", "").strip()) or classify_severity(message, codes)
    thread_match = re.match(r"\s*(\d+)", attrs.get("thread", ""))
    return LogEntry(
        format="cmtrace",
        message=message,
        component=attrs.get("component") or None,
        time_local=time_local,
        time_utc=time_utc,
        bias_minutes=bias,
        thread=int(thread_match.group(1)) if thread_match else None,
        severity=severity,
        error_codes=codes,
        line_number=line_number,
        source_file=attrs.get("file") or None,
    )


def _plain_entry(message: str, line_number: int) -> LogEntry:
    codes = extract_error_codes(message)
    return LogEntry(
        format="plain",
        message=message,
        severity=classify_severity(message, codes),
        error_codes=codes,
        line_number=line_number,
    )


class _CmTraceRecord:
    """An open CMTrace record, fed one physical line at a time; each line is scanned once."""

    __slots__ = ("start", "raw", "message", "attrs", "in_attrs", "in_quote")

    def __init__(self, start: int) -> None:
        self.start = start
        self.raw: list[str] = []  # the physical lines, for the plain entry of a broken record
        self.message: list[str] = []
        self.attrs: list[str] = []
        self.in_attrs = False
        self.in_quote = False

    def feed(self, segment: str) -> int | None:
        """Scan one line (after ``<![LOG[`` on the first). Returns the offset just past the ``>``
        that closes the attribute block, or None while the record is still open."""
        position = 0
        if not self.in_attrs:
            end = segment.find(_CMTRACE_MESSAGE_END)
            if end < 0:
                self.message.append(segment)
                return None
            self.message.append(segment[:end])
            self.in_attrs = True
            position = end + len(_CMTRACE_MESSAGE_END)
        begin = position
        while True:
            if self.in_quote:
                quote = segment.find('"', position)
                if quote < 0:
                    self.attrs.append(segment[begin:])
                    return None
                self.in_quote = False
                position = quote + 1
                continue
            close = segment.find(">", position)
            quote = segment.find('"', position)
            if close >= 0 and (quote < 0 or close < quote):
                self.attrs.append(segment[begin:close])
                return close + 1
            if quote < 0:
                self.attrs.append(segment[begin:])
                return None
            self.in_quote = True
            position = quote + 1

    def entry(self) -> LogEntry:
        return _cmtrace_entry("\n".join(self.message), "\n".join(self.attrs), self.start)


def _strip_leading_bom(line: str) -> str:
    """A line that starts with BOMs (a log appended to or rotated with a BOM) without them."""
    return line.lstrip(_BOM) if line.startswith(_BOM) else line


def parse_log_text(text: str) -> list[LogEntry]:
    """Parse decoded log text into entries, detecting the format per line.

    SMS trace lines without a trailer are continuation lines of the next line that has one, up
    to MAX_SMS_ENTRY_LINES physical lines per entry (older ones become plain entries). A CMTrace
    record runs from ``<![LOG[`` to the ``>`` closing its attribute block and may span lines (at
    most 500). Lines that belong to neither (MSI logs, a truncated record) become ``plain``
    entries, one per non-blank line (a truncated CMTrace record becomes one plain entry). BOMs at
    the start of any line are dropped, so a record behind one is parsed. Time is linear in the
    text length.

    Args:
        text: The whole log as a string.

    Returns:
        Entries in file order.
    """
    entries: list[LogEntry] = []
    pending: collections.deque[tuple[int, str]] = collections.deque()  # lines waiting for an SMS trailer
    record: _CmTraceRecord | None = None

    def flush_pending() -> None:
        for number, line in pending:
            if line.strip():
                entries.append(_plain_entry(line.rstrip(), number))
        pending.clear()

    def flush_cmtrace_incomplete() -> None:
        nonlocal record
        if record is not None:
            raw = "\n".join(record.raw).strip()
            if raw:
                entries.append(_plain_entry(raw, record.start))
        record = None

    lines = _LINE_SPLIT_RE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        work = _strip_leading_bom(line)
        while True:
            head = work.lstrip()
            if head.startswith(_CMTRACE_START):
                flush_cmtrace_incomplete()
                flush_pending()
                record = _CmTraceRecord(number)
                record.raw.append(work)
                segment = head[len(_CMTRACE_START):]
            elif record is not None:
                record.raw.append(work)
                if len(record.raw) > _MAX_RECORD_LINES:
                    flush_cmtrace_incomplete()
                    break
                segment = work
            else:
                sms = _SMS_TRAILER_RE.match(work) if "$$<" in work else None
                if sms:
                    while pending and not pending[0][1].strip():
                        pending.popleft()  # blank lines between entries belong to no entry
                    first = pending[0][0] if pending else number
                    parts = [item[1] for item in pending] + [sms.group("msg")]
                    pending.clear()
                    entries.append(_sms_entry(sms, "\n".join(parts).rstrip(), first))
                else:
                    pending.append((number, work))
                    if len(pending) >= MAX_SMS_ENTRY_LINES:
                        old_number, old_line = pending.popleft()
                        if old_line.strip():
                            entries.append(_plain_entry(old_line.rstrip(), old_number))
                break
            end = record.feed(segment)
            if end is None:
                break
            entries.append(record.entry())
            rest = _strip_leading_bom(segment[end:].lstrip())
            record = None
            if not rest.strip():
                break
            work = rest.lstrip()  # another record on the same physical line
    flush_cmtrace_incomplete()
    flush_pending()
    return entries


# --------------------------------------------------------------------------------------------
# Bytes and encodings
# --------------------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


# UTF-8 BOMs at the start of a line of an 8-bit log (appended to or rotated with a BOM), removed
# before the ANSI decoding turns them into characters ("\u00ef\u00bb\u00bf" in cp1252).
_ANSI_BOM_RE = re.compile(rb"(^|[\r\n])(?:\xef\xbb\xbf)+")


def _before_nul_padding(sample: bytes) -> bytes:
    """The part of a detection sample before NUL padding: up to the first NUL pair at an even offset
    (U+0000 in UTF-16 LE text; at most one byte past the first NUL of 8-bit text)."""
    position = sample.find(b"\x00\x00")
    while position >= 0:
        if position % 2 == 0:
            return sample[:position]
        position = sample.find(b"\x00\x00", position + 1)
    return sample


def _until_nul(text: str) -> str:
    """NUL padding (a pre-allocated log) ends the data: the text up to the first NUL character."""
    end = text.find("\x00")
    return text if end < 0 else text[:end]


def _utf16_without_bom(data: bytes) -> str | None:
    """Detect BOM-less UTF-16 LE (a tail read of a UTF-16 log) by its NUL bytes.

    Mostly-ASCII UTF-16 LE text has NULs at odd offsets. NULs at even offsets mean the read
    started one byte into a character, so the first byte is dropped. NUL padding is not counted.
    """
    sample = _before_nul_padding(data[:4096])
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even = sample[0::2]
    odd = sample[1::2]
    even_nul = even.count(0) / len(even)
    odd_nul = odd.count(0) / len(odd) if odd else 0.0
    if odd_nul > 0.4 and even_nul < 0.05:
        return data[: len(data) - (len(data) % 2)].decode("utf-16-le", errors="replace")
    if even_nul > 0.4 and odd_nul < 0.05:
        body = data[1:]
        return body[: len(body) - (len(body) % 2)].decode("utf-16-le", errors="replace")
    return None


def _try_utf8(data: bytes, known_utf8: bool = False) -> str | None:
    """Strict UTF-8, tolerating a character cut at either end of a partial (tail) read.

    The allowance is for UTF-8 only: it is used when the bytes are known to be UTF-8 (a BOM) or
    when the rest holds at least one multi-byte character. If only the edges are not ASCII,
    nothing says the bytes are UTF-8, and None lets the ANSI code page decode them: the last
    character of a cp932 or cp1252 log (``'msg \u51dc'`` is ``b'msg \xea\xa3'`` in cp932,
    which looks like a cut three-byte UTF-8 character) is kept intact.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    start = 0
    while start < min(3, len(data)) and 0x80 <= data[start] <= 0xBF:
        start += 1
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        text = decoder.decode(data[start:], final=False)
    except UnicodeDecodeError:
        return None
    if not known_utf8 and text.isascii():
        return None
    return text


def _decode_ansi(data: bytes, ansi_encoding: str) -> str:
    """The ANSI code page, undecodable bytes replaced. A lead byte cut at the end of the read (a
    double-byte code page such as cp932) is dropped instead of becoming a replacement character."""
    data = _ANSI_BOM_RE.sub(rb"\1", data)
    decoder = codecs.getincrementaldecoder(ansi_encoding)("replace")
    return decoder.decode(data, final=False)


def decode_log_bytes(data: bytes, ansi_encoding: str = "cp1252") -> str:
    """Decode log file bytes.

    Order: BOM (UTF-8, UTF-16 LE, UTF-16 BE); BOM-less UTF-16 LE recognised by its NUL bytes;
    strict UTF-8 (a multi-byte character cut at the start or end is dropped, when the bytes are
    shown to be UTF-8: see _try_utf8); finally the ANSI code page (cp1252 by default, cp932 on
    Japanese servers) with undecodable bytes replaced and a cut lead byte at the end dropped.

    NUL padding ends the data: a log pre-allocated with NULs holds nothing valid after its first
    NUL character (for 8-bit text, its first NUL byte), so the text stops there; what follows the
    padding (left-overs, a stray UTF-16 marker) is not read.

    Args:
        data: Raw file content (possibly only its tail).
        ansi_encoding: Python codec name of the server's ANSI code page.

    Returns:
        The text, without the leading BOM, up to the first NUL.

    Raises:
        ValueError: ``ansi_encoding`` is not a known codec.
    """
    try:
        codecs.lookup(ansi_encoding)
    except LookupError as exc:
        raise ValueError("unknown ansi_encoding %r" % ansi_encoding) from exc
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("data must be bytes, got %s" % type(data).__name__)
    data = bytes(data)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            body = data[len(bom):]
            if encoding.startswith("utf-16"):
                body = body[: len(body) - (len(body) % 2)]
                return _until_nul(body.decode(encoding, errors="replace"))
            body = body.split(b"\x00", 1)[0]
            text = _try_utf8(body, known_utf8=True)
            return text if text is not None else body.decode("utf-8", errors="replace")
    text = _utf16_without_bom(data)
    if text is not None:
        return _until_nul(text)
    data = data.split(b"\x00", 1)[0]
    text = _try_utf8(data)
    if text is None:
        text = _decode_ansi(data, ansi_encoding)
    return text


def parse_log_bytes(data: bytes, ansi_encoding: str = "cp1252") -> list[LogEntry]:
    """Decode and parse a log file.

    Args:
        data: Raw file content.
        ansi_encoding: ANSI code page used when the bytes are not UTF-8/UTF-16.

    Returns:
        Entries in file order.
    """
    return parse_log_text(decode_log_bytes(data, ansi_encoding))


# --------------------------------------------------------------------------------------------
# Filtering
# --------------------------------------------------------------------------------------------


def _parse_utc(value: str) -> _dt.datetime:
    """Parse an ISO 8601 timestamp; naive values are taken as UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = _dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError("since_utc is not an ISO 8601 timestamp: %r" % value) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    return parsed.astimezone(_dt.timezone.utc)


def filter_entries(
    entries: Iterable[LogEntry],
    *,
    since_utc: str | None = None,
    severities: set[str] | None = None,
    patterns: list[str] | None = None,
    max_entries: int | None = None,
) -> list[LogEntry]:
    """Select entries; all given criteria must hold.

    Args:
        entries: Parsed entries in file order.
        since_utc: Keep entries at or after this ISO 8601 time (``Z``/offset; naive = UTC).
            Entries without a UTC time (plain lines, unknown bias) are dropped when set.
        severities: Keep only these severities (subset of SEVERITIES).
        patterns: Keep entries whose message or component contains any of these
            substrings, case-insensitively (e.g. DP names).
        max_entries: Keep only the last (most recent) N of the selection.

    Returns:
        The selected entries, in their original order.

    Raises:
        ValueError: An unknown severity, a bad timestamp or a negative max_entries.
    """
    since = _parse_utc(since_utc) if since_utc is not None else None
    if severities is not None:
        unknown = set(severities) - set(SEVERITIES)
        if unknown:
            raise ValueError(
                "unknown severities %s; allowed: %s" % (", ".join(sorted(unknown)), ", ".join(SEVERITIES))
            )
    if max_entries is not None and max_entries < 0:
        raise ValueError("max_entries must be >= 0, got %d" % max_entries)
    needles = [p.casefold() for p in patterns or [] if p]
    selected: list[LogEntry] = []
    for entry in entries:
        if severities is not None and entry.severity not in severities:
            continue
        if since is not None:
            if entry.time_utc is None or _parse_utc(entry.time_utc) < since:
                continue
        if needles:
            haystack = (entry.message + "\n" + (entry.component or "")).casefold()
            if not any(needle in haystack for needle in needles):
                continue
        selected.append(entry)
    if max_entries is not None:
        selected = selected[len(selected) - max_entries:] if max_entries else []
    return selected
