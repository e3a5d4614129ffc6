# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# Image-prep ops that a generalize run with its default options never runs: the optional steps (provisioning
# mode, group policy site assignment values, ccmcache) and the certificate filter guard. Shipped by the options
# runner only. Targets Windows PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitSystemOps
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientOps
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitImageCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitImageOps

Set-StrictMode -Version 2.0

$script:CcmExecKey = 'SOFTWARE\Microsoft\CCM\CcmExec'
$script:ErrorInvalidParameter = 87

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

Export-ModuleMember -Function @(
    'Assert-FieldkitCertificateFilter',
    'Set-FieldkitClientProvisioningMode',
    'Remove-FieldkitRegistryValue',
    'Clear-FieldkitFolder'
)
