# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) that need a REAL ConfigMgr installation. Skipped
# unless asked for, because no stock Windows host has ConfigMgr:
#   FIELDKIT_TEST_CONFIGMGR=1          a reference VM with the ConfigMgr client: read ops, guards, check
#                                      mode of the client mutations (nothing is changed)
#   FIELDKIT_TEST_CONFIGMGR_MUTATE=1   also run the client mutations for real (provisioning mode on
#                                      and off again; RemoveAssignedSites: the client is left unassigned)
#   FIELDKIT_TEST_CONFIGMGR_SITE=1     a primary site server: the SMS Provider and the site roles
# sysprep.start is never run by this suite, with or without these variables.
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
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitDpShared.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitSiteOps.psm1" -Force -Global -DisableNameChecking
    Enter-FieldkitAnsibleSession
}

AfterAll {
    Exit-FieldkitAnsibleSession
}

Describe 'On a ConfigMgr client (needs FIELDKIT_TEST_CONFIGMGR=1)' -Skip:(-not $env:FIELDKIT_TEST_CONFIGMGR) {
    BeforeAll {
        $install = Get-FieldkitClientInstall
        $identity = Get-FieldkitClientIdentity
        $site = Get-FieldkitClientSiteAssignment
        $mode = Get-FieldkitClientProvisioningMode
    }

    It 'client.read_install finds the client, its version from root\ccm and its components' {
        $install.installed | Should -BeTrue
        $install.version | Should -Match '^5\.'
        $install.version_source | Should -Be 'wmi'
        @($install.components | ForEach-Object { $_.name }) | Should -Contain 'CcmFramework'
    }

    It 'client.read_identity reads the same SMS Unique Identifier from SMSCFG.ini and root\ccm:CCM_Client' {
        $identity.wmi_available | Should -BeTrue
        if ($identity.smscfg_present) {
            $identity.smscfg_unique_id | Should -Be $identity.wmi_client_id
        }
    }

    It 'client.read_site_assignment answers through the Microsoft.SMS.Client COM object' {
        $site.com_available | Should -BeTrue
        $site.auto_assignment | Should -BeIn @($true, $false)
        if ($site.com_assigned_site) {
            $site.com_assigned_site | Should -Be $site.registry_assigned_site
        }
    }

    It 'client.read_provisioning_mode sees root\ccm:SMS_Client' {
        $mode.wmi_sms_client_available | Should -BeTrue
    }

    It 'guard.assert_client_installed passes' {
        (Assert-FieldkitClientInstalled).passed | Should -BeTrue
    }

    It 'service.read reads CcmExec' {
        $state = Get-FieldkitServiceState -Name 'CcmExec'
        $state.exists | Should -BeTrue
        $state.start_mode | Should -BeIn @('auto', 'delayed_auto', 'manual', 'disabled')
    }

    It 'task.read finds the ConfigMgr health evaluation task' {
        $task = Get-FieldkitScheduledTask -Path '\Microsoft\Configuration Manager\' -Name 'Configuration Manager Health Evaluation'
        $task.exists | Should -BeTrue
    }

    It 'wmi.count_instances reads root\ccm\locationservices:TrustedRootKey' {
        $keys = Measure-FieldkitWmiInstance -Namespace 'root\ccm\locationservices' -ClassName 'TrustedRootKey'
        $keys.namespace_present | Should -BeTrue
        $keys.class_present | Should -BeTrue
    }

    It 'cert.list reads LocalMachine\SMS' {
        (Get-FieldkitCertificate -StoreName 'SMS').store_exists | Should -BeTrue
    }

    It 'client.reset_site_assignment in check mode changes nothing' {
        $result = Reset-FieldkitClientSiteAssignment -CheckMode
        $result.before.com_available | Should -BeTrue
        $result.after.assigned_site | Should -Be ''
        (Get-FieldkitClientSiteAssignment).com_assigned_site | Should -Be $site.com_assigned_site
    }

    It 'client.set_provisioning_mode to the current value is unchanged' {
        $current = $mode.registry_value -eq 'true'
        $result = Set-FieldkitClientProvisioningMode -Enabled $current -CheckMode
        $result.changed | Should -BeFalse
    }
}

Describe 'Client mutations on a ConfigMgr client (needs FIELDKIT_TEST_CONFIGMGR_MUTATE=1)' -Skip:(-not $env:FIELDKIT_TEST_CONFIGMGR_MUTATE) {
    It 'client.set_provisioning_mode turns provisioning mode on and off again through SMS_Client' {
        $on = Set-FieldkitClientProvisioningMode -Enabled $true
        $off = Set-FieldkitClientProvisioningMode -Enabled $false
        $again = Set-FieldkitClientProvisioningMode -Enabled $false
        $on.after.registry_value | Should -Be 'true'
        $off.changed | Should -BeTrue
        $off.after.registry_value | Should -Be 'false'
        $again.changed | Should -BeFalse
    }

    It 'client.reset_site_assignment removes the assigned site and turns auto-assignment on, once' {
        $first = Reset-FieldkitClientSiteAssignment
        $second = Reset-FieldkitClientSiteAssignment
        $first.after.assigned_site | Should -Be ''
        $first.after.auto_assignment | Should -BeTrue
        $second.changed | Should -BeFalse
        (Get-FieldkitClientSiteAssignment).com_assigned_site | Should -Be ''
    }
}

Describe 'On a ConfigMgr primary site server (needs FIELDKIT_TEST_CONFIGMGR_SITE=1)' -Skip:(-not $env:FIELDKIT_TEST_CONFIGMGR_SITE) {
    It 'site.read_roles finds the site server' {
        $roles = Get-FieldkitSiteRole
        $roles.is_site_server | Should -BeTrue
        $roles.site_code | Should -Match '^[A-Z0-9]{3}$'
    }

    It 'guard.assert_not_site_system fails with ERROR_NOT_SUPPORTED (50, 0x80070032)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Assert-FieldkitNotSiteSystem }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942450
    }

    It 'sms.read_site_systems reads the site systems from the SMS Provider' {
        $systems = Get-FieldkitSmsSiteSystem -TimeoutSeconds 60
        $systems.provider_available | Should -BeTrue
        $systems.error | Should -BeNullOrEmpty
        $systems.namespace | Should -Be ('root\SMS\site_' + $systems.site_code)
        @($systems.systems).Count | Should -BeGreaterThan 0
    }

    It 'sms.read_site_systems reads the DPs of the site (SMS_DistributionPointInfo) with their pull DP and PXE flags' {
        $systems = Get-FieldkitSmsSiteSystem -TimeoutSeconds 60 -MaxDistributionPoints 1000
        $systems.dp_info_error | Should -BeNullOrEmpty
        @($systems.distribution_points).Count | Should -BeGreaterThan 0
        foreach ($dp in @($systems.distribution_points)) {
            $dp.server | Should -Not -BeNullOrEmpty
            $dp.nal_path | Should -Match 'MSWNET'
            $dp.is_pull_dp | Should -BeOfType [bool]
            $dp.is_pxe | Should -BeOfType [bool]
            @($dp.source_ranks).Count | Should -Be @($dp.source_nal_paths).Count
            if (-not $dp.is_pull_dp) {
                @($dp.source_nal_paths).Count | Should -Be 0
            }
        }
    }

    It 'sms.read_site_systems stops at MaxDistributionPoints and says so' {
        $systems = Get-FieldkitSmsSiteSystem -TimeoutSeconds 60 -MaxDistributionPoints 1
        @($systems.distribution_points).Count | Should -BeLessOrEqual 1
        $all = Get-FieldkitSmsSiteSystem -TimeoutSeconds 60 -MaxDistributionPoints 5000
        $systems.distribution_points_truncated | Should -Be (@($all.distribution_points).Count -gt 1)
    }

    It 'sms.read_package_sources reads package source shares from the SMS Provider and tests each one' {
        $sources = Get-FieldkitSmsPackageSource -MaxPackages 500 -MaxShares 5 -AccessTimeoutSeconds 15 -TimeoutSeconds 60
        $sources.provider_available | Should -BeTrue
        $sources.error | Should -BeNullOrEmpty
        $sources.namespace | Should -Match '^root\\SMS\\site_'
        @($sources.shares).Count | Should -BeLessOrEqual 5
        @($sources.access).Count | Should -Be @($sources.shares).Count
        foreach ($share in @($sources.shares)) {
            $share.path | Should -Match '^\\\\[^\\]+\\[^\\]+$'
        }
    }
}
