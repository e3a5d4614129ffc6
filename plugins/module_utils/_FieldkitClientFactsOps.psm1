# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# ConfigMgr client ops that only the client facts and the install read (plugins/plugin_utils/_ops_client.py): the
# install record and the imaging platform. Apart from _FieldkitClientOps so that the generalize runner does not
# ship them. Targets Windows PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientOps

Set-StrictMode -Version 2.0

$script:MobileClientKey = 'SOFTWARE\Microsoft\SMS\Mobile Client'
$script:CitrixVdaKey = 'SOFTWARE\Citrix\VirtualDesktopAgent'
$script:CitrixVdaUninstallKey = 'SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\Citrix Virtual Desktop Agent'
$script:CitrixVdaService = 'BrokerAgent'
$script:BisfKey = 'SOFTWARE\Login Consultants\BISF'
$script:HorizonVdmKey = 'SOFTWARE\VMware, Inc.\VMware VDM'
$script:HorizonAgentKey = 'SOFTWARE\VMware, Inc.\VMware VDM\Agent'
$script:OmnissaAgentKey = 'SOFTWARE\Omnissa\Agent'
$script:AvdAgentKey = 'SOFTWARE\Microsoft\RDInfraAgent'
$script:AvdAgentService = 'RDAgent'
$script:AvdBootLoaderService = 'RDAgentBootLoader'

Function Get-FieldkitClientInstall {
    <#
    .SYNOPSIS
    Op client.read_install: client presence, version and installed components.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    $wmiErrors = [System.Collections.Generic.List[object]]::new()
    $service = Get-Service -Name 'CcmExec' -ErrorAction SilentlyContinue
    $ccmKey = Test-FieldkitRegistryKey -SubKey 'SOFTWARE\Microsoft\CCM'
    $result = @{
        installed = ($null -ne $service) -and $ccmKey
        version = $null
        version_source = $null
        install_path = Get-FieldkitRegistryValue -SubKey 'SOFTWARE\Microsoft\SMS\Client\Configuration\Client Properties' -ValueName 'Local SMS Path'
        components = @()
    }
    $smsClient = Get-FieldkitCimInstanceOrNull -Namespace 'root\ccm' -ClassName 'SMS_Client' -Errors $wmiErrors
    if ($null -ne $smsClient -and $smsClient.Count -gt 0 -and $smsClient[0].ClientVersion) {
        $result.version = [string]$smsClient[0].ClientVersion
        $result.version_source = 'wmi'
    }
    else {
        $registryVersion = Get-FieldkitRegistryValue -SubKey $script:MobileClientKey -ValueName 'ProductVersion'
        if ($null -ne $registryVersion) {
            $result.version = [string]$registryVersion
            $result.version_source = 'registry'
        }
    }
    $components = Get-FieldkitCimInstanceOrNull -Namespace 'root\ccm' -ClassName 'CCM_InstalledComponent' -Errors $wmiErrors
    if ($null -ne $components) {
        $result.components = @($components | ForEach-Object {
                @{ name = [string]$_.Name; display_name = [string]$_.DisplayName; version = [string]$_.Version }
            })
    }
    $result.wmi_errors = $wmiErrors.ToArray()
    return $result
}

Function ConvertTo-FieldkitOptionalString {
    <#
    .SYNOPSIS
    A registry value as a trimmed string, or $null when absent or empty.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $false)]
        [AllowNull()]
        [object]
        $Value
    )

    if ($null -eq $Value) {
        return $null
    }
    $text = ([string]$Value).Trim()
    if ($text.Length -eq 0) {
        return $null
    }
    return $text
}

Function Test-FieldkitServiceExists {
    <#
    .SYNOPSIS
    Whether a service of that service name (never a display name) exists.
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Name
    )

    $service = Get-Service -Name $Name -ErrorAction SilentlyContinue
    return ($null -ne $service)
}

Function Get-FieldkitImagingPlatform {
    <#
    .SYNOPSIS
    Op client.read_imaging_platform: raw evidence of Citrix VDA, BIS-F, Horizon agent and Azure Virtual Desktop.
    .DESCRIPTION
    Registry keys and values (64-bit view) and service names only, never display names; the controller shapes
    the evidence (plugins/plugin_utils/_imaging_platform.py). Key and value names:
    Citrix VDA key set by the meta-installer (docs.citrix.com, Citrix Virtual Apps and Desktops 2407,
    Proxy support for VDA Upgrade Agent); DisplayVersion of the uninstall entry (learn.microsoft.com,
    Windows Installer, Uninstall Registry Key); Azure Virtual Desktop agent services and key
    (learn.microsoft.com, Azure Virtual Desktop, Troubleshoot the Azure Virtual Desktop Agent).
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    $uninstallPresent = Test-FieldkitRegistryKey -SubKey $script:CitrixVdaUninstallKey
    $uninstallVersion = $null
    if ($uninstallPresent) {
        $uninstallVersion = ConvertTo-FieldkitOptionalString -Value (Get-FieldkitRegistryValue -SubKey $script:CitrixVdaUninstallKey -ValueName 'DisplayVersion')
    }
    $citrix = @{
        key_present = (Test-FieldkitRegistryKey -SubKey $script:CitrixVdaKey)
        uninstall_present = $uninstallPresent
        uninstall_version = $uninstallVersion
        service_present = (Test-FieldkitServiceExists -Name $script:CitrixVdaService)
    }

    $bisfPresent = Test-FieldkitRegistryKey -SubKey $script:BisfKey
    $bisfVersion = $null
    $bisfPath = $null
    $bisfPathExists = $null
    if ($bisfPresent) {
        $bisfVersion = ConvertTo-FieldkitOptionalString -Value (Get-FieldkitRegistryValue -SubKey $script:BisfKey -ValueName 'Version')
        $bisfPath = ConvertTo-FieldkitOptionalString -Value (Get-FieldkitRegistryValue -SubKey $script:BisfKey -ValueName 'Path')
    }
    if ($null -ne $bisfPath) {
        $bisfPathExists = Test-Path -LiteralPath $bisfPath -PathType Container
    }
    $bisf = @{
        key_present = $bisfPresent
        version = $bisfVersion
        path = $bisfPath
        path_exists = $bisfPathExists
    }

    $horizonPresent = Test-FieldkitRegistryKey -SubKey $script:HorizonAgentKey
    $horizonVersion = $null
    if ($horizonPresent) {
        $horizonVersion = ConvertTo-FieldkitOptionalString -Value (Get-FieldkitRegistryValue -SubKey $script:HorizonVdmKey -ValueName 'ProductVersion')
    }
    $horizon = @{
        vmware_key_present = $horizonPresent
        omnissa_key_present = (Test-FieldkitRegistryKey -SubKey $script:OmnissaAgentKey)
        version = $horizonVersion
    }

    $avd = @{
        key_present = (Test-FieldkitRegistryKey -SubKey $script:AvdAgentKey)
        agent_service_present = (Test-FieldkitServiceExists -Name $script:AvdAgentService)
        boot_loader_service_present = (Test-FieldkitServiceExists -Name $script:AvdBootLoaderService)
    }
    return @{ citrix_vda = $citrix; bisf = $bisf; horizon = $horizon; avd = $avd }
}

Export-ModuleMember -Function @(
    'Get-FieldkitClientInstall',
    'Get-FieldkitImagingPlatform'
)
