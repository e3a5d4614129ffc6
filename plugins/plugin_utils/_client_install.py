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
  client cannot reach an MP before CcmExec is stopped.

The rule never goes while ccmsetup may still run: after a failure it is removed only when a status read
has shown that ccmsetup has ended (:func:`rule_decision`); otherwise it is left in place and the result
says so and why. A later run removes a rule an earlier run left (``stale_block_rule``).

Secrets: every property value and every switch value is treated as a secret (``/regtoken:<token>``,
``PROVISIONTS=...``; the safe choice, since ccmsetup gains properties and switches over time). They are
sent to the host, never returned: :func:`scrub` masks them in every text the module returns and
:func:`masked_arguments` shows the arguments with ``********`` in place of each value.
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
MASK = "********"
# Values this short are masked only where they appear as NAME=value or /switch:value, not wherever the
# text holds them: a value of 1-3 characters ("1", "TRUE" is 4) is no secret and would mask digits of
# return codes and times.
_MIN_LITERAL_SECRET = 4


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
    # no_log: the values of the properties and switches (see the module docstring).
    secrets: tuple[str, ...] = ()


def mask_argument(argument: str) -> str:
    """``NAME=********`` / ``/switch:********``; a switch without a value is shown as given."""
    if argument.startswith("/"):
        name, sep, _value = argument.partition(":")
        return f"{name}{sep}{MASK}" if sep else argument
    name, sep, _value = argument.partition("=")
    return f"{name}{sep}{MASK}" if sep else argument


def _switch_label(switch: str) -> str:
    """The name of a (possibly malformed) switch with anything after it masked."""
    match = re.match(r"/?[A-Za-z]{0,32}", switch)
    name = match.group(0) if match else ""
    return name + (f":{MASK}" if switch[len(name):] else "")


def masked_arguments(options: InstallOptions) -> list[str]:
    """The ccmsetup arguments with every value masked, for results and messages."""
    return [mask_argument(a) for a in options.arguments]


def scrub(text: t.Any, options: InstallOptions) -> t.Any:
    """``text`` with every property and switch value masked (non-strings are returned as they are).

    Masks ``NAME=value`` and ``/switch:value`` of the given names (quoted or not, whatever the value
    is now: a log line may hold the token of an earlier run) and, case-insensitively, each given value
    of ``_MIN_LITERAL_SECRET`` or more characters wherever it appears.
    """
    if not isinstance(text, str) or not options.arguments:
        return text
    for argument in options.arguments:
        name, sep, _value = argument.partition(":" if argument.startswith("/") else "=")
        if sep:
            text = re.sub(rf"(?i)((?<![A-Za-z0-9_]){re.escape(name)}{re.escape(sep)}\s*)(\"?)[^\s\"']*",
                          lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    for value in sorted(options.secrets, key=len, reverse=True):
        if len(value) >= _MIN_LITERAL_SECRET:
            text = re.sub(re.escape(value), MASK, text, flags=re.IGNORECASE)
    return text


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
            # The value is a secret (no_log): name the property, never the value.
            problems.append(f"properties.{name}: the value ({len(text)} characters, not shown) may hold letters, "
                            "digits and _ . : ; @ \\ / - only, 1 to 260 characters (no spaces or quotes)")
            continue
        arguments.append(f"{upper}={text}")
    for switch in params.get("switches") or []:
        switch = str(switch).strip()
        shown = _switch_label(switch)  # a switch value is a secret (no_log): never in a message
        if "smssitecode" in switch.lower():
            problems.append(f"switches: {shown!r} is refused: no site code during image prep")
        elif switch.lower() in _REFUSED_SWITCHES or switch.lower().startswith("/uninstall"):
            problems.append(f"switches: {shown!r} is not allowed here")
        elif not _SWITCH_RE.fullmatch(switch):
            problems.append(f"switches: {shown!r} is not a ccmsetup switch (/name or /name:value, 1 to 260 "
                            "characters of letters, digits and _ . : ; @ \\ / -, no spaces)")
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
    problems += [f"ccmsetup argument {mask_argument(argument)!r} holds a character the host refuses"
                 for argument in arguments if not is_safe_ccmsetup_argument(argument)]
    if problems:
        raise InstallOptionError("; ".join(problems))
    if not addresses:
        warnings.append("block_management_points is empty: make sure this machine cannot reach a management point "
                        "while the client installs (the seed unplugs the network cable), or it may be assigned")
    secrets = tuple(dict.fromkeys(
        value for value in (a.partition(":" if a.startswith("/") else "=")[2] for a in arguments) if value))
    return InstallOptions(source, tuple(arguments), addresses, bool(params.get("keep_block_rule")), int(timeout),
                          int(interval), components, secrets), warnings


def _status_ops(wait: int, always: bool = False) -> list[PlannedOp]:
    return [
        PlannedOp("status", "ccmsetup.read_status", {"wait_seconds": wait, "tail_lines": 20}, always=always),
        PlannedOp("install", "client.read_install", always=always),
        PlannedOp("site_assignment", "client.read_site_assignment", always=always),
    ]


IDLE_GUARD_ID = "guard.ccmsetup_idle"


def plan_start(options: InstallOptions, check_mode: bool) -> list[PlannedOp]:
    """Guards, MP block rule, ccmsetup started, first wait.

    The reads run also after a failed op (``always``): whether ccmsetup runs decides whether the block
    rule may go (:func:`rule_decision`), without another module execution. Without
    ``block_management_points`` a rule an earlier run left (a lost host, a failure while ccmsetup ran)
    is removed - but only when no ccmsetup runs, so the ``ccmsetup_idle`` guard comes first; when it
    trips, the action waits for that ccmsetup and removes the rule afterwards.
    """
    plan = [
        PlannedOp("guard.not_site_system", "guard.assert_not_site_system"),
        PlannedOp("guard.no_task_sequence", "guard.assert_no_task_sequence"),
    ]
    if options.block_management_points:
        plan.append(PlannedOp("block_rule", "firewall.ensure_block_rule", {
            "name": MP_BLOCK_RULE_NAME, "remote_addresses": list(options.block_management_points),
            "state": "present"}))
    else:
        plan.append(PlannedOp(IDLE_GUARD_ID, "guard.assert_ccmsetup_idle"))
        plan.append(PlannedOp("stale_block_rule", "firewall.ensure_block_rule",
                              {"name": MP_BLOCK_RULE_NAME, "state": "absent"}))
    plan.append(PlannedOp("start", "ccmsetup.start", {"path": options.source_path,
                                                      "arguments": list(options.arguments)}))
    return plan + _status_ops(0 if check_mode else options.poll_interval, always=True)


def plan_poll(wait: int) -> list[PlannedOp]:
    """One status read that waits on the host."""
    return _status_ops(wait)


def plan_confirm() -> list[PlannedOp]:
    """After a failure with ccmsetup's state unknown: does ccmsetup still run (no wait)?"""
    return [PlannedOp("status", "ccmsetup.read_status", {"wait_seconds": 0, "tail_lines": 5})]


def rule_decision(running: bool | None, confirmed: bool) -> tuple[str, str | None]:
    """Whether the MP block rule may go now: ``("remove", None)``, ``("confirm", None)`` (read first)
    or ``("leave", reason)``.

    Args:
        running: what the last successful ccmsetup status read said (None: unknown - no read succeeded
            since ccmsetup may have started, or the last one failed).
        confirmed: a confirmation read (:func:`plan_confirm`) has already been tried.
    """
    if running is False:
        return "remove", None
    if running is True:
        return "leave", "ccmsetup still runs"
    if not confirmed:
        return "confirm", None
    return "leave", "whether ccmsetup still runs is unknown (its status could not be read)"


def plan_cleanup() -> list[PlannedOp]:
    """Remove the MP block rule."""
    args = {"name": MP_BLOCK_RULE_NAME, "state": "absent"}
    return [PlannedOp("remove_block_rule", "firewall.ensure_block_rule", args)]


def _assigned_site(site: dict[str, t.Any]) -> str | None:
    value = site.get("com_assigned_site") if site.get("com_available") else site.get("registry_assigned_site")
    return value or None


def poll_record(outcome: BatchOutcome, elapsed: float, options: InstallOptions | None = None) -> dict[str, t.Any]:
    """One line of the ``polls`` progress record (log line scrubbed of secrets when ``options`` is given)."""
    status = outcome.data("status") or {}
    tail = status.get("log_tail") or []
    line = _message(tail[-1]) if tail else None
    return {"waited_seconds": status.get("waited_seconds", 0), "elapsed_seconds": int(elapsed),
            "running": bool(status.get("running")),
            "last_log_line": scrub(line, options) if options is not None else line}


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
            "running": bool(status.get("running")) if status else None,
            "return_code": code,
            "return_code_meaning": RETURN_CODES.get(code) if code is not None else None,
            "reboot_required": code == 7,
            "log_path": status.get("log_path"),
            "log_tail": [scrub(_message(line), options) for line in status.get("log_tail", [])][-10:],
            "arguments": masked_arguments(options),
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
