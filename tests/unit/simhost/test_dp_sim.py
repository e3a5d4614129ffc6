"""The simulated DP ops behave like their PowerShell twins: host-side log filtering (records,
encodings, bounds, time window, rotated files), path references, identities on the network, and
the runspace scripts of _FieldkitDpOps.psm1 parse (they are strings, so the module check misses them)."""
from __future__ import annotations

import base64
import codecs
import datetime as dt
import re

import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _cmlog
from tests.simhost.model import HostModel, SimWindowsError
from tests.simhost.network import Network
from tests.simhost.ops import dp as ops
from tests.simhost.paths import REPO_ROOT
from tests.simhost.psparse import check_syntax
from tests.unit.plugins.plugin_utils import dp_lab

LOG = "C:\\Logs\\test.log"


def _host(files: dict[str, str] | None = None, **state) -> HostModel:
    base = {"os": {"bias_minutes": -540, "ansi_code_page": 932}, "files": files or {}}
    base.update(state)
    return HostModel(base)


def _read(host: HostModel, **kwargs) -> dict:
    return ops.log_read_filtered(host, dp_lab.SYSTEM, paths=[LOG], **kwargs)


def _sms(message: str, minutes: int, thread: int = 1) -> str:
    return f"{message}  $$<SMS_DISTRIBUTION_MANAGER><{{{{sms:{minutes}}}}}><thread={thread} (0x{thread:X})>\r\n"


def test_records_keep_multi_line_entries_and_filter_by_pattern_and_severity() -> None:
    text = (_sms("Started processing package PS100012", -10)
            + "Error occurred for dp13.contoso.local:\r\n" + _sms("    disk full", -9)
            + _sms("Sending status for dp01.contoso.local", -8)
            + _sms("Retrying the job in 30 minutes", -7)
            + '<![LOG[Provider\r\nfailed]LOG]!><time="{{cmtime:-6}}" date="{{cmdate:-6}}" component="X" context="" type="3" thread="1" file="a.cpp:1">\r\n'
            + '<![LOG[just info]LOG]!><time="{{cmtime:-5}}" date="{{cmdate:-5}}" component="X" context="" type="1" thread="1" file="a.cpp:2">\r\n')
    result = _read(_host({LOG: text}), patterns=["dp01.contoso.local"])
    lines = [(r["line_number"], r["text"].split("\n")[0][:30]) for r in result["records"]]
    assert lines == [(2, "Error occurred for dp13.contos"), (4, "Sending status for dp01.contos"),
                     (5, "Retrying the job in 30 minutes"), (6, "<![LOG[Provider")]
    assert result["files"][0]["records_scanned"] == 6 and result["files"][0]["records_matched"] == 4
    only_errors = _read(_host({LOG: text}), severities=["error"])
    assert [r["line_number"] for r in only_errors["records"]] == [2, 6]


def test_time_window_and_bounds_keep_the_newest_records() -> None:
    text = "".join(_sms(f"Failed step {n}", -300 + n) for n in range(100))
    host = _host({LOG: text})
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=250)).strftime("%Y-%m-%dT%H:%M:%SZ")
    windowed = _read(host, since_utc=since)
    # Records from -250 to -201 minutes (the one at -250 is on the boundary and kept).
    assert windowed["files"][0]["records_matched"] == 50
    bounded = _read(host, max_lines=10)
    assert [r["line_number"] for r in bounded["records"]] == list(range(91, 101))
    assert bounded["truncated"] is True and bounded["files"][0]["records_returned"] == 10
    budget = len(bounded["records"][-1]["text"]) * 3 + 1
    tiny = _read(host, max_bytes=budget)
    assert [r["line_number"] for r in tiny["records"]] == [98, 99, 100]


def test_rotated_file_first_and_missing_files_reported() -> None:
    host = _host({LOG: _sms("Failed new", -1), LOG[:-4] + ".lo_": _sms("Failed old", -100)})
    result = _read(host)
    assert [r["file"] for r in result["records"]] == ["test.lo_", "test.log"]
    missing = ops.log_read_filtered(host, dp_lab.SYSTEM, paths=["C:\\Logs\\none.log"])
    assert missing["files"] == [{"path": "C:\\Logs\\none.log", "name": "none.log", "exists": False, "size_bytes": None,
                                 "encoding": None, "partial": False, "records_scanned": 0, "records_matched": 0,
                                 "records_returned": 0, "truncated": False}]


@pytest.mark.parametrize(("encoding", "expected"), [("utf-16", "utf-16le"), ("utf-8-sig", "utf-8-bom"),
                                                    ("cp932", "cp932"), ("utf-8", "utf-8")])
def test_encodings_are_decoded_on_the_host(encoding: str, expected: str) -> None:
    text = _sms("更新プログラムの失敗 failed 0x80070005", -3)
    host = _host({LOG: text}, file_encodings={LOG: encoding})
    result = _read(host)
    assert result["files"][0]["encoding"] == expected
    assert "更新プログラムの失敗" in result["records"][0]["text"]


def test_raw_utf16_without_bom_from_files_b64() -> None:
    raw = "Failed without BOM  $$<C><11-21-2026 10:00:00.000-540><thread=1 (0x1)>\r\n".encode("utf-16-le")
    host = _host(files_b64={LOG: base64.b64encode(raw).decode()})
    result = _read(host)
    assert result["files"][0]["encoding"] == "utf-16le"
    assert result["records"][0]["text"].startswith("Failed without BOM")


# --- log parsing defect classes (issue 9) on the host: Read-FieldkitLogFiltered and this twin ---------------
SMS_X = "  $$<SMS_X><{{sms:-5}}><thread=1 (0x1)>\r\n"


def _cm(message: str, type_: str | None = "1", file: str = "x.cpp:1") -> str:
    kind = f' type="{type_}"' if type_ is not None else ""
    return (f'<![LOG[{message}]LOG]!><time="{{{{cmtime:-5}}}}" date="{{{{cmdate:-5}}}}" component="SMS_X" context=""'
            f'{kind} thread="6156" file="{file}">\r\n')


def _b64_host(raw: bytes) -> HostModel:
    return _host(files_b64={LOG: base64.b64encode(raw).decode()})


def test_host_severity_ignores_the_trailer_and_the_attributes() -> None:
    # The reproducer: the thread ID in the message and the trailer's "(0x1)" mark nothing ...
    text = "SMS_EXECUTIVE started SMS_X as thread ID 6156 (0x180C)." + SMS_X
    # ... nor does a CMTrace attribute: file="error.cpp" is not failure text (no type: the text decides).
    text += _cm("Connected to dp01.contoso.local", type_=None, file="error.cpp:12")
    result = _read(_host({LOG: text}))
    assert result["records"] == [] and result["files"][0]["records_scanned"] == 2


def test_host_type_1_does_not_hide_failure_text() -> None:
    text = _cm("CcmSetup failed with error code 0x87d00454") + _cm("Client is starting") + _cm("Failed badly", "2")
    result = _read(_host({LOG: text}), severities=["error"])
    assert [r["line_number"] for r in result["records"]] == [1]
    # type 2 is the writer's warning, even with failure text
    assert [r["line_number"] for r in _read(_host({LOG: text}), severities=["warning"])["records"]] == [3]


def test_host_nul_padding_ends_the_data() -> None:
    head = ("Failed to connect to dp01" + SMS_X).encode()
    # A pre-allocated log: NUL padding, then a left-over the padding hides (here in UTF-16 LE and UTF-8).
    raw = head + b"\x00" * 5000 + "Failed left-over\r\n".encode("utf-16-le") + b"Failed left-over\r\n"
    host = _b64_host(raw)
    host.state["files_b64"][LOG] = base64.b64encode(ops.expand_time_tokens(host, raw.decode("latin-1")).encode("latin-1")).decode()
    result = _read(host)
    assert result["files"][0]["encoding"] == "utf-8"  # the padding is not taken for UTF-16 NULs
    assert result["files"][0]["records_scanned"] == 1
    assert [r["text"].split("  $$<")[0] for r in result["records"]] == ["Failed to connect to dp01"]


def test_host_nul_padding_in_utf16() -> None:
    raw = codecs.BOM_UTF16_LE + "Failed 更新  $$<C><11-21-2026 10:00:00.000-540><thread=1 (0x1)>\r\n".encode("utf-16-le")
    raw += b"\x00" * 4000 + "Failed left-over\r\n".encode("utf-16-le")
    result = _read(_b64_host(raw))
    assert result["files"][0]["records_scanned"] == 1 and result["records"][0]["text"].startswith("Failed 更新")
    bomless = _read(_b64_host(raw[2:]))
    assert bomless["files"][0]["encoding"] == "utf-16le" and bomless["files"][0]["records_scanned"] == 1


def test_host_drops_boms_at_the_start_of_later_lines() -> None:
    # Two logs concatenated, each written with its BOM: the CMTrace record behind the second is its own record.
    first = ("Processing package PS100012" + SMS_X).encode("utf-8-sig")
    second = _cm("Failed to add file to the content library", "3").encode("utf-8-sig")
    third = ("Sending status" + SMS_X).encode()
    host = _b64_host(b"")
    raw = ops.expand_time_tokens(host, (first + second + third).decode("utf-8")).encode()
    host.state["files_b64"][LOG] = base64.b64encode(raw).decode()
    result = _read(host, severities=["error"])
    assert [(r["line_number"], r["text"][:20]) for r in result["records"]] == [(2, "<![LOG[Failed to add")]
    assert result["files"][0]["records_scanned"] == 3


def test_host_drops_a_utf8_bom_inside_an_ansi_log() -> None:
    line = "更新 failed  $$<C><11-21-2026 10:00:00.000-540><thread=1 (0x1)>\r\n".encode("cp932")
    cm = '<![LOG[Failed]LOG]!><time="10:00:00.000-540" date="11-21-2026" component="C" type="3" thread="1">\r\n'
    result = _read(_b64_host(line + codecs.BOM_UTF8 + cm.encode()), severities=["error"])
    assert result["files"][0]["encoding"] == "cp932"
    assert [r["text"][:14] for r in result["records"]] == ["更新 failed  $$<", "<![LOG[Failed]"]


def test_host_cmtrace_record_with_attributes_on_the_next_line_ends_there() -> None:
    text = ('<![LOG[Multi-line\r\nmessage]LOG]!><time="{{cmtime:-5}}" date="{{cmdate:-5}}" component="C"\r\n'
            ' type="1" thread="1" file="a.cpp:1">\r\n' + _cm("Failed to add file", "3") + _cm("Client is starting"))
    result = _read(_host({LOG: text}), severities=["error", "warning"], patterns=["Multi-line"])
    assert [(r["line_number"], r["text"].count("\n")) for r in result["records"]] == [(1, 2), (4, 0)]
    assert result["files"][0]["records_scanned"] == 3


def test_host_record_cap_is_the_declared_one() -> None:
    text = "".join(f"plain line {n}\r\n" for n in range(100)) + "Failed" + SMS_X
    result = _read(_host({LOG: text}), severities=["error"])
    assert [r["line_number"] for r in result["records"]] == [65]
    assert ops.MAX_RECORD_LINES == 64 and result["records"][0]["text"].count("\n") == 100 - 64


@pytest.mark.parametrize(("message", "kept"), [
    ("Process exited with return code: 1603", ["error"]),
    ("exited with return code: 0", []),
    ("Task 'Configuration Manager Client Retry Task' does not exist", []),
    ("Task 'Upload' will retry in 30 minutes", ["warning"]),
])
def test_host_severity_heuristic(message: str, kept: list[str]) -> None:
    for severity in ("error", "warning"):
        result = _read(_host({LOG: message + SMS_X}), severities=[severity])
        assert len(result["records"]) == (1 if severity in kept else 0), severity


def test_host_keeps_the_edge_characters_of_an_ansi_log() -> None:
    # b"msg \xea\xa3" (cp932) looks like a cut UTF-8 character: not a cut when the whole file is read.
    result = _read(_b64_host("failed msg 凜".encode("cp932")))
    assert result["files"][0]["encoding"] == "cp932" and result["records"][0]["text"] == "failed msg 凜"


def test_host_tail_read_allows_the_cut_utf8_character_it_makes() -> None:
    line = "更新プログラムの失敗 failed  $$<C><11-21-2026 10:00:00.000-540><thread=1 (0x1)>\r\n".encode()
    raw = line * 40
    cut = len(raw) - len(line) * 3 + 1  # the scan starts one byte into a three-byte character
    result = _read(_b64_host(raw), max_scan_bytes=len(raw) - cut)
    assert result["files"][0]["encoding"] == "utf-8" and result["files"][0]["partial"] is True
    assert [r["text"][:10] for r in result["records"]] == ["更新プログラムの失敗"] * 2  # the cut first line is skipped


def test_host_marks_keep_everything_the_controller_calls_an_error_or_a_warning() -> None:
    """The host is a pre-filter: a record the controller would report must never be dropped on the host."""
    data = REPO_ROOT / "tests" / "unit" / "test_data" / "cmlog"
    messages = []
    for path in sorted(data.glob("*.log*")):
        raw = path.read_bytes()
        for encoding in ("utf-8", "cp932"):
            messages += [e.message for e in _cmlog.parse_log_bytes(raw, encoding)]
    messages += [
        "SMS_EXECUTIVE started SMS_X as thread ID 6156 (0x180C).", "CcmSetup failed with error code 0x87d00454",
        "failed with 80070002.", "CopyFile failed (5)", "Failed to get token for current process (5).",
        "hr=-2147024891", "hr=80070005", "Return code (0x35)", r"\\DP01\ADMIN$ (0x35).~", "x_0x80070005",
        "Error = 80070005", "Process exited with return code: 1603", "exit code 7", "SEV=E", "SEV=W",
        "Task 'Configuration Manager Client Retry Task' does not exist", "State changed to 'Error'",
        "service 'Failed with 80070005'", "name 'Error 5' found", "Retried twice", "Completed with error = 0",
        "Unable to connect, (53)", "GetFileVersionInfoSize failed (1813)~", "(80041002) in a name",
    ]
    order = {"info": 0, "warning": 1, "error": 2}
    for message in messages:
        controller = _cmlog.classify_severity(message)
        for record in (message + "  $$<C><11-21-2026 10:00:00.000-540><thread=1 (0x1)>",
                       '<![LOG[' + message + ']LOG]!><time="10:00:00.000-540" date="11-21-2026" type="1" thread="1">',
                       message):
            assert order[ops._severity(record)] >= order[controller], (message, record)


def test_powershell_reader_uses_every_declared_log_constant() -> None:
    """The values are checked against _host_contract by the contract test; here: the reader uses each of them,
    so the twin built from the same values mirrors code that exists."""
    source = (REPO_ROOT / "plugins" / "module_utils" / "_FieldkitDpShared.psm1").read_text(encoding="utf-8-sig")
    names = [n for n in ops.contract.PS_SCRIPT_CONSTANTS["_FieldkitDpShared.psm1"] if n.startswith("Log") and "File" not in n]
    assert len(names) == 12
    for name in names:
        assert source.count(f"$script:{name}") >= 2, name


def test_time_tokens_follow_the_host_clock_and_bias() -> None:
    host = _host({LOG: _sms("x", 0)})
    host.state["os"]["clock_offset_seconds"] = 3600
    text = ops.expand_time_tokens(host, "{{sms:0}} {{cmtime:-60}} {{cmdate:0}}")
    local = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1, minutes=540)
    assert text.startswith(local.strftime("%m-%d-%Y %H:"))
    assert re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d\.\d{3}-540 \d\d:\d\d:\d\d\.\d{3}-540 \d\d-\d\d-\d{4}", text)


def test_path_references() -> None:
    host = _host(
        registry={"HKLM\\SOFTWARE\\Microsoft\\SMS\\DP": {"ContentLibraryPath": "D:\\SCCMContentLib",
                                                        "ContentLibUsableDrives": "D:\\,E:\\"},
                  "HKLM\\SOFTWARE\\Microsoft\\SMS\\Identification": {"Installation Directory": "C:\\CM"}},
        shares={"SCCMContentLib$": {"path": "D:\\SCCMContentLib"}},
        disks={"C:": {}, "D:": {}}, directories=["D:\\SMS_DP$\\sms\\logs\\smsdpprov.log"])
    refs = [{"kind": "registry", "key": "SOFTWARE\\Microsoft\\SMS\\DP", "name": "ContentLibraryPath"},
            {"kind": "registry", "key": "SOFTWARE\\Microsoft\\SMS\\DP", "name": "ContentLibUsableDrives",
             "append": "SCCMContentLib"},
            {"kind": "share", "name": "sccmcontentlib$"},
            {"kind": "fixed_drives", "append": "SMS_DP$\\sms\\logs\\smsdpprov.log"},
            {"kind": "site_log", "name": "distmgr.log"}]
    assert [p for p, _ in ops.resolve_refs(host, refs)] == [
        "D:\\SCCMContentLib", "E:\\SCCMContentLib", "D:\\SMS_DP$\\sms\\logs\\smsdpprov.log", "C:\\CM\\Logs\\distmgr.log"]
    with pytest.raises(SimWindowsError, match="unknown path reference kind"):
        ops.resolve_refs(host, [{"kind": "url"}])


def test_remote_wmi_depends_on_the_identity() -> None:
    site, hosts = dp_lab.lab({"dp01.contoso.local": "dp_healthy", "dp09.contoso.local": "dp_wmi_denied"})
    net: Network = site.network
    as_system = net.wmi(site, dp_lab.SYSTEM, "dp01.contoso.local", "root\\SCCMDP", "SMS_DistributionPoint")
    assert as_system["connected"] is True and as_system["identity"] == "CONTOSO\\CM01$"
    as_user = net.wmi(site, dp_lab.WINRM_USER, "dp01.contoso.local", "root\\SCCMDP", "SMS_DistributionPoint")
    assert as_user["error"]["hresult"] == "0x80070005" and as_user["identity"] == "CM01\\ansible"
    denied = net.wmi(site, dp_lab.SYSTEM, "dp09.contoso.local", "root\\SCCMDP", "SMS_DistributionPoint")
    assert denied["error"]["hresult"] == "0x80070005"
    unknown = net.wmi(site, dp_lab.SYSTEM, "nowhere.contoso.local", "root\\SCCMDP", "SMS_DistributionPoint")
    assert unknown["error"]["hresult"] == "0x800706BA"


def test_probe_reports_a_hung_target_as_timed_out() -> None:
    site, hosts = dp_lab.lab({"dp01.contoso.local": "dp_healthy"})
    hosts["dp01.contoso.local"].state["network"]["hang"] = True
    result = ops.net_probe_targets(site, dp_lab.SYSTEM, targets=["dp01.contoso.local"], timeout_seconds=7)
    assert result["targets"][0]["timed_out"] is True and result["targets"][0]["elapsed_ms"] == 7000


def test_runspace_scripts_of_the_powershell_module_parse() -> None:
    source = "\n".join((REPO_ROOT / "plugins" / "module_utils" / f"{name}.psm1").read_text(encoding="utf-8-sig")
                       for name in ("_FieldkitDpShared", "_FieldkitDpOps", "_FieldkitSiteOps"))
    blocks = re.findall(r"@'\r?\n(.*?)\r?\n'@", source, re.S)
    scripts = [b for b in blocks if "namespace Fieldkit" not in b]
    assert len(scripts) == 4 and any("BeginGetHostAddresses" in s for s in scripts)
    for script in scripts:
        assert check_syntax(script, "runspace.ps1") == []
    native = next(b for b in blocks if "namespace Fieldkit" in b)
    assert native.count("{") == native.count("}")


# --- net.probe_targets: the simulator twin of Test-FieldkitNetworkTarget -------------------------
DP = "dp01.contoso.local"


def _probe_lab(overlay: dict | None = None) -> tuple[HostModel, HostModel]:
    site = dp_lab.model("cm01.contoso.local", "site_cm01")
    dp = dp_lab.model(DP, "dp_healthy", overlay)
    dp_lab.connect(site, dp)
    return site, dp


def _probe(site: HostModel, **kwargs) -> dict:
    return ops.net_probe_targets(site, dp_lab.SYSTEM, targets=[DP], **kwargs)["targets"][0]


def test_probe_of_a_slow_target_keeps_its_finished_stages() -> None:
    site, _dp = _probe_lab({"network": {"hang": "wmi"}})
    entry = _probe(site, timeout_seconds=30)
    assert entry["timed_out"] is True and entry["elapsed_ms"] == 30000
    assert entry["stages"] == {"dns": "done", "tcp": "done", "epm": "done", "wmi": "timed_out", "clock": "timed_out"}
    # What finished before the watchdog fired is returned as measured ...
    assert entry["dns"]["resolved"] is True and entry["tcp"][0] == {"port": 135, "open": True, "error": None}
    assert entry["epm"]["reachable"] is True
    # ... and only the unfinished stages are stubs with ERROR_TIMEOUT.
    assert entry["wmi"]["connected"] is None and entry["wmi"]["error"]["hresult"] == "0x800705B4"
    assert entry["clock"]["offset_seconds"] is None and entry["clock"]["error"]["hresult"] == "0x800705B4"
    hung = _probe(_probe_lab({"network": {"hang": True}})[0], timeout_seconds=7)
    assert set(hung["stages"].values()) == {"timed_out"} and hung["dns"]["resolved"] is None


def test_probe_skips_dcom_when_tcp_135_is_closed() -> None:
    site, _dp = _probe_lab({"network": {"blocked_ports": [135]}})
    entry = _probe(site)
    assert entry["stages"] == {"dns": "done", "tcp": "done", "epm": "skipped", "wmi": "skipped", "clock": "done"}
    for stage in ("epm", "wmi"):
        assert entry[stage]["skipped"] is True and entry[stage]["skip_reason"] == "tcp_135_closed"
        assert entry[stage]["error"]["hresult"] == "0x8007274C" and entry[stage]["error"]["target"] == "135"
    assert entry["wmi"]["connected"] is False
    # The clock falls back to NTP instead of a second DCOM connection.
    assert entry["clock"]["method"] == "ntp"
    # 135 not in tcp_ports: tested on its own before the RPC stages, not reported in tcp.
    alone = _probe(site, tcp_ports=[445])
    assert [p["port"] for p in alone["tcp"]] == [445] and alone["wmi"]["skip_reason"] == "tcp_135_closed"


def test_probe_of_an_unresolved_name_skips_everything_after_dns() -> None:
    site, _dp = _probe_lab({"network": {"dns": "nxdomain"}})
    entry = _probe(site)
    assert entry["dns"]["resolved"] is False and all(p["open"] is None for p in entry["tcp"])
    assert {entry[s]["skip_reason"] for s in ("epm", "wmi", "clock")} == {"dns_unresolved"}


def test_probe_samples_distinct_dynamic_ports_of_the_endpoint_map() -> None:
    site, _dp = _probe_lab({"network": {"blocked_ports": [49664]}})
    epm = _probe(site)["epm"]
    assert 0 < len(epm["endpoints"]) <= 20 and all(set(e) == {"uuid", "port", "annotation"} for e in epm["endpoints"])
    ports = [s["port"] for s in epm["sample_ports"]]
    assert len(ports) == 3 == len(set(ports)) and all(p >= 1024 for p in ports)
    assert {s["port"]: s["open"] for s in epm["sample_ports"]}[49664] is False
    assert epm["dynamic_port_open"] is True and "dynamic_port" not in epm


def test_probe_resolves_ipv6_and_lists_ipv4_first() -> None:
    site, _dp = _probe_lab({"network": {"addresses": ["fd00:20::11", "10.20.1.11"]}})
    entry = _probe(site)
    assert entry["dns"]["addresses"] == ["10.20.1.11", "fd00:20::11"]
    only6 = _probe(_probe_lab({"network": {"addresses": ["fd00:20::11"]}})[0])
    assert only6["dns"]["resolved"] is True and only6["tcp"][0]["open"] is True and only6["wmi"]["connected"] is True


def test_probe_stub_keys_match_the_powershell_stubs() -> None:
    """Complete-FieldkitProbeResult and the simulator report unfinished stages with the same keys."""
    source = (REPO_ROOT / "plugins" / "module_utils" / "_FieldkitDpShared.psm1").read_text(encoding="utf-8-sig")
    for stage in ("epm", "wmi", "clock"):
        line = re.search(rf"^\s+{stage} = @\{{(.*)\}}$", source, re.M)
        assert line, stage
        keys = set(re.findall(r"(\w+) = ", line.group(1)))
        assert keys == set(ops._probe_stub(stage, {}, "root", "x", [])), stage


# --- os.read_info, shares, groups ---------------------------------------------------------------
def test_os_info_addresses_display_version_and_no_hotfixes() -> None:
    _site, dp = _probe_lab({"network": {"addresses": ["10.20.1.11", "fd00:20::11"]}})
    info = ops.os_read_info(dp, dp_lab.SYSTEM)
    assert info["ipv4_addresses"] == ["10.20.1.11"] and info["ipv6_addresses"] == ["fd00:20::11"]
    # Server 2019 has no DisplayVersion value: null, not "" and not a made-up value.
    assert info["display_version"] is None
    dp.state["os"]["hotfixes"] = []
    assert ops.os_read_info(dp, dp_lab.SYSTEM)["hotfixes"] == []
    facts = dp_lab.dp_facts(dp)
    assert facts["errors"] == [] and facts["os"]["hotfixes"] == [] and facts["os"]["hotfixes_collected"] is True


def test_share_access_reports_orphaned_sids() -> None:
    orphan = "S-1-5-21-2718281828-3141592653-1414213562-1999"
    _site, dp = _probe_lab()
    dp.state["shares"]["SMS_DP$"]["access"] += [
        {"account": orphan.lower(), "type": "allow", "right": "change"},
        {"account": "", "sid": "S-1-5-21-2718281828-3141592653-1414213562-2001", "type": "deny", "right": "full"},
        {"account": "", "dacl_sid": False, "type": "allow", "right": "read"},
    ]
    share = next(s for s in ops.share_list(dp, dp_lab.SYSTEM, names=["SMS_DP$"])["shares"])
    *_, raw_sid, from_dacl, unknown = share["access"]
    assert raw_sid == {"account": orphan.lower(), "sid": orphan, "resolved": True, "type": "allow", "right": "change"}
    assert from_dacl["account"] is None and from_dacl["sid"].endswith("-2001") and from_dacl["resolved"] is False
    assert unknown["sid"] is None and unknown["account"] is None


def test_group_members_are_bounded_and_flag_unresolved_names() -> None:
    _site, dp = _probe_lab()
    members = dp.state["local_groups"]["S-1-5-32-544"]["members"]
    members.append({"sid": "S-1-5-21-2718281828-3141592653-1414213562-4242", "name": "CONTOSO\\gone",
                    "class": "user", "resolved": False})
    result = ops.group_read_members(dp, dp_lab.SYSTEM, sid="S-1-5-32-544")
    assert result["members"][-1] == {"sid": "S-1-5-21-2718281828-3141592653-1414213562-4242", "name": None,
                                     "resolved": False, "class": "user"}
    assert all(m["resolved"] for m in result["members"][:-1])
    dp.state["local_groups"]["S-1-5-32-544"]["hang"] = True
    with pytest.raises(SimWindowsError) as raised:
        ops.group_read_members(dp, dp_lab.SYSTEM, sid="S-1-5-32-544", timeout_seconds=5)
    assert raised.value.code == 0x800705B4
