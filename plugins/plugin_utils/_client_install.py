# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and shape of win_sccm_client_install (seed scenario A, step 1). FOR INTERNAL COLLECTION USE ONLY.

Installing takes minutes, so this is a start / poll cycle (like ansible.windows win_updates), each
call one module execution:

* start: guards, the outbound block rule for the management points (the seed unplugs the network
  cable; Ansible needs the network, so only the MPs are blocked), ccmsetup.exe started detached, then
  a first status read that waits on the host up to ``poll_interval`` seconds;
* poll (while ccmsetup runs): one status read that again waits on the host, so a 5-minute install
  costs 1 + 2 or 3 executions with the default interval;
* cleanup (only when the rule must go now): the block rule removed. With ``keep_block_rule`` the rule
  stays for win_sccm_client_generalize (``remove_mp_block_rules``) to remove in its own batch, so the
  client cannot reach an MP before CcmExec is stopped. On any failure the rule is removed at once.
"""
from __future__ import annotations

import dataclasses
import re
import typing as t

from ._batch import BatchOutcome
from ._host_contract import MP_BLOCK_RULE_NAME, is_safe_ccmsetup_argument
from ._ops import PlannedOp

SUCCESS_CODES = {0: "success", 7: "success, reboot required"}
# ccmsetup return codes (domain-reference 1.5).
RETURN_CODES = {0: "success", 6: "error", 7: "reboot required", 8: "setup already running",
                9: "prerequisite evaluation failure", 10: "setup manifest hash validation failure"}
DEFAULT_COMPONENTS = ("CcmFramework", "SmsClient")

# Matched with fullmatch: "$" would accept a trailing newline. The host refuses any argument with a character
# outside _host_contract.CCMSETUP_ARGUMENT_CHARACTERS; these patterns only allow a subset of them.
_PROPERTY_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_VALUE_RE = re.compile(r"[A-Za-z0-9_.:;@\\/\-]{1,260}")
_SWITCH_RE = re.compile(r"/[A-Za-z]{1,32}(:[A-Za-z0-9_.:;@\\/\-]{1,260})?")
_ADDRESS_RE = re.compile(r"[A-Za-z0-9.:\-]{1,253}")
_REFUSED_SWITCHES = ("/uninstall",)


class InstallOptionError(ValueError):
    """Bad module options; the message names the option, the value and what is allowed."""


@dataclasses.dataclass(frozen=True)
class InstallOptions:
    source_path: str
    arguments: tuple[str, ...]
    block_management_points: tuple[str, ...]
    keep_block_rule: bool
    timeout: int
    poll_interval: int
    expected_components: tuple[str, ...]


def build_install_options(params: dict[str, t.Any]) -> tuple[InstallOptions, list[str]]:
    """Validated options and warnings; bad options raise :class:`InstallOptionError`."""
    problems: list[str] = []
    warnings: list[str] = []
    source = str(params.get("source_path") or "").strip()
    if not re.match(r"^(?:[A-Za-z]:\\|\\\\|%[A-Za-z]+%)", source) or '"' in source:
        problems.append(f"source_path={source!r} must be an absolute Windows path (C:\\... or \\\\server\\share\\...) "
                        "of the folder that holds ccmsetup.exe, without quotes")
    arguments: list[str] = []
    for name, value in (params.get("properties") or {}).items():
        upper = str(name).upper()
        if upper == "SMSSITECODE":
            problems.append(f"properties.{name} is refused: the seed installs the client without a site code so "
                            "that the reference machine stays unassigned (SMSMP and DNSSUFFIX are allowed)")
            continue
        if not _PROPERTY_NAME_RE.fullmatch(upper):
            problems.append(f"properties.{name} is not a client.msi/ccmsetup property name (letters, digits, _)")
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if not _VALUE_RE.fullmatch(text):
            problems.append(f"properties.{name}={text!r}: values may hold letters, digits and _ . : ; @ \\ / - only "
                            "(no spaces or quotes)")
            continue
        arguments.append(f"{upper}={text}")
    for switch in params.get("switches") or []:
        switch = str(switch).strip()
        if "smssitecode" in switch.lower():
            problems.append(f"switches: {switch!r} is refused: no site code during image prep")
        elif switch.lower() in _REFUSED_SWITCHES or switch.lower().startswith("/uninstall"):
            problems.append(f"switches: {switch!r} is not allowed here")
        elif not _SWITCH_RE.fullmatch(switch):
            problems.append(f"switches: {switch!r} is not a ccmsetup switch (/name or /name:value, no spaces)")
        else:
            arguments.insert(len([a for a in arguments if a.startswith("/")]), switch)
    addresses = tuple(str(a).strip() for a in params.get("block_management_points") or [] if str(a).strip())
    for address in addresses:
        if not _ADDRESS_RE.fullmatch(address):
            problems.append(f"block_management_points: {address!r} is not a host name or IP address")
    timeout = params.get("timeout", 1800)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 60 <= timeout <= 14400:
        problems.append(f"timeout={timeout!r} must be an integer from 60 to 14400 (seconds)")
    interval = params.get("poll_interval", 120)
    if not isinstance(interval, int) or isinstance(interval, bool) or not 5 <= interval <= 600:
        problems.append(f"poll_interval={interval!r} must be an integer from 5 to 600 (seconds)")
    components = tuple(str(c) for c in (params.get("expected_components") or DEFAULT_COMPONENTS))
    problems += [f"ccmsetup argument {argument!r} holds a character the host refuses" for argument in arguments
                 if not is_safe_ccmsetup_argument(argument)]
    if problems:
        raise InstallOptionError("; ".join(problems))
    if not addresses:
        warnings.append("block_management_points is empty: make sure this machine cannot reach a management point "
                        "while the client installs (the seed unplugs the network cable), or it may be assigned")
    return InstallOptions(source, tuple(arguments), addresses, bool(params.get("keep_block_rule")), int(timeout),
                          int(interval), components), warnings


def _status_ops(wait: int) -> list[PlannedOp]:
    return [
        PlannedOp("status", "ccmsetup.read_status", {"wait_seconds": wait, "tail_lines": 20}),
        PlannedOp("install", "client.read_install"),
        PlannedOp("site_assignment", "client.read_site_assignment"),
    ]


def plan_start(options: InstallOptions, check_mode: bool) -> list[PlannedOp]:
    """Guards, MP block rule, ccmsetup started, first wait."""
    plan = [
        PlannedOp("guard.not_site_system", "guard.assert_not_site_system"),
        PlannedOp("guard.no_task_sequence", "guard.assert_no_task_sequence"),
    ]
    if options.block_management_points:
        plan.append(PlannedOp("block_rule", "firewall.ensure_block_rule", {
            "name": MP_BLOCK_RULE_NAME, "remote_addresses": list(options.block_management_points),
            "state": "present"}))
    plan.append(PlannedOp("start", "ccmsetup.start", {"path": options.source_path,
                                                      "arguments": list(options.arguments)}))
    return plan + _status_ops(0 if check_mode else options.poll_interval)


def plan_poll(wait: int) -> list[PlannedOp]:
    """One status read that waits on the host."""
    return _status_ops(wait)


def plan_cleanup() -> list[PlannedOp]:
    """Remove the MP block rule."""
    args = {"name": MP_BLOCK_RULE_NAME, "state": "absent"}
    return [PlannedOp("remove_block_rule", "firewall.ensure_block_rule", args)]


def _assigned_site(site: dict[str, t.Any]) -> str | None:
    value = site.get("com_assigned_site") if site.get("com_available") else site.get("registry_assigned_site")
    return value or None


def poll_record(outcome: BatchOutcome, elapsed: float) -> dict[str, t.Any]:
    """One line of the ``polls`` progress record."""
    status = outcome.data("status") or {}
    tail = status.get("log_tail") or []
    return {"waited_seconds": status.get("waited_seconds", 0), "elapsed_seconds": int(elapsed),
            "running": bool(status.get("running")), "last_log_line": _message(tail[-1]) if tail else None}


def _message(line: str) -> str:
    match = re.match(r"^<!\[LOG\[(.*?)\]LOG\]!>", line)
    return match.group(1) if match else line


def evaluate(outcome: BatchOutcome, options: InstallOptions, started: bool) -> tuple[str | None, dict[str, t.Any]]:
    """After ccmsetup has ended: (failure message or None, the ``client`` and ``ccmsetup`` result parts)."""
    status = outcome.data("status") or {}
    install = outcome.data("install") or {}
    site = outcome.data("site_assignment") or {}
    code = status.get("return_code")
    components = [c.get("name") for c in install.get("components", [])]
    assigned = _assigned_site(site)
    parts = {
        "ccmsetup": {
            "started": started,
            "return_code": code,
            "return_code_meaning": RETURN_CODES.get(code) if code is not None else None,
            "reboot_required": code == 7,
            "log_path": status.get("log_path"),
            "log_tail": [_message(line) for line in status.get("log_tail", [])][-10:],
        },
        "client": {
            "installed": bool(install.get("installed")),
            "version": install.get("version"),
            "components": components,
            "assigned_site": assigned,
            "auto_assignment": site.get("auto_assignment"),
            "current_management_point": site.get("current_management_point"),
        },
    }
    if code is not None and code not in SUCCESS_CODES:
        return (f"ccmsetup ended with return code {code} ({RETURN_CODES.get(code, 'unknown')}); see "
                f"{status.get('log_path')}: " + " | ".join(parts["ccmsetup"]["log_tail"][-3:])), parts
    if code is None and started:
        return f"ccmsetup ended without 'CcmSetup is exiting with return code' in {status.get('log_path')}", parts
    if not install.get("installed"):
        return "ccmsetup ended but the client is not installed (no CcmExec service or CCM key)", parts
    missing = [c for c in options.expected_components if c.lower() not in {str(n).lower() for n in components}]
    if missing:
        return f"the client is installed but components are missing: {', '.join(missing)}", parts
    if assigned:
        mp = site.get("current_management_point")
        return (f"the client was assigned to site {assigned}{f' through {mp}' if mp else ''}: it reached a "
                "management point during the install. Block every MP (block_management_points) or take the "
                "machine off the network, then reinstall (the seed: site code must stay blank)"), parts
    return None, parts
