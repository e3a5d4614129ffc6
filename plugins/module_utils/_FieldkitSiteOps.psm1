# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# The ops only the primary site server runs (win_sccm_site_facts, runner sccm_op_runner_site; registry:
# plugins/plugin_utils/_ops_dp.py): source share access, and what the SMS Provider knows: site systems, package
# sources, the content distribution state per DP. The ops and helpers the DP side also runs are in
# _FieldkitDpShared.psm1.
# Read-only ops return a data hashtable; failures throw an ErrorRecord with the Windows error code.
# Expected negative answers (a source share that does not answer) are data, not failures. Targets Windows PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitDpShared

Set-StrictMode -Version 2.0

$script:HostNamePattern = '\A[A-Za-z0-9][A-Za-z0-9.-]{0,252}\z'
$script:PackageIdPattern = '\A[A-Za-z0-9]{3}[0-9A-Fa-f]{5}\z'
$script:DistributionMaxPackagesLimit = 1000
$script:DistributionMaxRowsLimit = 200000
$script:DistributionQueryChunk = 20

Function Test-FieldkitPathAccess {
    <#
    .SYNOPSIS
    Op path.test_access: whether the identity running the op can list local or UNC folders, and the free space behind them.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string[]]
        $Paths,

        [Parameter()]
        [int]
        $TimeoutSeconds = 15
    )

    Add-FieldkitNativeType
    # fieldkit-build: embedded powershell
    $script = @'
param ([string]$Path)
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$entry = @{ path = $Path; exists = $false; readable = $false; free_bytes = $null; total_bytes = $null; error = $null }
try {
    $entry.exists = [System.IO.Directory]::Exists($Path)
    $enumerator = [System.IO.Directory]::EnumerateFileSystemEntries($Path).GetEnumerator()
    [void]$enumerator.MoveNext()
    $entry.readable = $true
    $space = [Fieldkit.DiskSpace]::Get($Path)
    $entry.free_bytes = $space[0]
    $entry.total_bytes = $space[1]
}
catch {
    $inner = $_.Exception
    while ($null -ne $inner.InnerException) {
        $inner = $inner.InnerException
    }
    $code = [int64]$inner.HResult
    if ($inner -is [System.ComponentModel.Win32Exception]) {
        $code = [int64]2147942400 + [int64]$inner.NativeErrorCode
    }
    if ($code -lt 0) {
        $code = $code + [int64]4294967296
    }
    $entry.error = @{ code = $code; hresult = ('0x{0:X8}' -f $code); message = [string]$inner.Message; target = $Path }
}
$entry
'@
    $results = [System.Collections.Generic.List[object]]::new()
    foreach ($path in $Paths) {
        $expanded = [Environment]::ExpandEnvironmentVariables($path)
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $run = Invoke-FieldkitIsolated -Script $script -ArgumentList @($expanded) -TimeoutSeconds $TimeoutSeconds
        $entry = @{ path = $path; exists = $false; readable = $false; free_bytes = $null; total_bytes = $null; error = $null }
        if ($run.timed_out) {
            $entry.error = @{ code = 2147943860; hresult = '0x800705B4'; message = "no answer within $TimeoutSeconds s"; target = $path }
        }
        elseif ($run.errors.Count -gt 0) {
            $entry.exists = [System.IO.Directory]::Exists($expanded)
            $entry.error = ConvertTo-FieldkitErrorInfo -ErrorRecord $run.errors[0] -Target $path
        }
        elseif ($run.output.Count -gt 0) {
            $entry = $run.output[0]
            $entry.path = $path
        }
        $entry.elapsed_ms = [int]$watch.ElapsedMilliseconds
        $results.Add($entry)
    }
    $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
    return @{ identity = $identity; paths = $results.ToArray() }
}

Function Get-FieldkitSmsProvider {
    <#
    .SYNOPSIS
    The SMS Provider of the local site (SMS_ProviderLocation): machine, site code, namespace and the splat of a CIM query to it.
    .DESCRIPTION
    A provider on another machine is reached over DCOM. When no provider is found or it cannot be reached,
    error says why (never thrown) and machine, site_code and namespace are filled as far as they are known.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [int]
        $TimeoutSeconds
    )

    $provider = @{ machine = $null; site_code = $null; namespace = $null; cim_args = $null; error = $null }
    try {
        $location = @(Get-CimInstance -Namespace 'root\SMS' -ClassName 'SMS_ProviderLocation' -OperationTimeoutSec $TimeoutSeconds -ErrorAction Stop |
                Where-Object { $_.ProviderForLocalSite }) | Select-Object -First 1
        if ($null -eq $location) {
            $provider.error = @{ code = 2147749890; hresult = '0x80041002'; message = 'no SMS_ProviderLocation for the local site'; target = 'root\SMS' }
            return $provider
        }
        $provider.machine = [string]$location.Machine
        $provider.site_code = [string]$location.SiteCode
        $provider.namespace = 'root\SMS\site_' + $provider.site_code
        $cimArgs = @{ Namespace = $provider.namespace; OperationTimeoutSec = $TimeoutSeconds; ErrorAction = 'Stop' }
        $local = @($env:COMPUTERNAME, ([System.Net.NetworkInformation.IPGlobalProperties]::GetIPGlobalProperties().HostName))
        $machineShort = $provider.machine.Split('.')[0]
        if ($local -notcontains $machineShort) {
            $option = New-CimSessionOption -Protocol Dcom
            $sessionArgs = @{ ComputerName = $provider.machine; SessionOption = $option; OperationTimeoutSec = $TimeoutSeconds }
            $cimArgs.CimSession = New-CimSession @sessionArgs -ErrorAction Stop
        }
        $provider.cim_args = $cimArgs
    }
    catch {
        $provider.error = ConvertTo-FieldkitErrorInfo -ErrorRecord $_ -Target 'root\SMS'
    }
    return $provider
}

Function Get-FieldkitSmsSiteSystem {
    <#
    .SYNOPSIS
    Op sms.read_site_systems: site systems and their installation account from the SMS Provider (SMS_SCI_SysResUse).
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [int]
        $TimeoutSeconds = 30,

        [Parameter()]
        [int]
        $MaxDistributionPoints = 5000
    )

    $result = @{
        provider_available = $false
        provider_machine = $null
        namespace = $null
        site_code = $null
        systems = @()
        distribution_points = @()
        distribution_points_truncated = $false
        dp_info_error = $null
        error = $null
    }
    $provider = Get-FieldkitSmsProvider -TimeoutSeconds $TimeoutSeconds
    $result.provider_machine = $provider.machine
    $result.site_code = $provider.site_code
    $result.namespace = $provider.namespace
    if ($null -ne $provider.error) {
        $result.error = $provider.error
        return $result
    }
    try {
        $cimArgs = $provider.cim_args
        $filter = "RoleName = 'SMS Site System' OR RoleName = 'SMS Distribution Point'"
        $uses = @(Get-CimInstance @cimArgs -ClassName 'SMS_SCI_SysResUse' -Filter $filter)
        $result.provider_available = $true
    }
    catch {
        $result.error = ConvertTo-FieldkitErrorInfo -ErrorRecord $_ -Target 'root\SMS'
        return $result
    }
    $systems = @{}
    # Source DPs of a pull DP: the SourceDistributionPoints (NAL paths) and SourceDPRanks property lists of its
    # 'SMS Distribution Point' SysResUse, same order (what Set-CMDistributionPoint -SourceDistributionPoints /
    # -SourceDPRanks writes).
    $sources = @{}
    foreach ($use in $uses) {
        $server = ([string]$use.NetworkOSPath).TrimStart('\')
        $key = $server.ToLowerInvariant()
        if (-not $systems.ContainsKey($key)) {
            $systems[$key] = @{ server = $server; roles = [System.Collections.Generic.List[string]]::new(); use_machine_account = $null; user_name = $null }
        }
        $systems[$key].roles.Add([string]$use.RoleName)
        if ([string]$use.RoleName -eq 'SMS Distribution Point') {
            $paths = @()
            $ranks = @()
            foreach ($list in @($use.PropLists)) {
                if ($list.PropertyListName -eq 'SourceDistributionPoints') {
                    $paths = [string[]]@($list.Values | Where-Object { $null -ne $_ })
                }
                elseif ($list.PropertyListName -eq 'SourceDPRanks') {
                    $ranks = @($list.Values | Where-Object { $null -ne $_ } | ForEach-Object { [int]$_ })
                }
            }
            $sources[$key] = @{ paths = $paths; ranks = $ranks }
        }
        if ([string]$use.RoleName -eq 'SMS Site System') {
            foreach ($prop in @($use.Props)) {
                if ($prop.PropertyName -eq 'UseMachineAccount') {
                    $systems[$key].use_machine_account = [int]$prop.Value -ne 0
                }
                elseif ($prop.PropertyName -eq 'UserName' -and $prop.Value2) {
                    $systems[$key].user_name = [string]$prop.Value2
                }
            }
        }
    }
    $result.systems = @($systems.Values | ForEach-Object {
            @{ server = $_.server; roles = $_.roles.ToArray(); use_machine_account = $_.use_machine_account; user_name = $_.user_name }
        })
    # IsPullDP / IsPXE from the site ("SMS_DistributionPointInfo server WMI class", ConfigMgr SDK), not the DP's
    # registry.
    try {
        $query = 'SELECT ServerName, NALPath, IsPullDP, IsPXE FROM SMS_DistributionPointInfo'
        $infos = @(Get-CimInstance @cimArgs -Query $query | Select-Object -First ($MaxDistributionPoints + 1))
    }
    catch {
        $result.dp_info_error = ConvertTo-FieldkitErrorInfo -ErrorRecord $_ -Target ($provider.namespace + ':SMS_DistributionPointInfo')
        return $result
    }
    if ($infos.Count -gt $MaxDistributionPoints) {
        $result.distribution_points_truncated = $true
        $infos = @($infos | Select-Object -First $MaxDistributionPoints)
    }
    $dps = [System.Collections.Generic.List[hashtable]]::new()
    foreach ($info in $infos) {
        $server = [string]$info.ServerName
        $source = $sources[$server.ToLowerInvariant()]
        $entry = @{
            server = $server
            nal_path = [string]$info.NALPath
            is_pull_dp = [bool]$info.IsPullDP
            is_pxe = [bool]$info.IsPXE
            source_nal_paths = @()
            source_ranks = @()
        }
        if ($null -ne $source) {
            $entry.source_nal_paths = $source.paths
            $entry.source_ranks = $source.ranks
        }
        $dps.Add($entry)
    }
    $result.distribution_points = $dps.ToArray()
    return $result
}

Function Get-FieldkitSmsPackageSource {
    <#
    .SYNOPSIS
    Op sms.read_package_sources: the package source shares of the site (SMS_Package.PkgSourcePath) and access to each.
    .DESCRIPTION
    Reads at most MaxPackages packages from the SMS Provider, reduces their source paths to the distinct
    \\server\share roots (most used first, at most MaxShares) and tests each root as Test-FieldkitPathAccess
    does, as the identity running the op (SYSTEM: the site server's computer account). Sources that are not
    UNC paths are only counted. Provider errors are returned in error, never thrown.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter()]
        [int]
        $MaxPackages = 2000,

        [Parameter()]
        [int]
        $MaxShares = 10,

        [Parameter()]
        [int]
        $AccessTimeoutSeconds = 15,

        [Parameter()]
        [int]
        $TimeoutSeconds = 30
    )

    $result = @{
        provider_available = $false
        namespace = $null
        site_code = $null
        packages_read = 0
        packages_truncated = $false
        local_paths = 0
        shares = @()
        shares_truncated = $false
        identity = $null
        access = @()
        error = $null
    }
    $provider = Get-FieldkitSmsProvider -TimeoutSeconds $TimeoutSeconds
    $result.site_code = $provider.site_code
    $result.namespace = $provider.namespace
    if ($null -ne $provider.error) {
        $result.error = $provider.error
        return $result
    }
    $cimArgs = $provider.cim_args
    try {
        $packages = @(Get-CimInstance @cimArgs -Query 'SELECT PackageID, PkgSourcePath FROM SMS_Package' | Select-Object -First ($MaxPackages + 1))
        $result.provider_available = $true
    }
    catch {
        $result.error = ConvertTo-FieldkitErrorInfo -ErrorRecord $_ -Target ($provider.namespace + ':SMS_Package')
        return $result
    }
    if ($packages.Count -gt $MaxPackages) {
        $result.packages_truncated = $true
        $packages = @($packages | Select-Object -First $MaxPackages)
    }
    $result.packages_read = $packages.Count
    $uncRoot = [regex]::new('\A(\\\\[^\\/:*?"<>|]+\\[^\\/:*?"<>|]+)')
    $roots = @{}
    $order = [System.Collections.Generic.List[string]]::new()
    foreach ($package in $packages) {
        $source = ([string]$package.PkgSourcePath).Trim()
        if ($source.Length -eq 0) {
            continue
        }
        $match = $uncRoot.Match($source)
        if (-not $match.Success) {
            $result.local_paths = $result.local_paths + 1
            continue
        }
        $root = $match.Groups[1].Value
        $key = $root.ToLowerInvariant()
        if (-not $roots.ContainsKey($key)) {
            $roots[$key] = @{ path = $root; packages = 0 }
            $order.Add($key)
        }
        $roots[$key].packages = $roots[$key].packages + 1
    }
    $byUse = @{ Expression = { $_.packages }; Descending = $true }
    $byPath = @{ Expression = { $_.path }; Descending = $false }
    $ranked = @($order | ForEach-Object { $roots[$_] } | Sort-Object -Property @($byUse, $byPath))
    if ($ranked.Count -gt $MaxShares) {
        $result.shares_truncated = $true
        $ranked = @($ranked | Select-Object -First $MaxShares)
    }
    $result.shares = $ranked
    if ($ranked.Count -gt 0) {
        $paths = [string[]]@($ranked | ForEach-Object { [string]$_.path })
        $access = Test-FieldkitPathAccess -Paths $paths -TimeoutSeconds $AccessTimeoutSeconds
        $result.identity = $access.identity
        $result.access = $access.paths
    }
    return $result
}

Function Get-FieldkitDistributionServerName {
    <#
    .SYNOPSIS
    The server of a ConfigMgr NAL path or DP name, lower case: the last \\server\ of the path, else the name itself.
    .DESCRIPTION
    A NAL path reads ["Display=\\dp01.contoso.local\"]MSWNET:["SMS_SITE=PS1"]\\dp01.contoso.local\ (ServerNALPath of
    SMS_PackageStatusDistPointsSummarizer, NALPath of SMS_DPStatusInfo, NalPath of SMS_DistributionDPStatus).
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter()]
        [AllowNull()]
        [AllowEmptyString()]
        [string]
        $Value
    )

    if ([string]::IsNullOrEmpty($Value)) {
        return $null
    }
    $found = [regex]::Matches($Value, '\\\\([A-Za-z0-9][A-Za-z0-9.-]*)\\')
    if ($found.Count -gt 0) {
        return $found[$found.Count - 1].Groups[1].Value.TrimEnd('.').ToLowerInvariant()
    }
    if ($Value -match $script:HostNamePattern) {
        return $Value.TrimEnd('.').ToLowerInvariant()
    }
    return $null
}

Function Invoke-FieldkitDistributionQuery {
    <#
    .SYNOPSIS
    One WQL query of the SMS Provider within the op's deadline and row bound: @{ rows; truncated; timed_out; error }.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [hashtable]
        $CimArgs,

        [Parameter(Mandatory = $true)]
        [string]
        $Query,

        [Parameter(Mandatory = $true)]
        [System.Diagnostics.Stopwatch]
        $Watch,

        [Parameter(Mandatory = $true)]
        [int]
        $TimeoutSeconds,

        [Parameter(Mandatory = $true)]
        [int]
        $MaxRows,

        [Parameter(Mandatory = $true)]
        [string]
        $Target
    )

    $answer = @{ rows = @(); truncated = $false; timed_out = $false; error = $null }
    $remaining = $TimeoutSeconds - [int][math]::Ceiling($Watch.Elapsed.TotalSeconds)
    if ($remaining -lt 1 -or $MaxRows -lt 1) {
        $answer.timed_out = $remaining -lt 1
        $answer.truncated = $MaxRows -lt 1
        return $answer
    }
    $queryArgs = @{}
    foreach ($key in $CimArgs.Keys) {
        $queryArgs[$key] = $CimArgs[$key]
    }
    $queryArgs.OperationTimeoutSec = $remaining
    try {
        $rows = @(Get-CimInstance @queryArgs -Query $Query | Select-Object -First ($MaxRows + 1))
    }
    catch {
        if ($Watch.Elapsed.TotalSeconds -ge $TimeoutSeconds) {
            $answer.timed_out = $true
        }
        else {
            $answer.error = ConvertTo-FieldkitErrorInfo -ErrorRecord $_ -Target $Target
        }
        return $answer
    }
    if ($rows.Count -gt $MaxRows) {
        $answer.truncated = $true
        $rows = @($rows | Select-Object -First $MaxRows)
    }
    $answer.rows = $rows
    return $answer
}

Function Get-FieldkitPackageIdFilter {
    <#
    .SYNOPSIS
    A WQL condition PackageID = 'A' OR PackageID = 'B' ... for package IDs already checked against PackageIdPattern.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [string[]]
        $PackageIds
    )

    $terms = foreach ($id in $PackageIds) {
        $literal = ConvertTo-FieldkitWqlString -Value $id
        "PackageID = '$literal'"
    }
    return ($terms -join ' OR ')
}

Function Get-FieldkitSmsDistributionStatus {
    <#
    .SYNOPSIS
    Op sms.read_distribution_status: content state per DP from the SMS Provider; installed content is counted, the rest listed.
    .DESCRIPTION
    Classes, properties and values as the ConfigMgr SDK documents them (learn.microsoft.com, Configuration
    Manager SDK, "SMS_DPStatusInfo Server WMI Class": NumberInstalled, NumberInProgress, NumberErrors, NumberUnknown
    per DP; "SMS_PackageStatusDistPointsSummarizer Server WMI Class": State INSTALLED 0, INSTALL_PENDING 1,
    INSTALL_RETRYING 2, INSTALL_FAILED 3, REMOVAL_PENDING 4, REMOVAL_RETRYING 5, REMOVAL_FAILED 6,
    CONTENT_UPDATING 7, CONTENT_MONITORING 8, SourceVersion, SummaryDate; "SMS_DistributionDPStatus Server WMI
    Class": the status message a DP last reported for a package, MessageID, MessageState, MessageSeverity,
    LastUpdateDate, InsString1-10). Names come from SMS_PackageBaseclass. Every query shares one deadline
    (TimeoutSeconds) and reads at most MaxRows rows; what is not read by then is left out and flagged
    (timed_out, rows_truncated). Provider errors are returned in error, never thrown.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [string[]]
        $DistributionPoints,

        [Parameter()]
        [int]
        $MaxPackages = 50,

        [Parameter()]
        [int]
        $MaxRows = 20000,

        [Parameter()]
        [int]
        $TimeoutSeconds = 60
    )

    foreach ($dp in $DistributionPoints) {
        if ($dp -notmatch $script:HostNamePattern) {
            throw (New-FieldkitErrorRecord -Code 0x80070057 -Message "distribution point '$dp' is not a host name" -Target 'distribution_points')
        }
    }
    if ($MaxPackages -lt 0 -or $MaxPackages -gt $script:DistributionMaxPackagesLimit) {
        throw (New-FieldkitErrorRecord -Code 0x80070057 -Message "max_packages $MaxPackages is not allowed; allowed: 0 to $($script:DistributionMaxPackagesLimit)" -Target 'max_packages')
    }
    if ($MaxRows -lt 1 -or $MaxRows -gt $script:DistributionMaxRowsLimit) {
        throw (New-FieldkitErrorRecord -Code 0x80070057 -Message "max_rows $MaxRows is not allowed; allowed: 1 to $($script:DistributionMaxRowsLimit)" -Target 'max_rows')
    }
    if ($TimeoutSeconds -lt 1) {
        throw (New-FieldkitErrorRecord -Code 0x80070057 -Message "timeout_seconds $TimeoutSeconds is not allowed; allowed: 1 or more" -Target 'timeout_seconds')
    }

    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $result = @{
        provider_available = $false
        namespace = $null
        site_code = $null
        dps = @()
        rows_read = 0
        rows_truncated = $false
        timed_out = $false
        elapsed_ms = 0
        error = $null
    }
    # Requested DPs by lower-case name, and a lookup from a server name (FQDN or short name) to that key.
    $entries = @{}
    $order = [System.Collections.Generic.List[string]]::new()
    $lookup = @{}
    $shortCount = @{}
    foreach ($dp in $DistributionPoints) {
        $key = $dp.TrimEnd('.').ToLowerInvariant()
        if ($entries.ContainsKey($key)) {
            continue
        }
        $entries[$key] = @{
            name = $dp
            found = $false
            total = $null
            installed = $null
            in_progress = $null
            errors = $null
            unknown = $null
            packages = [System.Collections.Generic.List[hashtable]]::new()
            packages_truncated = $false
        }
        $order.Add($key)
        $lookup[$key] = $key
        $short = $key.Split('.')[0]
        $shortCount[$short] = 1 + [int]$shortCount[$short]
    }
    foreach ($key in $order) {
        $short = $key.Split('.')[0]
        if ($shortCount[$short] -eq 1 -and -not $lookup.ContainsKey($short)) {
            $lookup[$short] = $key
        }
    }

    $provider = Get-FieldkitSmsProvider -TimeoutSeconds $TimeoutSeconds
    $result.site_code = $provider.site_code
    $result.namespace = $provider.namespace
    if ($null -ne $provider.error) {
        $result.error = $provider.error
        $result.elapsed_ms = [int]$watch.ElapsedMilliseconds
        $result.dps = @($order | ForEach-Object {
                $entry = $entries[$_]
                $entry.packages = @()
                $entry
            })
        return $result
    }
    $common = @{ CimArgs = $provider.cim_args; Watch = $watch; TimeoutSeconds = $TimeoutSeconds }

    # 1. Counts per DP (one row per DP).
    $query = 'SELECT Name, NALPath, NumberInstalled, NumberInProgress, NumberErrors, NumberUnknown FROM SMS_DPStatusInfo'
    $answer = Invoke-FieldkitDistributionQuery @common -Query $query -MaxRows $MaxRows -Target ($provider.namespace + ':SMS_DPStatusInfo')
    if ($null -ne $answer.error) {
        $result.error = $answer.error
    }
    else {
        $result.provider_available = -not $answer.timed_out
    }
    $result.timed_out = $answer.timed_out
    $result.rows_truncated = $answer.truncated
    $result.rows_read = $answer.rows.Count
    foreach ($row in $answer.rows) {
        $server = Get-FieldkitDistributionServerName -Value ([string]$row.Name)
        if ($null -eq $server) {
            $server = Get-FieldkitDistributionServerName -Value ([string]$row.NALPath)
        }
        $key = $null
        if ($null -ne $server) {
            $key = $lookup[$server]
            if ($null -eq $key) {
                $key = $lookup[$server.Split('.')[0]]
            }
        }
        if ($null -eq $key) {
            continue
        }
        $entry = $entries[$key]
        $entry.found = $true
        $entry.installed = [int]$row.NumberInstalled
        $entry.in_progress = [int]$row.NumberInProgress
        $entry.errors = [int]$row.NumberErrors
        $entry.unknown = [int]$row.NumberUnknown
        $entry.total = $entry.installed + $entry.in_progress + $entry.errors + $entry.unknown
    }

    # 2. Content that is not installed (State <> 0), per DP at most MaxPackages.
    $items = @{}
    if ($null -eq $result.error -and -not $result.timed_out) {
        $query = 'SELECT PackageID, ServerNALPath, SourceVersion, State, SummaryDate FROM SMS_PackageStatusDistPointsSummarizer WHERE State <> 0'
        $answer = Invoke-FieldkitDistributionQuery @common -Query $query -MaxRows $MaxRows -Target ($provider.namespace + ':SMS_PackageStatusDistPointsSummarizer')
        if ($null -ne $answer.error) {
            $result.error = $answer.error
        }
        $result.timed_out = $answer.timed_out
        $result.rows_truncated = $result.rows_truncated -or $answer.truncated
        $result.rows_read = $result.rows_read + $answer.rows.Count
        foreach ($row in $answer.rows) {
            $server = Get-FieldkitDistributionServerName -Value ([string]$row.ServerNALPath)
            $packageId = [string]$row.PackageID
            if ($null -eq $server -or $packageId -notmatch $script:PackageIdPattern) {
                continue
            }
            $key = $lookup[$server]
            if ($null -eq $key) {
                $key = $lookup[$server.Split('.')[0]]
            }
            if ($null -eq $key) {
                continue
            }
            $entry = $entries[$key]
            $entry.found = $true
            if ($entry.packages.Count -ge $MaxPackages) {
                $entry.packages_truncated = $true
                continue
            }
            $item = @{
                package_id = $packageId.ToUpperInvariant()
                name = $null
                state = [int]$row.State
                source_version = $null
                summary_time = ConvertTo-FieldkitUtcString -Value $row.SummaryDate
                message_id = $null
                message_state = $null
                message_severity = $null
                message_time = $null
                insertion_strings = @()
            }
            if ($null -ne $row.SourceVersion) {
                $item.source_version = [int64]$row.SourceVersion
            }
            $entry.packages.Add($item)
            $items[$key + '|' + $item.package_id] = $item
        }
    }

    # 3. The last status message per DP and listed package, and 4. the package names, queried by package ID.
    $packageIds = @($items.Values | ForEach-Object { [string]$_.package_id } | Sort-Object -Unique)
    $chunkSize = $script:DistributionQueryChunk
    for ($start = 0; $start -lt $packageIds.Count -and $null -eq $result.error -and -not $result.timed_out; $start += $chunkSize) {
        $last = [math]::Min($start + $chunkSize, $packageIds.Count) - 1
        $filter = Get-FieldkitPackageIdFilter -PackageIds ([string[]]$packageIds[$start..$last])
        $query = 'SELECT Name, NalPath, PackageID, MessageID, MessageState, MessageSeverity, LastUpdateDate, InsString1, InsString2, InsString3 FROM SMS_DistributionDPStatus WHERE ' + $filter
        $answer = Invoke-FieldkitDistributionQuery @common -Query $query -MaxRows ($MaxRows - $result.rows_read) -Target ($provider.namespace + ':SMS_DistributionDPStatus')
        if ($null -ne $answer.error) {
            $result.error = $answer.error
        }
        $result.timed_out = $answer.timed_out
        $result.rows_truncated = $result.rows_truncated -or $answer.truncated
        $result.rows_read = $result.rows_read + $answer.rows.Count
        foreach ($row in $answer.rows) {
            $server = Get-FieldkitDistributionServerName -Value ([string]$row.Name)
            if ($null -eq $server) {
                $server = Get-FieldkitDistributionServerName -Value ([string]$row.NalPath)
            }
            if ($null -eq $server) {
                continue
            }
            $key = $lookup[$server]
            if ($null -eq $key) {
                $key = $lookup[$server.Split('.')[0]]
            }
            $item = $null
            if ($null -ne $key) {
                $item = $items[$key + '|' + ([string]$row.PackageID).ToUpperInvariant()]
            }
            if ($null -eq $item) {
                continue
            }
            $time = ConvertTo-FieldkitUtcString -Value $row.LastUpdateDate
            if ($null -ne $item.message_time -and $null -ne $time -and [string]::CompareOrdinal([string]$time, [string]$item.message_time) -lt 0) {
                continue
            }
            $item.message_id = [int64]$row.MessageID
            $item.message_state = [int64]$row.MessageState
            $item.message_severity = [int64]$row.MessageSeverity
            $item.message_time = $time
            $strings = [System.Collections.Generic.List[string]]::new()
            foreach ($text in @($row.InsString1, $row.InsString2, $row.InsString3)) {
                $value = [string]$text
                if ($value.Length -gt 256) {
                    $value = $value.Substring(0, 256)
                }
                $strings.Add($value)
            }
            $item.insertion_strings = $strings.ToArray()
        }
        if ($null -ne $result.error -or $result.timed_out) {
            break
        }
        $query = 'SELECT PackageID, Name FROM SMS_PackageBaseclass WHERE ' + $filter
        $answer = Invoke-FieldkitDistributionQuery @common -Query $query -MaxRows ($MaxRows - $result.rows_read) -Target ($provider.namespace + ':SMS_PackageBaseclass')
        if ($null -ne $answer.error) {
            $result.error = $answer.error
        }
        $result.timed_out = $answer.timed_out
        $result.rows_truncated = $result.rows_truncated -or $answer.truncated
        $result.rows_read = $result.rows_read + $answer.rows.Count
        $names = @{}
        foreach ($row in $answer.rows) {
            $names[([string]$row.PackageID).ToUpperInvariant()] = [string]$row.Name
        }
        foreach ($item in $items.Values) {
            if ($names.ContainsKey([string]$item.package_id)) {
                $item.name = $names[[string]$item.package_id]
            }
        }
    }

    $result.dps = @($order | ForEach-Object {
            $entry = $entries[$_]
            $entry.packages = $entry.packages.ToArray()
            $entry
        })
    $result.elapsed_ms = [int]$watch.ElapsedMilliseconds
    return $result
}

Export-ModuleMember -Function @(
    'Test-FieldkitPathAccess',
    'Get-FieldkitSmsSiteSystem',
    'Get-FieldkitSmsPackageSource',
    'Get-FieldkitSmsDistributionStatus'
)
