# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# The distribution point ops that both the DP side (_FieldkitDpOps.psm1, win_sccm_dp_facts) and the site server
# side (_FieldkitSiteOps.psm1, win_sccm_site_facts) run, and the helpers both call; shipped by the runners
# sccm_op_runner_dp and sccm_op_runner_site (registry: plugins/plugin_utils/_ops_dp.py): identity, shares, disks,
# OS info, registry values, time, NTFS ACLs, events, filtered log excerpts, the parallel network probe.
# Read-only ops return a data hashtable; failures throw an ErrorRecord with the Windows error code.
# Expected negative answers (a missing share, a closed port) are data, not failures. Targets Windows PowerShell 5.1.
# A module util has its own script scope: the $script: constants below are visible to these functions only.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon

Set-StrictMode -Version 2.0

# System.ServiceProcess.dll ([System.ServiceProcess.ServiceControllerStatus] in share.list) is loaded by
# _FieldkitCommon at import, which every runner imports first.

$script:IdentificationKey = 'SOFTWARE\Microsoft\SMS\Identification'
$script:CurrentVersionKey = 'SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$script:W32TimeParametersKey = 'SYSTEM\CurrentControlSet\Services\W32Time\Parameters'
$script:UnsignedMask = [int64]4294967295
$script:HostNamePattern = '\A[A-Za-z0-9][A-Za-z0-9.-]{0,252}\z'
$script:ClassNamePattern = '\A[A-Za-z_][A-Za-z0-9_]{0,255}\z'
$script:LogFileNamePattern = '\A[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.(?:log|lo_)\z'
$script:ClientLogSubfolder = 'CCM\Logs'
# log.read_filtered: record splitting and severity marks, declared in _host_contract.py (LOG_*).
$script:LogMaxRecordLines = 64
$script:LogSmsTrailerPattern = '\$\$<[^<>]*><(\d{1,2})-(\d{1,2})-(\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?([+-]\d+)?>'
$script:LogCmTraceStart = '<![LOG['
$script:LogCmTraceMessageEnd = ']LOG]!><'
$script:LogRecordClosePattern = '>\s*$'
$script:LogCmTraceTimePattern = 'time="(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?([+-]\d+)?"\s+date="(\d{1,2})-(\d{1,2})-(\d{4})"'
$script:LogCmTraceTypePattern = '\btype\s*=\s*"?([0-9]+)'
$script:LogErrorMarkPattern = '(?:\bfail(?:s|ed|ure|ures)?\b)|(?:\berrors?\b)|(?:\b(?:cannot|can\s*not|can''t|unable)\b)|(?:\bdenied\b)|(?:\b0x[89a-f][0-9a-f]{7}\b)|(?:\breturn value 3\b)|(?:\bSEV=E\b)|(?:\b(?:(?:exit|return)[ _-]?code|exit\s+status|exited\s+with)\b(?:\s+(?:code|value|status))?\s*(?:[:=]|is|of|was)?\s*(?!(?:0x)?0+\b|3010\b|1641\b)(?:0x[0-9a-f]{1,8}|-?\d{1,10})\b)'
$script:LogWarningMarkPattern = '(?:\b(?:will\s+)?retr(?:y|ying|ies|ied)\b)|(?:\bwarn(?:ing|ings)?\b)|(?:\bSEV=W\b)'
$script:LogBenignPattern = '\b(?:no|0|zero|without)\s+(?:errors?|failures?)\b|\b(?:error|hr|result|status)(?:\s+code)?\s*(?:=|:)?\s*(?:0x)?0+\b(?!\.\d)'
$script:LogQuotedNamePattern = '\b(?:task|service|file|folder|directory|path|package|program|application|deployment|collection|component|process|share|job|class|namespace|object|item|setting|policy|account|user|group|name)s?(?:\s*[:=]\s*|\s+)(?:''[^''\r\n]{1,260}''|"[^"\r\n]{1,260}")(?!\w)'
$script:LogCodeMarkPattern = '\b(?:win32\s+)?(?:last\s+)?error(?:\s+code)?\s*(?:=|:|is)?\s*(?:0x0*[1-9a-f]|-?0*[1-9])|\bhr\s*[=:]?\s*(?:-\d|0x0*[1-9a-f]|(?!0{8})[0-9a-f]{8}\b)|\b(?:fail(?:s|ed|ure)?|returned)\s+(?:with\s+)?(?:(?:error|exit|return|status)\s+)?(?:code\s*)?[=:]?\s*[89a-f][0-9a-f]{7}(?![0-9a-z])|(?<![0-9])(?<![0-9]\s)\(\s*(?:0x0*[1-9a-f][0-9a-f]*|[89a-f][0-9a-f]{7})\s*\)|\b(?:fail(?:s|ed|ure|ures)?|errors?|cannot|can\s*not|can''t|couldn''t|could\s+not|unable|denied)\b[\s\S]*\(\s*0*[1-9][0-9]{0,4}\s*\)(?=\s*(?:$|[.,;:~!]))|(?<![0-9a-z])0x[89a-f][0-9a-f]{7}(?![0-9a-z])'

# Native helpers compiled once per module execution (C# 5: Windows PowerShell 5.1 uses the .NET
# Framework compiler; only mscorlib and System.dll types). RpcEpm lists the endpoints registered with
# a remote RPC endpoint mapper, like portqry -e 135; DiskSpace reads the free space behind a local or
# UNC path; AccountLookup translates SIDs and account names with a deadline and a per-batch cache.
# fieldkit-build: embedded csharp
$script:NativeSource = @'
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Security.Principal;
using System.Threading;
using System.Threading.Tasks;

namespace Fieldkit
{
    public static class DiskSpace
    {
        [DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool GetDiskFreeSpaceEx(string directoryName, out ulong freeBytesAvailable, out ulong totalBytes, out ulong totalFreeBytes);

        public static long[] Get(string path)
        {
            ulong available;
            ulong total;
            ulong totalFree;
            // GetDiskFreeSpaceExW: "If this parameter is a UNC name, it must include a trailing backslash
            // (for example, \\MyServer\MyShare\)". A trailing backslash is harmless on a local folder.
            string directory = path;
            if (!directory.EndsWith("\\", StringComparison.Ordinal))
            {
                directory = directory + "\\";
            }
            if (!GetDiskFreeSpaceEx(directory, out available, out total, out totalFree))
            {
                throw new System.ComponentModel.Win32Exception(Marshal.GetLastWin32Error());
            }
            return new long[] { (long)available, (long)total };
        }
    }

    // One element of an endpoint map: interface UUID, string binding, annotation.
    public sealed class EpmEntry
    {
        public string Uuid;
        public string Binding;
        public string Annotation;
    }

    public static class RpcEpm
    {
        private const uint RPC_C_EP_ALL_ELTS = 0;
        private const int RPC_X_NO_MORE_ENTRIES = 1772;

        [DllImport("rpcrt4.dll", CharSet = CharSet.Unicode, EntryPoint = "RpcStringBindingComposeW")]
        private static extern int RpcStringBindingCompose(
            string objUuid, string protSeq, string networkAddr, string endpoint, string options, out IntPtr stringBinding);

        [DllImport("rpcrt4.dll", CharSet = CharSet.Unicode, EntryPoint = "RpcBindingFromStringBindingW")]
        private static extern int RpcBindingFromStringBinding(IntPtr stringBinding, out IntPtr binding);

        [DllImport("rpcrt4.dll", CharSet = CharSet.Unicode, EntryPoint = "RpcStringFreeW")]
        private static extern int RpcStringFree(ref IntPtr value);

        [DllImport("rpcrt4.dll")]
        private static extern int RpcBindingFree(ref IntPtr binding);

        [DllImport("rpcrt4.dll")]
        private static extern int RpcMgmtSetComTimeout(IntPtr binding, uint timeout);

        [DllImport("rpcrt4.dll")]
        private static extern int RpcMgmtEpEltInqBegin(
            IntPtr epBinding, uint inquiryType, IntPtr ifId, uint versOption, IntPtr objectUuid, out IntPtr inquiryContext);

        [DllImport("rpcrt4.dll", CharSet = CharSet.Unicode, EntryPoint = "RpcMgmtEpEltInqNextW")]
        private static extern int RpcMgmtEpEltInqNext(IntPtr inquiryContext, IntPtr ifId, out IntPtr binding, IntPtr objectUuid, out IntPtr annotation);

        [DllImport("rpcrt4.dll")]
        private static extern int RpcMgmtEpEltInqDone(ref IntPtr inquiryContext);

        [DllImport("rpcrt4.dll", CharSet = CharSet.Unicode, EntryPoint = "RpcBindingToStringBindingW")]
        private static extern int RpcBindingToStringBinding(IntPtr binding, out IntPtr stringBinding);

        // Returns the elements registered with the endpoint mapper of host (TCP 135), in the
        // mapper's order (which is no order: entries of all interfaces, unsorted).
        // Throws Win32Exception with the RPC status (1722 = RPC server unavailable ...).
        public static EpmEntry[] List(string host, int maxEntries)
        {
            IntPtr stringBinding = IntPtr.Zero;
            IntPtr binding = IntPtr.Zero;
            IntPtr context = IntPtr.Zero;
            // RPC_IF_ID: the interface UUID (16 bytes) then VersMajor and VersMinor (2 x 2 bytes).
            IntPtr ifId = Marshal.AllocHGlobal(32);
            IntPtr objectUuid = Marshal.AllocHGlobal(16);
            List<EpmEntry> found = new List<EpmEntry>();
            try
            {
                int status = RpcStringBindingCompose(null, "ncacn_ip_tcp", host, "135", null, out stringBinding);
                Check(status);
                status = RpcBindingFromStringBinding(stringBinding, out binding);
                Check(status);
                RpcMgmtSetComTimeout(binding, 1);
                status = RpcMgmtEpEltInqBegin(binding, RPC_C_EP_ALL_ELTS, IntPtr.Zero, 0, IntPtr.Zero, out context);
                Check(status);
                while (found.Count < maxEntries)
                {
                    IntPtr entry;
                    IntPtr annotation;
                    status = RpcMgmtEpEltInqNext(context, ifId, out entry, objectUuid, out annotation);
                    if (status == RPC_X_NO_MORE_ENTRIES)
                    {
                        break;
                    }
                    Check(status);
                    EpmEntry item = new EpmEntry();
                    byte[] raw = new byte[16];
                    Marshal.Copy(ifId, raw, 0, 16);
                    item.Uuid = new Guid(raw).ToString();
                    item.Annotation = "";
                    if (annotation != IntPtr.Zero)
                    {
                        item.Annotation = Marshal.PtrToStringUni(annotation);
                        RpcStringFree(ref annotation);
                    }
                    IntPtr text;
                    if (RpcBindingToStringBinding(entry, out text) == 0)
                    {
                        item.Binding = Marshal.PtrToStringUni(text);
                        RpcStringFree(ref text);
                        found.Add(item);
                    }
                    RpcBindingFree(ref entry);
                }
            }
            finally
            {
                if (context != IntPtr.Zero)
                {
                    RpcMgmtEpEltInqDone(ref context);
                }
                if (binding != IntPtr.Zero)
                {
                    RpcBindingFree(ref binding);
                }
                if (stringBinding != IntPtr.Zero)
                {
                    RpcStringFree(ref stringBinding);
                }
                Marshal.FreeHGlobal(ifId);
                Marshal.FreeHGlobal(objectUuid);
            }
            return found.ToArray();
        }

        private static void Check(int status)
        {
            if (status != 0)
            {
                throw new System.ComponentModel.Win32Exception(status);
            }
        }
    }

    // The outcome of one translation: Value is DOMAIN\name (SidToName) or a SID string (NameToSid),
    // null when not resolved; Error is null, "timeout", "not_mapped" or the exception message.
    public sealed class LookupResult
    {
        public string Value;
        public bool Resolved;
        public string Error;

        public LookupResult(string value, bool resolved, string error)
        {
            Value = value;
            Resolved = resolved;
            Error = error;
        }
    }

    // SecurityIdentifier.Translate / NTAccount.Translate have no timeout: with an unreachable domain
    // controller one call blocks for tens of seconds. Each translation runs on its own thread and is
    // abandoned after timeoutMs; results are cached per SID / name for the module execution, and once
    // a domain timed out its other SIDs / names are not tried again (reported as timeout at once).
    public static class AccountLookup
    {
        private static readonly object Gate = new object();
        private static readonly Dictionary<string, LookupResult> Cache = new Dictionary<string, LookupResult>(StringComparer.OrdinalIgnoreCase);
        private static readonly Dictionary<string, bool> SlowDomains = new Dictionary<string, bool>(StringComparer.OrdinalIgnoreCase);

        public static LookupResult SidToName(string sid, int timeoutMs)
        {
            string domain = "sid:" + sid;
            if (sid.StartsWith("S-1-5-21-", StringComparison.OrdinalIgnoreCase) && sid.LastIndexOf('-') > 9)
            {
                domain = "sid:" + sid.Substring(0, sid.LastIndexOf('-'));
            }
            return Lookup("sid:" + sid, domain, timeoutMs, delegate
            {
                SecurityIdentifier identifier = new SecurityIdentifier(sid);
                return ((NTAccount)identifier.Translate(typeof(NTAccount))).Value;
            });
        }

        public static LookupResult NameToSid(string account, int timeoutMs)
        {
            int slash = account.IndexOf('\\');
            string domain = "name:";
            if (slash > 0)
            {
                domain = "name:" + account.Substring(0, slash);
            }
            return Lookup("name:" + account, domain, timeoutMs, delegate
            {
                NTAccount name = new NTAccount(account);
                return ((SecurityIdentifier)name.Translate(typeof(SecurityIdentifier))).Value;
            });
        }

        private static LookupResult Lookup(string key, string domain, int timeoutMs, Func<string> translate)
        {
            LookupResult result;
            lock (Gate)
            {
                if (Cache.TryGetValue(key, out result))
                {
                    return result;
                }
                if (SlowDomains.ContainsKey(domain))
                {
                    result = new LookupResult(null, false, "timeout");
                    Cache[key] = result;
                    return result;
                }
            }
            Task<string> task = Task.Factory.StartNew(translate, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            bool finished;
            try
            {
                finished = task.Wait(timeoutMs);
            }
            catch (AggregateException)
            {
                finished = true;
            }
            if (!finished)
            {
                result = new LookupResult(null, false, "timeout");
                lock (Gate)
                {
                    SlowDomains[domain] = true;
                }
            }
            else if (task.IsFaulted)
            {
                Exception inner = task.Exception.GetBaseException();
                if (inner is IdentityNotMappedException)
                {
                    result = new LookupResult(null, false, "not_mapped");
                }
                else
                {
                    result = new LookupResult(null, false, inner.Message);
                }
            }
            else
            {
                result = new LookupResult(task.Result, true, null);
            }
            lock (Gate)
            {
                Cache[key] = result;
            }
            return result;
        }
    }
}
'@

# The probe of one target, run in a runspace of a pool. It is self-contained: module functions
# are not visible in pool runspaces. Every step has its own timeout, and each stage publishes its
# result into the target's synchronized hashtable ($Slot) as soon as it is finished, never changing
# it afterwards: when the caller abandons a slow target after TimeoutSeconds it keeps the finished
# stages and reports only the unfinished ones as timed out. Stages: dns, tcp (one entry per port as
# it finishes), epm, wmi, clock.
# Without TCP 135 there is no RPC: the endpoint mapper and DCOM (remote WMI, Win32_UTCTime) are
# skipped (skip_reason tcp_135_closed) instead of spending ~21 s of SYN retries per DCOM connect.
# fieldkit-build: embedded powershell
$script:ProbeScript = @'
param (
    [string]$Target,
    [int[]]$Ports,
    [int]$ConnectTimeoutMs,
    [bool]$CheckEpm,
    [bool]$CheckWmi,
    [string]$WmiNamespace,
    [string]$WmiClass,
    [bool]$CheckClock,
    [int]$TimeoutSeconds,
    [hashtable]$Slot
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$Slot['started'] = [DateTime]::UtcNow
$watch = [System.Diagnostics.Stopwatch]::StartNew()
$win32Facility = [int64]2147942400

function ConvertTo-ProbeError {
    param (
        [object]$Exception,
        [string]$Where
    )

    # The real Windows error sits at the bottom of the chain (a MethodInvocationException wraps it).
    $chain = [System.Collections.Generic.List[object]]::new()
    $current = $Exception
    while ($null -ne $current) {
        $chain.Insert(0, $current)
        $current = $current.InnerException
    }
    $generic = @([int64]-2146233088, [int64]-2146233087, [int64]-2147467259, [int64]0)
    $code = [int64]0
    foreach ($item in $chain) {
        if ($item -is [System.Net.Sockets.SocketException] -or $item -is [System.ComponentModel.Win32Exception]) {
            $code = $win32Facility + [int64]$item.NativeErrorCode
        }
        elseif ($item -is [System.Management.ManagementException]) {
            $code = [int64]$item.ErrorCode
        }
        elseif ($generic -notcontains [int64]$item.HResult) {
            $code = [int64]$item.HResult
        }
        if ($code -ne 0) {
            break
        }
    }
    if ($code -lt 0) {
        $code = $code + [int64]4294967296
    }
    $message = [string]$chain[0].Message
    return @{ code = $code; hresult = ('0x{0:X8}' -f $code); message = $message; target = $Where }
}

function New-ProbeError {
    param (
        [int]$ErrorNumber,
        [string]$Message,
        [string]$Where
    )

    $code = $win32Facility + $ErrorNumber
    return @{ code = $code; hresult = ('0x{0:X8}' -f $code); message = $Message; target = $Where }
}

function Test-ProbePort {
    param (
        [System.Net.IPAddress]$Address,
        [int]$Port,
        [int]$TimeoutMs
    )

    # TcpClient() opens an IPv4 socket only; TcpClient(AddressFamily) also connects to IPv6 addresses.
    $client = New-Object -TypeName System.Net.Sockets.TcpClient -ArgumentList $Address.AddressFamily
    try {
        $async = $client.BeginConnect($Address, $Port, $null, $null)
        if (-not $async.AsyncWaitHandle.WaitOne($TimeoutMs)) {
            $timeout = New-ProbeError -ErrorNumber 10060 -Message "no answer within $TimeoutMs ms" -Where ([string]$Port)
            return @{ port = $Port; open = $false; error = $timeout }
        }
        $client.EndConnect($async)
        return @{ port = $Port; open = $true; error = $null }
    }
    catch {
        return @{ port = $Port; open = $false; error = (ConvertTo-ProbeError -Exception $_.Exception -Where ([string]$Port)) }
    }
    finally {
        $client.Close()
    }
}

# Name resolution, forward then reverse, each with a timeout. IPv4 and IPv6 addresses are kept,
# IPv4 first: the TCP probes use the first address, so an IPv6-only target is probed over IPv6.
$addresses = @()
$dns = @{ resolved = $false; addresses = @(); reverse = @(); error = $null }
try {
    $async = [System.Net.Dns]::BeginGetHostAddresses($Target, $null, $null)
    if (-not $async.AsyncWaitHandle.WaitOne($ConnectTimeoutMs * 2)) {
        $dns.error = New-ProbeError -ErrorNumber 1460 -Message 'timed out: DNS' -Where 'DNS'
    }
    else {
        $all = @([System.Net.Dns]::EndGetHostAddresses($async))
        $v4 = @($all | Where-Object { $_.AddressFamily -eq [System.Net.Sockets.AddressFamily]::InterNetwork })
        $v6 = @($all | Where-Object { $_.AddressFamily -eq [System.Net.Sockets.AddressFamily]::InterNetworkV6 })
        $addresses = @($v4) + @($v6)
        $dns.resolved = $addresses.Count -gt 0
        $dns.addresses = @($addresses | ForEach-Object { $_.ToString() })
        if (-not $dns.resolved) {
            $dns.error = New-ProbeError -ErrorNumber 11004 -Message 'the name has no IPv4 or IPv6 address' -Where 'DNS'
        }
        $reverseNames = [System.Collections.Generic.List[object]]::new()
        foreach ($address in ($addresses | Select-Object -First 4)) {
            try {
                $reverse = [System.Net.Dns]::BeginGetHostEntry($address, $null, $null)
                if ($reverse.AsyncWaitHandle.WaitOne($ConnectTimeoutMs)) {
                    $hostEntry = [System.Net.Dns]::EndGetHostEntry($reverse)
                    $reverseNames.Add([string]$hostEntry.HostName)
                }
            }
            catch {
                $reverseNames.Add($null)
            }
        }
        $dns.reverse = $reverseNames.ToArray()
    }
}
catch {
    $dns.error = ConvertTo-ProbeError -Exception $_.Exception -Where 'DNS'
}
$Slot['dns'] = $dns

# TCP ports, one after the other; each finished port is published at once.
$address = $null
if ($dns.resolved) {
    $address = $addresses[0]
}
$tcp = [System.Collections.Generic.List[object]]::new()
foreach ($port in $Ports) {
    if ($null -eq $address) {
        $tcp.Add(@{ port = $port; open = $null; error = $dns.error })
    }
    else {
        $tcp.Add((Test-ProbePort -Address $address -Port $port -TimeoutMs $ConnectTimeoutMs))
    }
    $Slot['tcp'] = $tcp.ToArray()
}
$Slot['tcp'] = $tcp.ToArray()

# RPC needs TCP 135 (endpoint mapper, DCOM activation): tested once, from the port list or on its own.
$skipReason = $null
$skipError = $null
if (-not $dns.resolved) {
    $skipReason = 'dns_unresolved'
    $skipError = $dns.error
}
elseif ($CheckEpm -or $CheckWmi -or $CheckClock) {
    $rpcGate = $null
    foreach ($entry in $tcp) {
        if ($entry.port -eq 135) {
            $rpcGate = $entry
        }
    }
    if ($null -eq $rpcGate) {
        $rpcGate = Test-ProbePort -Address $address -Port 135 -TimeoutMs $ConnectTimeoutMs
    }
    if (-not $rpcGate.open) {
        $skipReason = 'tcp_135_closed'
        $skipError = @{
            code = $rpcGate.error.code
            hresult = $rpcGate.error.hresult
            message = 'not attempted: TCP 135 is closed (' + [string]$rpcGate.error.message + ')'
            target = '135'
        }
    }
}

# The endpoint mapper: its elements (interface UUID, port), and a TCP connection to a few distinct
# dynamic ports of the map. Those are services that registered with the mapper, an unordered sample:
# they show whether the dynamic RPC range gets through, not the WMI/DCOM server (DCOM hands out the
# port of an object exporter per activation, the map does not list it); the wmi stage proves that path.
if ($CheckEpm) {
    $epm = @{
        reachable = $null
        endpoint_count = $null
        endpoints = @()
        sample_ports = @()
        dynamic_port_open = $null
        skipped = $false
        skip_reason = $null
        error = $null
    }
    if ($null -ne $skipReason) {
        $epm.skipped = $true
        $epm.skip_reason = $skipReason
        $epm.error = $skipError
    }
    else {
        try {
            $elements = @([Fieldkit.RpcEpm]::List($Target, 500))
            $epm.reachable = $true
            $epm.endpoint_count = $elements.Count
            $endpoints = [System.Collections.Generic.List[object]]::new()
            $candidates = [System.Collections.Generic.List[object]]::new()
            $seen = @{}
            foreach ($element in $elements) {
                $match = [regex]::Match([string]$element.Binding, '^ncacn_ip_tcp:[^\[]*\[(\d+)\]')
                if (-not $match.Success) {
                    continue
                }
                $port = [int]$match.Groups[1].Value
                $annotation = [string]$element.Annotation
                if ($annotation.Length -gt 64) {
                    $annotation = $annotation.Substring(0, 64)
                }
                if ($endpoints.Count -lt 20) {
                    $endpoints.Add(@{ uuid = [string]$element.Uuid; port = $port; annotation = $annotation })
                }
                if ($port -ge 1024 -and -not $seen.ContainsKey($port) -and $candidates.Count -lt 3) {
                    $seen[$port] = $true
                    $candidates.Add(@{ uuid = [string]$element.Uuid; port = $port })
                }
            }
            $epm.endpoints = $endpoints.ToArray()
            $samples = [System.Collections.Generic.List[object]]::new()
            foreach ($candidate in $candidates) {
                $probe = Test-ProbePort -Address $address -Port $candidate.port -TimeoutMs $ConnectTimeoutMs
                $samples.Add(@{ port = $candidate.port; uuid = $candidate.uuid; open = $probe.open; error = $probe.error })
            }
            $epm.sample_ports = $samples.ToArray()
            if ($samples.Count -gt 0) {
                $epm.dynamic_port_open = @($samples | Where-Object { $_.open }).Count -gt 0
                if (-not $epm.dynamic_port_open) {
                    $epm.error = $samples[0].error
                }
            }
        }
        catch {
            $epm.reachable = $false
            $epm.error = ConvertTo-ProbeError -Exception $_.Exception -Where 'endpoint mapper'
        }
    }
    $Slot['epm'] = $epm
}

# Remote WMI over DCOM (System.Management), as ConfigMgr does; never WinRM.
$wmiConnected = $false
$options = New-Object -TypeName System.Management.ConnectionOptions
$options.Impersonation = [System.Management.ImpersonationLevel]::Impersonate
$options.Authentication = [System.Management.AuthenticationLevel]::PacketPrivacy
$options.EnablePrivileges = $true
$options.Timeout = [TimeSpan]::FromSeconds([Math]::Max(5, [int]($TimeoutSeconds / 2)))
$identity = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
if ($CheckWmi) {
    $wmi = @{
        namespace = $WmiNamespace
        identity = $identity
        connected = $false
        class_present = $null
        skipped = $false
        skip_reason = $null
        error = $null
    }
    if ($null -ne $skipReason) {
        $wmi.skipped = $true
        $wmi.skip_reason = $skipReason
        $wmi.error = $skipError
    }
    else {
        try {
            $scope = New-Object -TypeName System.Management.ManagementScope -ArgumentList @(('\\' + $Target + '\' + $WmiNamespace), $options)
            $scope.Connect()
            $wmi.connected = $true
            $wmiConnected = $true
            $path = New-Object -TypeName System.Management.ManagementPath -ArgumentList $WmiClass
            $class = New-Object -TypeName System.Management.ManagementClass -ArgumentList @($scope, $path, $null)
            $class.Get()
            $wmi.class_present = $true
            $class.Dispose()
        }
        catch {
            $wmi.error = ConvertTo-ProbeError -Exception $_.Exception -Where ('\\' + $Target + '\' + $WmiNamespace)
            if ($wmi.connected) {
                $wmi.class_present = $false
            }
        }
    }
    $Slot['wmi'] = $wmi
}

# The target clock: Win32_UTCTime over DCOM (1 s resolution) when DCOM works (the wmi stage connected,
# or it was not asked for and TCP 135 is open), else one NTP sample with w32tm (UDP 123).
if ($CheckClock) {
    $clock = @{ offset_seconds = $null; method = $null; remote_utc = $null; skipped = $false; skip_reason = $null; error = $null }
    if (-not $dns.resolved) {
        $clock.skipped = $true
        $clock.skip_reason = 'dns_unresolved'
        $clock.error = $dns.error
    }
    else {
        $tryDcom = ($null -eq $skipReason) -and ($wmiConnected -or -not $CheckWmi)
        if ($tryDcom) {
            try {
                $cimv2 = New-Object -TypeName System.Management.ManagementScope -ArgumentList @(('\\' + $Target + '\root\cimv2'), $options)
                $query = New-Object -TypeName System.Management.ObjectQuery -ArgumentList 'SELECT * FROM Win32_UTCTime'
                $enumeration = New-Object -TypeName System.Management.EnumerationOptions
                $enumeration.Timeout = $options.Timeout
                $searcher = New-Object -TypeName System.Management.ManagementObjectSearcher -ArgumentList @($cimv2, $query, $enumeration)
                $before = [DateTime]::UtcNow
                $utc = @($searcher.Get()) | Select-Object -First 1
                $after = [DateTime]::UtcNow
                $parts = @([int]$utc.Year, [int]$utc.Month, [int]$utc.Day, [int]$utc.Hour, [int]$utc.Minute, [int]$utc.Second)
                $remote = New-Object -TypeName DateTime -ArgumentList ($parts + @([DateTimeKind]::Utc))
                $middle = $before.AddTicks([int64](($after - $before).Ticks / 2))
                $clock.offset_seconds = [Math]::Round(($remote - $middle).TotalSeconds, 3)
                $clock.method = 'wmi'
                $clock.remote_utc = $remote.ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
            }
            catch {
                $clock.error = ConvertTo-ProbeError -Exception $_.Exception -Where 'Win32_UTCTime'
            }
        }
        if ($null -eq $clock.method) {
            try {
                $startInfo = New-Object -TypeName System.Diagnostics.ProcessStartInfo
                $startInfo.FileName = Join-Path -Path ([Environment]::SystemDirectory) -ChildPath 'w32tm.exe'
                $startInfo.Arguments = '/stripchart /computer:' + $Target + ' /samples:1 /dataonly'
                $startInfo.UseShellExecute = $false
                $startInfo.RedirectStandardOutput = $true
                $startInfo.CreateNoWindow = $true
                $process = [System.Diagnostics.Process]::Start($startInfo)
                $outputTask = $process.StandardOutput.ReadToEndAsync()
                if ($process.WaitForExit(10000)) {
                    $text = [string]$outputTask.Result
                    $match = [regex]::Match($text, '([+-]\d+[.,]\d+)s')
                    if ($match.Success) {
                        $offset = $match.Groups[1].Value.Replace(',', '.')
                        $clock.offset_seconds = [Math]::Round([double]::Parse($offset, [System.Globalization.CultureInfo]::InvariantCulture), 3)
                        $clock.method = 'ntp'
                        $clock.error = $null
                    }
                    elseif ($null -eq $clock.error) {
                        $clock.error = New-ProbeError -ErrorNumber 1460 -Message 'w32tm /stripchart gave no NTP sample' -Where 'w32tm /stripchart'
                        $code = [regex]::Match($text, '0x[0-9A-Fa-f]{8}')
                        if ($code.Success) {
                            $clock.error['code'] = [Convert]::ToInt64($code.Value.Substring(2), 16)
                            $clock.error['hresult'] = '0x' + $code.Value.Substring(2).ToUpperInvariant()
                        }
                    }
                }
                else {
                    $process.Kill()
                    if ($null -eq $clock.error) {
                        $clock.error = New-ProbeError -ErrorNumber 1460 -Message 'w32tm /stripchart did not finish within 10 s' -Where 'w32tm /stripchart'
                    }
                }
                $process.Dispose()
            }
            catch {
                $clock.error = ConvertTo-ProbeError -Exception $_.Exception -Where 'w32tm /stripchart'
            }
        }
    }
    $Slot['clock'] = $clock
}

$Slot['elapsed_ms'] = [int]$watch.ElapsedMilliseconds
$Slot['finished'] = $true
'@

Function Add-FieldkitNativeType {
    <#
    .SYNOPSIS
    Compiles the native helpers (Fieldkit.RpcEpm, Fieldkit.DiskSpace, Fieldkit.AccountLookup) once per process.
    #>
    [CmdletBinding()]
    param ()

    if ($null -eq ('Fieldkit.AccountLookup' -as [type])) {
        Add-Type -TypeDefinition $script:NativeSource -Language CSharp -ErrorAction Stop
    }
}

Function Get-FieldkitDictValue {
    <#
    .SYNOPSIS
    Returns the value of a key of a dictionary (Hashtable or Dictionary), or $null; StrictMode safe.
    .DESCRIPTION
    The value is returned as it is: a list stays a list (an empty one too, and one of a single item),
    where a plain return would unroll it to a scalar or to $null. Callers assign the result directly,
    never inside @(...) (that would nest the list).
    #>
    [CmdletBinding()]
    [OutputType([object])]
    param (
        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [object]
        $Dictionary,

        [Parameter(Mandatory = $true)]
        [string]
        $Key
    )

    if ($null -eq $Dictionary) {
        return $null
    }
    foreach ($name in @($Dictionary.Keys)) {
        if ([string]$name -eq $Key) {
            return , $Dictionary[$name]
        }
    }
    return $null
}

Function Get-FieldkitInnerErrorCode {
    <#
    .SYNOPSIS
    The Windows error code of the innermost meaningful exception of a chain, as an unsigned HRESULT; 0 when none.
    .DESCRIPTION
    .NET method calls reach PowerShell wrapped in MethodInvocationException (COR_E_SYSTEM); the Win32,
    socket, WMI or COM exception that says what happened is at the bottom of the chain.
    #>
    [CmdletBinding()]
    [OutputType([int64])]
    param (
        [Parameter(Mandatory = $true)]
        [System.Exception]
        $Exception
    )

    $chain = [System.Collections.Generic.List[object]]::new()
    $current = $Exception
    while ($null -ne $current) {
        $chain.Insert(0, $current)
        $current = $current.InnerException
    }
    # COR_E_EXCEPTION, COR_E_SYSTEM and E_FAIL say nothing.
    $generic = @([int64]-2146233088, [int64]-2146233087, [int64]-2147467259, [int64]0)
    foreach ($item in $chain) {
        $code = [int64]0
        if ($item -is [System.Net.Sockets.SocketException] -or $item -is [System.ComponentModel.Win32Exception]) {
            $code = ConvertTo-FieldkitHResult -Code ([int64]$item.NativeErrorCode)
        }
        elseif ($item -is [System.Management.ManagementException]) {
            $code = ConvertTo-FieldkitHResult -Code ([int64]$item.ErrorCode)
        }
        elseif ($generic -notcontains [int64]$item.HResult) {
            $code = ConvertTo-FieldkitHResult -Code ([int64]$item.HResult)
        }
        if ($code -ne 0) {
            return $code
        }
    }
    return [int64]0
}

Function ConvertTo-FieldkitErrorInfo {
    <#
    .SYNOPSIS
    An error hashtable (code, hresult, message, target) from an ErrorRecord, for ops that report errors as data.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.ErrorRecord]
        $ErrorRecord,

        [Parameter()]
        [string]
        $Target = ''
    )

    $code = Get-FieldkitInnerErrorCode -Exception $ErrorRecord.Exception
    if ($code -eq 0) {
        $code = Get-FieldkitErrorCode -ErrorRecord $ErrorRecord
    }
    $inner = $ErrorRecord.Exception
    while ($null -ne $inner.InnerException) {
        $inner = $inner.InnerException
    }
    return @{
        code = $code
        hresult = ('0x{0:X8}' -f $code)
        message = $inner.Message
        target = $Target
    }
}

Function ConvertTo-FieldkitUnsigned {
    <#
    .SYNOPSIS
    An access mask (possibly a negative Int32) as an unsigned 32-bit value in an Int64.
    #>
    [CmdletBinding()]
    [OutputType([int64])]
    param (
        [Parameter(Mandatory = $true)]
        [int64]
        $Value
    )

    return $Value -band $script:UnsignedMask
}

Function Resolve-FieldkitSidName {
    <#
    .SYNOPSIS
    DOMAIN\name of a SID: @{ name; resolved }, name $null when it cannot be translated in time.
    .DESCRIPTION
    Orphaned SIDs (deleted accounts) and a domain controller that does not answer within TimeoutMs
    (LsaLookupSids waits for it) give resolved $false. Cached per SID for the module execution.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [AllowEmptyString()]
        [string]
        $Sid,

        [Parameter()]
        [int]
        $TimeoutMs = 5000
    )

    if ([string]::IsNullOrEmpty($Sid)) {
        return @{ name = $null; resolved = $false; error = 'empty' }
    }
    Add-FieldkitNativeType
    $lookup = [Fieldkit.AccountLookup]::SidToName($Sid, $TimeoutMs)
    return @{ name = $lookup.Value; resolved = [bool]$lookup.Resolved; error = $lookup.Error }
}

Function Resolve-FieldkitAccountSid {
    <#
    .SYNOPSIS
    SID of an account name as shown by Get-SmbShareAccess (localized names included): @{ sid; resolved }.
    .DESCRIPTION
    A name that is already a SID string (what Get-SmbShareAccess shows for a deleted account) is
    returned as it is; an empty name or one that cannot be translated within TimeoutMs gives sid $null.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [AllowEmptyString()]
        [string]
        $Account,

        [Parameter()]
        [int]
        $TimeoutMs = 5000
    )

    if ([string]::IsNullOrEmpty($Account)) {
        return @{ sid = $null; resolved = $false; error = 'empty' }
    }
    if ($Account -match '^S-1-\d+(-\d+)+$') {
        return @{ sid = $Account.ToUpperInvariant(); resolved = $true; error = $null }
    }
    Add-FieldkitNativeType
    $lookup = [Fieldkit.AccountLookup]::NameToSid($Account, $TimeoutMs)
    return @{ sid = $lookup.Value; resolved = [bool]$lookup.Resolved; error = $lookup.Error }
}

Function ConvertTo-FieldkitNullableString {
    <#
    .SYNOPSIS
    A value as a string, $null kept as $null ([string]$null would be an empty string).
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter()]
        [AllowNull()]
        [object]
        $Value
    )

    if ($null -eq $Value) {
        return $null
    }
    return [string]$Value
}

Function Join-FieldkitPath {
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Base,

        [Parameter()]
        [AllowNull()]
        [AllowEmptyString()]
        [string]
        $Append
    )

    if ([string]::IsNullOrEmpty($Append)) {
        return $Base
    }
    return $Base.TrimEnd('\') + '\' + $Append.TrimStart('\')
}

Function Get-FieldkitSiteLogDirectory {
    <#
    .SYNOPSIS
    The ConfigMgr site log folder (Installation Directory\Logs), or $null on a machine without a site.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param ()

    $install = Get-FieldkitRegistryValue -SubKey $script:IdentificationKey -ValueName 'Installation Directory'
    if ([string]::IsNullOrEmpty([string]$install)) {
        return $null
    }
    return Join-FieldkitPath -Base ([string]$install) -Append 'Logs'
}

Function Get-FieldkitFixedDriveLetter {
    [CmdletBinding()]
    [OutputType([string[]])]
    param ()

    $disks = @(Get-CimInstance -ClassName 'Win32_LogicalDisk' -Filter 'DriveType=3' -OperationTimeoutSec 30 -ErrorAction Stop)
    return , @($disks | ForEach-Object { ([string]$_.DeviceID).ToUpperInvariant() } | Sort-Object)
}

Function Resolve-FieldkitPathRef {
    <#
    .SYNOPSIS
    Resolves path references (kinds registry, share, fixed_drives, site_log) to local paths.
    .OUTPUTS
    Hashtables with path and source, de-duplicated case-insensitively.
    #>
    [CmdletBinding()]
    [OutputType([object[]])]
    param (
        [Parameter()]
        [AllowEmptyCollection()]
        [object[]]
        $PathRefs = @()
    )

    $found = [System.Collections.Generic.List[object]]::new()
    foreach ($ref in $PathRefs) {
        $kind = [string](Get-FieldkitDictValue -Dictionary $ref -Key 'kind')
        $append = [string](Get-FieldkitDictValue -Dictionary $ref -Key 'append')
        $name = [string](Get-FieldkitDictValue -Dictionary $ref -Key 'name')
        if ($kind -eq 'registry') {
            $key = [string](Get-FieldkitDictValue -Dictionary $ref -Key 'key')
            $value = Get-FieldkitRegistryValue -SubKey $key -ValueName $name
            $items = @()
            if ($value -is [array]) {
                $items = @($value)
            }
            elseif ($null -ne $value) {
                $items = @(([string]$value) -split '[,;]')
            }
            foreach ($item in $items) {
                $trimmed = ([string]$item).Trim()
                if ($trimmed) {
                    $found.Add(@{ path = (Join-FieldkitPath -Base $trimmed -Append $append); source = ('registry ' + $key + '\' + $name) })
                }
            }
        }
        elseif ($kind -eq 'share') {
            $escaped = ConvertTo-FieldkitWqlString -Value $name
            $share = Get-CimInstance -ClassName 'Win32_Share' -Filter ("Name='" + $escaped + "'") -OperationTimeoutSec 30 -ErrorAction SilentlyContinue
            if ($null -ne $share -and $share.Path) {
                $found.Add(@{ path = (Join-FieldkitPath -Base ([string]$share.Path) -Append $append); source = ('share ' + $name) })
            }
        }
        elseif ($kind -eq 'fixed_drives') {
            foreach ($drive in (Get-FieldkitFixedDriveLetter)) {
                $candidate = Join-FieldkitPath -Base ($drive + '\') -Append $append
                if (Test-Path -LiteralPath $candidate) {
                    $found.Add(@{ path = $candidate; source = 'fixed drives' })
                }
            }
        }
        elseif ($kind -eq 'site_log') {
            # Only a ConfigMgr log file name (or its .lo_), with no folder, in one of the two log folders:
            # this is read as SYSTEM, so SAM, a UNC path or '..' is refused before any file is opened.
            if ($name -notmatch $script:LogFileNamePattern) {
                $message = "site_log name '$name' is not a ConfigMgr log file name; allowed: a name such as distmgr.log or distmgr.lo_ (letters, digits, '_', '-', '.'), without folders"
                throw (New-FieldkitErrorRecord -Code 0x80070057 -Message $message -Target 'path_refs')
            }
            $folder = [string](Get-FieldkitDictValue -Dictionary $ref -Key 'folder')
            $logDir = $null
            $source = 'site log folder'
            if ([string]::IsNullOrEmpty($folder) -or $folder -eq 'site') {
                $logDir = Get-FieldkitSiteLogDirectory
            }
            elseif ($folder -eq 'client') {
                $logDir = Join-FieldkitPath -Base ([Environment]::GetFolderPath('Windows')) -Append $script:ClientLogSubfolder
                $source = 'client log folder'
            }
            else {
                $message = "site_log folder '$folder' is not allowed; allowed: site, client"
                throw (New-FieldkitErrorRecord -Code 0x80070057 -Message $message -Target 'path_refs')
            }
            if ($null -ne $logDir) {
                $found.Add(@{ path = (Join-FieldkitPath -Base $logDir -Append $name); source = $source })
            }
        }
        else {
            $message = "unknown path reference kind '$kind'; allowed: registry, share, fixed_drives, site_log"
            throw (New-FieldkitErrorRecord -Code 0x80070057 -Message $message -Target 'path_refs')
        }
    }
    $seen = @{}
    $unique = [System.Collections.Generic.List[object]]::new()
    foreach ($item in $found) {
        $lower = $item.path.ToLowerInvariant()
        if (-not $seen.ContainsKey($lower)) {
            $seen[$lower] = $true
            $unique.Add($item)
        }
    }
    return , $unique.ToArray()
}

Function Invoke-FieldkitIsolated {
    <#
    .SYNOPSIS
    Runs a self-contained script in its own runspace with a timeout; returns output, errors and timed_out.
    .DESCRIPTION
    Used for calls that can hang far longer than the op may take (UNC paths, LDAP). On timeout the
    pipeline is stopped asynchronously and abandoned.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Script,

        [Parameter()]
        [AllowEmptyCollection()]
        [object[]]
        $ArgumentList = @(),

        [Parameter(Mandatory = $true)]
        [int]
        $TimeoutSeconds
    )

    $shell = [System.Management.Automation.PowerShell]::Create()
    [void]$shell.AddScript($Script)
    foreach ($argument in $ArgumentList) {
        [void]$shell.AddArgument($argument)
    }
    $handle = $shell.BeginInvoke()
    if (-not $handle.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($TimeoutSeconds))) {
        [void]$shell.BeginStop($null, $null)
        return @{ timed_out = $true; output = @(); errors = @() }
    }
    try {
        $output = @($shell.EndInvoke($handle))
        $errors = @($shell.Streams.Error)
        return @{ timed_out = $false; output = $output; errors = $errors }
    }
    catch {
        return @{ timed_out = $false; output = @(); errors = @($_) }
    }
    finally {
        $shell.Dispose()
    }
}

Function Get-FieldkitShareDaclSid {
    <#
    .SYNOPSIS
    The trustee SIDs of a share's DACL in ACE order (Win32_LogicalShareSecuritySetting), or $null.
    #>
    [CmdletBinding()]
    [OutputType([object[]])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name
    )

    try {
        $filter = "Name='" + (ConvertTo-FieldkitWqlString -Value $Name) + "'"
        $setting = Get-CimInstance -ClassName 'Win32_LogicalShareSecuritySetting' -Filter $filter -OperationTimeoutSec 30 -ErrorAction Stop
        if ($null -eq $setting) {
            return $null
        }
        $answer = Invoke-CimMethod -InputObject $setting -MethodName 'GetSecurityDescriptor' -OperationTimeoutSec 30 -ErrorAction Stop
        if ([int]$answer.ReturnValue -ne 0) {
            return $null
        }
        $sids = [System.Collections.Generic.List[object]]::new()
        foreach ($ace in @($answer.Descriptor.DACL)) {
            if ($null -eq $ace) {
                continue
            }
            $sids.Add(@{ sid = [string]$ace.Trustee.SIDString; deny = [int]$ace.AceType -eq 1 })
        }
        return , $sids.ToArray()
    }
    catch {
        return $null
    }
}

Function Get-FieldkitShareAccess {
    <#
    .SYNOPSIS
    The share ACL entries of one share (Get-SmbShareAccess), orphaned SIDs included.
    .DESCRIPTION
    For a deleted account Get-SmbShareAccess shows the SID string as AccountName, or an empty name. The
    SID string is reported as sid; for an empty name the SID is taken from the share's DACL
    (Win32_LogicalShareSecuritySetting), by position when both list the same ACEs, else sid is null.
    An entry never fails the share read.
    #>
    [CmdletBinding()]
    [OutputType([object[]])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name
    )

    $rows = @(Get-SmbShareAccess -Name $Name -ErrorAction Stop)
    $entries = [System.Collections.Generic.List[object]]::new()
    $needDacl = $false
    foreach ($row in $rows) {
        $account = [string]$row.AccountName
        $lookup = Resolve-FieldkitAccountSid -Account $account
        if ([string]::IsNullOrEmpty($account)) {
            $needDacl = $true
        }
        $accountName = $null
        if (-not [string]::IsNullOrEmpty($account)) {
            $accountName = $account
        }
        $entries.Add(@{
            account = $accountName
            sid = $lookup.sid
            resolved = $lookup.resolved
            type = ([string]$row.AccessControlType).ToLowerInvariant()
            right = ([string]$row.AccessRight).ToLowerInvariant()
        })
    }
    if ($needDacl) {
        $dacl = Get-FieldkitShareDaclSid -Name $Name
        if ($null -ne $dacl -and $dacl.Count -eq $entries.Count) {
            for ($i = 0; $i -lt $entries.Count; $i++) {
                $sameType = $dacl[$i].deny -eq ($entries[$i].type -eq 'deny')
                if ($null -eq $entries[$i].sid -and $sameType -and $dacl[$i].sid) {
                    $entries[$i].sid = $dacl[$i].sid
                }
            }
        }
    }
    return , $entries.ToArray()
}

Function Get-FieldkitShare {
    <#
    .SYNOPSIS
    Op share.list: SMB shares matching names or wildcard patterns, with their share ACL.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [AllowEmptyCollection()]
        [string[]]
        $Names = @(),

        [Parameter()]
        [bool]
        $IncludeAccess = $true
    )

    $patterns = @($Names)
    if ($patterns.Count -eq 0) {
        $patterns = @('*')
    }
    $server = Get-Service -Name 'LanmanServer' -ErrorAction SilentlyContinue
    $serverRunning = ($null -ne $server) -and ($server.Status -eq [System.ServiceProcess.ServiceControllerStatus]::Running)
    $all = @()
    if ($serverRunning) {
        $all = @(Get-SmbShare -ErrorAction Stop | Sort-Object -Property 'Name')
    }
    $matched = @{}
    $shares = [System.Collections.Generic.List[object]]::new()
    foreach ($share in $all) {
        $hits = @($patterns | Where-Object { $share.Name -like $_ })
        if ($hits.Count -eq 0) {
            continue
        }
        foreach ($hit in $hits) {
            $matched[$hit] = $true
        }
        $access = $null
        if ($IncludeAccess) {
            $access = Get-FieldkitShareAccess -Name ([string]$share.Name)
        }
        $shares.Add(@{
            name = [string]$share.Name
            path = [string]$share.Path
            description = [string]$share.Description
            special = [bool]$share.Special
            access = $access
        })
    }
    $missing = @($patterns | Where-Object { -not $matched.ContainsKey($_) })
    return @{ server_service_running = $serverRunning; shares = $shares.ToArray(); missing = $missing }
}

Function Get-FieldkitDisk {
    <#
    .SYNOPSIS
    Op disk.list: size and free space of fixed drives, and whether a marker file exists at the root.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [AllowEmptyCollection()]
        [string[]]
        $Drives = @(),

        [Parameter()]
        [string]
        $MarkerFile,

        [Parameter()]
        [int]
        $TimeoutSeconds = 30
    )

    $wanted = @($Drives | ForEach-Object { $_.Trim().TrimEnd('\').ToUpperInvariant() })
    $disks = @(Get-CimInstance -ClassName 'Win32_LogicalDisk' -Filter 'DriveType=3' -OperationTimeoutSec $TimeoutSeconds -ErrorAction Stop)
    $result = [System.Collections.Generic.List[object]]::new()
    foreach ($disk in ($disks | Sort-Object -Property 'DeviceID')) {
        $drive = ([string]$disk.DeviceID).ToUpperInvariant()
        if ($wanted.Count -gt 0 -and $wanted -notcontains $drive) {
            continue
        }
        $size = [int64]$disk.Size
        $free = [int64]$disk.FreeSpace
        $percent = $null
        if ($size -gt 0) {
            $percent = [Math]::Round($free * 100.0 / $size, 2)
        }
        $marker = $null
        if ($MarkerFile) {
            $marker = Test-Path -LiteralPath (Join-FieldkitPath -Base ($drive + '\') -Append $MarkerFile) -PathType Leaf
        }
        $result.Add(@{
            drive = $drive
            size_bytes = $size
            free_bytes = $free
            free_percent = $percent
            file_system = [string]$disk.FileSystem
            volume_name = [string]$disk.VolumeName
            marker_present = $marker
        })
    }
    return @{ disks = $result.ToArray() }
}

Function Get-FieldkitOsInfo {
    <#
    .SYNOPSIS
    Op os.read_info: product, build, UBR, FQDN, system paths, code page and the newest hotfixes.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [bool]
        $IncludeHotfixes = $true,

        [Parameter()]
        [int]
        $MaxHotfixes = 40,

        [Parameter()]
        [int]
        $TimeoutSeconds = 60
    )

    $network = [System.Net.NetworkInformation.IPGlobalProperties]::GetIPGlobalProperties()
    $domain = $null
    $fqdn = $network.HostName
    if ($network.DomainName) {
        $domain = $network.DomainName
        $fqdn = $network.HostName + '.' + $network.DomainName
    }
    # IPv4 and IPv6 addresses (what DNS may return for this host); loopback and link-local left out.
    $addresses = [System.Collections.Generic.List[string]]::new()
    $addresses6 = [System.Collections.Generic.List[string]]::new()
    foreach ($adapter in [System.Net.NetworkInformation.NetworkInterface]::GetAllNetworkInterfaces()) {
        if ($adapter.OperationalStatus -ne [System.Net.NetworkInformation.OperationalStatus]::Up) {
            continue
        }
        foreach ($unicast in $adapter.GetIPProperties().UnicastAddresses) {
            $address = $unicast.Address
            if ([System.Net.IPAddress]::IsLoopback($address)) {
                continue
            }
            if ($address.AddressFamily -eq [System.Net.Sockets.AddressFamily]::InterNetwork) {
                $addresses.Add($address.ToString())
            }
            elseif ($address.AddressFamily -eq [System.Net.Sockets.AddressFamily]::InterNetworkV6 -and -not $address.IsIPv6LinkLocal) {
                $addresses6.Add($address.ToString().Split('%')[0])
            }
        }
    }
    $build = Get-FieldkitRegistryValue -SubKey $script:CurrentVersionKey -ValueName 'CurrentBuildNumber'
    $ubr = Get-FieldkitRegistryValue -SubKey $script:CurrentVersionKey -ValueName 'UBR'
    $hotfixes = [System.Collections.Generic.List[object]]::new()
    if ($IncludeHotfixes) {
        $invariant = [System.Globalization.CultureInfo]::InvariantCulture
        # No hotfix at all is an empty list: never pipe @($null) into the sort below.
        $entries = @(Get-CimInstance -ClassName 'Win32_QuickFixEngineering' -OperationTimeoutSec $TimeoutSeconds -ErrorAction Stop)
        $parsed = [System.Collections.Generic.List[object]]::new()
        foreach ($entry in $entries) {
            if ($null -eq $entry) {
                continue
            }
            $raw = [string]$entry.InstalledOn
            $date = [DateTime]::MinValue
            $installed = $raw
            $ok = [DateTime]::TryParse($raw, $invariant, [System.Globalization.DateTimeStyles]::None, [ref]$date)
            if (-not $ok) {
                $ok = [DateTime]::TryParse($raw, [ref]$date)
            }
            if ($ok) {
                $installed = $date.ToString('yyyy-MM-dd', $invariant)
            }
            $parsed.Add(@{ hotfix_id = [string]$entry.HotFixID; installed_on = $installed; description = [string]$entry.Description; sort = $date })
        }
        if ($parsed.Count -gt 0) {
            $newest = @($parsed | Sort-Object -Property { $_.sort } -Descending | Select-Object -First $MaxHotfixes)
            foreach ($item in $newest) {
                $item.Remove('sort')
                $hotfixes.Add($item)
            }
        }
    }
    return @{
        computer_name = $env:COMPUTERNAME
        fqdn = $fqdn
        domain = $domain
        ipv4_addresses = $addresses.ToArray()
        ipv6_addresses = $addresses6.ToArray()
        product_name = ConvertTo-FieldkitNullableString -Value (Get-FieldkitRegistryValue -SubKey $script:CurrentVersionKey -ValueName 'ProductName')
        installation_type = ConvertTo-FieldkitNullableString -Value (Get-FieldkitRegistryValue -SubKey $script:CurrentVersionKey -ValueName 'InstallationType')
        # Absent before Windows 10 20H2 / Server 2022 (Server 2019 has ReleaseId only): null, not "".
        display_version = ConvertTo-FieldkitNullableString -Value (Get-FieldkitRegistryValue -SubKey $script:CurrentVersionKey -ValueName 'DisplayVersion')
        build = if ($null -ne $build) { [int]$build } else { $null }
        ubr = if ($null -ne $ubr) { [int]$ubr } else { $null }
        system_drive = $env:SystemDrive
        temp_path = [System.IO.Path]::GetTempPath()
        windir = $env:SystemRoot
        ansi_code_page = [System.Text.Encoding]::Default.CodePage
        ui_culture = [System.Globalization.CultureInfo]::CurrentUICulture.Name
        hotfixes = $hotfixes.ToArray()
        hotfixes_collected = $IncludeHotfixes
    }
}

Function Get-FieldkitRegistryValues {
    <#
    .SYNOPSIS
    Op registry.read_values: values of keys under HKLM (64-bit view); binary as base64.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [object[]]
        $Items
    )

    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    $keys = [System.Collections.Generic.List[object]]::new()
    try {
        foreach ($item in $Items) {
            $subKey = ([string](Get-FieldkitDictValue -Dictionary $item -Key 'key')).Trim('\')
            if (-not $subKey) {
                throw (New-FieldkitErrorRecord -Code 0x80070057 -Message 'registry.read_values: every item needs a key' -Target 'items')
            }
            $names = Get-FieldkitDictValue -Dictionary $item -Key 'names'
            $values = @{}
            $key = $base.OpenSubKey($subKey, $false)
            if ($null -ne $key) {
                try {
                    $wanted = @($key.GetValueNames())
                    if ($null -ne $names) {
                        $wanted = @($wanted | Where-Object { @($names) -contains $_ })
                    }
                    foreach ($name in $wanted) {
                        $value = $key.GetValue($name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
                        $kind = $key.GetValueKind($name)
                        if ($kind -eq [Microsoft.Win32.RegistryValueKind]::Binary) {
                            $value = [Convert]::ToBase64String([byte[]]$value)
                        }
                        elseif ($kind -eq [Microsoft.Win32.RegistryValueKind]::MultiString) {
                            $value = @($value)
                        }
                        $values[$name] = $value
                    }
                }
                finally {
                    $key.Dispose()
                }
            }
            $keys.Add(@{ key = $subKey; exists = $null -ne $key; values = $values })
        }
    }
    finally {
        $base.Dispose()
    }
    return @{ keys = $keys.ToArray() }
}

Function Get-FieldkitTimeState {
    <#
    .SYNOPSIS
    Op time.read: UTC clock, time zone, Windows Time configuration and w32tm /query /status.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [int]
        $TimeoutSeconds = 15
    )

    $now = [DateTime]::UtcNow
    $zone = [TimeZoneInfo]::Local
    $result = @{
        utc_now = $now.ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [System.Globalization.CultureInfo]::InvariantCulture)
        timezone_id = $zone.Id
        bias_minutes = [int](-1 * $zone.GetUtcOffset($now).TotalMinutes)
        w32time_type = $null
        ntp_server = $null
        source = $null
        last_sync_utc = $null
        status_lines = @()
    }
    $type = Get-FieldkitRegistryValue -SubKey $script:W32TimeParametersKey -ValueName 'Type'
    $server = Get-FieldkitRegistryValue -SubKey $script:W32TimeParametersKey -ValueName 'NtpServer'
    if ($null -ne $type) {
        $result.w32time_type = [string]$type
    }
    if ($null -ne $server) {
        $result.ntp_server = [string]$server
    }
    $w32tm = Join-Path -Path ([Environment]::SystemDirectory) -ChildPath 'w32tm.exe'
    try {
        $status = Invoke-FieldkitNativeCommand -FilePath $w32tm -Arguments '/query /status /verbose' -TimeoutSeconds $TimeoutSeconds
    }
    catch {
        return $result
    }
    $result.status_lines = @($status.lines | Select-Object -First 30)
    # Labels of w32tm are localized: English and Japanese are recognised.
    # The Japanese labels are built from code points: Windows PowerShell 5.1 reads a .psm1 without a BOM in
    # the ANSI code page when it is imported directly (Import-Module), which would garble literal text.
    $sourceLabels = @('Source', (-join [char[]](0x30BD, 0x30FC, 0x30B9)))
    $syncLabels = @('Last Successful Sync Time', (-join [char[]](0x6700, 0x7D42, 0x6B63, 0x5E38, 0x540C, 0x671F, 0x6642, 0x523B)))
    foreach ($line in $status.lines) {
        $separator = $line.IndexOf(':')
        if ($separator -lt 1) {
            continue
        }
        $label = $line.Substring(0, $separator).Trim()
        $value = $line.Substring($separator + 1).Trim()
        if ($sourceLabels -contains $label) {
            $result.source = $value
        }
        elseif ($syncLabels -contains $label) {
            $parsed = [DateTime]::MinValue
            $culture = [System.Globalization.CultureInfo]::CurrentCulture
            if ([DateTime]::TryParse($value, $culture, [System.Globalization.DateTimeStyles]::AssumeLocal, [ref]$parsed)) {
                $result.last_sync_utc = ConvertTo-FieldkitUtcString -Value $parsed
            }
        }
    }
    return $result
}

Function Get-FieldkitAcl {
    <#
    .SYNOPSIS
    Op acl.read: NTFS ACL of literal paths and of path references resolved on the host.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [AllowEmptyCollection()]
        [string[]]
        $Paths = @(),

        [Parameter()]
        [AllowEmptyCollection()]
        [object[]]
        $PathRefs = @()
    )

    $targets = [System.Collections.Generic.List[object]]::new()
    foreach ($path in $Paths) {
        $targets.Add(@{ path = [Environment]::ExpandEnvironmentVariables($path); source = 'path' })
    }
    foreach ($ref in (Resolve-FieldkitPathRef -PathRefs $PathRefs)) {
        $targets.Add($ref)
    }
    $acls = [System.Collections.Generic.List[object]]::new()
    foreach ($target in $targets) {
        $item = @{
            path = $target.path
            source = $target.source
            exists = $false
            owner = $null
            owner_sid = $null
            sddl = $null
            protected = $null
            entries = @()
        }
        if (-not (Test-Path -LiteralPath $target.path)) {
            $acls.Add($item)
            continue
        }
        $acl = Get-Acl -LiteralPath $target.path -ErrorAction Stop
        $item.exists = $true
        $item.owner = [string]$acl.Owner
        $item.owner_sid = $acl.GetOwner([System.Security.Principal.SecurityIdentifier]).Value
        $item.sddl = $acl.Sddl
        $item.protected = [bool]$acl.AreAccessRulesProtected
        $item.entries = @($acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier]) | ForEach-Object {
                $lookup = Resolve-FieldkitSidName -Sid $_.IdentityReference.Value
                @{
                    sid = $_.IdentityReference.Value
                    account = $lookup.name
                    resolved = $lookup.resolved
                    type = ([string]$_.AccessControlType).ToLowerInvariant()
                    rights = $_.FileSystemRights.ToString()
                    mask = ConvertTo-FieldkitUnsigned -Value ([int64][int]$_.FileSystemRights)
                    inherited = [bool]$_.IsInherited
                    inheritance = $_.InheritanceFlags.ToString()
                }
            })
        $acls.Add($item)
    }
    return @{ acls = $acls.ToArray() }
}

Function Get-FieldkitEvent {
    <#
    .SYNOPSIS
    Op event.query: bounded count and newest events of one log filtered by provider, ids and age.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [string]
        $LogName = 'System',

        [Parameter()]
        [string]
        $ProviderName,

        [Parameter()]
        [AllowEmptyCollection()]
        [int[]]
        $EventIds = @(),

        [Parameter()]
        [int]
        $SinceHours = 168,

        [Parameter()]
        [int]
        $MaxEvents = 10,

        [Parameter()]
        [int]
        $MaxCount = 1000,

        [Parameter()]
        [int]
        $TimeoutSeconds = 30
    )

    $filter = @{ LogName = $LogName; StartTime = (Get-Date).AddHours(-1 * $SinceHours) }
    if ($ProviderName) {
        $filter.ProviderName = $ProviderName
    }
    if ($EventIds.Count -gt 0) {
        $filter.Id = $EventIds
    }
    $found = @()
    $providerMissing = $false
    try {
        $found = @(Get-WinEvent -FilterHashtable $filter -MaxEvents ($MaxCount + 1) -ErrorAction Stop)
    }
    catch {
        # NoMatchingEventsFound: nothing in the window. NoMatchingProvidersFound: the provider is not
        # registered on this host, so it cannot have logged anything (reported as provider_missing).
        if ($_.FullyQualifiedErrorId -like 'NoMatchingProvidersFound*') {
            $providerMissing = $true
        }
        elseif ($_.FullyQualifiedErrorId -notlike 'NoMatchingEventsFound*') {
            throw
        }
    }
    $levels = @{ 1 = 'critical'; 2 = 'error'; 3 = 'warning'; 4 = 'info'; 0 = 'info'; 5 = 'verbose' }
    $events = @($found | Select-Object -First $MaxEvents | ForEach-Object {
            $message = [string]$_.Message
            if ($message.Length -gt 512) {
                $message = $message.Substring(0, 512)
            }
            $level = 'info'
            if ($null -ne $_.Level -and $levels.ContainsKey([int]$_.Level)) {
                $level = $levels[[int]$_.Level]
            }
            @{
                id = [int]$_.Id
                time_utc = ConvertTo-FieldkitUtcString -Value $_.TimeCreated
                level = $level
                provider = [string]$_.ProviderName
                data = @($_.Properties | ForEach-Object { [string]$_.Value })
                message = $message
            }
        })
    $count = [Math]::Min($found.Count, $MaxCount)
    return @{ log_name = $LogName; count = $count; count_capped = $found.Count -gt $MaxCount; events = $events; provider_missing = $providerMissing }
}

Function Get-FieldkitLogEncoding {
    <#
    .SYNOPSIS
    Detects the encoding of a log: BOM, BOM-less UTF-16 LE (NUL bytes), strict UTF-8, else the ANSI code page.
    .DESCRIPTION
    NUL padding (a pre-allocated log) is not looked at: the UTF-16 test stops at the first NUL pair at an
    even offset, the UTF-8 test at the first NUL byte. A UTF-8 character cut by the sample is allowed only
    where the sample really cuts the file (a tail read's start, the end of a sample shorter than the rest
    of the file), so the last character of a cp932 log is not taken for a cut UTF-8 character.
    #>
    [CmdletBinding()]
    [OutputType([object[]])]
    param (
        [Parameter(Mandatory = $true)]
        [System.IO.FileStream]
        $Stream,

        [Parameter(Mandatory = $true)]
        [int64]
        $Start
    )

    $head = New-Object -TypeName byte[] -ArgumentList 4
    $Stream.Position = 0
    $read = $Stream.Read($head, 0, 4)
    if ($read -ge 3 -and $head[0] -eq 239 -and $head[1] -eq 187 -and $head[2] -eq 191) {
        return , @([System.Text.Encoding]::UTF8, 'utf-8-bom')
    }
    if ($read -ge 2 -and $head[0] -eq 255 -and $head[1] -eq 254) {
        return , @([System.Text.Encoding]::Unicode, 'utf-16le')
    }
    if ($read -ge 2 -and $head[0] -eq 254 -and $head[1] -eq 255) {
        return , @([System.Text.Encoding]::BigEndianUnicode, 'utf-16be')
    }
    $sample = New-Object -TypeName byte[] -ArgumentList 1048576
    $Stream.Position = $Start
    $length = $Stream.Read($sample, 0, $sample.Length)
    $window = [Math]::Min($length, 4096)
    for ($i = 0; $i + 1 -lt $window; $i += 2) {
        if ($sample[$i] -eq 0 -and $sample[$i + 1] -eq 0) {
            $window = $i
            break
        }
    }
    $zeros = 0
    for ($i = 1; $i -lt $window; $i += 2) {
        if ($sample[$i] -eq 0) {
            $zeros++
        }
    }
    if ($zeros -gt $window / 4) {
        return , @([System.Text.Encoding]::Unicode, 'utf-16le')
    }
    $to = $length
    $cutEnd = ($Start + $length) -lt $Stream.Length
    $nul = [Array]::IndexOf($sample, [byte]0, 0, $length)
    if ($nul -ge 0) {
        $to = $nul
        $cutEnd = $false
    }
    $from = 0
    if ($Start -gt 0) {
        while ($from -lt 3 -and $from -lt $to -and $sample[$from] -ge 128 -and $sample[$from] -le 191) {
            $from++
        }
    }
    if ($cutEnd) {
        # Drop an incomplete UTF-8 sequence at the end: a lead byte followed by fewer continuation bytes than it needs.
        $lead = $to - 1
        while ($lead -gt $from -and ($to - $lead) -lt 4 -and $sample[$lead] -ge 128 -and $sample[$lead] -le 191) {
            $lead--
        }
        if ($lead -ge $from -and $sample[$lead] -ge 192) {
            $needed = 2
            if ($sample[$lead] -ge 240) {
                $needed = 4
            }
            elseif ($sample[$lead] -ge 224) {
                $needed = 3
            }
            if (($to - $lead) -lt $needed) {
                $to = $lead
            }
        }
    }
    $strict = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList @($false, $true)
    try {
        [void]$strict.GetString($sample, $from, [Math]::Max(0, $to - $from))
        return , @((New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false), 'utf-8')
    }
    catch [System.Text.DecoderFallbackException] {
        return , @([System.Text.Encoding]::Default, ('cp' + [System.Text.Encoding]::Default.CodePage))
    }
}

Function Test-FieldkitLogRecord {
    <#
    .SYNOPSIS
    Whether one log record is kept: not older than Since, and naming a pattern or carrying a wanted severity marker.
    .DESCRIPTION
    The severity is decided on the message only, never on the SMS trailer or the CMTrace attributes. CMTrace
    type 3 is an error and type 2 a warning; type 1, no type, SMS trace and plain records: quoted names and
    success phrases are blanked, then the error marks or an error code in the message make an error, the
    warning marks a warning (the values and their reasons: _host_contract.py LOG_*).
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Text,

        [Parameter(Mandatory = $true)]
        [hashtable]
        $Rules
    )

    if ($null -ne $Rules.since) {
        $when = $null
        $match = $Rules.sms_trailer.Match($Text)
        if ($match.Success) {
            $g = $match.Groups
            $bias = 0
            if ($g[7].Success) {
                $bias = [int]$g[7].Value
            }
            $parts = @([int]$g[3].Value, [int]$g[1].Value, [int]$g[2].Value, [int]$g[4].Value, [int]$g[5].Value, [int]$g[6].Value)
            $when = (New-Object -TypeName DateTime -ArgumentList $parts).AddMinutes($bias)
        }
        else {
            $match = $Rules.cm_time.Match($Text)
            if ($match.Success) {
                $g = $match.Groups
                $bias = 0
                if ($g[4].Success) {
                    $bias = [int]$g[4].Value
                }
                $parts = @([int]$g[7].Value, [int]$g[5].Value, [int]$g[6].Value, [int]$g[1].Value, [int]$g[2].Value, [int]$g[3].Value)
                $when = (New-Object -TypeName DateTime -ArgumentList $parts).AddMinutes($bias)
            }
        }
        if ($null -ne $when -and $when -lt $Rules.since) {
            return $false
        }
    }
    foreach ($needle in $Rules.patterns) {
        if ($needle -and $Text.IndexOf($needle, [StringComparison]::OrdinalIgnoreCase) -ge 0) {
            return $true
        }
    }
    $message = $Text
    $type = ''
    $body = $Text.TrimStart()
    if ($body.StartsWith($script:LogCmTraceStart, [StringComparison]::Ordinal)) {
        $message = $body.Substring($script:LogCmTraceStart.Length)
        $close = $message.IndexOf($script:LogCmTraceMessageEnd, [StringComparison]::Ordinal)
        if ($close -ge 0) {
            $typeMatch = $Rules.cm_type.Match($message, $close + $script:LogCmTraceMessageEnd.Length)
            if ($typeMatch.Success) {
                $type = $typeMatch.Groups[1].Value
            }
            $message = $message.Substring(0, $close)
        }
    }
    else {
        $trailer = $Rules.sms_trailer.Match($Text)
        if ($trailer.Success) {
            $message = $Text.Substring(0, $trailer.Index)
        }
    }
    $severity = 'info'
    if ($type -eq '3') {
        $severity = 'error'
    }
    elseif ($type -eq '2') {
        $severity = 'warning'
    }
    else {
        $plain = $Rules.benign.Replace($Rules.quoted_name.Replace($message, ' '), ' ')
        if ($Rules.error_mark.IsMatch($plain) -or $Rules.code_mark.IsMatch($message)) {
            $severity = 'error'
        }
        elseif ($Rules.warning_mark.IsMatch($plain)) {
            $severity = 'warning'
        }
    }
    return $Rules.severities -contains $severity
}

Function Read-FieldkitLogFiltered {
    <#
    .SYNOPSIS
    Op log.read_filtered: bounded excerpts of log files, filtered on the host by pattern, severity and time.
    .DESCRIPTION
    Records are SMS trace entries (continuation lines up to the $$< trailer) and CMTrace entries
    (<![LOG[ ... ]LOG]!><...>), multi-line ones included; a line that starts a CMTrace record ends
    any open record, and a record has at most LogMaxRecordLines lines. A record is kept when it
    contains one of the patterns or carries an error/warning marker (Test-FieldkitLogRecord), and
    is not older than SinceUtc. Per file the newest MaxLines records are kept, then trimmed to
    MaxBytes characters, newest first. BOMs at the start of a line (a log appended to or rotated
    with a BOM) are dropped; NUL padding (a pre-allocated log) ends the data.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [AllowEmptyCollection()]
        [string[]]
        $Paths = @(),

        [Parameter()]
        [AllowEmptyCollection()]
        [object[]]
        $PathRefs = @(),

        [Parameter()]
        [bool]
        $IncludeRotated = $true,

        [Parameter()]
        [AllowEmptyCollection()]
        [string[]]
        $Patterns = @(),

        [Parameter()]
        [AllowEmptyCollection()]
        [ValidateSet('error', 'warning')]
        [string[]]
        $Severities = @('error', 'warning'),

        [Parameter()]
        [string]
        $SinceUtc,

        [Parameter()]
        [int]
        $MaxLines = 200,

        [Parameter()]
        [int]
        $MaxBytes = 65536,

        [Parameter()]
        [int64]
        $MaxScanBytes = 33554432,

        [Parameter()]
        [int]
        $TimeoutSeconds = 60
    )

    $invariant = [System.Globalization.CultureInfo]::InvariantCulture
    $ignoreCase = [System.Text.RegularExpressions.RegexOptions]'IgnoreCase, CultureInvariant'
    $rules = @{
        since = $null
        patterns = @($Patterns)
        severities = @($Severities)
        sms_trailer = [regex]::new($script:LogSmsTrailerPattern)
        cm_time = [regex]::new($script:LogCmTraceTimePattern)
        cm_type = [regex]::new($script:LogCmTraceTypePattern, $ignoreCase)
        error_mark = [regex]::new($script:LogErrorMarkPattern, $ignoreCase)
        warning_mark = [regex]::new($script:LogWarningMarkPattern, $ignoreCase)
        benign = [regex]::new($script:LogBenignPattern, $ignoreCase)
        quoted_name = [regex]::new($script:LogQuotedNamePattern, $ignoreCase)
        code_mark = [regex]::new($script:LogCodeMarkPattern, $ignoreCase)
    }
    if ($SinceUtc) {
        $styles = [System.Globalization.DateTimeStyles]'AdjustToUniversal, AssumeUniversal'
        $rules.since = [DateTime]::Parse($SinceUtc, $invariant, $styles)
    }
    $recordClose = [regex]::new($script:LogRecordClosePattern)
    $bom = [char]0xFEFF

    $targets = [System.Collections.Generic.List[string]]::new()
    foreach ($path in $Paths) {
        $targets.Add([Environment]::ExpandEnvironmentVariables($path))
    }
    foreach ($ref in (Resolve-FieldkitPathRef -PathRefs $PathRefs)) {
        $targets.Add($ref.path)
    }
    $ordered = [System.Collections.Generic.List[string]]::new()
    foreach ($path in $targets) {
        if ($IncludeRotated -and $path.EndsWith('.log', [StringComparison]::OrdinalIgnoreCase)) {
            $ordered.Add($path.Substring(0, $path.Length - 4) + '.lo_')
        }
        $ordered.Add($path)
    }

    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    $files = [System.Collections.Generic.List[object]]::new()
    $records = [System.Collections.Generic.List[object]]::new()
    $truncatedAny = $false
    foreach ($path in $ordered) {
        $name = [System.IO.Path]::GetFileName($path)
        if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
            if (-not $path.EndsWith('.lo_', [StringComparison]::OrdinalIgnoreCase)) {
                $files.Add(@{
                    path = $path
                    name = $name
                    exists = $false
                    size_bytes = $null
                    encoding = $null
                    partial = $false
                    records_scanned = 0
                    records_matched = 0
                    records_returned = 0
                    truncated = $false
                })
            }
            continue
        }
        $share = [System.IO.FileShare]'ReadWrite, Delete'
        $stream = New-Object -TypeName System.IO.FileStream -ArgumentList @($path, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, $share)
        $matched = [System.Collections.Generic.Queue[object]]::new()
        $matchedCount = 0
        $scanned = 0
        $timedOut = $false
        try {
            $size = $stream.Length
            $start = [int64]0
            if ($size -gt $MaxScanBytes) {
                $start = $size - $MaxScanBytes
            }
            $detected = Get-FieldkitLogEncoding -Stream $stream -Start $start
            if ($start -gt 0 -and $detected[0].CodePage -eq 1200 -and ($start % 2) -ne 0) {
                $start++
            }
            $stream.Position = $start
            $reader = New-Object -TypeName System.IO.StreamReader -ArgumentList @($stream, $detected[0], ($start -eq 0))
            # A UTF-8 BOM at the start of a line of an 8-bit log, as the ANSI code page decodes it.
            $ansiBom = $null
            if (@(65001, 1200, 1201) -notcontains $detected[0].CodePage) {
                $ansiBom = $detected[0].GetString([byte[]]@(239, 187, 191))
            }
            $endOfData = $false
            if ($start -gt 0) {
                # A tail read starts inside a line: skip it. Line numbers then count from the scan start.
                $skipped = $reader.ReadLine()
                if ($null -ne $skipped -and $skipped.IndexOf([char]0) -ge 0) {
                    $endOfData = $true
                }
            }
            $buffer = [System.Collections.Generic.List[string]]::new()
            $lineNumber = 0
            $recordStart = 0
            $inCmTrace = $false
            $cmMessageEnded = $false
            while ($true) {
                $line = $null
                if (-not $endOfData) {
                    $line = $reader.ReadLine()
                }
                if ($null -ne $line) {
                    $nul = $line.IndexOf([char]0)
                    if ($nul -ge 0) {
                        # NUL padding (a pre-allocated log) ends the data: nothing after it is read.
                        $line = $line.Substring(0, $nul)
                        $endOfData = $true
                    }
                    $line = $line.TrimStart($bom)
                    if ($null -ne $ansiBom -and $line.StartsWith($ansiBom, [StringComparison]::Ordinal)) {
                        $line = $line.Substring($ansiBom.Length)
                    }
                }
                $complete = $null
                if ($null -eq $line) {
                    if ($buffer.Count -gt 0) {
                        $complete = [string]::Join("`n", $buffer)
                        $buffer.Clear()
                    }
                }
                else {
                    $lineNumber++
                    if ($buffer.Count -eq 0 -and -not $line.Trim()) {
                        continue
                    }
                    $startsCm = $line.TrimStart().StartsWith($script:LogCmTraceStart, [StringComparison]::Ordinal)
                    if ($startsCm -and $buffer.Count -gt 0) {
                        # A CMTrace record ends what is open: lines that never got an SMS trailer, a broken record.
                        $complete = [string]::Join("`n", $buffer)
                        $buffer.Clear()
                    }
                }
                if ($null -ne $complete) {
                    $scanned++
                    if (Test-FieldkitLogRecord -Text $complete -Rules $rules) {
                        $matchedCount++
                        $matched.Enqueue(@{ file = $name; path = $path; line_number = $recordStart; text = $complete })
                        if ($matched.Count -gt $MaxLines) {
                            [void]$matched.Dequeue()
                        }
                    }
                }
                if ($null -eq $line) {
                    break
                }
                if ($buffer.Count -eq 0) {
                    $recordStart = $lineNumber
                    $inCmTrace = $startsCm
                    $cmMessageEnded = $false
                }
                $buffer.Add($line)
                $ends = $false
                if ($inCmTrace) {
                    # The record ends on the first line ending in '>' once its message has ended.
                    if (-not $cmMessageEnded) {
                        $cmMessageEnded = $line.IndexOf($script:LogCmTraceMessageEnd, [StringComparison]::Ordinal) -ge 0
                    }
                    $ends = $cmMessageEnded -and $recordClose.IsMatch($line)
                }
                else {
                    $ends = $rules.sms_trailer.IsMatch($line)
                }
                if ($ends -or $buffer.Count -ge $script:LogMaxRecordLines) {
                    $complete = [string]::Join("`n", $buffer)
                    $buffer.Clear()
                    $scanned++
                    if (Test-FieldkitLogRecord -Text $complete -Rules $rules) {
                        $matchedCount++
                        $matched.Enqueue(@{ file = $name; path = $path; line_number = $recordStart; text = $complete })
                        if ($matched.Count -gt $MaxLines) {
                            [void]$matched.Dequeue()
                        }
                    }
                }
                if ([DateTime]::UtcNow -gt $deadline) {
                    $timedOut = $true
                    break
                }
            }
        }
        finally {
            $stream.Dispose()
        }
        $kept = $matched.ToArray()
        $budget = $MaxBytes
        $selected = [System.Collections.Generic.List[object]]::new()
        for ($i = $kept.Count - 1; $i -ge 0; $i--) {
            if ($kept[$i].text.Length -gt $budget) {
                break
            }
            $budget -= $kept[$i].text.Length
            $selected.Insert(0, $kept[$i])
        }
        $truncated = $timedOut -or ($selected.Count -lt $matchedCount)
        if ($truncated) {
            $truncatedAny = $true
        }
        $files.Add(@{
            path = $path
            name = $name
            exists = $true
            size_bytes = $size
            encoding = $detected[1]
            partial = $start -gt 0
            records_scanned = $scanned
            records_matched = $matchedCount
            records_returned = $selected.Count
            truncated = $truncated
        })
        foreach ($record in $selected) {
            $records.Add($record)
        }
    }
    return @{ log_dir = (Get-FieldkitSiteLogDirectory); files = $files.ToArray(); records = $records.ToArray(); truncated = $truncatedAny }
}

Function Get-FieldkitIdentity {
    <#
    .SYNOPSIS
    Op identity.read: the identity running the batch and the computer account with its domain groups.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [bool]
        $IncludeComputerGroups = $true,

        [Parameter()]
        [int]
        $TimeoutSeconds = 15
    )

    $current = [System.Security.Principal.WindowsIdentity]::GetCurrent()
    $computer = $env:COMPUTERNAME
    $system = Get-CimInstance -ClassName 'Win32_ComputerSystem' -OperationTimeoutSec 30 -ErrorAction Stop
    $result = @{
        user = $current.Name
        user_sid = $current.User.Value
        is_system = [bool]$current.IsSystem
        computer_name = $computer
        domain = $null
        computer_account = $null
        computer_account_sid = $null
        computer_groups = @()
        computer_groups_error = $null
    }
    if (-not $system.PartOfDomain) {
        return $result
    }
    $result.domain = [string]$system.Domain
    $accountSid = (Resolve-FieldkitAccountSid -Account ($computer + '$')).sid
    if ($null -eq $accountSid) {
        return $result
    }
    $result.computer_account_sid = $accountSid
    $result.computer_account = (Resolve-FieldkitSidName -Sid $accountSid).name
    if (-not $IncludeComputerGroups) {
        return $result
    }
    # fieldkit-build: embedded powershell
    $script = @'
param ([string]$Sid)
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$entry = New-Object -TypeName System.DirectoryServices.DirectoryEntry -ArgumentList ('LDAP://<SID=' + $Sid + '>')
$entry.RefreshCache([string[]]@('tokenGroups'))
foreach ($bytes in $entry.Properties['tokenGroups']) {
    (New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList @([byte[]]$bytes, 0)).Value
}
$entry.Dispose()
'@
    $run = Invoke-FieldkitIsolated -Script $script -ArgumentList @($accountSid) -TimeoutSeconds $TimeoutSeconds
    if ($run.timed_out) {
        $message = "tokenGroups not read within $TimeoutSeconds s"
        $result.computer_groups_error = @{ code = 2147943860; hresult = '0x800705B4'; message = $message; target = 'tokenGroups' }
    }
    elseif ($run.errors.Count -gt 0) {
        $result.computer_groups_error = ConvertTo-FieldkitErrorInfo -ErrorRecord $run.errors[0] -Target 'tokenGroups'
    }
    else {
        $result.computer_groups = @($run.output | Select-Object -First 200 | ForEach-Object {
                $lookup = Resolve-FieldkitSidName -Sid ([string]$_)
                @{ sid = [string]$_; name = $lookup.name; resolved = $lookup.resolved }
            })
    }
    return $result
}

Function Complete-FieldkitProbeResult {
    <#
    .SYNOPSIS
    The result of one probed target from the stages its runspace published; unfinished stages get a stub.
    .DESCRIPTION
    A stage that was asked for and not published is reported with the error of why it did not finish
    (the target was abandoned after TimeoutSeconds, or the probe script failed), and is named in
    stages with timed_out or failed. Finished stages are returned as measured.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [hashtable]
        $Slot,

        [Parameter(Mandatory = $true)]
        [string]
        $Target,

        [Parameter()]
        [AllowEmptyCollection()]
        [int[]]
        $Ports = @(),

        [Parameter(Mandatory = $true)]
        [hashtable]
        $Requested,

        [Parameter(Mandatory = $true)]
        [string]
        $WmiNamespace,

        [Parameter(Mandatory = $true)]
        [int]
        $TimeoutSeconds,

        [Parameter()]
        [bool]
        $Abandoned = $false,

        [Parameter()]
        [AllowNull()]
        [hashtable]
        $Failure
    )

    $state = 'failed'
    $reason = $Failure
    if ($Abandoned) {
        $state = 'timed_out'
        $reason = @{ code = 2147943860; hresult = '0x800705B4'; message = "not finished within $TimeoutSeconds s"; target = $Target }
    }
    elseif ($null -eq $reason) {
        $reason = @{ code = 2147500037; hresult = '0x80004005'; message = 'the probe ended without this result'; target = $Target }
    }
    $stages = @{}
    $elapsed = $Slot['elapsed_ms']
    if ($null -eq $elapsed) {
        $elapsed = 0
        $startedAt = $Slot['started']
        if ($null -ne $startedAt) {
            $elapsed = [int]([DateTime]::UtcNow - $startedAt).TotalMilliseconds
        }
    }
    $result = @{
        target = $Target
        timed_out = $Abandoned
        elapsed_ms = [int]$elapsed
        dns = $Slot['dns']
        tcp = @()
        epm = $null
        wmi = $null
        clock = $null
        stages = $stages
        error = $Failure
    }
    $stages['dns'] = 'done'
    if ($null -eq $result.dns) {
        $stages['dns'] = $state
        $result.dns = @{ resolved = $null; addresses = @(); reverse = @(); error = $reason }
    }
    $published = @($Slot['tcp'] | Where-Object { $null -ne $_ })
    $tcp = [System.Collections.Generic.List[object]]::new()
    foreach ($entry in $published) {
        $tcp.Add($entry)
    }
    $stages['tcp'] = 'done'
    for ($i = $published.Count; $i -lt $Ports.Count; $i++) {
        $tcp.Add(@{ port = $Ports[$i]; open = $null; error = $reason })
        $stages['tcp'] = $state
    }
    $result.tcp = $tcp.ToArray()
    $stubs = @{
        epm = @{ reachable = $null; endpoint_count = $null; endpoints = @(); sample_ports = @(); dynamic_port_open = $null; skipped = $false; skip_reason = $null; error = $reason }
        wmi = @{ namespace = $WmiNamespace; identity = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name; connected = $null; class_present = $null; skipped = $false; skip_reason = $null; error = $reason }
        clock = @{ offset_seconds = $null; method = $null; remote_utc = $null; skipped = $false; skip_reason = $null; error = $reason }
    }
    foreach ($name in @('epm', 'wmi', 'clock')) {
        if (-not $Requested[$name]) {
            $stages[$name] = 'not_requested'
            continue
        }
        $value = $Slot[$name]
        if ($null -eq $value) {
            $stages[$name] = $state
            $result[$name] = $stubs[$name]
        }
        else {
            $stages[$name] = 'done'
            if ($value.skipped) {
                $stages[$name] = 'skipped'
            }
            $result[$name] = $value
        }
    }
    return $result
}

Function Test-FieldkitNetworkTarget {
    <#
    .SYNOPSIS
    Op net.probe_targets: probes many hosts in parallel (runspace pool), each within a time budget.
    .DESCRIPTION
    Per target: DNS forward and reverse (IPv4 and IPv6), TCP ports, the RPC endpoint mapper with a
    sample of its dynamic ports, remote WMI over DCOM (System.Management, as ConfigMgr does, never
    WinRM) as the identity running the op, and the target clock. RPC stages are skipped when TCP 135
    is closed. A target still running after TimeoutSeconds is abandoned and reported with timed_out,
    keeping the stages it finished (stages names each one's state).
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string[]]
        $Targets,

        [Parameter()]
        [AllowEmptyCollection()]
        [int[]]
        $TcpPorts = @(135, 445, 80, 443),

        [Parameter()]
        [bool]
        $CheckEpm = $true,

        [Parameter()]
        [bool]
        $CheckWmi = $true,

        [Parameter()]
        [string]
        $WmiNamespace = 'root\SCCMDP',

        [Parameter()]
        [string]
        $WmiClass = 'SMS_DistributionPoint',

        [Parameter()]
        [bool]
        $CheckClock = $true,

        [Parameter()]
        [int]
        $ConnectTimeoutMs = 3000,

        [Parameter()]
        [int]
        $TimeoutSeconds = 30,

        [Parameter()]
        [int]
        $MaxParallel = 16
    )

    foreach ($target in $Targets) {
        if ($target -notmatch $script:HostNamePattern) {
            throw (New-FieldkitErrorRecord -Code 0x80070057 -Message "target '$target' is not a host name" -Target 'targets')
        }
    }
    if ($WmiClass -notmatch $script:ClassNamePattern) {
        throw (New-FieldkitErrorRecord -Code 0x80070057 -Message "wmi_class '$WmiClass' is not a WMI class name" -Target 'wmi_class')
    }
    Add-FieldkitNativeType
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $requested = @{ epm = $CheckEpm; wmi = $CheckWmi; clock = $CheckClock }
    $pool = [System.Management.Automation.Runspaces.RunspaceFactory]::CreateRunspacePool(1, [Math]::Max(1, $MaxParallel))
    $pool.Open()
    $jobs = [System.Collections.Generic.List[object]]::new()
    foreach ($target in $Targets) {
        # One synchronized hashtable per target (not per name: a target may be listed twice).
        $slot = [hashtable]::Synchronized(@{})
        $shell = [System.Management.Automation.PowerShell]::Create()
        $shell.RunspacePool = $pool
        [void]$shell.AddScript($script:ProbeScript)
        [void]$shell.AddArgument($target)
        [void]$shell.AddArgument([int[]]$TcpPorts)
        [void]$shell.AddArgument($ConnectTimeoutMs)
        [void]$shell.AddArgument($CheckEpm)
        [void]$shell.AddArgument($CheckWmi)
        [void]$shell.AddArgument($WmiNamespace)
        [void]$shell.AddArgument($WmiClass)
        [void]$shell.AddArgument($CheckClock)
        [void]$shell.AddArgument($TimeoutSeconds)
        [void]$shell.AddArgument($slot)
        $jobs.Add(@{ target = $target; slot = $slot; shell = $shell; handle = $shell.BeginInvoke(); result = $null; done = $false })
    }
    $completeArgs = @{ Ports = [int[]]$TcpPorts; Requested = $requested; WmiNamespace = $WmiNamespace; TimeoutSeconds = $TimeoutSeconds }
    # Waves of MaxParallel targets, each with TimeoutSeconds, plus slack: the overall ceiling.
    $waves = [Math]::Ceiling($Targets.Count / [double][Math]::Max(1, $MaxParallel))
    $ceiling = [DateTime]::UtcNow.AddSeconds(($waves + 1) * $TimeoutSeconds)
    $abandoned = $false
    while ($true) {
        $open = 0
        foreach ($job in $jobs) {
            if ($job.done) {
                continue
            }
            if ($job.handle.IsCompleted) {
                $failure = $null
                try {
                    [void]$job.shell.EndInvoke($job.handle)
                }
                catch {
                    $failure = ConvertTo-FieldkitErrorInfo -ErrorRecord $_ -Target $job.target
                }
                $job.shell.Dispose()
                $job.result = Complete-FieldkitProbeResult @completeArgs -Slot $job.slot -Target $job.target -Failure $failure
                $job.done = $true
                continue
            }
            $startedAt = $job.slot['started']
            $overdue = ($null -ne $startedAt) -and (([DateTime]::UtcNow - $startedAt).TotalSeconds -gt $TimeoutSeconds)
            if ($overdue -or [DateTime]::UtcNow -gt $ceiling) {
                [void]$job.shell.BeginStop($null, $null)
                # The slot as it is now: the stages the target finished, as measured.
                $job.result = Complete-FieldkitProbeResult @completeArgs -Slot $job.slot -Target $job.target -Abandoned $true
                $job.done = $true
                $abandoned = $true
                continue
            }
            $open++
        }
        if ($open -eq 0) {
            break
        }
        Start-Sleep -Milliseconds 100
    }
    if ($abandoned) {
        # A hung native call cannot be interrupted; close the pool without waiting for it.
        [void]$pool.BeginClose($null, $null)
    }
    else {
        $pool.Close()
        $pool.Dispose()
    }
    $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
    return @{ identity = $identity; targets = @($jobs | ForEach-Object { $_.result }); elapsed_ms = [int]$watch.ElapsedMilliseconds }
}

Export-ModuleMember -Function @(
    'Add-FieldkitNativeType',
    'ConvertTo-FieldkitErrorInfo',
    'ConvertTo-FieldkitUnsigned',
    'Resolve-FieldkitSidName',
    'ConvertTo-FieldkitNullableString',
    'Invoke-FieldkitIsolated',
    'Get-FieldkitShare',
    'Get-FieldkitDisk',
    'Get-FieldkitOsInfo',
    'Get-FieldkitRegistryValues',
    'Get-FieldkitTimeState',
    'Get-FieldkitAcl',
    'Get-FieldkitEvent',
    'Read-FieldkitLogFiltered',
    'Get-FieldkitIdentity',
    'Test-FieldkitNetworkTarget'
)
