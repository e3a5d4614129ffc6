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

from . import _cmlog

# Registry keys under HKLM (the PowerShell opens them in the 64-bit view).
CCMEXEC_KEY = "SOFTWARE\\Microsoft\\CCM\\CcmExec"
MOBILE_CLIENT_KEY = "SOFTWARE\\Microsoft\\SMS\\Mobile Client"
MARKERS_KEY = "SOFTWARE\\mecm.fieldkit\\Markers"
# What image prep is about to remove (SMS Unique Identifier, certificate thumbprints, site, MP), written
# before the removal so that a run whose answer was lost can be reported by the next run; removed once reported.
IMAGE_PREP_RECORD_KEY = "SOFTWARE\\mecm.fieldkit\\ImagePrep"
CODE_PAGE_KEY = "SYSTEM\\CurrentControlSet\\Control\\Nls\\CodePage"
DP_KEY = "SOFTWARE\\Microsoft\\SMS\\DP"
IDENTIFICATION_KEY = "SOFTWARE\\Microsoft\\SMS\\Identification"
CURRENT_VERSION_KEY = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
W32TIME_PARAMETERS_KEY = "SYSTEM\\CurrentControlSet\\Services\\W32Time\\Parameters"

# Imaging platforms (client.read_imaging_platform), read by key, value and service name, never display name.
# Citrix VDA: the meta-installer writes HKLM\SOFTWARE\Citrix\VirtualDesktopAgent (docs.citrix.com, Citrix Virtual
# Apps and Desktops 2407, "Proxy support for VDA Upgrade Agent": "During VDA installation, the registry key is set
# by the meta-installer"); the version is DisplayVersion of the uninstall entry of that key name (Windows
# Installer uninstall registry key, learn.microsoft.com/windows/win32/msi/uninstall-registry-key).
CITRIX_VDA_KEY = "SOFTWARE\\Citrix\\VirtualDesktopAgent"
CITRIX_VDA_UNINSTALL_KEY = "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Citrix Virtual Desktop Agent"
CITRIX_VDA_SERVICE = "BrokerAgent"
# BIS-F (Base Image Script Framework, github.com/EUCweb/BIS-F): install metadata Version and Path.
BISF_KEY = "SOFTWARE\\Login Consultants\\BISF"
# VMware Horizon agent (now Omnissa Horizon): agent key and ProductVersion of the VMware VDM key.
HORIZON_VDM_KEY = "SOFTWARE\\VMware, Inc.\\VMware VDM"
HORIZON_AGENT_KEY = "SOFTWARE\\VMware, Inc.\\VMware VDM\\Agent"
OMNISSA_AGENT_KEY = "SOFTWARE\\Omnissa\\Agent"
# Azure Virtual Desktop agent and boot loader (learn.microsoft.com/azure/virtual-desktop/troubleshoot-agent).
AVD_AGENT_KEY = "SOFTWARE\\Microsoft\\RDInfraAgent"
AVD_AGENT_SERVICE = "RDAgent"
AVD_BOOT_LOADER_SERVICE = "RDAgentBootLoader"

CLIENT_AUTH_EKU = "1.3.6.1.5.5.7.3.2"
# Certificate template extensions ([MS-WCCE] 2.2.2.7.7.2 szOID_CERTIFICATE_TEMPLATE, DER
# SEQUENCE { templateID OID, major, minor }; 2.2.2.7.7.1 szOID_ENROLL_CERTTYPE, the v1 template name).
TEMPLATE_INFORMATION_OID = "1.3.6.1.4.1.311.21.7"
TEMPLATE_NAME_OID = "1.3.6.1.4.1.311.20.2"
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
# sms.read_distribution_status: a package ID the host puts into a WQL filter (SMS_PackageBaseclass.PackageID: the
# site code and five hex digits, e.g. PS100004), and the upper bounds of its max_packages (listed per DP) and
# max_rows (rows of SMS_PackageStatusDistPointsSummarizer / SMS_DistributionDPStatus read at most).
PACKAGE_ID_PATTERN = "\\A[A-Za-z0-9]{3}[0-9A-Fa-f]{5}\\z"
PACKAGE_ID_RE = _python_regex(PACKAGE_ID_PATTERN)
DISTRIBUTION_MAX_PACKAGES_LIMIT = 1000
DISTRIBUTION_MAX_ROWS_LIMIT = 200000
# Package IDs per SMS_DistributionDPStatus / SMS_PackageBaseclass query (PackageID = 'A' OR PackageID = 'B' ...).
DISTRIBUTION_QUERY_CHUNK = 20

# Site log files win_sccm_site_facts may read (path reference kind site_log): a ConfigMgr log file name, or its
# rotated .lo_ copy, with no folder, in the site log folder (folder "site": Installation Directory\Logs) or the
# client log folder of the site server (folder "client": %windir%\CCM\Logs, where automatic deployment rules
# write PatchDownloader.log). Nothing else (SAM, UNC paths, "..") is read as SYSTEM.
LOG_FILE_NAME_PATTERN = "\\A[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\\.(?:log|lo_)\\z"
# PowerShell -match ignores case, so the Python twin does too (distmgr.LOG is the same file on NTFS).
LOG_FILE_NAME_RE = re.compile(_python_regex(LOG_FILE_NAME_PATTERN).pattern, re.IGNORECASE)
SITE_LOG_FOLDERS = ("site", "client")
CLIENT_LOG_SUBFOLDER = "CCM\\Logs"

# log.read_filtered (Read-FieldkitLogFiltered and its simulator twin): how the host splits a log into records
# and which records it keeps. Records: an SMS trace entry ends with its trailer line; a CMTrace record starts
# with "<![LOG[" (which also ends any open record) and ends on the first line ending in ">" once its message
# has ended ("]LOG]!><"); at most LOG_MAX_RECORD_LINES lines (the controller's SMS entry cap). The severity of
# a record is decided on its message only (never the SMS trailer or the CMTrace attributes, so "<thread=1
# (0x1)>" or file="error.cpp" mark nothing): CMTrace type 3 is an error and type 2 a warning; otherwise (type 1,
# none, SMS trace, plain) quoted names and success phrases are blanked and the controller's own rules decide
# (_cmlog.SEVERITY_RULES, joined below), plus LOG_CODE_MARK_PATTERN on the unblanked message for the error
# codes the controller extracts (_cmlog.extract_error_codes). So the host keeps every record the controller
# calls an error or a warning (tests/unit/contract/test_host_contract.py). Patterns mean the same in .NET and
# Python and are matched ignoring case (.NET: IgnoreCase, CultureInvariant).
LOG_MAX_RECORD_LINES = _cmlog.MAX_SMS_ENTRY_LINES
LOG_SMS_TRAILER_PATTERN = (
    "\\$\\$<[^<>]*><(\\d{1,2})-(\\d{1,2})-(\\d{4}) (\\d{1,2}):(\\d{2}):(\\d{2})(?:\\.\\d+)?([+-]\\d+)?>"
)
LOG_CMTRACE_START = "<![LOG["
LOG_CMTRACE_MESSAGE_END = "]LOG]!><"
LOG_RECORD_CLOSE_PATTERN = ">\\s*$"
LOG_CMTRACE_TIME_PATTERN = (
    'time="(\\d{1,2}):(\\d{2}):(\\d{2})(?:\\.\\d+)?([+-]\\d+)?"\\s+date="(\\d{1,2})-(\\d{1,2})-(\\d{4})"'
)
LOG_CMTRACE_TYPE_PATTERN = '\\btype\\s*=\\s*"?([0-9]+)'
LOG_ERROR_MARK_PATTERN = "|".join("(?:%s)" % rule[1] for rule in _cmlog.SEVERITY_RULES if rule[0] == "error")
LOG_WARNING_MARK_PATTERN = "|".join("(?:%s)" % rule[1] for rule in _cmlog.SEVERITY_RULES if rule[0] == "warning")
LOG_BENIGN_PATTERN = _cmlog.BENIGN_PATTERN
LOG_QUOTED_NAME_PATTERN = _cmlog.QUOTED_NAME_PATTERN
# The code forms of _cmlog.extract_error_codes, looser (a superset): "error = 53", "hr=-2147024891",
# "failed with 80070002", "(0x35)" / "(80041002)" unless right after a decimal number (an identifier echo such as
# "thread ID 6156 (0x180C)"), "failed (5)" after failure text, a bare failure HRESULT "0x8007xxxx".
LOG_CODE_MARK_PATTERN = "|".join((
    "\\b(?:win32\\s+)?(?:last\\s+)?error(?:\\s+code)?\\s*(?:=|:|is)?\\s*(?:0x0*[1-9a-f]|-?0*[1-9])",
    "\\bhr\\s*[=:]?\\s*(?:-\\d|0x0*[1-9a-f]|(?!0{8})[0-9a-f]{8}\\b)",
    "\\b(?:fail(?:s|ed|ure)?|returned)\\s+(?:with\\s+)?(?:(?:error|exit|return|status)\\s+)?(?:code\\s*)?[=:]?\\s*"
    "[89a-f][0-9a-f]{7}(?![0-9a-z])",
    "(?<![0-9])(?<![0-9]\\s)\\(\\s*(?:0x0*[1-9a-f][0-9a-f]*|[89a-f][0-9a-f]{7})\\s*\\)",
    "\\b(?:fail(?:s|ed|ure|ures)?|errors?|cannot|can\\s*not|can't|couldn't|could\\s+not|unable|denied)\\b"
    "[\\s\\S]*\\(\\s*0*[1-9][0-9]{0,4}\\s*\\)(?=\\s*(?:$|[.,;:~!]))",
    "(?<![0-9a-z])0x[89a-f][0-9a-f]{7}(?![0-9a-z])",
))

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
    "certificate_filter": (ERROR_INVALID_PARAMETER, "Assert-FieldkitCertificateFilter"),
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

# The op runner's module contract (Invoke-FieldkitRunner in _FieldkitCommon.psm1, which replaces Ansible.Basic in the
# runner modules; the lab's twin is tests/simhost/runner.py): the protocol version, every field of an op with its
# type (name=type;..., a type ending in ? is optional: false or an empty dictionary when missing, the defaults
# Ansible.Basic applied), and the _ansible_ options the runner takes (those Ansible.Basic takes on ansible-core
# 2.16-2.19, plus 2.16-2.18's exec_wrapper_warnings); any other option fails before an op runs.
RUNNER_PROTOCOL = 1
RUNNER_OP_FIELDS = "id=str;name=str;function=str;mutating=bool;always=bool?;args=dict?"
RUNNER_INTERNAL_OPTIONS = (
    "check_mode;debug;diff;keep_remote_files;ignore_unknown_opts;module_name;no_log;remote_tmp;selinux_special_fs;"
    "shell_executable;socket;string_conversion_action;syslog_facility;target_log_info;tracebacks_for;tmpdir;"
    "verbosity;version;exec_wrapper_warnings"
)


def runner_op_fields() -> dict[str, str]:
    """RUNNER_OP_FIELDS as {field: type} (``?`` marks an optional field), in the order the runner checks them."""
    return dict(item.split("=", 1) for item in RUNNER_OP_FIELDS.split(";"))


def runner_op_default(type_name: str) -> object:
    """The value of an optional op field that is missing (``bool?``: False, ``dict?``: an empty dictionary)."""
    return {"bool?": False, "dict?": {}}[type_name]


def runner_internal_options() -> frozenset[str]:
    """RUNNER_INTERNAL_OPTIONS as a set of option names without the _ansible_ prefix."""
    return frozenset(RUNNER_INTERNAL_OPTIONS.split(";"))


# The script-level constants of each .psm1, by the PowerShell variable name.
PS_SCRIPT_CONSTANTS: dict[str, dict[str, object]] = {
    "_FieldkitCommon.psm1": {
        "CodePageKey": CODE_PAGE_KEY,
        "RunnerOpFields": RUNNER_OP_FIELDS,
        "RunnerProtocol": RUNNER_PROTOCOL,
        "RunnerInternalOptions": RUNNER_INTERNAL_OPTIONS,
    },
    "_FieldkitClientCommon.psm1": {
        "MarkersKey": MARKERS_KEY,
        "TemplateInformationOid": TEMPLATE_INFORMATION_OID,
        "TemplateNameOid": TEMPLATE_NAME_OID,
    },
    "_FieldkitSystemOps.psm1": {
        "ServiceNamePattern": SERVICE_NAME_PATTERN,
        "MarkersKey": MARKERS_KEY,
    },
    "_FieldkitClientOps.psm1": {
        "MobileClientKey": MOBILE_CLIENT_KEY,
        "CcmExecKey": CCMEXEC_KEY,
        "CimTimeoutSeconds": CIM_TIMEOUT_SECONDS,
    },
    "_FieldkitClientFactsOps.psm1": {
        "MobileClientKey": MOBILE_CLIENT_KEY,
        "CitrixVdaKey": CITRIX_VDA_KEY,
        "CitrixVdaUninstallKey": CITRIX_VDA_UNINSTALL_KEY,
        "CitrixVdaService": CITRIX_VDA_SERVICE,
        "BisfKey": BISF_KEY,
        "HorizonVdmKey": HORIZON_VDM_KEY,
        "HorizonAgentKey": HORIZON_AGENT_KEY,
        "OmnissaAgentKey": OMNISSA_AGENT_KEY,
        "AvdAgentKey": AVD_AGENT_KEY,
        "AvdAgentService": AVD_AGENT_SERVICE,
        "AvdBootLoaderService": AVD_BOOT_LOADER_SERVICE,
    },
    "_FieldkitImageCommon.psm1": {
        "ImagePrepRecordKey": IMAGE_PREP_RECORD_KEY,
        "ErrorAccessDenied": ERROR_ACCESS_DENIED,
        "CcmExecKey": CCMEXEC_KEY,
        "ErrorUnknownProduct": ERROR_UNKNOWN_PRODUCT,
        "ErrorNotSupported": ERROR_NOT_SUPPORTED,
        "ErrorInstallAlreadyRunning": ERROR_INSTALL_ALREADY_RUNNING,
        "ErrorBusy": ERROR_BUSY,
        "ErrorInvalidState": ERROR_INVALID_STATE,
    },
    "_FieldkitImageOps.psm1": {
        "CimTimeoutSeconds": CIM_TIMEOUT_SECONDS,
        "MobileClientKey": MOBILE_CLIENT_KEY,
        "MarkersKey": MARKERS_KEY,
        "ImagePrepRecordKey": IMAGE_PREP_RECORD_KEY,
        "ClientAuthEku": CLIENT_AUTH_EKU,
        "ErrorNotSupported": ERROR_NOT_SUPPORTED,
        "ErrorInvalidParameter": ERROR_INVALID_PARAMETER,
    },
    "_FieldkitImageFinishOps.psm1": {
        "ImagePrepRecordKey": IMAGE_PREP_RECORD_KEY,
        "ErrorNotReady": ERROR_NOT_READY,
    },
    "_FieldkitProcessStart.psm1": {
        "CimTimeoutSeconds": CIM_TIMEOUT_SECONDS,
        "ErrorInvalidParameter": ERROR_INVALID_PARAMETER,
        "ErrorAccessDenied": ERROR_ACCESS_DENIED,
        "ErrorPathNotFound": ERROR_PATH_NOT_FOUND,
        "ErrorPrivilegeNotHeld": ERROR_PRIVILEGE_NOT_HELD,
        "ErrorUnknownFailure": E_FAIL,
        "CreateBreakawayFromJob": CREATE_BREAKAWAY_FROM_JOB,
    },
    "_FieldkitImageOptionOps.psm1": {
        "CcmExecKey": CCMEXEC_KEY,
        "ErrorInvalidParameter": ERROR_INVALID_PARAMETER,
    },
    "_FieldkitFirewallOps.psm1": {
        "ErrorInvalidParameter": ERROR_INVALID_PARAMETER,
        "ErrorTimeout": ERROR_TIMEOUT,
    },
    "_FieldkitCcmSetupOps.psm1": {
        "ErrorInvalidParameter": ERROR_INVALID_PARAMETER,
        "ErrorFileNotFound": ERROR_FILE_NOT_FOUND,
        "CcmSetupArgumentCharacters": CCMSETUP_ARGUMENT_CHARACTERS,
    },
    # A module util has its own script scope: a constant two of them use is assigned in both.
    "_FieldkitDpOps.psm1": {
        "DpKey": DP_KEY,
        "IdentificationKey": IDENTIFICATION_KEY,
        "ClassNamePattern": CLASS_NAME_PATTERN,
    },
    "_FieldkitSiteOps.psm1": {
        "HostNamePattern": HOST_NAME_PATTERN,
        "PackageIdPattern": PACKAGE_ID_PATTERN,
        "DistributionMaxPackagesLimit": DISTRIBUTION_MAX_PACKAGES_LIMIT,
        "DistributionMaxRowsLimit": DISTRIBUTION_MAX_ROWS_LIMIT,
        "DistributionQueryChunk": DISTRIBUTION_QUERY_CHUNK,
    },
    "_FieldkitDpShared.psm1": {
        "IdentificationKey": IDENTIFICATION_KEY,
        "CurrentVersionKey": CURRENT_VERSION_KEY,
        "W32TimeParametersKey": W32TIME_PARAMETERS_KEY,
        "UnsignedMask": 0xFFFFFFFF,
        "HostNamePattern": HOST_NAME_PATTERN,
        "ClassNamePattern": CLASS_NAME_PATTERN,
        "LogFileNamePattern": LOG_FILE_NAME_PATTERN,
        "ClientLogSubfolder": CLIENT_LOG_SUBFOLDER,
        "LogMaxRecordLines": LOG_MAX_RECORD_LINES,
        "LogSmsTrailerPattern": LOG_SMS_TRAILER_PATTERN,
        "LogCmTraceStart": LOG_CMTRACE_START,
        "LogCmTraceMessageEnd": LOG_CMTRACE_MESSAGE_END,
        "LogRecordClosePattern": LOG_RECORD_CLOSE_PATTERN,
        "LogCmTraceTimePattern": LOG_CMTRACE_TIME_PATTERN,
        "LogCmTraceTypePattern": LOG_CMTRACE_TYPE_PATTERN,
        "LogErrorMarkPattern": LOG_ERROR_MARK_PATTERN,
        "LogWarningMarkPattern": LOG_WARNING_MARK_PATTERN,
        "LogBenignPattern": LOG_BENIGN_PATTERN,
        "LogQuotedNamePattern": LOG_QUOTED_NAME_PATTERN,
        "LogCodeMarkPattern": LOG_CODE_MARK_PATTERN,
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
