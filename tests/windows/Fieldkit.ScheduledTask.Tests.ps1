# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of the scheduled-task ops: task.read
# (Get-FieldkitScheduledTask) and task.ensure_enabled (Set-FieldkitScheduledTaskEnabled, with and
# without a marker under HKLM\SOFTWARE\mecm.fieldkit\Markers), on throwaway tasks under
# \mecm.fieldkit.tests\ that run "cmd.exe /c exit 0" and have no trigger.
# NOT RUN by the project's CI or authors (no Windows there); see tests/windows/README.md.

BeforeAll {
    . "$PSScriptRoot\Fieldkit.TestHelpers.ps1"
    Assert-FieldkitTestHost
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitCommon.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitClientCommon.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitServiceRead.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitSystemOps.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitClientOps.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitClientFactsOps.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitImageCommon.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitImageOps.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitProcessStart.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitImageFinishOps.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitImageOptionOps.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitFirewallOps.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitCcmSetupOps.psm1" -Force -Global -DisableNameChecking
    Enter-FieldkitAnsibleSession
    $taskName = 'Fieldkit Health Evaluation'
    $markedName = 'Fieldkit Marked Task'
    $marker = 'mecm.fieldkit.tests.marker'
    $markersKey = 'SOFTWARE\mecm.fieldkit\Markers'
    $markersKeyExisted = Test-FieldkitRegistryKey -SubKey $markersKey
    $fieldkitKeyExisted = Test-FieldkitRegistryKey -SubKey 'SOFTWARE\mecm.fieldkit'
    Remove-FieldkitTestTaskFolder
    $action = New-ScheduledTaskAction -Execute "$env:SystemRoot\System32\cmd.exe" -Argument '/c exit 0'
    $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount
    $settings = New-ScheduledTaskSettingsSet
    $null = Register-ScheduledTask -TaskPath $FieldkitTestTaskPath -TaskName $taskName -Action $action -Principal $principal -Settings $settings -Force
    $null = Register-ScheduledTask -TaskPath $FieldkitTestTaskPath -TaskName $markedName -Action $action -Principal $principal -Settings $settings -Force

    Function Get-FieldkitTestTaskEnabled {
        param ([string]$Name)

        $task = Get-ScheduledTask -TaskPath '\mecm.fieldkit.tests\' -TaskName $Name -ErrorAction Stop
        return [bool]$task.Settings.Enabled
    }

    Function Test-FieldkitTestMarker {
        param ([string]$Name)

        return $null -ne (Get-FieldkitRegistryValue -SubKey 'SOFTWARE\mecm.fieldkit\Markers' -ValueName $Name)
    }
}

AfterAll {
    Remove-FieldkitTestTaskFolder
    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    $key = $base.OpenSubKey($markersKey, $true)
    if ($null -ne $key) {
        $key.DeleteValue($marker, $false)
        $key.Dispose()
    }
    $base.Dispose()
    if (-not $markersKeyExisted -and (Test-FieldkitRegistryKey -SubKey $markersKey)) {
        Remove-FieldkitTestRegistryKey -SubKey $markersKey
    }
    if (-not $fieldkitKeyExisted -and (Test-FieldkitRegistryKey -SubKey 'SOFTWARE\mecm.fieldkit')) {
        Remove-FieldkitTestRegistryKey -SubKey 'SOFTWARE\mecm.fieldkit'
    }
    Exit-FieldkitAnsibleSession
}

Describe 'task.read (Get-FieldkitScheduledTask)' {
    It 'reads an enabled task' {
        $task = Get-FieldkitScheduledTask -Path $FieldkitTestTaskPath -Name $taskName
        $task.exists | Should -BeTrue
        $task.enabled | Should -BeTrue
        $task.state | Should -Be 'ready'
        $task.path | Should -Be $FieldkitTestTaskPath
        $task.name | Should -Be $taskName
    }

    It 'reports an absent task and an absent folder without failing' {
        $absent = Get-FieldkitScheduledTask -Path $FieldkitTestTaskPath -Name 'absent'
        $absent.exists | Should -BeFalse
        $absent.enabled | Should -BeNullOrEmpty
        $absent.state | Should -BeNullOrEmpty
        $folder = Get-FieldkitScheduledTask -Path '\mecm.fieldkit.tests.absent\' -Name $taskName
        $folder.exists | Should -BeFalse
    }
}

Describe 'task.ensure_enabled (Set-FieldkitScheduledTaskEnabled) without a marker' {
    BeforeAll {
        $checkDisable = Set-FieldkitScheduledTaskEnabled -Path $FieldkitTestTaskPath -Name $taskName -Enabled $false -CheckMode
        $enabledAfterCheck = Get-FieldkitTestTaskEnabled -Name $taskName
        $realDisable = Set-FieldkitScheduledTaskEnabled -Path $FieldkitTestTaskPath -Name $taskName -Enabled $false
        $enabledAfterDisable = Get-FieldkitTestTaskEnabled -Name $taskName
        $readDisabled = Get-FieldkitScheduledTask -Path $FieldkitTestTaskPath -Name $taskName
        $secondDisable = Set-FieldkitScheduledTaskEnabled -Path $FieldkitTestTaskPath -Name $taskName -Enabled $false
        $realEnable = Set-FieldkitScheduledTaskEnabled -Path $FieldkitTestTaskPath -Name $taskName -Enabled $true
        $enabledAfterEnable = Get-FieldkitTestTaskEnabled -Name $taskName
        $secondEnable = Set-FieldkitScheduledTaskEnabled -Path $FieldkitTestTaskPath -Name $taskName -Enabled $true
        $absent = Set-FieldkitScheduledTaskEnabled -Path $FieldkitTestTaskPath -Name 'absent' -Enabled $false
    }

    It 'check mode reports the disable and changes nothing' {
        $checkDisable.changed | Should -BeTrue
        $checkDisable.before.enabled | Should -BeTrue
        $checkDisable.after.enabled | Should -BeFalse
        $enabledAfterCheck | Should -BeTrue
    }

    It 'the real run disables it and returns before and after' {
        $realDisable.changed | Should -BeTrue
        $realDisable.before.enabled | Should -BeTrue
        $realDisable.after.enabled | Should -BeFalse
        $realDisable.after.marker_present | Should -BeFalse
        $enabledAfterDisable | Should -BeFalse
        $readDisabled.state | Should -Be 'disabled'
    }

    It 'a second disable is unchanged' {
        $secondDisable.changed | Should -BeFalse
    }

    It 'enabling restores it, once' {
        $realEnable.changed | Should -BeTrue
        $enabledAfterEnable | Should -BeTrue
        $secondEnable.changed | Should -BeFalse
    }

    It 'an absent task is reported, not an error' {
        $absent.changed | Should -BeFalse
        $absent.before.exists | Should -BeFalse
        $absent.after.exists | Should -BeFalse
    }
}

Describe 'task.ensure_enabled (Set-FieldkitScheduledTaskEnabled) with a marker' {
    BeforeAll {
        $checkDisable = Set-FieldkitScheduledTaskEnabled -Path $FieldkitTestTaskPath -Name $markedName -Enabled $false -Marker $marker -CheckMode
        $markerAfterCheck = Test-FieldkitTestMarker -Name $marker
        $realDisable = Set-FieldkitScheduledTaskEnabled -Path $FieldkitTestTaskPath -Name $markedName -Enabled $false -Marker $marker
        $markerAfterDisable = Test-FieldkitTestMarker -Name $marker
        $secondDisable = Set-FieldkitScheduledTaskEnabled -Path $FieldkitTestTaskPath -Name $markedName -Enabled $false -Marker $marker
        $checkEnable = Set-FieldkitScheduledTaskEnabled -Path $FieldkitTestTaskPath -Name $markedName -Enabled $true -Marker $marker -CheckMode
        $enabledAfterCheckEnable = Get-FieldkitTestTaskEnabled -Name $markedName
        $realEnable = Set-FieldkitScheduledTaskEnabled -Path $FieldkitTestTaskPath -Name $markedName -Enabled $true -Marker $marker
        $markerAfterEnable = Test-FieldkitTestMarker -Name $marker
        $enabledAfterEnable = Get-FieldkitTestTaskEnabled -Name $markedName
        $secondEnable = Set-FieldkitScheduledTaskEnabled -Path $FieldkitTestTaskPath -Name $markedName -Enabled $true -Marker $marker
        # Disabled by someone else (no marker): an enable with the marker leaves it disabled.
        $null = Disable-ScheduledTask -TaskPath $FieldkitTestTaskPath -TaskName $markedName -ErrorAction Stop
        $foreignEnable = Set-FieldkitScheduledTaskEnabled -Path $FieldkitTestTaskPath -Name $markedName -Enabled $true -Marker $marker
        $enabledAfterForeign = Get-FieldkitTestTaskEnabled -Name $markedName
    }

    It 'check mode records no marker' {
        $checkDisable.changed | Should -BeTrue
        $checkDisable.after.marker_present | Should -BeTrue
        $markerAfterCheck | Should -BeFalse
    }

    It 'the real disable records the marker' {
        $realDisable.changed | Should -BeTrue
        $realDisable.before.marker_present | Should -BeFalse
        $realDisable.after.marker_present | Should -BeTrue
        $markerAfterDisable | Should -BeTrue
    }

    It 'a second disable is unchanged and keeps the marker' {
        $secondDisable.changed | Should -BeFalse
        $secondDisable.before.marker_present | Should -BeTrue
    }

    It 'check mode of the enable changes nothing' {
        $checkEnable.changed | Should -BeTrue
        $enabledAfterCheckEnable | Should -BeFalse
    }

    It 'the enable restores the task and deletes the marker' {
        $realEnable.changed | Should -BeTrue
        $realEnable.before.marker_present | Should -BeTrue
        $realEnable.after.marker_present | Should -BeFalse
        $enabledAfterEnable | Should -BeTrue
        $markerAfterEnable | Should -BeFalse
    }

    It 'deletes the Markers key when it is left empty and did not exist before' {
        if ($markersKeyExisted) {
            Set-ItResult -Skipped -Because 'HKLM\SOFTWARE\mecm.fieldkit\Markers existed before the test'
            return
        }
        Test-FieldkitRegistryKey -SubKey $markersKey | Should -BeFalse
    }

    It 'a second enable is unchanged' {
        $secondEnable.changed | Should -BeFalse
    }

    It 'never enables a task it did not disable' {
        $foreignEnable.changed | Should -BeFalse
        $foreignEnable.after.enabled | Should -BeFalse
        $enabledAfterForeign | Should -BeFalse
    }
}
