# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The clone check: are the clones deployed from a master image unique? FOR INTERNAL COLLECTION USE ONLY.

Plain functions over plain data. Input: the master's image-prep record (``<host>.json`` of the
client_image_prep playbook) and ``ansible_facts.sccm_client`` (win_sccm_client_facts) of each clone. The
comparison between clones is the identity audit's (``_image_prep_report.identity_audit``); the Markdown
escaping and the JUnit writer are the image-prep report's too.
"""
from __future__ import annotations

import json
import os
import typing as t

from . import _image_prep_report as report

SUITE = "client_clone_check"
JUNIT_FILE = "client_clone_check-junit.xml"
MARKDOWN_FILE = "client_clone_check.md"
SUMMARY_FILE = "summary.json"
STATUS_ORDER = ("failed", "unreachable", "pending", "unique")
CHECKS = ("facts", "master_sms_unique_id", "master_certificates", "new_identity", "ccmexec_running",
          "unique_among_clones")
# CcmExec start modes with which the service starts by itself at boot.
_AUTO_START = ("auto", "delayed_auto")
_NULL_GUID = "GUID:00000000-0000-0000-0000-000000000000"
_REFERENCE = "jpmem 20220418_01 (clones must not share the master's client identity)"


def _text(value: t.Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# --- the master record ------------------------------------------------------------------------------
def master_identity(record: t.Any, source: str = "the master record") -> dict[str, t.Any]:
    """The identity a clone must not carry, from the master's image-prep record.

    Returns ``{"problems": [...], "host", "sms_unique_ids", "certificate_thumbprints", "source", ...}``;
    ``problems`` is empty when the record can be used: an image-prep record (``host``, ``status``, ``steps``,
    ``removed_identity``) whose ``removed_identity`` names an SMS Unique Identifier or certificates.
    """
    result: dict[str, t.Any] = {"source": source, "problems": [], "host": None, "status": None,
                                "sms_unique_id": None, "previous_sms_unique_id": None,
                                "sms_unique_ids": [], "certificate_thumbprints": [], "certificates": []}
    if not isinstance(record, t.Mapping):
        result["problems"].append(f"{source} is not an image-prep record (a JSON object with host, status, steps "
                                  f"and removed_identity, the <host>.json the client_image_prep playbook writes); "
                                  f"got {type(record).__name__}")
        return result
    if "by_status" in record and "hosts" in record:
        result["problems"].append(f"{source} is the image-prep summary.json; give the master's own <host>.json "
                                  f"from the same report directory")
        return result
    missing = [k for k in ("host", "status", "steps", "removed_identity") if k not in record]
    if missing:
        result["problems"].append(f"{source} is not an image-prep record (the <host>.json the client_image_prep "
                                  f"playbook writes): it has no {', '.join(missing)}")
        return result
    result["host"] = record.get("host")
    result["status"] = record.get("status")
    removed = record.get("removed_identity")
    if not isinstance(removed, t.Mapping):
        result["problems"].append(f"{source} ({record.get('host')}, status {record.get('status')}) has no removed "
                                  f"identity: image prep removed nothing there. Use the record of the run that "
                                  f"removed the identity (a later run on a prepared master removes nothing)")
        return result
    guid = _text(removed.get("sms_unique_id"))
    previous = _text(removed.get("previous_sms_unique_id"))
    certificates = [c for c in removed.get("certificates") or [] if isinstance(c, t.Mapping) and _text(c.get("thumbprint"))]
    if not guid and not certificates:
        result["problems"].append(f"{source} ({record.get('host')}, status {record.get('status')}) has no removed "
                                  f"identity (no SMS Unique Identifier, no certificate): use the record of the run "
                                  f"that removed the identity (a later run on a prepared master removes nothing)")
        return result
    result.update({
        "sms_unique_id": guid,
        "previous_sms_unique_id": previous,
        # The previous identifier counts too (a clone must carry neither), unless it is the null GUID.
        "sms_unique_ids": [g.upper() for g in (guid, previous) if g and g.upper() != _NULL_GUID],
        "certificate_thumbprints": sorted({str(c["thumbprint"]).strip().upper() for c in certificates}),
        "certificates": [{k: c.get(k) for k in ("store", "thumbprint", "subject")} for c in certificates],
        "site_code": removed.get("site_code"),
        "recovered_from_host_record": bool(removed.get("recovered_from_host_record")),
    })
    return result


def load_master_record(path: t.Any) -> dict[str, t.Any]:
    """Read and validate the master record file (relative paths: the current directory)."""
    text_path = "" if path is None else str(path).strip()
    source = f"client_clone_check_master_record={json.dumps(text_path)}"
    if not text_path:
        return {**master_identity(None, source), "problems": [
            f"{source}: set it to the master's image-prep record (<report dir>/<master>.json of client_image_prep)"]}
    if not os.path.isfile(text_path):
        what = "is a directory" if os.path.isdir(text_path) else "does not exist"
        return {**master_identity(None, source), "problems": [
            f"{source}: the file {what} (relative paths start at {os.getcwd()}); give the master's "
            f"<host>.json of the client_image_prep playbook"]}
    try:
        with open(text_path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return {**master_identity(None, source), "problems": [f"{source}: not a readable JSON file: {exc}"]}
    return master_identity(data, source)


# --- one clone --------------------------------------------------------------------------------------
def _check(name: str, status: str, detail: str) -> dict[str, t.Any]:
    """A check in the shape of an image-prep step, so that the image-prep JUnit writer reports it."""
    return {"name": name, "status": status, "detail": detail, "verification": None, "reference": _REFERENCE}


def _pending(name: str, detail: str, fail_on_pending: bool) -> dict[str, t.Any]:
    if fail_on_pending:
        return _check(name, "failed", f"pending (client_clone_check_fail_on_pending): {detail}")
    # "not run" makes the JUnit writer report a skipped test case.
    return _check(name, "skipped", f"not run yet (pending first boot): {detail}")


def _facts_of(result: t.Any) -> tuple[dict[str, t.Any] | None, str | None, bool]:
    """(facts, why there are none, unreachable) from the registered result of win_sccm_client_facts."""
    if not isinstance(result, t.Mapping) or not result:
        return None, "the clone check did not run on this host", False
    if result.get("unreachable"):
        return None, str(result.get("msg") or "the host could not be reached"), True
    facts = (result.get("ansible_facts") or {}).get("sccm_client")
    if not isinstance(facts, t.Mapping) or not facts:
        return None, str(result.get("msg") or "win_sccm_client_facts returned no facts"), False
    if result.get("failed"):
        return None, str(result.get("msg") or "win_sccm_client_facts failed"), False
    return dict(facts), None, False


def clone_record(host: str, facts_result: t.Any, master: t.Mapping[str, t.Any], entry: t.Mapping[str, t.Any] | None,
                 duplicates: t.Sequence[t.Mapping[str, t.Any]] = (), fail_on_pending: bool = False) -> dict[str, t.Any]:
    """The record of one clone: status (unique, pending, failed, unreachable), the checks and the evidence.

    ``entry`` is the clone's ``per_host`` entry of the identity audit over all clones and ``duplicates`` the
    audit's duplicates this clone is part of.
    """
    facts, why, unreachable = _facts_of(facts_result)
    record: dict[str, t.Any] = {"host": host, "status": None, "failed": False, "pending": False, "msg": None,
                                "master": master.get("host"), "checks": [], "identity": None,
                                "module_executions": 0 if (unreachable or facts_result in (None, {})) else 1}
    checks: list[dict[str, t.Any]] = record["checks"]
    if facts is None:
        checks.append(_check("facts", "failed", why or "no facts"))
        record.update(status="unreachable" if unreachable else "failed", failed=True,
                      msg=f"{'unreachable' if unreachable else 'no client facts'}: {why}")
        return record
    checks.append(_check("facts", "ok", "win_sccm_client_facts: one module execution"))
    entry = dict(entry or {})
    identity = facts.get("identity") or {}
    service = facts.get("service") or {}
    smscfg_id = _text(identity.get("smscfg_unique_id"))
    wmi_id = _text(identity.get("wmi_client_id"))
    stale_wmi = _text(entry.get("stale_wmi_client_id"))
    thumbprints = [str(tp).upper() for tp in entry.get("sms_certificate_thumbprints") or []]
    cert_identifier = _text(entry.get("smscfg_certificate_thumbprint"))
    record["identity"] = {
        "audit_status": entry.get("status"), "smscfg_present": bool(identity.get("smscfg_present")),
        "smscfg_unique_id": smscfg_id, "wmi_client_id": wmi_id, "stale_wmi_client_id": stale_wmi,
        "previous_sms_unique_id": _text(identity.get("previous_sms_unique_id")),
        "sms_certificate_thumbprints": thumbprints, "smscfg_certificate_thumbprint": cert_identifier,
        "service_state": service.get("state"), "service_start_mode": service.get("start_mode"),
        "assigned_site": (facts.get("site_assignment") or {}).get("assigned_site"),
        "installed": bool(facts.get("installed")),
    }

    # 1. The master's SMS Unique Identifier: in SMSCFG.ini, or in WMI unless it is the leftover the client
    #    replaces at its first start (no SMSCFG.ini, no SMS certificate, CcmExec stopped: see the audit).
    master_ids = set(master.get("sms_unique_ids") or [])
    carried = [(src, v) for src, v in (("SMSCFG.ini", smscfg_id), ("WMI", None if stale_wmi else wmi_id))
               if v and v.upper() in master_ids]
    if carried:
        checks.append(_check("master_sms_unique_id", "failed", "carries the master's SMS Unique Identifier: " + ", ".join(
            f"{v} ({src})" for src, v in carried)))
    elif stale_wmi and stale_wmi.upper() in master_ids:
        checks.append(_check("master_sms_unique_id", "ok",
                             f"not in SMSCFG.ini; the master's {stale_wmi} left in WMI is replaced when CcmExec starts"))
    else:
        checks.append(_check("master_sms_unique_id", "ok", "the master's SMS Unique Identifier is not on the clone"))

    # 2. The master's certificates (SMS and PKI thumbprints of the record) among the clone's SMS certificates
    #    and the one SMSCFG.ini names.
    master_tps = set(master.get("certificate_thumbprints") or [])
    shared = sorted({tp for tp in (*thumbprints, (cert_identifier or "").upper()) if tp and tp in master_tps})
    if shared:
        checks.append(_check("master_certificates", "failed", "carries the master's certificate(s): " + ", ".join(shared)))
    else:
        checks.append(_check("master_certificates", "ok",
                             f"none of the master's {len(master_tps)} certificate thumbprint(s) on the clone "
                             f"({len(thumbprints)} SMS certificate(s) compared)"))

    # 3. A new identity, and 4. CcmExec running. Pending = the first boot before CcmExec ran: no identity yet,
    #    CcmExec not running but set to start by itself. Failed otherwise.
    state = service.get("state")
    start_mode = service.get("start_mode")
    will_start = bool(service.get("exists")) and start_mode in _AUTO_START
    running = state == "running"
    if not facts.get("installed") or not service.get("exists"):
        missing = "no ConfigMgr client (CcmExec or HKLM\\SOFTWARE\\Microsoft\\CCM missing): the image lost its client"
        checks.append(_check("new_identity", "failed", missing))
        checks.append(_check("ccmexec_running", "failed", "CcmExec is not installed"))
    else:
        if smscfg_id and smscfg_id.upper() not in master_ids:
            if wmi_id and not stale_wmi and wmi_id.upper() != smscfg_id.upper() and running:
                checks.append(_check("new_identity", "failed",
                                     f"SMSCFG.ini has {smscfg_id} but WMI has {wmi_id}: the identity is inconsistent"))
            else:
                checks.append(_check("new_identity", "ok", f"new SMS Unique Identifier {smscfg_id} in SMSCFG.ini"))
        elif smscfg_id:
            checks.append(_check("new_identity", "failed", "SMSCFG.ini holds the master's identifier, no new identity"))
        elif not running and will_start:
            checks.append(_pending("new_identity", f"no SMS Unique Identifier yet (SMSCFG.ini "
                                   f"{'without one' if identity.get('smscfg_present') else 'absent'}); CcmExec is "
                                   f"{state} and starts by itself ({start_mode})", fail_on_pending))
        else:
            checks.append(_check("new_identity", "failed", f"no SMS Unique Identifier (SMSCFG.ini "
                                 f"{'without one' if identity.get('smscfg_present') else 'absent'}) while CcmExec is "
                                 f"{state} ({start_mode}): the client has not generated a new identity"))
        if running:
            checks.append(_check("ccmexec_running", "ok", f"CcmExec running ({start_mode})"))
        elif will_start:
            checks.append(_pending("ccmexec_running", f"CcmExec {state}, starts by itself ({start_mode})", fail_on_pending))
        else:
            checks.append(_check("ccmexec_running", "failed", f"CcmExec {state} with start mode {start_mode}: it never "
                                 f"starts by itself (an image captured with CcmExec Manual or Disabled)"))

    # 5. No identity shared with another clone (the identity audit over all clones).
    if duplicates:
        checks.append(_check("unique_among_clones", "failed", "shares an identity with other clones: " + "; ".join(
            f"{d['kind']} {d['value']} with {', '.join(h for h in d['hosts'] if h != host)}" for d in duplicates)))
    else:
        checks.append(_check("unique_among_clones", "ok", "no identity shared with another clone"))

    pending = [c for c in checks if c["status"] == "skipped" or c["detail"].startswith("pending")]
    failed = [c for c in checks if c["status"] == "failed" and c not in pending]
    record["pending"] = bool(pending)
    if failed:
        record.update(status="failed", failed=True, msg="not unique: " + "; ".join(
            f"{c['name']}: {c['detail']}" for c in failed))
    elif pending:
        record.update(status="pending", failed=bool(fail_on_pending), msg=(
            "pending first boot" + (" (client_clone_check_fail_on_pending: counted as failed)" if fail_on_pending else "")
            + ": " + "; ".join(c["detail"].split(": ", 1)[-1] for c in pending)))
    else:
        record.update(status="unique", msg=f"unique: new SMS Unique Identifier {smscfg_id}, none of the master's "
                                           f"identity, CcmExec running")
    return record


# --- the run ----------------------------------------------------------------------------------------
def clone_check(facts_results: t.Mapping[str, t.Any], master: t.Mapping[str, t.Any],
                fail_on_pending: bool = False) -> dict[str, t.Any]:
    """Check every clone: ``{host: registered win_sccm_client_facts result}`` -> the run (clones, audit, summary)."""
    facts_by_host = {}
    for host, result in facts_results.items():
        facts, _why, _unreachable = _facts_of(result)
        facts_by_host[host] = facts
    audit = report.identity_audit(facts_by_host)
    shared: dict[str, list[dict[str, t.Any]]] = {}
    for kind, items in audit["duplicates"].items():
        for item in items:
            for host in item["hosts"]:
                shared.setdefault(host, []).append({"kind": kind, "value": item["value"], "hosts": item["hosts"],
                                                    "sources": item["sources"]})
    clones = {host: clone_record(host, facts_results[host], master, audit["per_host"].get(host),
                                 shared.get(host, []), fail_on_pending)
              for host in sorted(facts_results)}
    return {"master": dict(master), "fail_on_pending": bool(fail_on_pending), "clones": clones,
            "duplicates": audit["duplicates"], "summary": summary(clones, master)}


def summary(clones: t.Mapping[str, t.Mapping[str, t.Any]], master: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    by_status: dict[str, list[str]] = {}
    for host, record in sorted(clones.items()):
        by_status.setdefault(str(record.get("status")), []).append(host)
    return {
        "master": master.get("host"),
        "master_sms_unique_id": master.get("sms_unique_id"),
        "clones": len(clones),
        "failed": sum(1 for r in clones.values() if r.get("failed")),
        "pending": len(by_status.get("pending", [])),
        "unique": len(by_status.get("unique", [])),
        "by_status": {s: by_status[s] for s in STATUS_ORDER if s in by_status},
        "reasons": {h: {"status": r.get("status"), "msg": r.get("msg")} for h, r in sorted(clones.items())
                    if r.get("status") != "unique"},
        "module_executions": sum(int(r.get("module_executions") or 0) for r in clones.values()),
    }


def junit_xml(run: t.Mapping[str, t.Any]) -> str:
    """One test case per clone x check, written by the image-prep JUnit writer (checks in the shape of steps)."""
    view = {host: {"steps": r["checks"], "status": "checked", "failed": False} for host, r in run["clones"].items()}
    return report.junit_xml(view, SUITE)


def markdown(run: t.Mapping[str, t.Any]) -> str:
    """The run as Markdown; every value from a host or the record is escaped (the audit's markdown_text)."""
    md = report.markdown_text
    summ = run["summary"]
    master = run["master"]
    lines = ["# ConfigMgr clone check", "",
             f"Master {md(master.get('host'))} (SMS Unique Identifier {md(master.get('sms_unique_id') or '-')}, "
             f"{len(master.get('certificate_thumbprints') or [])} certificate(s), record {md(master.get('source'))}).", "",
             f"{summ['clones']} clone(s): {summ['unique']} unique, {summ['pending']} pending, {summ['failed']} failed"
             f"{' (pending counts as failed)' if run.get('fail_on_pending') else ''}.", "",
             "| clone | status | SMS Unique Identifier | CcmExec | failed checks | pending checks |",
             "| --- | --- | --- | --- | --- | --- |"]
    for host, r in sorted(run["clones"].items()):
        ident = r.get("identity") or {}
        failed = ", ".join(md(c["name"]) for c in r["checks"]
                           if c["status"] == "failed" and not c["detail"].startswith("pending"))
        pending = ", ".join(md(c["name"]) for c in r["checks"]
                            if c["status"] == "skipped" or c["detail"].startswith("pending"))
        service = f"{ident.get('service_state')}/{ident.get('service_start_mode')}" if ident else ""
        lines.append(f"| {md(host)} | {md(r['status'])} | {md(ident.get('smscfg_unique_id') or '')} | {md(service)} | "
                     f"{failed} | {pending} |")
    problems = [(h, r) for h, r in sorted(run["clones"].items()) if r["status"] != "unique"]
    if problems:
        lines += ["", "## Findings", ""]
        lines += [f"- **{md(h)}** ({md(r['status'])}): {md(r['msg'])}" for h, r in problems]
        lines += ["", "A clone that carries the master's identity, or shares one with another clone, needs a new "
                      "identity: delete SMSCFG.ini and the SMS certificates and restart CcmExec (jpmem 20210922_01), "
                      "then prepare the master with mecm.fieldkit.client_image_prep and recapture."]
    return "\n".join(lines) + "\n"


def report_files(run: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """File name -> content: ``<clone>.json``, ``summary.json``, the Markdown and the JUnit XML."""
    files: dict[str, t.Any] = {f"{host}.json": dict(r) for host, r in sorted(run["clones"].items())}
    files[SUMMARY_FILE] = {**run["summary"], "duplicates": run["duplicates"], "fail_on_pending": run["fail_on_pending"]}
    files[MARKDOWN_FILE] = markdown(run)
    files[JUNIT_FILE] = junit_xml(run)
    return files
