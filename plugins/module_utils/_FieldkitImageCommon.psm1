# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# What every image-prep runner runs (plugins/plugin_utils/_ops_image.py): the guards that stop a generalize run or
# an install before any change, and the host record's read and clear. Shipped by the generalize, install and
# second-execution runners. Guards throw an ErrorRecord with a specific Windows error code. Targets Windows
# PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitSystemOps
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientOps

Set-StrictMode -Version 2.0

# What the batch is about to remove, kept until a run has reported it (see Set-FieldkitImagePrepRecord).
$script:ImagePrepRecordKey = 'SOFTWARE\mecm.fieldkit\ImagePrep'
$script:ErrorAccessDenied = 5
$script:CcmExecKey = 'SOFTWARE\Microsoft\CCM\CcmExec'
# Win32 error codes; New-FieldkitErrorRecord turns them into HRESULTs (0x8007xxxx).
$script:ErrorUnknownProduct = 1605
$script:ErrorNotSupported = 50
$script:ErrorInstallAlreadyRunning = 1618
$script:ErrorBusy = 170
$script:ErrorInvalidState = 5023

Function New-FieldkitGuardResult {
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Guard,

        [Parameter(Mandatory = $true)]
        [string[]]
        $Evidence
    )

    return @{ guard = $Guard; passed = $true; evidence = @($Evidence) }
}

Function Get-FieldkitImagePrepRecordValueName {
    <#
    .SYNOPSIS
    Registry value name of each text field of the image-prep host record.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param ()

    return [ordered]@{
        record_id = 'RecordId'
        recorded_utc = 'RecordedUtc'
        computer_name = 'ComputerName'
        sms_unique_id = 'SmsUniqueId'
        previous_sms_unique_id = 'PreviousSmsUniqueId'
        smscfg_path = 'SmscfgPath'
        site_code = 'SiteCode'
        management_point = 'ManagementPoint'
    }
}

Function New-FieldkitImagePrepRecord {
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    return @{
        key = 'HKLM\' + $script:ImagePrepRecordKey
        present = $false
        record_id = $null
        recorded_utc = $null
        computer_name = $null
        sms_unique_id = $null
        previous_sms_unique_id = $null
        smscfg_path = $null
        certificates = @()
        site_code = $null
        management_point = $null
        trusted_root_keys = 0
    }
}

Function Get-FieldkitImagePrepRecord {
    <#
    .SYNOPSIS
    Op image.read_removal_record: the image-prep host record (what a run was about to remove), if any.
    .DESCRIPTION
    Certificates are a multi-string value, one certificate per line: store, thumbprint, subject,
    issuer and template separated by tab characters.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    $record = New-FieldkitImagePrepRecord
    $names = Get-FieldkitImagePrepRecordValueName
    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    try {
        $key = $base.OpenSubKey($script:ImagePrepRecordKey, $false)
        if ($null -eq $key) {
            return $record
        }
        try {
            $record.present = $true
            foreach ($field in @($names.Keys)) {
                $value = $key.GetValue($names[$field], $null)
                if ($null -ne $value -and [string]$value -ne '') {
                    $record[$field] = [string]$value
                }
            }
            $record.trusted_root_keys = [int]$key.GetValue('TrustedRootKeys', 0)
            $certificates = [System.Collections.Generic.List[object]]::new()
            foreach ($line in @($key.GetValue('Certificates', @()))) {
                $parts = ([string]$line).Split([char]9)
                if ($parts.Count -lt 2) {
                    continue
                }
                $certificate = @{ store = $parts[0]; thumbprint = $parts[1]; subject = $null; issuer = $null; template = $null }
                $index = 2
                foreach ($name in @('subject', 'issuer', 'template')) {
                    if ($parts.Count -gt $index -and $parts[$index] -ne '') {
                        $certificate[$name] = $parts[$index]
                    }
                    $index++
                }
                $certificates.Add($certificate)
            }
            $record.certificates = $certificates.ToArray()
        }
        finally {
            $key.Dispose()
        }
    }
    finally {
        $base.Dispose()
    }
    return $record
}

Function Clear-FieldkitImagePrepRecord {
    <#
    .SYNOPSIS
    Op image.clear_removal_record: remove the image-prep host record once it has been reported.
    .DESCRIPTION
    Only the record with the given id is removed (a record written since is left); then
    HKLM\SOFTWARE\mecm.fieldkit itself when nothing else is left in it. Verified by a re-read.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $RecordId,

        [Parameter()]
        [switch]
        $CheckMode
    )

    $before = Get-FieldkitImagePrepRecord
    if (-not $before.present -or $before.record_id -ne $RecordId) {
        return @{ changed = $false; before = $before; after = $before.Clone() }
    }
    $after = New-FieldkitImagePrepRecord
    if (-not $CheckMode) {
        $parentName = $script:ImagePrepRecordKey.Substring(0, $script:ImagePrepRecordKey.LastIndexOf('\'))
        $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
        try {
            $base.DeleteSubKeyTree($script:ImagePrepRecordKey, $false)
            $parent = $base.OpenSubKey($parentName, $false)
            if ($null -ne $parent) {
                $left = $parent.ValueCount + $parent.SubKeyCount
                $parent.Dispose()
                if ($left -eq 0) {
                    $base.DeleteSubKey($parentName, $false)
                }
            }
        }
        finally {
            $base.Dispose()
        }
        $observed = Get-FieldkitImagePrepRecord
        if ($observed.present) {
            $message = 'the image-prep host record {0} is still present after its removal' -f $observed.key
            throw (New-FieldkitErrorRecord -Code $script:ErrorAccessDenied -Message $message -Target $observed.key)
        }
    }
    return @{ changed = $true; before = $before; after = $after }
}

Function Test-FieldkitClientPresent {
    [CmdletBinding()]
    [OutputType([bool])]
    param ()

    $service = Get-Service -Name 'CcmExec' -ErrorAction SilentlyContinue
    $ccmKey = Test-FieldkitRegistryKey -SubKey 'SOFTWARE\Microsoft\CCM'
    return ($null -ne $service) -and $ccmKey
}

Function Get-FieldkitCcmSetupEvidence {
    [CmdletBinding()]
    [OutputType([string[]])]
    param ()

    $evidence = [System.Collections.Generic.List[string]]::new()
    foreach ($process in @(Get-Process -Name 'ccmsetup' -ErrorAction SilentlyContinue)) {
        $evidence.Add(('process ccmsetup (pid {0}) is running' -f $process.Id))
    }
    $service = Get-Service -Name 'ccmsetup' -ErrorAction SilentlyContinue
    if ($null -ne $service -and $service.Status -ne [System.ServiceProcess.ServiceControllerStatus]::Stopped) {
        $evidence.Add(('service ccmsetup is {0}' -f $service.Status.ToString().ToLowerInvariant()))
    }
    return $evidence.ToArray()
}

Function Assert-FieldkitClientInstalled {
    <#
    .SYNOPSIS
    Op guard.assert_client_installed: throws ERROR_UNKNOWN_PRODUCT when the client is missing.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    if (-not (Test-FieldkitClientPresent)) {
        $message = 'the ConfigMgr client is not installed on {0} (no CcmExec service or no HKLM\SOFTWARE\Microsoft\CCM); install it first' -f $env:COMPUTERNAME
        throw (New-FieldkitErrorRecord -Code $script:ErrorUnknownProduct -Message $message -Target $env:COMPUTERNAME)
    }
    return New-FieldkitGuardResult -Guard 'client_installed' -Evidence @('service CcmExec exists', 'key HKLM\SOFTWARE\Microsoft\CCM exists')
}

Function Assert-FieldkitNotSiteSystem {
    <#
    .SYNOPSIS
    Op guard.assert_not_site_system: throws ERROR_NOT_SUPPORTED on a site server or site system.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    $roles = Get-FieldkitSiteRole
    if ($roles.is_site_server -or $roles.is_site_system) {
        $kind = 'site system'
        if ($roles.is_site_server) {
            $kind = 'site server'
        }
        $message = '{0} is a ConfigMgr {1} ({2}); image prep never runs on a site server or site system' -f @(
            $env:COMPUTERNAME,
            $kind,
            ($roles.evidence -join '; ')
        )
        throw (New-FieldkitErrorRecord -Code $script:ErrorNotSupported -Message $message -Target $env:COMPUTERNAME)
    }
    return New-FieldkitGuardResult -Guard 'not_site_system' -Evidence @('no site server or site system role found')
}

Function Assert-FieldkitCcmSetupIdle {
    <#
    .SYNOPSIS
    Op guard.assert_ccmsetup_idle: throws ERROR_INSTALL_ALREADY_RUNNING while ccmsetup runs.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    $evidence = @(Get-FieldkitCcmSetupEvidence)
    if ($evidence.Count -gt 0) {
        $message = 'ccmsetup is still running on {0} ({1}); wait until it has finished' -f $env:COMPUTERNAME, ($evidence -join '; ')
        throw (New-FieldkitErrorRecord -Code $script:ErrorInstallAlreadyRunning -Message $message -Target $env:COMPUTERNAME)
    }
    return New-FieldkitGuardResult -Guard 'ccmsetup_idle' -Evidence @('no ccmsetup process or running ccmsetup service')
}

Function Assert-FieldkitNoTaskSequence {
    <#
    .SYNOPSIS
    Op guard.assert_no_task_sequence: throws ERROR_BUSY while a task sequence runs.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    $state = Get-FieldkitTaskSequenceState
    if ($state.running) {
        $message = 'a ConfigMgr task sequence is running on {0} ({1}); removing the client identity now would cut the task sequence off from its MP' -f @(
            $env:COMPUTERNAME,
            ($state.evidence -join '; ')
        )
        throw (New-FieldkitErrorRecord -Code $script:ErrorBusy -Message $message -Target $env:COMPUTERNAME)
    }
    return New-FieldkitGuardResult -Guard 'no_task_sequence' -Evidence @('no TSManager process, smstsmgr not running')
}

Function Assert-FieldkitNotProvisioning {
    <#
    .SYNOPSIS
    Op guard.assert_not_provisioning: throws ERROR_INVALID_STATE while the client is in provisioning mode.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    $value = Get-FieldkitRegistryValue -SubKey $script:CcmExecKey -ValueName 'ProvisioningMode'
    if ($null -ne $value -and ([string]$value).ToLowerInvariant() -eq 'true') {
        $message = 'the ConfigMgr client on {0} is in provisioning mode (HKLM\SOFTWARE\Microsoft\CCM\CcmExec ProvisioningMode = true); clones would not process policy until it times out' -f $env:COMPUTERNAME
        throw (New-FieldkitErrorRecord -Code $script:ErrorInvalidState -Message $message -Target $env:COMPUTERNAME)
    }
    return New-FieldkitGuardResult -Guard 'not_provisioning' -Evidence @(('ProvisioningMode = {0}' -f $value))
}

Export-ModuleMember -Function @(
    'New-FieldkitGuardResult',
    'Get-FieldkitImagePrepRecordValueName',
    'Get-FieldkitImagePrepRecord',
    'Clear-FieldkitImagePrepRecord',
    'Test-FieldkitClientPresent',
    'Get-FieldkitCcmSetupEvidence',
    'Assert-FieldkitClientInstalled',
    'Assert-FieldkitNotSiteSystem',
    'Assert-FieldkitCcmSetupIdle',
    'Assert-FieldkitNoTaskSequence',
    'Assert-FieldkitNotProvisioning'
)
