# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image-prep dashboard: one self-contained HTML page per run. FOR INTERNAL COLLECTION USE ONLY.

``render_dashboard(records, language, template_dir, identity_audit)`` turns the records of
``image_prep_records`` into the view model ``dashboard_view`` (plain data, every text already in the report
language) and renders it with Jinja2 (``autoescape=True``) from ``report_templates/image_prep/``:
``image_prep.html.j2``, with ``image_prep.css`` and ``image_prep.js`` inlined (no external file or script).

Templates: ``template_dir`` (a directory on the controller) is searched first, so a file there named like
one of ours replaces it and the others still come from the collection; our files stay reachable as
``fieldkit/<name>``, so a user template can ``{% extends "fieldkit/image_prep.html.j2" %}`` and override one
block (``head_extra``, ``header``, ``summary``, ``grid``, ``details``, ``guards``, ``duplicates``, ``footer``).
"""
from __future__ import annotations

import os
import typing as t

import jinja2  # ships with ansible-core
import markupsafe  # a dependency of Jinja2

from ._image_prep_text import LANGUAGES, UI, label

TEMPLATE_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report_templates", "image_prep")
TEMPLATE = "image_prep.html.j2"
INLINE = ("image_prep.css", "image_prep.js")
DASHBOARD_FILE = "client_image_prep.html"
# Grid states of a cell.
STATES = ("done", "clean", "skipped", "failed", "unreachable", "none")
_STEP_ORDER = ("install_client", "leave_provisioning_mode", "disable_health_task", "stop_service", "remove_trusted_root_key",
               "reset_site_assignment", "reset_hardware_inventory", "clear_gp_site_assignment", "remove_sms_certificates",
               "remove_pki_certificates", "remove_smscfg", "empty_ccmcache", "final_start_mode")


def check_language(language: t.Any, option: str = "language") -> str:
    """The report language, or ValueError naming the option, the value and what is allowed."""
    if language not in LANGUAGES:
        raise ValueError(f"{option}={language!r} is not a report language; use one of {', '.join(LANGUAGES)}")
    return str(language)


def check_template_dir(template_dir: t.Any, option: str = "template_dir") -> str | None:
    """None (our templates) or an existing directory; ValueError naming the option and the value otherwise."""
    if template_dir is None or (isinstance(template_dir, str) and not template_dir.strip()):
        return None
    if not isinstance(template_dir, str):
        raise ValueError(f"{option}={template_dir!r} must be the path of a directory on the controller (a string)")
    path = os.path.abspath(os.path.expanduser(template_dir))
    if not os.path.isdir(path):
        what = "is a file" if os.path.exists(path) else "does not exist"
        raise ValueError(f"{option}={template_dir!r} must be a directory on the controller that holds templates named like "
                         f"ours ({', '.join((TEMPLATE, *INLINE))}); {path} {what}")
    return path


# --- view model ----------------------------------------------------------------------------------------
def _dicts(value: t.Any) -> list[t.Mapping[str, t.Any]]:
    """The mappings of a list (steps, checks, certificates); anything else is left out rather than failing the page."""
    return [v for v in value if isinstance(v, t.Mapping)] if isinstance(value, (list, tuple)) else []


def _mapping(value: t.Any) -> t.Mapping[str, t.Any]:
    return value if isinstance(value, t.Mapping) else {}


def _check_mode(record: t.Mapping[str, t.Any]) -> bool:
    return str(record.get("msg") or "").startswith("check mode")


def _step_state(step: t.Mapping[str, t.Any]) -> str:
    return {"changed": "done", "ok": "clean", "failed": "failed"}.get(str(step.get("status")), "skipped")


def _columns(records: t.Mapping[str, t.Mapping[str, t.Any]]) -> list[str]:
    names: list[str] = []
    for record in records.values():
        if _mapping(record.get("install")):
            names.append("install_client")
        names += [str(s.get("name")) for s in _dicts(record.get("steps"))]
        names += [f"verify.{c.get('name')}" for c in _dicts(record.get("checks"))]
    known = {n: i for i, n in enumerate(_STEP_ORDER)}
    unique = list(dict.fromkeys(names))
    return sorted(unique, key=lambda n: (known.get(n, len(known)), unique.index(n)))


def _cells(record: t.Mapping[str, t.Any], columns: list[str], lang: str) -> list[dict[str, t.Any]]:
    ui = UI[lang]
    steps = {str(s.get("name")): s for s in _dicts(record.get("steps"))}
    checks = {f"verify.{c.get('name')}": c for c in _dicts(record.get("checks"))}
    install = _mapping(record.get("install")) or None
    lost = record.get("status") == "unreachable"
    planned = _check_mode(record)
    cells = []
    for column in columns:
        raw = ""
        if column == "install_client" and install:
            state = "unreachable" if install.get("unreachable") else "failed" if install.get("failed") else (
                "done" if install.get("changed") else "clean")
            raw = str(install.get("msg") or "")
        elif column in steps:
            step = steps[column]
            state = _step_state(step)
            raw = str(step.get("detail") or "")
            if state == "skipped" and lost:
                state = "unreachable"
        elif column in checks:
            check = checks[column]
            state = {"passed": "clean", "failed": "failed"}.get(str(check.get("status")), "skipped")
            raw = str(check.get("evidence") or "")
        else:
            # A lost host did not run its steps; a step it never had (install on a recapture) stays empty.
            state = "unreachable" if lost and column != "install_client" else "none"
        word = ui["state_planned"] if planned and state == "done" else ui["state_" + state]
        cells.append({"column": column, "state": state, "word": word, "raw": raw})
    return cells


def _removed(record: t.Mapping[str, t.Any]) -> dict[str, t.Any] | None:
    removed = record.get("removed_identity")
    if not isinstance(removed, t.Mapping) or not removed:
        return None
    thumbprints = [str(c.get("thumbprint")) for c in _dicts(removed.get("certificates")) if c.get("thumbprint")]
    if not removed.get("sms_unique_id") and not thumbprints and not removed.get("trusted_root_keys"):
        return None
    return {"sms_unique_id": removed.get("sms_unique_id"), "thumbprints": thumbprints,
            "trusted_root_keys": removed.get("trusted_root_keys"), "site_code": removed.get("site_code"),
            "management_point": removed.get("management_point"), "smscfg_path": removed.get("smscfg_path"),
            "previous_sms_unique_id": removed.get("previous_sms_unique_id")}


def _ready(record: t.Mapping[str, t.Any]) -> bool:
    if record.get("failed"):
        return False
    if record.get("mode") == "verify":
        return bool(record.get("ready_for_capture"))
    return bool(_mapping(record.get("client_state")).get("ready_for_capture"))


def _service(record: t.Mapping[str, t.Any], lang: str) -> str | None:
    service = _mapping(_mapping(record.get("client_state")).get("service"))
    if not service.get("exists"):
        return None
    return "%s: %s / %s" % (service.get("name") or "CcmExec", label(lang, "service_state", service.get("state")),
                            label(lang, "start_mode", service.get("start_mode")))


def _host_view(host: str, record: t.Mapping[str, t.Any], columns: list[str], lang: str) -> dict[str, t.Any]:
    ui = UI[lang]
    state = _mapping(record.get("client_state"))
    guard = record.get("guard")
    steps = []
    planned = _check_mode(record)
    for step in _dicts(record.get("steps")):
        word = ui["state_planned"] if planned and _step_state(step) == "done" else ui["state_" + _step_state(step)]
        steps.append({"name": step.get("name"), "label": label(lang, "step", step.get("name")), "state": _step_state(step),
                      "word": word, "detail": step.get("detail") or "",
                      "verification": step.get("verification") or "", "reference": step.get("reference") or ""})
    for check in _dicts(record.get("checks")):
        st = {"passed": "clean", "failed": "failed"}.get(str(check.get("status")), "skipped")
        steps.append({"name": f"verify.{check.get('name')}", "label": label(lang, "step", f"verify.{check.get('name')}"),
                      "state": st, "word": ui["state_" + st], "detail": check.get("evidence") or "",
                      "verification": check.get("fixed_by") or "", "reference": ""})
    install = _mapping(record.get("install")) or None
    return {
        "host": host,
        "status": str(record.get("status")),
        "status_word": label(lang, "status", "planned" if _check_mode(record) and record.get("status") == "changed"
                             else record.get("status")),
        "scenario": label(lang, "scenario", record.get("scenario")) if record.get("scenario") else "",
        "planned": _check_mode(record),
        "msg": str(record.get("msg") or ""),
        "guard": guard,
        "guard_word": label(lang, "guard", guard) if guard else "",
        "unreachable_during": label(lang, "step", record.get("unreachable_during")) if record.get("unreachable_during") else "",
        "ready": _ready(record),
        "cells": _cells(record, columns, lang),
        "steps": steps,
        "removed": _removed(record),
        "service": _service(record, lang),
        "problems": [str(p) for p in state.get("problems") or [] if p] if isinstance(state.get("problems"), list) else [],
        "warnings": [str(w) for w in state.get("warnings") or [] if w] if isinstance(state.get("warnings"), list) else [],
        "install": {"msg": str(install.get("msg") or ""), "elapsed_seconds": install.get("elapsed_seconds"),
                    "return_code": _mapping(install.get("ccmsetup")).get("return_code")} if install else None,
        "module_executions": record.get("module_executions"),
    }


def run_duplicates(records: t.Mapping[str, t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Identity items that several hosts of the run removed or still hold (compared without regard to case)."""
    found: dict[tuple[str, str], dict[str, set[str]]] = {}
    for host, record in records.items():
        removed = _removed(record) or {}
        state = _mapping(record.get("client_state"))
        items = [("sms_unique_id", removed.get("sms_unique_id"), "removed")]
        items += [("sms_certificate_thumbprint", tp, "removed") for tp in removed.get("thumbprints") or []]
        items.append(("sms_unique_id", state.get("smscfg_unique_id"), "present"))
        items += [("sms_certificate_thumbprint", c.get("thumbprint"), "present") for c in _dicts(state.get("sms_certificates"))]
        for kind, value, source in items:
            if value:
                found.setdefault((kind, str(value).strip().upper()), {}).setdefault(host, set()).add(source)
    return [{"kind": kind, "value": value, "hosts": sorted(hosts), "sources": {h: sorted(s) for h, s in sorted(hosts.items())}}
            for (kind, value), hosts in sorted(found.items()) if len(hosts) > 1]


def dashboard_view(records: t.Mapping[str, t.Mapping[str, t.Any]], language: str = "en",
                   identity_audit: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
    """Everything the template shows, every text in ``language`` (host and module texts stay as they are)."""
    lang = check_language(language)
    ui = UI[lang]
    records = {str(h): _mapping(r) for h, r in records.items()}
    columns = _columns(records)
    hosts = [_host_view(h, records[h], columns, lang) for h in sorted(records)]
    counts = {state: sum(c["state"] == state for h in hosts for c in h["cells"]) for state in STATES if state != "none"}
    chips = [
        {"key": "hosts", "count": len(hosts), "word": ui["chip_hosts"]},
        {"key": "ready", "count": sum(h["ready"] for h in hosts), "word": ui["chip_ready"]},
        {"key": "failed", "count": sum(h["status"] in ("failed", "not ready") and not h["guard"] for h in hosts),
         "word": ui["chip_failed"]},
        {"key": "guard", "count": sum(bool(h["guard"]) for h in hosts), "word": ui["chip_guard"]},
        {"key": "unreachable", "count": sum(h["status"] == "unreachable" for h in hosts), "word": ui["chip_unreachable"]},
        {"key": "no-result", "count": sum(h["status"] == "no result" for h in hosts), "word": ui["chip_no_result"]},
    ]
    planned = any(h["planned"] for h in hosts)
    audit = []
    if isinstance(identity_audit, t.Mapping):
        for kind, items in (identity_audit.get("duplicates") or {}).items():
            for item in items or []:
                audit.append({"kind": kind, "kind_word": label(lang, "identity", kind), "value": item.get("value"),
                              "hosts": list(item.get("hosts") or []),
                              "sources": {h: list(s) for h, s in (item.get("sources") or {}).items()}})
    duplicates = [dict(d, kind_word=label(lang, "identity", d["kind"]),
                       sources={h: [ui["source_" + s] for s in src] for h, src in d["sources"].items()})
                  for d in run_duplicates(records)]
    return {
        "lang": lang,
        "ui": ui,
        "columns": [{"name": c, "label": label(lang, "step", c)} for c in columns],
        "hosts": hosts,
        "chips": chips,
        "cell_counts": [{"state": s, "count": counts[s], "word": ui["state_planned" if s == "done" and planned else "state_" + s]}
                        for s in counts],
        "planned": planned,
        "guarded": [h for h in hosts if h["guard"]],
        "duplicates": duplicates,
        "audit_duplicates": audit,
        "audit_given": isinstance(identity_audit, t.Mapping),
    }


# --- rendering -----------------------------------------------------------------------------------------
def _environment(template_dir: str | None) -> jinja2.Environment:
    ours = jinja2.FileSystemLoader(TEMPLATE_ROOT)
    loaders: list[t.Any] = [jinja2.FileSystemLoader(template_dir)] if template_dir else []
    loader = jinja2.ChoiceLoader([*loaders, ours, jinja2.PrefixLoader({"fieldkit": ours})])
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _inline(env: jinja2.Environment, name: str) -> markupsafe.Markup:
    """CSS or JS source for a <style>/<script> element; refuses text that would end the element early."""
    source = env.loader.get_source(env, name)[0]
    # The DP report's rule: no "</" at all, so the file cannot end its <style>/<script> element.
    if "</" in source:
        raise ValueError(f"{name}: the inlined file must not contain '</', which would end its <style>/<script> element")
    return markupsafe.Markup(source)


def render_dashboard(records: t.Mapping[str, t.Mapping[str, t.Any]], language: str = "en", template_dir: str | None = None,
                     identity_audit: t.Mapping[str, t.Any] | None = None) -> str:
    """The dashboard HTML (see the module docstring for the template rules)."""
    view = dashboard_view(records, language, identity_audit)
    env = _environment(check_template_dir(template_dir))
    inline = {name.replace(".", "_"): _inline(env, name) for name in INLINE}
    return env.get_template(TEMPLATE).render(view=view, **inline)
