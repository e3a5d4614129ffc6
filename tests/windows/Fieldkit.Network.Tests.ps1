# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of net.probe_targets (Test-FieldkitNetworkTarget)
# against this host: DNS, TCP 135 (open on every Windows host) and a closed port, the RPC endpoint
# mapper (the native Fieldkit.RpcEpm helper) and one dynamic RPC port, WMI over DCOM, the clock, an
# unresolvable name and the parallel runspace pool; and identity.read (Get-FieldkitIdentity).
# NOT RUN by the project's CI or authors (no Windows there); see tests/windows/README.md.

BeforeAll {
    . "$PSScriptRoot\Fieldkit.TestHelpers.ps1"
    Assert-FieldkitTestHost
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitCommon.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitDpShared.psm1" -Force -Global -DisableNameChecking
    Enter-FieldkitAnsibleSession

    Function Get-FieldkitTestClosedPort {
        # A TCP port nothing listens on: bind one, note it, release it.
        $listener = New-Object -TypeName System.Net.Sockets.TcpListener -ArgumentList @([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $port = ([System.Net.IPEndPoint]$listener.LocalEndpoint).Port
        $listener.Stop()
        return $port
    }
}

AfterAll {
    Exit-FieldkitAnsibleSession
}

Describe 'net.probe_targets (Test-FieldkitNetworkTarget) against localhost' {
    BeforeAll {
        $closedPort = Get-FieldkitTestClosedPort
        $probeArgs = @{
            Targets = @('localhost', 'mecm-fieldkit-tests.invalid')
            TcpPorts = @(135, $closedPort)
            WmiNamespace = 'root\cimv2'
            WmiClass = 'Win32_OperatingSystem'
            # Windows retries a SYN answered by RST for about a second before it reports "refused".
            ConnectTimeoutMs = 5000
            TimeoutSeconds = 90
            MaxParallel = 2
        }
        $probe = Test-FieldkitNetworkTarget @probeArgs
        $local = @($probe.targets | Where-Object { $_.target -eq 'localhost' })[0]
        $unresolved = @($probe.targets | Where-Object { $_.target -eq 'mecm-fieldkit-tests.invalid' })[0]
        $missingNamespace = Test-FieldkitNetworkTarget -Targets @('localhost') -TcpPorts @(135) -CheckEpm $false -CheckClock $false -WmiNamespace 'root\FieldkitTestAbsent' -WmiClass 'Win32_OperatingSystem' -TimeoutSeconds 60
    }

    It 'returns one result per target and the identity that probed' {
        @($probe.targets).Count | Should -Be 2
        $probe.identity | Should -Be ([System.Security.Principal.WindowsIdentity]::GetCurrent().Name)
        $probe.elapsed_ms | Should -BeOfType ([int])
        $local.timed_out | Should -BeFalse
    }

    It 'resolves localhost to 127.0.0.1' {
        $local.dns.resolved | Should -BeTrue
        @($local.dns.addresses) | Should -Contain '127.0.0.1'
    }

    It 'finds TCP 135 open and a closed port refused with WSAECONNREFUSED (10061, 0x8007274D)' {
        $open = @($local.tcp | Where-Object { $_.port -eq 135 })[0]
        $open.open | Should -BeTrue
        $open.error | Should -BeNullOrEmpty
        $closed = @($local.tcp | Where-Object { $_.port -eq $closedPort })[0]
        $closed.open | Should -BeFalse
        $closed.error.code | Should -Be 2147952461
    }

    It 'lists the endpoints of the RPC endpoint mapper and connects to a sample of its dynamic ports' {
        $local.epm.reachable | Should -BeTrue
        $local.epm.skipped | Should -BeFalse
        $local.epm.endpoint_count | Should -BeGreaterThan 0
        @($local.epm.endpoints).Count | Should -BeGreaterThan 0
        @($local.epm.endpoints).Count | Should -BeLessOrEqual 20
        $local.epm.endpoints[0].uuid | Should -Match '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        @($local.epm.sample_ports).Count | Should -BeGreaterThan 0
        @($local.epm.sample_ports).Count | Should -BeLessOrEqual 3
        foreach ($sample in $local.epm.sample_ports) {
            $sample.port | Should -BeGreaterOrEqual 1024
        }
        $local.epm.dynamic_port_open | Should -BeTrue
        $local.epm.error | Should -BeNullOrEmpty
    }

    It 'names every stage done' {
        foreach ($stage in @('dns', 'tcp', 'epm', 'wmi', 'clock')) {
            $local.stages[$stage] | Should -Be 'done'
        }
    }

    It 'probes only DNS and TCP 80/443, as a pull DP probes its source DPs (win_sccm_dp_facts source_dps)' {
        $pull = Test-FieldkitNetworkTarget -Targets @('localhost') -TcpPorts @(80, 443) -CheckEpm $false -CheckWmi $false -CheckClock $false -ConnectTimeoutMs 5000 -TimeoutSeconds 60 -MaxParallel 1
        $entry = @($pull.targets)[0]
        $entry.dns.resolved | Should -BeTrue
        @($entry.tcp | ForEach-Object { $_.port }) | Should -Be @(80, 443)
        foreach ($port in @($entry.tcp)) {
            $port.open | Should -BeOfType [bool]
        }
        foreach ($stage in @('epm', 'wmi', 'clock')) {
            $entry.stages[$stage] | Should -Be 'not_requested'
        }
    }

    It 'connects to WMI over DCOM as the identity running the probe' {
        $local.wmi.connected | Should -BeTrue
        $local.wmi.class_present | Should -BeTrue
        $local.wmi.identity | Should -Be $probe.identity
        $local.wmi.error | Should -BeNullOrEmpty
    }

    It 'reads the clock of the target (Win32_UTCTime over DCOM) within a few seconds of ours' {
        $local.clock.method | Should -Be 'wmi'
        [Math]::Abs($local.clock.offset_seconds) | Should -BeLessThan 5
        $local.clock.remote_utc | Should -Match '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$'
    }

    It 'reports an unresolvable name with WSAHOST_NOT_FOUND (11001, 0x80072AF9) and skips the rest' {
        $unresolved.dns.resolved | Should -BeFalse
        $unresolved.dns.error.code | Should -Be 2147953401
        @($unresolved.tcp | ForEach-Object { $_.open }) | Should -Not -Contain $true
        $unresolved.epm.skipped | Should -BeTrue
        $unresolved.epm.skip_reason | Should -Be 'dns_unresolved'
        $unresolved.wmi.skip_reason | Should -Be 'dns_unresolved'
        $unresolved.clock.skip_reason | Should -Be 'dns_unresolved'
        $unresolved.stages['epm'] | Should -Be 'skipped'
    }

    It 'reports a WMI namespace the target does not have with WBEM_E_INVALID_NAMESPACE (0x8004100E)' {
        $wmi = $missingNamespace.targets[0].wmi
        $wmi.connected | Should -BeFalse
        $wmi.error.code | Should -Be 2147749902
        $missingNamespace.targets[0].epm | Should -BeNullOrEmpty
        $missingNamespace.targets[0].clock | Should -BeNullOrEmpty
        $missingNamespace.targets[0].stages['epm'] | Should -Be 'not_requested'
    }

    It 'refuses a target that is not a host name, with E_INVALIDARG (0x80070057)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Test-FieldkitNetworkTarget -Targets @('bad name; x') }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
    }

    It 'refuses a WMI class that is not one, with E_INVALIDARG (0x80070057)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Test-FieldkitNetworkTarget -Targets @('localhost') -WmiClass 'A B' }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
    }
}

Describe 'net.probe_targets (Test-FieldkitNetworkTarget) against an address that never answers' {
    # 192.0.2.1 (RFC 5737, documentation only) never answers: each TCP connect waits connect_timeout_ms.
    It 'skips the RPC stages when TCP 135 does not answer (skip_reason tcp_135_closed)' {
        $probe = Test-FieldkitNetworkTarget -Targets @('192.0.2.1') -TcpPorts @(135) -ConnectTimeoutMs 1000 -CheckClock $false -TimeoutSeconds 30
        $target = $probe.targets[0]
        $target.timed_out | Should -BeFalse
        $target.tcp[0].open | Should -BeFalse
        $target.tcp[0].error.code | Should -Be 2147952460
        $target.epm.skipped | Should -BeTrue
        $target.epm.skip_reason | Should -Be 'tcp_135_closed'
        $target.epm.error.message | Should -BeLike 'not attempted: TCP 135 is closed*'
        $target.wmi.skip_reason | Should -Be 'tcp_135_closed'
    }

    It 'abandons a target after timeout_seconds and keeps the stages it finished' {
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $probe = Test-FieldkitNetworkTarget -Targets @('192.0.2.1') -TcpPorts @(135, 445, 80, 443) -ConnectTimeoutMs 3000 -CheckWmi $false -CheckClock $false -TimeoutSeconds 5
        $watch.Stop()
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 20
        $target = $probe.targets[0]
        $target.target | Should -Be '192.0.2.1'
        $target.timed_out | Should -BeTrue
        $target.stages['dns'] | Should -Be 'done'
        $target.stages['tcp'] | Should -Be 'timed_out'
        @($target.tcp).Count | Should -Be 4
        $target.tcp[0].port | Should -Be 135
        $target.tcp[-1].error.code | Should -Be 2147943860
        $target.stages['wmi'] | Should -Be 'not_requested'
    }
}

Describe 'identity.read (Get-FieldkitIdentity)' {
    BeforeAll {
        $identity = Get-FieldkitIdentity -TimeoutSeconds 15
        $withoutGroups = Get-FieldkitIdentity -IncludeComputerGroups $false
        $current = [System.Security.Principal.WindowsIdentity]::GetCurrent()
        $system = Get-CimInstance -ClassName Win32_ComputerSystem -ErrorAction Stop
    }

    It 'names the user running the batch' {
        $identity.user | Should -Be $current.Name
        $identity.user_sid | Should -Be $current.User.Value
        $identity.is_system | Should -Be $current.IsSystem
        $identity.computer_name | Should -Be $env:COMPUTERNAME
    }

    It 'has no computer account on a workgroup host' -Skip:([bool](Get-CimInstance -ClassName Win32_ComputerSystem).PartOfDomain) {
        $identity.domain | Should -BeNullOrEmpty
        $identity.computer_account | Should -BeNullOrEmpty
        @($identity.computer_groups).Count | Should -Be 0
    }

    It 'resolves the computer account and its domain groups on a domain member' -Skip:(-not [bool](Get-CimInstance -ClassName Win32_ComputerSystem).PartOfDomain) {
        $identity.domain | Should -Be $system.Domain
        $identity.computer_account | Should -BeLike ('*\' + $env:COMPUTERNAME + '$')
        $identity.computer_account_sid | Should -Match '^S-1-5-21-'
        if ($null -eq $identity.computer_groups_error) {
            @($identity.computer_groups | ForEach-Object { $_.sid }) | Should -Contain ($identity.computer_account_sid -replace '-\d+$', '-515')
        }
        @($withoutGroups.computer_groups).Count | Should -Be 0
    }
}
