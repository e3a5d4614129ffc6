# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and shape of win_sccm_client_generalize. FOR INTERNAL COLLECTION USE ONLY.

The procedure is the seed article's (jpmem 20220418_01, scenarios A "new capture" and B "recapture"),
as ONE batch of ops:

1. read the client identity (``before.*``), so the result can say what was removed;
2. guards: read-only ops that throw a specific Windows error code when the host must not be prepared;
3. the steps, in the order below; each is one or two idempotent ops;
4. ``always`` ops: re-enable the health evaluation task if this run disabled it, remove the MP block
   rule of win_sccm_client_install when asked;
5. ``always`` verification reads (``after.*``);
6. optionally the capture-ready gate and sysprep.

Transient changes (the task disabled for the duration, CcmExec set to Manual until the final start
mode, the MP block rule) are reported in the step details but do not make the result ``changed``:
a second run on a prepared machine reports ``changed: false``.
"""
from __future__ import annotations

import dataclasses
import re
import typing as t

from ._batch import BatchOutcome, OpOutcome
from ._client_facts import (
    TRUSTED_ROOT_KEY_CLASS,
    TRUSTED_ROOT_KEY_NAMESPACE,
    assigned_site,
    site_assignment_unknown,
)
from ._host_contract import CLIENT_AUTH_EKU, HEALTH_TASK_NAME, HEALTH_TASK_PATH, MOBILE_CLIENT_KEY, MP_BLOCK_RULE_NAME
from ._ops import PlannedOp

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

_CORE_NEW = ("disable_health_task", "stop_service", "remove_trusted_root_key", "remove_sms_certificates",
             "remove_pki_certificates", "final_start_mode")
SCENARIO_DEFAULTS: dict[str, dict[str, bool]] = {
    "new": {step: step in _CORE_NEW for step in STEPS},
    "recapture": {step: step in (*_CORE_NEW, "reset_site_assignment", "remove_smscfg") for step in STEPS},
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
    "remove_smscfg": "seed B-4",
    "empty_ccmcache": "field practice (domain-reference 2.3)",
    "final_start_mode": "seed A-5 / B-5",
    "start_sysprep": "seed A-6 / B-6",
}

SERVICE = "CcmExec"
HEALTH_TASK_MARKER = "ImagePrepHealthTaskDisabled"
HW_INVENTORY_ACTION_ID = "{00000000-0000-0000-0000-000000000001}"
GP_SITE_ASSIGNMENT_VALUES = ("GPRequestedSiteAssignmentCode", "GPSiteAssignmentRetryInterval(Min)",
                             "GPSiteAssignmentRetryDuration(Hour)")
SMSCFG_PATH = "%windir%\\SMSCFG.ini"
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

    @property
    def empty(self) -> bool:
        return not (self.thumbprints or self.issuer or self.template)

    def matches(self, cert: dict[str, t.Any]) -> bool:
        """Same rule as the cert.remove op (PowerShell and simulator)."""
        if self.empty:
            return False
        if self.thumbprints and str(cert.get("thumbprint", "")).upper() not in {tp.upper() for tp in self.thumbprints}:
            return False
        if self.issuer and self.issuer.lower() not in str(cert.get("issuer") or "").lower():
            return False
        if self.template and self.template.lower() not in str(cert.get("template") or "").lower():
            return False
        return CLIENT_AUTH_EKU in (cert.get("enhanced_key_usages") or [])


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
        pki_filter = PkiFilter(store_name=store, thumbprints=thumbprints,
                               issuer=(str(raw_filter.get("issuer")).strip() or None) if raw_filter.get("issuer") else None,
                               template=(str(raw_filter.get("template")).strip() or None)
                               if raw_filter.get("template") else None)
        if pki_filter.empty:
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
    )


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
            "stop_timeout_seconds": options.service_stop_timeout, "kill_on_timeout": options.kill_hung_service})]
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
        args: dict[str, t.Any] = {"store_name": pki.store_name, "require_client_auth": True}
        if pki.thumbprints:
            args["thumbprints"] = list(pki.thumbprints)
        if pki.issuer:
            args["issuer"] = pki.issuer
        if pki.template:
            args["template"] = pki.template
        return [PlannedOp(step, "cert.remove", args)]
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
            "stop_timeout_seconds": options.service_stop_timeout, "kill_on_timeout": options.kill_hung_service})]
    raise ValueError(f"unknown step {step}")


def plan_generalize(options: GeneralizeOptions) -> list[PlannedOp]:
    """The whole procedure as one batch (see the module docstring for its parts)."""
    plan = _reads("before", options, always=False)
    plan += _guards(options)
    for step in STEPS:
        if options.enabled(step):
            plan += step_ops(step, options)
    if options.enabled("disable_health_task"):
        plan.append(PlannedOp("restore_health_task", "task.ensure_enabled",
                              {"path": HEALTH_TASK_PATH, "name": HEALTH_TASK_NAME, "enabled": True,
                               "marker": HEALTH_TASK_MARKER}, always=True))
    if options.remove_mp_block_rules:
        plan.append(PlannedOp("remove_mp_block_rules", "firewall.ensure_block_rule",
                              {"name": MP_BLOCK_RULE_NAME, "state": "absent"}, always=True))
    plan += _reads("after", options, always=True)
    if options.sysprep:
        plan.append(PlannedOp("capture_ready", "guard.assert_capture_ready", {
            "check_sms_store": options.enabled("remove_sms_certificates"),
            "check_smscfg": options.enabled("remove_smscfg"),
            "check_trusted_root_key": options.enabled("remove_trusted_root_key")}))
        plan.append(PlannedOp("start_sysprep", "sysprep.start", {"mode_vm": options.sysprep_mode_vm}))
    return plan


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
            return False, "the task was already disabled before the run (not by image prep); left disabled"
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
        if before.get("state") != "stopped":
            changed = True
            parts.append(f"{verb('stop', 'stopped')} CcmExec (was {before.get('state')})")
            if after.get("killed"):
                parts.append(f"ended its process: it did not stop within {options.service_stop_timeout} s")
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
        wanted = True if first.before.get("marker_present") else first.before.get("enabled")
        return task.get("enabled") == wanted, f"task {'enabled' if task.get('enabled') else 'disabled'} after the run"
    if step in ("stop_service", "final_start_mode"):
        svc = data("ccmexec")
        if svc is None:
            return None, None
        if step == "stop_service":
            return svc.get("state") == "stopped", f"CcmExec {svc.get('state')}"
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
        return not left, f"{len(left)} certificate(s) in LocalMachine\\SMS"
    if step == "remove_pki_certificates":
        pki = data("pki_certificates")
        if pki is None or options.pki_filter is None:
            return None, None
        left = [c for c in pki.get("certificates", []) if options.pki_filter.matches(c)]
        return not left, f"{len(left)} matching certificate(s) in LocalMachine\\{options.pki_filter.store_name}"
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


def _step_ops(step: str, outcome: BatchOutcome) -> list[OpOutcome]:
    return [op for op_id, op in outcome.ops.items() if op_id == step or op_id.startswith(step + ".")]


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
            if step == "remove_pki_certificates" and options.pki_filter is None:
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
            report.detail = (f"{'would start' if check_mode else 'started'} {cmd} detached" if start.changed
                             else "sysprep is already running")
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
            certificates += [{"store": store, "thumbprint": c.get("thumbprint"), "subject": c.get("subject"),
                              "issuer": c.get("issuer"), "template": c.get("template")}
                             for c in (op.before or {}).get("matching", [])]
    smscfg = done("remove_smscfg")
    reset = done("reset_site_assignment")
    trk = done("remove_trusted_root_key")
    return {
        "sms_unique_id": (identity.get("smscfg_unique_id") or identity.get("wmi_client_id")) if smscfg else None,
        "previous_sms_unique_id": identity.get("smscfg_previous_unique_id") if smscfg else None,
        "smscfg_path": (smscfg.before or {}).get("path") if smscfg else None,
        "certificates": certificates,
        "site_code": ((reset.before or {}).get("assigned_site") or None) if reset else None,
        "management_point": site.get("current_management_point") if reset else None,
        "trusted_root_keys": (trk.before or {}).get("count", 0) if trk else 0,
    }


def client_state(outcome: BatchOutcome, options: GeneralizeOptions) -> dict[str, t.Any]:
    """The client state read at the end of the batch (the verification reads)."""
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
    problems = []
    if ccmexec.get("exists") and ccmexec.get("state") != "stopped":
        problems.append(f"CcmExec is {ccmexec.get('state')}")
    if sms.get("certificates"):
        problems.append(f"{len(sms['certificates'])} certificate(s) in LocalMachine\\SMS")
    if identity.get("smscfg_present") and options.enabled("remove_smscfg"):
        problems.append("SMSCFG.ini present")
    if trk.get("namespace_present") and trk.get("count"):
        problems.append(f"{trk.get('count')} TrustedRootKey instance(s)")
    if options.enabled("reset_site_assignment") and assigned_site(site):
        problems.append(f"assigned to site {assigned_site(site)}")
    elif options.enabled("reset_site_assignment") and site_assignment_unknown(site):
        problems.append(f"site assignment unknown: GetAssignedSite() failed with {site['com_error'].get('hresult')}")
    if prov.get("registry_value") == "true" and not options.allow_provisioning_mode:
        problems.append("in provisioning mode")
    if state.get("pki_certificates"):
        problems.append(f"{len(state['pki_certificates'])} matching PKI certificate(s)")
    state["ready_for_capture"] = bool(ccmexec.get("exists")) and not problems
    state["problems"] = problems
    return state


def shape_generalize(outcome: BatchOutcome, options: GeneralizeOptions, *, check_mode: bool, diff_mode: bool,
                     host: str = "the host") -> dict[str, t.Any]:
    """The module result from the batch outcome."""
    if outcome.runner_failed:
        return {"failed": True, "changed": False, "msg": f"the op runner failed on {host}: {outcome.msg}"}
    steps = shape_steps(outcome, options, check_mode)
    result: dict[str, t.Any] = {
        "changed": any(s.status == "changed" for s in steps),
        "scenario": options.scenario,
        "steps": [s.as_dict() for s in steps],
        "removed_identity": removed_identity(outcome, options),
        "client_state": client_state(outcome, options),
    }
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
    if failed is not None:
        step = failed.id.split(".")[0]
        result["failed"] = True
        result["failed_step"] = step
        result["msg"] = f"step {step} failed on {host} ({failed.op}) with {_op_error(failed)}{restore_note}"
        return result
    if restore is not None and restore.status == "failed":
        result["failed"] = True
        result["failed_step"] = "disable_health_task"
        result["msg"] = f"re-enabling the health evaluation task failed on {host}: {_op_error(restore)}"
        return result
    unverified = [s for s in steps if s.status == "failed"]
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
    return result
