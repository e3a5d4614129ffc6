# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of the service ops: service.read
# (Get-FieldkitServiceState), service.ensure (Set-FieldkitServiceState) and service.restore_recovery
# (Restore-FieldkitServiceRecovery), on two throwaway services that run the suite's own test tool (never a real
# service): start modes, start, stop, a stop that hangs (kill_on_timeout), the recovery actions a kill triggers
# and their suspension, and the Windows error codes.
# NOT RUN by the project's CI or authors (no Windows there); see tests/windows/README.md.

BeforeAll {
    . "$PSScriptRoot\Fieldkit.TestHelpers.ps1"
    Assert-FieldkitTestHost
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitCommon.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitClientCommon.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitServiceRead.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitSystemOps.psm1" -Force -Global -DisableNameChecking
    Enter-FieldkitAnsibleSession
    $serviceName = 'mecm.fieldkit.tests.svc'
    $hangName = 'mecm.fieldkit.tests.hang'
    $absentName = 'mecm.fieldkit.tests.absent'
    Remove-FieldkitTestService -Name $serviceName
    Remove-FieldkitTestService -Name $hangName
    $toolDir = New-FieldkitTestDirectory
    $tool = New-FieldkitTestTool -Directory $toolDir
    New-FieldkitTestService -Name $serviceName -ToolPath $tool -StartupType Manual
    New-FieldkitTestService -Name $hangName -ToolPath $tool -HangOnStop -StartupType Manual
}

AfterAll {
    Remove-FieldkitTestService -Name $serviceName
    Remove-FieldkitTestService -Name $hangName
    Remove-FieldkitTestDirectory -Path $toolDir
    Exit-FieldkitAnsibleSession
}

Describe 'service.read (Get-FieldkitServiceState)' {
    It 'reports an absent service without failing' {
        $state = Get-FieldkitServiceState -Name $absentName
        $state.name | Should -Be $absentName
        $state.exists | Should -BeFalse
        $state.state | Should -BeNullOrEmpty
        $state.start_mode | Should -BeNullOrEmpty
        $state.process_id | Should -BeNullOrEmpty
    }

    It 'reads the stopped, manual test service' {
        $state = Get-FieldkitServiceState -Name $serviceName
        $state.exists | Should -BeTrue
        $state.state | Should -Be 'stopped'
        $state.start_mode | Should -Be 'manual'
        $state.process_id | Should -BeNullOrEmpty
        (Get-Service -Name $serviceName -ErrorAction Stop).Status | Should -Be 'Stopped'
    }

    It 'reads a running Windows service (RpcSs) with its process id, as Win32_Service does' {
        $state = Get-FieldkitServiceState -Name 'RpcSs'
        $wmi = Get-CimInstance -ClassName Win32_Service -Filter "Name='RpcSs'" -ErrorAction Stop
        $state.state | Should -Be 'running'
        $state.start_mode | Should -Be 'auto'
        $state.process_id | Should -Be ([int]$wmi.ProcessId)
    }
}

Describe 'service.ensure (Set-FieldkitServiceState) sets the start mode <StartMode>' -ForEach @(
    @{ StartMode = 'delayed_auto'; Previous = 'manual' }
    @{ StartMode = 'auto'; Previous = 'delayed_auto' }
    @{ StartMode = 'disabled'; Previous = 'auto' }
    @{ StartMode = 'manual'; Previous = 'disabled' }
) {
    BeforeAll {
        $checkRun = Set-FieldkitServiceState -Name $serviceName -StartMode $StartMode -CheckMode
        $afterCheck = Get-FieldkitTestServiceStartType -Name $serviceName
        $realRun = Set-FieldkitServiceState -Name $serviceName -StartMode $StartMode
        $afterReal = Get-FieldkitTestServiceStartType -Name $serviceName
        $secondRun = Set-FieldkitServiceState -Name $serviceName -StartMode $StartMode
    }

    It 'check mode reports the change and changes nothing' {
        $checkRun.changed | Should -BeTrue
        $checkRun.before.start_mode | Should -Be $Previous
        $checkRun.after.start_mode | Should -Be $StartMode
        $afterCheck | Should -Be $Previous
    }

    It 'the real run changes it and returns before and after' {
        $realRun.changed | Should -BeTrue
        $realRun.before.start_mode | Should -Be $Previous
        $realRun.after.start_mode | Should -Be $StartMode
        $realRun.after.killed | Should -BeFalse
        $afterReal | Should -Be $StartMode
    }

    It 'a second run is unchanged' {
        $secondRun.changed | Should -BeFalse
        $secondRun.before.start_mode | Should -Be $StartMode
        $secondRun.after.start_mode | Should -Be $StartMode
    }

    It 'the state is left alone' {
        (Get-Service -Name $serviceName -ErrorAction Stop).Status | Should -Be 'Stopped'
    }
}

Describe 'service.ensure (Set-FieldkitServiceState) starts and stops a service' {
    BeforeAll {
        $checkStart = Set-FieldkitServiceState -Name $serviceName -State 'running' -CheckMode
        $statusAfterCheck = (Get-Service -Name $serviceName -ErrorAction Stop).Status
        $realStart = Set-FieldkitServiceState -Name $serviceName -State 'running'
        $statusAfterStart = (Get-Service -Name $serviceName -ErrorAction Stop).Status
        $runningState = Get-FieldkitServiceState -Name $serviceName
        $secondStart = Set-FieldkitServiceState -Name $serviceName -State 'running'
        $checkStop = Set-FieldkitServiceState -Name $serviceName -State 'stopped' -CheckMode
        $statusAfterCheckStop = (Get-Service -Name $serviceName -ErrorAction Stop).Status
        $realStop = Set-FieldkitServiceState -Name $serviceName -State 'stopped' -StopTimeoutSeconds 30
        $statusAfterStop = (Get-Service -Name $serviceName -ErrorAction Stop).Status
        $secondStop = Set-FieldkitServiceState -Name $serviceName -State 'stopped'
    }

    It 'check mode reports a start and starts nothing' {
        $checkStart.changed | Should -BeTrue
        $checkStart.before.state | Should -Be 'stopped'
        $checkStart.after.state | Should -Be 'running'
        $statusAfterCheck | Should -Be 'Stopped'
    }

    It 'the real run starts it' {
        $realStart.changed | Should -BeTrue
        $realStart.after.state | Should -Be 'running'
        $statusAfterStart | Should -Be 'Running'
        $runningState.process_id | Should -BeGreaterThan 0
    }

    It 'a second start is unchanged' {
        $secondStart.changed | Should -BeFalse
    }

    It 'check mode reports a stop and stops nothing' {
        $checkStop.changed | Should -BeTrue
        $checkStop.after.state | Should -Be 'stopped'
        $statusAfterCheckStop | Should -Be 'Running'
    }

    It 'the real run stops it without ending its process' {
        $realStop.changed | Should -BeTrue
        $realStop.before.state | Should -Be 'running'
        $realStop.after.state | Should -Be 'stopped'
        $realStop.after.killed | Should -BeFalse
        $statusAfterStop | Should -Be 'Stopped'
    }

    It 'a second stop is unchanged' {
        $secondStop.changed | Should -BeFalse
        $secondStop.after.state | Should -Be 'stopped'
    }
}

Describe 'service.ensure (Set-FieldkitServiceState) with a service that does not stop' {
    BeforeAll {
        Start-Service -Name $hangName -ErrorAction Stop
        $noKill = Get-FieldkitTestError -ScriptBlock { Set-FieldkitServiceState -Name $hangName -State 'stopped' -StopTimeoutSeconds 3 -KillOnTimeout $false }
        $statusAfterNoKill = (Get-Service -Name $hangName -ErrorAction Stop).Status
        $kill = Set-FieldkitServiceState -Name $hangName -State 'stopped' -StopTimeoutSeconds 3 -KillOnTimeout $true
        $statusAfterKill = (Get-Service -Name $hangName -ErrorAction Stop).Status
    }

    It 'without kill_on_timeout fails with ERROR_SERVICE_REQUEST_TIMEOUT (1053, 0x8007041D)' {
        $noKill | Should -Not -BeNullOrEmpty
        Get-FieldkitErrorCode -ErrorRecord $noKill | Should -Be 2147943453
        $noKill.Exception.Message | Should -BeLike "*$hangName did not stop within 3 s*"
        $statusAfterNoKill | Should -Not -Be 'Stopped'
    }

    It 'with kill_on_timeout ends the process and reports killed' {
        $kill.changed | Should -BeTrue
        $kill.after.killed | Should -BeTrue
        $kill.after.state | Should -Be 'stopped'
        $statusAfterKill | Should -Be 'Stopped'
    }
}

Describe 'ending a hung service with recovery actions: suspended first (service.ensure), restored after (service.restore_recovery)' {
    BeforeAll {
        $marker = 'FieldkitTestRecoveryActions'
        $markersKey = 'SOFTWARE\mecm.fieldkit\Markers'
        $scExe = Join-Path -Path $env:SystemRoot -ChildPath 'System32\sc.exe'
        $configured = Invoke-FieldkitNativeCommand -FilePath $scExe -Arguments ('failure {0} reset= 3600 actions= restart/2000/restart/2000' -f $hangName) -TimeoutSeconds 30
        # Without suspension: the SCM treats the ended process as a failure and restarts the service after 2 s.
        Start-Service -Name $hangName -ErrorAction Stop
        $plainKill = Set-FieldkitServiceState -Name $hangName -State 'stopped' -StopTimeoutSeconds 3 -KillOnTimeout $true
        Start-Sleep -Seconds 8
        $statusAfterPlainKill = (Get-Service -Name $hangName -ErrorAction Stop).Status
        $null = Wait-FieldkitTestServiceStatus -Name $hangName -Status 'Running'
        # With suspension: recorded, "take no action", the service stays stopped.
        $kill = Set-FieldkitServiceState -Name $hangName -State 'stopped' -StopTimeoutSeconds 3 -KillOnTimeout $true -RecoveryMarker $marker
        $recorded = Get-FieldkitRegistryValue -SubKey $markersKey -ValueName $marker
        Start-Sleep -Seconds 8
        $statusAfterKill = (Get-Service -Name $hangName -ErrorAction Stop).Status
        $checkRestore = Restore-FieldkitServiceRecovery -Name $hangName -Marker $marker -CheckMode
        $recordedAfterCheck = Get-FieldkitRegistryValue -SubKey $markersKey -ValueName $marker
        $restore = Restore-FieldkitServiceRecovery -Name $hangName -Marker $marker
        $recordedAfterRestore = Get-FieldkitRegistryValue -SubKey $markersKey -ValueName $marker
        $secondRestore = Restore-FieldkitServiceRecovery -Name $hangName -Marker $marker
    }

    AfterAll {
        Remove-ItemProperty -LiteralPath "HKLM:\$markersKey" -Name $marker -ErrorAction SilentlyContinue
    }

    It 'sc.exe set the test recovery actions' {
        $configured.exit_code | Should -Be 0
    }

    It 'without a recovery marker the SCM restarts the killed service (the reason for the suspension)' {
        $plainKill.after.killed | Should -BeTrue
        $plainKill.after.recovery_suspended | Should -BeFalse
        $statusAfterPlainKill | Should -Be 'Running'
    }

    It 'with a recovery marker the actions are recorded and suspended before the kill, and the service stays stopped' {
        $kill.after.killed | Should -BeTrue
        $kill.after.recovery_suspended | Should -BeTrue
        $recorded | Should -Be 'reset=3600;actions=restart/2000,restart/2000'
        $statusAfterKill | Should -Be 'Stopped'
    }

    It 'check mode reports the restore and keeps the record' {
        $checkRestore.changed | Should -BeTrue
        @($checkRestore.before.actions).Count | Should -Be 0
        $recordedAfterCheck | Should -Not -BeNullOrEmpty
    }

    It 'restores them exactly (read back through QueryServiceConfig2), deletes the record and leaves the service stopped' {
        $restore.changed | Should -BeTrue
        $restore.after.reset_period_seconds | Should -Be 3600
        @($restore.after.actions) -join ',' | Should -Be 'restart/2000,restart/2000'
        $restore.after.service_state | Should -Be 'stopped'
        $recordedAfterRestore | Should -BeNullOrEmpty
    }

    It 'a second restore is unchanged' {
        $secondRestore.changed | Should -BeFalse
        $secondRestore.before.suspended | Should -BeFalse
    }
}

Describe 'service.ensure (Set-FieldkitServiceState) errors carry the Windows error code' {
    It 'an absent service fails with ERROR_SERVICE_DOES_NOT_EXIST (1060, 0x8007041C)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Set-FieldkitServiceState -Name $absentName -State 'stopped' }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147943460
        $caught.Exception.Message | Should -Be "service $absentName does not exist"
    }

    It 'starting a disabled service fails with ERROR_SERVICE_DISABLED (1058, 0x80070422)' {
        $null = Set-FieldkitServiceState -Name $serviceName -StartMode 'disabled'
        $caught = Get-FieldkitTestError -ScriptBlock { Set-FieldkitServiceState -Name $serviceName -State 'running' }
        $null = Set-FieldkitServiceState -Name $serviceName -StartMode 'manual'
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147943458
    }

    It 'an unknown start mode is refused by the parameter validation' {
        { Set-FieldkitServiceState -Name $serviceName -StartMode 'boot' } | Should -Throw
    }
}
