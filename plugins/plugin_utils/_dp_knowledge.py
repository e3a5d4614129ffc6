# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DP checklist knowledge: error codes, March 2023 patch thresholds, time skew, check texts. FOR INTERNAL COLLECTION USE ONLY."""
from __future__ import annotations

import copy
import datetime as _dt
import math
import re
from collections.abc import Iterable

# Standard library only: loaded by plain path in unit tests, no Ansible imports.

__all__ = [
    "CATEGORIES",
    "CHECKS",
    "CHECK_IDS",
    "END_OF_SERVICE_BUILDS",
    "ERROR_CODES",
    "EXTRA_CATEGORIES",
    "JUNE_2022_UBR",
    "LANGS",
    "LEGACY_ROLLUP_BUILDS",
    "MARCH_2023_RELEASE_DATE",
    "PATCH_THRESHOLDS",
    "POST_MARCH_2023_BUILDS",
    "SKEW_FAIL_SECONDS",
    "SKEW_WARN_SECONDS",
    "WIN32_ALIASES",
    "categories_for_error_codes",
    "check_text",
    "classify_patch_level",
    "classify_skew",
    "lookup_error_code",
    "normalize_error_code",
]

LANGS = ("en", "ja")
# Finding statuses, least to most severe: the worse status wins wherever parts of a finding are combined.
STATUS_RANK = {"N/A": -1, "PASS": 0, "UNKNOWN": 1, "WARN": 2, "FAIL": 3}

# The nine checklist items of seed 003 (jpmem 20230813_01), in the seed's order. Fixed ids.
CHECK_IDS = (
    "name_resolution",
    "ports",
    "free_space",
    "smb_shares",
    "rpc_dcom",
    "access_rights",
    "time_sync",
    "patch_level",
    "wmi",
)
# Categories that are not checklist items of the seed. "source_download" covers failures to
# download software update content (PatchDownloader.log) before any DP is involved.
EXTRA_CATEGORIES = ("source_download",)
CATEGORIES = CHECK_IDS + EXTRA_CATEGORIES


# ============================================================================================
# 1. Error codes (domain-reference section 4.5)
# ============================================================================================


def _code(
    name: str,
    win32: int | None,
    win32_name: str | None,
    meaning_en: str,
    meaning_ja: str,
    checks: list[str],
    cause_en: str,
    cause_ja: str,
) -> dict:
    return {
        "name": name,
        "win32": win32,
        "win32_name": win32_name,
        "meaning": {"en": meaning_en, "ja": meaning_ja},
        "checks": checks,
        "cause": {"en": cause_en, "ja": cause_ja},
    }


# Key: canonical HRESULT ("0x" + 8 upper-case hex digits). "checks" is ordered, most likely
# checklist item first. An empty list means the code points to no checklist item by itself.
ERROR_CODES: dict[str, dict] = {
    "0x80070005": _code(
        "E_ACCESSDENIED", 5, "ERROR_ACCESS_DENIED",
        "Access is denied.",
        "アクセスが拒否されました。",
        ["access_rights", "patch_level"],
        "The site server's computer account lacks share or NTFS rights on the source share or a "
        "content library, is not a local administrator on the DP, or lacks rights on the DP's WMI "
        "Root namespace. If the DP logs DistributedCOM event 10036, the cause is the DCOM hardening "
        "(CVE-2021-26414): the site server's authentication level is below what the DP requires.",
        "サイト サーバーのコンピューター アカウントに、ソース共有フォルダーや SCCMContentLib フォルダーへの"
        "共有または NTFS のアクセス権限がない、リモート配布ポイントのローカル Administrators グループに"
        "所属していない、またはリモート配布ポイントの WMI (Root 名前空間) へのアクセス権限がない可能性が"
        "あります。リモート配布ポイントで DistributedCOM のイベント ID 10036 が記録されている場合は、"
        "DCOM の強化 (CVE-2021-26414) により、サイト サーバー側の認証レベルが不足していることが原因です。",
    ),
    "0x80070035": _code(
        "ERROR_BAD_NETPATH", 53, "ERROR_BAD_NETPATH",
        "The network path was not found.",
        "ネットワーク パスが見つかりません。",
        ["name_resolution", "smb_shares", "ports"],
        "The DP name does not resolve or resolves to a wrong address, SMB (TCP 445) is blocked on "
        "the way, the DP's Server service or administrative share is unavailable, or the DP is down.",
        "リモート配布ポイントの名前解決ができない (または誤った IP アドレスに解決される)、経路上で "
        "SMB (TCP 445) がブロックされている、リモート配布ポイントの Server サービスや管理共有が"
        "利用できない、またはリモート配布ポイントが停止している可能性があります。",
    ),
    "0x80070043": _code(
        "ERROR_BAD_NET_NAME", 67, "ERROR_BAD_NET_NAME",
        "The network name cannot be found.",
        "ネットワーク名が見つかりません。",
        ["smb_shares"],
        "The share does not exist: ADMIN$, SCCMContentLib$, SMS_DP$, SMSPKG<drive>$ or SMSSIG$ on "
        "the DP, or the package source share.",
        "接続先の共有フォルダーが存在しません。リモート配布ポイントの ADMIN$、SCCMContentLib$、SMS_DP$、"
        "SMSPKG<ドライブ名>$、SMSSIG$、またはソース共有フォルダーが共有されているかご確認ください。",
    ),
    "0x80070040": _code(
        "ERROR_NETNAME_DELETED", 64, "ERROR_NETNAME_DELETED",
        "The specified network name is no longer available.",
        "指定されたネットワーク名は利用できなくなりました。",
        ["ports"],
        "The SMB connection dropped during the transfer: an unstable link, a firewall, IPS or WAN "
        "device in the path resetting the session, or antivirus / filter drivers on either server.",
        "転送中に SMB の接続が切断されました。不安定な回線や、経路上のファイアウォール、IPS、WAN 機器に"
        "よるセッションのリセット、または両サーバーのウイルス対策ソフトやフィルター ドライバーの影響が"
        "考えられます。",
    ),
    "0x80070002": _code(
        "ERROR_FILE_NOT_FOUND", 2, "ERROR_FILE_NOT_FOUND",
        "The system cannot find the file specified.",
        "指定されたファイルが見つかりません。",
        ["smb_shares"],
        "A file of the package source is missing (source moved or deleted), or the site server's "
        "content library is missing files.",
        "ソース共有フォルダーのファイルが存在しない (移動または削除された)、またはサイト サーバーの "
        "SCCMContentLib フォルダーのファイルが欠落している可能性があります。",
    ),
    "0x80070003": _code(
        "ERROR_PATH_NOT_FOUND", 3, "ERROR_PATH_NOT_FOUND",
        "The system cannot find the path specified.",
        "指定されたパスが見つかりません。",
        ["smb_shares"],
        "The package source path does not exist or is not shared, or a folder of the site server's "
        "content library is missing.",
        "ソース共有フォルダーのパスが存在しない、または共有されていない、もしくはサイト サーバーの "
        "SCCMContentLib フォルダー内のフォルダーが欠落している可能性があります。",
    ),
    "0x80070020": _code(
        "ERROR_SHARING_VIOLATION", 32, "ERROR_SHARING_VIOLATION",
        "The process cannot access the file because it is being used by another process.",
        "プロセスはファイルにアクセスできません。別のプロセスが使用中です。",
        ["smb_shares"],
        "A file in the source share or content library is locked: antivirus scanning without the "
        "ConfigMgr exclusions, or several sending threads on the same job (seen when the site "
        "server and SQL Server time zones differ).",
        "ソース共有フォルダーや SCCMContentLib フォルダーのファイルが他のプロセスにロックされています。"
        "ConfigMgr の除外設定がされていないウイルス対策ソフトによるスキャンや、同じジョブを複数の送信"
        "スレッドが処理している (サイト サーバーと SQL Server のタイム ゾーンが異なる場合に発生します) "
        "ことが考えられます。",
    ),
    "0x80070070": _code(
        "ERROR_DISK_FULL", 112, "ERROR_DISK_FULL",
        "There is not enough space on the disk.",
        "ディスクに十分な空き領域がありません。",
        ["free_space"],
        "A drive on the content path is full: the DP content library drive, the site server's "
        "content library or source share drive, or the OS drive / TEMP for software updates.",
        "コンテンツの経路上のドライブの空き容量が不足しています。リモート配布ポイントの SCCMContentLib "
        "フォルダーのドライブ、サイト サーバーの SCCMContentLib フォルダーやソース共有フォルダーのドライブ、"
        "更新プログラムの場合は OS ドライブ (TEMP フォルダー) をご確認ください。",
    ),
    "0x8007052E": _code(
        "ERROR_LOGON_FAILURE", 1326, "ERROR_LOGON_FAILURE",
        "The user name or password is incorrect.",
        "ユーザー名またはパスワードが正しくありません。",
        ["access_rights"],
        "Logon to the DP failed: a site system installation account with a wrong or expired "
        "password, or a broken computer account; the DP logs Security event 4625.",
        "リモート配布ポイントへのログオンに失敗しています。サイト システムのインストール アカウントの"
        "パスワード誤りや期限切れ、またはコンピューター アカウントの問題が考えられます。リモート配布"
        "ポイントのセキュリティ イベント ログにイベント ID 4625 が記録されていないかご確認ください。",
    ),
    "0x80070576": _code(
        "ERROR_TIME_SKEW", 1398, "ERROR_TIME_SKEW",
        "There is a time and/or date difference between the client and server.",
        "クライアントとサーバーの時刻または日付に差異があります。",
        ["time_sync"],
        "The clocks of the site server and the DP differ by more than Kerberos tolerates (5 minutes "
        "by default).",
        "サイト サーバーとリモート配布ポイントの時刻のずれが、Kerberos で許容される範囲 (既定で 5 分) "
        "を超えています。",
    ),
    "0x80090324": _code(
        "SEC_E_TIME_SKEW", None, None,
        "The clocks on the client and server machines are skewed.",
        "クライアントとサーバーのコンピューターの時刻にずれがあります。",
        ["time_sync"],
        "Kerberos authentication failed because the clocks of the site server and the DP differ by "
        "more than 5 minutes.",
        "サイト サーバーとリモート配布ポイントの時刻が 5 分以上ずれているため、Kerberos 認証に失敗して"
        "います。",
    ),
    "0x80070721": _code(
        "RPC_S_SEC_PKG_ERROR", 1825, "RPC_S_SEC_PKG_ERROR",
        "A security package specific error occurred.",
        "セキュリティ パッケージ固有のエラーが発生しました。",
        ["time_sync", "access_rights"],
        "Kerberos authentication of the RPC connection failed. Possible causes: clock skew over 5 "
        "minutes, a missing or duplicate SPN, or a broken trust / secure channel.",
        "RPC 接続の Kerberos 認証に失敗しています。時刻のずれ (5 分超) のほか、SPN の不足や重複、"
        "信頼関係 (セキュア チャネル) の破損が考えられます。",
    ),
    "0x800706BA": _code(
        "RPC_S_SERVER_UNAVAILABLE", 1722, "RPC_S_SERVER_UNAVAILABLE",
        "The RPC server is unavailable.",
        "RPC サーバーを利用できません。",
        ["rpc_dcom", "ports", "name_resolution", "patch_level"],
        "TCP 135 or the dynamic RPC ports are blocked, the RPC/DCOM services are stopped or DCOM is "
        "disabled on the DP, or the name resolves to a wrong host. Also reported for DCOM hardening "
        "mismatches after the June 2022 updates.",
        "TCP 135 や動的 RPC ポートがブロックされている、リモート配布ポイントで RPC / DCOM 関連サービスが"
        "停止している、DCOM が無効になっている、または名前解決で別のホストに解決されている可能性が"
        "あります。2022 年 6 月以降の更新プログラムによる DCOM の強化の影響でも発生します。",
    ),
    "0x800706BE": _code(
        "RPC_S_CALL_FAILED", 1726, "RPC_S_CALL_FAILED",
        "The remote procedure call failed.",
        "リモート プロシージャ コールに失敗しました。",
        ["rpc_dcom", "ports"],
        "The RPC call to the DP broke off: the remote service or WMI provider failed during the "
        "call, or the connection was interrupted.",
        "リモート配布ポイントへの RPC 呼び出しが途中で失敗しました。呼び出し先のサービスや WMI "
        "プロバイダーの異常、または通信の切断が考えられます。",
    ),
    "0x800706D9": _code(
        "EPT_S_NOT_REGISTERED", 1753, "EPT_S_NOT_REGISTERED",
        "There are no more endpoints available from the endpoint mapper.",
        "エンドポイント マッパーから利用できるエンドポイントはこれ以上ありません。",
        ["ports", "rpc_dcom"],
        "The dynamic RPC port range is blocked between the site server and the DP, or the target "
        "service is not registered with the endpoint mapper.",
        "サイト サーバーとリモート配布ポイント間で動的 RPC ポートがブロックされている、または接続先の"
        "サービスがエンドポイント マッパーに登録されていない可能性があります。",
    ),
    # WinHTTP errors (BITS downloads of a pull DP, DataTransferService.log / PullDP.log): "Error Messages
    # (Winhttp.h)", Win32 docs; HRESULT = 0x80070000 | code.
    "0x80072EE7": _code(
        "ERROR_WINHTTP_NAME_NOT_RESOLVED", 12007, "ERROR_WINHTTP_NAME_NOT_RESOLVED",
        "The server name could not be resolved.",
        "サーバー名を解決できませんでした。",
        ["name_resolution"],
        "The pull DP cannot resolve the name of its source DP: check DNS from the pull DP.",
        "プル配布ポイントからソース配布ポイントの名前を解決できません。プル配布ポイントの DNS 設定をご確認ください。",
    ),
    "0x80072EFD": _code(
        "ERROR_WINHTTP_CANNOT_CONNECT", 12029, "ERROR_WINHTTP_CANNOT_CONNECT",
        "A connection to the server could not be established.",
        "サーバーへの接続を確立できませんでした。",
        ["ports"],
        "The pull DP cannot connect to its source DP over HTTP/HTTPS: IIS on the source DP is not running, or a "
        "firewall blocks TCP 80/443 between them.",
        "プル配布ポイントからソース配布ポイントに HTTP/HTTPS で接続できません。ソース配布ポイントの IIS が停止している、"
        "または両者の間で TCP 80/443 がファイアウォールにより遮断されている可能性があります。",
    ),
    "0x80072EE2": _code(
        "ERROR_WINHTTP_TIMEOUT", 12002, "ERROR_WINHTTP_TIMEOUT",
        "The request has timed out.",
        "要求がタイムアウトしました。",
        ["ports"],
        "The source DP did not answer the pull DP's HTTP/HTTPS request in time: a firewall drops the traffic, or the "
        "source DP or the path is overloaded.",
        "ソース配布ポイントがプル配布ポイントの HTTP/HTTPS 要求に時間内に応答しませんでした。ファイアウォールによる破棄、"
        "またはソース配布ポイントや経路の過負荷が考えられます。",
    ),
    "0x80004005": _code(
        "E_FAIL", None, None,
        "Unspecified error.",
        "エラーを特定できません。",
        [],
        "Generic failure. Read the lines just before it: for example 'Address is closed for "
        "priority N jobs' means the sender address schedule or rate limit stops the job.",
        "汎用的なエラーです。直前のログ行をご確認ください。たとえば 'Address is closed for priority N "
        "jobs' が出力されている場合は、送信元アドレスのスケジュールや転送レート制限によりジョブが停止"
        "しています。",
    ),
    "0x80041001": _code(
        "WBEM_E_FAILED", None, None,
        "Generic WMI failure.",
        "WMI の処理に失敗しました (一般的なエラー)。",
        ["wmi"],
        "The DP's WMI provider (root\\SCCMDP) failed the call; smsdpprov.log on the DP shows why.",
        "リモート配布ポイントの WMI プロバイダー (root\\SCCMDP) で処理が失敗しています。リモート配布"
        "ポイントの smsdpprov.log で原因をご確認ください。",
    ),
    "0x80041002": _code(
        "WBEM_E_NOT_FOUND", None, None,
        "Object cannot be found.",
        "オブジェクトが見つかりません。",
        ["wmi"],
        "The DP WMI provider or its class is not registered: re-run mofcomp on smsdpprov.mof in "
        "SMS_DP$\\sms\\bin.",
        "リモート配布ポイントの WMI プロバイダーまたはそのクラスが登録されていません。SMS_DP$\\sms\\bin "
        "フォルダーの smsdpprov.mof に対して mofcomp を再実行してください。",
    ),
    "0x80041003": _code(
        "WBEM_E_ACCESS_DENIED", None, None,
        "Access denied (WMI).",
        "WMI へのアクセスが拒否されました。",
        ["access_rights", "wmi"],
        "The site server's computer account lacks permissions on the DP's WMI Root namespace "
        "(Enable Account, Execute Methods, Remote Enable).",
        "サイト サーバーのコンピューター アカウントに、リモート配布ポイントの WMI (Root 名前空間) に"
        "対するアクセス権限 (アカウントの有効化、メソッドの実行、リモートの有効化) がありません。",
    ),
    "0x8004100E": _code(
        "WBEM_E_INVALID_NAMESPACE", None, None,
        "Invalid namespace.",
        "名前空間が無効です。",
        ["wmi"],
        "The namespace root\\SCCMDP does not exist on the DP: the DP role or its WMI provider is not "
        "installed or was removed.",
        "リモート配布ポイントに root\\SCCMDP 名前空間が存在しません。配布ポイントの役割または WMI "
        "プロバイダーがインストールされていない、または削除されている可能性があります。",
    ),
    "0x80041010": _code(
        "WBEM_E_INVALID_CLASS", None, None,
        "Invalid class.",
        "クラスが無効です。",
        ["wmi"],
        "A class of the DP provider (e.g. SMS_DistributionPoint) is missing from root\\SCCMDP.",
        "root\\SCCMDP 名前空間に配布ポイント プロバイダーのクラス (SMS_DistributionPoint など) が"
        "存在しません。",
    ),
    "0x80041013": _code(
        "WBEM_E_PROVIDER_LOAD_FAILURE", None, None,
        "Provider load failure.",
        "プロバイダーの読み込みに失敗しました。",
        ["wmi"],
        "WMI could not load the DP's COM provider (smsdpprov); its registration or files are damaged.",
        "WMI がリモート配布ポイントの COM プロバイダー (smsdpprov) を読み込めませんでした。プロバイダーの"
        "登録またはファイルが破損している可能性があります。",
    ),
    "0x80070194": _code(
        "HTTP_STATUS_NOT_FOUND", 404, None,
        "The download URL returned HTTP 404 (not found).",
        "ダウンロード元の URL が HTTP 404 (見つかりません) を返しました。",
        ["source_download"],
        "PatchDownloader could not download the update file: the URL is no longer published, or a "
        "proxy blocks or rewrites the request.",
        "PatchDownloader が更新プログラムのファイルをダウンロードできませんでした。URL が公開されて"
        "いない、またはプロキシによって要求がブロックや書き換えされている可能性があります。",
    ),
    "0x800B0004": _code(
        "TRUST_E_SUBJECT_NOT_TRUSTED", None, None,
        "The subject is not trusted for the specified action.",
        "指定された操作に対して、サブジェクトは信頼されていません。",
        ["source_download"],
        "Signature verification of the downloaded update file failed: a proxy or content filter "
        "altered the file, or the download is incomplete.",
        "ダウンロードした更新プログラムのファイルの署名検証に失敗しました。プロキシやコンテンツ "
        "フィルターによるファイルの改変、またはダウンロードが不完全であることが考えられます。",
    ),
}

# Decimal Win32 code -> HRESULT key of ERROR_CODES.
WIN32_ALIASES: dict[int, str] = {
    entry["win32"]: key for key, entry in ERROR_CODES.items() if entry["win32"] is not None
}


def normalize_error_code(code: str | int) -> str | None:
    """Return the canonical HRESULT string (``0x800706BA``) for a code.

    Accepted: ints (Win32 codes up to 0xFFFF become ``0x8007XXXX``; negative values are signed
    HRESULTs), ``"0x800706ba"``, ``"800706BA"`` (eight hex digits), ``"(0x35)"``, ``"0x35"``,
    decimal strings (``"53"``, ``"1722"``, ``"-2147024891"``).

    Args:
        code: The code in any of the forms above.

    Returns:
        The canonical string, or None when the text is not a code or the value is zero.

    Raises:
        TypeError: ``code`` is neither a string nor an integer.
    """
    if isinstance(code, bool) or not isinstance(code, (str, int)):
        raise TypeError("error code must be str or int, got %s" % type(code).__name__)
    if isinstance(code, int):
        value = code
    else:
        text = code.strip().strip("()").strip()
        if re.fullmatch(r"0[xX][0-9A-Fa-f]{1,8}", text):
            value = int(text, 16)
        elif re.fullmatch(r"[0-9A-Fa-f]{8}", text):
            value = int(text, 16)
        elif re.fullmatch(r"-?\d{1,10}", text):
            value = int(text)
        else:
            return None
    if value < 0:
        if value < -0x80000000:
            return None
        value &= 0xFFFFFFFF
    if value == 0 or value > 0xFFFFFFFF:
        return None
    if value <= 0xFFFF:
        value |= 0x80070000
    return "0x%08X" % value


def lookup_error_code(code: str | int) -> dict | None:
    """Look up an error code in ERROR_CODES.

    Args:
        code: ``0x800706ba``, ``800706BA``, ``53``, ``0x35``, ``1722``, ``(0x35)`` ...

    Returns:
        A copy of the entry plus ``"code"`` (canonical HRESULT), or None when unknown.
    """
    key = normalize_error_code(code)
    if key is None or key not in ERROR_CODES:
        return None
    entry = copy.deepcopy(ERROR_CODES[key])
    entry["code"] = key
    return entry


def categories_for_error_codes(codes: Iterable[str | int | dict]) -> list[str]:
    """Checklist categories pointed to by codes, ordered by first appearance, no duplicates.

    Args:
        codes: Codes as accepted by lookup_error_code(), or dicts with an ``"hresult"`` key
            (the output of ``_cmlog.extract_error_codes``).

    Returns:
        Category ids (CHECK_IDS members and ``source_download``).
    """
    result: list[str] = []
    for code in codes:
        value = code.get("hresult") if isinstance(code, dict) else code
        if value is None:
            continue
        entry = lookup_error_code(value)
        for check in entry["checks"] if entry else []:
            if check not in result:
                result.append(check)
    return result


# ============================================================================================
# 2. Patch level: March 14, 2023 cumulative updates (domain-reference section 5.3)
# ============================================================================================

MARCH_2023_RELEASE_DATE = _dt.date(2023, 3, 14)

# CurrentBuildNumber -> first UBR of the March 14, 2023 ("2023-03 B") cumulative update.
PATCH_THRESHOLDS: dict[int, dict] = {
    20348: {"min_ubr": 1607, "kb": "KB5023705", "os": "Windows Server 2022"},
    17763: {"min_ubr": 4131, "kb": "KB5023702", "os": "Windows Server 2019 / Windows 10 1809 (LTSC 2019)"},
    14393: {"min_ubr": 5786, "kb": "KB5023697", "os": "Windows Server 2016 / Windows 10 1607 (LTSB 2016)"},
    19042: {"min_ubr": 2728, "kb": "KB5023696", "os": "Windows 10 20H2"},
    19044: {"min_ubr": 2728, "kb": "KB5023696", "os": "Windows 10 21H2"},
    19045: {"min_ubr": 2728, "kb": "KB5023696", "os": "Windows 10 22H2"},
    22000: {"min_ubr": 1696, "kb": "KB5023698", "os": "Windows 11 21H2"},
    22621: {"min_ubr": 1413, "kb": "KB5023706", "os": "Windows 11 22H2"},
    10240: {"min_ubr": 19805, "kb": "KB5023713", "os": "Windows 10 1507 (LTSB 2015)"},
}

# CurrentBuildNumber -> first UBR of the June 14, 2022 update (hardening on by default but
# still switchable with RequireIntegrityActivationAuthenticationLevel). 19045 and 22621 shipped
# after June 2022 (their UBRs continue the 19044 / post-GA lines), so every build of them has it.
JUNE_2022_UBR: dict[int, int] = {
    20348: 768,
    17763: 3046,
    14393: 5192,
    19042: 1766,
    19043: 1766,
    19044: 1766,
    19045: 1766,
    22000: 739,
    22621: 0,
}

# Builds first released after March 2023: always PASS, as does any build above 22631.
POST_MARCH_2023_BUILDS: dict[int, str] = {
    22631: "Windows 11 23H2",
    25398: "Windows Server 23H2",
    26100: "Windows 11 24H2 / Windows Server 2025",
}
_POST_MARCH_FLOOR = 22631

# Builds whose servicing ended before March 14, 2023: no March 2023 update exists for them.
# 19043 comes from the domain reference; the others are Microsoft's published end-of-service
# dates (all 2017-2022) and are listed so that an old build FAILs instead of being UNKNOWN.
END_OF_SERVICE_BUILDS: dict[int, str] = {
    10586: "Windows 10 1511",
    15063: "Windows 10 1703",
    16299: "Windows 10 / Windows Server 1709",
    17134: "Windows 10 / Windows Server 1803",
    18362: "Windows 10 / Windows Server 1903",
    18363: "Windows 10 / Windows Server 1909",
    19041: "Windows 10 / Windows Server 2004",
    19043: "Windows 10 21H1",
}

# Builds serviced by monthly rollups; the patch level is decided from installed hotfixes.
# 2012 KB numbers are UNCONFIRMED in the domain reference (from memory there).
LEGACY_ROLLUP_BUILDS: dict[int, dict] = {
    9600: {
        "os": "Windows Server 2012 R2 / Windows 8.1",
        "kbs": {"KB5023765": "Monthly Rollup", "KB5023764": "Security-only update"},
        "kbs_confirmed": True,
    },
    9200: {
        "os": "Windows Server 2012",
        "kbs": {"KB5023756": "Monthly Rollup", "KB5023752": "Security-only update"},
        "kbs_confirmed": False,
    },
}
_OLDEST_KNOWN_BUILD = min(LEGACY_ROLLUP_BUILDS)
_REGISTRY_VALUE = "RequireIntegrityActivationAuthenticationLevel"

_PATCH_SUMMARIES: dict[str, tuple[str, str]] = {
    "build_missing": (
        "The Windows build number was not collected; the patch level cannot be decided.",
        "Windows のビルド番号が取得できなかったため、更新プログラムの適用状況を判定できません。",
    ),
    "post_march_2023_build": (
        "Build {build} ({os}) was released after March 2023; the DCOM hardening is always enforced.",
        "ビルド {build} ({os}) は 2023 年 3 月より後にリリースされたビルドのため、DCOM の強化は常に有効です。",
    ),
    "ubr_at_or_above_threshold": (
        "{os} {version} includes the March 2023 cumulative update ({kb}, {build}.{threshold_ubr}) or later.",
        "{os} {version} には 2023 年 3 月の累積更新プログラム ({kb}、{build}.{threshold_ubr}) 以降が適用されています。",
    ),
    "ubr_below_threshold": (
        "{os} {version} is older than the March 2023 cumulative update ({kb}, {build}.{threshold_ubr}); "
        "install the March 2023 or a later cumulative update.",
        "{os} {version} には 2023 年 3 月の累積更新プログラム ({kb}、{build}.{threshold_ubr}) が適用されていません。"
        "2023 年 3 月以降の累積更新プログラムを適用してください。",
    ),
    "ubr_missing": (
        "The update build revision (UBR) of build {build} was not collected; the patch level cannot be decided.",
        "ビルド {build} の UBR が取得できなかったため、更新プログラムの適用状況を判定できません。",
    ),
    "build_end_of_service": (
        "{os} (build {build}) reached end of service before March 2023 and cannot receive the "
        "March 2023 update; upgrade to a supported version.",
        "{os} (ビルド {build}) は 2023 年 3 月より前にサポートが終了しているため、2023 年 3 月の更新プログラムを"
        "適用できません。サポートされているバージョンへアップグレードしてください。",
    ),
    "build_older_than_thresholds": (
        "Build {build} is older than every Windows version that received the March 2023 update and is out of support.",
        "ビルド {build} は 2023 年 3 月の更新プログラムが提供されたどのバージョンよりも古く、サポートが終了しています。",
    ),
    "build_unknown": (
        "Build {build} is not a known Windows release; check its update level manually.",
        "ビルド {build} は既知の Windows のリリースではないため、更新プログラムの適用状況を手動でご確認ください。",
    ),
    "legacy_march_kb_installed": (
        "{os}: {kb} (March 2023) is installed.",
        "{os}: 2023 年 3 月の更新プログラム {kb} が適用されています。",
    ),
    "legacy_hotfix_after_march_2023": (
        "{os}: the March 2023 update ({kbs}) is not listed, but {hotfix} was installed on {installed_on}. "
        "A later monthly rollup contains the fix, but this cannot be proven from the hotfix list.",
        "{os}: 2023 年 3 月の更新プログラム ({kbs}) は一覧にありませんが、{installed_on} に {hotfix} が"
        "インストールされています。以降のマンスリー ロールアップであれば修正が含まれますが、更新プログラムの"
        "一覧からは確認できません。",
    ),
    "legacy_no_evidence": (
        "{os}: neither the March 2023 update ({kbs}) nor any update installed on or after 2023-03-14 was found.",
        "{os}: 2023 年 3 月の更新プログラム ({kbs}) も、2023-03-14 以降にインストールされた更新プログラムも"
        "見つかりません。",
    ),
    "legacy_hotfixes_not_collected": (
        "{os}: the list of installed updates was not collected; the patch level cannot be decided.",
        "{os}: インストール済みの更新プログラムの一覧が取得できなかったため、適用状況を判定できません。",
    ),
}

_NOTES: dict[str, tuple[str, str]] = {
    "out_of_support": (
        "{os} is out of support: Windows Server 2012 / 2012 R2 extended support ended on "
        "October 10, 2023 (Extended Security Updates are needed for later fixes).",
        "{os} はサポートが終了しています。Windows Server 2012 / 2012 R2 の延長サポートは 2023 年 10 月 10 日に"
        "終了しました (以降の修正には拡張セキュリティ更新プログラム (ESU) が必要です)。",
    ),
    "end_of_service": (
        "{os} no longer receives updates.",
        "{os} は更新プログラムの提供が終了しています。",
    ),
    "kbs_unconfirmed": (
        "The March 2023 KB numbers used for {os} ({kbs}) are not confirmed; verify them.",
        "{os} の判定に使用している 2023 年 3 月の KB 番号 ({kbs}) は未確認です。ご確認ください。",
    ),
    "registry_ignored": (
        "RequireIntegrityActivationAuthenticationLevel has no effect after the March 2023 updates.",
        "2023 年 3 月以降の更新プログラムが適用されている場合、RequireIntegrityActivationAuthenticationLevel は無視されます。",
    ),
    "hardening_disabled_by_registry": (
        "DCOM hardening is disabled by RequireIntegrityActivationAuthenticationLevel=0; this stops "
        "working once the March 2023 update is installed.",
        "RequireIntegrityActivationAuthenticationLevel=0 により DCOM の強化が無効化されていますが、"
        "2023 年 3 月以降の更新プログラムを適用するとこの設定は無効になります。",
    ),
}


def _texts(table: dict[str, tuple[str, str]], key: str, values: dict) -> dict[str, str]:
    en, ja = table[key]
    return {"en": en.format(**values), "ja": ja.format(**values)}


def _note(key: str, values: dict) -> dict:
    note = {"code": key}
    note.update(_texts(_NOTES, key, values))
    return note


def _as_int(name: str, value: object) -> int | None:
    """Accept ints and digit strings (CurrentBuildNumber is a REG_SZ)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("%s must be an integer, got bool" % name)
    if isinstance(value, int):
        result = value
    elif isinstance(value, str) and value.strip().isdigit():
        result = int(value.strip())
    elif isinstance(value, str) and not value.strip():
        return None
    else:
        raise ValueError("%s must be a non-negative integer, got %r" % (name, value))
    if result < 0:
        raise ValueError("%s must be a non-negative integer, got %r" % (name, value))
    return result


_DOTNET_DATE_RE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


def _parse_installed_on(value: object) -> _dt.date | None:
    """Parse a hotfix install date.

    Accepts ``date``/``datetime``, ISO ``2023-03-20`` (optionally with a time), ``2023/03/20``,
    US ``3/20/2023`` (Win32_QuickFixEngineering's InstalledOn; month first is assumed) and
    PowerShell 5.1 JSON ``/Date(1679270400000)/``.
    """
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    match = _DOTNET_DATE_RE.match(text)
    if match:
        return (_dt.datetime(1970, 1, 1) + _dt.timedelta(milliseconds=int(match.group(1)))).date()
    match = re.match(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:$|[T\s])", text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:$|\s)", text)
        if not match:
            return None
        month, day, year = (int(g) for g in match.groups())
    try:
        return _dt.date(year, month, day)
    except ValueError:
        return None


def _normalize_kb(value: object) -> str | None:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return None
    text = str(value).strip().upper()
    if text.isdigit():
        text = "KB" + text
    return text if re.fullmatch(r"KB\d+", text) else None


def _hardening(status: str, june_reached: bool | None, value: int | None) -> dict:
    """DCOM hardening state for a machine; the site server is the DCOM client, the DP the server."""
    if status == "PASS":
        state, can_disable = "enforced", False
    elif status == "FAIL":
        can_disable = True
        if value == 0:
            state = "disabled_by_registry"
        elif value is not None and value >= 1:
            state = "enabled_by_registry"
        elif june_reached is True:
            state = "enabled_by_default"
        elif june_reached is False:
            state = "not_enabled"
        else:
            state = "unknown"
    else:
        state, can_disable = "unknown", None
    return {
        "state": state,
        "can_be_disabled_by_registry": can_disable,
        "registry_value_name": _REGISTRY_VALUE,
        "require_integrity_value": value,
    }


def _result(
    status: str, reason: str, detail: dict, june_reached: bool | None, reg: int | None, extra: dict | None = None
) -> dict:
    """Assemble a classify_patch_level() result; ``extra`` holds summary-only placeholders."""
    detail["dcom_hardening"] = _hardening(status, june_reached, reg)
    values = {key: ("" if val is None else val) for key, val in detail.items() if not isinstance(val, (dict, list))}
    values.update(extra or {})
    if status == "PASS" and reg is not None:
        detail["notes"].append(_note("registry_ignored", values))
    if status == "FAIL" and reg == 0:
        detail["notes"].append(_note("hardening_disabled_by_registry", values))
    return {
        "status": status,
        "reason_code": reason,
        "summary": _texts(_PATCH_SUMMARIES, reason, values),
        "detail": detail,
    }


def _classify_legacy(build: int, ubr: int | None, hotfixes: list[dict] | None, detail: dict, reg: int | None) -> dict:
    info = LEGACY_ROLLUP_BUILDS[build]
    kbs = list(info["kbs"])
    detail.update(
        {
            "os": info["os"],
            "march_2023_kbs": kbs,
            "kbs_confirmed": info["kbs_confirmed"],
            "out_of_support": True,
            "matched_kb": None,
            "kb_type": None,
            "newest_hotfix": None,
            "unparsed_hotfixes": [],
        }
    )
    values = {"os": info["os"], "kbs": ", ".join(kbs)}
    detail["notes"].append(_note("out_of_support", values))
    if not info["kbs_confirmed"]:
        detail["notes"].append(_note("kbs_unconfirmed", values))
    if hotfixes is None:
        return _result("UNKNOWN", "legacy_hotfixes_not_collected", detail, None, reg, values)
    newest: tuple[_dt.date, str] | None = None
    for hotfix in hotfixes:
        if not isinstance(hotfix, dict):
            raise TypeError("each hotfix must be a dict, got %s" % type(hotfix).__name__)
        kb = _normalize_kb(hotfix.get("hotfix_id", hotfix.get("HotFixID")))
        raw_date = hotfix.get("installed_on", hotfix.get("InstalledOn"))
        if kb in info["kbs"] and detail["matched_kb"] is None:
            detail["matched_kb"] = kb
            detail["kb"] = kb
            detail["kb_type"] = info["kbs"][kb]
        installed = _parse_installed_on(raw_date)
        if installed is None:
            if raw_date not in (None, ""):
                detail["unparsed_hotfixes"].append({"hotfix_id": kb, "installed_on": str(raw_date)})
            continue
        if newest is None or installed > newest[0]:
            newest = (installed, kb or "")
    if newest is not None:
        detail["newest_hotfix"] = {"hotfix_id": newest[1], "installed_on": newest[0].isoformat()}
    if detail["matched_kb"]:
        return _result("PASS", "legacy_march_kb_installed", detail, True, reg, values)
    if newest is not None and newest[0] >= MARCH_2023_RELEASE_DATE:
        values.update({"hotfix": newest[1] or "?", "installed_on": newest[0].isoformat()})
        return _result("WARN", "legacy_hotfix_after_march_2023", detail, None, reg, values)
    return _result("FAIL", "legacy_no_evidence", detail, None, reg, values)


def classify_patch_level(
    build: int | str | None,
    ubr: int | str | None,
    *,
    hotfixes: list[dict] | None = None,
    require_integrity_value: int | None = None,
) -> dict:
    """Decide whether a machine has the March 14, 2023 (or later) cumulative update.

    Rules: builds first released after March 2023 (22631, 25398, 26100, anything above 22631)
    PASS; builds in PATCH_THRESHOLDS PASS when ``ubr >= min_ubr``; end-of-service builds (21H1
    19043 and older Windows 10 releases) and builds below 9200 FAIL; 9600 / 9200 are decided
    from ``hotfixes`` (March KB present: PASS; an update installed on/after 2023-03-14: WARN;
    otherwise FAIL; list not collected: UNKNOWN) and always carry an ``out_of_support`` note;
    other builds are UNKNOWN.

    Args:
        build: ``CurrentBuildNumber`` (int or digit string).
        ubr: ``UBR`` from the same key.
        hotfixes: Installed updates as ``{"hotfix_id": "KB5023765", "installed_on": "2023-03-20"}``
            (``HotFixID`` / ``InstalledOn`` accepted too); used for 9600 and 9200 only.
        require_integrity_value: ``HKLM\\SOFTWARE\\Microsoft\\Ole\\AppCompat\\
            RequireIntegrityActivationAuthenticationLevel`` or None when the value is absent.

    Returns:
        ``{"status": "PASS|FAIL|WARN|UNKNOWN", "reason_code": str, "summary": {"en", "ja"},
        "detail": {...}}``; ``detail["dcom_hardening"]`` tells whether the registry value can
        still disable the hardening (``can_be_disabled_by_registry``: True before March 2023,
        False after, None when unknown) and the resulting ``state``.
    """
    build_n = _as_int("build", build)
    ubr_n = _as_int("ubr", ubr)
    reg = _as_int("require_integrity_value", require_integrity_value)
    detail: dict = {
        "build": build_n,
        "ubr": ubr_n,
        "version": "%s.%s" % (build_n, ubr_n) if build_n is not None and ubr_n is not None else None,
        "os": None,
        "threshold_ubr": None,
        "kb": None,
        "out_of_support": False,
        "notes": [],
    }
    if build_n is None:
        return _result("UNKNOWN", "build_missing", detail, None, reg)
    if build_n in POST_MARCH_2023_BUILDS or build_n > _POST_MARCH_FLOOR:
        detail["os"] = POST_MARCH_2023_BUILDS.get(build_n, "Windows build newer than 22631")
        return _result("PASS", "post_march_2023_build", detail, True, reg)
    if build_n in PATCH_THRESHOLDS:
        info = PATCH_THRESHOLDS[build_n]
        detail.update({"os": info["os"], "threshold_ubr": info["min_ubr"], "kb": info["kb"]})
        if ubr_n is None:
            return _result("UNKNOWN", "ubr_missing", detail, None, reg)
        june = JUNE_2022_UBR.get(build_n)
        june_reached = None if june is None else ubr_n >= june
        if ubr_n >= info["min_ubr"]:
            return _result("PASS", "ubr_at_or_above_threshold", detail, True, reg)
        return _result("FAIL", "ubr_below_threshold", detail, june_reached, reg)
    if build_n in END_OF_SERVICE_BUILDS:
        detail["os"] = END_OF_SERVICE_BUILDS[build_n]
        detail["out_of_support"] = True
        detail["notes"].append(_note("end_of_service", {"os": detail["os"]}))
        june = JUNE_2022_UBR.get(build_n)
        june_reached = None if june is None or ubr_n is None else ubr_n >= june
        return _result("FAIL", "build_end_of_service", detail, june_reached, reg)
    if build_n in LEGACY_ROLLUP_BUILDS:
        return _classify_legacy(build_n, ubr_n, hotfixes, detail, reg)
    if build_n < _OLDEST_KNOWN_BUILD:
        detail["out_of_support"] = True
        return _result("FAIL", "build_older_than_thresholds", detail, None, reg)
    return _result("UNKNOWN", "build_unknown", detail, None, reg)


# ============================================================================================
# 3. Time skew
# ============================================================================================

SKEW_WARN_SECONDS = 60.0
# Kerberos "Maximum tolerance for computer clock synchronization" default: 5 minutes.
SKEW_FAIL_SECONDS = 300.0

_SKEW_SUMMARIES: dict[str, tuple[str, str]] = {
    "not_measured": (
        "The clock difference was not measured.",
        "時刻のずれを測定できませんでした。",
    ),
    "within_tolerance": (
        "The clocks differ by {abs_seconds} s (60 s or less).",
        "時刻のずれは {abs_seconds} 秒です (60 秒以内)。",
    ),
    "skew_over_warn": (
        "The clocks differ by {abs_seconds} s, more than 60 s. Kerberos still accepts up to 300 s, "
        "but check time synchronisation (NTP) on both servers.",
        "時刻が {abs_seconds} 秒ずれています (60 秒超)。Kerberos の許容範囲 (300 秒) 内ですが、両サーバーの"
        "時刻同期 (NTP) をご確認ください。",
    ),
    "skew_over_kerberos": (
        "The clocks differ by {abs_seconds} s, more than Kerberos' 5-minute (300 s) tolerance; "
        "authentication between the site server and the DP fails.",
        "時刻が {abs_seconds} 秒ずれており、Kerberos の許容範囲 (5 分 = 300 秒) を超えています。サイト "
        "サーバーとリモート配布ポイント間の認証に失敗します。",
    ),
}


def classify_skew(seconds: float | None) -> dict:
    """Classify the clock difference between the site server and the DP.

    PASS when ``|seconds| <= 60``, WARN above 60, FAIL above 300 (Kerberos tolerance),
    UNKNOWN when None (or NaN).

    Args:
        seconds: Offset of the DP relative to the site server; the sign is ignored.

    Returns:
        ``{"status", "reason_code", "summary": {"en", "ja"}, "detail": {...}}``.
    """
    if isinstance(seconds, bool) or not (seconds is None or isinstance(seconds, (int, float))):
        raise TypeError("seconds must be a number or None, got %s" % type(seconds).__name__)
    detail = {
        "seconds": seconds,
        "abs_seconds": None,
        "warn_above_seconds": SKEW_WARN_SECONDS,
        "fail_above_seconds": SKEW_FAIL_SECONDS,
    }
    if seconds is None or math.isnan(seconds):
        detail["seconds"] = None
        status, reason = "UNKNOWN", "not_measured"
    else:
        detail["abs_seconds"] = abs(seconds)
        if abs(seconds) > SKEW_FAIL_SECONDS:
            status, reason = "FAIL", "skew_over_kerberos"
        elif abs(seconds) > SKEW_WARN_SECONDS:
            status, reason = "WARN", "skew_over_warn"
        else:
            status, reason = "PASS", "within_tolerance"
    shown = "" if detail["abs_seconds"] is None else ("%.3f" % detail["abs_seconds"]).rstrip("0").rstrip(".")
    return {
        "status": status,
        "reason_code": reason,
        "summary": _texts(_SKEW_SUMMARIES, reason, {"abs_seconds": shown}),
        "detail": detail,
    }


# ============================================================================================
# 4. Checklist texts (seed 003 headings, domain-reference sections 3 and 6)
# ============================================================================================


def _check(heading: str | None, title_en: str, title_ja: str, expl_en: str, expl_ja: str, rem_en: str, rem_ja: str) -> dict:
    return {
        "heading": heading,
        "title": {"en": title_en, "ja": title_ja},
        "explanation": {"en": expl_en, "ja": expl_ja},
        "remediation": {"en": rem_en, "ja": rem_ja},
    }


# "heading" is the checklist line of the seed, verbatim (Japanese in both languages; it is the
# citation of the step). The Japanese title is the same text.
CHECKS: dict[str, dict] = {
    "name_resolution": _check(
        "名前解決可否",
        "Name resolution",
        "名前解決可否",
        "The site server connects to the DP by the name registered in ConfigMgr (usually its FQDN). "
        "If that name does not resolve, or resolves to an old or wrong address, the SMB and RPC "
        "connections fail and distmgr.log shows errors such as 0x80070035 (error 53) or 0x800706BA.",
        "サイト サーバーは ConfigMgr に登録された名前 (通常は FQDN) でリモート配布ポイントに接続します。"
        "この名前が解決できない場合や、古い IP アドレスや誤った IP アドレスに解決される場合は SMB や RPC の"
        "接続に失敗し、distmgr.log に 0x80070035 (エラー 53) や 0x800706BA などのエラーが出力されます。",
        "On the site server run `nslookup <DP FQDN>` (or `Resolve-DnsName <DP FQDN>`) and confirm that "
        "the answer is the DP's current IP address; check the reverse lookup too. Correct stale or "
        "duplicate A/PTR records, wrong hosts file entries or the DNS suffix settings, then clear the "
        "resolver cache with `ipconfig /flushdns`.",
        "サイト サーバーで `nslookup <配布ポイントの FQDN>` (または `Resolve-DnsName <配布ポイントの FQDN>`) を"
        "実行し、リモート配布ポイントの現在の IP アドレスが返ることをご確認ください。逆引きも併せてご確認"
        "ください。DNS に古いレコードや重複した A / PTR レコードがある場合、hosts ファイルに誤った記載が"
        "ある場合、DNS サフィックスの設定に誤りがある場合は修正し、`ipconfig /flushdns` でキャッシュを"
        "クリアしてください。",
    ),
    "ports": _check(
        "通信 ポート の開放状況",
        "Network ports",
        "通信 ポート の開放状況",
        "Distribution from the site server to a DP uses SMB (TCP 445) to copy files and RPC (TCP/UDP 135 "
        "for the endpoint mapper plus the dynamic RPC range) for the DCOM/WMI calls to the DP. These ports "
        "cannot be changed in ConfigMgr, so every firewall on the path, including Windows Defender "
        "Firewall on the DP, must allow them from the site server.",
        "サイト サーバーからリモート配布ポイントへのコンテンツ配布では、ファイルのコピーに SMB (TCP 445)、"
        "リモート配布ポイントへの DCOM / WMI の呼び出しに RPC (エンドポイント マッパーの TCP / UDP 135 と"
        "動的 RPC ポート) が使われます。これらのポートは ConfigMgr 側で変更できないため、リモート配布"
        "ポイントの Windows Defender ファイアウォールを含め、経路上のすべてのファイアウォールでサイト"
        " サーバーからの通信が許可されている必要があります。",
        "Allow site server → DP: TCP 445, TCP and UDP 135, and the DP's dynamic RPC range (TCP "
        "49152-65535 by default; `netsh int ipv4 show dynamicport tcp` on the DP shows it). Test from the "
        "site server with `Test-NetConnection <DP> -Port 445` and `-Port 135`, and with PortQry "
        "(`portqry -n <DP> -e 135` lists the endpoints registered on the DP). If transfers break off with "
        "0x80070040, look for devices on the path that reset long sessions (firewall, IPS, WAN "
        "optimiser) and for antivirus or filter drivers on either server.",
        "サイト サーバーからリモート配布ポイントへの TCP 445、TCP / UDP 135、およびリモート配布ポイントの"
        "動的 RPC ポート範囲 (既定では TCP 49152 - 65535。リモート配布ポイントで `netsh int ipv4 show "
        "dynamicport tcp` を実行すると確認できます) を許可してください。サイト サーバーから "
        "`Test-NetConnection <配布ポイント> -Port 445`、`-Port 135` や PortQry (`portqry -n <配布ポイント> "
        "-e 135` でリモート配布ポイントに登録されているエンドポイントを一覧表示できます) を使って疎通を"
        "ご確認ください。0x80070040 で転送が途中で切断される場合は、長時間のセッションをリセットする機器 "
        "(ファイアウォール、IPS、WAN 高速化装置など) が経路上にないか、両サーバーのウイルス対策ソフトや"
        "フィルター ドライバーの影響がないかをご確認ください。",
    ),
    "free_space": _check(
        "格納 フォルダ の容量",
        "Free space of the content folders",
        "格納フォルダーの容量",
        "Content passes through several folders: applications, packages and images go from the source "
        "share to the site server's SCCMContentLib and then to the DP's SCCMContentLib; software updates "
        "are downloaded to the OS TEMP folder and the source share first. Every drive on that path needs "
        "enough free space for the content; a full drive shows up as 0x80070070.",
        "コンテンツは複数のフォルダーを経由して配布されます。アプリケーション、パッケージ、イメージは ソース"
        "共有フォルダー -> サイト サーバーの SCCMContentLib フォルダー -> リモート配布ポイントの SCCMContentLib "
        "フォルダー の順に、更新プログラムはその前に OS の TEMP フォルダーを経由します。経路上のすべての"
        "ドライブにコンテンツを格納できる十分な空き容量が必要で、不足すると 0x80070070 が出力されます。",
        "Check free space (`Get-CimInstance Win32_LogicalDisk -Filter \"DriveType=3\"`) on: the site "
        "server's OS drive / TEMP (software updates), the source share drive, the drive of the site "
        "server's SCCMContentLib, and the DP's content library drive(s) (registry value "
        "`HKLM\\SOFTWARE\\Microsoft\\SMS\\DP\\ContentLibraryPath`, or the path of the SCCMContentLib$ "
        "share). Remove content that is no longer needed, extend the volume, or add a drive for the DP "
        "content library. A drive with NO_SMS_ON_DRIVE.SMS in its root is never used for content.",
        "次のドライブの空き容量をご確認ください (`Get-CimInstance Win32_LogicalDisk -Filter \"DriveType=3\"`): "
        "サイト サーバーの OS ドライブ (TEMP フォルダー、更新プログラムの場合)、ソース共有フォルダーのドライブ、"
        "サイト サーバーの SCCMContentLib フォルダーのドライブ、リモート配布ポイントの SCCMContentLib フォルダーの"
        "ドライブ (レジストリ `HKLM\\SOFTWARE\\Microsoft\\SMS\\DP\\ContentLibraryPath`、または SCCMContentLib$ "
        "共有のパスで確認できます)。不要なコンテンツの削除、ボリュームの拡張、またはコンテンツ ライブラリ用の"
        "ドライブの追加をご検討ください。なお、ルートに NO_SMS_ON_DRIVE.SMS ファイルがあるドライブは"
        "コンテンツの格納に使用されません。",
    ),
    "smb_shares": _check(
        "SMB の利用可否",
        "SMB shares",
        "SMB の利用可否",
        "Files are copied over SMB with the site server's computer account. The site server's package "
        "source share must be shared, and the DP needs the shares ADMIN$, SCCMContentLib$, SMS_DP$, "
        "SMSPKG<drive>$ and SMSSIG$. A missing share gives 0x80070043; a missing source path gives "
        "0x80070002 or 0x80070003.",
        "ファイルのコピーには、サイト サーバーのコンピューター アカウントで SMB が使われます。サイト サーバー"
        "ではソース共有フォルダーが共有されている必要があり、リモート配布ポイントには ADMIN$、SCCMContentLib$、"
        "SMS_DP$、SMSPKG<ドライブ名>$、SMSSIG$ の共有フォルダーが必要です。共有フォルダーがない場合は "
        "0x80070043、ソースのパスが存在しない場合は 0x80070002 や 0x80070003 が出力されます。",
        "Run `Get-SmbShare` on the site server and on the DP (or `Get-SmbShare -CimSession <DP>`): the "
        "package source share must exist, and the DP must have ADMIN$, SCCMContentLib$, SMS_DP$, "
        "SMSPKG<drive>$ and SMSSIG$. Make sure the Server service (LanmanServer) is running. If ADMIN$ is "
        "missing, check that administrative shares are not disabled (`AutoShareServer` = 0 under "
        "`HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters`). If DP shares are missing, "
        "reinstall the distribution point role and follow distmgr.log and smsdpprov.log. For sharing "
        "violations (0x80070020), exclude the content library and source folders from antivirus scanning.",
        "サイト サーバーとリモート配布ポイントで `Get-SmbShare` (または `Get-SmbShare -CimSession <配布ポイント>`) "
        "を実行し、ソース共有フォルダーが共有されていること、リモート配布ポイントに ADMIN$、SCCMContentLib$、"
        "SMS_DP$、SMSPKG<ドライブ名>$、SMSSIG$ が設定されていることをご確認ください。Server サービス "
        "(LanmanServer) が実行中であることも併せてご確認ください。ADMIN$ がない場合は、管理共有が無効化されて"
        "いないか (`HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters` の `AutoShareServer` "
        "が 0 になっていないか) をご確認ください。配布ポイントの共有フォルダーがない場合は、配布ポイントの役割を"
        "再インストールし、distmgr.log と smsdpprov.log をご確認ください。共有違反 (0x80070020) の場合は、"
        "SCCMContentLib フォルダーとソース フォルダーをウイルス対策ソフトのスキャン対象から除外してください。",
    ),
    "rpc_dcom": _check(
        "RPC の利用可否",
        "RPC / DCOM availability",
        "RPC の利用可否",
        "ConfigMgr calls the DP's WMI provider (root\\SCCMDP) over DCOM, which runs on RPC. DCOM must be "
        "enabled and the RPC services must run on both servers; otherwise the WMI connection fails with "
        "0x800706BA (RPC server unavailable) or 0x800706D9.",
        "ConfigMgr はリモート配布ポイントの WMI プロバイダー (root\\SCCMDP) を DCOM 経由で呼び出し、DCOM は "
        "RPC 上で動作します。両サーバーで DCOM が有効であり、RPC 関連サービスが動作している必要があります。"
        "そうでない場合、WMI の接続が 0x800706BA (RPC サーバーを利用できません) や 0x800706D9 で失敗します。",
        "On the DP (and the site server) confirm that `EnableDCOM` under `HKLM\\SOFTWARE\\Microsoft\\Ole` is "
        "`Y` (dcomcnfg > Component Services > Computers > My Computer > Properties > \"Enable Distributed "
        "COM on this computer\"). Confirm that the services DCOM Server Process Launcher (DcomLaunch), "
        "Remote Procedure Call (RPC) (RpcSs) and RPC Endpoint Mapper (RpcEptMapper) are Running with "
        "startup type Automatic.",
        "リモート配布ポイント (およびサイト サーバー) で、`HKLM\\SOFTWARE\\Microsoft\\Ole` の `EnableDCOM` が "
        "`Y` であること (dcomcnfg の [コンソール ルート] - [コンポーネント サービス] - [コンピューター] - "
        "[マイ コンピューター] のプロパティで [このコンピューター上で分散 COM を有効にする] にチェックが"
        "入っていること) をご確認ください。また、DCOM Server Process Launcher (DcomLaunch)、Remote Procedure "
        "Call (RPC) (RpcSs)、RPC Endpoint Mapper (RpcEptMapper) の各サービスの状態が [実行中]、スタートアップ"
        "の種類が [自動] であることをご確認ください。",
    ),
    "access_rights": _check(
        "アクセス権限",
        "Access rights",
        "アクセス権限",
        "By default every connection to the DP uses the site server's computer account (DOMAIN\\SITESERVER$). "
        "It needs read access to the package source share, read/write access to the site server's and the "
        "DP's SCCMContentLib (share and NTFS), local administrator rights on the DP, and permissions on the "
        "DP's WMI Root namespace. Missing rights show up as 0x80070005 or 0x80041003.",
        "既定では、リモート配布ポイントへの接続にはサイト サーバーのコンピューター アカウント "
        "(ドメイン\\サイトサーバー名$) が使われます。このアカウントには、ソース共有フォルダーの読み取り権限、"
        "サイト サーバーとリモート配布ポイントの SCCMContentLib フォルダーの読み書き権限 (共有と NTFS)、"
        "リモート配布ポイントのローカル管理者権限、リモート配布ポイントの WMI (Root 名前空間) の"
        "アクセス権限が必要です。権限が不足していると 0x80070005 や 0x80041003 が出力されます。",
        "In the console (Administration > Site Configuration > Servers and Site System Roles > the DP's "
        "site system > Properties > General) confirm \"Use the site server's computer account to install "
        "this site system\". Give the site server's computer account (or a group it belongs to) Read on the "
        "source share (share and NTFS permissions), read/write on the site server's and the DP's "
        "SCCMContentLib, and membership of the DP's local Administrators group. On the DP open "
        "wmimgmt.msc > WMI Control > Properties > Security > Root > Security and grant at least Enable "
        "Account, Execute Methods and Remote Enable, applied to this namespace and subnamespaces. For "
        "0x8007052E check Security event 4625 on the DP and the site system installation account.",
        "ConfigMgr コンソールの [管理] - [概要] - [サイトの構成] - [サーバーとサイト システムの役割] で"
        "リモート配布ポイントのサイト システムのプロパティを開き、[全般] タブで [サイト サーバーのコンピューター"
        " アカウントを使用してこのサイト システムをインストールする] にチェックが入っていることをご確認ください。"
        "サイト サーバーのコンピューター アカウント (または所属するグループ) に、ソース共有フォルダーの読み取り"
        "権限 (共有と NTFS)、サイト サーバーとリモート配布ポイントの SCCMContentLib フォルダーの読み書き権限を"
        "付与し、リモート配布ポイントのローカル Administrators グループに追加してください。リモート配布"
        "ポイントで wmimgmt.msc を開き、[WMI コントロール (ローカル)] のプロパティの [セキュリティ] タブで "
        "[Root] を選択して [セキュリティ] を開き、少なくとも [アカウントの有効化]、[メソッドの実行]、"
        "[リモートの有効化] が [この名前空間とサブ名前空間] に許可されていることをご確認ください。"
        "0x8007052E の場合は、リモート配布ポイントのセキュリティ イベント ログ (イベント ID 4625) とサイト"
        " システムのインストール アカウントをご確認ください。",
    ),
    "time_sync": _check(
        "時刻同期",
        "Time synchronisation",
        "時刻同期",
        "The RPC connections between the site server and the DP authenticate with Kerberos, which by "
        "default tolerates at most 5 minutes of clock difference. A larger difference makes them fail "
        "(0x80070576, 0x80090324, often 0x80070721). This check warns above 60 seconds and fails above "
        "300 seconds.",
        "サイト サーバーとリモート配布ポイント間の RPC 通信は Kerberos で認証され、Kerberos が許容する時刻の"
        "ずれは既定で 5 分までです。これを超えてずれていると通信に失敗します (0x80070576、0x80090324、"
        "0x80070721 など)。このチェックでは 60 秒を超えると警告、300 秒を超えると失敗と判定します。",
        "Compare the clocks, e.g. `w32tm /stripchart /computer:<DP> /samples:1 /dataonly` on the site "
        "server. On both servers make sure the Windows Time service (W32Time) is running and synchronises "
        "with the domain hierarchy or the intended NTP server (`w32tm /query /status`, `w32tm /query "
        "/source`) and that NTP (UDP 123) to the time source is allowed, then resynchronise with "
        "`w32tm /resync`.",
        "サイト サーバーで `w32tm /stripchart /computer:<配布ポイント> /samples:1 /dataonly` などを実行し、"
        "時刻のずれをご確認ください。両サーバーで Windows Time サービス (W32Time) が実行中であり、ドメイン"
        "階層または想定した NTP サーバーと同期していること (`w32tm /query /status`、`w32tm /query /source`)、"
        "時刻同期元への NTP (UDP 123) の通信が許可されていることをご確認のうえ、`w32tm /resync` で再同期"
        "してください。",
    ),
    "patch_level": _check(
        "プライマリサイトサーバー、リモート配布ポイントの更新プログラム適用状況",
        "Windows update level of the primary site server and the DP",
        "プライマリサイトサーバー、リモート配布ポイントの更新プログラム適用状況",
        "The Windows DCOM hardening (CVE-2021-26414, KB5004442) raises the required DCOM activation "
        "authentication level. Since the March 14, 2023 updates it is always on and "
        "RequireIntegrityActivationAuthenticationLevel can no longer disable it. When the DP enforces it "
        "and the site server is not up to date, the DP rejects the site server's WMI calls: the DP logs "
        "DistributedCOM event 10036 and the site server gets 0x80070005 or 0x800706BA.",
        "DCOM の脆弱性 (CVE-2021-26414、KB5004442) に対応するため、DCOM のアクティブ化の認証レベルが強化され"
        "ています。2023 年 3 月 14 日の更新プログラム以降はこの強化が常に有効となり、"
        "RequireIntegrityActivationAuthenticationLevel で無効化することはできません。リモート配布ポイントで"
        "強化が有効になっており、サイト サーバーの更新プログラムが古い場合、サイト サーバーからの WMI 呼び出し"
        "が拒否され、リモート配布ポイントに DistributedCOM のイベント ID 10036 が記録され、サイト サーバーでは"
        " 0x80070005 や 0x800706BA のエラーになります。",
        "Install the March 2023 or a later cumulative update on both the primary site server and the DP "
        "(compare CurrentBuildNumber.UBR under `HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion` with "
        "the March 2023 build, e.g. 17763.4131 for Windows Server 2019 or 20348.1607 for Windows Server "
        "2022), use ConfigMgr 2203 or later, and restart. Look for DistributedCOM event 10036 on the DP and "
        "10037/10038 on the site server. Windows Server 2012 / 2012 R2 need the March 2023 monthly rollup "
        "(KB5023765 for 2012 R2) or later and are out of support since October 10, 2023. Do not rely on "
        "RequireIntegrityActivationAuthenticationLevel=0: it is ignored after the March 2023 updates.",
        "プライマリ サイト サーバーとリモート配布ポイントの両方に、2023 年 3 月以降の OS 累積品質更新"
        "プログラムを適用し、再起動してください (`HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion` の "
        "CurrentBuildNumber.UBR を 2023 年 3 月のビルドと比較します。例: Windows Server 2019 は 17763.4131、"
        "Windows Server 2022 は 20348.1607)。ConfigMgr は 2203 以降をご利用ください。リモート配布ポイントで"
        " DistributedCOM のイベント ID 10036、サイト サーバーで 10037 / 10038 が記録されていないかご確認"
        "ください。Windows Server 2012 / 2012 R2 では 2023 年 3 月以降のマンスリー ロールアップ (2012 R2 は "
        "KB5023765) が必要です。なお、これらの OS は 2023 年 10 月 10 日にサポートが終了しています。"
        "RequireIntegrityActivationAuthenticationLevel=0 による回避は 2023 年 3 月以降の更新プログラムでは"
        "無視されるため、利用しないでください。",
    ),
    "wmi": _check(
        "WMI の動作確認",
        "WMI health",
        "WMI の動作確認",
        "The site server manages content on the DP through the DP's WMI provider in the root\\SCCMDP "
        "namespace (for example SMS_DistributionPoint.AddFile). If the namespace or the provider is "
        "missing or broken, sending fails with WMI errors such as 0x8004100E, 0x80041002, 0x80041001 or "
        "0x80041013.",
        "サイト サーバーは、リモート配布ポイントの root\\SCCMDP 名前空間の WMI プロバイダー (例: "
        "SMS_DistributionPoint の AddFile メソッド) を使ってコンテンツを管理します。名前空間やプロバイダーが"
        "存在しない、または正常に動作しない場合、0x8004100E、0x80041002、0x80041001、0x80041013 などの "
        "WMI のエラーで送信に失敗します。",
        "Test the namespace as SYSTEM: on the DP run `PsExec64.exe -i -s -d cmd`, check `whoami` shows nt "
        "authority\\system, start `wbemtest` and connect to `root\\SCCMDP`; on the site server do the same "
        "and connect to `\\\\<DP FQDN>\\root\\SCCMDP` (SYSTEM uses the site server's computer account on "
        "the network). If the namespace or a class is missing, read smsdpprov.log on the DP "
        "(`<drive>:\\SMS_DP$\\sms\\logs`), re-register the DP provider by running `mofcomp` on "
        "`smsdpprov.mof` in `<drive>:\\SMS_DP$\\sms\\bin`, verify the WMI repository (`winmgmt "
        "/verifyrepository`), and reinstall the DP role if the provider still fails.",
        "SYSTEM 権限で名前空間に接続できるか確認します。リモート配布ポイントで `PsExec64.exe -i -s -d cmd` を"
        "実行し、`whoami` が nt authority\\system であることを確認したうえで `wbemtest` を起動し、"
        "`root\\SCCMDP` に接続してください。サイト サーバーでも同様に `\\\\<配布ポイントの FQDN>\\root\\SCCMDP` "
        "に接続します (SYSTEM はネットワーク上ではサイト サーバーのコンピューター アカウントとして動作します)。"
        "名前空間やクラスが存在しない場合は、リモート配布ポイントの smsdpprov.log "
        "(`<ドライブ>:\\SMS_DP$\\sms\\logs`) を確認し、`<ドライブ>:\\SMS_DP$\\sms\\bin` の `smsdpprov.mof` に対して"
        " `mofcomp` を再実行してプロバイダーを再登録してください。WMI リポジトリの整合性 "
        "(`winmgmt /verifyrepository`) も確認し、それでも解消しない場合は配布ポイントの役割を再インストール"
        "してください。",
    ),
}

# Texts for categories outside the seed checklist (heading None: no seed step).
_EXTRA_TEXTS: dict[str, dict] = {
    "source_download": _check(
        None,
        "Software update download (PatchDownloader)",
        "更新プログラムのダウンロード (PatchDownloader)",
        "Software updates are downloaded to the OS TEMP folder and copied to the package source share "
        "before they enter the content library. Errors in PatchDownloader.log such as 0x80070194 (HTTP "
        "404) or 0x800B0004 (signature verification failed) happen before any DP is involved. This is "
        "not one of the seed's checklist items.",
        "更新プログラムは OS の TEMP フォルダーにダウンロードされ、ソース共有フォルダーにコピーされてから "
        "SCCMContentLib フォルダーに格納されます。PatchDownloader.log に出力される 0x80070194 (HTTP 404) や "
        "0x800B0004 (署名の検証に失敗) などのエラーは、配布ポイントへの配布より前の段階で発生しています。"
        "チェック リストの項目ではありません。",
        "Read PatchDownloader.log (manual downloads: %temp% of the console user on the console computer; "
        "automatic deployment rules: %windir%\\CCM\\Logs on the site server). For HTTP 404 check internet "
        "access and the proxy configured for the site system; for 0x800B0004 make sure no proxy or content "
        "filter alters the downloaded files, then download again.",
        "PatchDownloader.log をご確認ください (手動ダウンロードの場合はコンソールを実行したユーザーの %temp%、"
        "自動展開規則の場合はサイト サーバーの %windir%\\CCM\\Logs にあります)。HTTP 404 の場合はインターネット"
        "への接続とサイト システムに設定したプロキシを、0x800B0004 の場合はプロキシやコンテンツ フィルターが"
        "ダウンロードしたファイルを改変していないかをご確認のうえ、再度ダウンロードしてください。",
    ),
}


def check_text(check_id: str, lang: str) -> dict:
    """Texts of one checklist item (or the extra category ``source_download``).

    Args:
        check_id: One of CHECK_IDS or EXTRA_CATEGORIES.
        lang: ``"en"`` or ``"ja"``.

    Returns:
        ``{"title", "heading", "explanation", "remediation"}``; ``heading`` is the seed's
        Japanese checklist line (None for extra categories) in both languages.

    Raises:
        ValueError: Unknown ``lang`` or ``check_id``; the message lists the allowed values.
    """
    if lang not in LANGS:
        raise ValueError("unknown lang %r; allowed values: %s" % (lang, ", ".join(LANGS)))
    entry = CHECKS.get(check_id) or _EXTRA_TEXTS.get(check_id)
    if entry is None:
        raise ValueError("unknown check_id %r; allowed values: %s" % (check_id, ", ".join(CATEGORIES)))
    return {
        "title": entry["title"][lang],
        "heading": entry["heading"],
        "explanation": entry["explanation"][lang],
        "remediation": entry["remediation"][lang],
    }
