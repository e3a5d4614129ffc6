# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# Image-prep ops of a real run's second execution (plugins/plugin_utils/_generalize.py, plan_followup): the
# capture-ready gate and sysprep. Its own runner (sccm_op_runner_image_finish) ships none of the steps' code.
# Targets Windows PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitSystemOps
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitImageCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitProcessStart

Set-StrictMode -Version 2.0

# What the batch is about to remove, kept until a run has reported it (see Set-FieldkitImagePrepRecord).
$script:ImagePrepRecordKey = 'SOFTWARE\mecm.fieldkit\ImagePrep'
$script:ErrorNotReady = 21

Function Assert-FieldkitCaptureReady {
    <#
    .SYNOPSIS
    Op guard.assert_capture_ready: throws ERROR_NOT_READY unless CcmExec is stopped and no identity is left.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [bool]
        $CheckSmsStore = $true,

        [Parameter()]
        [bool]
        $CheckSmscfg = $true,

        [Parameter()]
        [bool]
        $CheckTrustedRootKey = $true
    )

    $problems = [System.Collections.Generic.List[string]]::new()
    $service = Get-Service -Name 'CcmExec' -ErrorAction SilentlyContinue
    if ($null -ne $service -and $service.Status -ne [System.ServiceProcess.ServiceControllerStatus]::Stopped) {
        $problems.Add(('service CcmExec is {0}' -f $service.Status.ToString().ToLowerInvariant()))
    }
    if ($CheckSmsStore) {
        $store = Get-FieldkitCertificate -StoreName 'SMS'
        if ($store.certificates.Count -gt 0) {
            $problems.Add(('LocalMachine\SMS holds {0} certificate(s)' -f $store.certificates.Count))
        }
    }
    if ($CheckSmscfg) {
        $smscfg = Join-Path -Path $env:SystemRoot -ChildPath 'SMSCFG.ini'
        if (Test-Path -LiteralPath $smscfg -PathType Leaf) {
            $problems.Add(('{0} exists' -f $smscfg))
        }
    }
    if ($CheckTrustedRootKey) {
        $keys = Measure-FieldkitWmiInstance -Namespace 'root\ccm\locationservices' -ClassName 'TrustedRootKey'
        if ($keys.count -gt 0) {
            $problems.Add(('{0} TrustedRootKey instance(s) left' -f $keys.count))
        }
    }
    if (Test-FieldkitRegistryKey -SubKey $script:ImagePrepRecordKey) {
        $problems.Add(('the image-prep host record HKLM\{0} is present: it holds the identity this procedure removed until a run has reported it' -f $script:ImagePrepRecordKey))
    }
    if ($problems.Count -gt 0) {
        $message = '{0} is not ready for capture: {1}' -f $env:COMPUTERNAME, ($problems -join '; ')
        throw (New-FieldkitErrorRecord -Code $script:ErrorNotReady -Message $message -Target $env:COMPUTERNAME)
    }
    return New-FieldkitGuardResult -Guard 'capture_ready' -Evidence @('CcmExec stopped and no client identity left')
}

Function Start-FieldkitSysprep {
    <#
    .SYNOPSIS
    Op sysprep.start: start sysprep /generalize /oobe /shutdown /quiet detached, unless it already runs.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [bool]
        $ModeVm = $false,

        [Parameter()]
        [switch]
        $CheckMode
    )

    $folder = Join-Path -Path $env:SystemRoot -ChildPath 'System32\Sysprep'
    $exe = Join-Path -Path $folder -ChildPath 'sysprep.exe'
    $commandLine = '{0} /generalize /oobe /shutdown /quiet' -f $exe
    if ($ModeVm) {
        $commandLine = '{0} /mode:vm' -f $commandLine
    }
    $process = Get-Process -Name 'sysprep' -ErrorAction SilentlyContinue | Select-Object -First 1
    $before = @{ running = $false; process_id = $null; command_line = $commandLine }
    if ($null -ne $process) {
        $before.running = $true
        $before.process_id = [int]$process.Id
        return @{ changed = $false; before = $before; after = $before.Clone() }
    }
    $after = @{ running = $true; process_id = $null; command_line = $commandLine }
    if (-not $CheckMode) {
        $after.process_id = Start-FieldkitDetachedProcess -CommandLine $commandLine -WorkingDirectory $folder
    }
    return @{ changed = $true; before = $before; after = $after }
}

Export-ModuleMember -Function @(
    'Assert-FieldkitCaptureReady',
    'Start-FieldkitSysprep'
)
