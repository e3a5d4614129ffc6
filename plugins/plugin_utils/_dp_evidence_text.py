# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence values of the DP diagnosis as a person would say them, in English or Japanese.
FOR INTERNAL COLLECTION USE ONLY.

The diagnosis keeps machine values (bytes, reason codes, lower-case WMI states); the HTML dashboard
shows :func:`evidence_text` and keeps the raw value in a tooltip / details row. Standard library only.
"""
from __future__ import annotations

import json
import re

__all__ = ["binary_size", "duration", "evidence_text", "percent", "service_state", "start_mode", "value_word"]

# Win32_Service.State and .StartMode, lower-cased by the DP ops; delayed_auto is "Auto" with
# DelayedAutostart = 1 (learn.microsoft.com/windows/win32/cimwin32prov/win32-service; start modes Boot,
# System, Automatic, Manual, Disabled: learn.microsoft.com/dotnet/api/system.serviceprocess.servicestartmode;
# delayed start: learn.microsoft.com/ja-jp/dotnet/api/system.serviceprocess.serviceinstaller.delayedautostart).
# The Japanese words are those of the Services console (services.msc), [スタートアップの種類]: 自動,
# 自動 (遅延開始), 手動, 無効; [サービスの状態]: 実行中, 停止, 一時停止.
SERVICE_STATES = {
    "running": ("running", "実行中"),
    "stopped": ("stopped", "停止"),
    "paused": ("paused", "一時停止"),
    "start pending": ("starting", "開始中"),
    "stop pending": ("stopping", "停止中"),
    "continue pending": ("resuming", "再開中"),
    "pause pending": ("pausing", "一時停止中"),
    "unknown": ("unknown", "不明"),
    "missing": ("not installed", "未インストール"),
}
START_MODES = {
    "auto": ("Automatic", "自動"),
    "delayed_auto": ("Automatic (Delayed Start)", "自動 (遅延開始)"),
    "manual": ("Manual", "手動"),
    "disabled": ("Disabled", "無効"),
    "boot": ("Boot", "ブート"),
    "system": ("System", "システム"),
}
# Single words the engine records as evidence values.
_WORDS = {
    "present": ("present", "あり"),
    "missing": ("missing", "なし"),
    "shared": ("shared", "共有されています"),
    "readable": ("readable", "読み取り可能"),
    "connected": ("connected", "接続できました"),
    "ok": ("OK", "正常"),
    "unknown": ("unknown", "不明"),
    "computer_account": ("the site server's computer account", "サイト サーバーのコンピューター アカウント"),
    "enforced": ("enforced", "有効 (強制)"),
    "enabled": ("enabled", "有効"),
    "disabled": ("disabled", "無効"),
    "not_enforced": ("not enforced", "無効"),
    "open": ("open", "接続可"),
    "closed": ("closed", "接続不可"),
    "filtered": ("filtered", "応答なし (フィルター)"),
    "Y": ("Y (enabled)", "Y (有効)"),
    "N": ("N (disabled)", "N (無効)"),
    "Y (default)": ("Y (default, enabled)", "Y (既定値、有効)"),
    # DCOM hardening state (_dp_knowledge._hardening).
    "disabled_by_registry": ("disabled by the registry", "レジストリで無効化"),
    "enabled_by_registry": ("enabled by the registry", "レジストリで有効化"),
    "enabled_by_default": ("enabled by default", "既定で有効"),
    "not_enabled": ("not enabled", "無効"),
    # Skip reasons of the site probe and clock methods.
    "dns_unresolved": ("the name does not resolve", "名前解決できません"),
    "tcp_135_closed": ("TCP 135 is closed", "TCP 135 が閉じています"),
    "controller": ("estimated through the controller", "コントローラー経由の推定"),
    "wmi": ("WMI", "WMI"),
    "ntp": ("NTP", "NTP"),
    "-": ("-", "-"),
    "<drive>": ("<drive>", "<ドライブ>"),
    # WMI namespace rights (_dp_facts.WMI_RIGHTS), with the names of the WMI Control dialog.
    "enable_account": ("Enable Account", "アカウントの有効化"),
    "execute_methods": ("Execute Methods", "メソッドの実行"),
    "full_write": ("Full Write", "完全な書き込み"),
    "partial_write": ("Partial Write", "部分的な書き込み"),
    "provider_write": ("Provider Write", "プロバイダーによる書き込み"),
    "remote_enable": ("Remote Enable", "リモートの有効化"),
    "read_security": ("Read Security", "セキュリティの読み取り"),
    "edit_security": ("Edit Security", "セキュリティの編集"),
    # Share rights (Get-SmbShareAccess AccessRight), with the names of the share permission dialog.
    "full": ("Full Control", "フル コントロール"),
    "change": ("Change", "変更"),
    "read": ("Read", "読み取り"),
    "deny": ("deny entry", "拒否エントリ"),
}
# Patch-level reason codes of _dp_knowledge.classify_patch_level, as a short sentence.
_REASONS = {
    "build_missing": ("the Windows build was not collected", "Windows のビルドを取得できませんでした"),
    "post_march_2023_build": ("released after March 2023 (DCOM hardening always on)",
                              "2023 年 3 月より後のビルド (DCOM の強化は常に有効)"),
    "ubr_at_or_above_threshold": ("includes the March 2023 update or later", "2023 年 3 月以降の更新プログラムを適用済み"),
    "ubr_below_threshold": ("older than the March 2023 update", "2023 年 3 月の更新プログラムが未適用"),
    "ubr_missing": ("the update revision (UBR) was not collected", "UBR を取得できませんでした"),
    "build_end_of_service": ("out of support before March 2023", "2023 年 3 月より前にサポート終了"),
    "build_older_than_thresholds": ("older than every supported build", "サポート対象のどのビルドよりも古い"),
    "build_unknown": ("not a known Windows build", "既知の Windows のビルドではありません"),
    "legacy_march_kb_installed": ("the March 2023 update is installed", "2023 年 3 月の更新プログラムを適用済み"),
    "legacy_hotfix_after_march_2023": ("a later update is installed, the March 2023 one is not listed",
                                       "以降の更新プログラムはありますが、2023 年 3 月のものは一覧にありません"),
    "legacy_no_evidence": ("no update from March 2023 or later was found", "2023 年 3 月以降の更新プログラムが見つかりません"),
    "legacy_hotfixes_not_collected": ("the installed updates were not collected", "更新プログラムの一覧を取得できませんでした"),
}
# Keys of structured evidence values.
_KEYS = {
    "state": ("state", "状態"),
    "start_mode": ("start type", "スタートアップの種類"),
    "source": ("time source", "時刻ソース"),
    "last_sync_utc": ("last synchronised", "最終同期"),
    "product": ("product", "製品"),
    "version": ("version", "バージョン"),
    "threshold": ("needed", "必要なビルド"),
    "reason": ("result", "判定"),
    "count": ("events", "件数"),
    "recent": ("latest", "直近"),
}
_TEXT = {
    "yes": ("yes", "はい"),
    "no": ("no", "いいえ"),
    "none": ("none", "なし"),
    "free_of": ("{free} free of {size} ({pct})", "空き {free} / 全体 {size} ({pct})"),
    "seconds": ("{value} s", "{value} 秒"),
    "minutes": ("{value} min", "{value} 分"),
    "hours": ("{value} h", "{value} 時間"),
    "service": ("{state}, start type {mode}", "{state}、スタートアップの種類: {mode}"),
    "w32time": ("{state}, source {source}, last synchronised {when}", "{state}、時刻ソース: {source}、最終同期: {when}"),
    "patch": ("{product} {version}: {reason}", "{product} {version}: {reason}"),
    "needed": (" (needs {threshold})", " (必要なビルド: {threshold})"),
    "events": ("{count} event(s)", "{count} 件"),
}
_SEP = {"en": ", ", "ja": "、"}
_UNITS = (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024))


def _t(table: dict[str, tuple[str, str]], key: str, lang: str) -> str | None:
    pair = table.get(key)
    return None if pair is None else pair[1 if lang == "ja" else 0]


def _num(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def binary_size(value: object) -> str:
    """Bytes in binary units, labelled as such: ``581.0 GiB`` (Explorer's "GB" are GiB)."""
    if not _num(value):
        return "?"
    for unit, size in _UNITS:
        if abs(value) >= size:
            return "%.1f %s" % (value / size, unit)
    return "%d B" % value


def percent(value: object) -> str:
    """``12.3 %``; one decimal, two below 1 % so that 0.1 % free does not read as 0."""
    if not _num(value):
        return "?"
    return ("%.2f %%" if abs(value) < 1 else "%.1f %%") % value


def duration(seconds: object, lang: str) -> str:
    """Seconds as ``0.305 s`` / ``12 min`` / ``2.5 h`` in the report language; sign kept."""
    if not _num(seconds):
        return "?"
    value = float(seconds)
    if abs(value) >= 3600:
        return _t(_TEXT, "hours", lang).format(value="%.1f" % (value / 3600))
    if abs(value) >= 600:
        return _t(_TEXT, "minutes", lang).format(value="%.1f" % (value / 60))
    text = ("%.3f" % value).rstrip("0").rstrip(".") if value != int(value) else "%d" % value
    return _t(_TEXT, "seconds", lang).format(value=text)


def service_state(value: object, lang: str) -> str:
    text = "" if value is None else str(value)
    return _t(SERVICE_STATES, text.lower(), lang) or value_word(text, lang) or "?"


def start_mode(value: object, lang: str) -> str:
    text = "" if value is None else str(value)
    return _t(START_MODES, text.lower(), lang) or text or "?"


def value_word(value: str, lang: str) -> str:
    """A single evidence word translated; anything else (identifiers, paths, codes) unchanged."""
    return _t(_WORDS, value, lang) or value


_ACE_RE = re.compile(r"^(.+): (allow|deny) (.+)$")


def _ace(text: str, lang: str) -> str:
    """``BUILTIN\\Users: allow ReadAndExecute`` with allow/deny translated (rights stay .NET names)."""
    match = _ACE_RE.match(text)
    if not match or lang != "ja":
        return text
    return "%s: %s %s" % (match.group(1), "許可" if match.group(2) == "allow" else "拒否", match.group(3))


def _time(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("T", " ", 1).rstrip("Z") + " UTC" if text.endswith("Z") else text or "?"


def _scalar(value: object, lang: str) -> str:
    if value is None:
        return "\u2014"
    if isinstance(value, bool):
        return _t(_TEXT, "yes" if value else "no", lang)
    if _num(value):
        return str(value)
    return _ace(value_word(str(value), lang), lang)


def _structured(value: dict, lang: str) -> str | None:
    """Known shapes of the engine's structured evidence; None for other dicts."""
    keys = set(value)
    if {"free_bytes", "size_bytes"} <= keys:
        return _t(_TEXT, "free_of", lang).format(free=binary_size(value.get("free_bytes")),
                                                 size=binary_size(value.get("size_bytes")),
                                                 pct=percent(value.get("free_percent")))
    if keys == {"state", "start_mode"}:
        return _t(_TEXT, "service", lang).format(state=service_state(value["state"], lang),
                                                 mode=start_mode(value["start_mode"], lang))
    if keys == {"state", "source", "last_sync_utc"}:
        return _t(_TEXT, "w32time", lang).format(state=service_state(value["state"], lang),
                                                 source=value.get("source") or "\u2014", when=_time(value.get("last_sync_utc")))
    if "reason" in keys and "version" in keys:
        text = _t(_TEXT, "patch", lang).format(product=value.get("product") or "", version=value.get("version") or "?",
                                               reason=_t(_REASONS, str(value.get("reason")), lang) or value.get("reason"))
        if value.get("threshold") and value.get("reason") != "ubr_at_or_above_threshold":
            text += _t(_TEXT, "needed", lang).format(threshold=value["threshold"])
        return text.strip()
    if keys == {"count", "recent"} and _num(value.get("count")):
        text = _t(_TEXT, "events", lang).format(count=value["count"])
        recent = [_time(item.get("time_utc")) if isinstance(item, dict) else str(item) for item in value.get("recent") or []]
        return text + (" (%s)" % _SEP[lang].join(recent) if recent else "")
    return None


def evidence_text(check: str, value: object, lang: str) -> tuple[str, bool]:
    """(text a person reads, whether it needs a block) for one evidence value of ``check``."""
    if check == "time_sync" and _num(value):
        return duration(value, lang), False
    if isinstance(value, dict):
        text = _structured(value, lang)
        if text is not None:
            return text, False
        if value and all(not isinstance(v, (dict, list)) for v in value.values()):
            parts = ["%s: %s" % (_t(_KEYS, str(k), lang) or k, service_state(v, lang) if k == "state" else _scalar(v, lang))
                     for k, v in value.items()]
            return _SEP[lang].join(parts), False
    elif isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return (_SEP[lang].join(_scalar(v, lang) for v in value) or _t(_TEXT, "none", lang)), False
    elif isinstance(value, str):
        return value_word(value, lang), "\n" in value
    else:
        return _scalar(value, lang), False
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str), True
