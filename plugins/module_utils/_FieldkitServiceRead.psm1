# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# Op service.read of the generic ops (plugins/plugin_utils/_ops_system.py), in a module util of its own: every runner
# reads services (the DP and site server runners read nothing else of _FieldkitSystemOps), and a module execution
# carries every module util its runner names (about 1.9 bytes on the wire per byte), so the DP and site runners load
# this file instead of the whole _FieldkitSystemOps. _FieldkitSystemOps requires it (service.ensure reads the state
# it changes). Targets Windows PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon

Set-StrictMode -Version 2.0

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

Export-ModuleMember -Function @(
    'Get-FieldkitServiceState'
)
