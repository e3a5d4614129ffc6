# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of the read-only host ops: os.read_info
# (Get-FieldkitOsInfo), time.read (Get-FieldkitTimeState), group.read_members
# (Get-FieldkitLocalGroupMember), event.query (Get-FieldkitEvent, on events the suite writes to the
# Application log with a throwaway source "mecm.fieldkit.tests") and process.list (Get-FieldkitProcess).
# NOT RUN by the project's CI or authors (no Windows there); see tests/windows/README.md.

BeforeAll {
    . "$PSScriptRoot\Fieldkit.TestHelpers.ps1"
    Assert-FieldkitTestHost
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitCommon.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitClientCommon.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitServiceRead.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitSystemOps.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitDpShared.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitDpOps.psm1" -Force -Global -DisableNameChecking
    Enter-FieldkitAnsibleSession
    $currentVersion = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion' -ErrorAction Stop
}

AfterAll {
    Exit-FieldkitAnsibleSession
}

Describe 'os.read_info (Get-FieldkitOsInfo)' {
    BeforeAll {
        $info = Get-FieldkitOsInfo -TimeoutSeconds 120
        $few = Get-FieldkitOsInfo -MaxHotfixes 1 -TimeoutSeconds 120
        $none = Get-FieldkitOsInfo -IncludeHotfixes $false
        $installed = @(Get-CimInstance -ClassName Win32_QuickFixEngineering -ErrorAction Stop)
    }

    It 'reads the build, UBR and product from the registry' {
        $info.build | Should -Be ([int]$currentVersion.CurrentBuildNumber)
        $info.build | Should -Be ([Environment]::OSVersion.Version.Build)
        $info.ubr | Should -Be ([int]$currentVersion.UBR)
        $info.product_name | Should -Be $currentVersion.ProductName
        $info.installation_type | Should -Be $currentVersion.InstallationType
        if ($null -eq $currentVersion.PSObject.Properties['DisplayVersion']) {
            $info.display_version | Should -BeNullOrEmpty
        }
        else {
            $info.display_version | Should -Be $currentVersion.DisplayVersion
        }
    }

    It 'reads names, paths and the code page of this session' {
        $info.computer_name | Should -Be $env:COMPUTERNAME
        $info.fqdn | Should -BeLike ([System.Net.Dns]::GetHostName() + '*')
        $info.system_drive | Should -Be $env:SystemDrive
        $info.windir | Should -Be $env:SystemRoot
        $info.temp_path | Should -Be ([System.IO.Path]::GetTempPath())
        $info.ansi_code_page | Should -Be ([System.Text.Encoding]::Default.CodePage)
        $info.ui_culture | Should -Be ([System.Globalization.CultureInfo]::CurrentUICulture.Name)
    }

    It 'lists IPv4 and IPv6 addresses of adapters that are up, never loopback or link-local' {
        $known = @(Get-NetIPAddress -ErrorAction Stop | ForEach-Object { $_.IPAddress.Split('%')[0] })
        foreach ($address in $info.ipv4_addresses) {
            $known | Should -Contain $address
            $address | Should -Not -BeLike '127.*'
        }
        foreach ($address in $info.ipv6_addresses) {
            $known | Should -Contain $address
            $address | Should -Not -Be '::1'
            $address | Should -Not -BeLike 'fe80:*'
        }
    }

    It 'lists the newest installed updates, at most max_hotfixes' {
        $info.hotfixes_collected | Should -BeTrue
        @($info.hotfixes).Count | Should -Be ([Math]::Min(40, $installed.Count))
        @($few.hotfixes).Count | Should -Be ([Math]::Min(1, $installed.Count))
        foreach ($hotfix in $info.hotfixes) {
            $hotfix.hotfix_id | Should -Not -BeNullOrEmpty
            @($installed | ForEach-Object { $_.HotFixID }) | Should -Contain $hotfix.hotfix_id
            $hotfix.Keys | Should -Not -Contain 'sort'
        }
    }

    It 'sorts the updates newest first, dates as yyyy-MM-dd' {
        $dated = @($info.hotfixes | Where-Object { $_.installed_on -match '^\d{4}-\d{2}-\d{2}$' } | ForEach-Object { $_.installed_on })
        ($dated -join ',') | Should -Be ((@($dated | Sort-Object -Descending)) -join ',')
    }

    It 'skips the updates when asked' {
        $none.hotfixes_collected | Should -BeFalse
        @($none.hotfixes).Count | Should -Be 0
    }
}

Describe 'time.read (Get-FieldkitTimeState)' {
    BeforeAll {
        $before = [DateTime]::UtcNow
        $time = Get-FieldkitTimeState -TimeoutSeconds 30
        $after = [DateTime]::UtcNow
        $parameters = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters' -ErrorAction SilentlyContinue
        $styles = [System.Globalization.DateTimeStyles]'AdjustToUniversal, AssumeUniversal'
        $utc = [DateTime]::Parse($time.utc_now, [System.Globalization.CultureInfo]::InvariantCulture, $styles)
    }

    It 'reads the clock in UTC, with milliseconds' {
        $time.utc_now | Should -Match '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$'
        $utc | Should -BeGreaterOrEqual $before.AddSeconds(-1)
        $utc | Should -BeLessOrEqual $after.AddSeconds(1)
    }

    It 'reads the time zone and its bias' {
        $zone = [TimeZoneInfo]::Local
        $time.timezone_id | Should -Be $zone.Id
        $time.bias_minutes | Should -Be ([int](-1 * $zone.GetUtcOffset([DateTime]::UtcNow).TotalMinutes))
    }

    It 'reads the Windows Time configuration from the registry' {
        $time.w32time_type | Should -Be ([string]$parameters.Type)
        $time.ntp_server | Should -Be ([string]$parameters.NtpServer)
    }

    It 'returns the w32tm /query /status lines, and the source when w32tm answers in English' {
        @($time.status_lines).Count | Should -BeLessOrEqual 30
        if (@($time.status_lines).Count -eq 0) {
            Set-ItResult -Skipped -Because 'w32tm /query /status printed nothing on stdout (is the Windows Time service running?)'
            return
        }
        $english = @($time.status_lines | Where-Object { $_ -like 'Source:*' })
        if ($english.Count -eq 0) {
            Set-ItResult -Skipped -Because 'w32tm did not answer with an English "Source:" line (service stopped or another language)'
            return
        }
        $expected = $english[0].Substring(7).Trim()
        $time.source | Should -Be $expected
    }
}

Describe 'group.read_members (Get-FieldkitLocalGroupMember)' {
    It 'reads <Sid> by SID, as Get-LocalGroupMember does' -ForEach @(
        @{ Sid = 'S-1-5-32-544' }
        @{ Sid = 'S-1-5-32-545' }
    ) {
        $group = Get-FieldkitLocalGroupMember -Sid $Sid
        $group.exists | Should -BeTrue
        $group.name | Should -Be (Get-FieldkitTestAccountName -Sid $Sid)
        foreach ($member in $group.members) {
            $member.class | Should -BeIn @('user', 'group', 'computer', 'unknown')
            $member.sid | Should -Match '^S-1-'
            $member.resolved | Should -BeIn @($true, $false)
        }
        $independent = $null
        try {
            $independent = @(Get-LocalGroupMember -SID $Sid -ErrorAction Stop | ForEach-Object { $_.SID.Value })
        }
        catch {
            # Get-LocalGroupMember fails on groups with orphaned or Azure AD members (a known limitation).
            $independent = $null
        }
        if ($null -eq $independent) {
            Set-ItResult -Inconclusive -Because 'Get-LocalGroupMember could not enumerate the group'
            return
        }
        @($group.members | ForEach-Object { $_.sid } | Sort-Object) -join ',' | Should -Be (@($independent | Sort-Object) -join ',')
    }

    It 'reports a SID that names no group without failing' {
        $group = Get-FieldkitLocalGroupMember -Sid 'S-1-5-32-999'
        $group.exists | Should -BeFalse
        $group.name | Should -BeNullOrEmpty
        @($group.members).Count | Should -Be 0
    }
}

Describe 'event.query (Get-FieldkitEvent)' {
    BeforeAll {
        $source = 'mecm.fieldkit.tests'
        $sourceExisted = [System.Diagnostics.EventLog]::SourceExists($source)
        if (-not $sourceExisted) {
            New-EventLog -LogName 'Application' -Source $source -ErrorAction Stop
        }
        $eventId = 4711
        $marker = [guid]::NewGuid().ToString('N')
        Write-EventLog -LogName 'Application' -Source $source -EventId $eventId -EntryType Information -Message ('mecm.fieldkit test event 1 ' + $marker)
        Write-EventLog -LogName 'Application' -Source $source -EventId $eventId -EntryType Error -Message ('mecm.fieldkit test event 2 ' + $marker)
        Write-EventLog -LogName 'Application' -Source $source -EventId $eventId -EntryType Warning -Message ('mecm.fieldkit test event 3 ' + $marker)
        Start-Sleep -Seconds 2
        $query = Get-FieldkitEvent -LogName 'Application' -ProviderName $source -EventIds @($eventId) -SinceHours 1
        $independent = @(Get-WinEvent -FilterHashtable @{ LogName = 'Application'; ProviderName = $source; Id = $eventId; StartTime = (Get-Date).AddHours(-1) } -ErrorAction Stop)
        $capped = Get-FieldkitEvent -LogName 'Application' -ProviderName $source -EventIds @($eventId) -SinceHours 1 -MaxCount 2 -MaxEvents 1
        $noMatch = Get-FieldkitEvent -LogName 'Application' -ProviderName $source -EventIds @(4712) -SinceHours 1
        $dcom = Get-FieldkitEvent -LogName 'System' -ProviderName 'Microsoft-Windows-DistributedCOM' -EventIds @(10036) -SinceHours 1
    }

    AfterAll {
        if (-not $sourceExisted) {
            Remove-EventLog -Source $source -ErrorAction SilentlyContinue
        }
    }

    It 'counts the events of a provider and id as Get-WinEvent does' {
        $query.log_name | Should -Be 'Application'
        $query.count | Should -Be ([Math]::Min(1000, $independent.Count))
        $query.count | Should -BeGreaterOrEqual 3
        $query.count_capped | Should -BeFalse
    }

    It 'returns the newest event first, with level, provider, UTC time, insertion strings and message' {
        $newest = $query.events[0]
        $newest.id | Should -Be $eventId
        $newest.level | Should -Be 'warning'
        $newest.provider | Should -Be $source
        $newest.time_utc | Should -Match '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$'
        @($newest.data) -join ' ' | Should -BeLike ('*mecm.fieldkit test event 3 ' + $marker + '*')
        $newest.message | Should -BeLike ('*mecm.fieldkit test event 3 ' + $marker + '*')
        @($query.events | Where-Object { $_.message -like ('*event 2 ' + $marker + '*') })[0].level | Should -Be 'error'
        @($query.events | Where-Object { $_.message -like ('*event 1 ' + $marker + '*') })[0].level | Should -Be 'info'
    }

    It 'caps the count at max_count and the list at max_events' {
        $capped.count | Should -Be 2
        $capped.count_capped | Should -BeTrue
        @($capped.events).Count | Should -Be 1
    }

    It 'counts 0 when nothing matches, without failing' {
        $noMatch.count | Should -Be 0
        @($noMatch.events).Count | Should -Be 0
        $dcom.count | Should -BeGreaterOrEqual 0
    }

    It 'counts 0 for a provider this host does not have (as the simulated lab does)' {
        $unknown = Get-FieldkitEvent -LogName 'System' -ProviderName 'mecm.fieldkit.tests.absent-provider' -EventIds @(1) -SinceHours 1
        $unknown.count | Should -Be 0
    }
}

Describe 'process.list (Get-FieldkitProcess)' {
    It 'lists running processes among the names given, and ignores the others' {
        $self = (Get-Process -Id $PID).ProcessName
        $listed = Get-FieldkitProcess -Names @($self, 'mecm-fieldkit-tests-absent')
        @($listed.processes | ForEach-Object { $_.pid }) | Should -Contain $PID
        @($listed.processes | Where-Object { $_.pid -eq $PID })[0].name | Should -Be $self
    }

    It 'returns an empty list when none runs' {
        $listed = Get-FieldkitProcess -Names @('mecm-fieldkit-tests-absent')
        @($listed.processes).Count | Should -Be 0
    }
}
