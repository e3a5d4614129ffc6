# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# ConfigMgr client ops of the mecm.fieldkit op registry (plugins/plugin_utils/_ops_client.py).
# Read-only ops return a data hashtable; failures throw an ErrorRecord with the Windows error code.
# Targets Windows PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientCommon

Set-StrictMode -Version 2.0

$script:MobileClientKey = 'SOFTWARE\Microsoft\SMS\Mobile Client'
$script:CcmExecKey = 'SOFTWARE\Microsoft\CCM\CcmExec'
$script:CimTimeoutSeconds = 30

Function Get-FieldkitCimInstanceOrNull {
    <#
    .SYNOPSIS
    Returns the instances of a class, or $null when the namespace or class does not exist or cannot be read.
    .DESCRIPTION
    A read that fails (access denied, provider failure, timeout) is added to Errors instead of failing the
    op, so a broken root\ccm is reported as "WMI unavailable" with its error code.
    #>
    [CmdletBinding()]
    [OutputType([object[]])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Namespace,

        [Parameter(Mandatory = $true)]
        [string]
        $ClassName,

        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Collections.Generic.List[object]]
        $Errors
    )

    $set = Get-FieldkitCimInstanceSet -Namespace $Namespace -ClassName $ClassName -TimeoutSeconds $script:CimTimeoutSeconds -TolerateErrors
    if ($null -ne $set.error) {
        $Errors.Add($set.error)
        return $null
    }
    if (-not $set.class_present) {
        return $null
    }
    return , $set.instances
}

Function Get-FieldkitSmsCfgValue {
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [string[]]
        $Lines,

        [Parameter(Mandatory = $true)]
        [string]
        $Key
    )

    foreach ($line in $Lines) {
        $separator = $line.IndexOf('=')
        if ($separator -gt 0 -and $line.Substring(0, $separator).Trim() -eq $Key) {
            return $line.Substring($separator + 1).Trim()
        }
    }
    return $null
}

Function Get-FieldkitClientIdentity {
    <#
    .SYNOPSIS
    Op client.read_identity: SMS Unique Identifier from SMSCFG.ini and root\ccm:CCM_Client.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    $wmiErrors = [System.Collections.Generic.List[object]]::new()
    $path = Join-Path -Path $env:SystemRoot -ChildPath 'SMSCFG.ini'
    $result = @{
        smscfg_path = $path
        smscfg_present = Test-Path -LiteralPath $path -PathType Leaf
        smscfg_unique_id = $null
        smscfg_previous_unique_id = $null
        smscfg_certificate_identifier = $null
        wmi_client_id = $null
        wmi_previous_client_id = $null
        wmi_client_id_change_date = $null
        wmi_available = $false
    }
    if ($result.smscfg_present) {
        $lines = @(Get-Content -LiteralPath $path -ErrorAction Stop | ForEach-Object { [string]$_ })
        $result.smscfg_unique_id = Get-FieldkitSmsCfgValue -Lines $lines -Key 'SMS Unique Identifier'
        $result.smscfg_previous_unique_id = Get-FieldkitSmsCfgValue -Lines $lines -Key 'Previous SMSUID'
        $result.smscfg_certificate_identifier = Get-FieldkitSmsCfgValue -Lines $lines -Key 'SMS Certificate Identifier'
    }
    $client = Get-FieldkitCimInstanceOrNull -Namespace 'root\ccm' -ClassName 'CCM_Client' -Errors $wmiErrors
    if ($null -ne $client -and $client.Count -gt 0) {
        $result.wmi_available = $true
        $result.wmi_client_id = [string]$client[0].ClientId
        $result.wmi_previous_client_id = [string]$client[0].PreviousClientId
        if ($client[0].ClientIdChangeDate) {
            $result.wmi_client_id_change_date = [string]$client[0].ClientIdChangeDate
        }
    }
    $result.wmi_errors = $wmiErrors.ToArray()
    return $result
}

Function Get-FieldkitClientSiteAssignment {
    <#
    .SYNOPSIS
    Op client.read_site_assignment: assigned site (COM and registry), auto-assignment, current MP.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    $wmiErrors = [System.Collections.Generic.List[object]]::new()
    $result = @{
        com_available = $false
        com_assigned_site = $null
        com_error = $null
        registry_assigned_site = Get-FieldkitRegistryValue -SubKey $script:MobileClientKey -ValueName 'AssignedSiteCode'
        auto_assignment = $null
        current_management_point = $null
        gp_site_assignment = @{}
        dns_suffix = Get-FieldkitRegistryValue -SubKey 'SOFTWARE\Microsoft\CCM\LocationServices' -ValueName 'DnsSuffix'
    }
    foreach ($name in @('GPRequestedSiteAssignmentCode', 'GPSiteAssignmentRetryInterval(Min)', 'GPSiteAssignmentRetryDuration(Hour)')) {
        $value = Get-FieldkitRegistryValue -SubKey $script:MobileClientKey -ValueName $name
        if ($null -ne $value) {
            $result.gp_site_assignment[$name] = [string]$value
        }
    }
    $comClient = $null
    try {
        $comClient = New-Object -ComObject 'Microsoft.SMS.Client' -ErrorAction Stop
    }
    catch [System.Runtime.InteropServices.COMException] {
        # REGDB_E_CLASSNOTREG: no client installed; reported as com_available = false.
        $comClient = $null
    }
    if ($null -ne $comClient) {
        $result.com_available = $true
        try {
            $reading = Read-FieldkitComAssignedSite -Client $comClient -RegistrySite ([string]$result.registry_assigned_site)
            $result.com_assigned_site = $reading.site
            $result.com_error = $reading.error
        }
        finally {
            $null = [System.Runtime.InteropServices.Marshal]::ReleaseComObject($comClient)
        }
    }
    $smsClient = Get-FieldkitCimInstanceOrNull -Namespace 'root\ccm' -ClassName 'SMS_Client' -Errors $wmiErrors
    if ($null -ne $smsClient -and $smsClient.Count -gt 0) {
        $result.auto_assignment = [bool]$smsClient[0].EnableAutoAssignment
    }
    $authority = Get-FieldkitCimInstanceOrNull -Namespace 'root\ccm' -ClassName 'SMS_Authority' -Errors $wmiErrors
    if ($null -ne $authority -and $authority.Count -gt 0 -and $authority[0].CurrentManagementPoint) {
        $result.current_management_point = [string]$authority[0].CurrentManagementPoint
    }
    $result.wmi_errors = $wmiErrors.ToArray()
    return $result
}

Function Get-FieldkitClientProvisioningMode {
    <#
    .SYNOPSIS
    Op client.read_provisioning_mode: registry values and whether SMS_Client answers.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    $wmiErrors = [System.Collections.Generic.List[object]]::new()
    $key = $script:CcmExecKey
    $result = @{
        registry_value = $null
        enabled_time_epoch = $null
        max_minutes = $null
        wmi_sms_client_available = $false
    }
    $value = Get-FieldkitRegistryValue -SubKey $key -ValueName 'ProvisioningMode'
    if ($null -ne $value) {
        $result.registry_value = ([string]$value).ToLowerInvariant()
    }
    $enabledTime = Get-FieldkitRegistryValue -SubKey $key -ValueName 'ProvisioningEnabledTime'
    if ($null -ne $enabledTime -and "$enabledTime" -match '^\d+$') {
        $result.enabled_time_epoch = [int64]$enabledTime
    }
    $maxMinutes = Get-FieldkitRegistryValue -SubKey $key -ValueName 'ProvisioningMaxMinutes'
    if ($null -ne $maxMinutes -and "$maxMinutes" -match '^\d+$') {
        $result.max_minutes = [int]$maxMinutes
    }
    $smsClient = Get-FieldkitCimInstanceOrNull -Namespace 'root\ccm' -ClassName 'SMS_Client' -Errors $wmiErrors
    $result.wmi_sms_client_available = ($null -ne $smsClient -and $smsClient.Count -gt 0)
    $result.wmi_errors = $wmiErrors.ToArray()
    return $result
}

Function Get-FieldkitTaskSequenceState {
    <#
    .SYNOPSIS
    Op client.read_task_sequence: evidence of a running ConfigMgr task sequence.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    $evidence = [System.Collections.Generic.List[string]]::new()
    $process = Get-Process -Name 'TSManager' -ErrorAction SilentlyContinue
    if ($null -ne $process) {
        $evidence.Add('process TSManager is running')
    }
    $service = Get-Service -Name 'smstsmgr' -ErrorAction SilentlyContinue
    if ($null -ne $service -and $service.Status -eq [System.ServiceProcess.ServiceControllerStatus]::Running) {
        $evidence.Add('service smstsmgr is running')
    }
    return @{ running = ($evidence.Count -gt 0); evidence = $evidence.ToArray() }
}

Function Get-FieldkitSiteRole {
    <#
    .SYNOPSIS
    Op site.read_roles: whether the host is a ConfigMgr site server or another site system.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    $evidence = [System.Collections.Generic.List[string]]::new()
    $roles = [System.Collections.Generic.List[string]]::new()
    $isSiteServer = $false
    if ($null -ne (Get-Service -Name 'SMS_EXECUTIVE' -ErrorAction SilentlyContinue)) {
        $isSiteServer = $true
        $roles.Add('site_server')
        $evidence.Add('service SMS_EXECUTIVE exists')
    }
    $siteCode = Get-FieldkitRegistryValue -SubKey 'SOFTWARE\Microsoft\SMS\Identification' -ValueName 'Site Code'
    if ($null -ne $siteCode) {
        $evidence.Add("HKLM\SOFTWARE\Microsoft\SMS\Identification Site Code = $siteCode")
    }
    if (Test-FieldkitRegistryKey -SubKey 'SOFTWARE\Microsoft\SMS\DP') {
        $roles.Add('distribution_point')
        $evidence.Add('key HKLM\SOFTWARE\Microsoft\SMS\DP exists')
    }
    if (Test-FieldkitRegistryKey -SubKey 'SOFTWARE\Microsoft\SMS\MP') {
        $roles.Add('management_point')
        $evidence.Add('key HKLM\SOFTWARE\Microsoft\SMS\MP exists')
    }
    $share = Get-CimInstance -ClassName Win32_Share -Filter "Name='SMS_DP$'" -OperationTimeoutSec $script:CimTimeoutSeconds -ErrorAction SilentlyContinue
    if ($null -ne $share) {
        $evidence.Add('share SMS_DP$ exists')
        if (-not $roles.Contains('distribution_point')) {
            $roles.Add('distribution_point')
        }
    }
    $siteCodeText = $null
    if ($null -ne $siteCode) {
        $siteCodeText = [string]$siteCode
    }
    return @{
        is_site_server = $isSiteServer
        is_site_system = ($roles.Count -gt 0 -or $null -ne $siteCode)
        site_code = $siteCodeText
        roles = $roles.ToArray()
        evidence = $evidence.ToArray()
    }
}

Export-ModuleMember -Function @(
    'Get-FieldkitCimInstanceOrNull',
    'Get-FieldkitClientIdentity',
    'Get-FieldkitClientSiteAssignment',
    'Get-FieldkitClientProvisioningMode',
    'Get-FieldkitTaskSequenceState',
    'Get-FieldkitSiteRole'
)
