# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports of the image-prep and identity-audit playbooks. FOR INTERNAL COLLECTION USE ONLY.

Plain functions over plain data (no Ansible objects): the per-host image-prep record, the JUnit XML
file CI systems show, and the duplicate-identity audit over client facts of many hosts.
"""
from __future__ import annotations

import collections
import typing as t
from xml.etree import ElementTree as ET

STATUS_ORDER = ("failed", "unreachable", "no result", "changed", "ok")


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
        "module_executions": int((inst or {}).get("module_executions", 0)) + (1 if gen else 0),
        "simulated": None,
    }
    if inst is not None:
        keys = ("changed", "msg", "ccmsetup", "client", "polls", "elapsed_seconds", "module_executions",
                "mp_block_rule", "failed", "unreachable")
        record["install"] = {k: inst.get(k) for k in keys}
    unreachable = any(bool(r.get("unreachable")) for r in (gen, inst, fail) if r)
    failed_by = next((r for r in (gen, inst, fail) if r and (r.get("failed") or r.get("unreachable"))), None)
    if failed_by is not None:
        record["failed"] = True
        record["status"] = "unreachable" if unreachable else "failed"
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
        value = None
        try:
            value = hostvars[host].get(var)
        except (KeyError, AttributeError):
            value = None
        records[host] = dict(value) if isinstance(value, t.Mapping) else host_record(host)
    return records


def _case(suite: ET.Element, name: str, classname: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", {"name": name, "classname": classname, "time": "0"})


def junit_xml(records: t.Mapping[str, t.Mapping[str, t.Any]], suite_name: str = "client_image_prep") -> str:
    """JUnit XML: one test suite per host, one test case per verified step (plus install and guards).

    Steps switched off are left out; steps not run after a failure are ``skipped``; a failed step or
    verification is a ``failure`` with the step detail; an unreachable host or a host without result
    is an ``error``.
    """
    root = ET.Element("testsuites", {"name": suite_name})
    totals = collections.Counter()
    for host in sorted(records):
        record = records[host]
        classname = f"{suite_name}.{host}"
        suite = ET.SubElement(root, "testsuite", {"name": classname})
        counts = collections.Counter()
        install = record.get("install")
        if install:
            case = _case(suite, "install_client", classname)
            counts["tests"] += 1
            if install.get("failed") or install.get("unreachable"):
                counts["failures"] += 1
                ET.SubElement(case, "failure", {"message": str(install.get("msg"))}).text = str(install.get("msg"))
            else:
                ET.SubElement(case, "system-out").text = (
                    f"{install.get('msg')}; {install.get('module_executions')} module execution(s)")
        if record.get("guard"):
            case = _case(suite, f"guard.{record['guard']}", classname)
            counts["tests"] += 1
            counts["failures"] += 1
            ET.SubElement(case, "failure", {"message": str(record.get("msg"))}).text = str(record.get("msg"))
        ran_any = False
        for step in record.get("steps") or []:
            if step.get("status") == "skipped" and not step.get("ops") and not str(step.get("detail", "")).startswith(
                    "not run"):
                continue
            ran_any = True
            case = _case(suite, step["name"], classname)
            counts["tests"] += 1
            detail = str(step.get("detail") or "")
            if step.get("status") == "failed":
                counts["failures"] += 1
                ET.SubElement(case, "failure", {"message": detail}).text = (
                    f"{detail}\nverification: {step.get('verification')}\nreference: {step.get('reference')}")
            elif step.get("status") == "skipped":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", {"message": detail})
            else:
                ET.SubElement(case, "system-out").text = (
                    f"{step.get('status')}: {detail}; verified: {step.get('verification')} ({step.get('reference')})")
        if record.get("status") in ("unreachable", "no result") or (
                record.get("failed") and not ran_any and not record.get("guard") and not install):
            case = _case(suite, "image_prep", classname)
            counts["tests"] += 1
            counts["errors"] += 1
            ET.SubElement(case, "error", {"message": str(record.get("msg"))}).text = str(record.get("msg"))
        for key in ("tests", "failures", "errors", "skipped"):
            suite.set(key, str(counts[key]))
            totals[key] += counts[key]
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(totals[key]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def summary(records: t.Mapping[str, t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """Counts per status and the hosts in each, for the summary file and the console."""
    by_status: dict[str, list[str]] = {}
    for host, record in sorted(records.items()):
        by_status.setdefault(str(record.get("status")), []).append(host)
    return {
        "hosts": len(records),
        "failed": sum(len(by_status.get(s, [])) for s in ("failed", "unreachable", "no result")),
        "by_status": {s: by_status[s] for s in STATUS_ORDER if s in by_status},
        "ready_for_capture": sorted(h for h, r in records.items()
                                    if (r.get("client_state") or {}).get("ready_for_capture") and not r.get("failed")),
    }


JUNIT_FILE = "client_image_prep-junit.xml"
SUMMARY_FILE = "summary.json"


def report_files(records: t.Mapping[str, t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """File name -> content of the image-prep report directory."""
    files: dict[str, t.Any] = {f"{host}.json": dict(record) for host, record in sorted(records.items())}
    files[SUMMARY_FILE] = summary(records)
    files[JUNIT_FILE] = junit_xml(records)
    return files


# --- identity audit ---------------------------------------------------------------------------------
def identity_audit(facts_by_host: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Find SMS Unique Identifiers and SMS certificate thumbprints shared by several hosts.

    Args:
        facts_by_host: ``{host: ansible_facts.sccm_client or None}``.

    Hosts prepared for capture (SMSCFG.ini absent, CcmExec stopped) are listed apart and never counted
    as duplicates: their WMI still shows the old identifier until a clone starts the client.
    """
    by_guid: dict[str, list[str]] = collections.defaultdict(list)
    by_thumb: dict[str, list[str]] = collections.defaultdict(list)
    hosts: dict[str, dict[str, t.Any]] = {}
    prepared: list[str] = []
    no_client: list[str] = []
    no_facts: list[str] = []
    for host in sorted(facts_by_host):
        facts = facts_by_host[host]
        if not isinstance(facts, t.Mapping) or not facts:
            no_facts.append(host)
            hosts[host] = {"status": "no facts"}
            continue
        if not facts.get("installed"):
            no_client.append(host)
            hosts[host] = {"status": "no client"}
            continue
        identity = facts.get("identity") or {}
        service = facts.get("service") or {}
        thumbprints = [c.get("thumbprint") for c in (facts.get("sms_certificates") or {}).get("certificates", [])
                       if c.get("thumbprint")]
        guid = identity.get("smscfg_unique_id") or identity.get("wmi_client_id")
        entry = {"status": "client", "sms_unique_id": guid, "smscfg_present": identity.get("smscfg_present"),
                 "sms_certificate_thumbprints": thumbprints, "assigned_site": (facts.get("site_assignment") or {})
                 .get("assigned_site"), "service_state": service.get("state")}
        if not identity.get("smscfg_present") and service.get("state") == "stopped":
            entry["status"] = "prepared for capture"
            prepared.append(host)
            hosts[host] = entry
            continue
        hosts[host] = entry
        if guid:
            by_guid[guid.upper()].append(host)
        for thumb in thumbprints:
            by_thumb[thumb.upper()].append(host)
    duplicates = {
        "sms_unique_id": [{"value": k, "hosts": v} for k, v in sorted(by_guid.items()) if len(v) > 1],
        "sms_certificate_thumbprint": [{"value": k, "hosts": v} for k, v in sorted(by_thumb.items()) if len(v) > 1],
    }
    affected = sorted({h for group in duplicates.values() for d in group for h in d["hosts"]})
    return {
        "hosts": len(facts_by_host),
        "duplicates": duplicates,
        "duplicate_count": len(duplicates["sms_unique_id"]) + len(duplicates["sms_certificate_thumbprint"]),
        "affected_hosts": affected,
        "prepared_for_capture": prepared,
        "no_client": no_client,
        "no_facts": no_facts,
        "per_host": hosts,
    }


def identity_audit_markdown(audit: t.Mapping[str, t.Any], title: str = "ConfigMgr client identity audit") -> str:
    """The audit as a Markdown report."""
    lines = [f"# {title}", "",
             f"{audit['hosts']} host(s); {audit['duplicate_count']} duplicated identit"
             f"{'y' if audit['duplicate_count'] == 1 else 'ies'}; affected: "
             f"{', '.join(audit['affected_hosts']) or 'none'}.", ""]
    if audit["duplicate_count"]:
        lines += ["Clones that share an SMS Unique Identifier or SMS certificates were captured without image prep "
                  "(seed: jpmem 20220418_01). Fix each clone (delete SMSCFG.ini and the SMS certificates, restart "
                  "CcmExec; jpmem 20210922_01) and recapture the master with mecm.fieldkit.client_image_prep.", ""]
    for kind, label in (("sms_unique_id", "SMS Unique Identifier"),
                        ("sms_certificate_thumbprint", "SMS certificate thumbprint")):
        lines += [f"## Duplicated {label}s", ""]
        if not audit["duplicates"][kind]:
            lines += ["None.", ""]
            continue
        lines += [f"| {label} | hosts |", "| --- | --- |"]
        lines += [f"| `{d['value']}` | {', '.join(d['hosts'])} |" for d in audit["duplicates"][kind]]
        lines.append("")
    lines += ["## Hosts", "", "| host | status | SMS Unique Identifier | SMS certificates | site |",
              "| --- | --- | --- | --- | --- |"]
    for host, entry in sorted(audit["per_host"].items()):
        thumbs = ", ".join(f"`{tp[:8]}…`" for tp in entry.get("sms_certificate_thumbprints", []))
        lines.append(f"| {host} | {entry['status']} | {entry.get('sms_unique_id') or ''} | {thumbs} | "
                     f"{entry.get('assigned_site') or ''} |")
    return "\n".join(lines) + "\n"
