# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify-only image prep (``win_sccm_client_generalize mode: verify``). FOR INTERNAL COLLECTION USE ONLY.

Check mode of the procedure answers "what would a run change"; verify answers "is this machine ready for
capture now" and changes nothing: a reference machine before capture, a captured VM, a CI gate. The plan is
ONE module execution of read-only ops only (``tests/unit/plugins/test_generalize_verify.py`` asserts that no
planned op is mutating): the reads the readiness of the procedure uses (``after.*``, see
``_generalize._reads``) plus the host record, ccmsetup, the task sequence, the MP block rule and the site
roles. Every read is ``always``, so a read that fails makes its own check fail ("could not be read") and the
others still run. The same plan runs in check mode, so check mode gives the same answer.

Each readiness item is one entry of ``checks``: ``name``, ``status`` (``passed``, ``failed``,
``not_checked``), ``passed`` (null when not checked), ``evidence`` and ``fixed_by`` (the step, or the option,
that fixes it). The rule for switched-off steps:

* identity items (SMSCFG.ini, SMS certificates, matching PKI certificates, TrustedRootKey, site assignment,
  the host record) are checked whatever the steps say: a switch cannot make a leftover identity safe to
  capture, as for ``client_state.ready_for_capture`` of the procedure (issue 8, defect 5). The evidence then
  says the step is off;
* items whose only purpose is the step's own outcome are ``not_checked`` when the user switched the step off
  (``final_start_mode`` -> the start mode, ``clear_gp_site_assignment`` -> the GP values) or chose another
  outcome (``health_task_final_state: as_found`` or ``disable_health_task`` off -> a disabled health task is
  a warning, as in the procedure; ``allow_provisioning_mode`` -> provisioning mode);
* an item the imaging platform removes itself (``platform_skipped``, ``platform_handles: auto``) is
  ``not_checked`` with a warning, as the procedure's readiness lists it under ``warnings``.
"""
from __future__ import annotations

import typing as t

from ._batch import BatchOutcome, OpOutcome
from ._generalize import RECORD_KEY, GeneralizeOptions, _reads, client_state
from ._host_contract import HEALTH_TASK_NAME, HEALTH_TASK_PATH, MP_BLOCK_RULE_NAME
from ._ops import PlannedOp

# Check names, in report order.
CHECKS = (
    "client_installed",
    "not_site_system",
    "ccmsetup_idle",
    "no_task_sequence",
    "ccmexec_stopped",
    "ccmexec_start_mode",
    "health_task_enabled",
    "provisioning_mode",
    "sms_certificates",
    "pki_certificates",
    "smscfg",
    "trusted_root_key",
    "site_assignment",
    "gp_site_assignment",
    "host_record",
    "mp_block_rule",
)
# Start modes with which the client starts by itself on a clone (and creates its new identity).
_STARTS_ON_CLONE = ("delayed_auto", "auto")


def plan_verify(options: GeneralizeOptions) -> list[PlannedOp]:
    """Read-only ops only, every one ``always``: the whole check is one module execution."""
    return [
        *_reads("after", options, always=True),
        PlannedOp("verify.removal_record", "image.read_removal_record", always=True),
        PlannedOp("verify.ccmsetup", "ccmsetup.read_status", {"wait_seconds": 0, "tail_lines": 0}, always=True),
        PlannedOp("verify.task_sequence", "client.read_task_sequence", always=True),
        PlannedOp("verify.mp_block_rule", "firewall.read_rule", {"name": MP_BLOCK_RULE_NAME}, always=True),
        PlannedOp("verify.site_roles", "site.read_roles", always=True),
    ]


def _check(name: str, passed: bool | None, evidence: str, fixed_by: str | None = None,
           warning: str | None = None) -> dict[str, t.Any]:
    status = "not_checked" if passed is None else "passed" if passed else "failed"
    return {"name": name, "status": status, "passed": passed, "evidence": evidence,
            "fixed_by": None if passed is not False else fixed_by, "warning": warning}


def _platform_check(name: str, step: str, options: GeneralizeOptions, leftover: str) -> dict[str, t.Any] | None:
    """A leftover the imaging platform removes itself (platform_handles): not checked, a warning, as in readiness."""
    detail = (getattr(options, "platform_skipped", None) or {}).get(step)
    if not detail:
        return None
    why = str(detail).removeprefix("skipped: ")
    return _check(name, None, f"not checked: left for the imaging platform ({why}); {leftover}",
                  warning=f"left for the imaging platform: {leftover} ({why})")


def _unread(op: OpOutcome | None) -> str:
    if op is None:
        return "not read"
    err = op.error or {}
    return (f"could not be read: {op.op} {op.status}"
            + (f" with {err.get('hresult', 'unknown code')}: {err.get('message', 'no message')}" if err else ""))


def _off(options: GeneralizeOptions, step: str) -> str:
    return "" if options.enabled(step) else f" (steps.{step} is off: switch it on, or have the tool that does it run first)"


def _certs(items: list[dict[str, t.Any]]) -> str:
    return ", ".join(f"{c.get('thumbprint')} ({c.get('subject')})" for c in items)


def build_checks(outcome: BatchOutcome, options: GeneralizeOptions) -> list[dict[str, t.Any]]:
    """One entry per readiness item (see the module docstring), from the verify reads."""
    def read(op_id: str) -> tuple[dict[str, t.Any] | None, str]:
        data = outcome.data(op_id)
        return data, ("" if data is not None else _unread(outcome.ops.get(op_id)))

    checks: list[dict[str, t.Any]] = []
    svc, svc_err = read("after.ccmexec")
    if svc is None:
        checks.append(_check("client_installed", False, f"CcmExec {svc_err}"))
    else:
        checks.append(_check("client_installed", bool(svc.get("exists")),
                             "CcmExec service present" if svc.get("exists") else "no CcmExec service: the client "
                             "is not installed", "win_sccm_client_install"))

    roles, err = read("verify.site_roles")
    if roles is None:
        checks.append(_check("not_site_system", False, f"site roles {err}"))
    else:
        site_system = bool(roles.get("is_site_server") or roles.get("is_site_system"))
        checks.append(_check("not_site_system", not site_system,
                             ("a ConfigMgr site server or site system: never image it ("
                              + "; ".join(str(e) for e in roles.get("evidence") or []) + ")") if site_system
                             else "not a site server or site system"))

    setup, err = read("verify.ccmsetup")
    if setup is None:
        checks.append(_check("ccmsetup_idle", False, f"ccmsetup {err}"))
    else:
        running = bool(setup.get("running"))
        checks.append(_check("ccmsetup_idle", not running,
                             (f"ccmsetup runs (processes {setup.get('process_ids') or []}, service "
                              f"{setup.get('service_state') or 'absent'}): wait for it to end") if running
                             else "no ccmsetup process or running ccmsetup service"))

    ts, err = read("verify.task_sequence")
    if ts is None:
        checks.append(_check("no_task_sequence", False, f"task sequence state {err}"))
    else:
        running = bool(ts.get("running"))
        checks.append(_check("no_task_sequence", not running,
                             ("a task sequence runs: " + "; ".join(str(e) for e in ts.get("evidence") or []))
                             if running else "no task sequence runs"))

    if svc is None:
        checks.append(_check("ccmexec_stopped", False, f"CcmExec {svc_err}", "stop_service"))
        checks.append(_check("ccmexec_start_mode", False, f"CcmExec {svc_err}", "final_start_mode"))
    elif not svc.get("exists"):
        checks.append(_check("ccmexec_stopped", False, "no CcmExec service", "stop_service"))
        checks.append(_check("ccmexec_start_mode", False, "no CcmExec service", "final_start_mode"))
    else:
        state, mode = svc.get("state"), svc.get("start_mode")
        checks.append(_check("ccmexec_stopped", state == "stopped", f"CcmExec {state}", "stop_service"))
        if not options.enabled("final_start_mode"):
            checks.append(_check("ccmexec_start_mode", None,
                                 f"not checked: steps.final_start_mode is off (CcmExec start mode {mode})"))
        else:
            starts = mode in _STARTS_ON_CLONE
            evidence = f"CcmExec start mode {mode}" + ("" if starts else ": the client would not start on a clone")
            checks.append(_check("ccmexec_start_mode", starts, evidence, "final_start_mode"))

    task, err = read("after.health_task")
    task_name = f"{HEALTH_TASK_PATH}{HEALTH_TASK_NAME}"
    if task is None:
        checks.append(_check("health_task_enabled", False, f"health evaluation task {err}", "disable_health_task"))
    elif not task.get("exists"):
        checks.append(_check("health_task_enabled", True, f"{task_name} absent: nothing to enable"))
    elif task.get("enabled"):
        checks.append(_check("health_task_enabled", True, f"{task_name} enabled"))
    elif not options.enabled("disable_health_task") or options.health_task_final_state == "as_found":
        why = ("steps.disable_health_task is off" if not options.enabled("disable_health_task")
               else "health_task_final_state=as_found")
        checks.append(_check("health_task_enabled", None,
                             f"not checked: {why}; {task_name} is disabled (a warning: clones will not run ccmeval)",
                             warning=(f"the health evaluation task {task_name} is disabled ({why}): clones will not "
                                      "run the client health evaluation (ccmeval) until it is enabled")))
    else:
        checks.append(_check("health_task_enabled", False,
                             f"{task_name} disabled: clones would not run the client health evaluation",
                             "disable_health_task"))

    prov, err = read("after.provisioning_mode")
    if prov is None:
        checks.append(_check("provisioning_mode", False, f"provisioning mode {err}", "leave_provisioning_mode"))
    else:
        value = prov.get("registry_value")
        if value == "true" and options.allow_provisioning_mode:
            checks.append(_check("provisioning_mode", None,
                                 "not checked: allow_provisioning_mode=true (ProvisioningMode = true)"))
        else:
            checks.append(_check("provisioning_mode", value != "true", f"ProvisioningMode = {value}",
                                 "leave_provisioning_mode"))

    sms, err = read("after.sms_certificates")
    if sms is None:
        checks.append(_check("sms_certificates", False, f"LocalMachine\\SMS {err}", "remove_sms_certificates"))
    else:
        left = list(sms.get("certificates") or [])
        platform = _platform_check("sms_certificates", "remove_sms_certificates", options,
                                   f"{len(left)} certificate(s) in LocalMachine\\SMS") if left else None
        if left:
            evidence = f"{len(left)} certificate(s) in LocalMachine\\SMS: {_certs(left)}" + _off(options, "remove_sms_certificates")
        else:
            evidence = "LocalMachine\\SMS " + ("empty" if sms.get("store_exists") else "absent")
        checks.append(platform or _check("sms_certificates", not left, evidence, "remove_sms_certificates"))

    if options.pki_filter is None:
        checks.append(_check("pki_certificates", None, "not checked: no pki_certificate_filter given"))
    else:
        pki, err = read("after.pki_certificates")
        store = f"LocalMachine\\{options.pki_filter.store_name}"
        if pki is None:
            checks.append(_check("pki_certificates", False, f"{store} {err}", "remove_pki_certificates"))
        else:
            left = [c for c in pki.get("certificates") or [] if options.pki_filter.matches(c)]
            checks.append(_check("pki_certificates", not left,
                                 (f"{len(left)} certificate(s) matching pki_certificate_filter in {store}: "
                                  f"{_certs(left)}" + _off(options, "remove_pki_certificates")) if left
                                 else f"no certificate matching pki_certificate_filter in {store}",
                                 "remove_pki_certificates"))

    identity, err = read("after.identity")
    if identity is None:
        checks.append(_check("smscfg", False, f"SMSCFG.ini {err}", "remove_smscfg"))
    else:
        present = bool(identity.get("smscfg_present"))
        platform = _platform_check("smscfg", "remove_smscfg", options,
                                   f"{identity.get('smscfg_path')} present") if present else None
        if present:
            evidence = (f"{identity.get('smscfg_path')} present (SMS Unique Identifier "
                        f"{identity.get('smscfg_unique_id') or 'unknown'}): clones would share it"
                        + _off(options, "remove_smscfg"))
        else:
            evidence = f"{identity.get('smscfg_path')} absent"
        checks.append(platform or _check("smscfg", not present, evidence, "remove_smscfg"))

    trk, err = read("after.trusted_root_key")
    if trk is None:
        checks.append(_check("trusted_root_key", False, f"TrustedRootKey {err}", "remove_trusted_root_key"))
    elif not trk.get("namespace_present"):
        checks.append(_check("trusted_root_key", True, "namespace root\\ccm\\locationservices absent"))
    else:
        count = int(trk.get("count") or 0)
        checks.append(_check("trusted_root_key", count == 0,
                             f"{count} TrustedRootKey instance(s)" + (_off(options, "remove_trusted_root_key")
                                                                      if count else ""),
                             "remove_trusted_root_key"))

    site, err = read("after.site_assignment")
    if site is None:
        checks.append(_check("site_assignment", False, f"site assignment {err}", "reset_site_assignment"))
        checks.append(_check("gp_site_assignment", False, f"site assignment {err}", "clear_gp_site_assignment"))
    else:
        com = site.get("com_assigned_site") if site.get("com_available") else None
        registry = site.get("registry_assigned_site") or None
        com_error = site.get("com_error") or {}
        if site.get("com_available") and com is None and com_error:
            checks.append(_check("site_assignment", False,
                                 f"site assignment unknown: GetAssignedSite() failed with {com_error.get('hresult')} "
                                 f"(registry: {registry or 'blank'}); an assignment that cannot be read is not ready",
                                 "reset_site_assignment"))
        else:
            assigned = [s for s in (com or None, registry) if s]
            evidence = (f"GetAssignedSite() {com or 'blank' if site.get('com_available') else 'unavailable'}, "
                        f"registry AssignedSiteCode {registry or 'blank'}")
            checks.append(_check("site_assignment", not assigned,
                                 (f"assigned to site {assigned[0]} ({evidence})" + _off(options, "reset_site_assignment"))
                                 if assigned else f"unassigned ({evidence})", "reset_site_assignment"))
        gp = sorted(site.get("gp_site_assignment") or {})
        if not options.enabled("clear_gp_site_assignment"):
            checks.append(_check("gp_site_assignment", None,
                                 "not checked: steps.clear_gp_site_assignment is off (optional)"
                                 + (f"; values present: {', '.join(gp)}" if gp else "")))
        else:
            checks.append(_check("gp_site_assignment", not gp,
                                 f"GP site-assignment values: {', '.join(gp)}" if gp else "no GP site-assignment value",
                                 "clear_gp_site_assignment"))

    record, err = read("verify.removal_record")
    if record is None:
        checks.append(_check("host_record", False, f"{RECORD_KEY} {err}", "mode=prepare"))
    else:
        present = bool(record.get("present"))
        checks.append(_check("host_record", not present,
                             (f"the image-prep host record {RECORD_KEY} is present (written "
                              f"{record.get('recorded_utc') or 'at an unknown time'}): it holds the SMS Unique "
                              "Identifier, certificate thumbprints and site an earlier run removed; run in "
                              "mode=prepare to report and remove it") if present else f"{RECORD_KEY} absent",
                             "mode=prepare"))

    rule, err = read("verify.mp_block_rule")
    if rule is None:
        checks.append(_check("mp_block_rule", False, f"MP block rule {err}", "remove_mp_block_rules"))
    else:
        present = bool(rule.get("exists"))
        checks.append(_check("mp_block_rule", not present,
                             (f"firewall rule {MP_BLOCK_RULE_NAME!r} present (blocks "
                              f"{', '.join(rule.get('remote_addresses') or []) or 'no address'}): clones could not "
                              "reach their management points") if present
                             else f"firewall rule {MP_BLOCK_RULE_NAME!r} absent", "remove_mp_block_rules"))
    return checks


def _problem(check: dict[str, t.Any]) -> str:
    fix = check.get("fixed_by")
    hint = ""
    if fix and fix.startswith(("mode=", "win_")) or fix == "remove_mp_block_rules":
        hint = f" [fixed by {fix}]"
    elif fix:
        hint = f" [fixed by steps.{fix}]"
    return f"{check['name']}: {check['evidence']}{hint}"


def shape_verify(outcome: BatchOutcome, options: GeneralizeOptions, *, check_mode: bool,
                 host: str = "the host") -> dict[str, t.Any]:
    """The module result of verify mode: ``changed`` is always false; ``failed`` when not ready (by default)."""
    if outcome.runner_failed:
        return {"failed": True, "changed": False, "mode": "verify", "ready_for_capture": False, "checks": [],
                "module_executions": 1, "msg": f"the op runner failed on {host}: {outcome.msg}"}
    checks = build_checks(outcome, options)
    failed = [c for c in checks if c["status"] == "failed"]
    not_checked = [c for c in checks if c["status"] == "not_checked"]
    problems = [_problem(c) for c in failed]
    warnings = [c["warning"] for c in checks if c.get("warning")]
    state = client_state(outcome, options, check_mode=False)
    state.pop("predicted", None)
    ready = not failed
    state.update(ready_for_capture=ready, problems=problems, warnings=warnings,
                 ccmsetup_running=bool((outcome.data("verify.ccmsetup") or {}).get("running")),
                 task_sequence_running=bool((outcome.data("verify.task_sequence") or {}).get("running")),
                 host_record_present=bool((outcome.data("verify.removal_record") or {}).get("present")),
                 mp_block_rule_present=bool((outcome.data("verify.mp_block_rule") or {}).get("exists")))
    counts = {"passed": sum(c["status"] == "passed" for c in checks), "failed": len(failed),
              "not_checked": len(not_checked)}
    result: dict[str, t.Any] = {
        "changed": False,
        "mode": "verify",
        "scenario": options.scenario,
        "ready_for_capture": ready,
        "checks": checks,
        "check_counts": counts,
        "client_state": state,
        "module_executions": 1,
    }
    prefix = "check mode: " if check_mode else ""
    if ready:
        result["msg"] = (f"{prefix}{host} is ready for capture: {counts['passed']} check(s) passed"
                         + (f", {counts['not_checked']} not checked ({', '.join(c['name'] for c in not_checked)})"
                            if not_checked else "") + "; nothing was changed")
        if warnings:
            result["msg"] += "; warning: " + "; ".join(warnings)
    else:
        result["msg"] = (f"{prefix}{host} is NOT ready for capture: {len(failed)} problem(s): "
                         + "; ".join(problems) + "; nothing was changed")
        if options.fail_when_not_ready:
            result["failed"] = True
    return result


__all__ = ["CHECKS", "build_checks", "plan_verify", "shape_verify"]
