"""The simulated DP ops behave like their PowerShell twins: host-side log filtering (records,
encodings, bounds, time window, rotated files), path references, identities on the network, and
the runspace scripts of _FieldkitDpOps.psm1 parse (they are strings, so the module check misses them)."""
from __future__ import annotations

import base64
import datetime as dt
import re

import pytest

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
    source = (REPO_ROOT / "plugins" / "module_utils" / "_FieldkitDpOps.psm1").read_text(encoding="utf-8-sig")
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
    source = (REPO_ROOT / "plugins" / "module_utils" / "_FieldkitDpOps.psm1").read_text(encoding="utf-8-sig")
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
