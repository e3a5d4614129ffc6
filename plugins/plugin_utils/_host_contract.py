# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Values the controller, the host PowerShell and the simulated lab must agree on. FOR INTERNAL COLLECTION USE ONLY.

Declared once here. The planners and the simulator import them; the PowerShell carries them as
``$script:Name = <literal>`` assignments at the top of each ``.psm1``, and
``tests/unit/contract/test_host_contract.py`` reads those literals with tree-sitter and fails on any
difference (and on a script-level literal that is not declared here).
"""
from __future__ import annotations

import re

# Registry keys under HKLM (the PowerShell opens them in the 64-bit view).
CCMEXEC_KEY = "SOFTWARE\\Microsoft\\CCM\\CcmExec"
MOBILE_CLIENT_KEY = "SOFTWARE\\Microsoft\\SMS\\Mobile Client"
MARKERS_KEY = "SOFTWARE\\mecm.fieldkit\\Markers"
CODE_PAGE_KEY = "SYSTEM\\CurrentControlSet\\Control\\Nls\\CodePage"
DP_KEY = "SOFTWARE\\Microsoft\\SMS\\DP"
IDENTIFICATION_KEY = "SOFTWARE\\Microsoft\\SMS\\Identification"
CURRENT_VERSION_KEY = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
W32TIME_PARAMETERS_KEY = "SYSTEM\\CurrentControlSet\\Services\\W32Time\\Parameters"

CLIENT_AUTH_EKU = "1.3.6.1.5.5.7.3.2"
CIM_TIMEOUT_SECONDS = 30

# Scheduled task of the ConfigMgr client health evaluation (ccmeval).
HEALTH_TASK_PATH = "\\Microsoft\\Configuration Manager\\"
HEALTH_TASK_NAME = "Configuration Manager Health Evaluation"

# Outbound firewall rule that keeps a freshly installed client away from the management points.
MP_BLOCK_RULE_NAME = "mecm.fieldkit - block ConfigMgr management points during client install"

# Characters a ccmsetup argument may hold, as a regular-expression character class that means the same in
# Python and .NET. No space and no double quote, so the command line is built without quoting; a
# backslash is literal unless a double quote follows it (CommandLineToArgvW), so it is allowed.
CCMSETUP_ARGUMENT_CHARACTERS = "A-Za-z0-9_./:=;@\\\\\\-"
_CCMSETUP_ARGUMENT_RE = re.compile(f"[{CCMSETUP_ARGUMENT_CHARACTERS}]+")


def _python_regex(dotnet_pattern: str) -> re.Pattern[str]:
    """A .NET pattern anchored with \\A...\\z as a Python regex (.NET \\z is Python \\Z; .NET \\Z and "$"
    would also match before a final newline, so the host patterns never use them)."""
    return re.compile(dotnet_pattern.replace("\\z", "\\Z"))


# Service names Set-FieldkitServiceStartMode puts on the sc.exe command line.
SERVICE_NAME_PATTERN = "\\A[A-Za-z0-9_.$-]{1,256}\\z"
SERVICE_NAME_RE = _python_regex(SERVICE_NAME_PATTERN)

# Host-name and WMI class-name patterns the DP ops check before they touch the network or WMI.
HOST_NAME_PATTERN = "\\A[A-Za-z0-9][A-Za-z0-9.-]{0,252}\\z"
HOST_NAME_RE = _python_regex(HOST_NAME_PATTERN)
CLASS_NAME_PATTERN = "\\A[A-Za-z_][A-Za-z0-9_]{0,255}\\z"
CLASS_NAME_RE = _python_regex(CLASS_NAME_PATTERN)

# Win32 error codes the PowerShell raises (New-FieldkitErrorRecord makes them HRESULTs, 0x8007xxxx).
ERROR_FILE_NOT_FOUND = 2
ERROR_PATH_NOT_FOUND = 3
ERROR_ACCESS_DENIED = 5
ERROR_NOT_READY = 21
ERROR_NOT_SUPPORTED = 50
ERROR_INVALID_PARAMETER = 87
ERROR_BUSY = 170
ERROR_PRIVILEGE_NOT_HELD = 1314
ERROR_TIMEOUT = 1460
ERROR_UNKNOWN_PRODUCT = 1605
ERROR_INSTALL_ALREADY_RUNNING = 1618
ERROR_INVALID_STATE = 5023
E_FAIL = 0x80004005

# Guard -> (Win32 code it fails with, the PowerShell function that raises it).
GUARDS: dict[str, tuple[int, str]] = {
    "client_installed": (ERROR_UNKNOWN_PRODUCT, "Assert-FieldkitClientInstalled"),
    "not_site_system": (ERROR_NOT_SUPPORTED, "Assert-FieldkitNotSiteSystem"),
    "ccmsetup_idle": (ERROR_INSTALL_ALREADY_RUNNING, "Assert-FieldkitCcmSetupIdle"),
    "no_task_sequence": (ERROR_BUSY, "Assert-FieldkitNoTaskSequence"),
    "not_provisioning": (ERROR_INVALID_STATE, "Assert-FieldkitNotProvisioning"),
    "capture_ready": (ERROR_NOT_READY, "Assert-FieldkitCaptureReady"),
}

# Win32_Process.Create return values are not Win32 codes
# (https://learn.microsoft.com/windows/win32/cimwin32prov/create-method-in-class-win32-process).
PROCESS_CREATE_ERRORS: dict[int, int] = {
    2: ERROR_ACCESS_DENIED,
    3: ERROR_PRIVILEGE_NOT_HELD,
    9: ERROR_PATH_NOT_FOUND,
    21: ERROR_INVALID_PARAMETER,
}
# CREATE_BREAKAWAY_FROM_JOB (process creation flags).
CREATE_BREAKAWAY_FROM_JOB = 0x01000000

# The script-level constants of each .psm1, by the PowerShell variable name.
PS_SCRIPT_CONSTANTS: dict[str, dict[str, object]] = {
    "_FieldkitCommon.psm1": {
        "CodePageKey": CODE_PAGE_KEY,
    },
    "_FieldkitSystemOps.psm1": {
        "ServiceNamePattern": SERVICE_NAME_PATTERN,
    },
    "_FieldkitClientOps.psm1": {
        "MobileClientKey": MOBILE_CLIENT_KEY,
        "CcmExecKey": CCMEXEC_KEY,
        "CimTimeoutSeconds": CIM_TIMEOUT_SECONDS,
    },
    "_FieldkitImageOps.psm1": {
        "CimTimeoutSeconds": CIM_TIMEOUT_SECONDS,
        "CcmExecKey": CCMEXEC_KEY,
        "MobileClientKey": MOBILE_CLIENT_KEY,
        "MarkersKey": MARKERS_KEY,
        "ClientAuthEku": CLIENT_AUTH_EKU,
        "ErrorUnknownProduct": ERROR_UNKNOWN_PRODUCT,
        "ErrorNotSupported": ERROR_NOT_SUPPORTED,
        "ErrorInstallAlreadyRunning": ERROR_INSTALL_ALREADY_RUNNING,
        "ErrorBusy": ERROR_BUSY,
        "ErrorInvalidState": ERROR_INVALID_STATE,
        "ErrorNotReady": ERROR_NOT_READY,
        "ErrorInvalidParameter": ERROR_INVALID_PARAMETER,
        "ErrorFileNotFound": ERROR_FILE_NOT_FOUND,
        "ErrorTimeout": ERROR_TIMEOUT,
        "ErrorAccessDenied": ERROR_ACCESS_DENIED,
        "ErrorPathNotFound": ERROR_PATH_NOT_FOUND,
        "ErrorPrivilegeNotHeld": ERROR_PRIVILEGE_NOT_HELD,
        "ErrorUnknownFailure": E_FAIL,
        "CreateBreakawayFromJob": CREATE_BREAKAWAY_FROM_JOB,
        "CcmSetupArgumentCharacters": CCMSETUP_ARGUMENT_CHARACTERS,
    },
    "_FieldkitDpOps.psm1": {
        "DpKey": DP_KEY,
        "IdentificationKey": IDENTIFICATION_KEY,
        "CurrentVersionKey": CURRENT_VERSION_KEY,
        "W32TimeParametersKey": W32TIME_PARAMETERS_KEY,
        "UnsignedMask": 0xFFFFFFFF,
        "HostNamePattern": HOST_NAME_PATTERN,
        "ClassNamePattern": CLASS_NAME_PATTERN,
    },
}


def win32_hresult(code: int) -> int:
    """HRESULT_FROM_WIN32 for a Win32 code (1..65535); other values are returned unchanged."""
    return 0x80070000 | code if 0 < code <= 0xFFFF else code


def guard_hresult(guard: str) -> int:
    """The HRESULT a guard fails with."""
    return win32_hresult(GUARDS[guard][0])


def process_create_hresult(return_value: int) -> int:
    """The HRESULT for a failed Win32_Process.Create return value."""
    return win32_hresult(PROCESS_CREATE_ERRORS.get(return_value, E_FAIL))


def is_safe_ccmsetup_argument(argument: str) -> bool:
    """What the host's ccmsetup.start accepts as one argument (the same class, anchored at both ends)."""
    return _CCMSETUP_ARGUMENT_RE.fullmatch(argument) is not None
