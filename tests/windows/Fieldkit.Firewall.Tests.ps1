# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of firewall.ensure_block_rule
# (Set-FieldkitFirewallBlockRule): an outbound block rule named "mecm.fieldkit.tests ..." for
# documentation-only addresses (RFC 5737: 192.0.2.0/24, 198.51.100.0/24), so nothing real is blocked.
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
    $ruleName = 'mecm.fieldkit.tests block rule'
    $unresolvableRule = 'mecm.fieldkit.tests unresolvable'
    Remove-NetFirewallRule -Name $ruleName -ErrorAction SilentlyContinue
    Remove-NetFirewallRule -Name $unresolvableRule -ErrorAction SilentlyContinue
    $addresses = @('198.51.100.7', '192.0.2.10')
}

AfterAll {
    Remove-NetFirewallRule -Name $ruleName -ErrorAction SilentlyContinue
    Remove-NetFirewallRule -Name $unresolvableRule -ErrorAction SilentlyContinue
    Exit-FieldkitAnsibleSession
}

Describe 'firewall.ensure_block_rule (Set-FieldkitFirewallBlockRule) state present' {
    BeforeAll {
        $checkRun = Set-FieldkitFirewallBlockRule -Name $ruleName -RemoteAddresses $addresses -CheckMode
        $ruleAfterCheck = Get-NetFirewallRule -Name $ruleName -ErrorAction SilentlyContinue
        $realRun = Set-FieldkitFirewallBlockRule -Name $ruleName -RemoteAddresses $addresses
        $rule = Get-NetFirewallRule -Name $ruleName -ErrorAction Stop
        $filter = $rule | Get-NetFirewallAddressFilter -ErrorAction Stop
        $secondRun = Set-FieldkitFirewallBlockRule -Name $ruleName -RemoteAddresses @('192.0.2.10', '198.51.100.7', '192.0.2.10')
        $changedAddresses = Set-FieldkitFirewallBlockRule -Name $ruleName -RemoteAddresses @('192.0.2.10')
        $filterAfterChange = Get-NetFirewallRule -Name $ruleName -ErrorAction Stop | Get-NetFirewallAddressFilter -ErrorAction Stop
    }

    It 'check mode reports the rule and creates nothing' {
        $checkRun.changed | Should -BeTrue
        $checkRun.before.exists | Should -BeFalse
        $checkRun.after.exists | Should -BeTrue
        @($checkRun.after.remote_addresses) -join ',' | Should -Be '192.0.2.10,198.51.100.7'
        $ruleAfterCheck | Should -BeNullOrEmpty
    }

    It 'the real run creates an enabled outbound block rule for exactly those addresses' {
        $realRun.changed | Should -BeTrue
        $rule.DisplayName | Should -Be $ruleName
        $rule.Group | Should -Be 'mecm.fieldkit'
        [string]$rule.Direction | Should -Be 'Outbound'
        [string]$rule.Action | Should -Be 'Block'
        [string]$rule.Enabled | Should -Be 'True'
        @($filter.RemoteAddress | Sort-Object) -join ',' | Should -Be '192.0.2.10,198.51.100.7'
    }

    It 'a second run with the same addresses (any order, duplicates) is unchanged' {
        $secondRun.changed | Should -BeFalse
        @($secondRun.before.remote_addresses) -join ',' | Should -Be '192.0.2.10,198.51.100.7'
    }

    It 'other addresses replace the rule' {
        $changedAddresses.changed | Should -BeTrue
        @($filterAfterChange.RemoteAddress) -join ',' | Should -Be '192.0.2.10'
    }
}

Describe 'firewall.ensure_block_rule (Set-FieldkitFirewallBlockRule) state absent' {
    BeforeAll {
        $checkRun = Set-FieldkitFirewallBlockRule -Name $ruleName -State 'absent' -CheckMode
        $ruleAfterCheck = Get-NetFirewallRule -Name $ruleName -ErrorAction SilentlyContinue
        $realRun = Set-FieldkitFirewallBlockRule -Name $ruleName -State 'absent'
        $ruleAfterReal = Get-NetFirewallRule -Name $ruleName -ErrorAction SilentlyContinue
        $secondRun = Set-FieldkitFirewallBlockRule -Name $ruleName -State 'absent'
    }

    It 'check mode reports the removal and removes nothing' {
        $checkRun.changed | Should -BeTrue
        $checkRun.before.exists | Should -BeTrue
        $checkRun.after.exists | Should -BeFalse
        $ruleAfterCheck | Should -Not -BeNullOrEmpty
    }

    It 'the real run removes the rule' {
        $realRun.changed | Should -BeTrue
        $ruleAfterReal | Should -BeNullOrEmpty
    }

    It 'a second run is unchanged' {
        $secondRun.changed | Should -BeFalse
        $secondRun.before.exists | Should -BeFalse
    }
}

Describe 'firewall.ensure_block_rule (Set-FieldkitFirewallBlockRule) errors carry the Windows error code' {
    It 'an unresolvable host name fails with WSAHOST_NOT_FOUND (11001, 0x80072AF9) and creates no rule' {
        $caught = Get-FieldkitTestError -ScriptBlock { Set-FieldkitFirewallBlockRule -Name $unresolvableRule -RemoteAddresses @('mecm-fieldkit-tests.invalid') -ResolveTimeoutSeconds 10 }
        $caught | Should -Not -BeNullOrEmpty
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147953401
        $caught.Exception.Message | Should -BeLike 'could not resolve mecm-fieldkit-tests.invalid*'
        Get-NetFirewallRule -Name $unresolvableRule -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'no address at all fails with E_INVALIDARG (0x80070057)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Set-FieldkitFirewallBlockRule -Name $unresolvableRule -RemoteAddresses @() }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
    }
}

Describe 'firewall.read_rule (Get-FieldkitFirewallRule) reads a rule and changes nothing' {
    BeforeAll {
        $readRule = 'mecm.fieldkit.tests read rule'
        Remove-NetFirewallRule -Name $readRule -ErrorAction SilentlyContinue
        $absent = Get-FieldkitFirewallRule -Name $readRule
        $null = Set-FieldkitFirewallBlockRule -Name $readRule -RemoteAddresses @('198.51.100.7', '192.0.2.10')
        $present = Get-FieldkitFirewallRule -Name $readRule
        $ruleAfterRead = Get-NetFirewallRule -Name $readRule -ErrorAction Stop
    }

    AfterAll {
        Remove-NetFirewallRule -Name $readRule -ErrorAction SilentlyContinue
    }

    It 'an absent rule reads as absent' {
        $absent.exists | Should -BeFalse
        $absent.enabled | Should -BeNullOrEmpty
        @($absent.remote_addresses).Count | Should -Be 0
    }

    It 'a present rule reads with its addresses in canonical order and is left in place' {
        $present.exists | Should -BeTrue
        $present.enabled | Should -BeTrue
        @($present.remote_addresses) -join ',' | Should -Be '192.0.2.10,198.51.100.7'
        [string]$ruleAfterRead.Enabled | Should -Be 'True'
    }
}
