# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of the client and image-prep ops on a stock
# Windows host WITHOUT ConfigMgr: what the client read ops and the guards answer there, their error
# codes, ccmsetup.start / ccmsetup.read_status with a stand-in ccmsetup.exe (the suite's test tool
# under that name, which only sleeps), a stand-in TSManager.exe process for the task-sequence guard,
# and the client ops that need ConfigMgr failing with the Windows error code. Every Describe is
# skipped on a host that has any ConfigMgr component (see Fieldkit.ConfigMgr.Tests.ps1 for those).
# sysprep.start is never run by this suite.
# NOT RUN by the project's CI or authors (no Windows there); see tests/windows/README.md.

BeforeDiscovery {
    . "$PSScriptRoot\Fieldkit.TestHelpers.ps1"
    $configMgrPresent = Test-FieldkitTestConfigMgrPresent
    # A host with an imaging platform agent is not a stock host for client.read_imaging_platform.
    $platformPresent = $false
    foreach ($platformKey in @('HKLM:\SOFTWARE\Citrix\VirtualDesktopAgent', 'HKLM:\SOFTWARE\Login Consultants\BISF', 'HKLM:\SOFTWARE\VMware, Inc.\VMware VDM\Agent', 'HKLM:\SOFTWARE\Omnissa\Agent', 'HKLM:\SOFTWARE\Microsoft\RDInfraAgent')) {
        if (Test-Path -LiteralPath $platformKey) {
            $platformPresent = $true
        }
    }
}

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
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitDpShared.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitDpOps.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitSiteOps.psm1" -Force -Global -DisableNameChecking
    Enter-FieldkitAnsibleSession
    $toolDir = New-FieldkitTestDirectory
    $clientFolder = Join-Path -Path $toolDir -ChildPath 'Client'
    $fakeCcmSetup = New-FieldkitTestTool -Directory $clientFolder -Name 'ccmsetup.exe'
    $fakeTsManager = New-FieldkitTestTool -Directory (Join-Path -Path $toolDir -ChildPath 'ts') -Name 'TSManager.exe'

    Function Stop-FieldkitTestToolProcess {
        # Ends every process started from the suite's test folder (stand-in ccmsetup, TSManager).
        foreach ($name in @('ccmsetup', 'TSManager')) {
            foreach ($process in @(Get-Process -Name $name -ErrorAction SilentlyContinue)) {
                $path = $null
                try {
                    $path = $process.Path
                }
                catch {
                    $path = $null
                }
                if ($null -ne $path -and $path.StartsWith($toolDir, [System.StringComparison]::OrdinalIgnoreCase)) {
                    Stop-Process -Id $process.Id -Force -ErrorAction SilentlyContinue
                }
            }
        }
    }
}

AfterAll {
    Stop-FieldkitTestToolProcess
    Remove-FieldkitTestDirectory -Path $toolDir
    Exit-FieldkitAnsibleSession
}

Describe 'Client read ops on a host without the ConfigMgr client' -Skip:$configMgrPresent {
    It 'client.read_install (Get-FieldkitClientInstall) reports no client' {
        $install = Get-FieldkitClientInstall
        $install.installed | Should -BeFalse
        $install.version | Should -BeNullOrEmpty
        $install.version_source | Should -BeNullOrEmpty
        $install.install_path | Should -BeNullOrEmpty
        @($install.components).Count | Should -Be 0
        @($install.wmi_errors).Count | Should -Be 0
    }

    It 'client.read_identity (Get-FieldkitClientIdentity) reports no SMSCFG.ini and no root\ccm' {
        $identity = Get-FieldkitClientIdentity
        $identity.smscfg_path | Should -Be (Join-Path -Path $env:SystemRoot -ChildPath 'SMSCFG.ini')
        $identity.smscfg_present | Should -BeFalse
        $identity.smscfg_unique_id | Should -BeNullOrEmpty
        $identity.wmi_available | Should -BeFalse
        $identity.wmi_client_id | Should -BeNullOrEmpty
        @($identity.wmi_errors).Count | Should -Be 0
    }

    It 'client.read_site_assignment (Get-FieldkitClientSiteAssignment) reports no COM object, without failing' {
        $site = Get-FieldkitClientSiteAssignment
        $site.com_available | Should -BeFalse
        $site.com_assigned_site | Should -BeNullOrEmpty
        $site.com_error | Should -BeNullOrEmpty
        @($site.wmi_errors).Count | Should -Be 0
        $site.registry_assigned_site | Should -BeNullOrEmpty
        $site.auto_assignment | Should -BeNullOrEmpty
        $site.current_management_point | Should -BeNullOrEmpty
        $site.gp_site_assignment.Count | Should -Be 0
    }

    It 'client.read_provisioning_mode (Get-FieldkitClientProvisioningMode) reports nothing set' {
        $mode = Get-FieldkitClientProvisioningMode
        $mode.registry_value | Should -BeNullOrEmpty
        $mode.enabled_time_epoch | Should -BeNullOrEmpty
        $mode.max_minutes | Should -BeNullOrEmpty
        $mode.wmi_sms_client_available | Should -BeFalse
        @($mode.wmi_errors).Count | Should -Be 0
    }

    It 'site.read_roles (Get-FieldkitSiteRole) reports no site system' {
        $roles = Get-FieldkitSiteRole
        $roles.is_site_server | Should -BeFalse
        $roles.is_site_system | Should -BeFalse
        $roles.site_code | Should -BeNullOrEmpty
        @($roles.roles).Count | Should -Be 0
    }

    It 'dp.read_role (Get-FieldkitDpRole) reports no distribution point' {
        $role = Get-FieldkitDpRole
        $role.installed | Should -BeFalse
        $role.registry_present | Should -BeFalse
        $role.content_library_path | Should -BeNullOrEmpty
        @($role.usable_drives).Count | Should -Be 0
        $role.is_pull_dp | Should -BeNullOrEmpty
        $role.sms_dp_share_path | Should -BeNullOrEmpty
    }

    It 'sms.read_site_systems (Get-FieldkitSmsSiteSystem) returns the missing SMS Provider as data with WBEM_E_INVALID_NAMESPACE (0x8004100E)' {
        $systems = Get-FieldkitSmsSiteSystem -TimeoutSeconds 30
        $systems.provider_available | Should -BeFalse
        @($systems.systems).Count | Should -Be 0
        $systems.error | Should -Not -BeNullOrEmpty
        $systems.error.target | Should -Be 'root\SMS'
        $systems.error.code | Should -Be 2147749902
        @($systems.distribution_points).Count | Should -Be 0
        $systems.distribution_points_truncated | Should -BeFalse
        $systems.dp_info_error | Should -BeNullOrEmpty
    }

    It 'sms.read_package_sources (Get-FieldkitSmsPackageSource) returns the missing SMS Provider as data, tests no share' {
        $sources = Get-FieldkitSmsPackageSource -MaxPackages 10 -MaxShares 2 -AccessTimeoutSeconds 5 -TimeoutSeconds 30
        $sources.provider_available | Should -BeFalse
        $sources.packages_read | Should -Be 0
        @($sources.shares).Count | Should -Be 0
        @($sources.access).Count | Should -Be 0
        $sources.error.target | Should -Be 'root\SMS'
        $sources.error.code | Should -Be 2147749902
    }

    It 'client.read_task_sequence (Get-FieldkitTaskSequenceState) reports no task sequence' {
        $state = Get-FieldkitTaskSequenceState
        $state.running | Should -BeFalse
        @($state.evidence).Count | Should -Be 0
    }

    It 'client.read_imaging_platform (Get-FieldkitImagingPlatform) finds no imaging platform' -Skip:$platformPresent {
        $platform = Get-FieldkitImagingPlatform
        $platform.citrix_vda.key_present | Should -BeFalse
        $platform.citrix_vda.uninstall_present | Should -BeFalse
        $platform.citrix_vda.uninstall_version | Should -BeNullOrEmpty
        $platform.citrix_vda.service_present | Should -BeFalse
        $platform.bisf.key_present | Should -BeFalse
        $platform.bisf.path | Should -BeNullOrEmpty
        $platform.horizon.vmware_key_present | Should -BeFalse
        $platform.horizon.omnissa_key_present | Should -BeFalse
        $platform.avd.key_present | Should -BeFalse
        $platform.avd.agent_service_present | Should -BeFalse
        $platform.avd.boot_loader_service_present | Should -BeFalse
    }
}

Describe 'Guards on a host without the ConfigMgr client' -Skip:$configMgrPresent {
    It 'guard.assert_client_installed fails with ERROR_UNKNOWN_PRODUCT (1605, 0x80070645)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Assert-FieldkitClientInstalled }
        $caught | Should -Not -BeNullOrEmpty
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147944005
        $caught.Exception.Message | Should -BeLike "the ConfigMgr client is not installed on $env:COMPUTERNAME*"
        $caught.TargetObject | Should -Be $env:COMPUTERNAME
    }

    It 'guard.assert_not_site_system passes' {
        $guard = Assert-FieldkitNotSiteSystem
        $guard.guard | Should -Be 'not_site_system'
        $guard.passed | Should -BeTrue
    }

    It 'guard.assert_ccmsetup_idle passes' {
        (Assert-FieldkitCcmSetupIdle).passed | Should -BeTrue
    }

    It 'guard.assert_no_task_sequence passes' {
        (Assert-FieldkitNoTaskSequence).passed | Should -BeTrue
    }

    It 'guard.assert_not_provisioning passes' {
        $guard = Assert-FieldkitNotProvisioning
        $guard.passed | Should -BeTrue
        $guard.evidence | Should -Contain 'ProvisioningMode = '
    }

    It 'guard.assert_capture_ready passes: no CcmExec, no LocalMachine\SMS certificates, no SMSCFG.ini, no TrustedRootKey' {
        $guard = Assert-FieldkitCaptureReady -CheckSmsStore $true -CheckSmscfg $true -CheckTrustedRootKey $true
        $guard.guard | Should -Be 'capture_ready'
        $guard.passed | Should -BeTrue
    }
}

Describe 'A running task sequence (a stand-in TSManager.exe process)' -Skip:$configMgrPresent {
    BeforeAll {
        $process = Start-FieldkitTestProcess -ToolPath $fakeTsManager -Seconds 120
        Start-Sleep -Seconds 1
        $state = Get-FieldkitTaskSequenceState
        $guardError = Get-FieldkitTestError -ScriptBlock { Assert-FieldkitNoTaskSequence }
        Stop-Process -Id $process.Id -Force -ErrorAction SilentlyContinue
        $null = $process.WaitForExit(10000)
        $stateAfter = Get-FieldkitTaskSequenceState
    }

    It 'client.read_task_sequence sees the TSManager process' {
        $state.running | Should -BeTrue
        $state.evidence | Should -Contain 'process TSManager is running'
        $stateAfter.running | Should -BeFalse
    }

    It 'guard.assert_no_task_sequence fails with ERROR_BUSY (170, 0x800700AA)' {
        $guardError | Should -Not -BeNullOrEmpty
        Get-FieldkitErrorCode -ErrorRecord $guardError | Should -Be 2147942570
        $guardError.Exception.Message | Should -BeLike '*process TSManager is running*'
    }
}

Describe 'ccmsetup.start (Start-FieldkitCcmSetup) and ccmsetup.read_status (Get-FieldkitCcmSetupStatus) with a stand-in ccmsetup.exe' -Skip:$configMgrPresent {
    BeforeAll {
        $arguments = @('/sleep:20', 'SMSMP=cm01.contoso.local')
        $checkRun = Start-FieldkitCcmSetup -Path $clientFolder -Arguments $arguments -CheckMode
        $processesAfterCheck = @(Get-Process -Name 'ccmsetup' -ErrorAction SilentlyContinue)
        $realRun = Start-FieldkitCcmSetup -Path ($clientFolder + '\') -Arguments $arguments
        Start-Sleep -Seconds 1
        $started = $null
        if ($null -ne $realRun.after.process_id) {
            $started = Get-Process -Id $realRun.after.process_id -ErrorAction SilentlyContinue
        }
        $startedCommandLine = (Get-CimInstance -ClassName Win32_Process -Filter ('ProcessId={0}' -f [int]$realRun.after.process_id) -ErrorAction SilentlyContinue).CommandLine
        $secondRun = Start-FieldkitCcmSetup -Path $clientFolder -Arguments $arguments
        $idleError = Get-FieldkitTestError -ScriptBlock { Assert-FieldkitCcmSetupIdle }
        $runningStatus = Get-FieldkitCcmSetupStatus -WaitSeconds 0
        $finalStatus = Get-FieldkitCcmSetupStatus -WaitSeconds 90 -TailLines 5
    }

    AfterAll {
        Stop-FieldkitTestToolProcess
    }

    It 'check mode reports the start and starts nothing' {
        $checkRun.changed | Should -BeTrue
        $checkRun.before.client_installed | Should -BeFalse
        $checkRun.before.running | Should -BeFalse
        $checkRun.after.running | Should -BeTrue
        $checkRun.after.process_id | Should -BeNullOrEmpty
        $processesAfterCheck.Count | Should -Be 0
    }

    It 'the real run starts ccmsetup.exe detached (Win32_Process.Create) with the arguments' {
        $realRun.changed | Should -BeTrue
        $realRun.after.process_id | Should -BeGreaterThan 0
        $started | Should -Not -BeNullOrEmpty
        $started.ProcessName | Should -Be 'ccmsetup'
        $startedCommandLine | Should -BeLike '"*\Client\ccmsetup.exe" /sleep:20 SMSMP=cm01.contoso.local'
    }

    It 'a second run while ccmsetup runs is unchanged' {
        $secondRun.changed | Should -BeFalse
        $secondRun.before.running | Should -BeTrue
        $secondRun.before.process_id | Should -Be $realRun.after.process_id
    }

    It 'guard.assert_ccmsetup_idle fails with ERROR_INSTALL_ALREADY_RUNNING (1618, 0x80070652) meanwhile' {
        $idleError | Should -Not -BeNullOrEmpty
        Get-FieldkitErrorCode -ErrorRecord $idleError | Should -Be 2147944018
        $idleError.Exception.Message | Should -BeLike ('*process ccmsetup (pid {0}) is running*' -f $realRun.after.process_id)
    }

    It 'ccmsetup.read_status sees it running, then waits on the host until it has ended' {
        $runningStatus.running | Should -BeTrue
        $runningStatus.process_ids | Should -Contain ([int]$realRun.after.process_id)
        $runningStatus.waited_seconds | Should -Be 0
        $finalStatus.running | Should -BeFalse
        $finalStatus.waited_seconds | Should -BeGreaterThan 0
        $finalStatus.waited_seconds | Should -BeLessOrEqual 90
        @($finalStatus.process_ids).Count | Should -Be 0
        $finalStatus.log_path | Should -Be (Join-Path -Path $env:SystemRoot -ChildPath 'ccmsetup\Logs\ccmsetup.log')
        $finalStatus.log_present | Should -BeFalse
        $finalStatus.return_code | Should -BeNullOrEmpty
    }
}

Describe 'ccmsetup.start (Start-FieldkitCcmSetup) refuses bad input with E_INVALIDARG or ERROR_FILE_NOT_FOUND' -Skip:$configMgrPresent {
    It 'refuses SMSSITECODE with E_INVALIDARG (0x80070057)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Start-FieldkitCcmSetup -Path $clientFolder -Arguments @('SMSSITECODE=PS1') -CheckMode }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
        $caught.Exception.Message | Should -BeLike 'SMSSITECODE is refused*'
    }

    It 'refuses an argument with characters that would need quoting, with E_INVALIDARG (0x80070057)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Start-FieldkitCcmSetup -Path $clientFolder -Arguments @('SMSMP=a b') -CheckMode }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
    }

    It 'fails with ERROR_FILE_NOT_FOUND (2, 0x80070002) when the folder has no ccmsetup.exe' {
        $caught = Get-FieldkitTestError -ScriptBlock { Start-FieldkitCcmSetup -Path $TestDrive -CheckMode }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942402
        $caught.Exception.Message | Should -Be ('Could not find file ' + (Join-Path -Path $TestDrive -ChildPath 'ccmsetup.exe'))
    }
}

Describe 'Client ops that need ConfigMgr fail with the Windows error code on a host without it' -Skip:$configMgrPresent {
    It 'client.reset_site_assignment fails with REGDB_E_CLASSNOTREG (0x80040154), also in check mode' {
        $caught = Get-FieldkitTestError -ScriptBlock { Reset-FieldkitClientSiteAssignment -CheckMode }
        $caught | Should -Not -BeNullOrEmpty
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147746132
        $caught.Exception.Message | Should -BeLike 'the Microsoft.SMS.Client COM object is not available*'
    }

    It 'client.set_provisioning_mode is unchanged when provisioning mode is already off' {
        $result = Set-FieldkitClientProvisioningMode -Enabled $false
        $result.changed | Should -BeFalse
        $result.before.registry_value | Should -BeNullOrEmpty
    }

    It 'client.set_provisioning_mode in check mode reports an enable and writes nothing' {
        $result = Set-FieldkitClientProvisioningMode -Enabled $true -CheckMode
        $result.changed | Should -BeTrue
        $result.after.registry_value | Should -Be 'true'
        Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\CCM' | Should -BeFalse
    }

    It 'client.set_provisioning_mode fails with WBEM_E_INVALID_NAMESPACE (0x8004100E) without root\ccm' {
        $caught = Get-FieldkitTestError -ScriptBlock { Set-FieldkitClientProvisioningMode -Enabled $true }
        $caught | Should -Not -BeNullOrEmpty
        $caught.Exception.Message | Should -BeLike 'root\ccm:SMS_Client.SetClientProvisioningMode(True) failed*'
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147749902
        Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\CCM' | Should -BeFalse
    }
}
