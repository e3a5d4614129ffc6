# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# Image-prep ops of the mecm.fieldkit op registry (plugins/plugin_utils/_ops_image.py): guards,
# removal of the client identity, ccmsetup, the MP block rule and sysprep. Guards throw an
# ErrorRecord with a specific Windows error code; mutating ops return @{ changed; before; after }
# and change nothing with -CheckMode. Targets Windows PowerShell 5.1.
# Nothing here has been run on Windows by the authors' test suite: the simulated lab checks that it
# parses and that its parameters match the registry; keep it small and mechanical.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitSystemOps
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientOps

Set-StrictMode -Version 2.0

$script:CimTimeoutSeconds = 30
$script:CcmExecKey = 'SOFTWARE\Microsoft\CCM\CcmExec'
$script:MobileClientKey = 'SOFTWARE\Microsoft\SMS\Mobile Client'
$script:MarkersKey = 'SOFTWARE\mecm.fieldkit\Markers'
# What the batch is about to remove, kept until a run has reported it (see Set-FieldkitImagePrepRecord).
$script:ImagePrepRecordKey = 'SOFTWARE\mecm.fieldkit\ImagePrep'
$script:ClientAuthEku = '1.3.6.1.5.5.7.3.2'
# Win32 error codes; New-FieldkitErrorRecord turns them into HRESULTs (0x8007xxxx).
$script:ErrorUnknownProduct = 1605
$script:ErrorNotSupported = 50
$script:ErrorInstallAlreadyRunning = 1618
$script:ErrorBusy = 170
$script:ErrorInvalidState = 5023
$script:ErrorNotReady = 21
$script:ErrorInvalidParameter = 87
$script:ErrorFileNotFound = 2
$script:ErrorTimeout = 1460
$script:ErrorAccessDenied = 5
$script:ErrorPathNotFound = 3
$script:ErrorPrivilegeNotHeld = 1314
$script:ErrorUnknownFailure = 2147500037
# CREATE_BREAKAWAY_FROM_JOB: the started process leaves the job of the WMI provider host.
$script:CreateBreakawayFromJob = 16777216
# Characters allowed in a ccmsetup argument (a .NET character class; the same class is checked on the
# controller and in the simulated lab). No space and no double quote, so the command line needs no quoting,
# and backslashes are literal without a following quote (CommandLineToArgvW rules).
$script:CcmSetupArgumentCharacters = 'A-Za-z0-9_./:=;@\\\-'

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

Function Set-FieldkitScheduledTaskEnabled {
    <#
    .SYNOPSIS
    Op task.ensure_enabled: enable or disable one scheduled task; an absent task is not an error.
    .DESCRIPTION
    With -Marker, a disable records the marker and an enable acts only when the marker is recorded
    (then deletes it), so a restore never enables a task this procedure did not disable.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Path,

        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter(Mandatory = $true)]
        [bool]
        $Enabled,

        [Parameter()]
        [string]
        $Marker,

        [Parameter()]
        [switch]
        $CheckMode
    )

    $marked = $false
    if ($Marker) {
        $marked = $null -ne (Get-FieldkitRegistryValue -SubKey $script:MarkersKey -ValueName $Marker)
    }
    $task = Get-ScheduledTask -TaskPath $Path -TaskName $Name -ErrorAction SilentlyContinue
    if ($null -eq $task) {
        $absent = @{ path = $Path; name = $Name; exists = $false; enabled = $null; marker_present = $marked }
        return @{ changed = $false; before = $absent; after = $absent.Clone() }
    }
    $current = [bool]$task.Settings.Enabled
    $before = @{ path = $Path; name = $Name; exists = $true; enabled = $current; marker_present = $marked }
    $after = $before.Clone()
    if ($Enabled -and $Marker -and -not $marked) {
        return @{ changed = $false; before = $before; after = $after }
    }
    $changed = $current -ne $Enabled
    $after.enabled = $Enabled
    if ($Marker) {
        $after.marker_present = (-not $Enabled) -and ($marked -or $changed)
    }
    if (-not $CheckMode) {
        if ($changed) {
            try {
                if ($Enabled) {
                    $null = Enable-ScheduledTask -TaskPath $Path -TaskName $Name -ErrorAction Stop
                }
                else {
                    $null = Disable-ScheduledTask -TaskPath $Path -TaskName $Name -ErrorAction Stop
                }
            }
            catch {
                $code = Get-FieldkitErrorCode -ErrorRecord $_
                $message = 'could not set scheduled task {0}{1} to enabled={2}: {3}' -f $Path, $Name, $Enabled, $_.Exception.Message
                throw (New-FieldkitErrorRecord -Code $code -Message $message -Target $Name -InnerException $_.Exception)
            }
            $observed = Get-ScheduledTask -TaskPath $Path -TaskName $Name -ErrorAction Stop
            $after.enabled = [bool]$observed.Settings.Enabled
        }
        if ($Marker -and -not $Enabled -and $changed) {
            Set-FieldkitMarkerValue -Marker $Marker -Value 'disabled by mecm.fieldkit image prep'
        }
        if ($Marker -and $Enabled -and $marked) {
            Set-FieldkitMarkerValue -Marker $Marker
        }
    }
    return @{ changed = $changed; before = $before; after = $after }
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

Function Write-FieldkitImagePrepRecord {
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)]
        [hashtable]
        $Record
    )

    $names = Get-FieldkitImagePrepRecordValueName
    $lines = [System.Collections.Generic.List[string]]::new()
    foreach ($certificate in @($Record.certificates)) {
        $fields = @($certificate['store'], $certificate['thumbprint'], $certificate['subject'], $certificate['issuer'], $certificate['template'])
        $lines.Add((@($fields | ForEach-Object { ([string]$_).Replace([string][char]9, ' ') }) -join [string][char]9))
    }
    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    try {
        $key = $base.CreateSubKey($script:ImagePrepRecordKey)
        try {
            foreach ($field in @($names.Keys)) {
                $value = $Record[$field]
                if ($null -eq $value -or [string]$value -eq '') {
                    $key.DeleteValue($names[$field], $false)
                }
                else {
                    $key.SetValue($names[$field], [string]$value, [Microsoft.Win32.RegistryValueKind]::String)
                }
            }
            if ($lines.Count -gt 0) {
                $key.SetValue('Certificates', $lines.ToArray(), [Microsoft.Win32.RegistryValueKind]::MultiString)
            }
            else {
                $key.DeleteValue('Certificates', $false)
            }
            $key.SetValue('TrustedRootKeys', [int]$Record.trusted_root_keys, [Microsoft.Win32.RegistryValueKind]::DWord)
        }
        finally {
            $key.Dispose()
        }
    }
    finally {
        $base.Dispose()
    }
}

Function Set-FieldkitImagePrepRecord {
    <#
    .SYNOPSIS
    Op image.write_removal_record: record what the batch is about to remove, before it removes it.
    .DESCRIPTION
    The record lets the next run report what a run removed when that run's answer never reached the
    controller (connection lost, task timeout). An existing record is kept: its values stay, empty ones
    are filled, certificates are added. Nothing to record and no record: nothing is written.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [bool]
        $Smscfg = $false,

        [Parameter()]
        [AllowEmptyCollection()]
        [object[]]
        $CertificateFilters = @(),

        [Parameter()]
        [bool]
        $SiteAssignment = $false,

        [Parameter()]
        [bool]
        $TrustedRootKey = $false,

        [Parameter()]
        [switch]
        $CheckMode
    )

    $before = Get-FieldkitImagePrepRecord
    $after = $before.Clone()
    $certificates = [System.Collections.Generic.List[object]]::new()
    foreach ($known in @($before.certificates)) {
        $certificates.Add($known)
    }
    $added = $false
    if ($Smscfg) {
        $identity = Get-FieldkitClientIdentity
        if ($identity.smscfg_present -and -not $after.smscfg_path) {
            $after.smscfg_path = [string]$identity.smscfg_path
            $added = $true
        }
        $uniqueId = [string]$identity.smscfg_unique_id
        if (-not $uniqueId) {
            $uniqueId = [string]$identity.wmi_client_id
        }
        if ($identity.smscfg_present -and $uniqueId -and -not $after.sms_unique_id) {
            $after.sms_unique_id = $uniqueId
            if ($identity.smscfg_previous_unique_id) {
                $after.previous_sms_unique_id = [string]$identity.smscfg_previous_unique_id
            }
            $added = $true
        }
    }
    foreach ($filter in @($CertificateFilters)) {
        if ($null -eq $filter) {
            continue
        }
        $splat = @{}
        foreach ($name in @($filter.Keys)) {
            $splat[[string]$name] = $filter[$name]
        }
        $splat['CheckMode'] = $true
        try {
            $plan = Remove-FieldkitCertificate @splat
        }
        catch {
            # The certificate step fails with this error itself and then removes nothing.
            continue
        }
        foreach ($match in @($plan.before.matching)) {
            $thumbprint = [string]$match['thumbprint']
            $seen = @($certificates | Where-Object { $_['thumbprint'] -eq $thumbprint -and $_['store'] -eq $plan.before.store })
            if ($seen.Count -eq 0) {
                $certificates.Add(@{ store = [string]$plan.before.store; thumbprint = $thumbprint; subject = $match['subject']; issuer = $match['issuer']; template = $match['template'] })
                $added = $true
            }
        }
    }
    $after.certificates = $certificates.ToArray()
    if ($SiteAssignment) {
        $site = Get-FieldkitClientSiteAssignment
        $siteCode = [string]$site.registry_assigned_site
        if ($site.com_available -and $null -ne $site.com_assigned_site) {
            $siteCode = [string]$site.com_assigned_site
        }
        if ($siteCode -and -not $after.site_code) {
            $after.site_code = $siteCode
            if ($site.current_management_point) {
                $after.management_point = [string]$site.current_management_point
            }
            $added = $true
        }
    }
    if ($TrustedRootKey) {
        $keys = Measure-FieldkitWmiInstance -Namespace 'root\ccm\locationservices' -ClassName 'TrustedRootKey'
        if ($keys.count -gt $after.trusted_root_keys) {
            $after.trusted_root_keys = [int]$keys.count
            $added = $true
        }
    }
    if (-not $added) {
        return @{ changed = $false; before = $before; after = $after }
    }
    if (-not $after.present) {
        $after.present = $true
        $after.recorded_utc = ConvertTo-FieldkitUtcString -Value ([datetime]::UtcNow)
        $after.computer_name = [string]$env:COMPUTERNAME
        if (-not $CheckMode) {
            $after.record_id = [guid]::NewGuid().ToString()
        }
    }
    if (-not $CheckMode) {
        Write-FieldkitImagePrepRecord -Record $after
    }
    return @{ changed = $true; before = $before; after = $after }
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

Function Get-FieldkitMatchingWmiInstance {
    [CmdletBinding()]
    [OutputType([object[]])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Namespace,

        [Parameter(Mandatory = $true)]
        [string]
        $ClassName,

        [Parameter()]
        [string]
        $PropertyName,

        [Parameter()]
        [string]
        $PropertyValue,

        [Parameter(Mandatory = $true)]
        [int]
        $TimeoutSeconds
    )

    # Returns $null when the namespace is absent; an absent class has no instances.
    $set = Get-FieldkitCimInstanceSet -Namespace $Namespace -ClassName $ClassName -TimeoutSeconds $TimeoutSeconds
    if (-not $set.namespace_present) {
        return $null
    }
    $instances = $set.instances
    $matching = [System.Collections.Generic.List[object]]::new()
    foreach ($instance in $instances) {
        if (-not $PropertyName) {
            $matching.Add($instance)
            continue
        }
        $property = $instance.CimInstanceProperties[$PropertyName]
        if ($null -ne $property -and [string]$property.Value -eq $PropertyValue) {
            $matching.Add($instance)
        }
    }
    return , $matching.ToArray()
}

Function Remove-FieldkitWmiInstance {
    <#
    .SYNOPSIS
    Op wmi.remove_instances: remove all (or the matching) instances of a class.
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
        [string]
        $PropertyName,

        [Parameter()]
        [string]
        $PropertyValue,

        [Parameter()]
        [int]
        $TimeoutSeconds = 30,

        [Parameter()]
        [switch]
        $CheckMode
    )

    $query = @{
        Namespace = $Namespace
        ClassName = $ClassName
        PropertyName = $PropertyName
        PropertyValue = $PropertyValue
        TimeoutSeconds = $TimeoutSeconds
    }
    $base = @{ namespace = $Namespace; class_name = $ClassName; namespace_present = $true; count = 0 }
    $matching = Get-FieldkitMatchingWmiInstance @query
    if ($null -eq $matching) {
        $base.namespace_present = $false
        return @{ changed = $false; before = $base; after = $base.Clone() }
    }
    $before = $base.Clone()
    $before.count = $matching.Count
    $after = $base.Clone()
    if ($matching.Count -gt 0 -and -not $CheckMode) {
        foreach ($instance in $matching) {
            try {
                Remove-CimInstance -InputObject $instance -OperationTimeoutSec $TimeoutSeconds -ErrorAction Stop
            }
            catch {
                $code = Get-FieldkitErrorCode -ErrorRecord $_
                $message = 'could not remove a {0} instance from {1}: {2}' -f $ClassName, $Namespace, $_.Exception.Message
                throw (New-FieldkitErrorRecord -Code $code -Message $message -Target $ClassName -InnerException $_.Exception)
            }
        }
        $left = Get-FieldkitMatchingWmiInstance @query
        if ($null -ne $left) {
            $after.count = $left.Count
        }
    }
    return @{ changed = ($matching.Count -gt 0); before = $before; after = $after }
}

Function Get-FieldkitSmsClientAutoAssignment {
    [CmdletBinding()]
    [OutputType([object])]
    param ()

    try {
        $client = Get-CimInstance -Namespace 'root\ccm' -ClassName 'SMS_Client' -OperationTimeoutSec $script:CimTimeoutSeconds -ErrorAction Stop | Select-Object -First 1
    }
    catch [Microsoft.Management.Infrastructure.CimException] {
        return $null
    }
    if ($null -eq $client) {
        return $null
    }
    return [bool]$client.EnableAutoAssignment
}

Function Reset-FieldkitClientSiteAssignment {
    <#
    .SYNOPSIS
    Op client.reset_site_assignment: RemoveAssignedSites() and EnableAutoAssignment($true) (seed B-2).
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [switch]
        $CheckMode
    )

    try {
        $client = New-Object -ComObject 'Microsoft.SMS.Client' -ErrorAction Stop
    }
    catch {
        $code = Get-FieldkitErrorCode -ErrorRecord $_
        $message = 'the Microsoft.SMS.Client COM object is not available: {0}' -f $_.Exception.Message
        throw (New-FieldkitErrorRecord -Code $code -Message $message -Target 'Microsoft.SMS.Client' -InnerException $_.Exception)
    }
    try {
        $registrySite = [string](Get-FieldkitRegistryValue -SubKey $script:MobileClientKey -ValueName 'AssignedSiteCode')
        $reading = Read-FieldkitComAssignedSite -Client $client -RegistrySite $registrySite
        if ($null -eq $reading.site) {
            $message = 'Microsoft.SMS.Client GetAssignedSite() failed: {0} ({1}); cannot tell whether the client is assigned, so the site assignment is not reset' -f $reading.error.message, $reading.error.hresult
            throw (New-FieldkitErrorRecord -Code $reading.error.code -Message $message -Target 'Microsoft.SMS.Client')
        }
        $assigned = $reading.site
        $before = @{ com_available = $true; assigned_site = $assigned; auto_assignment = Get-FieldkitSmsClientAutoAssignment }
        $after = @{ com_available = $true; assigned_site = ''; auto_assignment = $true }
        $changed = ($assigned -ne '') -or ($before.auto_assignment -ne $true)
        if ($changed -and -not $CheckMode) {
            try {
                $client.RemoveAssignedSites()
                $client.EnableAutoAssignment($true)
            }
            catch {
                $code = Get-FieldkitErrorCode -ErrorRecord $_
                $message = 'Microsoft.SMS.Client RemoveAssignedSites()/EnableAutoAssignment($true) failed: {0}' -f $_.Exception.Message
                throw (New-FieldkitErrorRecord -Code $code -Message $message -Target 'Microsoft.SMS.Client' -InnerException $_.Exception)
            }
            $registryAfter = [string](Get-FieldkitRegistryValue -SubKey $script:MobileClientKey -ValueName 'AssignedSiteCode')
            $after.assigned_site = (Read-FieldkitComAssignedSite -Client $client -RegistrySite $registryAfter).site
            $after.auto_assignment = Get-FieldkitSmsClientAutoAssignment
        }
        return @{ changed = $changed; before = $before; after = $after }
    }
    finally {
        $null = [System.Runtime.InteropServices.Marshal]::ReleaseComObject($client)
    }
}

Function Set-FieldkitClientProvisioningMode {
    <#
    .SYNOPSIS
    Op client.set_provisioning_mode: SMS_Client.SetClientProvisioningMode through WMI.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [bool]
        $Enabled,

        [Parameter()]
        [switch]
        $CheckMode
    )

    $value = Get-FieldkitRegistryValue -SubKey $script:CcmExecKey -ValueName 'ProvisioningMode'
    $current = $null
    if ($null -ne $value) {
        $current = ([string]$value).ToLowerInvariant()
    }
    $wanted = 'false'
    if ($Enabled) {
        $wanted = 'true'
    }
    $changed = ($current -eq 'true') -ne $Enabled
    $after = @{ registry_value = $current }
    if ($changed) {
        $after.registry_value = $wanted
        if (-not $CheckMode) {
            try {
                $null = Invoke-CimMethod -Namespace 'root\ccm' -ClassName 'SMS_Client' -MethodName 'SetClientProvisioningMode' -Arguments @{ bEnable = $Enabled } -OperationTimeoutSec 60 -ErrorAction Stop
            }
            catch {
                $code = Get-FieldkitErrorCode -ErrorRecord $_
                $message = 'root\ccm:SMS_Client.SetClientProvisioningMode({0}) failed: {1}' -f $Enabled, $_.Exception.Message
                throw (New-FieldkitErrorRecord -Code $code -Message $message -Target 'SMS_Client' -InnerException $_.Exception)
            }
            $observed = Get-FieldkitRegistryValue -SubKey $script:CcmExecKey -ValueName 'ProvisioningMode'
            if ($null -ne $observed) {
                $after.registry_value = ([string]$observed).ToLowerInvariant()
            }
        }
    }
    return @{ changed = $changed; before = @{ registry_value = $current }; after = $after }
}

Function ConvertTo-FieldkitCanonicalDn {
    <#
    .SYNOPSIS
    A distinguished name in comparable form, or $null when Text is not one.
    .DESCRIPTION
    The rule of plugins/plugin_utils/_cert_filter.py (parse_dn, normal_dn): RDNs separated by "," or ";",
    multi-valued RDNs by "+", a double-quoted value with "" for a quote, a backslash escaping the next
    character. Each attribute becomes TYPE=value (type upper case, ST as S, EMAIL and EMAILADDRESS as E,
    value lower case with white space runs collapsed); the attributes are sorted and joined with a line
    feed, so two names with the same attributes in any order compare equal.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [string]
        $Text
    )

    $pairs = [System.Collections.Generic.List[string]]::new()
    $separators = ',;+'
    $i = 0
    $n = $Text.Length
    while ($true) {
        $equals = $Text.IndexOf('=', $i)
        if ($equals -lt 0) {
            return $null
        }
        $attribute = $Text.Substring($i, $equals - $i).Trim()
        if ($attribute -cnotmatch '\A(?:[A-Za-z][A-Za-z0-9-]*|[0-2](?:\.[0-9]+)+)\z') {
            return $null
        }
        $i = $equals + 1
        while ($i -lt $n -and $Text[$i] -eq ' ') {
            $i++
        }
        $value = New-Object -TypeName System.Text.StringBuilder
        if ($i -lt $n -and $Text[$i] -eq '"') {
            $i++
            $closed = $false
            while ($i -lt $n) {
                if ($Text[$i] -eq '"') {
                    if ($i + 1 -lt $n -and $Text[$i + 1] -eq '"') {
                        $null = $value.Append('"')
                        $i += 2
                        continue
                    }
                    $i++
                    $closed = $true
                    break
                }
                $null = $value.Append($Text[$i])
                $i++
            }
            if (-not $closed) {
                return $null
            }
            while ($i -lt $n -and $Text[$i] -eq ' ') {
                $i++
            }
            if ($i -lt $n -and $separators.IndexOf($Text[$i]) -lt 0) {
                return $null
            }
        }
        else {
            while ($i -lt $n -and $separators.IndexOf($Text[$i]) -lt 0) {
                if ($Text[$i] -eq '\' -and $i + 1 -lt $n) {
                    $i++
                }
                $null = $value.Append($Text[$i])
                $i++
            }
        }
        $normal = ($value.ToString() -replace '\s+', ' ').Trim().ToLowerInvariant()
        if (-not $normal) {
            return $null
        }
        $kind = $attribute.ToUpperInvariant()
        if ($kind -eq 'ST') {
            $kind = 'S'
        }
        elseif ($kind -eq 'EMAIL' -or $kind -eq 'EMAILADDRESS') {
            $kind = 'E'
        }
        $pairs.Add($kind + '=' + $normal)
        if ($i -ge $n) {
            break
        }
        $i++
    }
    $sorted = $pairs.ToArray()
    [System.Array]::Sort($sorted, [System.StringComparer]::Ordinal)
    return ($sorted -join "`n")
}

Function Test-FieldkitIssuerMatch {
    <#
    .SYNOPSIS
    The issuer rule of plugins/plugin_utils/_cert_filter.py: a DN (with "=") equals the issuer DN attribute
    for attribute in any order; a name without "=" equals a CN of the issuer. Never a substring.
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Wanted,

        [Parameter()]
        [AllowEmptyString()]
        [AllowNull()]
        [string]
        $Issuer
    )

    if (-not $Issuer) {
        return $false
    }
    $actual = ConvertTo-FieldkitCanonicalDn -Text $Issuer
    if ($null -eq $actual) {
        return $false
    }
    if ($Wanted.Contains('=')) {
        $expected = ConvertTo-FieldkitCanonicalDn -Text $Wanted
        return ($null -ne $expected) -and ($expected -ceq $actual)
    }
    $name = ($Wanted -replace '\s+', ' ').Trim().ToLowerInvariant()
    if (-not $name) {
        return $false
    }
    return ($actual -split "`n") -ccontains ('CN=' + $name)
}

Function Test-FieldkitTemplateMatch {
    <#
    .SYNOPSIS
    The template rule of plugins/plugin_utils/_cert_filter.py: a dotted OID equals the template OID, anything
    else equals the template name (case-insensitive). Never a substring.
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Wanted,

        [Parameter()]
        [AllowEmptyString()]
        [AllowNull()]
        [string]
        $TemplateName,

        [Parameter()]
        [AllowEmptyString()]
        [AllowNull()]
        [string]
        $TemplateOid
    )

    $text = $Wanted.Trim()
    if (-not $text) {
        return $false
    }
    if ($text -cmatch '\A[0-2](?:\.[0-9]+)+\z') {
        return [bool]$TemplateOid -and ($TemplateOid.Trim() -ceq $text)
    }
    return [bool]$TemplateName -and ($TemplateName.Trim().ToLowerInvariant() -ceq $text.ToLowerInvariant())
}

Function Test-FieldkitCertificateMatch {
    [CmdletBinding()]
    [OutputType([bool])]
    param (
        [Parameter(Mandatory = $true)]
        [System.Security.Cryptography.X509Certificates.X509Certificate2]
        $Certificate,

        [Parameter()]
        [AllowEmptyCollection()]
        [string[]]
        $Thumbprints,

        [Parameter()]
        [string]
        $Issuer,

        [Parameter()]
        [string]
        $Template,

        [Parameter(Mandatory = $true)]
        [bool]
        $RequireClientAuth
    )

    $hasThumbprints = $null -ne $Thumbprints -and $Thumbprints.Count -gt 0
    if (-not $hasThumbprints -and -not $Issuer -and -not $Template) {
        return $false
    }
    if ($hasThumbprints) {
        $wanted = @($Thumbprints | ForEach-Object { $_.ToUpperInvariant() })
        if ($wanted -notcontains $Certificate.Thumbprint.ToUpperInvariant()) {
            return $false
        }
    }
    if ($Issuer -and -not (Test-FieldkitIssuerMatch -Wanted $Issuer -Issuer $Certificate.Issuer)) {
        return $false
    }
    if ($Template) {
        $info = Get-FieldkitCertificateTemplateInfo -Certificate $Certificate
        if (-not (Test-FieldkitTemplateMatch -Wanted $Template -TemplateName $info.name -TemplateOid $info.oid)) {
            return $false
        }
    }
    if ($RequireClientAuth) {
        $usages = @()
        foreach ($extension in $Certificate.Extensions) {
            if ($extension -is [System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension]) {
                $usages = @($extension.EnhancedKeyUsages | ForEach-Object { $_.Value })
            }
        }
        if ($usages -notcontains $script:ClientAuthEku) {
            return $false
        }
    }
    return $true
}

Function Get-FieldkitCertificateKey {
    <#
    .SYNOPSIS
    Where the private key of a certificate is kept, as @{ provider (cng or capi); provider_name;
    provider_type; container; machine_key }, or $null when the certificate has no private key.
    .DESCRIPTION
    RSACertificateExtensions.GetRSAPrivateKey returns an RSACng for a key in a CNG key storage provider and an
    RSACryptoServiceProvider for a key in a CAPI CSP (.NET Framework 4.6+ tries CNG first and falls back to
    CAPI); ECDsaCertificateExtensions.GetECDsaPrivateKey returns an ECDsaCng (ECDSA keys are CNG only).
    https://learn.microsoft.com/dotnet/api/system.security.cryptography.x509certificates.rsacertificateextensions.getrsaprivatekey
    https://learn.microsoft.com/dotnet/api/system.security.cryptography.cspkeycontainerinfo
    A private key of another algorithm cannot be removed here, so it is an error (nothing is removed).
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [System.Security.Cryptography.X509Certificates.X509Certificate2]
        $Certificate
    )

    if (-not $Certificate.HasPrivateKey) {
        return $null
    }
    $label = '{0} ({1})' -f $Certificate.Thumbprint, $Certificate.Subject
    try {
        $key = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Certificate)
        if ($null -eq $key) {
            $key = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPrivateKey($Certificate)
        }
    }
    catch {
        $code = Get-FieldkitErrorCode -ErrorRecord $_
        $message = 'could not open the private key of certificate {0}: {1}; nothing is removed, as the key would stay in the image without its certificate (when access is denied, run the task as SYSTEM)' -f $label, $_.Exception.Message
        throw (New-FieldkitErrorRecord -Code $code -Message $message -Target $Certificate.Thumbprint)
    }
    if ($null -eq $key) {
        throw (New-FieldkitErrorRecord -Code $script:ErrorNotSupported -Message ('the private key of certificate {0} is neither RSA nor ECDSA; it cannot be removed here, so the certificate is not removed' -f $label) -Target $Certificate.Thumbprint)
    }
    try {
        if ($key -is [System.Security.Cryptography.RSACng] -or $key -is [System.Security.Cryptography.ECDsaCng]) {
            $cngKey = $key.Key
            return @{
                provider = 'cng'
                provider_name = $cngKey.Provider.Provider
                provider_type = 0
                container = $cngKey.KeyName
                machine_key = $cngKey.IsMachineKey
            }
        }
        if ($key -is [System.Security.Cryptography.RSACryptoServiceProvider]) {
            $info = $key.CspKeyContainerInfo
            return @{
                provider = 'capi'
                provider_name = $info.ProviderName
                provider_type = $info.ProviderType
                container = $info.KeyContainerName
                machine_key = $info.MachineKeyStore
            }
        }
    }
    finally {
        $key.Dispose()
    }
    throw (New-FieldkitErrorRecord -Code $script:ErrorNotSupported -Message ('the private key of certificate {0} is a {1}, neither CNG nor CAPI; it is not removed' -f $label, $key.GetType().FullName) -Target $Certificate.Thumbprint)
}

Function New-FieldkitCspParameters {
    <#
    .SYNOPSIS
    CspParameters that open an existing CAPI key container (never create one).
    #>
    [CmdletBinding()]
    [OutputType([System.Security.Cryptography.CspParameters])]
    param (
        [Parameter(Mandatory = $true)]
        [hashtable]
        $Key
    )

    $parameters = New-Object -TypeName System.Security.Cryptography.CspParameters -ArgumentList @([int]$Key.provider_type, [string]$Key.provider_name, [string]$Key.container)
    $flags = [System.Security.Cryptography.CspProviderFlags]::UseExistingKey
    if ($Key.machine_key) {
        $flags = $flags -bor [System.Security.Cryptography.CspProviderFlags]::UseMachineKeyStore
    }
    $parameters.Flags = $flags
    return $parameters
}

Function Test-FieldkitCertificateKeyPresent {
    <#
    .SYNOPSIS
    Whether a key container recorded by Get-FieldkitCertificateKey still exists (re-opened by name).
    .DESCRIPTION
    CNG: CngKey.Exists(name, provider, MachineKey when it is a machine key). CAPI: an RSACryptoServiceProvider
    opened with UseExistingKey fails with NTE_BAD_KEYSET when the container is gone. Anything else that fails
    counts as present: a removal is only reported when it is seen.
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param (
        [Parameter(Mandatory = $true)]
        [hashtable]
        $Key
    )

    if ($Key.provider -eq 'cng') {
        $options = [System.Security.Cryptography.CngKeyOpenOptions]::None
        if ($Key.machine_key) {
            $options = [System.Security.Cryptography.CngKeyOpenOptions]::MachineKey
        }
        try {
            $provider = New-Object -TypeName System.Security.Cryptography.CngProvider -ArgumentList $Key.provider_name
            return [System.Security.Cryptography.CngKey]::Exists($Key.container, $provider, $options)
        }
        catch {
            return $true
        }
    }
    $parameters = New-FieldkitCspParameters -Key $Key
    try {
        $csp = New-Object -TypeName System.Security.Cryptography.RSACryptoServiceProvider -ArgumentList @(, $parameters)
    }
    catch {
        $inner = $_.Exception
        while ($null -ne $inner.InnerException) {
            $inner = $inner.InnerException
        }
        # NTE_BAD_KEYSET 0x80090016, "Keyset does not exist": the container is gone.
        $gone = ($inner -is [System.Security.Cryptography.CryptographicException]) -and ((ConvertTo-FieldkitHResult -Code $inner.HResult) -eq [int64]2148073494)
        return -not $gone
    }
    $csp.Dispose()
    return $true
}

Function Remove-FieldkitCertificateKey {
    <#
    .SYNOPSIS
    Deletes the private key container of a certificate (before the certificate itself is removed).
    .DESCRIPTION
    CNG: CngKey.Delete() on the key of the RSACng / ECDsaCng (https://learn.microsoft.com/dotnet/api/system.security.cryptography.cngkey.delete).
    CAPI: an RSACryptoServiceProvider on the same container (CspKeyContainerInfo: provider type, provider name,
    container, machine key store) with PersistKeyInCsp = $false, then Clear(), as in the "delete the key from
    the key container" example of https://learn.microsoft.com/dotnet/api/system.security.cryptography.rsacryptoserviceprovider.persistkeyincsp
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)]
        [System.Security.Cryptography.X509Certificates.X509Certificate2]
        $Certificate,

        [Parameter(Mandatory = $true)]
        [hashtable]
        $Key
    )

    $label = '{0} ({1})' -f $Certificate.Thumbprint, $Certificate.Subject
    try {
        if ($Key.provider -eq 'cng') {
            $algorithm = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Certificate)
            if ($null -eq $algorithm) {
                $algorithm = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPrivateKey($Certificate)
            }
            $algorithm.Key.Delete()
            return
        }
        $parameters = New-FieldkitCspParameters -Key $Key
        $csp = New-Object -TypeName System.Security.Cryptography.RSACryptoServiceProvider -ArgumentList @(, $parameters)
        $csp.PersistKeyInCsp = $false
        $csp.Clear()
    }
    catch {
        $code = Get-FieldkitErrorCode -ErrorRecord $_
        $message = 'could not delete the {0} private key container {1} of certificate {2}: {3}; the certificate is not removed' -f $Key.provider, $Key.container, $label, $_.Exception.Message
        throw (New-FieldkitErrorRecord -Code $code -Message $message -Target $Certificate.Thumbprint -InnerException $_.Exception)
    }
}

Function ConvertTo-FieldkitCertificateSummary {
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [System.Security.Cryptography.X509Certificates.X509Certificate2]
        $Certificate,

        [Parameter()]
        [AllowNull()]
        [hashtable]
        $Key
    )

    $template = Get-FieldkitCertificateTemplateInfo -Certificate $Certificate
    $label = $template.name
    if (-not $label) {
        $label = $template.oid
    }
    $keyProvider = $null
    $keyContainer = $null
    if ($null -ne $Key) {
        $keyProvider = $Key.provider
        $keyContainer = $Key.container
    }
    return @{
        thumbprint = $Certificate.Thumbprint
        subject = $Certificate.Subject
        issuer = $Certificate.Issuer
        template = $label
        template_name = $template.name
        template_oid = $template.oid
        has_private_key = $Certificate.HasPrivateKey
        key_provider = $keyProvider
        key_container = $keyContainer
    }
}

Function Get-FieldkitAmbiguousFilterMessage {
    <#
    .SYNOPSIS
    The refusal of a filter without thumbprints that matches several certificates (_cert_filter.ambiguous).
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Label,

        [Parameter()]
        [AllowEmptyString()]
        [string]
        $Issuer,

        [Parameter()]
        [AllowEmptyString()]
        [string]
        $Template,

        [Parameter(Mandatory = $true)]
        [object[]]
        $Matching
    )

    $listed = @($Matching | ForEach-Object {
            $info = Get-FieldkitCertificateTemplateInfo -Certificate $_
            $shown = $info.name
            if (-not $shown) {
                $shown = $info.oid
            }
            '{0} ({1}, template {2})' -f $_.Thumbprint, $_.Subject, $shown
        })
    $format = "the certificate filter (issuer '{0}', template '{1}') matches {2} certificates in {3}: {4}; without thumbprints it may select one certificate at most, so nothing was removed"
    return ($format -f $Issuer, $Template, $Matching.Count, $Label, ($listed -join '; '))
}

Function Get-FieldkitMatchingCertificate {
    <#
    .SYNOPSIS
    The certificates of an open store that a filter selects (Test-FieldkitCertificateMatch), as a list.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Generic.List[object]])]
    param (
        [Parameter(Mandatory = $true)]
        [System.Security.Cryptography.X509Certificates.X509Store]
        $Store,

        [Parameter()]
        [AllowEmptyCollection()]
        [string[]]
        $Thumbprints,

        [Parameter()]
        [string]
        $Issuer,

        [Parameter()]
        [string]
        $Template,

        [Parameter(Mandatory = $true)]
        [bool]
        $RequireClientAuth,

        [Parameter(Mandatory = $true)]
        [bool]
        $RemoveAll
    )

    $matching = [System.Collections.Generic.List[object]]::new()
    foreach ($cert in @($Store.Certificates)) {
        $match = $RemoveAll
        if (-not $match) {
            $match = Test-FieldkitCertificateMatch -Certificate $cert -Thumbprints $Thumbprints -Issuer $Issuer -Template $Template -RequireClientAuth $RequireClientAuth
        }
        if ($match) {
            $matching.Add($cert)
        }
    }
    return , $matching
}

Function Assert-FieldkitCertificateFilter {
    <#
    .SYNOPSIS
    Guard: fails with ERROR_INVALID_PARAMETER when a certificate filter without thumbprints selects more than
    one certificate and several are not allowed; read-only, so it runs before anything is changed.
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
        $StoreName,

        [Parameter()]
        [string[]]
        $Thumbprints = @(),

        [Parameter()]
        [string]
        $Issuer,

        [Parameter()]
        [string]
        $Template,

        [Parameter()]
        [bool]
        $RequireClientAuth = $true,

        [Parameter()]
        [bool]
        $AllowMultiple = $false
    )

    $label = '{0}\{1}' -f $StoreLocation, $StoreName
    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList @($StoreName, $StoreLocation)
    try {
        $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]'ReadOnly, OpenExistingOnly')
    }
    catch [System.Security.Cryptography.CryptographicException] {
        return New-FieldkitGuardResult -Guard 'certificate_filter' -Evidence @(('store {0} does not exist' -f $label))
    }
    try {
        $matching = Get-FieldkitMatchingCertificate -Store $store -Thumbprints $Thumbprints -Issuer $Issuer -Template $Template -RequireClientAuth $RequireClientAuth -RemoveAll $false
        if ($matching.Count -gt 1 -and $Thumbprints.Count -eq 0 -and -not $AllowMultiple) {
            $message = Get-FieldkitAmbiguousFilterMessage -Label $label -Issuer $Issuer -Template $Template -Matching $matching.ToArray()
            throw (New-FieldkitErrorRecord -Code $script:ErrorInvalidParameter -Message $message -Target $label)
        }
        $evidence = '{0} certificate(s) in {1} match the filter' -f $matching.Count, $label
        return New-FieldkitGuardResult -Guard 'certificate_filter' -Evidence @($evidence)
    }
    finally {
        $store.Close()
    }
}

Function Remove-FieldkitCertificate {
    <#
    .SYNOPSIS
    Op cert.remove: remove the certificates of a LocalMachine store that match every filter given, each with
    its private key container, and verify both by re-opening the store and the key containers.
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
        $StoreName,

        [Parameter()]
        [string[]]
        $Thumbprints = @(),

        [Parameter()]
        [string]
        $Issuer,

        [Parameter()]
        [string]
        $Template,

        [Parameter()]
        [bool]
        $RequireClientAuth = $true,

        [Parameter()]
        [bool]
        $RemoveAll = $false,

        [Parameter()]
        [bool]
        $AllowMultiple = $false,

        [Parameter()]
        [switch]
        $CheckMode
    )

    $label = '{0}\{1}' -f $StoreLocation, $StoreName
    if ($RemoveAll -and $StoreName -ne 'SMS') {
        throw (New-FieldkitErrorRecord -Code $script:ErrorInvalidParameter -Message ('remove_all is only allowed for LocalMachine\SMS, not {0}' -f $label) -Target $label)
    }
    if (-not $RemoveAll -and $Thumbprints.Count -eq 0 -and -not $Issuer -and -not $Template) {
        throw (New-FieldkitErrorRecord -Code $script:ErrorInvalidParameter -Message ('no certificate filter given for {0}; refusing to remove anything' -f $label) -Target $label)
    }
    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList @($StoreName, $StoreLocation)
    $flags = [System.Security.Cryptography.X509Certificates.OpenFlags]'ReadOnly, OpenExistingOnly'
    if (-not $CheckMode) {
        $flags = [System.Security.Cryptography.X509Certificates.OpenFlags]'ReadWrite, OpenExistingOnly'
    }
    try {
        $store.Open($flags)
    }
    catch [System.Security.Cryptography.CryptographicException] {
        $absent = @{ store = $label; store_exists = $false; matching = @(); removed = @() }
        return @{ changed = $false; before = $absent; after = $absent.Clone() }
    }
    $removed = [System.Collections.Generic.List[object]]::new()
    try {
        $matching = Get-FieldkitMatchingCertificate -Store $store -Thumbprints $Thumbprints -Issuer $Issuer -Template $Template -RequireClientAuth $RequireClientAuth -RemoveAll $RemoveAll
        if (-not $RemoveAll -and $matching.Count -gt 1 -and $Thumbprints.Count -eq 0 -and -not $AllowMultiple) {
            $message = Get-FieldkitAmbiguousFilterMessage -Label $label -Issuer $Issuer -Template $Template -Matching $matching.ToArray()
            throw (New-FieldkitErrorRecord -Code $script:ErrorInvalidParameter -Message $message -Target $label)
        }
        # Every key container is located before anything is deleted: a key that cannot be located or
        # removed stops the op with the certificates still in place.
        $keys = @{}
        foreach ($cert in $matching) {
            $keys[$cert.Thumbprint] = Get-FieldkitCertificateKey -Certificate $cert
        }
        $summary = @($matching | ForEach-Object { ConvertTo-FieldkitCertificateSummary -Certificate $_ -Key $keys[$_.Thumbprint] })
        if ($matching.Count -gt 0 -and -not $CheckMode) {
            foreach ($cert in $matching) {
                $key = $keys[$cert.Thumbprint]
                if ($null -ne $key) {
                    Remove-FieldkitCertificateKey -Certificate $cert -Key $key
                }
                try {
                    $store.Remove($cert)
                }
                catch {
                    $code = Get-FieldkitErrorCode -ErrorRecord $_
                    $message = 'could not delete certificate {0} ({1}) from {2}: {3}' -f $cert.Thumbprint, $cert.Subject, $label, $_.Exception.Message
                    throw (New-FieldkitErrorRecord -Code $code -Message $message -Target $label -InnerException $_.Exception)
                }
                $removed.Add(@{ thumbprint = $cert.Thumbprint; key = $key })
            }
        }
    }
    finally {
        $store.Close()
    }
    $after = @{ store = $label; store_exists = $true; matching = @(); removed = @() }
    if ($removed.Count -gt 0) {
        # Verification: the store and every key container are opened again.
        $check = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList @($StoreName, $StoreLocation)
        $check.Open([System.Security.Cryptography.X509Certificates.OpenFlags]'ReadOnly, OpenExistingOnly')
        try {
            $left = Get-FieldkitMatchingCertificate -Store $check -Thumbprints $Thumbprints -Issuer $Issuer -Template $Template -RequireClientAuth $RequireClientAuth -RemoveAll $RemoveAll
            $present = @($check.Certificates | ForEach-Object { $_.Thumbprint })
            $after.matching = @($left | ForEach-Object { ConvertTo-FieldkitCertificateSummary -Certificate $_ -Key $null })
        }
        finally {
            $check.Close()
        }
        $after.removed = @($removed | ForEach-Object {
                $keyRemoved = $null
                $keyProvider = $null
                $keyContainer = $null
                if ($null -ne $_.key) {
                    $keyRemoved = -not (Test-FieldkitCertificateKeyPresent -Key $_.key)
                    $keyProvider = $_.key.provider
                    $keyContainer = $_.key.container
                }
                @{
                    thumbprint = $_.thumbprint
                    certificate_removed = ($present -notcontains $_.thumbprint)
                    key_provider = $keyProvider
                    key_container = $keyContainer
                    key_removed = $keyRemoved
                }
            })
    }
    return @{
        changed = ($matching.Count -gt 0)
        before = @{ store = $label; store_exists = $true; matching = $summary; removed = @() }
        after = $after
    }
}

Function Remove-FieldkitFile {
    <#
    .SYNOPSIS
    Op file.remove: delete one file if it exists.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Path,

        [Parameter()]
        [switch]
        $CheckMode
    )

    $full = [System.Environment]::ExpandEnvironmentVariables($Path)
    $exists = Test-Path -LiteralPath $full -PathType Leaf
    if ($exists -and -not $CheckMode) {
        try {
            Remove-Item -LiteralPath $full -Force -ErrorAction Stop
        }
        catch {
            $code = Get-FieldkitErrorCode -ErrorRecord $_
            $message = 'could not delete {0}: {1}' -f $full, $_.Exception.Message
            throw (New-FieldkitErrorRecord -Code $code -Message $message -Target $full -InnerException $_.Exception)
        }
    }
    return @{ changed = $exists; before = @{ path = $full; exists = $exists }; after = @{ path = $full; exists = $false } }
}

Function Remove-FieldkitRegistryValue {
    <#
    .SYNOPSIS
    Op registry.remove_values: delete named values of one HKLM key (64-bit view).
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Path,

        [Parameter(Mandatory = $true)]
        [string[]]
        $Names,

        [Parameter()]
        [switch]
        $CheckMode
    )

    $present = @{}
    $keyExists = Test-FieldkitRegistryKey -SubKey $Path
    if ($keyExists) {
        foreach ($name in $Names) {
            $value = Get-FieldkitRegistryValue -SubKey $Path -ValueName $name
            if ($null -ne $value) {
                $present[$name] = [string]$value
            }
        }
    }
    if ($present.Count -gt 0 -and -not $CheckMode) {
        $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
        try {
            $key = $base.OpenSubKey($Path, $true)
            try {
                foreach ($name in @($present.Keys)) {
                    $key.DeleteValue($name, $false)
                }
            }
            catch {
                $code = Get-FieldkitErrorCode -ErrorRecord $_
                $message = 'could not delete values from HKLM\{0}: {1}' -f $Path, $_.Exception.Message
                throw (New-FieldkitErrorRecord -Code $code -Message $message -Target $Path -InnerException $_.Exception)
            }
            finally {
                $key.Dispose()
            }
        }
        finally {
            $base.Dispose()
        }
    }
    return @{
        changed = ($present.Count -gt 0)
        before = @{ path = $Path; key_exists = $keyExists; values = $present }
        after = @{ path = $Path; key_exists = $keyExists; values = @{} }
    }
}

Function Clear-FieldkitFolder {
    <#
    .SYNOPSIS
    Op folder.empty: delete the content of a folder whose own name is RequiredLeaf.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Path,

        [Parameter(Mandatory = $true)]
        [string]
        $RequiredLeaf,

        [Parameter()]
        [switch]
        $CheckMode
    )

    $full = ([System.Environment]::ExpandEnvironmentVariables($Path)).TrimEnd('\')
    $leaf = Split-Path -Path $full -Leaf
    if ($leaf -ne $RequiredLeaf) {
        throw (New-FieldkitErrorRecord -Code $script:ErrorInvalidParameter -Message ('refusing to empty {0}: the folder must be named {1}' -f $full, $RequiredLeaf) -Target $full)
    }
    $exists = Test-Path -LiteralPath $full -PathType Container
    $count = 0
    $size = [int64]0
    if ($exists) {
        $files = @(Get-ChildItem -LiteralPath $full -Force -Recurse -File -ErrorAction Stop)
        $count = $files.Count
        foreach ($file in $files) {
            $size += $file.Length
        }
    }
    $after = @{ path = $full; exists = $exists; item_count = 0; size_bytes = 0 }
    if ($count -gt 0 -and -not $CheckMode) {
        try {
            Get-ChildItem -LiteralPath $full -Force -ErrorAction Stop | Remove-Item -Recurse -Force -ErrorAction Stop
        }
        catch {
            $code = Get-FieldkitErrorCode -ErrorRecord $_
            $message = 'could not empty {0}: {1}' -f $full, $_.Exception.Message
            throw (New-FieldkitErrorRecord -Code $code -Message $message -Target $full -InnerException $_.Exception)
        }
        $after.item_count = @(Get-ChildItem -LiteralPath $full -Force -Recurse -File -ErrorAction Stop).Count
    }
    return @{
        changed = ($count -gt 0)
        before = @{ path = $full; exists = $exists; item_count = $count; size_bytes = $size }
        after = $after
    }
}

Function Resolve-FieldkitAddress {
    [CmdletBinding()]
    [OutputType([string[]])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter(Mandatory = $true)]
        [int]
        $TimeoutSeconds
    )

    $parsed = $null
    if ([System.Net.IPAddress]::TryParse($Name, [ref]$parsed)) {
        return $parsed.ToString()
    }
    try {
        $lookup = [System.Net.Dns]::GetHostAddressesAsync($Name)
        $finished = $lookup.Wait([System.TimeSpan]::FromSeconds($TimeoutSeconds))
    }
    catch {
        $code = Get-FieldkitErrorCode -ErrorRecord $_
        $message = 'could not resolve {0}: {1}' -f $Name, $_.Exception.Message
        throw (New-FieldkitErrorRecord -Code $code -Message $message -Target $Name -InnerException $_.Exception)
    }
    if (-not $finished) {
        throw (New-FieldkitErrorRecord -Code $script:ErrorTimeout -Message ('resolving {0} took longer than {1} s' -f $Name, $TimeoutSeconds) -Target $Name)
    }
    return @($lookup.Result | ForEach-Object { $_.ToString() })
}

Function ConvertTo-FieldkitAddressSet {
    <#
    .SYNOPSIS
    Firewall addresses in one canonical, sorted form, so the rule read back compares equal to the one wanted.
    .DESCRIPTION
    Single addresses are re-formatted by [IPAddress] (IPv6 compressed and lower case, IPv4-mapped forms kept);
    ranges (a-b), subnets (a/n or a/mask) and keywords (LocalSubnet, Any) are compared case-insensitively as
    written. Sorted ordinally, so the order does not depend on the culture.
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [AllowNull()]
        [string[]]
        $Address
    )

    $canonical = [System.Collections.Generic.List[string]]::new()
    foreach ($entry in @($Address)) {
        if ([string]::IsNullOrWhiteSpace($entry)) {
            continue
        }
        $parsed = $null
        $text = $entry.Trim().ToLowerInvariant()
        if ([System.Net.IPAddress]::TryParse($text, [ref]$parsed)) {
            $text = $parsed.ToString().ToLowerInvariant()
        }
        if (-not $canonical.Contains($text)) {
            $canonical.Add($text)
        }
    }
    $canonical.Sort([System.StringComparer]::Ordinal)
    return $canonical.ToArray()
}

Function Get-FieldkitFirewallRule {
    <#
    .SYNOPSIS
    Op firewall.read_rule: whether a firewall rule exists, is enabled, and its remote addresses. Changes nothing.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name
    )

    $existing = Get-NetFirewallRule -Name $Name -ErrorAction SilentlyContinue
    if ($null -eq $existing) {
        return @{ name = $Name; exists = $false; enabled = $null; remote_addresses = @() }
    }
    $filter = $existing | Get-NetFirewallAddressFilter -ErrorAction Stop
    $addresses = @(ConvertTo-FieldkitAddressSet -Address @($filter.RemoteAddress))
    $enabled = ([string]$existing.Enabled) -eq 'True'
    return @{ name = $Name; exists = $true; enabled = $enabled; remote_addresses = $addresses }
}

Function Set-FieldkitFirewallBlockRule {
    <#
    .SYNOPSIS
    Op firewall.ensure_block_rule: an outbound rule blocking the given addresses, or its absence.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name,

        [Parameter()]
        [string[]]
        $RemoteAddresses = @(),

        [Parameter()]
        [ValidateSet('present', 'absent')]
        [string]
        $State = 'present',

        [Parameter()]
        [int]
        $ResolveTimeoutSeconds = 10,

        [Parameter()]
        [switch]
        $CheckMode
    )

    $existing = Get-NetFirewallRule -Name $Name -ErrorAction SilentlyContinue
    $current = @()
    if ($null -ne $existing) {
        $filter = $existing | Get-NetFirewallAddressFilter -ErrorAction Stop
        $current = @(ConvertTo-FieldkitAddressSet -Address @($filter.RemoteAddress))
    }
    $before = @{ name = $Name; exists = ($null -ne $existing); remote_addresses = $current }
    if ($State -eq 'absent') {
        if ($null -ne $existing -and -not $CheckMode) {
            Remove-NetFirewallRule -Name $Name -ErrorAction Stop
        }
        return @{ changed = ($null -ne $existing); before = $before; after = @{ name = $Name; exists = $false; remote_addresses = @() } }
    }
    $wanted = [System.Collections.Generic.List[string]]::new()
    foreach ($entry in $RemoteAddresses) {
        foreach ($address in @(Resolve-FieldkitAddress -Name $entry -TimeoutSeconds $ResolveTimeoutSeconds)) {
            if (-not $wanted.Contains($address)) {
                $wanted.Add($address)
            }
        }
    }
    if ($wanted.Count -eq 0) {
        throw (New-FieldkitErrorRecord -Code $script:ErrorInvalidParameter -Message ('firewall rule {0}: no remote address to block' -f $Name) -Target $Name)
    }
    $sorted = @(ConvertTo-FieldkitAddressSet -Address $wanted.ToArray())
    $changed = ($current -join ',') -ne ($sorted -join ',')
    if ($changed -and -not $CheckMode) {
        try {
            if ($null -ne $existing) {
                Remove-NetFirewallRule -Name $Name -ErrorAction Stop
            }
            $rule = @{
                Name = $Name
                DisplayName = $Name
                Group = 'mecm.fieldkit'
                Direction = 'Outbound'
                Action = 'Block'
                Profile = 'Any'
                RemoteAddress = $sorted
                Enabled = 'True'
                ErrorAction = 'Stop'
            }
            $null = New-NetFirewallRule @rule
        }
        catch {
            $code = Get-FieldkitErrorCode -ErrorRecord $_
            $message = 'could not create firewall rule {0}: {1}' -f $Name, $_.Exception.Message
            throw (New-FieldkitErrorRecord -Code $code -Message $message -Target $Name -InnerException $_.Exception)
        }
    }
    return @{ changed = $changed; before = $before; after = @{ name = $Name; exists = $true; remote_addresses = $sorted } }
}

Function ConvertFrom-FieldkitProcessCreateResult {
    <#
    .SYNOPSIS
    The Windows error code for a Win32_Process.Create return value (which is not a Win32 code).
    .DESCRIPTION
    https://learn.microsoft.com/windows/win32/cimwin32prov/create-method-in-class-win32-process:
    2 access denied, 3 insufficient privilege, 8 unknown failure, 9 path not found, 21 invalid parameter.
    #>
    [CmdletBinding()]
    [OutputType([int64])]
    param (
        [Parameter(Mandatory = $true)]
        [int64]
        $ReturnValue
    )

    switch ($ReturnValue) {
        2 {
            return [int64]$script:ErrorAccessDenied
        }
        3 {
            return [int64]$script:ErrorPrivilegeNotHeld
        }
        9 {
            return [int64]$script:ErrorPathNotFound
        }
        21 {
            return [int64]$script:ErrorInvalidParameter
        }
    }
    return [int64]$script:ErrorUnknownFailure
}

Function Invoke-FieldkitProcessCreate {
    [CmdletBinding()]
    [OutputType([object])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $CommandLine,

        [Parameter(Mandatory = $true)]
        [string]
        $WorkingDirectory,

        [Parameter(Mandatory = $true)]
        [uint32]
        $CreateFlags
    )

    $startup = New-CimInstance -ClassName 'Win32_ProcessStartup' -ClientOnly -Property @{ CreateFlags = $CreateFlags }
    $arguments = @{ CommandLine = $CommandLine; CurrentDirectory = $WorkingDirectory; ProcessStartupInformation = $startup }
    try {
        return Invoke-CimMethod -ClassName 'Win32_Process' -MethodName 'Create' -Arguments $arguments -OperationTimeoutSec $script:CimTimeoutSeconds -ErrorAction Stop
    }
    catch {
        $code = Get-FieldkitErrorCode -ErrorRecord $_
        throw (New-FieldkitErrorRecord -Code $code -Message ('could not start {0}: {1}' -f $CommandLine, $_.Exception.Message) -Target $CommandLine -InnerException $_.Exception)
    }
}

Function Start-FieldkitDetachedProcess {
    [CmdletBinding()]
    [OutputType([int])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $CommandLine,

        [Parameter(Mandatory = $true)]
        [string]
        $WorkingDirectory
    )

    # Win32_Process.Create starts the process outside the WinRM shell's job object, so it survives the
    # end of the WinRM session; CREATE_BREAKAWAY_FROM_JOB takes it out of the WMI provider host's job too
    # (whose quotas and lifetime would otherwise apply to sysprep and ccmsetup). A job that does not allow
    # breakaway makes CreateProcess fail with access denied (return value 2): then start it without the flag.
    $created = Invoke-FieldkitProcessCreate -CommandLine $CommandLine -WorkingDirectory $WorkingDirectory -CreateFlags $script:CreateBreakawayFromJob
    if ($created.ReturnValue -eq 2) {
        $created = Invoke-FieldkitProcessCreate -CommandLine $CommandLine -WorkingDirectory $WorkingDirectory -CreateFlags 0
    }
    if ($created.ReturnValue -ne 0) {
        $code = ConvertFrom-FieldkitProcessCreateResult -ReturnValue ([int64]$created.ReturnValue)
        throw (New-FieldkitErrorRecord -Code $code -Message ('Win32_Process.Create returned {0} for {1}' -f $created.ReturnValue, $CommandLine) -Target $CommandLine)
    }
    return [int]$created.ProcessId
}

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
    'Assert-FieldkitClientInstalled',
    'Assert-FieldkitNotSiteSystem',
    'Assert-FieldkitCcmSetupIdle',
    'Assert-FieldkitNoTaskSequence',
    'Assert-FieldkitNotProvisioning',
    'Assert-FieldkitCaptureReady',
    'Assert-FieldkitCertificateFilter',
    'Set-FieldkitScheduledTaskEnabled',
    'Get-FieldkitImagePrepRecord',
    'Set-FieldkitImagePrepRecord',
    'Clear-FieldkitImagePrepRecord',
    'Remove-FieldkitWmiInstance',
    'Reset-FieldkitClientSiteAssignment',
    'Set-FieldkitClientProvisioningMode',
    'Remove-FieldkitCertificate',
    'Remove-FieldkitFile',
    'Remove-FieldkitRegistryValue',
    'Clear-FieldkitFolder',
    'Get-FieldkitFirewallRule',
    'Set-FieldkitFirewallBlockRule',
    'Start-FieldkitCcmSetup',
    'Get-FieldkitCcmSetupStatus',
    'Start-FieldkitSysprep'
)
