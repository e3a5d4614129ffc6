# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ConfigMgr content status messages: what a DP's last status message for a package means. FOR INTERNAL COLLECTION USE ONLY.

Pure data and lookups. For each status message ID that Distribution Manager (23xx) or Package Transfer Manager
(82xx) reports about content on a distribution point: whether it is a failure, the checklist item
(``_dp_knowledge.CHECK_IDS``) it points to, a short text of the message, the cause and the fix, in English and
Japanese. The texts are the collection's own short versions (the collection ships no copy of Microsoft's message
file); ``tests/unit/plugins/test_dp_status_messages.py`` checks every ID against the reference message file in
``../shared/data/configmgr-status-messages/`` (Configuration Manager's own texts) and that the failure
classification agrees with it.

Sources the mapping was checked against:

* the message texts and suggested solutions of Configuration Manager (the reference file above);
* Microsoft, "Understanding and Troubleshooting Content Distribution in Microsoft Configuration Manager"
  (support.microsoft.com/help/4000401): Distribution Manager (distmgr.log) processes the package and the
  source folder and connects to the DP; Package Transfer Manager (PkgXferMgr.log) copies the files to the DP
  over SMB and then updates the content on the DP through its WMI provider (root\\SCCMDP);
* ConfigMgr SDK, "SMS_DistributionDPStatus Server WMI Class" (MessageID, MessageSeverity, LastUpdateDate,
  InsString1-10: the last status message a DP reported for a package) and
  "SMS_PackageStatusDistPointsSummarizer Server WMI Class" (State).

Rules:

* ``failure`` True: the message says the distribution failed (2302, 2306, 2307, 2323, 2324, 2328, 2343, 8202,
  8203, 8207, 8211 ...). A failure points to the checklist item whose test covers what failed.
* ``failure`` False: progress, success or a retry that is still running (2304, 2329, 2330, 8204, 8206 ...). It
  points to no checklist item (``check`` None): content in progress is not a fault of the DP.
* An ID not in the table is unknown: ``failure`` None and ``check`` None, with a generic cause that quotes the
  message's insertion strings when there are any. It is never attached to a guessed checklist item.
"""
from __future__ import annotations

import typing as t

from . import _dp_knowledge

LANGS = _dp_knowledge.LANGS
CHECK_IDS = _dp_knowledge.CHECK_IDS

# SMS_PackageStatusDistPointsSummarizer.State (ConfigMgr SDK, "SMS_PackageStatusDistPointsSummarizer Server WMI
# Class"): value -> (name, English, Japanese).
STATES: dict[int, tuple[str, str, str]] = {
    0: ("installed", "Installed", "インストール済み"),
    1: ("install_pending", "Install pending", "インストール待ち"),
    2: ("install_retrying", "Install retrying", "インストール再試行中"),
    3: ("install_failed", "Install failed", "インストール失敗"),
    4: ("removal_pending", "Removal pending", "削除待ち"),
    5: ("removal_retrying", "Removal retrying", "削除再試行中"),
    6: ("removal_failed", "Removal failed", "削除失敗"),
    7: ("content_updating", "Content updating", "コンテンツ更新中"),
    8: ("content_monitoring", "Content monitoring", "コンテンツ監視中"),
}
FAILED_STATES = (3, 6)
FAILED_STATE_NAMES = tuple(STATES[s][0] for s in FAILED_STATES)


class StatusMessage(t.NamedTuple):
    failure: bool
    check: str | None
    text: tuple[str, str]
    cause: tuple[str, str]
    fix: tuple[str, str]


_DISTMGR_LOG = ("See distmgr.log on the site server", "サイト サーバーの distmgr.log を確認してください")
_PROGRESS_CAUSE = ("Distribution is still in progress; no failure was reported", "配布は進行中で、失敗は報告されていません")
_PROGRESS_FIX = ("Wait for the distribution to finish; look again if the state does not change within a few hours",
                 "配布の完了を待ち、数時間たっても状態が変わらない場合は再確認してください")

# Message ID -> what it means. Texts: {1}, {2}, {3} are the message's insertion strings 1-3 (%1-%3 of the message).
MESSAGES: dict[int, StatusMessage] = {
    # --- Distribution Manager (distmgr.log) ---
    2302: StatusMessage(
        True, "access_rights",
        ('Distribution Manager failed to process package "{1}" (package ID = {2})',
         'Distribution Manager がパッケージ "{1}" (パッケージ ID = {2}) を処理できませんでした'),
        ("Distribution Manager could not read the package source folder or write to the DP (access rights of the site "
         "server's computer account), or the source path is too long or the disk is full",
         "Distribution Manager がパッケージのソース フォルダーを読み取れないか配布ポイントに書き込めません (サイト サーバーの"
         "コンピューター アカウントのアクセス権)。またはソースのパスが長すぎるかディスクの空きが不足しています"),
        ("Give the site server's computer account read access to the source share and administrator rights on the DP; "
         "shorten long source paths; then redistribute the content",
         "サイト サーバーのコンピューター アカウントにソース共有の読み取り権限と配布ポイントの管理者権限を与え、長いソース パス"
         "を短くしてからコンテンツを再配布してください")),
    2306: StatusMessage(
        True, "smb_shares",
        ('The source directory "{1}" for package "{2}" does not exist',
         'パッケージ "{2}" のソース ディレクトリ "{1}" が存在しません'),
        ("The package source folder does not exist or its share is not available",
         "パッケージのソース フォルダーが存在しないか、その共有を利用できません"),
        ("Restore the source folder or correct the package's source path (Data Source tab), then update the "
         "distribution points",
         "ソース フォルダーを復元するか、パッケージのソース パス ([データ ソース] タブ) を修正してから配布ポイントを更新して"
         "ください")),
    2307: StatusMessage(
        True, "access_rights",
        ('Distribution Manager failed to access the source directory "{1}" for package "{2}"',
         'Distribution Manager がパッケージ "{2}" のソース ディレクトリ "{1}" にアクセスできませんでした'),
        ("The site server's computer account cannot read the package source folder",
         "サイト サーバーのコンピューター アカウントでパッケージのソース フォルダーを読み取れません"),
        ("Grant the site server's computer account at least read access to the source share and folder (share and "
         "NTFS), then update the distribution points",
         "サイト サーバーのコンピューター アカウントにソース共有とフォルダーの読み取り以上の権限 (共有と NTFS) を与えてから"
         "配布ポイントを更新してください")),
    2320: StatusMessage(
        True, "free_space",
        ('There is not enough free disk space on the site server to decompress package "{1}"',
         'サイト サーバーのディスクの空き領域が不足しているため、パッケージ "{1}" を展開できません'),
        ("The site server's drive is full", "サイト サーバーのドライブの空き領域が不足しています"),
        ("Free disk space on the site server, then redistribute the content",
         "サイト サーバーのディスクの空き領域を確保してからコンテンツを再配布してください")),
    2323: StatusMessage(
        True, "rpc_dcom",
        ("Distribution Manager failed to connect to the distribution point",
         "Distribution Manager が配布ポイントに接続できませんでした"),
        ("The site server cannot reach the DP over RPC/DCOM (WMI on the DP): RPC blocked, DCOM disabled or RPC "
         "services stopped",
         "サイト サーバーから配布ポイントへ RPC/DCOM (配布ポイントの WMI) で接続できません: RPC の遮断、DCOM の無効化、"
         "または RPC サービスの停止"),
        ("Allow TCP 135 and the dynamic RPC ports from the site server to the DP, enable DCOM and start the RPC "
         "services on the DP; see distmgr.log for the error code",
         "サイト サーバーから配布ポイントへの TCP 135 と動的 RPC ポートを許可し、配布ポイントで DCOM を有効化して RPC "
         "サービスを開始してください。エラー コードは distmgr.log で確認できます")),
    2324: StatusMessage(
        True, "smb_shares",
        ('Distribution Manager failed to find or create the defined share or folder on distribution point "{1}" for '
         'package "{2}"',
         'Distribution Manager が配布ポイント "{1}" でパッケージ "{2}" 用の共有またはフォルダーを見つけることも作成することも'
         'できませんでした'),
        ("The DP's share or folder (SMS_DP$, SCCMContentLib$, SMSPKG<drive>$) is missing and cannot be created",
         "配布ポイントの共有またはフォルダー (SMS_DP$、SCCMContentLib$、SMSPKG<ドライブ>$) が無く、作成もできません"),
        ("Check that the Server service runs on the DP and an NTFS drive is available; recreate the shares (reinstall "
         "the DP role if needed), then redistribute",
         "配布ポイントで Server サービスが動作し NTFS ドライブが利用できることを確認し、共有を作り直して (必要なら配布"
         "ポイントの役割を再インストール) から再配布してください")),
    2328: StatusMessage(
        True, "access_rights",
        ('Distribution Manager failed to copy package "{1}" from "{2}" to "{3}"',
         'Distribution Manager がパッケージ "{1}" を "{2}" から "{3}" へコピーできませんでした'),
        ("The site server's computer account cannot read the source or write to the DP",
         "サイト サーバーのコンピューター アカウントでソースを読み取れないか、配布ポイントへ書き込めません"),
        ("Give the site server's computer account read access to the source and administrator rights on the DP, "
         "then redistribute",
         "サイト サーバーのコンピューター アカウントにソースの読み取り権限と配布ポイントの管理者権限を与えてから再配布して"
         "ください")),
    2343: StatusMessage(
        True, "free_space",
        ('There is not enough free disk space to copy package "{1}" to "{2}"',
         'パッケージ "{1}" を "{2}" へコピーするためのディスクの空き領域が不足しています'),
        ("The DP's content library drive is full", "配布ポイントのコンテンツ ライブラリのドライブの空き領域が不足しています"),
        ("Free disk space on the DP (or add a drive for the content library), then redistribute",
         "配布ポイントのディスクの空き領域を確保 (またはコンテンツ ライブラリ用のドライブを追加) してから再配布してください")),
    2391: StatusMessage(
        True, "ports",
        ("Distribution Manager failed to connect to the distribution point {1}",
         "Distribution Manager が配布ポイント {1} に接続できませんでした"),
        ("A firewall or the network blocks the site server's connection to the DP",
         "ファイアウォールまたはネットワークがサイト サーバーから配布ポイントへの接続を遮断しています"),
        ("Allow TCP 135, 445 and the dynamic RPC ports from the site server to the DP, then redistribute",
         "サイト サーバーから配布ポイントへの TCP 135、445 と動的 RPC ポートを許可してから再配布してください")),
    2304: StatusMessage(
        False, None,
        ('Distribution Manager is retrying to distribute package "{1}"', 'Distribution Manager がパッケージ "{1}" の配布を再試行しています'),
        ("An earlier attempt failed and Distribution Manager retries; the cause is in the earlier messages",
         "前回の試行が失敗し、Distribution Manager が再試行しています。原因はそれ以前のメッセージにあります"),
        _PROGRESS_FIX),
    2329: StatusMessage(
        False, None,
        ('Distribution Manager copied package "{1}" from "{2}" to "{3}"',
         'Distribution Manager がパッケージ "{1}" を "{2}" から "{3}" へコピーしました'),
        _PROGRESS_CAUSE, _PROGRESS_FIX),
    2330: StatusMessage(
        False, None,
        ('Distribution Manager successfully distributed package "{1}" to distribution point "{2}"',
         'Distribution Manager がパッケージ "{1}" を配布ポイント "{2}" へ配布しました'),
        _PROGRESS_CAUSE, _PROGRESS_FIX),
    2342: StatusMessage(
        False, None,
        ('Distribution Manager is starting to distribute package "{1}" to distribution point "{2}"',
         'Distribution Manager がパッケージ "{1}" の配布ポイント "{2}" への配布を開始しています'),
        _PROGRESS_CAUSE, _PROGRESS_FIX),
    # --- Package Transfer Manager (PkgXferMgr.log) ---
    8202: StatusMessage(
        True, "ports",
        ('The Package Transfer Manager cannot connect to distribution point server "{1}" over the LAN',
         'Package Transfer Manager が LAN 経由で配布ポイント サーバー "{1}" に接続できません'),
        ("The DP is unreachable from the site server (name resolution, firewall or network)",
         "サイト サーバーから配布ポイントに到達できません (名前解決、ファイアウォールまたはネットワーク)"),
        ("Check name resolution and allow TCP 445 and 135 from the site server to the DP, then redistribute",
         "名前解決を確認し、サイト サーバーから配布ポイントへの TCP 445 と 135 を許可してから再配布してください")),
    8203: StatusMessage(
        True, "access_rights",
        ('The Package Transfer Manager failed to send files to destination server "{1}"',
         'Package Transfer Manager が転送先サーバー "{1}" へファイルを送信できませんでした'),
        ("The site server's computer account (or the site system installation account) has no full access to the "
         "folder on the DP",
         "サイト サーバーのコンピューター アカウント (またはサイト システムのインストール アカウント) に配布ポイントの"
         "フォルダーへのフル アクセス権がありません"),
        ("Make the site server's computer account a local administrator of the DP and give it full access to the "
         "content library and SMS_DP$ folders, then redistribute",
         "サイト サーバーのコンピューター アカウントを配布ポイントのローカル管理者にし、コンテンツ ライブラリと SMS_DP$ "
         "フォルダーへのフル アクセス権を与えてから再配布してください")),
    8207: StatusMessage(
        True, "smb_shares",
        ('Package Transfer Manager has failed to distribute package "{1}" to distribution point {2}',
         'Package Transfer Manager がパッケージ "{1}" を配布ポイント {2} へ配布できませんでした'),
        ("Package Transfer Manager could not copy the content to the DP over SMB (the SMS_DP$ and content library "
         "shares); it gave up after its retries",
         "Package Transfer Manager が SMB (SMS_DP$ とコンテンツ ライブラリの共有) で配布ポイントへコンテンツをコピーできず、"
         "再試行の後に断念しました"),
        ("Check the DP's shares and SMB (TCP 445) from the site server and the error in PkgXferMgr.log, then "
         "redistribute the package to this DP",
         "配布ポイントの共有とサイト サーバーからの SMB (TCP 445)、PkgXferMgr.log のエラーを確認してから、このパッケージを"
         "この配布ポイントへ再配布してください")),
    8211: StatusMessage(
        True, "wmi",
        ('Package Transfer Manager failed to update the package "{1}", Version {2} on distribution point {3}',
         'Package Transfer Manager が配布ポイント {3} のパッケージ "{1}" (バージョン {2}) を更新できませんでした'),
        ("After the copy, the update of the content through the DP's WMI provider (root\\SCCMDP) failed",
         "コピーの後、配布ポイントの WMI プロバイダー (root\\SCCMDP) によるコンテンツの更新に失敗しました"),
        ("Check WMI and the root\\SCCMDP namespace on the DP (smsdpprov.log) and the error in PkgXferMgr.log, then "
         "redistribute",
         "配布ポイントの WMI と root\\SCCMDP 名前空間 (smsdpprov.log)、PkgXferMgr.log のエラーを確認してから再配布して"
         "ください")),
    8200: StatusMessage(
        False, None,
        ('Package Transfer Manager has successfully sent package "{1}" version {2} to distribution point "{3}"',
         'Package Transfer Manager がパッケージ "{1}" (バージョン {2}) を配布ポイント "{3}" へ送信しました'),
        _PROGRESS_CAUSE, _PROGRESS_FIX),
    8204: StatusMessage(
        False, None,
        ("Package Transfer Manager is currently sending package {1} to distribution point server {2}, {3} percent "
         "completed",
         "Package Transfer Manager がパッケージ {1} を配布ポイント サーバー {2} へ送信中です ({3} パーセント完了)"),
        _PROGRESS_CAUSE, _PROGRESS_FIX),
    8206: StatusMessage(
        False, None,
        ('Package Transfer Manager is retrying to distribute package "{1}" to distribution point {2}',
         'Package Transfer Manager がパッケージ "{1}" の配布ポイント {2} への配布を再試行しています'),
        ("An earlier transfer failed and Package Transfer Manager retries; the cause is in PkgXferMgr.log",
         "前回の転送が失敗し、Package Transfer Manager が再試行しています。原因は PkgXferMgr.log にあります"),
        _PROGRESS_FIX),
    8210: StatusMessage(
        False, None,
        ('Package Transfer Manager has successfully updated the package "{1}", Version {2} on distribution point {3}',
         'Package Transfer Manager が配布ポイント {3} のパッケージ "{1}" (バージョン {2}) を更新しました'),
        _PROGRESS_CAUSE, _PROGRESS_FIX),
}

_UNKNOWN = {
    "cause": ("Status message {id} is not one the collection knows{quote}; look it up in the console (Monitoring > "
              "Distribution Status > Content Status) and in distmgr.log / PkgXferMgr.log",
              "ステータス メッセージ {id} はこのコレクションが知らないメッセージです{quote}。コンソール ([監視] > [配布の"
              "状態] > [コンテンツの状態]) と distmgr.log / PkgXferMgr.log で確認してください"),
    "fix": ("Follow the message's own advice in the console; redistribute the content once its cause is fixed",
            "コンソールに表示されるメッセージの指示に従い、原因を取り除いてからコンテンツを再配布してください"),
    "message": ("Status message {id}{quote}", "ステータス メッセージ {id}{quote}"),
    "quote": (' ("{text}")', " (\"{text}\")"),
}
_NO_MESSAGE = {
    "cause": ("No status message was reported for this content on this DP yet (state: {state})",
              "この配布ポイントのこのコンテンツについて、まだステータス メッセージが報告されていません (状態: {state})"),
    "fix": ("Wait for the distribution to report; if it stays like this, redistribute the content to this DP",
            "配布の報告を待ち、このままの場合はこのコンテンツをこの配布ポイントへ再配布してください"),
}


def _lang_index(lang: str) -> int:
    if lang not in LANGS:
        raise ValueError(f"language={lang!r} is not allowed; use one of: {', '.join(LANGS)}")
    return LANGS.index(lang)


def lookup(message_id: int | None) -> StatusMessage | None:
    """The table entry of a message ID, or None when it is unknown (or None)."""
    if message_id is None:
        return None
    try:
        return MESSAGES.get(int(message_id))
    except (TypeError, ValueError):
        return None


def state_text(state: int | None, lang: str = "en") -> str:
    """The text of a SMS_PackageStatusDistPointsSummarizer State value (``State <n>`` when undocumented)."""
    index = _lang_index(lang)
    entry = STATES.get(state) if isinstance(state, int) else None
    if entry is None:
        return f"State {state}" if index == 0 else f"状態 {state}"
    return entry[1 + index]


def state_name(state: int | None) -> str | None:
    entry = STATES.get(state) if isinstance(state, int) else None
    return entry[0] if entry else None


def _fill(text: str, strings: t.Sequence[str]) -> str:
    for number in range(3, 0, -1):
        value = str(strings[number - 1]) if len(strings) >= number and strings[number - 1] is not None else ""
        text = text.replace("{" + str(number) + "}", value)
    return text


def describe(message_id: int | None, insertion_strings: t.Sequence[str] | None = None, *, state: int | None = None,
             lang: str = "en") -> dict[str, t.Any]:
    """What a package's last status message on a DP says: ``{known, failure, check, message, cause, fix}``.

    ``failure`` and ``check`` are None for an unknown ID (and for no message at all); a failure in a failed
    State (install or removal failed) without a known message is still no guessed check."""
    index = _lang_index(lang)
    strings = [s for s in (insertion_strings or []) if s is not None]
    entry = lookup(message_id)
    if entry is not None:
        return {"known": True, "failure": entry.failure, "check": entry.check,
                "message": _fill(entry.text[index], strings), "cause": entry.cause[index], "fix": entry.fix[index]}
    if message_id is None:
        return {"known": False, "failure": None, "check": None, "message": None,
                "cause": _NO_MESSAGE["cause"][index].format(state=state_text(state, lang)),
                "fix": _NO_MESSAGE["fix"][index]}
    text = "; ".join(s.strip() for s in strings if s.strip())
    quote = _UNKNOWN["quote"][index].format(text=text) if text else ""
    return {"known": False, "failure": None, "check": None,
            "message": _UNKNOWN["message"][index].format(id=message_id, quote=quote),
            "cause": _UNKNOWN["cause"][index].format(id=message_id, quote=quote), "fix": _UNKNOWN["fix"][index]}
