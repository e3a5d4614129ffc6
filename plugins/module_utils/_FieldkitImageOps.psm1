# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# Image-prep ops of the mecm.fieldkit op registry (plugins/plugin_utils/_ops_image.py) that only a generalize run
# runs: the removal of the client identity and the host record's write. The guards and the record's read and clear
# are in _FieldkitImageCommon, the capture-ready gate and sysprep in _FieldkitImageFinishOps, the optional steps in
# _FieldkitImageOptionOps, the MP block rule in _FieldkitFirewallOps and ccmsetup in _FieldkitCcmSetupOps, so that
# each runner ships only what its batches run (plugins/plugin_utils/_ops.py, RUNNERS). Mutating ops return
# @{ changed; before; after } and change nothing with -CheckMode. Targets Windows PowerShell 5.1.
# Nothing here has been run on Windows by the authors' test suite: the simulated lab checks that it
# parses and that its parameters match the registry; keep it small and mechanical.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitSystemOps
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientOps
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitImageCommon

Set-StrictMode -Version 2.0

$script:CimTimeoutSeconds = 30
$script:MobileClientKey = 'SOFTWARE\Microsoft\SMS\Mobile Client'
$script:MarkersKey = 'SOFTWARE\mecm.fieldkit\Markers'
# What the batch is about to remove, kept until a run has reported it (see Set-FieldkitImagePrepRecord).
$script:ImagePrepRecordKey = 'SOFTWARE\mecm.fieldkit\ImagePrep'
$script:ClientAuthEku = '1.3.6.1.5.5.7.3.2'
$script:ErrorNotSupported = 50
$script:ErrorInvalidParameter = 87

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

Export-ModuleMember -Function @(
    'Set-FieldkitScheduledTaskEnabled',
    'Set-FieldkitImagePrepRecord',
    'Remove-FieldkitWmiInstance',
    'Reset-FieldkitClientSiteAssignment',
    'Get-FieldkitAmbiguousFilterMessage',
    'Get-FieldkitMatchingCertificate',
    'Remove-FieldkitCertificate',
    'Remove-FieldkitFile'
)
