# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# The firewall ops of image prep (plugins/plugin_utils/_ops_image.py): the rules that block the management points
# while the client installs on a reference machine (win_sccm_client_install), removed again by
# win_sccm_client_generalize (remove_mp_block_rules). Targets Windows PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon

Set-StrictMode -Version 2.0

$script:ErrorInvalidParameter = 87
$script:ErrorTimeout = 1460

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

Export-ModuleMember -Function @(
    'Get-FieldkitFirewallRule',
    'Set-FieldkitFirewallBlockRule'
)
