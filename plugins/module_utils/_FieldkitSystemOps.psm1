# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# Generic Windows ops of the mecm.fieldkit op registry (plugins/plugin_utils/_ops_system.py).
# Each function implements one op: read-only ops return the data hashtable, mutating ops return
# @{ changed; before; after } and honour -CheckMode. Failures throw an ErrorRecord with the Windows
# error code. Targets Windows PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon

Set-StrictMode -Version 2.0

# Service names that may be put on the sc.exe command line unquoted.
$script:ServiceNamePattern = '\A[A-Za-z0-9_.$-]{1,256}\z'

Function Get-FieldkitServiceStartMode {
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter(Mandatory = $true)]
        [string]
        $WmiStartMode
    )

    $mode = $WmiStartMode.ToLowerInvariant()
    if ($mode -eq 'auto') {
        $delayed = Get-FieldkitRegistryValue -SubKey "SYSTEM\CurrentControlSet\Services\$Name" -ValueName 'DelayedAutostart'
        if ($null -ne $delayed -and [int]$delayed -eq 1) {
            return 'delayed_auto'
        }
    }
    return $mode
}

Function Get-FieldkitServiceState {
    <#
    .SYNOPSIS
    Op service.read: state and start mode of one service, by service name.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name
    )

    $filter = "Name='{0}'" -f (ConvertTo-FieldkitWqlString -Value $Name)
    $service = Get-CimInstance -ClassName Win32_Service -Filter $filter -OperationTimeoutSec 30 -ErrorAction Stop
    if ($null -eq $service) {
        return @{ name = $Name; exists = $false; state = $null; start_mode = $null; process_id = $null }
    }
    $processId = $null
    if ($service.ProcessId -gt 0) {
        $processId = [int]$service.ProcessId
    }
    return @{
        name = [string]$service.Name
        exists = $true
        state = ([string]$service.State).ToLowerInvariant()
        start_mode = Get-FieldkitServiceStartMode -Name $service.Name -WmiStartMode $service.StartMode
        process_id = $processId
    }
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
    [CmdletBinding()]
    [OutputType([bool])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter(Mandatory = $true)]
        [int]
        $TimeoutSeconds,

        [Parameter(Mandatory = $true)]
        [bool]
        $KillOnTimeout
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
        return $false
    }
    catch [System.ServiceProcess.TimeoutException] {
        if (-not $KillOnTimeout) {
            throw (New-FieldkitErrorRecord -Code 1053 -Message "service $Name did not stop within $TimeoutSeconds s and kill_on_timeout is off" -Target $Name)
        }
    }
    finally {
        $controller.Dispose()
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
    return $true
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
        [switch]
        $CheckMode
    )

    $current = Get-FieldkitServiceState -Name $Name
    $before = @{ name = $Name; exists = $current.exists; state = $current.state; start_mode = $current.start_mode; killed = $false }
    if (-not $current.exists) {
        throw (New-FieldkitErrorRecord -Code 1060 -Message "service $Name does not exist" -Target $Name)
    }
    $after = @{ name = $Name; exists = $true; state = $current.state; start_mode = $current.start_mode; killed = $false }
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
            $after.killed = Stop-FieldkitService -Name $Name -TimeoutSeconds $StopTimeoutSeconds -KillOnTimeout $KillOnTimeout
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
            $certificates.Add(@{
                thumbprint = $cert.Thumbprint
                subject = $cert.Subject
                issuer = $cert.Issuer
                not_after = ConvertTo-FieldkitUtcString -Value $cert.NotAfter
                has_private_key = $cert.HasPrivateKey
                enhanced_key_usages = $usages
                template = Get-FieldkitCertificateTemplate -Certificate $cert
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
    'Get-FieldkitServiceState',
    'Set-FieldkitServiceState',
    'Get-FieldkitScheduledTask',
    'Get-FieldkitCertificate',
    'Measure-FieldkitWmiInstance',
    'Get-FieldkitProcess'
)
