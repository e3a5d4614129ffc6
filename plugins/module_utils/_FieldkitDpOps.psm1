# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# The ops only a distribution point runs (win_sccm_dp_facts, runner sccm_op_runner_dp; registry:
# plugins/plugin_utils/_ops_dp.py): DP role, the local root\SCCMDP test, WMI Root security, local group members.
# The ops and helpers the site server side also runs are in _FieldkitDpShared.psm1.
# Read-only ops return a data hashtable; failures throw an ErrorRecord with the Windows error code.
# Expected negative answers (a WMI namespace that does not exist) are data, not failures. Targets Windows PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitDpShared

Set-StrictMode -Version 2.0

$script:DpKey = 'SOFTWARE\Microsoft\SMS\DP'
$script:IdentificationKey = 'SOFTWARE\Microsoft\SMS\Identification'
$script:ClassNamePattern = '\A[A-Za-z_][A-Za-z0-9_]{0,255}\z'

Function Get-FieldkitDpRole {
    <#
    .SYNOPSIS
    Op dp.read_role: the distribution point role registry and the SMS_DP$ share.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param ()

    $registryPresent = Test-FieldkitRegistryKey -SubKey $script:DpKey
    $evidence = [System.Collections.Generic.List[string]]::new()
    if ($registryPresent) {
        $evidence.Add('registry key HKLM\SOFTWARE\Microsoft\SMS\DP exists')
    }
    $share = Get-CimInstance -ClassName 'Win32_Share' -Filter 'Name=''SMS_DP$''' -OperationTimeoutSec 30 -ErrorAction SilentlyContinue
    $sharePath = $null
    if ($null -ne $share) {
        $sharePath = [string]$share.Path
        $evidence.Add('share SMS_DP$ exists')
    }
    $libraryPath = Get-FieldkitRegistryValue -SubKey $script:DpKey -ValueName 'ContentLibraryPath'
    $drivesRaw = [string](Get-FieldkitRegistryValue -SubKey $script:DpKey -ValueName 'ContentLibUsableDrives')
    $drives = @($drivesRaw -split '[,;]' | ForEach-Object { $_.Trim().TrimEnd('\') } | Where-Object { $_ })
    $flags = @{}
    foreach ($name in @('IsPullDP', 'IsPXE')) {
        $value = Get-FieldkitRegistryValue -SubKey $script:DpKey -ValueName $name
        $flags[$name] = $null
        if ($null -ne $value) {
            $flags[$name] = [int]$value -ne 0
        }
    }
    $siteServer = Get-FieldkitRegistryValue -SubKey $script:DpKey -ValueName 'SiteServer'
    $siteCode = Get-FieldkitRegistryValue -SubKey $script:IdentificationKey -ValueName 'Site Code'
    return @{
        installed = $registryPresent -and (($null -ne $libraryPath) -or ($null -ne $sharePath))
        registry_present = $registryPresent
        site_server = if ($null -ne $siteServer) { [string]$siteServer } else { $null }
        site_code = if ($null -ne $siteCode) { [string]$siteCode } else { $null }
        content_library_path = if ($null -ne $libraryPath) { [string]$libraryPath } else { $null }
        usable_drives = $drives
        is_pull_dp = $flags['IsPullDP']
        is_pxe = $flags['IsPXE']
        sms_dp_share_path = $sharePath
        evidence = $evidence.ToArray()
    }
}

Function Test-FieldkitWmiNamespace {
    <#
    .SYNOPSIS
    Op wmi.test_namespace: connect to a local WMI namespace and query a class; errors are data.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Namespace,

        [Parameter()]
        [string]
        $ClassName,

        [Parameter()]
        [int]
        $TimeoutSeconds = 30
    )

    if ($ClassName -and $ClassName -notmatch $script:ClassNamePattern) {
        throw (New-FieldkitErrorRecord -Code 0x80070057 -Message "class_name '$ClassName' is not a WMI class name" -Target 'class_name')
    }
    $result = @{
        namespace = $Namespace
        connected = $false
        class_name = $null
        class_present = $null
        instance_count = $null
        error = $null
        elapsed_ms = 0
    }
    if ($ClassName) {
        $result.class_name = $ClassName
    }
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $options = New-Object -TypeName System.Management.ConnectionOptions
    $options.Timeout = [TimeSpan]::FromSeconds($TimeoutSeconds)
    try {
        $scope = New-Object -TypeName System.Management.ManagementScope -ArgumentList @(('\\.\' + $Namespace), $options)
        $scope.Connect()
        $result.connected = $true
        if ($ClassName) {
            $query = New-Object -TypeName System.Management.ObjectQuery -ArgumentList ('SELECT * FROM ' + $ClassName)
            $enumeration = New-Object -TypeName System.Management.EnumerationOptions
            $enumeration.Timeout = [TimeSpan]::FromSeconds($TimeoutSeconds)
            $searcher = New-Object -TypeName System.Management.ManagementObjectSearcher -ArgumentList @($scope, $query, $enumeration)
            $count = 0
            foreach ($instance in $searcher.Get()) {
                $count++
                $instance.Dispose()
            }
            $result.class_present = $true
            $result.instance_count = $count
        }
    }
    catch {
        $result.error = ConvertTo-FieldkitErrorInfo -ErrorRecord $_ -Target $Namespace
        if ($result.connected -and $result.error.code -eq 2147749904) {
            $result.class_present = $false
        }
    }
    $result.elapsed_ms = [int]$watch.ElapsedMilliseconds
    return $result
}

Function Get-FieldkitWmiNamespaceSecurity {
    <#
    .SYNOPSIS
    Op wmi.read_namespace_security: SDDL and DACL entries of a WMI namespace (__SystemSecurity.GetSD).
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [string]
        $Namespace = 'root',

        [Parameter()]
        [int]
        $TimeoutSeconds = 30
    )

    $answer = Invoke-CimMethod -Namespace $Namespace -ClassName '__SystemSecurity' -MethodName 'GetSD' -OperationTimeoutSec $TimeoutSeconds -ErrorAction Stop
    if ($answer.ReturnValue -ne 0) {
        $message = "__SystemSecurity.GetSD on $Namespace returned $($answer.ReturnValue)"
        throw (New-FieldkitErrorRecord -Code ([int64]$answer.ReturnValue) -Message $message -Target $Namespace)
    }
    $descriptor = New-Object -TypeName System.Security.AccessControl.RawSecurityDescriptor -ArgumentList @([byte[]]$answer.SD, 0)
    $entries = [System.Collections.Generic.List[object]]::new()
    foreach ($ace in $descriptor.DiscretionaryAcl) {
        if ($ace -isnot [System.Security.AccessControl.CommonAce]) {
            continue
        }
        $sid = $ace.SecurityIdentifier.Value
        $type = 'allow'
        if ($ace.AceQualifier -eq [System.Security.AccessControl.AceQualifier]::AccessDenied) {
            $type = 'deny'
        }
        $flags = [int]$ace.AceFlags
        $lookup = Resolve-FieldkitSidName -Sid $sid
        $entries.Add(@{
            sid = $sid
            account = $lookup.name
            resolved = $lookup.resolved
            type = $type
            mask = ConvertTo-FieldkitUnsigned -Value ([int64]$ace.AccessMask)
            flags = $flags
            inherited = [bool]$ace.IsInherited
            container_inherit = ($flags -band 2) -ne 0
        })
    }
    $owner = $null
    if ($null -ne $descriptor.Owner) {
        $owner = $descriptor.Owner.Value
    }
    return @{
        namespace = $Namespace
        sddl = $descriptor.GetSddlForm([System.Security.AccessControl.AccessControlSections]::All)
        owner_sid = $owner
        entries = $entries.ToArray()
    }
}

Function Get-FieldkitLocalGroupMember {
    <#
    .SYNOPSIS
    Op group.read_members: direct members of a local group found by its SID (ADSI WinNT, tolerates orphaned SIDs).
    .DESCRIPTION
    The WinNT provider asks a domain controller about domain members, without a timeout: the members
    are enumerated in their own runspace within TimeoutSeconds (else the op fails with ERROR_TIMEOUT:
    a partial list would say that an account is not a member), their names translated with a
    deadline each (resolved false when not translated).
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $Sid,

        [Parameter()]
        [int]
        $TimeoutSeconds = 30
    )

    $group = Resolve-FieldkitSidName -Sid $Sid
    if (-not $group.resolved) {
        return @{ sid = $Sid; name = $null; exists = $false; members = @() }
    }
    $name = [string]$group.name
    # fieldkit-build: embedded powershell
    $script = @'
param ([string]$GroupName)
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$flags = [System.Reflection.BindingFlags]::GetProperty
$group = [ADSI]('WinNT://./' + $GroupName + ',group')
foreach ($member in @($group.psbase.Invoke('Members'))) {
    if ($null -eq $member) {
        continue
    }
    $type = $member.GetType()
    $memberSid = $null
    $class = 'unknown'
    $path = $null
    try {
        $sidBytes = [byte[]]$type.InvokeMember('objectSid', $flags, $null, $member, $null)
        $memberSid = (New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList @($sidBytes, 0)).Value
    }
    catch {
        $memberSid = $null
    }
    try {
        $class = [string]$type.InvokeMember('Class', $flags, $null, $member, $null)
    }
    catch {
        $class = 'unknown'
    }
    try {
        $path = [string]$type.InvokeMember('ADsPath', $flags, $null, $member, $null)
    }
    catch {
        $path = $null
    }
    @{ sid = $memberSid; class = $class; path = $path }
}
'@
    $run = Invoke-FieldkitIsolated -Script $script -ArgumentList @($name.Split('\')[-1]) -TimeoutSeconds $TimeoutSeconds
    if ($run.timed_out) {
        throw (New-FieldkitErrorRecord -Code 1460 -Message "members of $name not read within $TimeoutSeconds s" -Target $Sid)
    }
    if ($run.errors.Count -gt 0) {
        $info = ConvertTo-FieldkitErrorInfo -ErrorRecord $run.errors[0] -Target $Sid
        throw (New-FieldkitErrorRecord -Code $info.code -Message ("members of $name" + ': ' + $info.message) -Target $Sid)
    }
    $members = [System.Collections.Generic.List[object]]::new()
    foreach ($found in $run.output) {
        if ($found -isnot [hashtable]) {
            continue
        }
        $memberSid = $found['sid']
        if ([string]::IsNullOrEmpty([string]$memberSid) -and [string]$found['path'] -match '(S-1-\d+(-\d+)+)$') {
            # An orphaned member: WinNT names it by its SID string.
            $memberSid = $Matches[1]
        }
        $lookup = Resolve-FieldkitSidName -Sid ([string]$memberSid)
        $kind = ([string]$found['class']).ToLowerInvariant()
        if ($kind -eq 'user' -and $null -ne $lookup.name -and ([string]$lookup.name).EndsWith('$')) {
            $kind = 'computer'
        }
        $sidText = ConvertTo-FieldkitNullableString -Value $memberSid
        $members.Add(@{ sid = $sidText; name = $lookup.name; resolved = $lookup.resolved; class = $kind })
    }
    return @{ sid = $Sid; name = $name; exists = $true; members = $members.ToArray() }
}

Export-ModuleMember -Function @(
    'Get-FieldkitDpRole',
    'Test-FieldkitWmiNamespace',
    'Get-FieldkitWmiNamespaceSecurity',
    'Get-FieldkitLocalGroupMember'
)
