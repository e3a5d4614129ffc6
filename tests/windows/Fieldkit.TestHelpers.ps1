# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Helpers of the real-host Pester suite (tests/windows). Dot-sourced by every *.Tests.ps1 file in its
# top-level BeforeAll. Windows PowerShell 5.1, Pester 5. Nothing here has been run by the project's
# own CI or authors: there is no Windows where the collection is built (see README.md here).
# One statement per line: the project's tree-sitter check parses this file (docs/development.md).

# Everything the suite creates carries this name (services, tasks, rules, shares, keys, stores, ...).
# Plain variables: dot-sourced into a BeforeAll, they are visible to every block and It below it.
# The helper functions below do not read them (they use literals), so they work from any scope.
$FieldkitTestPrefix = 'mecm.fieldkit.tests'
$FieldkitTestRegistryKey = 'SOFTWARE\mecm.fieldkit.tests'
$FieldkitTestTaskPath = '\mecm.fieldkit.tests\'

Function Assert-FieldkitTestHost {
    <#
    .SYNOPSIS
    Refuses a 32-bit session (the ops read HKLM through the 64-bit view, the tests through HKLM:).
    .DESCRIPTION
    The op modules themselves are imported by each *.Tests.ps1 file with literal Import-Module lines
    (tests/unit/test_windows_suite.py checks that those paths exist).
    #>
    [CmdletBinding()]
    param ()

    if (-not [Environment]::Is64BitProcess) {
        throw 'run the suite in 64-bit Windows PowerShell: the ops read HKLM through the 64-bit registry view'
    }
}

Function Enter-FieldkitAnsibleSession {
    <#
    .SYNOPSIS
    Ansible's module wrapper runs a module with $ErrorActionPreference = 'Stop' and imports module utils
    into the global scope (-Global on Import-Module here); the suite does the same.
    #>
    [CmdletBinding()]
    param ()

    $global:FieldkitSavedErrorActionPreference = $global:ErrorActionPreference
    $global:ErrorActionPreference = 'Stop'
}

Function Exit-FieldkitAnsibleSession {
    [CmdletBinding()]
    param ()

    if ($null -ne (Get-Variable -Name 'FieldkitSavedErrorActionPreference' -Scope Global -ErrorAction SilentlyContinue)) {
        $global:ErrorActionPreference = $global:FieldkitSavedErrorActionPreference
    }
}

Function Get-FieldkitTestError {
    <#
    .SYNOPSIS
    Runs a script block and returns the ErrorRecord it threw, or $null when it did not throw.
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param (
        [Parameter(Mandatory = $true)]
        [scriptblock]
        $ScriptBlock
    )

    try {
        $null = & $ScriptBlock
    }
    catch {
        return $_
    }
    return $null
}

Function ConvertTo-FieldkitTestHex {
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [int64]
        $Code
    )

    return ('0x{0:X8}' -f $Code)
}

Function Test-FieldkitTestConfigMgrPresent {
    <#
    .SYNOPSIS
    True when this host has any ConfigMgr client or site component; the fake-ConfigMgr tests never run then.
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param ()

    foreach ($key in @('HKLM:\SOFTWARE\Microsoft\SMS', 'HKLM:\SOFTWARE\Microsoft\CCM')) {
        if (Test-Path -LiteralPath $key) {
            return $true
        }
    }
    foreach ($name in @('CcmExec', 'SMS_EXECUTIVE', 'ccmsetup', 'smstsmgr')) {
        if ($null -ne (Get-Service -Name $name -ErrorAction SilentlyContinue)) {
            return $true
        }
    }
    return $false
}

Function New-FieldkitTestDirectory {
    <#
    .SYNOPSIS
    A new folder under %SystemRoot%\Temp\mecm.fieldkit.tests (readable by services running as SYSTEM).
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param ()

    $root = Join-Path -Path $env:SystemRoot -ChildPath 'Temp\mecm.fieldkit.tests'
    $path = Join-Path -Path $root -ChildPath ([guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Path $path -Force
    return $path
}

Function Remove-FieldkitTestDirectory {
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [string]
        $Path
    )

    if (-not $Path -or -not (Test-Path -LiteralPath $Path)) {
        return
    }
    # A process that was just ended may hold its image for a moment.
    for ($attempt = 0; $attempt -lt 10; $attempt++) {
        try {
            Remove-Item -LiteralPath $Path -Recurse -Force -ErrorAction Stop
            break
        }
        catch {
            Start-Sleep -Milliseconds 500
        }
    }
    $root = Split-Path -Path $Path -Parent
    if ((Test-Path -LiteralPath $root) -and @(Get-ChildItem -LiteralPath $root -Force -ErrorAction SilentlyContinue).Count -eq 0) {
        Remove-Item -LiteralPath $root -Force -ErrorAction SilentlyContinue
    }
}

Function New-FieldkitTestTool {
    <#
    .SYNOPSIS
    Compiles FieldkitTestTool.exe into a folder and returns its path; -Name gives the file another name
    (ccmsetup.exe, TSManager.exe) so that the process carries that name.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Directory,

        [Parameter()]
        [string]
        $Name = 'FieldkitTestTool.exe'
    )

    $null = New-Item -ItemType Directory -Path $Directory -Force
    $path = Join-Path -Path $Directory -ChildPath $Name
    # A small console program that is also a Windows service, so the suite never touches a real service:
    #   FieldkitTestTool.exe /service [/hangonstop]   runs as a service; /hangonstop never finishes a stop
    #   FieldkitTestTool.exe [/sleep:N]              sleeps N seconds (15 by default) and exits 0
    # C# 5 (the .NET Framework compiler of Windows PowerShell 5.1); compiled with CodeDom so that nothing is
    # loaded into the test session.
    $source = @'
using System;
using System.ServiceProcess;
using System.Threading;

namespace FieldkitTest
{
    public class TestService : ServiceBase
    {
        private readonly bool hangOnStop;

        public TestService(bool hangOnStop)
        {
            this.ServiceName = "FieldkitTestService";
            this.CanStop = true;
            this.hangOnStop = hangOnStop;
        }

        protected override void OnStart(string[] args)
        {
        }

        protected override void OnStop()
        {
            if (this.hangOnStop)
            {
                Thread.Sleep(Timeout.Infinite);
            }
        }
    }

    public static class Program
    {
        public static int Main(string[] args)
        {
            bool service = false;
            bool hang = false;
            int sleepSeconds = 15;
            foreach (string arg in args)
            {
                string lower = arg.ToLowerInvariant();
                if (lower == "/service")
                {
                    service = true;
                }
                else if (lower == "/hangonstop")
                {
                    hang = true;
                }
                else if (lower.StartsWith("/sleep:"))
                {
                    int.TryParse(lower.Substring(7), out sleepSeconds);
                }
            }
            if (service)
            {
                ServiceBase.Run(new TestService(hang));
                return 0;
            }
            Thread.Sleep(TimeSpan.FromSeconds(sleepSeconds));
            return 0;
        }
    }
}
'@
    $provider = New-Object -TypeName Microsoft.CSharp.CSharpCodeProvider
    $parameters = New-Object -TypeName System.CodeDom.Compiler.CompilerParameters
    $parameters.GenerateExecutable = $true
    $parameters.GenerateInMemory = $false
    $parameters.OutputAssembly = $path
    $null = $parameters.ReferencedAssemblies.Add('System.dll')
    $null = $parameters.ReferencedAssemblies.Add('System.ServiceProcess.dll')
    $compiled = $provider.CompileAssemblyFromSource($parameters, [string[]]@($source))
    if ($compiled.Errors.HasErrors) {
        $messages = @($compiled.Errors | ForEach-Object { $_.ToString() }) -join '; '
        throw "could not compile the test tool: $messages"
    }
    $provider.Dispose()
    return $path
}

Function New-FieldkitTestService {
    <#
    .SYNOPSIS
    Registers a throwaway own-process service that runs FieldkitTestTool.exe /service as LocalSystem.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter(Mandatory = $true)]
        [string]
        $ToolPath,

        [Parameter()]
        [switch]
        $HangOnStop,

        [Parameter()]
        [ValidateSet('Automatic', 'Manual', 'Disabled')]
        [string]
        $StartupType = 'Manual'
    )

    $command = '"{0}" /service' -f $ToolPath
    if ($HangOnStop) {
        $command = '{0} /hangonstop' -f $command
    }
    $arguments = @{
        Name = $Name
        BinaryPathName = $command
        DisplayName = "mecm.fieldkit.tests $Name"
        Description = 'Throwaway service of the mecm.fieldkit Pester suite; safe to delete.'
        StartupType = $StartupType
        ErrorAction = 'Stop'
    }
    $null = New-Service @arguments
}

Function Remove-FieldkitTestService {
    <#
    .SYNOPSIS
    Stops (ending its process if needed) and deletes a throwaway service. Windows PowerShell 5.1 has no
    Remove-Service, so sc.exe delete runs through Start-Process.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name
    )

    $filter = "Name='{0}'" -f $Name
    $service = Get-CimInstance -ClassName Win32_Service -Filter $filter -ErrorAction SilentlyContinue
    if ($null -eq $service) {
        return
    }
    if ($service.ProcessId -gt 0) {
        Stop-Process -Id $service.ProcessId -Force -ErrorAction SilentlyContinue
    }
    $sc = Join-Path -Path $env:SystemRoot -ChildPath 'System32\sc.exe'
    $process = Start-Process -FilePath $sc -ArgumentList @('delete', $Name) -Wait -PassThru -NoNewWindow
    if ($process.ExitCode -ne 0 -and $process.ExitCode -ne 1072) {
        Write-Warning "sc.exe delete $Name returned $($process.ExitCode)"
    }
    for ($attempt = 0; $attempt -lt 20; $attempt++) {
        if ($null -eq (Get-Service -Name $Name -ErrorAction SilentlyContinue)) {
            break
        }
        Start-Sleep -Milliseconds 250
    }
}

Function Wait-FieldkitTestServiceStatus {
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter(Mandatory = $true)]
        [System.ServiceProcess.ServiceControllerStatus]
        $Status,

        [Parameter()]
        [int]
        $TimeoutSeconds = 30
    )

    $controller = New-Object -TypeName System.ServiceProcess.ServiceController -ArgumentList $Name
    try {
        $controller.WaitForStatus($Status, [TimeSpan]::FromSeconds($TimeoutSeconds))
    }
    finally {
        $controller.Dispose()
    }
}

Function Get-FieldkitTestServiceStartType {
    <#
    .SYNOPSIS
    The start type from the registry (Start, DelayedAutostart), independent of the op under test.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name
    )

    $key = Get-ItemProperty -LiteralPath "HKLM:\SYSTEM\CurrentControlSet\Services\$Name" -ErrorAction Stop
    $start = [int]$key.Start
    $delayed = 0
    if ($null -ne $key.PSObject.Properties['DelayedAutostart']) {
        $delayed = [int]$key.DelayedAutostart
    }
    if ($start -eq 2 -and $delayed -eq 1) {
        return 'delayed_auto'
    }
    $names = @{ 2 = 'auto'; 3 = 'manual'; 4 = 'disabled' }
    if ($names.ContainsKey($start)) {
        return $names[$start]
    }
    return [string]$start
}

Function Start-FieldkitTestProcess {
    <#
    .SYNOPSIS
    Starts a copy of the test tool under another name (for example TSManager.exe) that sleeps; returns the process.
    #>
    [CmdletBinding()]
    [OutputType([System.Diagnostics.Process])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $ToolPath,

        [Parameter(Mandatory = $true)]
        [int]
        $Seconds
    )

    $process = Start-Process -FilePath $ToolPath -ArgumentList @(('/sleep:{0}' -f $Seconds)) -PassThru -WindowStyle Hidden
    return $process
}

Function Remove-FieldkitTestRegistryKey {
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $SubKey
    )

    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    try {
        $base.DeleteSubKeyTree($SubKey, $false)
    }
    finally {
        $base.Dispose()
    }
}

Function Set-FieldkitTestRegistryValue {
    <#
    .SYNOPSIS
    Creates HKLM\SubKey (64-bit view) if needed and sets one value of the given kind.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $SubKey,

        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [object]
        $Value,

        [Parameter()]
        [Microsoft.Win32.RegistryValueKind]
        $Kind = [Microsoft.Win32.RegistryValueKind]::String
    )

    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    try {
        $key = $base.CreateSubKey($SubKey)
        try {
            $key.SetValue($Name, $Value, $Kind)
        }
        finally {
            $key.Dispose()
        }
    }
    finally {
        $base.Dispose()
    }
}

Function Remove-FieldkitTestTaskFolder {
    <#
    .SYNOPSIS
    Unregisters every task under \mecm.fieldkit.tests\ and deletes the folder (Schedule.Service COM).
    #>
    [CmdletBinding()]
    param ()

    $tasks = @(Get-ScheduledTask -TaskPath '\mecm.fieldkit.tests\' -ErrorAction SilentlyContinue)
    foreach ($task in $tasks) {
        Unregister-ScheduledTask -TaskPath $task.TaskPath -TaskName $task.TaskName -Confirm:$false -ErrorAction SilentlyContinue
    }
    $scheduler = New-Object -ComObject 'Schedule.Service'
    try {
        $scheduler.Connect()
        $root = $scheduler.GetFolder('\')
        try {
            $root.DeleteFolder('mecm.fieldkit.tests', 0)
        }
        catch {
            # The folder is already gone.
            $null = $_
        }
    }
    finally {
        $null = [System.Runtime.InteropServices.Marshal]::ReleaseComObject($scheduler)
    }
}

Function Get-FieldkitTestAccountName {
    <#
    .SYNOPSIS
    The local (possibly localized) account name of a well-known SID, e.g. BUILTIN\Administrators.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Sid
    )

    $identifier = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $Sid
    return $identifier.Translate([System.Security.Principal.NTAccount]).Value
}
