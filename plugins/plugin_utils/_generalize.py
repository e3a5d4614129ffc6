# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and shape of win_sccm_client_generalize. FOR INTERNAL COLLECTION USE ONLY.

The procedure is the seed article's (jpmem 20220418_01, scenarios A "new capture" and B "recapture"),
as ONE batch of ops:

1. read the client identity (``before.*``), so the result can say what was removed, and the host record
   an earlier run left (``before.removal_record``: that run's answer was lost);
2. guards: read-only ops that throw a specific Windows error code when the host must not be prepared;
3. ``record_removal``: record on the host what the steps are about to remove (HKLM\\SOFTWARE\\mecm.fieldkit\\
   ImagePrep), so that a lost answer can be reported by the next run;
4. the steps, in the order below; each is one or two idempotent ops;
5. ``always`` ops: re-enable the health evaluation task if this run disabled it (and enable it when it was
   found disabled, ``health_task_final_state``), remove the MP block rule of win_sccm_client_install when asked;
6. ``always`` verification reads (``after.*``).

A second module execution (:func:`plan_followup`), once the answer of the first has arrived, removes the
host record and, with sysprep, runs the capture-ready gate and starts sysprep. Check mode is one batch:
sysprep.start in check mode, the gate predicted from the plan.

Transient changes (the task disabled for the duration, CcmExec set to Manual until the final start
mode, the MP block rule) are reported in the step details but do not make the result ``changed``:
a second run on a prepared machine reports ``changed: false``.
"""
from __future__ import annotations

import dataclasses
import re
import typing as t

from . import _cert_filter
from ._batch import BatchOutcome, OpOutcome
from ._client_facts import (
    TRUSTED_ROOT_KEY_CLASS,
    TRUSTED_ROOT_KEY_NAMESPACE,
    assigned_site,
    site_assignment_unknown,
)
from ._host_contract import HEALTH_TASK_NAME, HEALTH_TASK_PATH, MOBILE_CLIENT_KEY, MP_BLOCK_RULE_NAME
from ._host_contract import IMAGE_PREP_RECORD_KEY, guard_hresult
from ._ops import PlannedOp, get_op, snake_to_pascal, validate_args

SCENARIOS = ("recapture", "new")

# Execution (and report) order.
STEPS = (
    "leave_provisioning_mode",
    "disable_health_task",
    "stop_service",
    "remove_trusted_root_key",
    "reset_site_assignment",
    "reset_hardware_inventory",
    "clear_gp_site_assignment",
    "remove_sms_certificates",
    "remove_pki_certificates",
    "remove_smscfg",
    "empty_ccmcache",
    "final_start_mode",
)
OPTIONAL_STEPS = ("leave_provisioning_mode", "reset_hardware_inventory", "clear_gp_site_assignment", "empty_ccmcache")

# Scenario A also deletes SMSCFG.ini: ccmsetup writes it with a GUID even without a site, and Microsoft's
# "Prepare the client computer for imaging" always deletes it (domain-reference 2.2).
_CORE_NEW = ("disable_health_task", "stop_service", "remove_trusted_root_key", "remove_sms_certificates",
             "remove_pki_certificates", "remove_smscfg", "final_start_mode")
SCENARIO_DEFAULTS: dict[str, dict[str, bool]] = {
    "new": {step: step in _CORE_NEW for step in STEPS},
    "recapture": {step: step in (*_CORE_NEW, "reset_site_assignment") for step in STEPS},
}

# Where each step comes from: seed article step numbers (A = new capture, B = recapture), or the
# domain reference (field practice beyond the seed).
SEED_REFERENCES = {
    "leave_provisioning_mode": "field practice (domain-reference 1.3)",
    "disable_health_task": "seed A-2.3 / B-1.3, restored as in A-5 / B-5",
    "stop_service": "seed A-2 / B-1",
    "remove_trusted_root_key": "seed A-4 / B-2",
    "reset_site_assignment": "seed B-2",
    "reset_hardware_inventory": "field practice (domain-reference 1.2, 2.3)",
    "clear_gp_site_assignment": "field practice (domain-reference 1.3, 2.3)",
    "remove_sms_certificates": "seed A-3 / B-3",
    "remove_pki_certificates": "seed A-3 / B-3 (PKI, HTTPS sites)",
    "remove_smscfg": "seed B-4; scenario A: Microsoft Learn, Prepare the client computer for imaging",
    "empty_ccmcache": "field practice (domain-reference 2.3)",
    "final_start_mode": "seed A-5 / B-5",
    "start_sysprep": "seed A-6 / B-6",
}

SERVICE = "CcmExec"
HEALTH_TASK_MARKER = "ImagePrepHealthTaskDisabled"
# Where service.ensure records the recovery actions of CcmExec it suspends before ending a hung process
# (restored by the always op restore_service_recovery, or by the next run).
SERVICE_RECOVERY_MARKER = "ImagePrepCcmExecRecoveryActions"
HW_INVENTORY_ACTION_ID = "{00000000-0000-0000-0000-000000000001}"
GP_SITE_ASSIGNMENT_VALUES = ("GPRequestedSiteAssignmentCode", "GPSiteAssignmentRetryInterval(Min)",
                             "GPSiteAssignmentRetryDuration(Hour)")
SMSCFG_PATH = "%windir%\\SMSCFG.ini"
# What the health evaluation task is at the end of the run: enabled, or as it was before the run.
HEALTH_TASK_FINAL_STATES = ("enabled", "as_found")
# prepare: run the procedure; verify: read every readiness item and change nothing (_generalize_verify).
MODES = ("prepare", "verify")
RECORD_KEY = "HKLM\\" + IMAGE_PREP_RECORD_KEY
CAPTURE_READY_HRESULT = f"0x{guard_hresult('capture_ready'):08X}"
NOT_READY = "not started: not ready for capture"
FINAL_HEALTH_TASK = "disable_health_task.final_state"
DEFAULT_CCMCACHE_PATH = "%windir%\\ccmcache"

# Guard op -> (guard name, override hint or None when no override is safe).
GUARDS = {
    "guard.assert_not_site_system": ("not_site_system", None),
    "guard.assert_client_installed": ("client_installed", None),
    "guard.assert_ccmsetup_idle": ("ccmsetup_idle", None),
    "guard.assert_no_task_sequence": ("no_task_sequence", None),
    "guard.assert_not_provisioning": (
        "not_provisioning",
        "switch on steps.leave_provisioning_mode to leave provisioning mode through "
        "SMS_Client.SetClientProvisioningMode first, or set allow_provisioning_mode=true to capture it as is"),
    "guard.assert_certificate_filter": (
        "certificate_filter",
        "list the certificates to remove in pki_certificate_filter.thumbprints, narrow pki_certificate_filter.issuer "
        "(the issuer's full distinguished name or its CN) or pki_certificate_filter.template (the template name or "
        "OID), or set pki_certificate_filter.allow_multiple=true to remove every certificate the filter selects"),
}

_THUMBPRINT_RE = re.compile(r"^[0-9A-Fa-f]{40}$")
_STORE_RE = re.compile(r"^[A-Za-z0-9 ._-]{1,64}$")


@dataclasses.dataclass(frozen=True)
class PkiFilter:
    """Which client-authentication certificates ``remove_pki_certificates`` removes (all must hold)."""

    store_name: str = "My"
    thumbprints: tuple[str, ...] = ()
    issuer: str | None = None
    template: str | None = None
    allow_multiple: bool = False

    @property
    def empty(self) -> bool:
        return not (self.thumbprints or self.issuer or self.template)

    def matches(self, cert: dict[str, t.Any]) -> bool:
        """The rule of _cert_filter (shared with the simulated lab; the PowerShell implements the same)."""
        return _cert_filter.certificate_matches(cert, thumbprints=self.thumbprints, issuer=self.issuer,
                                                template=self.template, require_client_auth=True)

    def filter_args(self) -> dict[str, t.Any]:
        """The filter as cert.remove / guard.assert_certificate_filter arguments."""
        args: dict[str, t.Any] = {"store_name": self.store_name, "require_client_auth": True,
                                  "allow_multiple": self.allow_multiple}
        if self.thumbprints:
            args["thumbprints"] = list(self.thumbprints)
        if self.issuer:
            args["issuer"] = self.issuer
        if self.template:
            args["template"] = self.template
        return args


@dataclasses.dataclass(frozen=True)
class GeneralizeOptions:
    """The module options after validation."""

    scenario: str = "recapture"
    steps: dict[str, bool] = dataclasses.field(default_factory=dict)
    pki_filter: PkiFilter | None = None
    service_stop_timeout: int = 60
    kill_hung_service: bool = True
    ccmcache_path: str = DEFAULT_CCMCACHE_PATH
    allow_provisioning_mode: bool = False
    remove_mp_block_rules: bool = False
    sysprep: bool = False
    sysprep_mode_vm: bool = False
    health_task_final_state: str = "enabled"
    mode: str = "prepare"
    fail_when_not_ready: bool = True

    # Step -> skip detail: steps the imaging platform performs itself (platform_handles=auto, apply_platform_skips).
    platform_skipped: dict[str, str] = dataclasses.field(default_factory=dict)

    def enabled(self, step: str) -> bool:
        return bool(self.steps.get(step))

    @property
    def any_client_step(self) -> bool:
        return any(self.steps.get(step) for step in STEPS)


class OptionError(ValueError):
    """Bad module options; the message names the option, the value and what is allowed."""


def _clean_list(value: t.Any) -> list[str]:
    return [str(v).strip() for v in (value or []) if str(v).strip()]


def build_options(params: dict[str, t.Any]) -> GeneralizeOptions:
    """Turn validated module params into :class:`GeneralizeOptions`; cross-option checks raise OptionError."""
    problems: list[str] = []
    scenario = params.get("scenario") or "recapture"
    if scenario not in SCENARIOS:
        problems.append(f"scenario={scenario!r} is not one of: {', '.join(SCENARIOS)}")
        scenario = "recapture"
    overrides = {k: v for k, v in (params.get("steps") or {}).items() if v is not None}
    unknown = sorted(set(overrides) - set(STEPS))
    if unknown:
        problems.append(f"steps.{unknown[0]} is not a step; steps are: {', '.join(STEPS)}")
    steps = dict(SCENARIO_DEFAULTS[scenario])

    raw_filter = params.get("pki_certificate_filter") or {}
    pki_filter: PkiFilter | None = None
    filter_given = bool(raw_filter)
    if filter_given:
        thumbprints = tuple(tp.replace(" ", "").upper() for tp in _clean_list(raw_filter.get("thumbprints")))
        bad = [tp for tp in thumbprints if not _THUMBPRINT_RE.match(tp)]
        if bad:
            problems.append(f"pki_certificate_filter.thumbprints: {bad[0]!r} is not a SHA-1 thumbprint "
                            "(40 hexadecimal characters)")
        store = str(raw_filter.get("store_name") or "My").strip()
        if not _STORE_RE.match(store) or store.upper() == "SMS":
            problems.append(f"pki_certificate_filter.store_name={store!r} is not allowed: give a LocalMachine store "
                            "name such as My (the SMS store is the remove_sms_certificates step)")
        criteria: dict[str, str | None] = {}
        for name, problem_of, allowed in (
                ("issuer", _cert_filter.issuer_problem,
                 "the issuer's full distinguished name, attributes in any order (for example "
                 "'CN=Contoso Issuing CA 01, DC=contoso, DC=local'), or its common name exactly "
                 "(for example 'Contoso Issuing CA 01'); never part of a name"),
                ("template", _cert_filter.template_problem,
                 "the certificate template name (for example 'ConfigMgr Client Certificate', case-insensitive) or "
                 "its OID (for example 1.3.6.1.4.1.311.21.8.1.2; all an offline machine shows of a v2 template); "
                 "never part of a name")):
            value = raw_filter.get(name)
            criteria[name] = None
            if value is None:
                continue
            problem = problem_of(str(value))
            if problem:
                problems.append(f"pki_certificate_filter.{name}={str(value)!r} is not allowed: {problem}; "
                                f"give {allowed}")
                continue
            criteria[name] = str(value).strip()
        allow_multiple = raw_filter.get("allow_multiple")
        allow_multiple = False if allow_multiple is None else allow_multiple
        if not isinstance(allow_multiple, bool):
            problems.append(f"pki_certificate_filter.allow_multiple={allow_multiple!r} must be true or false")
            allow_multiple = False
        pki_filter = PkiFilter(store_name=store, thumbprints=thumbprints, issuer=criteria["issuer"],
                               template=criteria["template"], allow_multiple=allow_multiple)
        refused_criterion = any(p.startswith(("pki_certificate_filter.issuer", "pki_certificate_filter.template"))
                                for p in problems)
        if pki_filter.empty and not refused_criterion:
            problems.append("pki_certificate_filter needs at least one of thumbprints, issuer, template; "
                            "removing all certificates of a store is never done")
            pki_filter = None
    # remove_pki_certificates is on only with a filter.
    steps["remove_pki_certificates"] = pki_filter is not None
    for step, value in overrides.items():
        if step in STEPS:
            steps[step] = bool(value)
    if steps["remove_pki_certificates"] and not filter_given:
        problems.append("steps.remove_pki_certificates=true needs pki_certificate_filter with at least one of "
                        "thumbprints, issuer, template; removing all certificates is never done")

    timeout = params.get("service_stop_timeout", 60)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 3600:
        problems.append(f"service_stop_timeout={timeout!r} must be an integer from 1 to 3600 (seconds)")
        timeout = 60
    cache = str(params.get("ccmcache_path") or DEFAULT_CCMCACHE_PATH).strip()
    if re.split(r"[\\/]", cache.rstrip("\\/"))[-1].lower() != "ccmcache" or '"' in cache:
        problems.append(f"ccmcache_path={cache!r} must be a folder named ccmcache (for example "
                        f"{DEFAULT_CCMCACHE_PATH}); image prep never empties another folder")
    sysprep = params.get("sysprep") or {}
    final_state = params.get("health_task_final_state") or "enabled"
    if final_state not in HEALTH_TASK_FINAL_STATES:
        problems.append(f"health_task_final_state={final_state!r} is not one of: {', '.join(HEALTH_TASK_FINAL_STATES)}")
    mode = params.get("mode") or "prepare"
    if mode not in MODES:
        problems.append(f"mode={mode!r} is not one of: {', '.join(MODES)}")
    if mode == "verify" and sysprep.get("enabled"):
        problems.append("mode=verify changes nothing, so it never starts sysprep: set sysprep.enabled=false, or "
                        "use mode=prepare")
    if problems:
        raise OptionError("; ".join(problems))
    return GeneralizeOptions(
        scenario=scenario,
        steps=steps,
        pki_filter=pki_filter,
        service_stop_timeout=timeout,
        kill_hung_service=bool(params.get("kill_hung_service", True)),
        ccmcache_path=cache,
        allow_provisioning_mode=bool(params.get("allow_provisioning_mode")),
        remove_mp_block_rules=bool(params.get("remove_mp_block_rules")),
        sysprep=bool(sysprep.get("enabled")),
        sysprep_mode_vm=bool(sysprep.get("mode_vm")),
        health_task_final_state=final_state,
        mode=mode,
        fail_when_not_ready=bool(params.get("fail_when_not_ready", True)),
    )


def apply_platform_skips(options: GeneralizeOptions, skips: dict[str, str]) -> GeneralizeOptions:
    """Switch off the switched-on steps the imaging platform performs itself, remembering why (reported per step).

    ``skips`` comes from ``_imaging_platform.platform_handled_steps``; running both breaks the platform's step.
    """
    skipped = {step: detail for step, detail in skips.items() if options.enabled(step)}
    if not skipped:
        return options
    steps = {**options.steps, **{step: False for step in skipped}}
    return dataclasses.replace(options, steps=steps, platform_skipped=skipped)


# --- plan -----------------------------------------------------------------------------------------
def _reads(prefix: str, options: GeneralizeOptions, always: bool) -> list[PlannedOp]:
    ops = [
        PlannedOp(f"{prefix}.identity", "client.read_identity", always=always),
        PlannedOp(f"{prefix}.site_assignment", "client.read_site_assignment", always=always),
        PlannedOp(f"{prefix}.sms_certificates", "cert.list", {"store_name": "SMS"}, always=always),
    ]
    if options.pki_filter is not None:
        ops.append(PlannedOp(f"{prefix}.pki_certificates", "cert.list", {"store_name": options.pki_filter.store_name},
                             always=always))
    ops += [
        PlannedOp(f"{prefix}.ccmexec", "service.read", {"name": SERVICE}, always=always),
        PlannedOp(f"{prefix}.health_task", "task.read", {"path": HEALTH_TASK_PATH, "name": HEALTH_TASK_NAME},
                  always=always),
        PlannedOp(f"{prefix}.trusted_root_key", "wmi.count_instances",
                  {"namespace": TRUSTED_ROOT_KEY_NAMESPACE, "class_name": TRUSTED_ROOT_KEY_CLASS}, always=always),
        PlannedOp(f"{prefix}.provisioning_mode", "client.read_provisioning_mode", always=always),
    ]
    return ops


def _guards(options: GeneralizeOptions) -> list[PlannedOp]:
    if not options.any_client_step:
        return []
    ops = [
        PlannedOp("guard.not_site_system", "guard.assert_not_site_system"),
        PlannedOp("guard.client_installed", "guard.assert_client_installed"),
        PlannedOp("guard.ccmsetup_idle", "guard.assert_ccmsetup_idle"),
        PlannedOp("guard.no_task_sequence", "guard.assert_no_task_sequence"),
    ]
    if not (options.allow_provisioning_mode or options.enabled("leave_provisioning_mode")):
        ops.append(PlannedOp("guard.not_provisioning", "guard.assert_not_provisioning"))
    if options.enabled("remove_pki_certificates") and options.pki_filter is not None:
        # Read-only, before any change: a filter without thumbprints that selects several certificates.
        ops.append(PlannedOp("guard.pki_filter", "guard.assert_certificate_filter", options.pki_filter.filter_args()))
    return ops


def step_ops(step: str, options: GeneralizeOptions) -> list[PlannedOp]:
    """The ops of one step (ids are the step name, or ``step.part``)."""
    health_task = {"path": HEALTH_TASK_PATH, "name": HEALTH_TASK_NAME}
    if step == "leave_provisioning_mode":
        return [PlannedOp(step, "client.set_provisioning_mode", {"enabled": False})]
    if step == "disable_health_task":
        return [PlannedOp(step, "task.ensure_enabled", {**health_task, "enabled": False, "marker": HEALTH_TASK_MARKER})]
    if step == "stop_service":
        return [PlannedOp(step, "service.ensure", {
            "name": SERVICE, "state": "stopped", "start_mode": "manual",
            "stop_timeout_seconds": options.service_stop_timeout, "kill_on_timeout": options.kill_hung_service,
            **_recovery_marker(options)})]
    if step == "remove_trusted_root_key":
        return [PlannedOp(step, "wmi.remove_instances",
                          {"namespace": TRUSTED_ROOT_KEY_NAMESPACE, "class_name": TRUSTED_ROOT_KEY_CLASS})]
    if step == "reset_site_assignment":
        return [PlannedOp(step, "client.reset_site_assignment")]
    if step == "reset_hardware_inventory":
        return [PlannedOp(step, "wmi.remove_instances", {
            "namespace": "root\\ccm\\invagt", "class_name": "InventoryActionStatus",
            "property_name": "InventoryActionID", "property_value": HW_INVENTORY_ACTION_ID})]
    if step == "clear_gp_site_assignment":
        return [PlannedOp(step, "registry.remove_values",
                          {"path": MOBILE_CLIENT_KEY, "names": list(GP_SITE_ASSIGNMENT_VALUES)})]
    if step == "remove_sms_certificates":
        return [PlannedOp(step, "cert.remove", {"store_name": "SMS", "remove_all": True, "require_client_auth": False})]
    if step == "remove_pki_certificates":
        pki = options.pki_filter
        if pki is None:
            raise ValueError("remove_pki_certificates needs a pki_certificate_filter")
        return [PlannedOp(step, "cert.remove", pki.filter_args())]
    if step == "remove_smscfg":
        return [PlannedOp(step, "file.remove", {"path": SMSCFG_PATH})]
    if step == "empty_ccmcache":
        # The cache index in WMI goes with the files, or clones would believe content is cached.
        return [PlannedOp(step, "folder.empty", {"path": options.ccmcache_path, "required_leaf": "ccmcache"}),
                PlannedOp(f"{step}.index", "wmi.remove_instances",
                          {"namespace": "root\\ccm\\SoftMgmtAgent", "class_name": "CacheInfoEx"})]
    if step == "final_start_mode":
        return [PlannedOp(step, "service.ensure", {
            "name": SERVICE, "state": "stopped", "start_mode": "delayed_auto",
            "stop_timeout_seconds": options.service_stop_timeout, "kill_on_timeout": options.kill_hung_service,
            **_recovery_marker(options)})]
    raise ValueError(f"unknown step {step}")


def _recovery_marker(options: GeneralizeOptions) -> dict[str, str]:
    """Ending a hung CcmExec is a service failure to the SCM, which runs the service's recovery actions
    (restart): service.ensure suspends them first, recording them under this marker."""
    return {"recovery_marker": SERVICE_RECOVERY_MARKER} if options.kill_hung_service else {}


def _restore_recovery(options: GeneralizeOptions) -> list[PlannedOp]:
    """The always op that restores the recovery actions suspended before a kill (nothing when none were)."""
    if not options.kill_hung_service or not (options.enabled("stop_service") or options.enabled("final_start_mode")):
        return []
    return [PlannedOp("restore_service_recovery", "service.restore_recovery",
                      {"name": SERVICE, "marker": SERVICE_RECOVERY_MARKER}, always=True)]


def _record_op(options: GeneralizeOptions) -> PlannedOp | None:
    """Record on the host what the steps are about to remove, before they remove it (see _host_contract)."""
    filters: list[dict[str, t.Any]] = []
    for step in ("remove_sms_certificates", "remove_pki_certificates"):
        if options.enabled(step):
            # The step's own cert.remove arguments: the record lists exactly what the step matches.
            remove = next((op for op in step_ops(step, options) if op.op == "cert.remove"), None)
            if remove is None:
                continue
            args = validate_args(get_op(remove.op), remove.args)
            filters.append({snake_to_pascal(k): v for k, v in args.items() if v is not None})
    flags = {"smscfg": options.enabled("remove_smscfg"),
             "site_assignment": options.enabled("reset_site_assignment"),
             "trusted_root_key": options.enabled("remove_trusted_root_key")}
    if not filters and not any(flags.values()):
        return None
    return PlannedOp("record_removal", "image.write_removal_record", {**flags, "certificate_filters": filters})


def _sysprep_ops(options: GeneralizeOptions) -> list[PlannedOp]:
    return [PlannedOp("capture_ready", "guard.assert_capture_ready",
                      {"check_sms_store": "remove_sms_certificates" not in options.platform_skipped,
                       "check_smscfg": "remove_smscfg" not in options.platform_skipped,
                       "check_trusted_root_key": True}),
            PlannedOp("start_sysprep", "sysprep.start", {"mode_vm": options.sysprep_mode_vm})]


def plan_generalize(options: GeneralizeOptions, check_mode: bool = False) -> list[PlannedOp]:
    """The procedure as one batch (see the module docstring for its parts).

    The real run starts sysprep in the second execution (:func:`plan_followup`), behind the host record's
    removal and the capture-ready gate. Check mode plans sysprep here without the gate, which would only
    see the host as it was before the steps; the shaper predicts the gate from the plan instead.
    """
    plan = _reads("before", options, always=False)
    if options.any_client_step:
        plan.append(PlannedOp("before.removal_record", "image.read_removal_record"))
    plan += _guards(options)
    record = _record_op(options)
    if record is not None:
        plan.append(record)
    for step in STEPS:
        if options.enabled(step):
            plan += step_ops(step, options)
    if options.enabled("disable_health_task"):
        plan.append(PlannedOp("restore_health_task", "task.ensure_enabled",
                              {"path": HEALTH_TASK_PATH, "name": HEALTH_TASK_NAME, "enabled": True,
                               "marker": HEALTH_TASK_MARKER}, always=True))
        if options.health_task_final_state == "enabled":
            # Also a task that was disabled before the run (not by image prep): clones must run ccmeval. Not
            # "always": after a guard nothing is changed, and after a failed step the rerun enables it.
            plan.append(PlannedOp(FINAL_HEALTH_TASK, "task.ensure_enabled",
                                  {"path": HEALTH_TASK_PATH, "name": HEALTH_TASK_NAME, "enabled": True}))
    plan += _restore_recovery(options)
    if options.remove_mp_block_rules:
        plan.append(PlannedOp("remove_mp_block_rules", "firewall.ensure_block_rule",
                              {"name": MP_BLOCK_RULE_NAME, "state": "absent"}, always=True))
    plan += _reads("after", options, always=True)
    if options.sysprep and check_mode:
        plan.append(PlannedOp("start_sysprep", "sysprep.start", {"mode_vm": options.sysprep_mode_vm}))
    return plan


def record_at_end(outcome: BatchOutcome) -> dict[str, t.Any]:
    """The host record as the first batch left it (written by record_removal, or found before)."""
    op = outcome.ops.get("record_removal")
    if op is not None and op.succeeded and op.after is not None:
        return op.after
    return outcome.data("before.removal_record") or {}


def plan_followup(outcome: BatchOutcome, options: GeneralizeOptions, check_mode: bool = False) -> list[PlannedOp]:
    """The second module execution of a real run, after the answer of the first one has arrived.

    It removes the host record, whose content the first answer carried, and then (sysprep enabled, the
    run clean and the machine ready for capture) runs the capture-ready gate and starts sysprep. Nothing
    after check mode, a runner failure, a guard (nothing was changed; a record is kept for the next run)
    or when there is nothing to do.
    """
    if check_mode or outcome.runner_failed:
        return []
    failed = outcome.ops.get(outcome.failed_op) if outcome.failed_op else None
    if failed is not None and failed.op in GUARDS:
        return []
    plan: list[PlannedOp] = []
    record = record_at_end(outcome)
    if record.get("present") and record.get("record_id"):
        plan.append(PlannedOp("clear_removal_record", "image.clear_removal_record", {"record_id": record["record_id"]}))
    if options.sysprep and failed is None and _ready_but_for_the_record(outcome, options):
        plan += _sysprep_ops(options)
    return plan


def _ready_but_for_the_record(outcome: BatchOutcome, options: GeneralizeOptions) -> bool:
    if any(s.status == "failed" for s in shape_steps(outcome, options, check_mode=False)
           if s.name != "start_sysprep"):
        return False
    restore = outcome.ops.get("restore_health_task")
    if restore is not None and restore.status == "failed":
        return False
    problems, _warnings, exists = readiness(outcome, options, check_mode=False, record_present=False)
    return exists and not problems


def merge_outcomes(first: BatchOutcome, second: BatchOutcome | None) -> BatchOutcome:
    """One outcome over both executions of a real run (op ids are distinct)."""
    if second is None:
        return first
    ops = dict(first.ops)
    ops.update(second.ops)
    return BatchOutcome(ops, first.changed or second.changed, first.failed_op or second.failed_op,
                        first.runner_failed, first.msg or second.msg, first.raw, first.started_utc,
                        second.finished_utc or first.finished_utc)


# --- shape ----------------------------------------------------------------------------------------
def _cert_line(cert: dict[str, t.Any]) -> str:
    return f"{cert.get('thumbprint')} ({cert.get('subject')})"


def identity_snapshot(outcome: BatchOutcome, prefix: str, options: GeneralizeOptions) -> dict[str, t.Any]:
    """The client identity and service state as read by the ``<prefix>.*`` ops (diff before/after)."""
    identity = outcome.data(f"{prefix}.identity") or {}
    site = outcome.data(f"{prefix}.site_assignment")
    sms = outcome.data(f"{prefix}.sms_certificates") or {}
    pki = outcome.data(f"{prefix}.pki_certificates") or {}
    ccmexec = outcome.data(f"{prefix}.ccmexec") or {}
    task = outcome.data(f"{prefix}.health_task") or {}
    trk = outcome.data(f"{prefix}.trusted_root_key") or {}
    prov = outcome.data(f"{prefix}.provisioning_mode") or {}
    snapshot: dict[str, t.Any] = {
        "sms_unique_id": identity.get("smscfg_unique_id"),
        "smscfg_present": bool(identity.get("smscfg_present")),
        "assigned_site": assigned_site(site),
        "auto_assignment": (site or {}).get("auto_assignment"),
        "gp_site_assignment": dict((site or {}).get("gp_site_assignment") or {}),
        "sms_certificates": [_cert_line(c) for c in sms.get("certificates", [])],
        "trusted_root_keys": trk.get("count", 0) if trk.get("namespace_present") else "namespace absent",
        "ccmexec": f"{ccmexec.get('state')} / {ccmexec.get('start_mode')}" if ccmexec.get("exists") else "absent",
        "health_evaluation_task": ("absent" if not task.get("exists")
                                   else "enabled" if task.get("enabled") else "disabled"),
        "provisioning_mode": prov.get("registry_value"),
    }
    if options.pki_filter is not None:
        snapshot["pki_certificates"] = [_cert_line(c) for c in pki.get("certificates", [])
                                        if options.pki_filter.matches(c)]
    return snapshot


def _predicted_after(before: dict[str, t.Any], outcome: BatchOutcome, options: GeneralizeOptions) -> dict[str, t.Any]:
    """What the batch would leave behind, from the mutating ops' check-mode ``after``."""
    after = dict(before)

    def op_after(op_id: str) -> dict[str, t.Any] | None:
        op = outcome.ops.get(op_id)
        return op.after if op is not None and op.succeeded else None

    provisioning = op_after("leave_provisioning_mode")
    if provisioning:
        after["provisioning_mode"] = provisioning["registry_value"]
    for step in ("final_start_mode", "stop_service"):
        svc = op_after(step)
        if svc:
            after["ccmexec"] = f"{svc['state']} / {svc['start_mode']}"
            break
    if op_after("remove_trusted_root_key") and before["trusted_root_keys"] != "namespace absent":
        after["trusted_root_keys"] = 0
    site = op_after("reset_site_assignment")
    if site:
        after["assigned_site"] = site.get("assigned_site") or None
        after["auto_assignment"] = site.get("auto_assignment")
    if op_after("clear_gp_site_assignment"):
        after["gp_site_assignment"] = {}
    for step, key in (("remove_sms_certificates", "sms_certificates"), ("remove_pki_certificates", "pki_certificates")):
        op = outcome.ops.get(step)
        if op is not None and op.succeeded and op.before:
            gone = {_cert_line(c) for c in op.before.get("matching", [])}
            after[key] = [line for line in before.get(key, []) if line not in gone]
    if op_after("remove_smscfg"):
        after["smscfg_present"] = False
        after["sms_unique_id"] = None
    return after


def _op_error(op: OpOutcome) -> str:
    err = op.error or {}
    return f"{err.get('hresult', 'unknown code')}: {err.get('message', 'no message')}"


@dataclasses.dataclass
class StepReport:
    """One row of ``steps``."""

    name: str
    status: str  # changed | ok | skipped | failed
    detail: str
    reference: str
    verified: bool | None = None
    verification: str | None = None
    ops: list[str] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, t.Any]:
        return dataclasses.asdict(self)


def _step_detail(step: str, ops: list[OpOutcome], outcome: BatchOutcome, options: GeneralizeOptions,
                 check_mode: bool) -> tuple[bool, str]:
    """Net change of a step that ran, and a one-line detail."""
    first = ops[0]
    before, after = first.before or {}, first.after or {}

    def verb(present: str, past: str) -> str:
        return f"would {present}" if check_mode else past
    if step == "disable_health_task":
        restore = outcome.ops.get("restore_health_task")
        if not before.get("exists"):
            return False, "the task does not exist; nothing to disable"
        if before.get("enabled") is False and not before.get("marker_present"):
            final = outcome.ops.get(FINAL_HEALTH_TASK)
            if options.health_task_final_state == "enabled" and final is not None and final.succeeded:
                return True, ("the task was disabled before the run (not by image prep); "
                              f"{verb('enable', 'enabled')} it at the end (health_task_final_state=enabled)")
            if options.health_task_final_state == "enabled":
                return False, ("the task was disabled before the run (not by image prep); not enabled: the run "
                               "stopped before the end")
            return False, ("the task was already disabled before the run (not by image prep); left disabled as "
                           "found (health_task_final_state=as_found): clones will not run the health evaluation")
        restored = restore is not None and restore.succeeded and (restore.after or {}).get("enabled")
        if before.get("enabled") is False and before.get("marker_present"):
            return True, f"{verb('re-enable', 're-enabled')} the task an interrupted run had disabled"
        if check_mode:
            return False, "would disable the task for the duration and re-enable it at the end"
        if restored:
            return False, "disabled for the duration and re-enabled at the end"
        return True, "disabled; re-enabling it at the end failed (see restore_health_task)"
    if step in ("stop_service", "final_start_mode"):
        stop = outcome.ops.get("stop_service")
        initial_mode = (stop.before or {}).get("start_mode") if stop is not None and stop.before else None
        parts: list[str] = []
        changed = False
        state_before = before.get("state")
        if step == "final_start_mode" and check_mode and stop is not None and stop.succeeded and stop.after:
            # Check mode changes nothing, so this op still sees the service running: stop_service stops it.
            state_before = stop.after.get("state")
        if state_before != "stopped":
            changed = True
            parts.append(f"{verb('stop', 'stopped')} CcmExec (was {before.get('state')})")
            if after.get("killed"):
                parts.append(f"ended its process: it did not stop within {options.service_stop_timeout} s")
                if after.get("recovery_suspended"):
                    parts.append("its recovery actions (which restart it after a failure) were suspended first "
                                 "and are restored at the end (restore_service_recovery)")
        if step == "stop_service":
            if before.get("start_mode") != after.get("start_mode"):
                if options.enabled("final_start_mode"):
                    parts.append(f"start mode {after.get('start_mode')} for the duration")
                else:
                    changed = True
                    parts.append(f"{verb('set', 'set')} start mode {after.get('start_mode')} "
                                 f"(was {before.get('start_mode')})")
        else:
            mode_before = initial_mode or before.get("start_mode")
            if mode_before != after.get("start_mode"):
                changed = True
                parts.append(f"{verb('set', 'set')} start mode {after.get('start_mode')} (was {mode_before}); "
                             "not started")
        if not parts:
            return False, f"already {after.get('state')}, start mode {after.get('start_mode')}"
        return changed, "; ".join(parts)
    if not any(op.changed for op in ops):
        if step == "remove_trusted_root_key" and not before.get("namespace_present"):
            return False, "namespace root\\ccm\\locationservices absent: the client never talked to an MP"
        if step in ("remove_sms_certificates", "remove_pki_certificates") and not before.get("store_exists"):
            return False, f"store {before.get('store')} does not exist"
        return False, "already done"
    if step == "leave_provisioning_mode":
        return True, f"{verb('leave', 'left')} provisioning mode through SMS_Client.SetClientProvisioningMode"
    if step in ("remove_trusted_root_key", "reset_hardware_inventory"):
        return True, f"{verb('remove', 'removed')} {before.get('count')} {before.get('class_name')} instance(s)"
    if step == "reset_site_assignment":
        return True, (f"{verb('remove', 'removed')} site assignment {before.get('assigned_site') or '(none)'}, "
                      f"{verb('enable', 'enabled')} auto-assignment")
    if step == "clear_gp_site_assignment":
        return True, f"{verb('delete', 'deleted')} {', '.join(sorted(before.get('values', {})))}"
    if step in ("remove_sms_certificates", "remove_pki_certificates"):
        return True, (f"{verb('remove', 'removed')} {len(before.get('matching', []))} certificate(s) from "
                      f"{before.get('store')}")
    if step == "remove_smscfg":
        return True, f"{verb('delete', 'deleted')} {before.get('path')}"
    if step == "empty_ccmcache":
        return True, (f"{verb('delete', 'deleted')} {before.get('item_count', 0)} file(s), "
                      f"{before.get('size_bytes', 0)} bytes, from {before.get('path')}")
    return True, verb("change", "changed")


def _verify(step: str, outcome: BatchOutcome, options: GeneralizeOptions) -> tuple[bool | None, str | None]:
    """Check a step against the ``after.*`` reads (or the op's own re-read)."""
    def data(name: str) -> dict[str, t.Any] | None:
        return outcome.data(f"after.{name}")

    if step == "leave_provisioning_mode":
        prov = data("provisioning_mode")
        if prov is None:
            return None, None
        ok = prov.get("registry_value") != "true"
        return ok, f"ProvisioningMode = {prov.get('registry_value')}"
    if step == "disable_health_task":
        task = data("health_task")
        first = outcome.ops.get(step)
        if task is None or first is None or not first.before:
            return None, None
        if not task.get("exists"):
            return True, "task absent"
        final = outcome.ops.get(FINAL_HEALTH_TASK)
        wanted = (True if first.before.get("marker_present") or (final is not None and final.succeeded)
                  else first.before.get("enabled"))
        return task.get("enabled") == wanted, f"task {'enabled' if task.get('enabled') else 'disabled'} after the run"
    if step in ("stop_service", "final_start_mode"):
        svc = data("ccmexec")
        if svc is None:
            return None, None
        if step == "stop_service":
            text = f"CcmExec {svc.get('state')}"
            recovery = outcome.ops.get("restore_service_recovery")
            if recovery is not None and recovery.succeeded and recovery.changed:
                text += (f" at the end of the batch; its recovery actions "
                         f"{', '.join((recovery.after or {}).get('actions') or [])} are restored")
            return svc.get("state") == "stopped", text
        ok = svc.get("state") == "stopped" and svc.get("start_mode") == "delayed_auto"
        return ok, f"CcmExec {svc.get('state')}, start mode {svc.get('start_mode')}"
    if step == "remove_trusted_root_key":
        trk = data("trusted_root_key")
        if trk is None:
            return None, None
        if not trk.get("namespace_present"):
            return True, "namespace absent"
        return trk.get("count") == 0, f"{trk.get('count')} TrustedRootKey instance(s)"
    if step == "reset_site_assignment":
        site = data("site_assignment")
        if site is None:
            return None, None
        assigned = assigned_site(site)
        ok = assigned is None and site.get("auto_assignment") is not False
        return ok, f"assigned site {assigned or '(blank)'}, auto-assignment {site.get('auto_assignment')}"
    if step == "clear_gp_site_assignment":
        site = data("site_assignment")
        if site is None:
            return None, None
        left = sorted((site.get("gp_site_assignment") or {}))
        return not left, "no GP site-assignment value" if not left else f"left: {', '.join(left)}"
    if step == "remove_sms_certificates":
        sms = data("sms_certificates")
        if sms is None:
            return None, None
        left = sms.get("certificates", [])
        keys_ok, keys_text = _key_verification(outcome.ops.get(step))
        return not left and keys_ok, f"{len(left)} certificate(s) in LocalMachine\\SMS{keys_text}"
    if step == "remove_pki_certificates":
        pki = data("pki_certificates")
        if pki is None or options.pki_filter is None:
            return None, None
        left = [c for c in pki.get("certificates", []) if options.pki_filter.matches(c)]
        keys_ok, keys_text = _key_verification(outcome.ops.get(step))
        return not left and keys_ok, (f"{len(left)} matching certificate(s) in "
                                      f"LocalMachine\\{options.pki_filter.store_name}{keys_text}")
    if step == "remove_smscfg":
        identity = data("identity")
        if identity is None:
            return None, None
        return not identity.get("smscfg_present"), (f"{identity.get('smscfg_path')} "
                                                    f"{'present' if identity.get('smscfg_present') else 'absent'}")
    if step in ("reset_hardware_inventory", "empty_ccmcache"):
        op = outcome.ops.get(step)
        if op is None or not op.succeeded or op.after is None:
            return None, None
        key = "count" if step == "reset_hardware_inventory" else "item_count"
        return op.after.get(key) == 0, f"{op.after.get(key)} left (re-read by the op)"
    return None, None


def _key_verification(op: OpOutcome | None) -> tuple[bool, str]:
    """What cert.remove saw when it opened the store and the key containers again after removing."""
    removed = ((op.after or {}).get("removed") or []) if op is not None and op.succeeded else []
    if not removed:
        return True, ""
    with_key = [r for r in removed if r.get("key_removed") is not None]
    kept = [r for r in removed if r.get("certificate_removed") is False or r.get("key_removed") is False]
    text = f"; {sum(1 for r in with_key if r.get('key_removed'))} of {len(with_key)} private key container(s) gone"
    if kept:
        text += " (left: " + ", ".join(
            f"{r.get('thumbprint')}" + (f" key {r.get('key_provider')} {r.get('key_container')}"
                                        if r.get("key_removed") is False else " certificate")
            for r in kept) + ")"
    return not kept, text


def _step_ops(step: str, outcome: BatchOutcome) -> list[OpOutcome]:
    return [op for op_id, op in outcome.ops.items() if (op_id == step or op_id.startswith(step + "."))
            and not (op_id == FINAL_HEALTH_TASK and op.status in ("not_run", "missing"))]


def shape_steps(outcome: BatchOutcome, options: GeneralizeOptions, check_mode: bool) -> list[StepReport]:
    """One report per step (switched-off steps included), plus start_sysprep when asked for."""
    failed = outcome.ops.get(outcome.failed_op) if outcome.failed_op else None
    guard_tripped = failed is not None and failed.op in GUARDS
    reports: list[StepReport] = []
    names = list(STEPS) + (["start_sysprep"] if options.sysprep else [])
    for step in names:
        report = StepReport(step, "skipped", "", SEED_REFERENCES[step])
        if step != "start_sysprep" and not options.enabled(step):
            default = SCENARIO_DEFAULTS[options.scenario][step]
            if step in options.platform_skipped:
                report.detail = options.platform_skipped[step]
            elif step == "remove_pki_certificates" and options.pki_filter is None:
                report.detail = "off: no pki_certificate_filter given"
            elif step in OPTIONAL_STEPS and not default:
                report.detail = "off by default (optional step)"
            elif not default:
                report.detail = f"not part of scenario {options.scenario}"
            else:
                report.detail = "switched off by steps." + step
            reports.append(report)
            continue
        ops = _step_ops(step, outcome) if step != "start_sysprep" else [
            op for op_id, op in outcome.ops.items() if op_id in ("capture_ready", "start_sysprep")]
        report.ops = [op.op for op in ops]
        if step == "start_sysprep" and failed is None and (check_mode or not ops):
            # The real run starts sysprep in its second execution, behind the gate, only on a ready machine;
            # check mode predicts the gate from the plan (the host has not changed).
            problems = readiness(outcome, options, check_mode=check_mode)[0]
            if problems or not ops:
                report.status = "failed"
                report.detail = (f"{NOT_READY} ({CAPTURE_READY_HRESULT}): "
                                 + ("; ".join(problems) or "a step failed or failed its verification"))
                reports.append(report)
                continue
        broken = next((op for op in ops if op.status == "failed"), None)
        if broken is not None:
            report.status = "failed"
            report.detail = f"{broken.op} failed with {_op_error(broken)}"
            reports.append(report)
            continue
        if not ops or any(op.status in ("not_run", "missing") for op in ops):
            if guard_tripped and failed is not None:
                report.detail = f"not run: guard {GUARDS[failed.op][0]} stopped the run"
            elif failed is not None:
                report.detail = f"not run: {failed.id} failed"
            else:
                report.detail = "not run"
            reports.append(report)
            continue
        if step == "start_sysprep":
            start = outcome.ops["start_sysprep"]
            report.status = "changed" if start.changed else "ok"
            cmd = (start.after or {}).get("command_line")
            report.detail = (f"{'would start' if check_mode else 'started'} {cmd} detached, behind the capture-ready "
                             "gate" if start.changed else "sysprep is already running")
            if not check_mode:
                report.verified = bool((start.after or {}).get("running"))
                report.verification = f"sysprep process {(start.after or {}).get('process_id')}"
            reports.append(report)
            continue
        changed, detail = _step_detail(step, ops, outcome, options, check_mode)
        report.status = "changed" if changed else "ok"
        report.detail = detail
        if not check_mode:
            report.verified, report.verification = _verify(step, outcome, options)
            if report.verified is False:
                report.status = "failed"
                report.detail = f"{detail}; verification failed: {report.verification}"
        reports.append(report)
    return reports


def removed_identity(outcome: BatchOutcome, options: GeneralizeOptions) -> dict[str, t.Any]:
    """What the run removed (or, in check mode, would remove); never key material."""
    identity = outcome.data("before.identity") or {}
    site = outcome.data("before.site_assignment") or {}

    def done(step: str) -> OpOutcome | None:
        op = outcome.ops.get(step)
        return op if op is not None and op.succeeded and op.changed else None

    certificates: list[dict[str, t.Any]] = []
    for step in ("remove_sms_certificates", "remove_pki_certificates"):
        op = done(step)
        if op is not None:
            store = (op.before or {}).get("store")
            verified = {r.get("thumbprint"): r for r in (op.after or {}).get("removed") or []}
            certificates += [{"store": store, "thumbprint": c.get("thumbprint"), "subject": c.get("subject"),
                              "issuer": c.get("issuer"), "template": c.get("template"),
                              "key_provider": c.get("key_provider"),
                              "key_removed": (verified.get(c.get("thumbprint")) or {}).get("key_removed")}
                             for c in (op.before or {}).get("matching", [])]
    smscfg = done("remove_smscfg")
    reset = done("reset_site_assignment")
    trk = done("remove_trusted_root_key")
    removed: dict[str, t.Any] = {
        "sms_unique_id": (identity.get("smscfg_unique_id") or identity.get("wmi_client_id")) if smscfg else None,
        "previous_sms_unique_id": identity.get("smscfg_previous_unique_id") if smscfg else None,
        "smscfg_path": (smscfg.before or {}).get("path") if smscfg else None,
        "certificates": certificates,
        "site_code": ((reset.before or {}).get("assigned_site") or None) if reset else None,
        "management_point": site.get("current_management_point") if reset else None,
        "trusted_root_keys": (trk.before or {}).get("count", 0) if trk else 0,
        "recovered_from_host_record": False,
        "recorded_utc": None,
    }
    return _recovered(removed, outcome.data("before.removal_record") or {})


def _recovered(removed: dict[str, t.Any], record: dict[str, t.Any]) -> dict[str, t.Any]:
    """Add what an earlier run recorded on the host before removing it, when that run's answer was lost."""
    if not record.get("present"):
        return removed
    for key in ("sms_unique_id", "previous_sms_unique_id", "smscfg_path", "site_code", "management_point"):
        if not removed[key] and record.get(key):
            removed[key] = record[key]
    known = {(c.get("store"), c.get("thumbprint")) for c in removed["certificates"]}
    removed["certificates"] = [
        *[{k: c.get(k) for k in ("store", "thumbprint", "subject", "issuer", "template")}
          for c in record.get("certificates") or [] if (c.get("store"), c.get("thumbprint")) not in known],
        *removed["certificates"]]
    removed["trusted_root_keys"] = max(int(removed["trusted_root_keys"] or 0),
                                       int(record.get("trusted_root_keys") or 0))
    removed["recovered_from_host_record"] = True
    removed["recorded_utc"] = record.get("recorded_utc")
    return removed


def client_state(outcome: BatchOutcome, options: GeneralizeOptions, check_mode: bool = False) -> dict[str, t.Any]:
    """The client state read at the end of the batch (the verification reads), with the readiness.

    In check mode the state is what the host is now and the readiness what the real run would leave.
    """
    identity = outcome.data("after.identity") or {}
    site = outcome.data("after.site_assignment") or {}
    sms = outcome.data("after.sms_certificates") or {}
    ccmexec = outcome.data("after.ccmexec") or {}
    task = outcome.data("after.health_task") or {}
    trk = outcome.data("after.trusted_root_key") or {}
    prov = outcome.data("after.provisioning_mode") or {}
    state: dict[str, t.Any] = {
        "service": {"name": SERVICE, "exists": bool(ccmexec.get("exists")), "state": ccmexec.get("state"),
                    "start_mode": ccmexec.get("start_mode")},
        "health_evaluation_task": {"exists": bool(task.get("exists")), "enabled": task.get("enabled")},
        "trusted_root_key": {"namespace_present": bool(trk.get("namespace_present")),
                             "count": trk.get("count", 0) if trk.get("namespace_present") else None},
        "site_assignment": {"assigned_site": assigned_site(site), "auto_assignment": site.get("auto_assignment"),
                            "gp_site_assignment": dict(site.get("gp_site_assignment") or {})},
        "sms_certificates": [{"thumbprint": c.get("thumbprint"), "subject": c.get("subject")}
                             for c in sms.get("certificates", [])],
        "smscfg_present": bool(identity.get("smscfg_present")),
        "smscfg_unique_id": identity.get("smscfg_unique_id"),
        "wmi_client_id": identity.get("wmi_client_id"),
        "provisioning_mode": prov.get("registry_value"),
    }
    if options.pki_filter is not None:
        pki = outcome.data("after.pki_certificates") or {}
        state["pki_certificates"] = [{"thumbprint": c.get("thumbprint"), "subject": c.get("subject")}
                                     for c in pki.get("certificates", []) if options.pki_filter.matches(c)]
    return _add_readiness(state, outcome, options, check_mode)


def _view(outcome: BatchOutcome, options: GeneralizeOptions, prefix: str) -> dict[str, t.Any]:
    """What readiness looks at, from the ``<prefix>.*`` reads."""
    identity = outcome.data(f"{prefix}.identity") or {}
    site = outcome.data(f"{prefix}.site_assignment") or {}
    sms = outcome.data(f"{prefix}.sms_certificates") or {}
    pki = outcome.data(f"{prefix}.pki_certificates") or {}
    ccmexec = outcome.data(f"{prefix}.ccmexec") or {}
    task = outcome.data(f"{prefix}.health_task") or {}
    trk = outcome.data(f"{prefix}.trusted_root_key") or {}
    prov = outcome.data(f"{prefix}.provisioning_mode") or {}
    return {
        "ccmexec_exists": bool(ccmexec.get("exists")),
        "ccmexec_state": ccmexec.get("state"),
        "sms_certificates": len(sms.get("certificates", [])),
        "smscfg_present": bool(identity.get("smscfg_present")),
        "sms_unique_id": identity.get("smscfg_unique_id"),
        "trusted_root_keys": (trk.get("count") or 0) if trk.get("namespace_present") else 0,
        "assigned_site": assigned_site(site),
        "site_unknown": (site.get("com_error") or {}).get("hresult") if site_assignment_unknown(site) else None,
        "provisioning_mode": prov.get("registry_value"),
        "pki_certificates": (len([c for c in pki.get("certificates", []) if options.pki_filter.matches(c)])
                             if options.pki_filter is not None else 0),
        "health_task_exists": bool(task.get("exists")),
        "health_task_enabled": task.get("enabled"),
    }


def _predicted_view(outcome: BatchOutcome, options: GeneralizeOptions) -> dict[str, t.Any]:
    """Check mode: the ``before`` view with what each op that would run would change."""
    view = _view(outcome, options, "before")

    def planned(op_id: str) -> OpOutcome | None:
        op = outcome.ops.get(op_id)
        return op if op is not None and op.succeeded else None

    for step in ("stop_service", "final_start_mode"):
        op = planned(step)
        if op is not None and op.after:
            view["ccmexec_state"] = op.after.get("state")
    for step, key in (("remove_sms_certificates", "sms_certificates"), ("remove_pki_certificates", "pki_certificates")):
        op = planned(step)
        if op is not None and op.before:
            view[key] = max(0, view[key] - len(op.before.get("matching", [])))
    if planned("remove_smscfg") is not None:
        view["smscfg_present"] = False
    if planned("remove_trusted_root_key") is not None:
        view["trusted_root_keys"] = 0
    site = planned("reset_site_assignment")
    if site is not None:
        view["assigned_site"] = (site.after or {}).get("assigned_site") or None
        view["site_unknown"] = None
    provisioning = planned("leave_provisioning_mode")
    if provisioning is not None:
        view["provisioning_mode"] = (provisioning.after or {}).get("registry_value")
    for op_id in ("restore_health_task", FINAL_HEALTH_TASK):
        task = planned(op_id)
        if task is not None and (task.after or {}).get("exists"):
            view["health_task_enabled"] = bool(view["health_task_enabled"]) or bool((task.after or {}).get("enabled"))
    return view


def record_present_at_end(outcome: BatchOutcome, check_mode: bool) -> bool:
    """Whether the host record is left after the run (check mode: a real run reports and removes it)."""
    if check_mode:
        return False
    cleared = outcome.ops.get("clear_removal_record")
    if cleared is not None and cleared.succeeded:
        return bool((cleared.after or {}).get("present"))
    return bool(record_at_end(outcome).get("present"))


def readiness(outcome: BatchOutcome, options: GeneralizeOptions, *, check_mode: bool,
              record_present: bool | None = None) -> tuple[list[str], list[str], bool]:
    """(problems, warnings, ccmexec exists) at the end of the run; check mode predicts them from the plan.

    A problem is anything that keeps the machine from being captured: CcmExec not stopped, any client
    identity item left (whatever the steps switched on), the host record, provisioning mode. A warning is
    something clones inherit that the user chose (the health evaluation task left disabled).
    """
    view = _predicted_view(outcome, options) if check_mode else _view(outcome, options, "after")
    if record_present is None:
        record_present = record_present_at_end(outcome, check_mode)
    problems: list[str] = []

    def hint(step: str) -> str:
        return "" if options.enabled(step) else f"; switch on steps.{step}"
    if view["ccmexec_exists"] and view["ccmexec_state"] != "stopped":
        problems.append(f"CcmExec is {view['ccmexec_state']}")
    left_to_platform: list[str] = []
    if view["sms_certificates"]:
        (left_to_platform if "remove_sms_certificates" in options.platform_skipped else problems).append(
            f"{view['sms_certificates']} certificate(s) in LocalMachine\\SMS"
            + (f" ({options.platform_skipped['remove_sms_certificates'].removeprefix('skipped: ')})"
               if "remove_sms_certificates" in options.platform_skipped else hint("remove_sms_certificates")))
    if view["smscfg_present"]:
        (left_to_platform if "remove_smscfg" in options.platform_skipped else problems).append(
            f"SMSCFG.ini present (SMS Unique Identifier {view['sms_unique_id'] or 'unknown'}): clones would share it"
            + (f" unless the platform removes it ({options.platform_skipped['remove_smscfg'].removeprefix('skipped: ')})"
               if "remove_smscfg" in options.platform_skipped else hint("remove_smscfg")))
    if view["trusted_root_keys"]:
        problems.append(f"{view['trusted_root_keys']} TrustedRootKey instance(s)" + hint("remove_trusted_root_key"))
    if view["assigned_site"]:
        problems.append(f"assigned to site {view['assigned_site']}" + hint("reset_site_assignment"))
    elif view["site_unknown"]:
        problems.append(f"site assignment unknown: GetAssignedSite() failed with {view['site_unknown']}")
    if view["provisioning_mode"] == "true" and not options.allow_provisioning_mode:
        problems.append("in provisioning mode")
    if view["pki_certificates"]:
        problems.append(f"{view['pki_certificates']} matching PKI certificate(s)")
    if record_present:
        problems.append(f"the image-prep host record {RECORD_KEY} is present: it holds the SMS Unique Identifier, "
                        "certificate thumbprints and site this procedure removed until a run has reported them; "
                        "rerun to report and remove it")
    warnings: list[str] = [f"left for the imaging platform: {item}" for item in left_to_platform]
    if view["health_task_exists"] and view["health_task_enabled"] is False:
        why = ("health_task_final_state=as_found kept it as found" if options.enabled("disable_health_task")
               else "steps.disable_health_task is off")
        warnings.append(f"the health evaluation task {HEALTH_TASK_PATH}{HEALTH_TASK_NAME} is disabled ({why}): "
                        "clones will not run the client health evaluation (ccmeval) until it is enabled")
    return problems, warnings, view["ccmexec_exists"]


def _add_readiness(state: dict[str, t.Any], outcome: BatchOutcome, options: GeneralizeOptions,
                   check_mode: bool) -> dict[str, t.Any]:
    problems, warnings, exists = readiness(outcome, options, check_mode=check_mode)
    state["ready_for_capture"] = exists and not problems
    state["problems"] = problems
    state["warnings"] = warnings
    if check_mode:
        state["predicted"] = True
    return state


def host_record(outcome: BatchOutcome, check_mode: bool) -> dict[str, t.Any]:
    """What happened to the host record of what was removed (see :func:`plan_followup`)."""
    found = bool((outcome.data("before.removal_record") or {}).get("present"))
    write = outcome.ops.get("record_removal")
    cleared = outcome.ops.get("clear_removal_record")
    return {"key": RECORD_KEY, "found": found,
            "written": bool(write is not None and write.succeeded and write.changed and not check_mode),
            "removed": bool(cleared is not None and cleared.succeeded and cleared.changed),
            "present": record_present_at_end(outcome, check_mode)}


def shape_generalize(outcome: BatchOutcome, options: GeneralizeOptions, *, check_mode: bool, diff_mode: bool,
                     host: str = "the host", followup: BatchOutcome | None = None) -> dict[str, t.Any]:
    """The module result from the batch outcome (and the second execution's, see :func:`plan_followup`)."""
    if outcome.runner_failed:
        return {"failed": True, "changed": False, "msg": f"the op runner failed on {host}: {outcome.msg}"}
    outcome = merge_outcomes(outcome, followup)
    steps = shape_steps(outcome, options, check_mode)
    result: dict[str, t.Any] = {
        "changed": any(s.status == "changed" for s in steps),
        "scenario": options.scenario,
        "steps": [s.as_dict() for s in steps],
        "removed_identity": removed_identity(outcome, options),
        "client_state": client_state(outcome, options, check_mode),
        "module_executions": 1 if followup is None else 2,
    }
    if options.any_client_step:
        result["host_record"] = host_record(outcome, check_mode)
    rule = outcome.ops.get("remove_mp_block_rules")
    if rule is not None and rule.succeeded:
        result["mp_block_rule_removed"] = bool(rule.changed)
    if diff_mode:
        before = identity_snapshot(outcome, "before", options)
        after = (_predicted_after(before, outcome, options) if check_mode
                 else identity_snapshot(outcome, "after", options))
        result["diff"] = {"before": before, "after": after,
                          "before_header": f"{host}: client identity", "after_header": f"{host}: client identity"}
    failed = outcome.ops.get(outcome.failed_op) if outcome.failed_op else None
    restore = outcome.ops.get("restore_health_task")
    restore_note = ""
    if restore is not None and failed is not None and failed.op not in GUARDS:
        if restore.status == "failed":
            restore_note = (f"; the health evaluation task could NOT be re-enabled ({_op_error(restore)}): enable "
                            f"{HEALTH_TASK_PATH}{HEALTH_TASK_NAME} by hand")
        elif restore.succeeded:
            restore_note = "; the health evaluation task is enabled again"
    if failed is not None and failed.op in GUARDS:
        name, hint = GUARDS[failed.op]
        result["failed"] = True
        result["changed"] = False
        result["guard"] = name
        result["msg"] = (f"guard {name} stopped image prep on {host}: {(failed.error or {}).get('message')} "
                         f"({(failed.error or {}).get('hresult')}). Nothing was changed."
                         + (f" To go on: {hint}." if hint else " There is no override for this guard."))
        return result
    recovery = outcome.ops.get("restore_service_recovery")
    recovery_record = f"HKLM\\SOFTWARE\\mecm.fieldkit\\Markers {SERVICE_RECOVERY_MARKER}"
    if failed is not None and failed.id == "restore_service_recovery":
        result["failed"] = True
        result["failed_step"] = "stop_service"
        result["msg"] = (f"restoring the recovery actions of CcmExec failed on {host}: {_op_error(failed)}; they stay "
                         f"recorded in {recovery_record}, the next run restores them{restore_note}")
        return result
    recovery_note = ""
    if recovery is not None and failed is not None and failed.op not in GUARDS:
        if recovery.status == "failed":
            recovery_note = (f"; the recovery actions of CcmExec could NOT be restored ({_op_error(recovery)}): they "
                             f"stay recorded in {recovery_record}, the next run restores them")
        elif recovery.succeeded and recovery.changed:
            recovery_note = "; the recovery actions of CcmExec are restored"
    if failed is not None:
        step = failed.id.split(".")[0]
        result["failed"] = True
        result["failed_step"] = step
        result["msg"] = (f"step {step} failed on {host} ({failed.op}) with {_op_error(failed)}{recovery_note}"
                         f"{restore_note}")
        return result
    if restore is not None and restore.status == "failed":
        result["failed"] = True
        result["failed_step"] = "disable_health_task"
        result["msg"] = f"re-enabling the health evaluation task failed on {host}: {_op_error(restore)}"
        return result
    sysprep = next((s for s in steps if s.name == "start_sysprep" and s.detail.startswith(NOT_READY)), None)
    unverified = [s for s in steps if s.status == "failed" and s is not sysprep]
    if sysprep is not None and not unverified:
        result["failed"] = True
        result["failed_step"] = "start_sysprep"
        result["msg"] = (f"sysprep {'would not be' if check_mode else 'was not'} started on {host}: "
                         f"{sysprep.detail.removeprefix('not started: ')}")
        return result
    if unverified:
        result["failed"] = True
        result["failed_step"] = unverified[0].name
        result["msg"] = (f"verification failed on {host}: "
                         + "; ".join(f"{s.name}: {s.verification}" for s in unverified))
        return result
    if check_mode:
        todo = [s.name for s in steps if s.status == "changed"]
        result["msg"] = (f"check mode: would change {', '.join(todo)}" if todo
                         else "check mode: nothing to change")
    else:
        done = [s.name for s in steps if s.status == "changed"]
        result["msg"] = (f"prepared for capture: {', '.join(done)}" if done
                         else "already prepared for capture; nothing changed")
    if result["removed_identity"].get("recovered_from_host_record"):
        result["msg"] += (f"; {'would report' if check_mode else 'reported'} what an earlier run removed "
                          f"(its answer was lost), recovered from the host record {RECORD_KEY} of "
                          f"{result['removed_identity'].get('recorded_utc')}")
    if result["client_state"]["warnings"]:
        result["msg"] += "; warning: " + "; ".join(result["client_state"]["warnings"])
    return result
