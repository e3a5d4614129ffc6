# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# Generic Windows ops of the mecm.fieldkit op registry (plugins/plugin_utils/_ops_system.py).
# Each function implements one op: read-only ops return the data hashtable, mutating ops return
# @{ changed; before; after } and honour -CheckMode. Failures throw an ErrorRecord with the Windows
# error code. Targets Windows PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitServiceRead

Set-StrictMode -Version 2.0

# Service names that may be put on the sc.exe command line unquoted.
$script:ServiceNamePattern = '\A[A-Za-z0-9_.$-]{1,256}\z'
# Where service.ensure records the failure actions it suspends (HKLM, 64-bit view).
$script:MarkersKey = 'SOFTWARE\mecm.fieldkit\Markers'

# Failure actions ("recovery" in services.msc) through QueryServiceConfig2W / ChangeServiceConfig2W with
# SERVICE_CONFIG_FAILURE_ACTIONS (https://learn.microsoft.com/windows/win32/api/winsvc/nf-winsvc-changeserviceconfig2w,
# https://learn.microsoft.com/windows/win32/api/winsvc/ns-winsvc-service_failure_actionsw): the documented interface,
# exact in both directions. cActions = 0 with a non-NULL lpsaActions deletes the reset period and the actions ("take no
# action"); NULL lpRebootMsg and lpCommand leave the reboot message and the command unchanged. Setting SC_ACTION_RESTART
# needs SERVICE_START on the handle, SC_ACTION_REBOOT the SE_SHUTDOWN_NAME privilege. Compiled only when needed.
# fieldkit-build: embedded csharp
$script:ServiceRecoverySource = @'
using System;
using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Fieldkit
{
    public sealed class ServiceFailureActions
    {
        public uint ResetPeriod;
        public int[] Types = new int[0];
        public uint[] Delays = new uint[0];
    }

    public static class ServiceRecovery
    {
        private const uint SC_MANAGER_CONNECT = 0x0001;
        private const uint SERVICE_QUERY_CONFIG = 0x0001;
        private const uint SERVICE_CHANGE_CONFIG = 0x0002;
        private const uint SERVICE_START = 0x0010;
        private const uint SERVICE_CONFIG_FAILURE_ACTIONS = 2;
        private const int ERROR_INSUFFICIENT_BUFFER = 122;
        private const int ERROR_NOT_ALL_ASSIGNED = 1300;
        private const int SC_ACTION_REBOOT = 1;
        private const int SC_ACTION_RESTART = 2;
        private const uint TOKEN_ADJUST_PRIVILEGES = 0x0020;
        private const uint TOKEN_QUERY = 0x0008;
        private const uint SE_PRIVILEGE_ENABLED = 0x0002;

        [StructLayout(LayoutKind.Sequential)]
        private struct SERVICE_FAILURE_ACTIONSW
        {
            public uint dwResetPeriod;
            public IntPtr lpRebootMsg;
            public IntPtr lpCommand;
            public uint cActions;
            public IntPtr lpsaActions;
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct SC_ACTION
        {
            public int Type;
            public uint Delay;
        }

        [StructLayout(LayoutKind.Sequential, Pack = 4)]
        private struct TOKEN_PRIVILEGES
        {
            public uint PrivilegeCount;
            public long Luid;
            public uint Attributes;
        }

        [DllImport("advapi32.dll", EntryPoint = "OpenSCManagerW", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr OpenSCManager(string machineName, string databaseName, uint desiredAccess);

        [DllImport("advapi32.dll", EntryPoint = "OpenServiceW", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr OpenService(IntPtr manager, string serviceName, uint desiredAccess);

        [DllImport("advapi32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool CloseServiceHandle(IntPtr handle);

        [DllImport("advapi32.dll", EntryPoint = "QueryServiceConfig2W", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool QueryServiceConfig2(IntPtr service, uint infoLevel, IntPtr buffer, uint bufferSize, out uint bytesNeeded);

        [DllImport("advapi32.dll", EntryPoint = "ChangeServiceConfig2W", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool ChangeServiceConfig2(IntPtr service, uint infoLevel, ref SERVICE_FAILURE_ACTIONSW info);

        [DllImport("advapi32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool OpenProcessToken(IntPtr process, uint desiredAccess, out IntPtr token);

        [DllImport("advapi32.dll", EntryPoint = "LookupPrivilegeValueW", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool LookupPrivilegeValue(string systemName, string name, out long luid);

        [DllImport("advapi32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool AdjustTokenPrivileges(IntPtr token, [MarshalAs(UnmanagedType.Bool)] bool disableAll, ref TOKEN_PRIVILEGES newState, uint bufferLength, IntPtr previousState, IntPtr returnLength);

        [DllImport("kernel32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool CloseHandle(IntPtr handle);

        [DllImport("kernel32.dll")]
        private static extern IntPtr GetCurrentProcess();

        private static IntPtr Open(string serviceName, uint access, out IntPtr manager)
        {
            manager = OpenSCManager(null, null, SC_MANAGER_CONNECT);
            if (manager == IntPtr.Zero)
            {
                throw new Win32Exception(Marshal.GetLastWin32Error());
            }
            IntPtr service = OpenService(manager, serviceName, access);
            if (service == IntPtr.Zero)
            {
                int error = Marshal.GetLastWin32Error();
                CloseServiceHandle(manager);
                throw new Win32Exception(error);
            }
            return service;
        }

        public static ServiceFailureActions Read(string serviceName)
        {
            IntPtr manager;
            IntPtr service = Open(serviceName, SERVICE_QUERY_CONFIG, out manager);
            IntPtr buffer = IntPtr.Zero;
            try
            {
                uint needed;
                if (!QueryServiceConfig2(service, SERVICE_CONFIG_FAILURE_ACTIONS, IntPtr.Zero, 0, out needed))
                {
                    int error = Marshal.GetLastWin32Error();
                    if (error != ERROR_INSUFFICIENT_BUFFER)
                    {
                        throw new Win32Exception(error);
                    }
                }
                buffer = Marshal.AllocHGlobal((int)needed);
                if (!QueryServiceConfig2(service, SERVICE_CONFIG_FAILURE_ACTIONS, buffer, needed, out needed))
                {
                    throw new Win32Exception(Marshal.GetLastWin32Error());
                }
                SERVICE_FAILURE_ACTIONSW info = (SERVICE_FAILURE_ACTIONSW)Marshal.PtrToStructure(buffer, typeof(SERVICE_FAILURE_ACTIONSW));
                int count = info.lpsaActions == IntPtr.Zero ? 0 : (int)info.cActions;
                ServiceFailureActions result = new ServiceFailureActions();
                result.ResetPeriod = info.dwResetPeriod;
                result.Types = new int[count];
                result.Delays = new uint[count];
                int size = Marshal.SizeOf(typeof(SC_ACTION));
                for (int i = 0; i < count; i++)
                {
                    SC_ACTION action = (SC_ACTION)Marshal.PtrToStructure(new IntPtr(info.lpsaActions.ToInt64() + (long)i * size), typeof(SC_ACTION));
                    result.Types[i] = action.Type;
                    result.Delays[i] = action.Delay;
                }
                return result;
            }
            finally
            {
                if (buffer != IntPtr.Zero)
                {
                    Marshal.FreeHGlobal(buffer);
                }
                CloseServiceHandle(service);
                CloseServiceHandle(manager);
            }
        }

        public static void Write(string serviceName, uint resetPeriod, int[] types, uint[] delays)
        {
            if (types.Length != delays.Length)
            {
                throw new ArgumentException("types and delays differ in length");
            }
            uint access = SERVICE_CHANGE_CONFIG | SERVICE_QUERY_CONFIG;
            foreach (int type in types)
            {
                if (type == SC_ACTION_RESTART)
                {
                    access |= SERVICE_START;
                }
                if (type == SC_ACTION_REBOOT)
                {
                    EnableShutdownPrivilege();
                }
            }
            IntPtr manager;
            IntPtr service = Open(serviceName, access, out manager);
            int size = Marshal.SizeOf(typeof(SC_ACTION));
            IntPtr actions = Marshal.AllocHGlobal(size * Math.Max(1, types.Length));
            try
            {
                for (int i = 0; i < types.Length; i++)
                {
                    SC_ACTION action = new SC_ACTION();
                    action.Type = types[i];
                    action.Delay = delays[i];
                    Marshal.StructureToPtr(action, new IntPtr(actions.ToInt64() + (long)i * size), false);
                }
                SERVICE_FAILURE_ACTIONSW info = new SERVICE_FAILURE_ACTIONSW();
                info.dwResetPeriod = resetPeriod;
                info.lpRebootMsg = IntPtr.Zero;
                info.lpCommand = IntPtr.Zero;
                info.cActions = (uint)types.Length;
                info.lpsaActions = actions;
                if (!ChangeServiceConfig2(service, SERVICE_CONFIG_FAILURE_ACTIONS, ref info))
                {
                    throw new Win32Exception(Marshal.GetLastWin32Error());
                }
            }
            finally
            {
                Marshal.FreeHGlobal(actions);
                CloseServiceHandle(service);
                CloseServiceHandle(manager);
            }
        }

        private static void EnableShutdownPrivilege()
        {
            IntPtr token;
            if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, out token))
            {
                throw new Win32Exception(Marshal.GetLastWin32Error());
            }
            try
            {
                TOKEN_PRIVILEGES privileges = new TOKEN_PRIVILEGES();
                privileges.PrivilegeCount = 1;
                privileges.Attributes = SE_PRIVILEGE_ENABLED;
                if (!LookupPrivilegeValue(null, "SeShutdownPrivilege", out privileges.Luid))
                {
                    throw new Win32Exception(Marshal.GetLastWin32Error());
                }
                if (!AdjustTokenPrivileges(token, false, ref privileges, 0, IntPtr.Zero, IntPtr.Zero))
                {
                    throw new Win32Exception(Marshal.GetLastWin32Error());
                }
                int error = Marshal.GetLastWin32Error();
                if (error == ERROR_NOT_ALL_ASSIGNED)
                {
                    throw new Win32Exception(error);
                }
            }
            finally
            {
                CloseHandle(token);
            }
        }
    }
}
'@

Function Add-FieldkitServiceRecoveryType {
    [CmdletBinding()]
    param ()

    if ($null -eq ('Fieldkit.ServiceRecovery' -as [type])) {
        Add-Type -TypeDefinition $script:ServiceRecoverySource -Language CSharp -ErrorAction Stop
    }
}

Function ConvertTo-FieldkitRecoveryText {
    <#
    .SYNOPSIS
    Failure actions as the marker text 'reset=<seconds>;actions=<type>/<delay ms>,...' (types none, reboot, restart, run).
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [uint32]
        $ResetPeriod,

        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [string[]]
        $Actions
    )

    return ('reset={0};actions={1}' -f $ResetPeriod, ($Actions -join ','))
}

Function Get-FieldkitServiceRecovery {
    <#
    .SYNOPSIS
    The failure actions of a service as @{ reset_period_seconds; types; delays; actions ('restart/60000' strings) }.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name
    )

    Add-FieldkitServiceRecoveryType
    try {
        $read = [Fieldkit.ServiceRecovery]::Read($Name)
    }
    catch {
        $code = Get-FieldkitErrorCode -ErrorRecord $_
        throw (New-FieldkitErrorRecord -Code $code -Message ('QueryServiceConfig2 (failure actions) of service {0} failed: {1}' -f $Name, $_.Exception.Message) -Target $Name)
    }
    $names = @('none', 'reboot', 'restart', 'run')
    $actions = [System.Collections.Generic.List[string]]::new()
    for ($i = 0; $i -lt $read.Types.Length; $i++) {
        $type = [int]$read.Types[$i]
        $label = [string]$type
        if ($type -ge 0 -and $type -lt $names.Count) {
            $label = $names[$type]
        }
        $actions.Add(('{0}/{1}' -f $label, $read.Delays[$i]))
    }
    return @{
        reset_period_seconds = [int64]$read.ResetPeriod
        types = [int[]]$read.Types
        delays = [uint32[]]$read.Delays
        actions = [string[]]$actions.ToArray()
    }
}

Function Set-FieldkitServiceRecovery {
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter(Mandatory = $true)]
        [uint32]
        $ResetPeriod,

        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [int[]]
        $Types,

        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [uint32[]]
        $Delays
    )

    Add-FieldkitServiceRecoveryType
    try {
        [Fieldkit.ServiceRecovery]::Write($Name, $ResetPeriod, $Types, $Delays)
    }
    catch {
        $code = Get-FieldkitErrorCode -ErrorRecord $_
        throw (New-FieldkitErrorRecord -Code $code -Message ('ChangeServiceConfig2 (failure actions) of service {0} failed: {1}' -f $Name, $_.Exception.Message) -Target $Name)
    }
}

Function ConvertFrom-FieldkitRecoveryText {
    <#
    .SYNOPSIS
    The marker text of ConvertTo-FieldkitRecoveryText as @{ reset; types; delays }; throws when it is malformed.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Text,

        [Parameter(Mandatory = $true)]
        [string]
        $Marker
    )

    $names = @('none', 'reboot', 'restart', 'run')
    $parsed = [regex]::Match($Text, '\Areset=(?<reset>[0-9]{1,10});actions=(?<actions>(?:[a-z0-9]+/[0-9]{1,10})(?:,[a-z0-9]+/[0-9]{1,10})*)\z')
    if (-not $parsed.Success) {
        $message = 'the recovery actions recorded in HKLM\{0} {1} are not readable ({2}); restore them by hand (sc.exe failure)' -f $script:MarkersKey, $Marker, $Text
        throw (New-FieldkitErrorRecord -Code 13 -Message $message -Target $Marker)
    }
    $types = [System.Collections.Generic.List[int]]::new()
    $delays = [System.Collections.Generic.List[uint32]]::new()
    foreach ($action in $parsed.Groups['actions'].Value.Split(',')) {
        $parts = $action.Split('/')
        $type = [array]::IndexOf($names, $parts[0])
        if ($type -lt 0) {
            $type = [int]$parts[0]
        }
        $types.Add($type)
        $delays.Add([uint32]$parts[1])
    }
    return @{ reset = [uint32]$parsed.Groups['reset'].Value; types = $types.ToArray(); delays = $delays.ToArray() }
}

Function Suspend-FieldkitServiceRecovery {
    <#
    .SYNOPSIS
    Before a service process is ended: record its failure actions under Marker, then set "take no action".
    Returns whether actions are suspended. A marker left by an interrupted run is kept (it holds the original).
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter(Mandatory = $true)]
        [string]
        $Marker
    )

    $recorded = Get-FieldkitRegistryValue -SubKey $script:MarkersKey -ValueName $Marker
    $current = Get-FieldkitServiceRecovery -Name $Name
    if ($null -eq $recorded) {
        if ($current.types.Length -eq 0) {
            return $false
        }
        # The marker first: an interruption between the two writes never loses the original actions.
        Set-FieldkitMarkerValue -Marker $Marker -Value (ConvertTo-FieldkitRecoveryText -ResetPeriod ([uint32]$current.reset_period_seconds) -Actions $current.actions)
    }
    if ($current.types.Length -gt 0) {
        Set-FieldkitServiceRecovery -Name $Name -ResetPeriod 0 -Types @() -Delays @()
        $check = Get-FieldkitServiceRecovery -Name $Name
        if ($check.types.Length -ne 0) {
            throw (New-FieldkitErrorRecord -Code 1053 -Message ('the failure actions of service {0} could not be suspended ({1} left); its process is not ended' -f $Name, ($check.actions -join ', ')) -Target $Name)
        }
    }
    return $true
}

Function Restore-FieldkitServiceRecovery {
    <#
    .SYNOPSIS
    Op service.restore_recovery: restore the failure actions recorded by service.ensure exactly and delete the marker.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter(Mandatory = $true)]
        [string]
        $Marker,

        [Parameter()]
        [switch]
        $CheckMode
    )

    $recorded = Get-FieldkitRegistryValue -SubKey $script:MarkersKey -ValueName $Marker
    $state = Get-FieldkitServiceState -Name $Name
    if ($null -eq $recorded) {
        $same = @{ name = $Name; suspended = $false; reset_period_seconds = $null; actions = @(); service_state = $state.state }
        return @{ changed = $false; before = $same; after = $same.Clone() }
    }
    $text = [string]$recorded
    $wanted = ConvertFrom-FieldkitRecoveryText -Text $text -Marker $Marker
    $current = Get-FieldkitServiceRecovery -Name $Name
    $before = @{ name = $Name; suspended = $true; reset_period_seconds = $current.reset_period_seconds; actions = $current.actions; service_state = $state.state }
    $actions = @($text.Substring($text.IndexOf(';actions=') + 9).Split(','))
    $after = @{ name = $Name; suspended = $false; reset_period_seconds = [int64]$wanted.reset; actions = [string[]]$actions; service_state = $state.state }
    if (-not $CheckMode) {
        Set-FieldkitServiceRecovery -Name $Name -ResetPeriod $wanted.reset -Types $wanted.types -Delays $wanted.delays
        $read = Get-FieldkitServiceRecovery -Name $Name
        $readText = ConvertTo-FieldkitRecoveryText -ResetPeriod ([uint32]$read.reset_period_seconds) -Actions $read.actions
        if ($readText -cne $text) {
            $message = 'the failure actions of service {0} read back as {1} after restoring {2}; the record stays in HKLM\{3} {4}' -f $Name, $readText, $text, $script:MarkersKey, $Marker
            throw (New-FieldkitErrorRecord -Code 1053 -Message $message -Target $Name)
        }
        Set-FieldkitMarkerValue -Marker $Marker
        $after.service_state = (Get-FieldkitServiceState -Name $Name).state
    }
    return @{ changed = $true; before = $before; after = $after }
}


Function Set-FieldkitServiceStartMode {
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter(Mandatory = $true)]
        [string]
        $StartMode
    )

    # Set-Service in PowerShell 5.1 cannot set delayed start, so sc.exe does it. The command line is built
    # from the service name, so the name is checked against the characters service names use here.
    $scMode = $StartMode
    if ($StartMode -eq 'delayed_auto') {
        $scMode = 'delayed-auto'
    }
    elseif ($StartMode -eq 'manual') {
        $scMode = 'demand'
    }
    if ($Name -notmatch $script:ServiceNamePattern) {
        throw (New-FieldkitErrorRecord -Code 123 -Message ('service name {0} cannot be passed to sc.exe' -f $Name) -Target $Name)
    }
    $scExe = Join-Path -Path $env:SystemRoot -ChildPath 'System32\sc.exe'
    $arguments = 'config {0} start= {1}' -f $Name, $scMode
    $run = Invoke-FieldkitNativeCommand -FilePath $scExe -Arguments $arguments -TimeoutSeconds 60
    if ($run.exit_code -ne 0) {
        $detail = (@($run.lines) + @($run.error_lines)) -join ' '
        throw (New-FieldkitErrorRecord -Code $run.exit_code -Message ('sc.exe {0} failed: {1}' -f $arguments, $detail) -Target $Name)
    }
}

Function Stop-FieldkitService {
    <#
    .SYNOPSIS
    Stops a service within TimeoutSeconds, else (KillOnTimeout) ends its process; returns @{ killed; recovery_suspended }.
    .DESCRIPTION
    A service process that ends without reporting SERVICE_STOPPED is a service failure to the SCM, which then runs
    the service's failure actions, for CcmExec a restart
    (https://learn.microsoft.com/windows/win32/api/winsvc/ns-winsvc-service_failure_actionsw). With RecoveryMarker
    they are suspended before the process is ended (Suspend-FieldkitServiceRecovery) and restored by the op
    service.restore_recovery.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter(Mandatory = $true)]
        [int]
        $TimeoutSeconds,

        [Parameter(Mandatory = $true)]
        [bool]
        $KillOnTimeout,

        [Parameter()]
        [string]
        $RecoveryMarker
    )

    $controller = New-Object -TypeName System.ServiceProcess.ServiceController -ArgumentList $Name
    try {
        $status = $controller.Status
        if ($status -ne [System.ServiceProcess.ServiceControllerStatus]::StopPending -and $status -ne [System.ServiceProcess.ServiceControllerStatus]::Stopped) {
            try {
                $controller.Stop()
            }
            catch [System.InvalidOperationException] {
                # The service stopped (or began stopping) between the status read and Stop(); anything else
                # is a real failure and is raised again.
                $controller.Refresh()
                $settled = @([System.ServiceProcess.ServiceControllerStatus]::Stopped, [System.ServiceProcess.ServiceControllerStatus]::StopPending)
                if ($settled -notcontains $controller.Status) {
                    throw
                }
            }
        }
        $controller.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Stopped, [TimeSpan]::FromSeconds($TimeoutSeconds))
        return @{ killed = $false; recovery_suspended = $false }
    }
    catch [System.ServiceProcess.TimeoutException] {
        if (-not $KillOnTimeout) {
            throw (New-FieldkitErrorRecord -Code 1053 -Message "service $Name did not stop within $TimeoutSeconds s and kill_on_timeout is off" -Target $Name)
        }
    }
    finally {
        $controller.Dispose()
    }
    $suspended = $false
    if ($RecoveryMarker) {
        $suspended = Suspend-FieldkitServiceRecovery -Name $Name -Marker $RecoveryMarker
    }
    $state = Get-FieldkitServiceState -Name $Name
    if ($null -ne $state.process_id) {
        Stop-Process -Id $state.process_id -Force -ErrorAction Stop
    }
    $controller = New-Object -TypeName System.ServiceProcess.ServiceController -ArgumentList $Name
    try {
        $controller.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Stopped, [TimeSpan]::FromSeconds(30))
    }
    catch [System.ServiceProcess.TimeoutException] {
        throw (New-FieldkitErrorRecord -Code 1053 -Message "service $Name did not stop even after its process was ended" -Target $Name)
    }
    finally {
        $controller.Dispose()
    }
    return @{ killed = $true; recovery_suspended = $suspended }
}

Function Start-FieldkitService {
    <#
    .SYNOPSIS
    Starts a service and waits at most TimeoutSeconds for it to run (Start-Service has no timeout).
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter(Mandatory = $true)]
        [int]
        $TimeoutSeconds
    )

    $controller = New-Object -TypeName System.ServiceProcess.ServiceController -ArgumentList $Name
    try {
        if ($controller.Status -eq [System.ServiceProcess.ServiceControllerStatus]::Stopped) {
            try {
                $controller.Start()
            }
            catch [System.InvalidOperationException] {
                $controller.Refresh()
                if ($controller.Status -eq [System.ServiceProcess.ServiceControllerStatus]::Stopped) {
                    $code = Get-FieldkitErrorCode -ErrorRecord $_
                    throw (New-FieldkitErrorRecord -Code $code -Message ('service {0} could not be started: {1}' -f $Name, $_.Exception.Message) -Target $Name)
                }
            }
        }
        $controller.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Running, [TimeSpan]::FromSeconds($TimeoutSeconds))
    }
    catch [System.ServiceProcess.TimeoutException] {
        throw (New-FieldkitErrorRecord -Code 1053 -Message ('service {0} did not start within {1} s' -f $Name, $TimeoutSeconds) -Target $Name)
    }
    finally {
        $controller.Dispose()
    }
}

Function Set-FieldkitServiceState {
    <#
    .SYNOPSIS
    Op service.ensure: stop or start a service and set its start mode, idempotently.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter()]
        [ValidateSet('stopped', 'running')]
        [string]
        $State,

        [Parameter()]
        [ValidateSet('auto', 'delayed_auto', 'manual', 'disabled')]
        [string]
        $StartMode,

        [Parameter()]
        [int]
        $StopTimeoutSeconds = 60,

        [Parameter()]
        [bool]
        $KillOnTimeout = $true,

        [Parameter()]
        [string]
        $RecoveryMarker,

        [Parameter()]
        [switch]
        $CheckMode
    )

    $current = Get-FieldkitServiceState -Name $Name
    $before = @{ name = $Name; exists = $current.exists; state = $current.state; start_mode = $current.start_mode; killed = $false; recovery_suspended = $false }
    if (-not $current.exists) {
        throw (New-FieldkitErrorRecord -Code 1060 -Message "service $Name does not exist" -Target $Name)
    }
    $after = @{ name = $Name; exists = $true; state = $current.state; start_mode = $current.start_mode; killed = $false; recovery_suspended = $false }
    $changed = $false
    # Start mode first, so a service that restarts itself cannot come back while we stop it.
    if ($StartMode -and $current.start_mode -ne $StartMode) {
        $changed = $true
        $after.start_mode = $StartMode
        if (-not $CheckMode) {
            Set-FieldkitServiceStartMode -Name $Name -StartMode $StartMode
        }
    }
    if ($State -eq 'stopped' -and $current.state -ne 'stopped') {
        $changed = $true
        $after.state = 'stopped'
        if (-not $CheckMode) {
            $stopped = Stop-FieldkitService -Name $Name -TimeoutSeconds $StopTimeoutSeconds -KillOnTimeout $KillOnTimeout -RecoveryMarker $RecoveryMarker
            $after.killed = $stopped.killed
            $after.recovery_suspended = $stopped.recovery_suspended
        }
    }
    elseif ($State -eq 'running' -and $current.state -ne 'running') {
        $changed = $true
        $after.state = 'running'
        if (-not $CheckMode) {
            Start-FieldkitService -Name $Name -TimeoutSeconds $StopTimeoutSeconds
        }
    }
    if ($changed -and -not $CheckMode) {
        $observed = Get-FieldkitServiceState -Name $Name
        $after.state = $observed.state
        $after.start_mode = $observed.start_mode
    }
    return @{ changed = $changed; before = $before; after = $after }
}

Function Get-FieldkitScheduledTask {
    <#
    .SYNOPSIS
    Op task.read: whether a scheduled task exists and is enabled.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Path,

        [Parameter(Mandatory = $true)]
        [string]
        $Name
    )

    $task = Get-ScheduledTask -TaskPath $Path -TaskName $Name -ErrorAction SilentlyContinue
    if ($null -eq $task) {
        return @{ path = $Path; name = $Name; exists = $false; enabled = $null; state = $null }
    }
    return @{
        path = $Path
        name = $Name
        exists = $true
        enabled = [bool]$task.Settings.Enabled
        state = ([string]$task.State).ToLowerInvariant()
    }
}

Function Get-FieldkitCertificate {
    <#
    .SYNOPSIS
    Op cert.list: certificates of one LocalMachine store, without private key material.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [ValidateSet('LocalMachine')]
        [string]
        $StoreLocation = 'LocalMachine',

        [Parameter(Mandatory = $true)]
        [string]
        $StoreName
    )

    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList @($StoreName, $StoreLocation)
    $flags = [System.Security.Cryptography.X509Certificates.OpenFlags]'ReadOnly, OpenExistingOnly'
    try {
        $store.Open($flags)
    }
    catch [System.Security.Cryptography.CryptographicException] {
        return @{ store = "$StoreLocation\$StoreName"; store_exists = $false; certificates = @() }
    }
    try {
        $certificates = [System.Collections.Generic.List[object]]::new()
        foreach ($cert in $store.Certificates) {
            $usages = @()
            foreach ($extension in $cert.Extensions) {
                if ($extension -is [System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension]) {
                    $usages = @($extension.EnhancedKeyUsages | ForEach-Object { $_.Value })
                }
            }
            $template = Get-FieldkitCertificateTemplateInfo -Certificate $cert
            $label = $template.name
            if (-not $label) {
                $label = $template.oid
            }
            $certificates.Add(@{
                thumbprint = $cert.Thumbprint
                subject = $cert.Subject
                issuer = $cert.Issuer
                not_after = ConvertTo-FieldkitUtcString -Value $cert.NotAfter
                has_private_key = $cert.HasPrivateKey
                enhanced_key_usages = $usages
                template = $label
                template_name = $template.name
                template_oid = $template.oid
            })
        }
        return @{ store = "$StoreLocation\$StoreName"; store_exists = $true; certificates = $certificates.ToArray() }
    }
    finally {
        $store.Close()
    }
}

Function Measure-FieldkitWmiInstance {
    <#
    .SYNOPSIS
    Op wmi.count_instances: number of instances of a class; absent namespace or class is reported.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Namespace,

        [Parameter(Mandatory = $true)]
        [string]
        $ClassName,

        [Parameter()]
        [int]
        $TimeoutSeconds = 30
    )

    $set = Get-FieldkitCimInstanceSet -Namespace $Namespace -ClassName $ClassName -TimeoutSeconds $TimeoutSeconds
    return @{
        namespace = $Namespace
        class_name = $ClassName
        namespace_present = $set.namespace_present
        class_present = $set.class_present
        count = $set.instances.Count
    }
}

Function Get-FieldkitProcess {
    <#
    .SYNOPSIS
    Op process.list: running processes among the given names.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string[]]
        $Names
    )

    $found = @(Get-Process -Name $Names -ErrorAction SilentlyContinue | ForEach-Object { @{ name = $_.ProcessName; pid = $_.Id } })
    return @{ processes = $found }
}

Export-ModuleMember -Function @(
    'Set-FieldkitServiceState',
    'Restore-FieldkitServiceRecovery',
    'Get-FieldkitScheduledTask',
    'Get-FieldkitCertificate',
    'Measure-FieldkitWmiInstance',
    'Get-FieldkitProcess'
)
