# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# Helpers of the ops that run on ConfigMgr clients and reference machines (_FieldkitSystemOps, _FieldkitClientOps and
# the image-prep utils): CIM instance sets, certificate template extensions (DER), the client's assigned site through
# COM, and the markers mecm.fieldkit keeps in the registry. Shipped by the client and image runners only: the DP and
# site server runners call none of them, and a module execution carries every module util its runner names (about
# 1.9 bytes on the wire per byte). Targets Windows PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon

Set-StrictMode -Version 2.0

$script:MarkersKey = 'SOFTWARE\mecm.fieldkit\Markers'
# Certificate template extensions: v2 template information (DER SEQUENCE { templateID OID, major, minor },
# [MS-WCCE] 2.2.2.7.7.2) and the v1 template name ([MS-WCCE] 2.2.2.7.7.1).
$script:TemplateInformationOid = '1.3.6.1.4.1.311.21.7'
$script:TemplateNameOid = '1.3.6.1.4.1.311.20.2'

Function Get-FieldkitCimInstanceSet {
    <#
    .SYNOPSIS
    Instances of a WMI class, telling an absent namespace or class apart from an empty class.
    .DESCRIPTION
    Returns @{ namespace_present; class_present; instances; error }. Other CIM errors (access denied,
    provider failure, timeout) are thrown, or with -TolerateErrors returned in error
    (@{ namespace; class_name; code; hresult; message }) with namespace_present and class_present $null.
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
        [int]
        $TimeoutSeconds = 30,

        [Parameter()]
        [switch]
        $TolerateErrors
    )

    $set = @{ namespace_present = $true; class_present = $true; instances = @(); error = $null }
    try {
        $set.instances = @(Get-CimInstance -Namespace $Namespace -ClassName $ClassName -OperationTimeoutSec $TimeoutSeconds -ErrorAction Stop)
    }
    catch [Microsoft.Management.Infrastructure.CimException] {
        $native = [string]$_.Exception.NativeErrorCode
        if ($native -eq 'InvalidNamespace') {
            $set.namespace_present = $false
            $set.class_present = $false
        }
        elseif ($native -eq 'InvalidClass') {
            $set.class_present = $false
        }
        elseif ($TolerateErrors) {
            $set.namespace_present = $null
            $set.class_present = $null
            $set.error = ConvertTo-FieldkitWmiError -ErrorRecord $_ -Namespace $Namespace -ClassName $ClassName
        }
        else {
            throw
        }
    }
    catch {
        # Not a CimException: e.g. a CIM session that cannot be created, or an operation timeout surfaced
        # as another exception type.
        if (-not $TolerateErrors) {
            throw
        }
        $set.namespace_present = $null
        $set.class_present = $null
        $set.error = ConvertTo-FieldkitWmiError -ErrorRecord $_ -Namespace $Namespace -ClassName $ClassName
    }
    return $set
}

Function ConvertTo-FieldkitWmiError {
    <#
    .SYNOPSIS
    The error of a failed WMI read as plain data for an op result.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.ErrorRecord]
        $ErrorRecord,

        [Parameter(Mandatory = $true)]
        [string]
        $Namespace,

        [Parameter(Mandatory = $true)]
        [string]
        $ClassName
    )

    $code = Get-FieldkitErrorCode -ErrorRecord $ErrorRecord
    return @{
        namespace = $Namespace
        class_name = $ClassName
        code = $code
        hresult = ('0x{0:X8}' -f $code)
        message = [string]$ErrorRecord.Exception.Message
    }
}

Function Get-FieldkitDerElement {
    <#
    .SYNOPSIS
    The DER element at Offset of Bytes as @{ tag; start; length; next }, or $null when it is malformed.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [byte[]]
        $Bytes,

        [Parameter(Mandatory = $true)]
        [int]
        $Offset
    )

    if ($Offset + 2 -gt $Bytes.Length) {
        return $null
    }
    $tag = [int]$Bytes[$Offset]
    $length = [int]$Bytes[$Offset + 1]
    $start = $Offset + 2
    if ($length -ge 128) {
        $count = $length - 128
        if ($count -lt 1 -or $count -gt 3 -or $start + $count -gt $Bytes.Length) {
            return $null
        }
        $length = 0
        for ($i = 0; $i -lt $count; $i++) {
            $length = ($length * 256) + [int]$Bytes[$start + $i]
        }
        $start = $start + $count
    }
    if ($start + $length -gt $Bytes.Length) {
        return $null
    }
    return @{ tag = $tag; start = $start; length = $length; next = $start + $length }
}

Function ConvertFrom-FieldkitDerOid {
    <#
    .SYNOPSIS
    The dotted text of a DER OBJECT IDENTIFIER body (X.690 8.19), or $null when it is malformed.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [byte[]]
        $Bytes,

        [Parameter(Mandatory = $true)]
        [int]
        $Start,

        [Parameter(Mandatory = $true)]
        [int]
        $Length
    )

    if ($Length -lt 1) {
        return $null
    }
    $arcs = [System.Collections.Generic.List[string]]::new()
    $value = [int64]0
    $open = $false
    for ($i = $Start; $i -lt $Start + $Length; $i++) {
        $byte = [int]$Bytes[$i]
        $value = ($value * 128) + ($byte -band 127)
        $open = $byte -ge 128
        if ($open) {
            continue
        }
        if ($arcs.Count -gt 0) {
            $arcs.Add([string]$value)
        }
        elseif ($value -lt 40) {
            $arcs.Add('0')
            $arcs.Add([string]$value)
        }
        elseif ($value -lt 80) {
            $arcs.Add('1')
            $arcs.Add([string]($value - 40))
        }
        else {
            $arcs.Add('2')
            $arcs.Add([string]($value - 80))
        }
        $value = [int64]0
    }
    if ($open) {
        return $null
    }
    return ($arcs.ToArray() -join '.')
}

Function ConvertFrom-FieldkitDerString {
    <#
    .SYNOPSIS
    The text of a DER BMPString, UTF8String, PrintableString or IA5String (or of the first one inside a SEQUENCE), or $null.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [byte[]]
        $Bytes
    )

    $element = Get-FieldkitDerElement -Bytes $Bytes -Offset 0
    if ($null -ne $element -and $element.tag -eq 48) {
        $element = Get-FieldkitDerElement -Bytes $Bytes -Offset $element.start
    }
    if ($null -eq $element) {
        return $null
    }
    if ($element.tag -eq 30) {
        return [System.Text.Encoding]::BigEndianUnicode.GetString($Bytes, $element.start, $element.length)
    }
    if ($element.tag -eq 12) {
        return [System.Text.Encoding]::UTF8.GetString($Bytes, $element.start, $element.length)
    }
    if ($element.tag -eq 19 -or $element.tag -eq 22) {
        return [System.Text.Encoding]::ASCII.GetString($Bytes, $element.start, $element.length)
    }
    return $null
}

Function Get-FieldkitCertificateTemplateInfo {
    <#
    .SYNOPSIS
    The certificate template of a certificate as @{ name; oid } (either may be $null).
    .DESCRIPTION
    oid is decoded from the DER of the certificate template information extension (v2 templates,
    1.3.6.1.4.1.311.21.7: SEQUENCE { templateID OBJECT IDENTIFIER, ... }, [MS-WCCE] 2.2.2.7.7.2); it is
    all a machine that cannot reach the directory can tell. name is the v1 template name extension
    (1.3.6.1.4.1.311.20.2, [MS-WCCE] 2.2.2.7.7.1), else the name Windows resolves for the v2 OID: the
    formatted extension reads "<label>=<name>(<oid>), ..." when the OID is known and "<label>=<oid>, ..."
    when it is not; only the text between the first "=" and "(<oid>)" is used, the label is localized.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [System.Security.Cryptography.X509Certificates.X509Certificate2]
        $Certificate
    )

    $name = $null
    $oid = $null
    foreach ($extension in $Certificate.Extensions) {
        $raw = [byte[]]$extension.RawData
        if ($extension.Oid.Value -eq $script:TemplateNameOid) {
            $text = ConvertFrom-FieldkitDerString -Bytes $raw
            if ($text) {
                $name = $text.Trim()
            }
        }
        elseif ($extension.Oid.Value -eq $script:TemplateInformationOid) {
            $sequence = Get-FieldkitDerElement -Bytes $raw -Offset 0
            if ($null -ne $sequence -and $sequence.tag -eq 48) {
                $inner = Get-FieldkitDerElement -Bytes $raw -Offset $sequence.start
                if ($null -ne $inner -and $inner.tag -eq 6) {
                    $oid = ConvertFrom-FieldkitDerOid -Bytes $raw -Start $inner.start -Length $inner.length
                }
            }
            if ($oid -and -not $name) {
                $formatted = [string]$extension.Format($false)
                $pattern = '=\s*(?<name>[^=]+?)\s*\(' + [regex]::Escape($oid) + '\)'
                $found = [regex]::Match($formatted, $pattern)
                if ($found.Success) {
                    $name = $found.Groups['name'].Value
                }
            }
        }
    }
    return @{ name = $name; oid = $oid }
}

Function Read-FieldkitComAssignedSite {
    <#
    .SYNOPSIS
    Microsoft.SMS.Client GetAssignedSite() as @{ site; error }: site '' only when the client is unassigned.
    .DESCRIPTION
    GetAssignedSite() returns the site code, or fails with SMSCLIENT_E_NOASSIGNEDSITE when the client is not
    assigned, or with a WMI (WBEM_E_*) or other error when it cannot tell
    (https://learn.microsoft.com/previous-versions/system-center/developer/cc146084(v=msdn.10)). The numeric
    value of SMSCLIENT_E_NOASSIGNEDSITE is not documented, so a failure counts as "unassigned" only when the
    registry agrees (RegistrySite, HKLM\SOFTWARE\Microsoft\SMS\Mobile Client AssignedSiteCode, is empty); otherwise site is $null and error carries the code, so that a
    caller never skips a reset because the COM object could not answer.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [object]
        $Client,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [string]
        $RegistrySite
    )

    try {
        return @{ site = [string]$Client.GetAssignedSite(); error = $null }
    }
    catch {
        $code = Get-FieldkitErrorCode -ErrorRecord $_
        $failure = @{ code = $code; hresult = ('0x{0:X8}' -f $code); message = [string]$_.Exception.Message }
        # WBEM_E_* (0x80041xxx) and Win32 failures (0x8007xxxx: access denied, RPC) say nothing about the
        # assignment; only another client code with an empty registry value reads as unassigned.
        $wbemError = ($code -band [int64]4294963200) -eq [int64]2147749888
        $win32Error = ($code -band [int64]4294901760) -eq [int64]2147942400
        if ($RegistrySite -eq '' -and -not $wbemError -and -not $win32Error) {
            return @{ site = ''; error = $failure }
        }
        return @{ site = $null; error = $failure }
    }
}

Function Set-FieldkitMarkerValue {
    <#
    .SYNOPSIS
    Writes (Value given) or deletes (Value omitted) one value under HKLM\SOFTWARE\mecm.fieldkit\Markers, 64-bit view;
    the key goes when its last value goes.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Marker,

        [Parameter()]
        [string]
        $Value
    )

    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    try {
        if ($Value) {
            $key = $base.CreateSubKey($script:MarkersKey)
            try {
                $key.SetValue($Marker, $Value, [Microsoft.Win32.RegistryValueKind]::String)
            }
            finally {
                $key.Dispose()
            }
            return
        }
        $key = $base.OpenSubKey($script:MarkersKey, $true)
        if ($null -eq $key) {
            return
        }
        try {
            $key.DeleteValue($Marker, $false)
            $left = $key.ValueCount + $key.SubKeyCount
        }
        finally {
            $key.Dispose()
        }
        if ($left -eq 0) {
            $base.DeleteSubKey($script:MarkersKey, $false)
        }
    }
    finally {
        $base.Dispose()
    }
}

Export-ModuleMember -Function @(
    'Get-FieldkitCimInstanceSet',
    'Get-FieldkitCertificateTemplateInfo',
    'Read-FieldkitComAssignedSite',
    'Set-FieldkitMarkerValue'
)
