# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of sms.read_distribution_status
# (Get-FieldkitSmsDistributionStatus): the content distribution state per DP from the SMS Provider.
#   - on any host: the argument checks (the same ones the simulated lab makes) throw 0x80070057 before any query;
#   - on a host without ConfigMgr: the missing SMS Provider is data (WBEM_E_INVALID_NAMESPACE), every requested DP
#     is listed as not found, nothing is counted;
#   - on a primary site server (FIELDKIT_TEST_CONFIGMGR_SITE=1): counts and not-installed content of the site's
#     own DPs, within the bounds.
# NOT RUN by the project's CI or authors (no Windows there); see tests/windows/README.md.

BeforeDiscovery {
    . "$PSScriptRoot\Fieldkit.TestHelpers.ps1"
    $configMgrPresent = Test-FieldkitTestConfigMgrPresent
}

BeforeAll {
    . "$PSScriptRoot\Fieldkit.TestHelpers.ps1"
    Assert-FieldkitTestHost
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitCommon.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitClientCommon.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitServiceRead.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitSystemOps.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitDpShared.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitSiteOps.psm1" -Force -Global -DisableNameChecking
    Enter-FieldkitAnsibleSession
}

AfterAll {
    Exit-FieldkitAnsibleSession
}

Describe 'sms.read_distribution_status refuses bad arguments (any host)' {
    It 'refuses a DP name that is not a host name with ERROR_INVALID_PARAMETER' {
        $caught = Get-FieldkitTestError -ScriptBlock { Get-FieldkitSmsDistributionStatus -DistributionPoints @("dp01' OR Name <> '") }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
        $caught.Exception.Message | Should -BeLike '*is not a host name*'
    }

    It 'refuses max_packages and max_rows outside their bounds' {
        $caught = Get-FieldkitTestError -ScriptBlock { Get-FieldkitSmsDistributionStatus -DistributionPoints @('dp01') -MaxPackages 1001 }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
        $caught.Exception.Message | Should -BeLike '*max_packages 1001*'
        $caught = Get-FieldkitTestError -ScriptBlock { Get-FieldkitSmsDistributionStatus -DistributionPoints @('dp01') -MaxRows 0 }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
        $caught = Get-FieldkitTestError -ScriptBlock { Get-FieldkitSmsDistributionStatus -DistributionPoints @('dp01') -TimeoutSeconds 0 }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
    }
}

Describe 'sms.read_distribution_status on a host without ConfigMgr' -Skip:$configMgrPresent {
    It 'returns the missing SMS Provider as data and every requested DP as not found' {
        $status = Get-FieldkitSmsDistributionStatus -DistributionPoints @('dp01.contoso.local', 'DP01.contoso.local.', 'dp02') -TimeoutSeconds 30
        $status.provider_available | Should -BeFalse
        $status.error.target | Should -Be 'root\SMS'
        $status.error.code | Should -Be 2147749902
        $status.rows_read | Should -Be 0
        # The same DP written twice is listed once, under its first spelling.
        @($status.dps).Count | Should -Be 2
        @($status.dps)[0].name | Should -Be 'dp01.contoso.local'
        foreach ($dp in @($status.dps)) {
            $dp.found | Should -BeFalse
            $dp.installed | Should -BeNullOrEmpty
            $dp.total | Should -BeNullOrEmpty
            @($dp.packages).Count | Should -Be 0
        }
    }
}

Describe 'sms.read_distribution_status on a primary site server (needs FIELDKIT_TEST_CONFIGMGR_SITE=1)' -Skip:(-not $env:FIELDKIT_TEST_CONFIGMGR_SITE) {
    BeforeAll {
        $systems = Get-FieldkitSmsSiteSystem -TimeoutSeconds 60
        $dpNames = @($systems.systems | Where-Object { $_.roles -contains 'SMS Distribution Point' } | ForEach-Object { [string]$_.server })
    }

    It 'counts installed content and lists only content that is not installed, within the bounds' {
        $dpNames.Count | Should -BeGreaterThan 0
        $status = Get-FieldkitSmsDistributionStatus -DistributionPoints $dpNames -MaxPackages 5 -MaxRows 5000 -TimeoutSeconds 120
        $status.provider_available | Should -BeTrue
        $status.error | Should -BeNullOrEmpty
        $status.namespace | Should -Match '^root\\SMS\\site_'
        $status.rows_read | Should -BeLessOrEqual 20000
        @($status.dps).Count | Should -Be $dpNames.Count
        foreach ($dp in @($status.dps | Where-Object { $_.found })) {
            $dp.total | Should -Be ($dp.installed + $dp.in_progress + $dp.errors + $dp.unknown)
            @($dp.packages).Count | Should -BeLessOrEqual 5
            foreach ($package in @($dp.packages)) {
                $package.package_id | Should -Match '^[A-Z0-9]{3}[0-9A-F]{5}$'
                $package.state | Should -BeIn @(1, 2, 3, 4, 5, 6, 7, 8)
            }
        }
    }

    It 'stops at the row bound and says so (rows_truncated) instead of returning a partial reading as complete' {
        $status = Get-FieldkitSmsDistributionStatus -DistributionPoints $dpNames -MaxRows 1 -TimeoutSeconds 120
        $status.rows_truncated | Should -BeTrue
    }
}
