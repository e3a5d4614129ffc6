# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# The ccmsetup ops of the client install (plugins/plugin_utils/_ops_image.py; win_sccm_client_install): start
# ccmsetup detached and read its status. Shipped by the install runner only. Targets Windows PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitSystemOps
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitImageCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitProcessStart

Set-StrictMode -Version 2.0

$script:ErrorInvalidParameter = 87
$script:ErrorFileNotFound = 2
# Characters allowed in a ccmsetup argument (a .NET character class; the same class is checked on the
# controller and in the simulated lab). No space and no double quote, so the command line needs no quoting,
# and backslashes are literal without a following quote (CommandLineToArgvW rules).
$script:CcmSetupArgumentCharacters = 'A-Za-z0-9_./:=;@\\\-'

Function Start-FieldkitCcmSetup {
    <#
    .SYNOPSIS
    Op ccmsetup.start: start ccmsetup.exe detached unless the client is installed or ccmsetup runs.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Path,

        [Parameter()]
        [string[]]
        $Arguments = @(),

        [Parameter()]
        [switch]
        $CheckMode
    )

    foreach ($argument in $Arguments) {
        if ($argument -match 'SMSSITECODE') {
            throw (New-FieldkitErrorRecord -Code $script:ErrorInvalidParameter -Message 'SMSSITECODE is refused: image prep installs the client unassigned' -Target 'ccmsetup.exe')
        }
        if ($argument -cnotmatch ('\A[{0}]+\z' -f $script:CcmSetupArgumentCharacters)) {
            throw (New-FieldkitErrorRecord -Code $script:ErrorInvalidParameter -Message ('ccmsetup argument {0} contains characters that are not allowed' -f $argument) -Target 'ccmsetup.exe')
        }
    }
    $folder = ([System.Environment]::ExpandEnvironmentVariables($Path)).TrimEnd('\')
    $exe = Join-Path -Path $folder -ChildPath 'ccmsetup.exe'
    if ($exe.Contains('"') -or -not (Test-Path -LiteralPath $exe -PathType Leaf)) {
        throw (New-FieldkitErrorRecord -Code $script:ErrorFileNotFound -Message ('Could not find file {0}' -f $exe) -Target $exe)
    }
    $evidence = @(Get-FieldkitCcmSetupEvidence)
    $processId = $null
    $process = Get-Process -Name 'ccmsetup' -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -ne $process) {
        $processId = [int]$process.Id
    }
    $before = @{ client_installed = (Test-FieldkitClientPresent); running = ($evidence.Count -gt 0); process_id = $processId }
    if ($before.client_installed -or $before.running) {
        return @{ changed = $false; before = $before; after = $before.Clone() }
    }
    $after = @{ client_installed = $false; running = $true; process_id = $null }
    if (-not $CheckMode) {
        $commandLine = '"{0}"' -f $exe
        if ($Arguments.Count -gt 0) {
            $commandLine = '{0} {1}' -f $commandLine, ($Arguments -join ' ')
        }
        $after.process_id = Start-FieldkitDetachedProcess -CommandLine $commandLine -WorkingDirectory $folder
    }
    return @{ changed = $true; before = $before; after = $after }
}

Function Get-FieldkitCcmSetupStatus {
    <#
    .SYNOPSIS
    Op ccmsetup.read_status: wait up to WaitSeconds for ccmsetup to end, then report it and its log.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [int]
        $WaitSeconds = 0,

        [Parameter()]
        [int]
        $TailLines = 20
    )

    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $evidence = @(Get-FieldkitCcmSetupEvidence)
    while ($evidence.Count -gt 0 -and $watch.Elapsed.TotalSeconds -lt $WaitSeconds) {
        Start-Sleep -Seconds 5
        $evidence = @(Get-FieldkitCcmSetupEvidence)
    }
    $watch.Stop()
    $pids = @(Get-Process -Name 'ccmsetup' -ErrorAction SilentlyContinue | ForEach-Object { [int]$_.Id })
    $service = Get-Service -Name 'ccmsetup' -ErrorAction SilentlyContinue
    $serviceState = $null
    if ($null -ne $service) {
        $serviceState = $service.Status.ToString().ToLowerInvariant()
    }
    $logPath = Join-Path -Path $env:SystemRoot -ChildPath 'ccmsetup\Logs\ccmsetup.log'
    $result = @{
        running = ($evidence.Count -gt 0)
        process_ids = $pids
        service_state = $serviceState
        waited_seconds = [int]$watch.Elapsed.TotalSeconds
        log_path = $logPath
        log_present = (Test-Path -LiteralPath $logPath -PathType Leaf)
        return_code = $null
        log_tail = @()
    }
    if ($result.log_present) {
        $last = Select-String -LiteralPath $logPath -Pattern 'CcmSetup is exiting with return code (\d+)' -ErrorAction Stop | Select-Object -Last 1
        if ($null -ne $last) {
            $result.return_code = [int]$last.Matches[0].Groups[1].Value
        }
        if ($TailLines -gt 0) {
            # [string] drops the PSPath/PSDrive/PSProvider note properties Get-Content adds to each line, which
            # ConvertTo-Json -Depth 99 (Ansible.Basic) would otherwise expand.
            $result.log_tail = @(Get-Content -LiteralPath $logPath -Tail $TailLines -ErrorAction Stop | Where-Object { $_.Trim() -ne '' } | ForEach-Object { [string]$_ })
        }
    }
    return $result
}

Export-ModuleMember -Function @(
    'Start-FieldkitCcmSetup',
    'Get-FieldkitCcmSetupStatus'
)
