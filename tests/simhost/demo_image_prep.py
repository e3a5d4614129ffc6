"""The image-prep part of ``make demo`` (simulated lab support code, not packaged).

``image_prep_demo(lab, inventory, report_dir, run_playbook)`` runs, against the default lab:

1. ``mecm.fieldkit.client_identity_audit`` on group ``deployed_clients`` - the master and a clone of it
   share an SMS Unique Identifier and SMS certificates (the problem the seed warns about);
2. ``mecm.fieldkit.client_image_prep`` in check mode on group ``image_prep`` - the plan per host;
3. the same for real - recapture (ref-assigned), steps already done by another tool (ref-mcs), new
   capture with the client installed unassigned and the MP blocked (ref-new, variables from
   ``tests/simhost/labs/imageprep_vars.yml``);

and prints the per-host result, the JUnit file and the module executions per host; it renders the dashboard in
Japanese too (``client_image_prep.ja.html``, with the duplicates of the identity audit of step 1) and lists every
image-prep report file it wrote; then

4. ``mecm.fieldkit.client_clone_check`` on the clones of lab ``clones`` with the record of ref-assigned as the
   master (the same fixture identity as that lab's master): unique clones, one at its first boot (pending), a
   clone of a clone, a clone captured without image prep and a half-prepared one. The run exits 2 (clones
   that are not unique), which is the expected outcome here.

Standalone:
``python -m tests.simhost.demo_image_prep``. Everything here runs against SIMULATED hosts.
"""
from __future__ import annotations

import json
import pathlib
import sys
import typing as t
from xml.etree import ElementTree as ET

from .lab import BANNER, Lab
from .paths import LABS_DIR, REPO_ROOT

HOST_VARS = LABS_DIR / "imageprep_vars.yml"
PREP_GROUP = "image_prep"
AUDIT_GROUP = "deployed_clients"
CLONES_LAB = "clones"
CLONES_GROUP = "clones"
CLONE_MASTER = "ref-assigned"

RunPlaybook = t.Callable[..., int]


def _skipped(root: ET.Element) -> int:
    """Skipped test cases: the count sits on each <testsuite> (junit-10.xsd allows none on <testsuites>)."""
    return sum(int(suite.get("skipped") or 0) for suite in root.iter("testsuite"))


def _print_audit(path: pathlib.Path) -> None:
    audit = json.loads(path.read_text(encoding="utf-8"))
    print(f"\n{BANNER} client identity audit: {audit['duplicate_count']} duplicated identities")
    for kind, items in audit["duplicates"].items():
        for item in items:
            print(f"  {kind:<27} {item['value']:<46} shared by {', '.join(item['hosts'])}")


def _print_results(report_dir: pathlib.Path, hosts: t.Iterable[str], lab: Lab) -> None:
    print(f"\n{BANNER} image prep per host (JSON in {report_dir})")
    header = (f"{'host':<14} {'scenario':<10} {'status':<8} {'ready':<6} {'executions':>10}  "
              f"{'removed SMS Unique Identifier':<46} changed steps")
    print(header)
    print("-" * len(header))
    for host in hosts:
        path = report_dir / f"{host}.json"
        if not path.exists():
            print(f"{host:<14} (no result)")
            continue
        record = json.loads(path.read_text(encoding="utf-8"))
        changed = [s["name"] for s in record["steps"] if s["status"] == "changed"]
        if record.get("install"):
            changed.insert(0, "install_client")
        ready = (record.get("client_state") or {}).get("ready_for_capture")
        guid = (record.get("removed_identity") or {}).get("sms_unique_id") or "-"
        print(f"{host:<14} {str(record['scenario']):<10} {record['status']:<8} {str(bool(ready)):<6} "
              f"{lab.stats(host)['module_executions']:>10}  {guid:<46} {', '.join(changed) or '-'}")
        if record.get("failed"):
            print(f"{'':<14} {record['msg']}")
    junit = report_dir / "client_image_prep-junit.xml"
    if junit.exists():
        root = ET.parse(junit).getroot()
        print(f"\n{BANNER} JUnit: {junit} - {root.get('tests')} test cases (one per verified step per host), "
              f"{root.get('failures')} failures, {root.get('errors')} errors, {_skipped(root)} skipped")
        for suite in root.findall("testsuite"):
            names = [c.get("name") for c in suite.findall("testcase")]
            print(f"  {suite.get('name'):<36} {', '.join(t.cast(list[str], names))}")


def image_prep_demo(lab: Lab, inventory: pathlib.Path, report_dir: pathlib.Path, run_playbook: RunPlaybook) -> int:
    """Run the image-prep jobs of the demo; returns the number of failed playbook runs."""
    failures = 0
    audit_dir = report_dir / "client_identity_audit"
    failures += run_playbook(inventory, "mecm.fieldkit.client_identity_audit",
                             "-e", f"client_identity_audit_hosts={AUDIT_GROUP}",
                             "-e", f"client_identity_audit_report_dir={audit_dir}") != 0
    _print_audit(audit_dir / "client_identity_audit.json")

    prep_dir = report_dir / "client_image_prep"
    common = ("-i", str(HOST_VARS), "-e", f"client_image_prep_hosts={PREP_GROUP}")
    failures += run_playbook(inventory, "mecm.fieldkit.client_image_prep", *common,
                             "-e", f"client_image_prep_report_dir={prep_dir / 'check'}", "--check") != 0
    lab.reset_stats()
    failures += run_playbook(inventory, "mecm.fieldkit.client_image_prep", *common,
                             "-e", f"client_image_prep_report_dir={prep_dir}") != 0
    members = lab.definition["groups"][PREP_GROUP]
    _print_results(prep_dir, members, lab)
    _write_japanese_dashboard(prep_dir, members, audit_dir / "client_identity_audit.json")
    prep_files = ["client_image_prep.html", "client_image_prep.ja.html", "client_image_prep-junit.xml", "summary.json",
                  *(f"{h}.json" for h in members)]
    _list_reports("image-prep reports written", [(prep_dir, prep_files), (prep_dir / "check", prep_files[:1] + prep_files[2:]),
                                                 (audit_dir, ["client_identity_audit.json", "client_identity_audit.md"])])
    failures += clone_check_demo(report_dir, prep_dir / f"{CLONE_MASTER}.json", run_playbook)
    return failures


def _write_japanese_dashboard(prep_dir: pathlib.Path, hosts: t.Iterable[str], audit_file: pathlib.Path) -> None:
    """``client_image_prep.ja.html`` beside the English dashboard the playbook wrote, with the audit's duplicates."""
    from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _image_prep_dashboard as dashboard  # pylint: disable=import-outside-toplevel

    records = {h: json.loads((prep_dir / f"{h}.json").read_text(encoding="utf-8")) for h in hosts
               if (prep_dir / f"{h}.json").exists()}
    audit = json.loads(audit_file.read_text(encoding="utf-8")) if audit_file.exists() else None
    (prep_dir / "client_image_prep.ja.html").write_text(dashboard.render_dashboard(records, "ja", identity_audit=audit),
                                                        encoding="utf-8")


def _list_reports(title: str, directories: t.Iterable[tuple[pathlib.Path, t.Iterable[str]]]) -> None:
    """Print the path of each report file of this run (directory, names) that exists; a missing one is said so."""
    print(f"\n{BANNER} {title}:")
    for directory, names in directories:
        for name in names:
            path = directory / name
            kind = {"html": "dashboard", "xml": "JUnit", "md": "Markdown"}.get(path.suffix.lstrip("."), "JSON")
            print(f"  {kind:<9} {path}" if path.is_file() else f"  {kind:<9} {path} (not written, see above)")


def _print_clone_check(check_dir: pathlib.Path, clones_lab: Lab) -> None:
    summary = json.loads((check_dir / "summary.json").read_text(encoding="utf-8"))
    print(f"\n{BANNER} clone check against master {summary['master']} ({summary['master_sms_unique_id']}): "
          f"{summary['unique']} unique, {summary['pending']} pending, {summary['failed']} failed (JSON in {check_dir})")
    header = f"{'clone':<10} {'status':<8} {'executions':>10}  {'SMS Unique Identifier':<46} failed / pending checks"
    print(header)
    print("-" * len(header))
    for host in sorted(summary["by_status"].get("failed", []) + summary["by_status"].get("pending", [])
                       + summary["by_status"].get("unique", []) + summary["by_status"].get("unreachable", [])):
        record = json.loads((check_dir / f"{host}.json").read_text(encoding="utf-8"))
        guid = (record.get("identity") or {}).get("smscfg_unique_id") or "-"
        bad = [c["name"] for c in record["checks"] if c["status"] != "ok"]
        print(f"{host:<10} {record['status']:<8} {clones_lab.stats(host)['module_executions']:>10}  {guid:<46} "
              f"{', '.join(bad) or '-'}")
    junit = check_dir / "client_clone_check-junit.xml"
    root = ET.parse(junit).getroot()
    print(f"{BANNER} JUnit: {junit} - {root.get('tests')} test cases (one per clone x check), "
          f"{root.get('failures')} failures, {_skipped(root)} skipped; Markdown: client_clone_check.md")


def clone_check_demo(report_dir: pathlib.Path, master_record: pathlib.Path, run_playbook: RunPlaybook) -> int:
    """The clone check of the demo on lab ``clones``; returns 1 when its outcome is not the expected one."""
    check_dir = report_dir / "client_clone_check"
    print(f"\n{BANNER} === Clone check (prepared -> captured -> deployed -> verified unique) ===")
    with Lab.named(CLONES_LAB) as clones_lab:
        inventory = clones_lab.write_inventory(report_dir / f"inventory-{CLONES_LAB}.yml")
        rc = run_playbook(inventory, "mecm.fieldkit.client_clone_check", "-f", "6",
                          "-e", f"client_clone_check_hosts={CLONES_GROUP}",
                          "-e", f"client_clone_check_master_record={master_record}",
                          "-e", f"client_clone_check_report_dir={check_dir}")
        if not (check_dir / "summary.json").exists():
            print(f"{BANNER} no clone-check report written (see the playbook output above)")
            return 1
        _print_clone_check(check_dir, clones_lab)
        clones = clones_lab.definition["groups"][CLONES_GROUP]
    _list_reports("clone-check reports written", [(check_dir, ["client_clone_check.md", "client_clone_check-junit.xml",
                                                               "summary.json", *(f"{h}.json" for h in clones)])])
    # Exit code 2 is the gate working: the lab has clones that are not unique.
    print(f"{BANNER} ansible-playbook exited {rc}: {'as expected, ' if rc == 2 else ''}a clone that is not unique "
          f"fails the run")
    return 0 if rc == 2 else 1


def main() -> int:
    from .demo import _run_playbook  # pylint: disable=import-outside-toplevel

    report_dir = (REPO_ROOT / "reports" / "demo").resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    with Lab.named("default") as lab:
        inventory = lab.write_inventory(report_dir / "inventory-default.yml")
        failures = image_prep_demo(lab, inventory, report_dir, _run_playbook)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
