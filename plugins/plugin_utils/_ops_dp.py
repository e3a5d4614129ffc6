# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ops for distribution point (DP) diagnosis and inventory. FOR INTERNAL COLLECTION USE ONLY.

Most ops here are generic (shares, disks, ACLs, group members, event log, filtered log excerpts,
WMI namespace security, parallel network probes) and may be reused by other modules; the
ConfigMgr-specific ones are ``dp.read_role`` and ``sms.read_site_systems``.

Path references (``path_refs``): ops that read files or folders take literal ``paths`` (``%VAR%``
expanded on the host) and ``path_refs``, which the host resolves to local paths, so that ONE batch
can read, for example, the ACL of the DP content library without first asking where it is:

* ``{"kind": "registry", "key": "SOFTWARE\\Microsoft\\SMS\\DP", "name": "ContentLibraryPath", "append": ""}``:
  the value under HKLM (a path, or a ``,``/``;`` separated list of paths or drives), each joined
  with ``append``;
* ``{"kind": "share", "name": "SCCMContentLib$", "append": ""}``: the local path of a share;
* ``{"kind": "fixed_drives", "append": "SMS_DP$\\sms\\logs\\smsdpprov.log"}``: ``append`` at the root
  of every fixed drive, existing ones only;
* ``{"kind": "site_log", "name": "distmgr.log", "folder": "site"}``: a file in the ConfigMgr site log folder
  (``Installation Directory`` under ``HKLM\\SOFTWARE\\Microsoft\\SMS\\Identification`` + ``\\Logs``), or with
  ``"folder": "client"`` in the client log folder (``%windir%\\CCM\\Logs``). The host refuses any other folder
  and any name that is not a ConfigMgr log file name (``_host_contract.LOG_FILE_NAME_PATTERN``: no folder, ending
  in ``.log`` or ``.lo_``), so that nothing else is read as SYSTEM.

PowerShell implementations, split so that each runner ships only what it runs: the ops only a DP runs in
plugins/module_utils/_FieldkitDpOps.psm1 (runner sccm_op_runner_dp), the ops only the site server runs in
_FieldkitSiteOps.psm1 (sccm_op_runner_site), the ops both run in _FieldkitDpShared.psm1 (both runners);
``module_util=`` below names it. tests/unit/contract/test_runner_closure.py checks that every function an op
calls is shipped by its runner.
"""
from __future__ import annotations

from ._ops import Arg, OpSpec, register

# Where the PowerShell of an op lives when it is not _FieldkitDpOps.psm1 (the DP-only ops).
SHARED = "_FieldkitDpShared"
SITE_SIDE = "_FieldkitSiteOps"

PATH_REF_KINDS = ("registry", "share", "fixed_drives", "site_log")
LOG_SEVERITIES = ("error", "warning")
DEFAULT_PROBE_PORTS = (135, 445, 80, 443)
# net.probe_targets: the stages of one target, their states, and why an RPC stage was not attempted.
PROBE_STAGES = ("dns", "tcp", "epm", "wmi", "clock")
PROBE_STAGE_STATES = ("done", "skipped", "timed_out", "failed", "not_requested")
SKIP_REASONS = ("tcp_135_closed", "dns_unresolved")
MAX_EPM_ENDPOINTS = 20
MAX_EPM_SAMPLE_PORTS = 3

_PATH_REFS = Arg("path_refs", "list", default=[], elements="dict",
                 description="Path references resolved on the host (see the module docstring).")

register(OpSpec(
    name="dp.read_role",
    ps_function="Get-FieldkitDpRole",
    mutating=False,
    args=(),
    result={
        "installed": "bool",
        "registry_present": "bool",
        "site_server": "str?",
        "site_code": "str?",
        "content_library_path": "str?",
        "usable_drives": "list",
        "is_pull_dp": "bool?",
        "is_pxe": "bool?",
        "sms_dp_share_path": "str?",
        "evidence": "list",
    },
    description="Distribution point role: HKLM\\SOFTWARE\\Microsoft\\SMS\\DP (SiteServer, ContentLibraryPath, "
                "ContentLibUsableDrives, IsPullDP, IsPXE), the site code from SMS\\Identification and the SMS_DP$ "
                "share path.",
))

register(OpSpec(
    name="share.list",
    ps_function="Get-FieldkitShare",
    mutating=False,
    args=(
        Arg("names", "list", default=[], elements="str",
            description="Share names or wildcard patterns (SMSPKG*$); empty = every share."),
        Arg("include_access", "bool", default=True, description="Also read the share ACL (Get-SmbShareAccess)."),
    ),
    result={"server_service_running": "bool", "shares": "list", "missing": "list"},
    description="SMB shares (name, path, description, special) and their share ACL entries (account, sid, "
                "resolved, type allow/deny, right full/change/read/custom); names matched by no share are listed in "
                "missing. A deleted account is listed with its SID (account null when Get-SmbShareAccess shows no "
                "name; the SID then comes from the share's DACL when it can be matched, else sid is null).",
), module_util=SHARED)

register(OpSpec(
    name="disk.list",
    ps_function="Get-FieldkitDisk",
    mutating=False,
    args=(
        Arg("drives", "list", default=[], elements="str", description="Drive letters (D: or D:\\); empty = every fixed drive."),
        Arg("marker_file", "str", description="File name to look for at each drive root, e.g. NO_SMS_ON_DRIVE.SMS."),
        Arg("timeout_seconds", "int", default=30),
    ),
    result={"disks": "list"},
    description="Fixed drives (Win32_LogicalDisk DriveType=3): drive, size_bytes, free_bytes, free_percent, "
                "file_system, volume_name and whether the marker file exists at the root.",
), module_util=SHARED)

register(OpSpec(
    name="path.test_access",
    ps_function="Test-FieldkitPathAccess",
    mutating=False,
    args=(
        Arg("paths", "list", required=True, elements="str", description="Local or UNC folder paths."),
        Arg("timeout_seconds", "int", default=15, description="Per path; UNC paths can hang on SMB timeouts."),
    ),
    result={"identity": "str", "paths": "list"},
    description="For each path, as the identity running the op: exists, readable (a directory listing works), "
                "free_bytes/total_bytes of the volume behind it, elapsed_ms and the Windows error when not.",
), module_util=SITE_SIDE)

register(OpSpec(
    name="os.read_info",
    ps_function="Get-FieldkitOsInfo",
    mutating=False,
    args=(
        Arg("include_hotfixes", "bool", default=True, description="List installed updates (Win32_QuickFixEngineering)."),
        Arg("max_hotfixes", "int", default=40, description="Keep the newest N hotfixes."),
        Arg("timeout_seconds", "int", default=60),
    ),
    result={
        "computer_name": "str",
        "fqdn": "str?",
        "domain": "str?",
        "ipv4_addresses": "list",
        "ipv6_addresses": "list",
        "product_name": "str?",
        "installation_type": "str?",
        "display_version": "str?",
        "build": "int?",
        "ubr": "int?",
        "system_drive": "str",
        "temp_path": "str",
        "windir": "str",
        "ansi_code_page": "int?",
        "ui_culture": "str?",
        "hotfixes": "list",
        "hotfixes_collected": "bool",
    },
    description="OS identity and servicing level: CurrentBuildNumber, UBR, ProductName, InstallationType, "
                "DisplayVersion from HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion (null when absent), FQDN, "
                "IPv4 and IPv6 addresses (no loopback, no link-local), system drive, TEMP of the identity running the op, "
                "ANSI code page, and the newest installed hotfixes (an empty list when there are none).",
), module_util=SHARED)

register(OpSpec(
    name="registry.read_values",
    ps_function="Get-FieldkitRegistryValues",
    mutating=False,
    args=(
        Arg("items", "list", required=True, elements="dict",
            description="[{key: 'SOFTWARE\\\\Microsoft\\\\Ole', names: ['EnableDCOM']}] under HKLM (64-bit view); "
                        "names omitted = every value of the key."),
    ),
    result={"keys": "list"},
    description="Values of registry keys under HKLM: per key, exists and a name -> value map (REG_BINARY as "
                "base64, REG_MULTI_SZ as a list, REG_EXPAND_SZ not expanded).",
), module_util=SHARED)

register(OpSpec(
    name="time.read",
    ps_function="Get-FieldkitTimeState",
    mutating=False,
    args=(Arg("timeout_seconds", "int", default=15, description="For w32tm.exe /query."),),
    result={
        "utc_now": "str",
        "timezone_id": "str?",
        "bias_minutes": "int?",
        "w32time_type": "str?",
        "ntp_server": "str?",
        "source": "str?",
        "last_sync_utc": "str?",
        "status_lines": "list",
    },
    description="Clock (UTC now), time zone and Windows Time configuration (Parameters Type/NtpServer) plus "
                "w32tm /query /status (source, last successful sync; labels in English or Japanese).",
), module_util=SHARED)

register(OpSpec(
    name="wmi.test_namespace",
    ps_function="Test-FieldkitWmiNamespace",
    mutating=False,
    args=(
        Arg("namespace", "str", required=True, description="e.g. root\\SCCMDP."),
        Arg("class_name", "str", description="A class to query in the namespace, e.g. SMS_DistributionPoint."),
        Arg("timeout_seconds", "int", default=30),
    ),
    result={
        "namespace": "str",
        "connected": "bool",
        "class_name": "str?",
        "class_present": "bool?",
        "instance_count": "int?",
        "error": "dict?",
        "elapsed_ms": "int",
    },
    description="Connects to a local WMI namespace and queries a class; WMI errors are returned with their "
                "HRESULT (0x8004100E invalid namespace, 0x80041013 provider load failure ...), never thrown.",
))

register(OpSpec(
    name="wmi.read_namespace_security",
    ps_function="Get-FieldkitWmiNamespaceSecurity",
    mutating=False,
    args=(
        Arg("namespace", "str", default="root"),
        Arg("timeout_seconds", "int", default=30),
    ),
    result={"namespace": "str", "sddl": "str", "owner_sid": "str?", "entries": "list"},
    description="Security descriptor of a WMI namespace (__SystemSecurity.GetSD) as SDDL plus its DACL entries: "
                "sid, account, resolved, type allow/deny, mask, flags, inherited, container_inherit.",
))

register(OpSpec(
    name="acl.read",
    ps_function="Get-FieldkitAcl",
    mutating=False,
    args=(
        Arg("paths", "list", default=[], elements="str", description="Literal paths (%VAR% expanded)."),
        _PATH_REFS,
    ),
    result={"acls": "list"},
    description="NTFS ACL of files or folders: path, exists, owner, sddl, protected, and entries (sid, account, "
                "resolved, type, rights as FileSystemRights names, mask, inherited, inheritance flags).",
), module_util=SHARED)

register(OpSpec(
    name="group.read_members",
    ps_function="Get-FieldkitLocalGroupMember",
    mutating=False,
    args=(
        Arg("sid", "str", required=True, description="Well-known SID of a local group, e.g. S-1-5-32-544."),
        Arg("timeout_seconds", "int", default=30,
            description="For enumerating the members (WinNT asks a domain controller about domain members); "
                        "the op fails with ERROR_TIMEOUT rather than return a partial list."),
    ),
    result={"sid": "str", "name": "str?", "exists": "bool", "members": "list"},
    description="Direct members of a local group found by SID (never by its localized name): sid, name, resolved, "
                "class (user/group/computer/unknown); orphaned SIDs and names not translated in time (an unreachable "
                "domain controller) are listed with name null and resolved false.",
))

register(OpSpec(
    name="event.query",
    ps_function="Get-FieldkitEvent",
    mutating=False,
    args=(
        Arg("log_name", "str", default="System"),
        Arg("provider_name", "str", description="e.g. Microsoft-Windows-DistributedCOM."),
        Arg("event_ids", "list", default=[], elements="int"),
        Arg("since_hours", "int", default=168),
        Arg("max_events", "int", default=10, description="Newest events returned."),
        Arg("max_count", "int", default=1000, description="Events counted at most."),
        Arg("timeout_seconds", "int", default=30),
    ),
    result={"log_name": "str", "count": "int", "count_capped": "bool", "events": "list",
            "provider_missing": "bool"},
    description="Events of one log filtered by provider, ids and age: count (bounded) and the newest events "
                "(id, time_utc, level, provider, data = insertion strings, message).",
), module_util=SHARED)

register(OpSpec(
    name="log.read_filtered",
    ps_function="Read-FieldkitLogFiltered",
    mutating=False,
    args=(
        Arg("paths", "list", default=[], elements="str", description="Log files (%VAR% expanded)."),
        _PATH_REFS,
        Arg("include_rotated", "bool", default=True, description="Also read <name>.lo_ for every <name>.log."),
        Arg("patterns", "list", default=[], elements="str",
            description="Keep records containing any of these (case-insensitive), e.g. DP names."),
        Arg("severities", "list", default=list(LOG_SEVERITIES), elements="str", choices=LOG_SEVERITIES,
            description="Also keep records with these severity markers."),
        Arg("since_utc", "str", description="Drop records older than this ISO 8601 UTC time (records without time are kept)."),
        Arg("max_lines", "int", default=200, description="Per file: keep at most the newest N records."),
        Arg("max_bytes", "int", default=65536, description="Per file: keep at most N characters of the newest records."),
        Arg("max_scan_bytes", "int", default=33554432, description="Per file: read at most the last N bytes."),
        Arg("timeout_seconds", "int", default=60, description="Overall scanning budget."),
    ),
    result={"log_dir": "str?", "files": "list", "records": "list", "truncated": "bool"},
    description="Excerpts of text logs filtered ON THE HOST: records (multi-line SMS trace / CMTrace entries) "
                "that name a pattern or carry an error/warning marker, newer than since_utc, bounded by lines and "
                "bytes; encodings detected on the host (BOM, UTF-16, UTF-8, ANSI code page).",
), module_util=SHARED)

register(OpSpec(
    name="identity.read",
    ps_function="Get-FieldkitIdentity",
    mutating=False,
    args=(
        Arg("include_computer_groups", "bool", default=True,
            description="Read the computer account's domain groups (tokenGroups) from Active Directory."),
        Arg("timeout_seconds", "int", default=15),
    ),
    result={
        "user": "str",
        "user_sid": "str",
        "is_system": "bool",
        "computer_name": "str",
        "domain": "str?",
        "computer_account": "str?",
        "computer_account_sid": "str?",
        "computer_groups": "list",
        "computer_groups_error": "dict?",
    },
    description="Who runs the batch, the computer account (DOMAIN\\NAME$) with its SID, and the SIDs of the "
                "domain groups it belongs to; SYSTEM uses the computer account on the network.",
), module_util=SHARED)

register(OpSpec(
    name="net.probe_targets",
    ps_function="Test-FieldkitNetworkTarget",
    mutating=False,
    args=(
        Arg("targets", "list", required=True, elements="str", description="Host names (FQDN) to probe."),
        Arg("tcp_ports", "list", default=list(DEFAULT_PROBE_PORTS), elements="int"),
        Arg("check_epm", "bool", default=True, description="Query the RPC endpoint mapper and connect to one dynamic port."),
        Arg("check_wmi", "bool", default=True, description="Connect to wmi_namespace over DCOM (not WinRM)."),
        Arg("wmi_namespace", "str", default="root\\SCCMDP"),
        Arg("wmi_class", "str", default="SMS_DistributionPoint"),
        Arg("check_clock", "bool", default=True, description="Read the target's clock (Win32_UTCTime over DCOM, else NTP)."),
        Arg("connect_timeout_ms", "int", default=3000, description="Per TCP connection."),
        Arg("timeout_seconds", "int", default=30, description="Per target, for all its probes together."),
        Arg("max_parallel", "int", default=16, description="Targets probed at the same time (runspace pool)."),
    ),
    result={"identity": "str", "targets": "list", "elapsed_ms": "int"},
    description="Probes many targets in parallel, each with a time budget: DNS forward and reverse (IPv4 and IPv6; "
                "IPv4 first, the TCP probes use the first address), TCP ports, RPC endpoint mapper, remote WMI over "
                "DCOM as the identity running the op, and the target clock. Per target: target, timed_out, elapsed_ms, "
                "dns, tcp, epm, wmi, clock, stages, error (see PROBE_STAGES, PROBE_STAGE_STATES, SKIP_REASONS). "
                "epm: reachable, endpoint_count, endpoints (at most 20 TCP elements of the endpoint map: uuid, port, "
                "annotation, unordered), sample_ports (at most 3 distinct dynamic ports of the map probed with TCP: "
                "port, uuid, open, error; they show whether the dynamic RPC range gets through, NOT the WMI/DCOM "
                "server's port, which DCOM hands out per activation; the wmi stage proves that path), "
                "dynamic_port_open (any sample open), skipped, skip_reason, error. Without TCP 135 the epm and wmi "
                "stages and the DCOM clock are skipped (skip_reason tcp_135_closed, error = why 135 is closed). "
                "A target abandoned after timeout_seconds keeps the stages it finished; the others are stubs with "
                "error ERROR_TIMEOUT and are named timed_out in stages.",
), module_util=SHARED)

register(OpSpec(
    name="sms.read_site_systems",
    ps_function="Get-FieldkitSmsSiteSystem",
    mutating=False,
    args=(
        Arg("timeout_seconds", "int", default=30),
        Arg("max_distribution_points", "int", default=5000,
            description="SMS_DistributionPointInfo instances read at most (distribution_points_truncated tells)."),
    ),
    result={
        "provider_available": "bool",
        "provider_machine": "str?",
        "namespace": "str?",
        "site_code": "str?",
        "systems": "list",
        "distribution_points": "list",
        "distribution_points_truncated": "bool",
        "dp_info_error": "dict?",
        "error": "dict?",
    },
    # SMS_DistributionPointInfo (ConfigMgr SDK, "SMS_DistributionPointInfo server WMI class"): ServerName, NALPath,
    # IsPullDP, IsPXE. The source DPs of a pull DP are the property lists SourceDistributionPoints (NAL paths) and
    # SourceDPRanks of the DP's SMS_SCI_SysResUse (the -SourceDistributionPoints / -SourceDPRanks parameters of
    # Set-CMDistributionPoint write them; the SDK pages do not list the property-list names).
    description="Site systems known to the SMS Provider (SMS_SCI_SysResUse): server, roles, and the site system "
                "installation account (UseMachineAccount / UserName); and the site's DPs (SMS_DistributionPointInfo: "
                "server, nal_path, is_pull_dp, is_pxe) with, for a pull DP, source_nal_paths and source_ranks (the "
                "SourceDistributionPoints / SourceDPRanks property lists of its SMS Distribution Point SysResUse, in "
                "the same order). A failing SMS_DistributionPointInfo query is dp_info_error, the systems are still "
                "returned; provider errors are returned, not thrown.",
), module_util=SITE_SIDE)

register(OpSpec(
    name="sms.read_package_sources",
    ps_function="Get-FieldkitSmsPackageSource",
    mutating=False,
    args=(
        Arg("max_packages", "int", default=2000,
            description="SMS_Package instances read at most (PackageID, PkgSourcePath); packages_truncated tells."),
        Arg("max_shares", "int", default=10, description="Distinct source shares (\\\\server\\share) tested at most."),
        Arg("access_timeout_seconds", "int", default=15, description="Per share, as path.test_access."),
        Arg("timeout_seconds", "int", default=30, description="For the SMS Provider queries."),
    ),
    result={
        "provider_available": "bool",
        "namespace": "str?",
        "site_code": "str?",
        "packages_read": "int",
        "packages_truncated": "bool",
        "local_paths": "int",
        "shares": "list",
        "shares_truncated": "bool",
        "identity": "str?",
        "access": "list",
        "error": "dict?",
    },
    description="The package source shares the site uses, read from the SMS Provider (root\\SMS\\site_<code>: "
                "SMS_Package.PkgSourcePath, at most max_packages) and reduced to their distinct \\\\server\\share roots "
                "(shares, each {path, packages}: the number of packages whose source is under it; at most max_shares, "
                "most used first); then each root is tested as path.test_access does (access: exists, readable, "
                "free_bytes, total_bytes, error, elapsed_ms) as the identity running the op. Package sources that are "
                "not UNC paths are only counted (local_paths). Provider errors are returned, not thrown.",
), module_util=SITE_SIDE)

# sms.read_distribution_status: State of SMS_PackageStatusDistPointsSummarizer ("SMS_PackageStatusDistPointsSummarizer
# Server WMI Class", ConfigMgr SDK: INSTALLED 0, INSTALL_PENDING 1, INSTALL_RETRYING 2, INSTALL_FAILED 3,
# REMOVAL_PENDING 4, REMOVAL_RETRYING 5, REMOVAL_FAILED 6, CONTENT_UPDATING 7, CONTENT_MONITORING 8).
DISTRIBUTION_STATES = ("installed", "install_pending", "install_retrying", "install_failed", "removal_pending",
                       "removal_retrying", "removal_failed", "content_updating", "content_monitoring")
DEFAULT_MAX_STUCK_PACKAGES = 50
DEFAULT_MAX_DISTRIBUTION_ROWS = 20000

register(OpSpec(
    name="sms.read_distribution_status",
    ps_function="Get-FieldkitSmsDistributionStatus",
    mutating=False,
    args=(
        Arg("distribution_points", "list", required=True, elements="str",
            description="DP names (FQDN or short name) whose content state to return; others are skipped."),
        Arg("max_packages", "int", default=DEFAULT_MAX_STUCK_PACKAGES,
            description="Per DP: content that is not installed listed at most (packages_truncated tells)."),
        Arg("max_rows", "int", default=DEFAULT_MAX_DISTRIBUTION_ROWS,
            description="Rows of each SMS Provider class read at most, for all DPs together (rows_truncated tells)."),
        Arg("timeout_seconds", "int", default=60,
            description="Deadline for all the SMS Provider queries together; what is not read by then is left out "
                        "(timed_out tells)."),
    ),
    result={
        "provider_available": "bool",
        "namespace": "str?",
        "site_code": "str?",
        "dps": "list",
        "rows_read": "int",
        "rows_truncated": "bool",
        "timed_out": "bool",
        "elapsed_ms": "int",
        "error": "dict?",
    },
    description="Content distribution state per DP from the SMS Provider (root\\SMS\\site_<code>): counts from "
                "SMS_DPStatusInfo (NumberInstalled, NumberInProgress, NumberErrors, NumberUnknown) and, for content that "
                "is not installed, SMS_PackageStatusDistPointsSummarizer (PackageID, State, SourceVersion, SummaryDate) "
                "joined with the last status message of SMS_DistributionDPStatus (MessageID, MessageState, "
                "MessageSeverity, LastUpdateDate, InsString1-3) and the name from SMS_PackageBaseclass. Installed "
                "content is counted, never listed. Per DP: name, found, total, installed, in_progress, errors, unknown, "
                "packages [{package_id, name, state, source_version, summary_time, message_id, message_state, "
                "message_severity, message_time, insertion_strings}], packages_truncated. Bounded by max_packages, "
                "max_rows and the timeout_seconds deadline; provider errors are returned, not thrown.",
), module_util=SITE_SIDE)
