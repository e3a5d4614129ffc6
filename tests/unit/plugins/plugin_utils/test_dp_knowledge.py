# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_dp_knowledge.py."""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]
SEED_FILE = REPO_ROOT.parent / "shared" / "seeds" / "003_8fbe772eac7c26e4.txt"


def _load(name: str, relative: str):
    """Load a plugin_utils module by path (no collection loader needed)."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


kn = _load("mecm_fieldkit_test__dp_knowledge", "plugins/plugin_utils/_dp_knowledge.py")

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
CHECK_IDS = [
    "name_resolution", "ports", "free_space", "smb_shares", "rpc_dcom",
    "access_rights", "time_sync", "patch_level", "wmi",
]

# ------------------------------------------------------------------------------------------
# Error codes: domain-reference section 4.5 (code, symbolic name, Win32 decimal or None)
# ------------------------------------------------------------------------------------------

REFERENCE_CODES = [
    ("0x80070005", "E_ACCESSDENIED", 5),
    ("0x80070035", "ERROR_BAD_NETPATH", 53),
    ("0x80070043", "ERROR_BAD_NET_NAME", 67),
    ("0x80070040", "ERROR_NETNAME_DELETED", 64),
    ("0x80070002", "ERROR_FILE_NOT_FOUND", 2),
    ("0x80070003", "ERROR_PATH_NOT_FOUND", 3),
    ("0x80070020", "ERROR_SHARING_VIOLATION", 32),
    ("0x80070070", "ERROR_DISK_FULL", 112),
    ("0x8007052E", "ERROR_LOGON_FAILURE", 1326),
    ("0x80070576", "ERROR_TIME_SKEW", 1398),
    ("0x80090324", "SEC_E_TIME_SKEW", None),
    ("0x80070721", "RPC_S_SEC_PKG_ERROR", 1825),
    ("0x800706BA", "RPC_S_SERVER_UNAVAILABLE", 1722),
    ("0x800706BE", "RPC_S_CALL_FAILED", 1726),
    ("0x800706D9", "EPT_S_NOT_REGISTERED", 1753),
    ("0x80004005", "E_FAIL", None),
    ("0x80041001", "WBEM_E_FAILED", None),
    ("0x80041002", "WBEM_E_NOT_FOUND", None),
    ("0x80041003", "WBEM_E_ACCESS_DENIED", None),
    ("0x8004100E", "WBEM_E_INVALID_NAMESPACE", None),
    ("0x80041010", "WBEM_E_INVALID_CLASS", None),
    ("0x80041013", "WBEM_E_PROVIDER_LOAD_FAILURE", None),
    ("0x80070194", "HTTP_STATUS_NOT_FOUND", 404),
    ("0x800B0004", "TRUST_E_SUBJECT_NOT_TRUSTED", None),
    # WinHTTP (Winhttp.h): the BITS downloads of a pull DP from its source DPs.
    ("0x80072EE7", "ERROR_WINHTTP_NAME_NOT_RESOLVED", 12007),
    ("0x80072EFD", "ERROR_WINHTTP_CANNOT_CONNECT", 12029),
    ("0x80072EE2", "ERROR_WINHTTP_TIMEOUT", 12002),
]

# Mapping required by the specification: code -> checks that must be listed (primary first).
REQUIRED_CHECKS = [
    ("0x800706BA", ["rpc_dcom", "ports"]),
    ("0x80070005", ["access_rights", "patch_level"]),
    ("0x80070070", ["free_space"]),
    ("0x80070576", ["time_sync"]),
    ("0x80090324", ["time_sync"]),
    ("0x80070721", ["time_sync"]),
    ("0x8004100E", ["wmi"]),
    ("0x80041002", ["wmi"]),
    ("0x80041001", ["wmi"]),
    ("0x80041013", ["wmi"]),
    ("0x80041010", ["wmi"]),
    ("0x80041003", ["access_rights"]),
    ("0x80070035", ["name_resolution", "smb_shares"]),
    ("0x80070043", ["smb_shares"]),
    ("0x80070040", ["ports"]),
    ("0x800706D9", ["ports"]),
    ("0x8007052E", ["access_rights"]),
    ("0x80070002", ["smb_shares"]),
    ("0x80070003", ["smb_shares"]),
    ("0x80070020", ["smb_shares"]),
    ("0x80070194", ["source_download"]),
    ("0x800B0004", ["source_download"]),
]


@pytest.mark.parametrize("code, name, win32", REFERENCE_CODES)
def test_every_reference_code_is_known(code, name, win32):
    entry = kn.ERROR_CODES[code]
    assert entry["name"] == name
    assert entry["win32"] == win32
    for field in ("meaning", "cause"):
        assert entry[field]["en"].strip()
        assert JAPANESE.search(entry[field]["ja"]), (code, field)
    assert set(entry["checks"]) <= set(kn.CATEGORIES)


def test_error_code_keys_are_canonical():
    for key, entry in kn.ERROR_CODES.items():
        assert re.fullmatch(r"0x[0-9A-F]{8}", key)
        if entry["win32"] is not None:
            assert int(key, 16) == 0x80070000 | entry["win32"]


@pytest.mark.parametrize("code, required", REQUIRED_CHECKS)
def test_required_check_mapping(code, required):
    checks = kn.lookup_error_code(code)["checks"]
    assert checks[0] == required[0]  # the primary category comes first
    for check in required:
        assert check in checks


def test_only_e_fail_points_nowhere():
    assert [k for k, v in kn.ERROR_CODES.items() if not v["checks"]] == ["0x80004005"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("0x800706ba", "0x800706BA"),
        ("0x800706BA", "0x800706BA"),
        ("800706BA", "0x800706BA"),
        ("800706ba", "0x800706BA"),
        (1722, "0x800706BA"),
        ("1722", "0x800706BA"),
        (0x800706BA, "0x800706BA"),
        (53, "0x80070035"),
        ("53", "0x80070035"),
        ("0x35", "0x80070035"),
        ("(0x35)", "0x80070035"),
        (" 0x80070005 ", "0x80070005"),
        (-2147024891, "0x80070005"),
        ("-2147024891", "0x80070005"),
        ("8004100e", "0x8004100E"),
        (404, "0x80070194"),
    ],
)
def test_lookup_forms(query, expected):
    entry = kn.lookup_error_code(query)
    assert entry is not None
    assert entry["code"] == expected
    assert entry["name"] == kn.ERROR_CODES[expected]["name"]


def test_lookup_returns_copy():
    entry = kn.lookup_error_code("0x80070005")
    entry["checks"].append("bogus")
    assert "bogus" not in kn.ERROR_CODES["0x80070005"]["checks"]


@pytest.mark.parametrize("query", ["0x80070057", 87, "abc", "", "0x", 0, "0x00000000", "0x1FFFFFFFF"])
def test_lookup_unknown_or_invalid(query):
    assert kn.lookup_error_code(query) is None


@pytest.mark.parametrize("query", [1.5, None, True, ["0x5"]])
def test_lookup_wrong_type(query):
    with pytest.raises(TypeError):
        kn.lookup_error_code(query)


def test_win32_aliases_cover_every_decimal_code():
    expected = {win32: code for code, _name, win32 in REFERENCE_CODES if win32 is not None}
    assert kn.WIN32_ALIASES == expected
    for win32, code in expected.items():
        assert kn.lookup_error_code(win32)["code"] == code


def test_categories_for_error_codes_order_and_dedup():
    codes = [
        {"raw": "(0x35)", "hresult": "0x80070035", "win32": 53},
        "0x800706ba",
        53,
        {"raw": "x", "hresult": "0x80070057", "win32": 87},  # unknown: ignored
    ]
    assert kn.categories_for_error_codes(codes) == [
        "name_resolution", "smb_shares", "ports", "rpc_dcom", "patch_level",
    ]
    assert kn.categories_for_error_codes([]) == []


# ------------------------------------------------------------------------------------------
# Patch level: domain-reference section 5.3
# ------------------------------------------------------------------------------------------

REFERENCE_THRESHOLDS = {
    20348: (1607, "KB5023705"),
    17763: (4131, "KB5023702"),
    14393: (5786, "KB5023697"),
    19042: (2728, "KB5023696"),
    19044: (2728, "KB5023696"),
    19045: (2728, "KB5023696"),
    22000: (1696, "KB5023698"),
    22621: (1413, "KB5023706"),
    10240: (19805, "KB5023713"),
}


def test_threshold_table_matches_reference():
    got = {build: (v["min_ubr"], v["kb"]) for build, v in kn.PATCH_THRESHOLDS.items()}
    assert got == REFERENCE_THRESHOLDS


@pytest.mark.parametrize("build, threshold", [(b, t[0]) for b, t in REFERENCE_THRESHOLDS.items()])
def test_threshold_boundaries(build, threshold):
    at = kn.classify_patch_level(build, threshold)
    below = kn.classify_patch_level(build, threshold - 1)
    above = kn.classify_patch_level(str(build), threshold + 500)
    assert at["status"] == "PASS" and at["reason_code"] == "ubr_at_or_above_threshold"
    assert below["status"] == "FAIL" and below["reason_code"] == "ubr_below_threshold"
    assert above["status"] == "PASS"
    assert at["detail"]["threshold_ubr"] == threshold
    assert at["detail"]["version"] == "%d.%d" % (build, threshold)
    assert REFERENCE_THRESHOLDS[build][1] in below["summary"]["en"]
    assert REFERENCE_THRESHOLDS[build][1] in below["summary"]["ja"]


@pytest.mark.parametrize("build, ubr", [(19045, 2673), (22000, 1641), (22621, 1344)])
def test_february_2023_preview_builds_fail(build, ubr):
    assert kn.classify_patch_level(build, ubr)["status"] == "FAIL"


@pytest.mark.parametrize("build", [22631, 25398, 26100, 22635, 27000])
def test_post_march_builds_pass(build):
    result = kn.classify_patch_level(build, 1)
    assert result["status"] == "PASS"
    assert result["reason_code"] == "post_march_2023_build"
    assert result["detail"]["dcom_hardening"]["can_be_disabled_by_registry"] is False


def test_post_march_build_passes_without_ubr():
    assert kn.classify_patch_level(26100, None)["status"] == "PASS"


@pytest.mark.parametrize("ubr", [0, 1766, 2364, 2728, 9999, None])
def test_21h1_always_fails(ubr):
    result = kn.classify_patch_level(19043, ubr)
    assert result["status"] == "FAIL"
    assert result["reason_code"] == "build_end_of_service"
    assert result["detail"]["out_of_support"] is True


@pytest.mark.parametrize("build", [17134, 16299, 18363, 19041])
def test_older_unlisted_windows_10_builds_fail(build):
    result = kn.classify_patch_level(build, 9999)
    assert result["status"] == "FAIL"
    assert result["reason_code"] == "build_end_of_service"


@pytest.mark.parametrize("build", [7601, 6003, 9199])
def test_builds_older_than_all_thresholds_fail(build):
    result = kn.classify_patch_level(build, 0)
    assert result["status"] == "FAIL"
    assert result["reason_code"] == "build_older_than_thresholds"


@pytest.mark.parametrize("build", [9841, 10586 + 1, 20000, 22625])
def test_unknown_builds_between_known_ones(build):
    result = kn.classify_patch_level(build, 5000)
    assert result["status"] == "UNKNOWN"
    assert result["reason_code"] == "build_unknown"


def test_missing_build_or_ubr():
    assert kn.classify_patch_level(None, 4131)["reason_code"] == "build_missing"
    assert kn.classify_patch_level(None, None)["status"] == "UNKNOWN"
    missing_ubr = kn.classify_patch_level(17763, None)
    assert missing_ubr["status"] == "UNKNOWN" and missing_ubr["reason_code"] == "ubr_missing"


@pytest.mark.parametrize("build, ubr", [(-1, 5), ("17763a", 5), (17763, "x"), (17763, -3)])
def test_bad_numbers_rejected(build, ubr):
    with pytest.raises(ValueError):
        kn.classify_patch_level(build, ubr)


# --- Windows Server 2012 R2 / 2012 (monthly rollups, decided from hotfixes) ----------------


def _hf(kb, date):
    return {"hotfix_id": kb, "installed_on": date}


@pytest.mark.parametrize(
    "hotfixes, status, reason",
    [
        ([_hf("KB5023765", "2023-03-20")], "PASS", "legacy_march_kb_installed"),
        ([_hf("KB5023764", "2023-03-20")], "PASS", "legacy_march_kb_installed"),
        ([_hf("kb5023765", None)], "PASS", "legacy_march_kb_installed"),
        ([_hf("5023765", "")], "PASS", "legacy_march_kb_installed"),
        ([{"HotFixID": "KB5023765", "InstalledOn": "3/20/2023"}], "PASS", "legacy_march_kb_installed"),
        ([_hf("KB5022352", "2023-02-14"), _hf("KB5025285", "2023-04-11")], "WARN", "legacy_hotfix_after_march_2023"),
        ([_hf("KB5025285", "2023-03-14")], "WARN", "legacy_hotfix_after_march_2023"),
        ([_hf("KB5025285", "3/14/2023")], "WARN", "legacy_hotfix_after_march_2023"),
        ([_hf("KB5025285", "2023/03/14")], "WARN", "legacy_hotfix_after_march_2023"),
        ([_hf("KB5025285", "/Date(1678752000000)/")], "WARN", "legacy_hotfix_after_march_2023"),  # 2023-03-14
        ([_hf("KB5022352", "2023-03-13")], "FAIL", "legacy_no_evidence"),
        ([_hf("KB5022352", "/Date(1678665600000)/")], "FAIL", "legacy_no_evidence"),  # 2023-03-13
        ([_hf("KB5022352", "not a date")], "FAIL", "legacy_no_evidence"),
        ([], "FAIL", "legacy_no_evidence"),
        (None, "UNKNOWN", "legacy_hotfixes_not_collected"),
    ],
)
def test_2012_r2_variants(hotfixes, status, reason):
    result = kn.classify_patch_level(9600, 20878, hotfixes=hotfixes)
    assert (result["status"], result["reason_code"]) == (status, reason)
    assert result["detail"]["out_of_support"] is True
    assert "out_of_support" in [n["code"] for n in result["detail"]["notes"]]
    assert "kbs_unconfirmed" not in [n["code"] for n in result["detail"]["notes"]]


def test_2012_r2_warn_names_newest_hotfix():
    result = kn.classify_patch_level(
        9600, None, hotfixes=[_hf("KB5025285", "2023-04-11"), _hf("KB5022352", "2023-02-14")]
    )
    assert result["detail"]["newest_hotfix"] == {"hotfix_id": "KB5025285", "installed_on": "2023-04-11"}
    assert "KB5025285" in result["summary"]["en"] and "2023-04-11" in result["summary"]["ja"]


def test_2012_r2_unparsed_dates_are_reported():
    result = kn.classify_patch_level(9600, None, hotfixes=[_hf("KB1", "sometime")])
    assert result["detail"]["unparsed_hotfixes"] == [{"hotfix_id": "KB1", "installed_on": "sometime"}]


@pytest.mark.parametrize(
    "hotfixes, status",
    [
        ([_hf("KB5023756", "2023-03-20")], "PASS"),
        ([_hf("KB5023752", "2023-03-20")], "PASS"),
        ([_hf("KB5023765", "2023-03-20")], "WARN"),  # the 2012 R2 KB does not prove a 2012 machine
        ([_hf("KB5022348", "2023-01-10")], "FAIL"),
    ],
)
def test_2012_variants(hotfixes, status):
    result = kn.classify_patch_level(9200, None, hotfixes=hotfixes)
    assert result["status"] == status
    codes = [n["code"] for n in result["detail"]["notes"]]
    assert "out_of_support" in codes and "kbs_unconfirmed" in codes


def test_hotfix_entries_must_be_dicts():
    with pytest.raises(TypeError):
        kn.classify_patch_level(9600, None, hotfixes=["KB5023765"])


# --- DCOM hardening state / RequireIntegrityActivationAuthenticationLevel -------------------


@pytest.mark.parametrize(
    "build, ubr, reg, state, can_disable",
    [
        (17763, 4131, None, "enforced", False),
        (17763, 4131, 0, "enforced", False),  # the value is ignored after March 2023
        (17763, 4130, 0, "disabled_by_registry", True),
        (17763, 4130, 1, "enabled_by_registry", True),
        (17763, 4130, None, "enabled_by_default", True),  # >= June 2022 (3046)
        (17763, 3046, None, "enabled_by_default", True),
        (17763, 3045, None, "not_enabled", True),  # before June 2022: opt-in only
        (10240, 19000, None, "unknown", True),  # June 2022 build not known for 1507
        (17763, None, 0, "unknown", None),
    ],
)
def test_dcom_hardening_state(build, ubr, reg, state, can_disable):
    hardening = kn.classify_patch_level(build, ubr, require_integrity_value=reg)["detail"]["dcom_hardening"]
    assert hardening["state"] == state
    assert hardening["can_be_disabled_by_registry"] is can_disable
    assert hardening["require_integrity_value"] == reg


def test_registry_notes():
    ignored = kn.classify_patch_level(20348, 1607, require_integrity_value=0)
    assert "registry_ignored" in [n["code"] for n in ignored["detail"]["notes"]]
    disabled = kn.classify_patch_level(20348, 1606, require_integrity_value=0)
    assert "hardening_disabled_by_registry" in [n["code"] for n in disabled["detail"]["notes"]]


def test_patch_result_is_json_and_bilingual():
    for args in [(17763, 4131), (17763, 1), (9600, None), (None, None), (19043, 2364), (26100, 100)]:
        result = kn.classify_patch_level(*args, hotfixes=[_hf("KB5025285", "2023-04-11")])
        assert json.loads(json.dumps(result)) == result
        assert set(result) == {"status", "reason_code", "summary", "detail"}
        assert result["summary"]["en"] and JAPANESE.search(result["summary"]["ja"])
        assert "{" not in result["summary"]["en"] + result["summary"]["ja"]
        for note in result["detail"]["notes"]:
            assert note["en"] and JAPANESE.search(note["ja"])


# ------------------------------------------------------------------------------------------
# Time skew
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds, status",
    [
        (0, "PASS"),
        (0.5, "PASS"),
        (60, "PASS"),
        (60.0, "PASS"),
        (60.001, "WARN"),
        (61, "WARN"),
        (300, "WARN"),
        (300.5, "FAIL"),
        (301, "FAIL"),
        (-60, "PASS"),
        (-61, "WARN"),
        (-300, "WARN"),
        (-301, "FAIL"),
        (86400, "FAIL"),
        (None, "UNKNOWN"),
        (float("nan"), "UNKNOWN"),
    ],
)
def test_skew_boundaries(seconds, status):
    result = kn.classify_skew(seconds)
    assert result["status"] == status
    if seconds is not None and seconds == seconds:
        assert result["detail"]["abs_seconds"] == abs(seconds)
    assert result["summary"]["en"] and JAPANESE.search(result["summary"]["ja"])


def test_skew_thresholds_are_kerberos_based():
    assert kn.SKEW_WARN_SECONDS == 60
    assert kn.SKEW_FAIL_SECONDS == 5 * 60
    assert json.loads(json.dumps(kn.classify_skew(-400.25)))["detail"]["seconds"] == -400.25


@pytest.mark.parametrize("value", ["61", True, [1]])
def test_skew_rejects_non_numbers(value):
    with pytest.raises(TypeError):
        kn.classify_skew(value)


# ------------------------------------------------------------------------------------------
# Checklist texts
# ------------------------------------------------------------------------------------------


def test_check_ids_are_fixed():
    assert list(kn.CHECK_IDS) == CHECK_IDS
    assert set(kn.CHECKS) == set(CHECK_IDS)
    assert kn.EXTRA_CATEGORIES == ("source_download",)


@pytest.mark.parametrize("check_id", CHECK_IDS + ["source_download"])
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_check_has_texts(check_id, lang):
    text = kn.check_text(check_id, lang)
    assert set(text) == {"title", "heading", "explanation", "remediation"}
    for field in ("title", "explanation", "remediation"):
        assert text[field].strip(), (check_id, lang, field)
    if lang == "ja":
        assert JAPANESE.search(text["explanation"]) and JAPANESE.search(text["remediation"])
    else:
        assert not JAPANESE.search(text["title"])
    if check_id in CHECK_IDS:
        assert JAPANESE.search(text["heading"])
    else:
        assert text["heading"] is None


def test_headings_appear_verbatim_in_seed_checklist():
    if not SEED_FILE.is_file():
        pytest.skip("seed file %s not present" % SEED_FILE)
    seed = SEED_FILE.read_text(encoding="utf-8")
    checklist_lines = {line.strip()[2:].strip() for line in seed.splitlines() if line.strip().startswith("- ")}
    for check_id in CHECK_IDS:
        heading = kn.CHECKS[check_id]["heading"]
        assert heading in seed, check_id
        assert heading in checklist_lines, check_id
    # the seed's checklist order is the CHECK_IDS order
    positions = [seed.index("- " + kn.CHECKS[c]["heading"]) for c in CHECK_IDS]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    "check_id, tokens",
    [
        ("name_resolution", ["nslookup"]),
        ("ports", ["135", "445", "49152", "65535", "PortQry"]),
        ("free_space", ["SCCMContentLib", "TEMP", "NO_SMS_ON_DRIVE.SMS"]),
        ("smb_shares", ["Get-SmbShare", "ADMIN$", "SCCMContentLib$", "SMS_DP$", "SMSPKG", "SMSSIG$"]),
        ("rpc_dcom", ["EnableDCOM", "Y", "DcomLaunch", "RpcSs", "RpcEptMapper"]),
        ("access_rights", ["wmimgmt.msc", "Root", "4625", "SCCMContentLib"]),
        ("time_sync", ["w32tm", "W32Time", "NTP"]),
        ("patch_level", ["10036", "RequireIntegrityActivationAuthenticationLevel", "KB5023765", "2203"]),
        ("wmi", ["mofcomp", "smsdpprov.mof", "SMS_DP$\\sms\\bin", "smsdpprov.log", "root\\SCCMDP", "PsExec64.exe -i -s -d cmd", "wbemtest"]),
    ],
)
def test_remediation_has_concrete_actions_in_both_languages(check_id, tokens):
    for lang in ("en", "ja"):
        remediation = kn.check_text(check_id, lang)["remediation"]
        for token in tokens:
            assert token in remediation, (check_id, lang, token)


def test_rpc_dcom_requires_running_and_automatic():
    assert "Automatic" in kn.check_text("rpc_dcom", "en")["remediation"]
    assert "[自動]" in kn.check_text("rpc_dcom", "ja")["remediation"]
    assert "[実行中]" in kn.check_text("rpc_dcom", "ja")["remediation"]


@pytest.mark.parametrize("lang", ["de", "EN", "", None])
def test_check_text_rejects_unknown_lang(lang):
    with pytest.raises(ValueError) as info:
        kn.check_text("wmi", lang)
    assert "en" in str(info.value) and "ja" in str(info.value)


def test_check_text_rejects_unknown_check():
    with pytest.raises(ValueError, match="name_resolution"):
        kn.check_text("dns", "en")


def test_check_texts_are_json_serialisable():
    data = {c: kn.check_text(c, "ja") for c in kn.CATEGORIES}
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
