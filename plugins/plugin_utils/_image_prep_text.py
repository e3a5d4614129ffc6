# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Texts of the image-prep dashboard in English and Japanese. FOR INTERNAL COLLECTION USE ONLY.

Japanese follows Microsoft's Japanese terms for Windows and Configuration Manager (サービスの状態
「実行中」「停止」, スタートアップの種類「自動」「自動 (遅延開始)」「手動」「無効」, サイト システム,
管理ポイント, プロビジョニング モード, タスク シーケンス, フォルダー).
"""
from __future__ import annotations

import typing as t

from ._dp_evidence_text import SERVICE_STATES, START_MODES
from ._ops_system import SERVICE_START_MODES

LANGUAGES = ("en", "ja")

UI: dict[str, dict[str, str]] = {
    "en": {
        "title": "Image prep: reference machines",
        "lead": "One row per reference machine, one column per step. Select a cell for the host's details.",
        "planned": "Check mode: this is the plan, nothing was changed.",
        "chip_hosts": "hosts", "chip_ready": "ready for capture", "chip_failed": "failed", "chip_guard": "stopped by a guard",
        "chip_unreachable": "unreachable", "chip_no_result": "no result",
        "cells": "cells",
        "state_done": "done", "state_planned": "would change", "state_clean": "already clean", "state_skipped": "skipped",
        "state_failed": "failed", "state_unreachable": "unreachable", "state_none": "not part of this run",
        "host": "Host", "status": "Status", "ready": "Ready", "removed": "Identity removed",
        "ready_yes": "ready", "ready_no": "not ready",
        "grid": "Steps per host",
        "legend": "Legend",
        "detail_close": "Close",
        "detail_hint": "Select a host or a cell to see what was done on it.",
        "scenario": "Scenario", "message": "Module message", "guard": "Stopped by guard",
        "unreachable_during": "Lost during", "service": "Service", "problems": "Readiness problems",
        "warnings": "Warnings", "executions": "Module executions", "install": "Client install",
        "install_elapsed": "Elapsed", "install_rc": "ccmsetup return code", "seconds": "s",
        "steps": "Steps", "step": "Step", "result": "Result", "detail": "Detail", "verification": "Verification",
        "reference": "Reference",
        "sms_unique_id": "SMS Unique Identifier", "certificates": "SMS certificates", "trusted_root_keys": "Trusted root keys",
        "site_code": "Site code", "management_point": "Management point", "smscfg_path": "SMSCFG.ini",
        "previous_id": "Previous SMS Unique Identifier", "none": "none", "nothing_removed": "nothing removed",
        "certificates_n": "{n} certificate(s)",
        "guards": "Guards that stopped a host", "no_guards": "No guard stopped a host.",
        "duplicates": "Duplicated identities",
        "run_duplicates": "Shared by reference machines of this run",
        "no_duplicates": "No identity is shared by two hosts of this run.",
        "audit_duplicates": "Found by the identity audit or the clone check",
        "no_audit_duplicates": "The identity audit or clone check given found no duplicate.",
        "dup_value": "Value", "dup_kind": "Identity", "dup_hosts": "Hosts",
        "source_removed": "removed by this run", "source_present": "still on the host",
        "dup_hint": "Machines cloned from one another carry the same identity: prepare each once before capture.",
        "lang_name": "English", "footer": "mecm.fieldkit client_image_prep. Host and module texts are shown as the host sent them.",
    },
    "ja": {
        "title": "イメージ準備: 参照マシン",
        "lead": "行が参照マシン、列が手順です。セルを選ぶとそのホストの詳細を表示します。",
        "planned": "チェック モード: これは計画です。何も変更していません。",
        "chip_hosts": "ホスト", "chip_ready": "キャプチャ可能", "chip_failed": "失敗", "chip_guard": "ガードで停止",
        "chip_unreachable": "到達不能", "chip_no_result": "結果なし",
        "cells": "セル",
        "state_done": "実施済み", "state_planned": "変更予定", "state_clean": "対応不要 (既にクリーン)", "state_skipped": "スキップ",
        "state_failed": "失敗", "state_unreachable": "到達不能", "state_none": "この実行の対象外",
        "host": "ホスト", "status": "状態", "ready": "キャプチャ", "removed": "削除した ID",
        "ready_yes": "可能", "ready_no": "不可",
        "grid": "ホストごとの手順",
        "legend": "凡例",
        "detail_close": "閉じる",
        "detail_hint": "ホストまたはセルを選ぶと、そのホストで行った処理を表示します。",
        "scenario": "シナリオ", "message": "モジュールのメッセージ", "guard": "停止したガード",
        "unreachable_during": "接続が失われた手順", "service": "サービス", "problems": "キャプチャを妨げる問題",
        "warnings": "警告", "executions": "モジュールの実行回数", "install": "クライアントのインストール",
        "install_elapsed": "所要時間", "install_rc": "ccmsetup の戻り値", "seconds": "秒",
        "steps": "手順", "step": "手順", "result": "結果", "detail": "詳細", "verification": "確認内容",
        "reference": "根拠",
        "sms_unique_id": "SMS 一意識別子 (SMS Unique Identifier)", "certificates": "SMS 証明書",
        "trusted_root_keys": "信頼されたルート キー", "site_code": "サイト コード", "management_point": "管理ポイント",
        "smscfg_path": "SMSCFG.ini", "previous_id": "以前の SMS 一意識別子", "none": "なし", "nothing_removed": "削除したものはありません",
        "certificates_n": "証明書 {n} 件",
        "guards": "ホストを停止したガード", "no_guards": "ガードで停止したホストはありません。",
        "duplicates": "重複している ID",
        "run_duplicates": "この実行の参照マシン間で共有",
        "no_duplicates": "この実行で 2 台以上のホストが共有している ID はありません。",
        "audit_duplicates": "ID 監査またはクローン チェックで検出",
        "no_audit_duplicates": "指定された ID 監査またはクローン チェックでは重複は見つかりませんでした。",
        "dup_value": "値", "dup_kind": "ID の種類", "dup_hosts": "ホスト",
        "source_removed": "この実行で削除", "source_present": "ホストに残存",
        "dup_hint": "互いに複製されたマシンは同じ ID を持ちます。キャプチャ前にそれぞれ 1 回準備してください。",
        "lang_name": "日本語",
        "footer": "mecm.fieldkit client_image_prep。ホストとモジュールのテキストは受け取ったまま表示しています。",
    },
}

_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "step": {
        "install_client": ("Install the client", "クライアントのインストール"),
        "leave_provisioning_mode": ("Leave provisioning mode", "プロビジョニング モードの解除"),
        "disable_health_task": ("Disable the health evaluation task", "正常性評価タスクの無効化"),
        "stop_service": ("Stop CcmExec", "CcmExec の停止"),
        "remove_trusted_root_key": ("Remove the trusted root key", "信頼されたルート キーの削除"),
        "reset_site_assignment": ("Reset the site assignment", "サイト割り当てのリセット"),
        "reset_hardware_inventory": ("Reset hardware inventory", "ハードウェア インベントリのリセット"),
        "clear_gp_site_assignment": ("Clear the Group Policy site assignment", "グループ ポリシーのサイト割り当ての削除"),
        "remove_sms_certificates": ("Remove the SMS certificates", "SMS 証明書の削除"),
        "remove_pki_certificates": ("Remove the PKI client certificates", "PKI クライアント証明書の削除"),
        "remove_smscfg": ("Delete SMSCFG.ini", "SMSCFG.ini の削除"),
        "empty_ccmcache": ("Empty the client cache", "クライアント キャッシュを空にする"),
        "final_start_mode": ("Set the final start type", "最終的なスタートアップの種類の設定"),
        "generalize": ("Image prep", "イメージ準備"),
        "rescue": ("Error handling", "エラー処理"),
    },
    "status": {
        "changed": ("prepared (changed)", "準備済み (変更あり)"),
        "ok": ("prepared (nothing to change)", "準備済み (変更なし)"),
        "planned": ("planned (would change)", "計画 (変更予定)"),
        "verified": ("verified ready", "準備を確認済み"),
        "not ready": ("not ready", "キャプチャ不可"),
        "failed": ("failed", "失敗"),
        "unreachable": ("unreachable", "到達不能"),
        "no result": ("no result", "結果なし"),
    },
    "scenario": {
        "recapture": ("recapture (client assigned)", "再キャプチャ (クライアント割り当て済み)"),
        "new": ("new capture (client installed unassigned)", "新規キャプチャ (未割り当てでクライアントをインストール)"),
    },
    "guard": {
        "client_installed": ("the ConfigMgr client is not installed", "ConfigMgr クライアントがインストールされていません"),
        "not_site_system": ("the host is a ConfigMgr site system", "ホストが ConfigMgr のサイト システムです"),
        "ccmsetup_idle": ("ccmsetup is still running", "ccmsetup が実行中です"),
        "no_task_sequence": ("a task sequence is running", "タスク シーケンスが実行中です"),
        "not_provisioning": ("the client is in provisioning mode", "クライアントがプロビジョニング モードです"),
        "capture_ready": ("the host is not ready for capture", "キャプチャの準備ができていません"),
        "certificate_filter": ("the PKI certificate filter is not valid", "PKI 証明書のフィルターが無効です"),
    },
    # The Services console's words, shared with the DP reports; the keys are those the image-prep records carry.
    "service_state": {state.replace(" ", "_"): SERVICE_STATES[state]
                      for state in ("running", "stopped", "paused", "start pending", "stop pending")},
    "start_mode": {mode: START_MODES[mode] for mode in SERVICE_START_MODES},
    "identity": {
        "sms_unique_id": ("SMS Unique Identifier", "SMS 一意識別子"),
        "sms_certificate_thumbprint": ("SMS certificate thumbprint", "SMS 証明書の拇印"),
    },
}


def label(lang: str, kind: str, key: t.Any) -> str:
    """The text of ``key`` (a step, status, guard...) in ``lang``; an unknown key is shown as the identifier it is."""
    pair = _LABELS.get(kind, {}).get(str(key))
    if pair is None:
        return str(key)
    return pair[1] if lang == "ja" else pair[0]
