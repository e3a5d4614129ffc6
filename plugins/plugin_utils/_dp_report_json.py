# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DP diagnosis in its file form: what repeats is stored once. FOR INTERNAL COLLECTION USE ONLY.

The in-memory diagnosis (what sccm_dp_diagnose returns) repeats, in every finding of every DP, the
check's title, heading, explanation and remediation, and each evidence item's label and value (the
site server's side is the same for all 2,000 DPs). The file form (``"format": 2``) stores:

* ``checks``: {check id: {title, heading, explanation, remediation}} once; a finding whose texts
  differ from the table keeps its own keys;
* ``texts``: every distinct finding summary and evidence label once; a finding's ``summary`` is an
  index into it;
* ``values``: every distinct evidence value once; an evidence item is ``[label index (texts), value
  index (values), source, ok]``;
* an empty ``log_evidence`` is left out;

and everything else as it is (log lines, role, content, stuck packages). ``expand`` restores the
in-memory form exactly (values are shared between items, not copied). Standard library only.
"""
from __future__ import annotations

import typing as t

__all__ = ["FORMAT", "CHECK_TEXT_KEYS", "compact", "expand", "is_compact"]

FORMAT = 2
CHECK_TEXT_KEYS = ("title", "heading", "explanation", "remediation")
_EVIDENCE_KEYS = ("label", "value", "source", "ok")


def is_compact(diagnosis: dict) -> bool:
    return isinstance(diagnosis.get("checks"), dict) or diagnosis.get("format") == FORMAT


class _Table:
    """Distinct values, in first-seen order."""

    def __init__(self) -> None:
        self.items: list[t.Any] = []
        self._index: dict[t.Any, int] = {}

    def __call__(self, value: t.Any) -> int:
        # repr is fast and exact for JSON-like values; the same value built in another key order is stored twice.
        key = value if isinstance(value, str) else "\0" + repr(value)
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.items)
            self.items.append(value)
        return index


def _compact_evidence(items: t.Any, labels: _Table, values: _Table) -> t.Any:
    if not isinstance(items, list):
        return items
    result = []
    for item in items:
        if isinstance(item, dict) and len(item) == 4 and "label" in item and "value" in item and "source" in item \
                and "ok" in item and isinstance(item["label"], str):
            result.append([labels(item["label"]), values(item["value"]), item["source"], item["ok"]])
        else:
            result.append(item)
    return result


def compact(diagnosis: dict) -> dict:
    """The file form of ``diagnosis`` (a new dict; the input is not changed)."""
    if is_compact(diagnosis):
        return diagnosis
    checks: dict[str, dict] = {}
    texts, values = _Table(), _Table()
    dps = []
    for dp in diagnosis.get("dps") or []:
        if not isinstance(dp, dict):
            dps.append(dp)
            continue
        findings = []
        for finding in dp.get("findings") or []:
            if isinstance(finding, dict):
                finding = dict(finding)
                if isinstance(finding.get("check"), str) and all(k in finding for k in CHECK_TEXT_KEYS):
                    check_texts = {key: finding[key] for key in CHECK_TEXT_KEYS}
                    if checks.setdefault(finding["check"], check_texts) == check_texts:
                        for key in CHECK_TEXT_KEYS:
                            del finding[key]
                if isinstance(finding.get("summary"), str):
                    finding["summary"] = texts(finding["summary"])
                if "evidence" in finding:
                    finding["evidence"] = _compact_evidence(finding["evidence"], texts, values)
                if finding.get("log_evidence") == []:
                    del finding["log_evidence"]
            findings.append(finding)
        dps.append(dict(dp, findings=findings))
    result = {key: value for key, value in diagnosis.items() if key != "dps"}
    result.update(format=FORMAT, checks=checks, texts=texts.items, values=values.items, dps=dps)
    return result


def expand(diagnosis: dict) -> dict:
    """The in-memory form of a diagnosis in either form (the file form is expanded into a new dict)."""
    if not is_compact(diagnosis):
        return diagnosis
    checks = diagnosis.get("checks") if isinstance(diagnosis.get("checks"), dict) else {}
    labels = diagnosis.get("texts") if isinstance(diagnosis.get("texts"), list) else []
    values = diagnosis.get("values") if isinstance(diagnosis.get("values"), list) else []

    def item(entry: t.Any) -> t.Any:
        if (isinstance(entry, list) and len(entry) == 4 and isinstance(entry[0], int) and isinstance(entry[1], int)
                and 0 <= entry[0] < len(labels) and 0 <= entry[1] < len(values)):
            return {"label": labels[entry[0]], "value": values[entry[1]], "source": entry[2], "ok": entry[3]}
        return entry

    dps = []
    for dp in diagnosis.get("dps") or []:
        if isinstance(dp, dict):
            findings = []
            for finding in dp.get("findings") or []:
                if isinstance(finding, dict):
                    texts = checks.get(finding.get("check"))
                    full = {key: texts.get(key) for key in CHECK_TEXT_KEYS} if isinstance(texts, dict) else {}
                    full.update(finding)
                    summary = full.get("summary")
                    if isinstance(summary, int) and not isinstance(summary, bool) and 0 <= summary < len(labels):
                        full["summary"] = labels[summary]
                    if "evidence" in full:
                        full.setdefault("log_evidence", [])
                    if isinstance(full.get("evidence"), list):
                        full["evidence"] = [item(e) for e in full["evidence"]]
                    finding = full
                findings.append(finding)
            dp = dict(dp, findings=findings)
        dps.append(dp)
    result = {key: value for key, value in diagnosis.items() if key not in ("format", "checks", "texts", "values")}
    result["dps"] = dps
    return result
