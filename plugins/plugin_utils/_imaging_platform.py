# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The imaging platform a reference machine shows, and the image-prep steps it performs. FOR INTERNAL COLLECTION USE ONLY.

``shape_imaging_platform`` turns the raw reading of ``client.read_imaging_platform`` into
``ansible_facts.sccm_client.imaging_platform``; ``platform_handled_steps`` is the skip rule of
``win_sccm_client_generalize`` option ``platform_handles=auto``.

What is known about Citrix MCS and the ConfigMgr client (sources, as far as they could be read):

* Citrix MCS image preparation of VDA 2311 and later has a step that handles the ConfigMgr client
  ("FixSCCM"); when the ConfigMgr cleanup was already done by another tool, that step fails (Citrix
  support article CTX678084, "Image preparation step FixSCCM failed error", cited by the BIS-F maintainers
  in github.com/EUCweb/BIS-F issue 389, which changes BIS-F to leave the ConfigMgr cleanup to MCS on VDA
  2311 and later). The Citrix article itself could not be read here.
* Exactly WHAT the FixSCCM step removes is not stated in any Citrix page we could read. The facts therefore
  report ``mcs_configmgr_cleanup: null`` (never a guess), and ``mcs_configmgr_step`` (true from VDA 2311) is
  what ``platform_handles=auto`` goes by; ``platform_handles`` defaults to ``none``.
"""
from __future__ import annotations

import re
import typing as t

PLATFORM_HANDLES = ("none", "auto")
# The first VDA release whose MCS image preparation has the ConfigMgr (FixSCCM) step.
CITRIX_MCS_CONFIGMGR_FROM = 2311
# The ConfigMgr identity steps left to Citrix MCS image preparation under platform_handles=auto: the SMS
# certificates and SMSCFG.ini, the "SCCM cert cleanse" of BIS-F issue 389. Everything else (service, health
# task, trusted root key, site assignment, the optional steps, PKI certificates) still runs.
CITRIX_MCS_HANDLED_STEPS = ("remove_sms_certificates", "remove_smscfg")
CITRIX_MCS_SKIP_DETAIL = "skipped: performed by Citrix MCS image preparation (VDA 2311+)"
CITRIX_MCS_NOTE = (
    "VDA 2311 and later: Citrix MCS image preparation has its own ConfigMgr step (FixSCCM, Citrix CTX678084) that "
    "fails when the cleanup was already done; which items it removes is not confirmed from Citrix documentation, "
    "so mcs_configmgr_cleanup is null. win_sccm_client_generalize platform_handles=auto leaves "
    + " and ".join(CITRIX_MCS_HANDLED_STEPS) + " to it; verify the clones (client_clone_check).")
_YYMM_RE = re.compile(r"^(\d{4})(?:\.\d+)*$")
_LEGACY_RE = re.compile(r"^7\.\d+(?:\.\d+)*$")


def citrix_release(version: str | None) -> int | None:
    """The YYMM release of a VDA DisplayVersion ("2311.0.0.29" -> 2311); None for 7.x numbers and unknown forms.

    7.x numbers (XenApp/XenDesktop 7.x up to 7.15 LTSR and the VDA components of later releases) are not
    mapped to a release: that mapping is not documented where we could read it, so they count as unknown.
    """
    if not version:
        return None
    match = _YYMM_RE.match(version.strip())
    if match is None:
        return None
    release = int(match.group(1))
    return release if 1000 <= release <= 9912 else None


def _citrix(raw: dict[str, t.Any]) -> dict[str, t.Any]:
    evidence = []
    if raw.get("key_present"):
        evidence.append("key HKLM\\SOFTWARE\\Citrix\\VirtualDesktopAgent exists")
    if raw.get("uninstall_present"):
        evidence.append("uninstall entry 'Citrix Virtual Desktop Agent' exists"
                        + (f" (DisplayVersion {raw['uninstall_version']})" if raw.get("uninstall_version") else ""))
    if raw.get("service_present"):
        evidence.append("service BrokerAgent exists")
    installed = bool(raw.get("key_present") or raw.get("uninstall_present"))
    version = raw.get("uninstall_version") if installed else None
    release = citrix_release(version)
    if not installed:
        step, note = None, None
    elif release is None:
        step = None
        note = (f"VDA version {version!r} is not a YYMM release number: whether MCS image preparation handles the "
                "ConfigMgr client is unknown" if version else
                "VDA version unknown (no DisplayVersion): whether MCS image preparation handles the ConfigMgr "
                "client is unknown")
    elif release >= CITRIX_MCS_CONFIGMGR_FROM:
        step, note = True, CITRIX_MCS_NOTE
    else:
        step = False
        note = (f"VDA {release} is older than {CITRIX_MCS_CONFIGMGR_FROM}: MCS image preparation has no ConfigMgr "
                "step; image prep does the ConfigMgr cleanup")
    return {
        "installed": installed,
        "version": version,
        "release": release,
        "version_source": "uninstall_entry" if version else None,
        "mcs_configmgr_step": step,
        "mcs_configmgr_cleanup": None,
        "note": note,
        "evidence": evidence,
    }


def _bisf(raw: dict[str, t.Any]) -> dict[str, t.Any]:
    evidence = []
    if raw.get("key_present"):
        evidence.append("key HKLM\\SOFTWARE\\Login Consultants\\BISF exists")
    if raw.get("path"):
        evidence.append(f"install folder {raw['path']} " + ("exists" if raw.get("path_exists") else "is missing"))
    return {
        "installed": bool(raw.get("key_present")),
        "version": raw.get("version"),
        "path": raw.get("path"),
        "path_exists": raw.get("path_exists"),
        "note": ("BIS-F runs its own ConfigMgr preparation when it seals the image: switch off either it or "
                 "image prep's identity steps; image prep does not detect which BIS-F steps are enabled")
        if raw.get("key_present") else None,
        "evidence": evidence,
    }


def _horizon(raw: dict[str, t.Any]) -> dict[str, t.Any]:
    evidence = []
    if raw.get("vmware_key_present"):
        evidence.append("key HKLM\\SOFTWARE\\VMware, Inc.\\VMware VDM\\Agent exists")
    if raw.get("omnissa_key_present"):
        evidence.append("key HKLM\\SOFTWARE\\Omnissa\\Agent exists")
    vendor = "VMware" if raw.get("vmware_key_present") else "Omnissa" if raw.get("omnissa_key_present") else None
    return {"installed": vendor is not None, "vendor": vendor, "version": raw.get("version"), "evidence": evidence}


def _avd(raw: dict[str, t.Any]) -> dict[str, t.Any]:
    evidence = []
    if raw.get("key_present"):
        evidence.append("key HKLM\\SOFTWARE\\Microsoft\\RDInfraAgent exists")
    if raw.get("agent_service_present"):
        evidence.append("service RDAgent exists")
    if raw.get("boot_loader_service_present"):
        evidence.append("service RDAgentBootLoader exists")
    return {"installed": bool(evidence), "agent_service": bool(raw.get("agent_service_present")),
            "boot_loader_service": bool(raw.get("boot_loader_service_present")), "evidence": evidence}


def shape_imaging_platform(raw: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """``ansible_facts.sccm_client.imaging_platform`` from a ``client.read_imaging_platform`` reading."""
    raw = raw or {}
    facts: dict[str, t.Any] = {
        "citrix_vda": _citrix(raw.get("citrix_vda") or {}),
        "bisf": _bisf(raw.get("bisf") or {}),
        "horizon": _horizon(raw.get("horizon") or {}),
        "avd": _avd(raw.get("avd") or {}),
    }
    facts["detected"] = [name for name in ("citrix_vda", "bisf", "horizon", "avd") if facts[name]["installed"]]
    facts["handles_steps"] = sorted(platform_handled_steps("auto", facts))
    return facts


def platform_handled_steps(mode: str, facts: dict[str, t.Any] | None) -> dict[str, str]:
    """Step -> skip detail for the steps the platform performs itself (empty for ``none``).

    Only Citrix MCS of VDA 2311 and later (``mcs_configmgr_step`` true) takes steps over; an unknown VDA
    version, BIS-F, Horizon and Azure Virtual Desktop take none: no vendor page we could read documents a
    ConfigMgr step in their image preparation (BIS-F has one, but whether it is switched on is a BIS-F policy
    that image prep does not read).
    """
    if mode != "auto" or not facts:
        return {}
    citrix = facts.get("citrix_vda") or {}
    if citrix.get("installed") and citrix.get("mcs_configmgr_step") is True:
        return {step: CITRIX_MCS_SKIP_DETAIL for step in CITRIX_MCS_HANDLED_STEPS}
    return {}
