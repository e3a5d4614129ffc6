# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse Configuration Manager log files (SMS trace, CMTrace, plain). FOR INTERNAL COLLECTION USE ONLY."""
from __future__ import annotations

import codecs
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
# CMTrace: "<![LOG[msg]LOG]!><time=".." date=".." component=".." ... file="..">". The attribute
# block ends at the first ">" outside double quotes, so extra, missing or unquoted attributes
# are tolerated and a ">" inside a quoted value cannot end it.
_CMTRACE_RE = re.compile(
    r"^\s*<!\[LOG\[(?P<msg>.*?)\]LOG\]!>"
    r"<(?P<attrs>(?:[^\">]|\"[^\"]*\")*)>",
    re.DOTALL,
)
_ATTR_RE = re.compile(r"([\w.:-]+)\s*=\s*(?:\"([^\"]*)\"|([^\s\">]*))")
_CMTRACE_TIME_RE = re.compile(
    r"^(?P<time>\d{1,2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,7}))?(?P<bias>[+-]\d{1,4})?$"
)
_DATE_RE = re.compile(r"^(?P<m>\d{1,2})-(?P<d>\d{1,2})-(?P<y>\d{4})$")
_LINE_SPLIT_RE = re.compile(r"\r\n|\r|\n")

_CMTRACE_TYPES = {"1": "info", "2": "warning", "3": "error"}
# A CMTrace record still open after this many physical lines is treated as broken and emitted
# as one plain entry, which bounds the work on damaged files.
_MAX_RECORD_LINES = 500

# --------------------------------------------------------------------------------------------
# Severity heuristic for lines that carry no type (SMS trace and plain lines)
# --------------------------------------------------------------------------------------------

# The one table of the heuristic: (severity, regex, why). Order of evaluation: any "error"
# rule matches -> "error"; else the message yields an error code (extract_error_codes(), which
# never returns zero codes) -> "error"; else any "warning" rule matches -> "warning"; else
# "info". Before matching, phrases that only report success are blanked (_BENIGN_RE), so
# "error = 0", "hr=0x0" or "0 errors" do not make a line an error. Matching is
# case-insensitive. So "Sending failed. ... will retry" is an error: failure wins over retry.
SEVERITY_RULES: tuple[tuple[str, str, str], ...] = (
    ("error", r"\bfail(?:s|ed|ure|ures)?\b", "failed / failure"),
    ("error", r"\berrors?\b", "error"),
    ("error", r"\b(?:cannot|can\s*not|can't|unable)\b", "cannot / unable"),
    ("error", r"\bdenied\b", "access denied"),
    ("error", r"\b0x[89a-f][0-9a-f]{7}\b", "failure HRESULT 0x8xxxxxxx"),
    ("error", r"\breturn value 3\b", "MSI action failed (plain MSI logs)"),
    ("error", r"\bSEV=E\b", "STATMSG with error severity"),
    ("warning", r"\b(?:will\s+)?retr(?:y|ying|ies|ied)\b", "retry / will retry"),
    ("warning", r"\bwarn(?:ing|ings)?\b", "warning"),
    ("warning", r"\bSEV=W\b", "STATMSG with warning severity"),
)
_SEVERITY_COMPILED = tuple((rule[0], re.compile(rule[1], re.IGNORECASE)) for rule in SEVERITY_RULES)
_BENIGN_RE = re.compile(
    r"\b(?:no|0|zero|without)\s+(?:errors?|failures?)\b"
    r"|\b(?:error|hr|result|status)(?:\s+code)?\s*(?:=|:)?\s*(?:0x)?0+\b(?!\.\d)",
    re.IGNORECASE,
)

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
    # "(0x35)", "(0x80070005)", "(80041002)" (8 hex digits, no prefix)
    ("paren", re.compile(r"\(\s*(?P<val>0x[0-9A-Fa-f]{1,8}|" + _HEX8 + r")\s*\)")),
    # bare "0x800706BA" anywhere (only failure HRESULTs: high bit set)
    ("bare", re.compile(r"(?<![0-9A-Za-z])(?P<val>0x[0-9A-Fa-f]{8})(?![0-9A-Za-z])")),
)
# Cheap substring test (on the lower-cased message) before running each pattern.
_CODE_HINTS = {"hr": "hr", "keyword": "error", "paren": "(", "bare": "0x"}
# "thread 4312 (0x10D8)" must not yield a code from the parenthesised hex.
_ID_BEFORE_PAREN_RE = re.compile(r"(?:thread|tid|pid|process(?:\s+id)?)\s*[=:]?\s*\d+\s*$", re.I)


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
    if kind in ("paren", "hr"):
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
    ``Error = 53``, ``Win32 last error = 5``, ``hr=0x80070194``, ``error 5``. Win32 codes
    (values up to 0xFFFF) become FACILITY_WIN32 HRESULTs (``0x80070000 | code``). A bare
    ``0x`` number is taken only when it is a failure HRESULT (high bit set), so state message
    IDs such as ``0x40000950`` are ignored. Zero values are not errors and are skipped. Each
    HRESULT is reported once per message, at its first occurrence.

    Args:
        message: The message text.

    Returns:
        A list of ``{"raw": str, "hresult": "0x8007XXXX", "win32": int | None}`` in text order.
    """
    found: list[tuple[int, int, dict]] = []
    taken: list[tuple[int, int]] = []
    lowered = message.lower()
    for kind, pattern in _CODE_PATTERNS:
        if _CODE_HINTS[kind] not in lowered:
            continue
        for match in pattern.finditer(message):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            val_text = match.group("val")
            if kind == "paren" and _ID_BEFORE_PAREN_RE.search(message[:start]):
                continue
            value = _code_from_value(val_text, kind)
            if value is None:
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
    text = _BENIGN_RE.sub(" ", message)
    if any(pattern.search(text) for severity, pattern in _SEVERITY_COMPILED if severity == "error"):
        return "error"
    if codes:
        return "error"
    if any(pattern.search(text) for severity, pattern in _SEVERITY_COMPILED if severity == "warning"):
        return "warning"
    return "info"


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


def _cmtrace_entry(match: re.Match[str], line_number: int) -> LogEntry:
    message = match.group("msg")
    attrs = {name.lower(): quoted or bare for name, quoted, bare in _ATTR_RE.findall(match.group("attrs"))}
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


def parse_log_text(text: str) -> list[LogEntry]:
    """Parse decoded log text into entries, detecting the format per line.

    SMS trace lines without a trailer are continuation lines of the next line that has one.
    A CMTrace record runs from ``<![LOG[`` to the ``>`` closing its attribute block and may
    span lines. Lines that belong to neither (MSI logs, a truncated record) become ``plain``
    entries, one per non-blank line (a truncated CMTrace record becomes one plain entry).

    Args:
        text: The whole log as a string.

    Returns:
        Entries in file order.
    """
    entries: list[LogEntry] = []
    pending: list[tuple[int, str]] = []  # lines waiting for an SMS trailer
    cm_start: int | None = None
    cm_lines: list[str] = []

    def flush_pending() -> None:
        for number, line in pending:
            if line.strip():
                entries.append(_plain_entry(line.rstrip(), number))
        pending.clear()

    def flush_cmtrace_incomplete() -> None:
        nonlocal cm_start
        if cm_start is not None:
            raw = "\n".join(cm_lines).strip()
            if raw:
                entries.append(_plain_entry(raw, cm_start))
        cm_start = None
        cm_lines.clear()

    lines = _LINE_SPLIT_RE.split(text.lstrip("\ufeff"))
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        work = line
        while True:
            if cm_start is not None and work.lstrip().startswith(_CMTRACE_START):
                flush_cmtrace_incomplete()
            if cm_start is None and work.lstrip().startswith(_CMTRACE_START):
                flush_pending()
                cm_start = number
                cm_lines[:] = [work]
            elif cm_start is not None:
                cm_lines.append(work)
                if len(cm_lines) > _MAX_RECORD_LINES:
                    flush_cmtrace_incomplete()
                    break
            else:
                sms = _SMS_TRAILER_RE.match(work)
                if sms:
                    while pending and not pending[0][1].strip():
                        pending.pop(0)  # blank lines between entries belong to no entry
                    first = pending[0][0] if pending else number
                    parts = [item[1] for item in pending] + [sms.group("msg")]
                    pending.clear()
                    entries.append(_sms_entry(sms, "\n".join(parts).rstrip(), first))
                else:
                    pending.append((number, work))
                break
            record = _CMTRACE_RE.match("\n".join(cm_lines))
            if not record:
                break
            entries.append(_cmtrace_entry(record, cm_start))
            rest = "\n".join(cm_lines)[record.end():]
            cm_start = None
            cm_lines.clear()
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


def _utf16_without_bom(data: bytes) -> str | None:
    """Detect BOM-less UTF-16 LE (a tail read of a UTF-16 log) by its NUL bytes.

    Mostly-ASCII UTF-16 LE text has NULs at odd offsets. NULs at even offsets mean the read
    started one byte into a character, so the first byte is dropped.
    """
    sample = data[:4096]
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


def _try_utf8(data: bytes) -> str | None:
    """Strict UTF-8, tolerating a character cut at either end of a partial (tail) read."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    start = 0
    while start < min(3, len(data)) and 0x80 <= data[start] <= 0xBF:
        start += 1
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        return decoder.decode(data[start:], final=False)
    except UnicodeDecodeError:
        return None


def decode_log_bytes(data: bytes, ansi_encoding: str = "cp1252") -> str:
    """Decode log file bytes.

    Order: BOM (UTF-8, UTF-16 LE, UTF-16 BE); BOM-less UTF-16 LE recognised by its NUL bytes;
    strict UTF-8 (a multi-byte character cut at the start or end is dropped); finally the ANSI
    code page (cp1252 by default, cp932 on Japanese servers) with undecodable bytes replaced.

    Args:
        data: Raw file content (possibly only its tail).
        ansi_encoding: Python codec name of the server's ANSI code page.

    Returns:
        The text, without BOM and NUL characters.

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
                return body.decode(encoding, errors="replace").replace("\x00", "")
            text = _try_utf8(body)
            return (text if text is not None else body.decode("utf-8", errors="replace")).replace("\x00", "")
    text = _utf16_without_bom(data)
    if text is None:
        text = _try_utf8(data)
    if text is None:
        text = data.decode(ansi_encoding, errors="replace")
    return text.replace("\x00", "")


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
