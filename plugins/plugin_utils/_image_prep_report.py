# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports of the image-prep and identity-audit playbooks. FOR INTERNAL COLLECTION USE ONLY.

Plain functions over plain data (no Ansible objects): the per-host image-prep record, the JUnit XML
file CI systems show, and the duplicate-identity audit over client facts of many hosts.
"""
from __future__ import annotations

import html
import re
import typing as t

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _image_prep_dashboard as dashboard
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _junit as junit
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._hostvars import host_vars

STATUS_ORDER = ("failed", "unreachable", "no result", "not ready", "changed", "ok", "verified")
# Statuses of hosts that are not done (counted in summary ``failed`` and given a reason).
NOT_DONE = ("failed", "unreachable", "no result", "not ready")


def _task_result(value: t.Any) -> dict[str, t.Any] | None:
    """A registered task result, or None when the task did not run."""
    if not isinstance(value, dict) or not value or value.get("skipped"):
        return None
    return value


def host_record(host: str, generalize: t.Any = None, install: t.Any = None, failure: t.Any = None,
                scenario: str | None = None) -> dict[str, t.Any]:
    """The per-host image-prep record written as ``<host>.json``.

    Args:
        host: inventory name.
        generalize: registered result of win_sccm_client_generalize (or None/skipped).
        install: registered result of win_sccm_client_install (or None/skipped).
        failure: ``ansible_failed_result`` of the role's rescue, if any.
        scenario: the scenario asked for.
    """
    gen = _task_result(generalize)
    inst = _task_result(install)
    fail = _task_result(failure)
    record: dict[str, t.Any] = {
        "host": host,
        "scenario": (gen or {}).get("scenario") or scenario,
        "status": "ok",
        "changed": bool((gen or {}).get("changed") or (inst or {}).get("changed")),
        "failed": False,
        "msg": None,
        "steps": list((gen or {}).get("steps") or []),
        "removed_identity": (gen or {}).get("removed_identity"),
        "client_state": (gen or {}).get("client_state"),
        "install": None,
        "module_executions": (int((inst or {}).get("module_executions", 0))
                              + (int(gen.get("module_executions") or 1) if gen else 0)),
        "simulated": None,
    }
    verify = (gen or {}).get("mode") == "verify"
    if verify:
        # Verify-only (win_sccm_client_generalize mode=verify): no steps, one check per readiness item.
        record["mode"] = "verify"
        record["checks"] = list((gen or {}).get("checks") or [])
        record["ready_for_capture"] = (gen or {}).get("ready_for_capture")
    if inst is not None:
        keys = ("changed", "msg", "ccmsetup", "client", "polls", "elapsed_seconds", "module_executions",
                "mp_block_rule", "failed", "unreachable")
        record["install"] = {k: inst.get(k) for k in keys}
    # Unreachable: Ansible's own outcome (a connection failure; the role registers it with ignore_unreachable)
    # or a module's result that says its answer was lost ("unreachable": true), of either module.
    lost = next(((task, r) for task, r in (("install_client", inst), ("generalize", gen), ("rescue", fail))
                 if r and r.get("unreachable")), None)
    failed_by = next((r for r in (gen, inst, fail) if r and (r.get("failed") or r.get("unreachable"))), None)
    if lost is not None:
        task, lost_result = lost
        reason = str(lost_result.get("msg") or "the host could not be reached")
        record["failed"] = True
        record["status"] = "unreachable"
        record["unreachable_during"] = task
        record["msg"] = reason if "unreachable" in reason.lower() else f"unreachable during {task}: {reason}"
        record["guard"] = (gen or {}).get("guard")
        record["failed_step"] = (gen or {}).get("failed_step")
    elif verify and record["checks"]:
        # Ready or not is the answer of verify, not a failure of the module (fail_when_not_ready aside).
        ready = bool(record["ready_for_capture"])
        record["failed"] = not ready
        record["status"] = "verified" if ready else "not ready"
        record["msg"] = (gen or {}).get("msg")
    elif failed_by is not None:
        record["failed"] = True
        record["status"] = "failed"
        record["msg"] = failed_by.get("msg")
        record["guard"] = (gen or {}).get("guard")
        record["failed_step"] = (gen or {}).get("failed_step")
    elif gen is None and inst is None:
        record["failed"] = True
        record["status"] = "no result"
        record["msg"] = "image prep did not run on this host"
    else:
        record["status"] = "changed" if record["changed"] else "ok"
        record["msg"] = (gen or inst or {}).get("msg")
    return record


def collect_records(hostvars: t.Mapping[str, t.Any], hosts: t.Iterable[str],
                    var: str = "client_image_prep_result") -> dict[str, dict[str, t.Any]]:
    """``{host: record}`` for every host, a ``no result`` record where the role set nothing."""
    records: dict[str, dict[str, t.Any]] = {}
    for host in hosts:
        value = host_vars(hostvars, host).get(var)
        records[host] = dict(value) if isinstance(value, t.Mapping) else host_record(host)
    return records


def _host_suite(host: str, record: t.Mapping[str, t.Any], suite_name: str) -> junit.Suite:
    """The test suite of one host (see ``junit_xml``)."""
    classname = junit.classname(suite_name, host)
    suite = junit.Suite(name=f"{suite_name}.{host}", hostname=host)

    def case(name: str, outcome: str = "passed", **kwargs: t.Any) -> junit.Case:
        return suite.add(junit.Case(name=name, classname=classname, outcome=outcome, **kwargs))

    install = record.get("install")
    if install:
        # elapsed_seconds is measured by the install action (time.monotonic); nothing else is timed.
        elapsed = install.get("elapsed_seconds")
        if install.get("unreachable"):
            case("install_client", "error", type="unreachable", message=str(record.get("msg")), time=elapsed,
                 text=f"{record.get('msg')}\nMP block rule: {install.get('mp_block_rule')}")
        elif install.get("failed"):
            case("install_client", "failure", message=str(install.get("msg")), text=str(install.get("msg")), time=elapsed)
        else:
            case("install_client", time=elapsed,
                 system_out=f"{install.get('msg')}; {install.get('module_executions')} module execution(s)")
    if record.get("guard"):
        case(f"guard.{record['guard']}", "failure", message=str(record.get("msg")), text=str(record.get("msg")))
    ran_any = False
    for check in record.get("checks") or []:
        # Verify-only: one test case per readiness item.
        ran_any = True
        evidence = str(check.get("evidence") or "")
        if check.get("status") == "failed":
            case(f"verify.{check.get('name')}", "failure", message=evidence,
                 text=f"{evidence}\nfixed by: {check.get('fixed_by') or 'see the evidence'}")
        elif check.get("status") == "not_checked":
            case(f"verify.{check.get('name')}", "skipped", message=evidence)
        else:
            case(f"verify.{check.get('name')}", system_out=f"passed: {evidence}")
    for step in record.get("steps") or []:
        if step.get("status") == "skipped" and not step.get("ops") and not str(step.get("detail", "")).startswith(
                "not run"):
            continue
        ran_any = True
        detail = str(step.get("detail") or "")
        if step.get("status") == "failed":
            case(step["name"], "failure", message=detail,
                 text=f"{detail}\nverification: {step.get('verification')}\nreference: {step.get('reference')}")
        elif step.get("status") == "skipped":
            case(step["name"], "skipped", message=detail)
        else:
            case(step["name"], system_out=(f"{step.get('status')}: {detail}; verified: {step.get('verification')} "
                                           f"({step.get('reference')})"))
    reported = bool(install and install.get("unreachable"))
    if not reported and (record.get("status") in ("unreachable", "no result") or (
            record.get("failed") and not ran_any and not record.get("guard") and not install)):
        kind = str(record["status"]) if record.get("status") in ("unreachable", "no result") else None
        case("image_prep", "error", message=str(record.get("msg")), text=str(record.get("msg")), type=kind)
    return suite


def junit_xml(records: t.Mapping[str, t.Mapping[str, t.Any]], suite_name: str = "client_image_prep") -> str:
    """JUnit XML (the collection's one writer, ``_junit``): one test suite per host, one test case per verified
    step (plus install and guards).

    Steps switched off are left out; steps not run after a failure are ``skipped``; a failed step or
    verification is a ``failure`` with the step detail; an unreachable host or a host without result
    is an ``error``. A verify-only record has one test case per readiness check (``verify.<check>``): a
    failed check is a ``failure`` with its evidence and what fixes it, a check not done is ``skipped``.
    The class name is ``<suite_name>.<host with dots escaped as _>``; ``time`` is the install's measured
    ``elapsed_seconds`` for ``install_client`` and 0 elsewhere (nothing else is timed).
    """
    return junit.render([_host_suite(host, records[host], suite_name) for host in sorted(records)], suite_name)


def summary(records: t.Mapping[str, t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """Counts per status and the hosts in each, for the summary file and the console."""
    by_status: dict[str, list[str]] = {}
    for host, record in sorted(records.items()):
        by_status.setdefault(str(record.get("status")), []).append(host)
    return {
        "hosts": len(records),
        "failed": sum(len(by_status.get(s, [])) for s in NOT_DONE),
        "by_status": {s: by_status[s] for s in STATUS_ORDER if s in by_status},
        # Why each host that is not done is not done (failed, unreachable, no result, not ready).
        "reasons": {h: {"status": r.get("status"), "msg": r.get("msg")} for h, r in sorted(records.items())
                    if r.get("status") in NOT_DONE},
        "ready_for_capture": sorted(h for h, r in records.items()
                                    if (r.get("client_state") or {}).get("ready_for_capture") and not r.get("failed")),
    }


JUNIT_FILE = "client_image_prep-junit.xml"
SUMMARY_FILE = "summary.json"
DASHBOARD_FILE = dashboard.DASHBOARD_FILE


def report_files(records: t.Mapping[str, t.Mapping[str, t.Any]], language: str = "en", template_dir: str | None = None,
                 identity_audit: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
    """File name -> content of the image-prep report directory: the JSON per host, the summary, the JUnit XML and
    the HTML dashboard (``language``, ``template_dir`` and ``identity_audit`` as in ``render_dashboard``; a bad
    language or template_dir raises ValueError naming the option)."""
    files: dict[str, t.Any] = {f"{host}.json": dict(record) for host, record in sorted(records.items())}
    files[SUMMARY_FILE] = summary(records)
    files[JUNIT_FILE] = junit_xml(records)
    files[DASHBOARD_FILE] = dashboard.render_dashboard(records, language, template_dir, identity_audit)
    return files


# --- identity audit ---------------------------------------------------------------------------------
_SOURCE_SMSCFG = "SMSCFG.ini"
_SOURCE_WMI = "WMI"
_SOURCE_STORE = "certificate store"
IDENTITY_KINDS = (("sms_unique_id", "SMS Unique Identifier"),
                  ("sms_certificate_thumbprint", "SMS certificate thumbprint"))


def _text(value: t.Any) -> str | None:
    """A non-empty identity value as stripped text, else None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _certificate_identifier_thumbprint(value: t.Any) -> str | None:
    """The thumbprint in SMSCFG.ini's ``SMS Certificate Identifier`` (``SMS;<thumbprint>``)."""
    text = _text(value)
    if text is None:
        return None
    return _text(text.rsplit(";", 1)[-1])


def _identity_items(facts: t.Mapping[str, t.Any]) -> tuple[dict[str, t.Any], list[tuple[str, str, str]]]:
    """The per-host entry and the identity items ``(kind, value, source)`` that take part in the comparison."""
    identity = facts.get("identity") or {}
    service = facts.get("service") or {}
    smscfg_id = _text(identity.get("smscfg_unique_id"))
    wmi_id = _text(identity.get("wmi_client_id"))
    cert_identifier = _certificate_identifier_thumbprint(identity.get("smscfg_certificate_identifier"))
    thumbprints = [tp for tp in (_text(c.get("thumbprint")) for c in
                                 (facts.get("sms_certificates") or {}).get("certificates") or [] if isinstance(c, t.Mapping))
                   if tp]
    smscfg_present = bool(identity.get("smscfg_present")) or smscfg_id is not None
    stopped = service.get("state") == "stopped"
    holds_certificates = bool(thumbprints or cert_identifier)
    # Without SMSCFG.ini and SMS certificates, a stopped client creates a new identity when it starts: the
    # identifier still in WMI is a leftover, not an identity in use. With certificates left it is not.
    prepared = not smscfg_present and stopped and not holds_certificates
    items: list[tuple[str, str, str]] = []
    if smscfg_id:
        items.append(("sms_unique_id", smscfg_id, _SOURCE_SMSCFG))
    if wmi_id and not prepared:
        items.append(("sms_unique_id", wmi_id, _SOURCE_WMI))
    items += [("sms_certificate_thumbprint", tp, _SOURCE_STORE) for tp in thumbprints]
    if cert_identifier:
        items.append(("sms_certificate_thumbprint", cert_identifier, _SOURCE_SMSCFG))
    if not facts.get("installed"):
        status = "no client"
    elif prepared:
        status = "prepared for capture"
    elif not smscfg_present and stopped:
        status = "partly prepared"
    else:
        status = "client"
    entry = {
        "status": status,
        "sms_unique_id": smscfg_id or (None if prepared else wmi_id),
        "smscfg_present": smscfg_present,
        "smscfg_unique_id": smscfg_id,
        "wmi_client_id": wmi_id,
        "stale_wmi_client_id": wmi_id if prepared else None,
        "previous_sms_unique_id": _text(identity.get("previous_sms_unique_id") or identity.get("wmi_previous_client_id")),
        "smscfg_certificate_thumbprint": cert_identifier,
        "sms_certificate_thumbprints": thumbprints,
        "assigned_site": (facts.get("site_assignment") or {}).get("assigned_site"),
        "service_state": service.get("state"),
        "wmi_errors": len(facts.get("wmi_errors") or []),
    }
    return entry, items


def identity_audit(facts_by_host: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Find client identity items that several hosts share.

    Args:
        facts_by_host: ``{host: ansible_facts.sccm_client or None}``.

    Every identity item is compared on every host that has it, whatever the state of its client: the SMS
    Unique Identifier from SMSCFG.ini and from WMI (``root\\ccm:CCM_Client``), the thumbprints of the
    certificates in ``LocalMachine\\SMS`` and the one SMSCFG.ini names (``SMS Certificate Identifier``).
    Values are compared without regard to case. The one exception is the identifier left in WMI on a host
    prepared for capture (no SMSCFG.ini, no SMS certificate, CcmExec stopped): the client replaces it when
    it starts, so it is reported (``stale_wmi_client_id``) but not compared. A host with SMSCFG.ini gone and
    CcmExec stopped that still holds SMS certificates is ``partly prepared`` and compared in full. The
    previous identifier is reported per host and not compared: clones that each made a new identity share it.
    """
    found: dict[str, dict[str, dict[str, t.Any]]] = {kind: {} for kind, _label in IDENTITY_KINDS}
    hosts: dict[str, dict[str, t.Any]] = {}
    lists: dict[str, list[str]] = {"prepared_for_capture": [], "partly_prepared": [], "no_client": [],
                                   "no_facts": [], "incomplete_facts": []}
    for host in sorted(facts_by_host):
        facts = facts_by_host[host]
        if not isinstance(facts, t.Mapping) or not facts:
            lists["no_facts"].append(host)
            hosts[host] = {"status": "no facts"}
            continue
        entry, items = _identity_items(facts)
        hosts[host] = entry
        key = {"prepared for capture": "prepared_for_capture", "partly prepared": "partly_prepared",
               "no client": "no_client"}.get(entry["status"])
        if key:
            lists[key].append(host)
        if entry["wmi_errors"]:
            lists["incomplete_facts"].append(host)
        for kind, value, source in items:
            group = found[kind].setdefault(value.upper(), {"value": value.upper(), "sources": {}})
            sources = group["sources"].setdefault(host, [])
            if source not in sources:
                sources.append(source)
    duplicates = {
        kind: [{"value": g["value"], "hosts": sorted(g["sources"]), "sources": dict(sorted(g["sources"].items()))}
               for _key, g in sorted(found[kind].items()) if len(g["sources"]) > 1]
        for kind, _label in IDENTITY_KINDS
    }
    affected = sorted({h for group in duplicates.values() for d in group for h in d["hosts"]})
    return {
        "hosts": len(facts_by_host),
        "duplicates": duplicates,
        "duplicate_count": sum(len(group) for group in duplicates.values()),
        "affected_hosts": affected,
        **lists,
        "per_host": hosts,
    }


_MD_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def markdown_text(value: t.Any) -> str:
    """Host data as literal text in a Markdown table cell or line.

    HTML is escaped (``<img onerror=...>`` shows as text), the Markdown metacharacters that act inside a
    line (``\\ ` * _ [ ] | ~``) are escaped with a backslash - ``|`` would end the table cell - and line
    breaks and other control characters become a space, so a value cannot start a new row or block.
    """
    text = "" if value is None else str(value)
    text = _MD_CONTROL.sub(" ", text)
    text = html.escape(text, quote=True)
    return _MD_SPECIAL.sub(r"\\\1", text)


def identity_audit_markdown(audit: t.Mapping[str, t.Any], title: str = "ConfigMgr client identity audit") -> str:
    """The audit as a Markdown report; every value that comes from a host is escaped (markdown_text)."""
    md = markdown_text
    lines = [f"# {md(title)}", "",
             f"{audit['hosts']} host(s); {audit['duplicate_count']} duplicated identit"
             f"{'y' if audit['duplicate_count'] == 1 else 'ies'}; affected: "
             f"{', '.join(md(h) for h in audit['affected_hosts']) or 'none'}.", ""]
    if audit["duplicate_count"]:
        lines += ["Clones that share an SMS Unique Identifier or SMS certificates were captured without image prep "
                  "(seed: jpmem 20220418_01). Fix each clone (delete SMSCFG.ini and the SMS certificates, restart "
                  "CcmExec; jpmem 20210922_01) and recapture the master with mecm.fieldkit.client_image_prep.", ""]
    if audit.get("partly_prepared"):
        lines += [f"Partly prepared (SMSCFG.ini gone and CcmExec stopped, SMS certificates left; the client rebuilds "
                  f"the identity from them): {', '.join(md(h) for h in audit['partly_prepared'])}.", ""]
    if audit.get("incomplete_facts"):
        lines += [f"WMI reads failed, identity may be incomplete: {', '.join(md(h) for h in audit['incomplete_facts'])}.",
                  ""]
    for kind, label in IDENTITY_KINDS:
        lines += [f"## Duplicated {label}s", ""]
        if not audit["duplicates"].get(kind):
            lines += ["None.", ""]
            continue
        lines += [f"| {label} | hosts | found in |", "| --- | --- | --- |"]
        for d in audit["duplicates"][kind]:
            sources = "; ".join(f"{md(h)}: {', '.join(md(s) for s in src)}" for h, src in (d.get("sources") or {}).items())
            lines.append(f"| {md(d['value'])} | {', '.join(md(h) for h in d['hosts'])} | {sources} |")
        lines.append("")
    lines += ["## Hosts", "", "| host | status | SMS Unique Identifier | SMS certificates | site |",
              "| --- | --- | --- | --- | --- |"]
    for host, entry in sorted(audit["per_host"].items()):
        thumbs = ", ".join(f"{md(str(tp)[:8])}…" for tp in entry.get("sms_certificate_thumbprints") or [])
        guid = md(entry.get("sms_unique_id") or "")
        if entry.get("stale_wmi_client_id"):
            guid = f"none (left in WMI, replaced at client start: {md(entry['stale_wmi_client_id'])})"
        lines.append(f"| {md(host)} | {md(entry['status'])} | {guid} | {thumbs} | {md(entry.get('assigned_site') or '')} |")
    return "\n".join(lines) + "\n"
