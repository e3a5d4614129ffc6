# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which content is stuck on which DP, and why. FOR INTERNAL COLLECTION USE ONLY.

Three pure steps around the op ``sms.read_distribution_status`` (planned by win_sccm_site_facts in its one batch):

* ``plan_distribution_status``: the op, for the DPs of the site probe;
* ``shape_distribution``: its result as ``ansible_facts.sccm_site.distribution``;
* ``diagnose_content`` and ``attach_stuck_evidence`` (called by ``_dp_diagnose.diagnose_dp``): per DP the
  ``content`` counts and the ``stuck_packages`` list, and each stuck package as evidence under the checklist item
  its last status message points to (``_dp_status_messages``).

Rules of the diagnosis:

* Installed content is counted, never listed. Every package that is not installed is listed (at most
  ``max_packages`` per DP, then ``content.truncated``), with its state, last status message, cause and fix.
* A failure message points to a checklist item. That item becomes FAIL when the content's state is a failed one
  (INSTALL_FAILED, REMOVAL_FAILED: ConfigMgr gave up), else at least WARN (a failure while ConfigMgr still
  retries). A PASS item that gets such evidence says so in its summary.
* Progress, success and retry messages, unknown message IDs and content without a message point to no item
  (``check`` null): they are listed, never attached to a guessed check.
* Missing distribution data (no SMS Provider, DP unknown to the site, deadline reached) is never reported as
  "all installed": ``content.total`` and ``content.installed`` are null and nothing becomes PASS because of it.
"""
from __future__ import annotations

import typing as t

from . import _dp_knowledge
from . import _dp_status_messages as _msgs
from ._ops import PlannedOp
from ._ops_dp import DEFAULT_MAX_DISTRIBUTION_ROWS, DEFAULT_MAX_STUCK_PACKAGES

MAX_STUCK_PACKAGES_RANGE = (0, 1000)
DISTRIBUTION_TIMEOUT_SECONDS = 60
_RANK = _dp_knowledge.STATUS_RANK

_TEXT: dict[str, tuple[str, str]] = {
    "ev": ("Content {package_id} ({name}): {state}, status message {message_id}",
           "コンテンツ {package_id} ({name}): {state}、ステータス メッセージ {message_id}"),
    "summary": ("{count} package(s) not installed on this DP point here ({ids})",
                "この配布ポイントで未インストールの {count} 個のパッケージがこの項目を示しています ({ids})"),
}


def _t(key: str, lang: str, **values: t.Any) -> str:
    return _TEXT[key][_msgs.LANGS.index(lang)].format(**values)


# ---------------------------------------------------------------------------------------------
# Plan and facts (win_sccm_site_facts)
# ---------------------------------------------------------------------------------------------
def plan_distribution_status(dps: t.Sequence[str], max_packages: int = DEFAULT_MAX_STUCK_PACKAGES,
                             timeout_seconds: int = DISTRIBUTION_TIMEOUT_SECONDS) -> PlannedOp | None:
    """The op of the site batch; None when no DP is probed."""
    if not dps:
        return None
    return PlannedOp("distribution", "sms.read_distribution_status", {
        "distribution_points": list(dps), "max_packages": max_packages, "max_rows": DEFAULT_MAX_DISTRIBUTION_ROWS,
        "timeout_seconds": timeout_seconds}, always=True)


def _package(p: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"package_id": p.get("package_id"), "name": p.get("name"), "state": p.get("state"),
            "state_name": _msgs.state_name(p.get("state")), "source_version": p.get("source_version"),
            "summary_time": p.get("summary_time"), "message_id": p.get("message_id"),
            "message_state": p.get("message_state"), "message_severity": p.get("message_severity"),
            "message_time": p.get("message_time"), "insertion_strings": list(p.get("insertion_strings") or [])}


def shape_distribution(data: dict[str, t.Any] | None, max_packages: int) -> dict[str, t.Any] | None:
    """``ansible_facts.sccm_site.distribution`` from the op result (None when the op did not run or failed)."""
    if data is None:
        return None
    dps = {}
    for entry in data.get("dps") or []:
        dps[entry["name"]] = {
            "found": bool(entry.get("found")), "total": entry.get("total"), "installed": entry.get("installed"),
            "in_progress": entry.get("in_progress"), "errors": entry.get("errors"), "unknown": entry.get("unknown"),
            "packages": [_package(p) for p in entry.get("packages") or []],
            "packages_truncated": bool(entry.get("packages_truncated")),
        }
    return {"available": bool(data.get("provider_available")), "namespace": data.get("namespace"),
            "max_packages": max_packages, "rows_read": data.get("rows_read", 0),
            "rows_truncated": bool(data.get("rows_truncated")), "timed_out": bool(data.get("timed_out")),
            "elapsed_ms": data.get("elapsed_ms"), "error": data.get("error"), "dps": dps}


# ---------------------------------------------------------------------------------------------
# Diagnosis (sccm_dp_diagnose)
# ---------------------------------------------------------------------------------------------
def _norm(name: str | None) -> str:
    return str(name or "").strip().rstrip(".").lower()


def distribution_entry(distribution: dict[str, t.Any] | None, *names: str | None) -> dict[str, t.Any] | None:
    """The distribution entry of a DP: by one of its names (FQDN), then by an unambiguous short name."""
    dps = (distribution or {}).get("dps") or {}
    by_name = {_norm(k): v for k, v in dps.items()}
    for name in names:
        if _norm(name) in by_name:
            return by_name[_norm(name)]
    for name in names:
        short = _norm(name).split(".", 1)[0]
        found = [v for k, v in by_name.items() if k.split(".", 1)[0] == short]
        if short and len(found) == 1:
            return found[0]
    return None


def diagnose_content(site: dict[str, t.Any] | None, lang: str, *names: str | None
                     ) -> tuple[dict[str, t.Any], list[dict[str, t.Any]]]:
    """(``content``, ``stuck_packages``) of one DP, texts in ``lang``."""
    distribution = (site or {}).get("distribution")
    entry = distribution_entry(distribution, *names) if distribution and distribution.get("available") else None
    if entry is None or not entry.get("found"):
        truncated = bool(distribution and (distribution.get("rows_truncated") or distribution.get("timed_out")))
        return {"total": None, "installed": None, "stuck": 0, "truncated": truncated}, []
    stuck = []
    for package in entry.get("packages") or []:
        meaning = _msgs.describe(package.get("message_id"), package.get("insertion_strings"),
                                 state=package.get("state"), lang=lang)
        check = meaning["check"] if meaning["failure"] else None
        stuck.append({
            "package_id": package.get("package_id"),
            "name": package.get("name"),
            "state": package.get("state_name") or package.get("state"),
            "state_text": _msgs.state_text(package.get("state"), lang),
            "message_id": package.get("message_id"),
            "message_time": package.get("message_time"),
            "source_version": package.get("source_version"),
            "check": check,
            "cause": meaning["cause"],
            "fix": meaning["fix"],
            "message": meaning["message"],
        })
    total, installed = entry.get("total"), entry.get("installed")
    count = total - installed if isinstance(total, int) and isinstance(installed, int) else len(stuck)
    truncated = bool(entry.get("packages_truncated") or distribution.get("rows_truncated")
                     or distribution.get("timed_out"))
    return {"total": total, "installed": installed, "stuck": max(count, len(stuck)), "truncated": truncated}, stuck


def attach_stuck_evidence(findings: dict[str, dict[str, t.Any]], stuck: list[dict[str, t.Any]], lang: str) -> None:
    """Each stuck package whose failure message points to a checklist item becomes evidence there (module docstring)."""
    pointed: dict[str, list[str]] = {}
    for package in stuck:
        check = package.get("check")
        if check not in findings:
            continue
        failed = package.get("state") in _msgs.FAILED_STATE_NAMES
        status = "FAIL" if failed else "WARN"
        finding = findings[check]
        finding["evidence"].append({
            "label": _t("ev", lang, package_id=package["package_id"], name=package.get("name") or "?",
                        state=package["state_text"], message_id=package.get("message_id")),
            "value": {k: package.get(k) for k in ("package_id", "name", "state", "message_id", "message_time",
                                                  "source_version", "message", "cause", "fix")},
            "source": "site",
            "ok": False,
        })
        was = finding["status"]
        # A pull DP's push-only items stay N/A (see _dp_pull): the package is still listed in stuck_packages.
        if was != "N/A" and _RANK[status] > _RANK[was]:
            finding["status"] = status
        pointed.setdefault(check, []).append(package["package_id"])
    for check, ids in pointed.items():
        text = _t("summary", lang, count=len(ids), ids=", ".join(ids[:5]) + (" ..." if len(ids) > 5 else ""))
        findings[check]["summary"] = text + "; " + findings[check]["summary"]
