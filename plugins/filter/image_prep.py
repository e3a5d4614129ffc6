# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the image-prep and identity-audit playbooks; thin wrappers over plugin_utils._image_prep_report."""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _image_prep_report as report
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._hostvars import host_vars


def image_prep_host_record(host: str, generalize: t.Any = None, install: t.Any = None, failure: t.Any = None,
                           scenario: str | None = None) -> dict[str, t.Any]:
    """The per-host image-prep record from the role's registered results."""
    return report.host_record(str(host), generalize, install, failure, scenario)


def image_prep_records(hostvars: t.Any, hosts: t.Any, var: str = "client_image_prep_result") -> dict[str, t.Any]:
    """``{host: record}`` for the given hosts (``no result`` where the role recorded nothing)."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError(f"image_prep_records: hosts must be a list of host names, got {type(hosts).__name__}")
    return report.collect_records(hostvars, [str(h) for h in hosts], var)


# The registered results of the role on the playbook path (tasks/install.yml, generalize.yml, rescue.yml).
REGISTERED = ("client_image_prep_generalize", "client_image_prep_install", "client_image_prep_failure")
# The role variables that decide which play of playbooks/client_image_prep.yml a host goes through.
PLAN_VARS = ("client_image_prep_mode", "client_image_prep_scenario", "client_image_prep_ccmsetup_source",
             "client_image_prep_platform_handles")


def image_prep_plan(hostvars: t.Any, hosts: t.Any, defaults: t.Any) -> dict[str, t.Any]:
    """Which hosts need the client install first (mode prepare, scenario new, a ccmsetup source), which the
    imaging-platform read (platform_handles auto, not installing), and the scenario of every host: the host's
    own value (inventory, facts, extra vars) over the role default."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError(f"image_prep_plan: hosts must be a list of host names, got {type(hosts).__name__}")
    if not isinstance(defaults, t.Mapping) or not all(name in defaults for name in PLAN_VARS):
        raise AnsibleFilterError(f"image_prep_plan: defaults must be the role defaults with {', '.join(PLAN_VARS)}")
    plan: dict[str, t.Any] = {"install": [], "platform": [], "scenarios": {}}
    for host in map(str, hosts):
        own = host_vars(hostvars, host)
        mode, scenario, source, platform_handles = (own[name] if name in own else defaults[name] for name in PLAN_VARS)
        plan["scenarios"][host] = scenario
        if mode == "prepare" and scenario == "new" and source:
            plan["install"].append(host)
        elif platform_handles == "auto":
            plan["platform"].append(host)
    return plan


def image_prep_registered_records(hostvars: t.Any, hosts: t.Any, scenarios: t.Any = None) -> dict[str, t.Any]:
    """``{host: record}`` built from the results the role registered on each host (the playbook path, where no
    host sets client_image_prep_result); ``no result`` where the role registered nothing."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError(f"image_prep_registered_records: hosts must be a list of host names, "
                                 f"got {type(hosts).__name__}")
    if scenarios is not None and not isinstance(scenarios, t.Mapping):
        raise AnsibleFilterError("image_prep_registered_records: scenarios must be the scenarios of image_prep_plan")
    records: dict[str, t.Any] = {}
    for host in map(str, hosts):
        own = host_vars(hostvars, host)
        registered = [own.get(name) for name in REGISTERED]
        if not any(registered):
            records[host] = report.host_record(host)  # as image_prep_records: no result, no scenario
            continue
        records[host] = report.host_record(host, *registered, (scenarios or {}).get(host))
    return records


def image_prep_junit(records: t.Any, suite_name: str = "client_image_prep") -> str:
    """JUnit XML with one test case per verified step per host."""
    if not isinstance(records, t.Mapping):
        raise AnsibleFilterError("image_prep_junit: expects the dict returned by image_prep_records")
    return report.junit_xml(records, suite_name)


def image_prep_summary(records: t.Any) -> dict[str, t.Any]:
    """Host counts per status."""
    if not isinstance(records, t.Mapping):
        raise AnsibleFilterError("image_prep_summary: expects the dict returned by image_prep_records")
    return report.summary(records)


def image_prep_report_files(records: t.Any, language: t.Any = "en", template_dir: t.Any = None,
                            identity_audit: t.Any = None) -> dict[str, t.Any]:
    """The files of the image-prep report: ``<host>.json`` per host, ``summary.json``, the JUnit XML and the
    HTML dashboard ``client_image_prep.html``."""
    if not isinstance(records, t.Mapping):
        raise AnsibleFilterError("image_prep_report_files: expects the dict returned by image_prep_records")
    if identity_audit is not None and not (isinstance(identity_audit, t.Mapping) and "duplicates" in identity_audit):
        raise AnsibleFilterError(f"image_prep_report_files: identity_audit={identity_audit!r} must be the dict returned by "
                                 f"mecm.fieldkit.sccm_identity_audit or the clone check's summary (a dict with duplicates), or none")
    try:
        return report.report_files(records, "en" if language is None else language, template_dir, identity_audit)
    except ValueError as exc:
        raise AnsibleFilterError(f"image_prep_report_files: {exc}") from exc


def sccm_identity_audit(hostvars: t.Any, hosts: t.Any) -> dict[str, t.Any]:
    """Duplicated SMS Unique Identifiers and SMS certificate thumbprints across the hosts' client facts."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError(f"sccm_identity_audit: hosts must be a list of host names, got {type(hosts).__name__}")
    facts: dict[str, t.Any] = {}
    for host in hosts:
        try:
            facts[str(host)] = (hostvars[host].get("ansible_facts") or {}).get("sccm_client")
        except (KeyError, AttributeError):
            facts[str(host)] = None
    return report.identity_audit(facts)


def sccm_identity_audit_markdown(audit: t.Any) -> str:
    """The identity audit as Markdown."""
    if not isinstance(audit, t.Mapping) or "duplicates" not in audit:
        raise AnsibleFilterError("sccm_identity_audit_markdown: expects the dict returned by sccm_identity_audit")
    return report.identity_audit_markdown(audit)


class FilterModule:
    """mecm.fieldkit image-prep report filters."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {
            "image_prep_host_record": image_prep_host_record,
            "image_prep_records": image_prep_records,
            "image_prep_plan": image_prep_plan,
            "image_prep_registered_records": image_prep_registered_records,
            "image_prep_junit": image_prep_junit,
            "image_prep_summary": image_prep_summary,
            "image_prep_report_files": image_prep_report_files,
            "sccm_identity_audit": sccm_identity_audit,
            "sccm_identity_audit_markdown": sccm_identity_audit_markdown,
        }
