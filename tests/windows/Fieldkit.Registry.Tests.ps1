# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of the registry ops: registry.read_values
# (Get-FieldkitRegistryValues) and registry.remove_values (Remove-FieldkitRegistryValue), under
# HKLM\SOFTWARE\mecm.fieldkit.tests (64-bit view), removed afterwards.
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
    Enter-FieldkitAnsibleSession
    Remove-FieldkitTestRegistryKey -SubKey $FieldkitTestRegistryKey
    $readKey = 'SOFTWARE\mecm.fieldkit.tests\read'
    $removeKey = 'SOFTWARE\mecm.fieldkit.tests\remove'
    Set-FieldkitTestRegistryValue -SubKey $readKey -Name 'Text' -Value 'hello' -Kind String
    Set-FieldkitTestRegistryValue -SubKey $readKey -Name 'Number' -Value 42 -Kind DWord
    Set-FieldkitTestRegistryValue -SubKey $readKey -Name 'Big' -Value ([int64]5000000000) -Kind QWord
    Set-FieldkitTestRegistryValue -SubKey $readKey -Name 'Blob' -Value ([byte[]]@(1, 2, 3)) -Kind Binary
    Set-FieldkitTestRegistryValue -SubKey $readKey -Name 'Multi' -Value ([string[]]@('a', 'b')) -Kind MultiString
    Set-FieldkitTestRegistryValue -SubKey $readKey -Name 'Expand' -Value '%SystemRoot%\mecm' -Kind ExpandString
}

AfterAll {
    Remove-FieldkitTestRegistryKey -SubKey $FieldkitTestRegistryKey
    Exit-FieldkitAnsibleSession
}

Describe 'registry.read_values (Get-FieldkitRegistryValues)' {
    BeforeAll {
        $ansibleItem = [System.Collections.Generic.Dictionary[string, object]]::new()
        $ansibleItem['key'] = '\SOFTWARE\mecm.fieldkit.tests\read\'
        $ansibleItem['names'] = [System.Collections.Generic.List[object]]@('Text')
        $items = @(
            @{ key = $readKey; names = @('Text', 'Number', 'Big', 'Blob', 'Multi', 'Expand', 'Absent') }
            @{ key = 'SOFTWARE\mecm.fieldkit.tests\absent' }
            @{ key = $readKey }
            $ansibleItem
        )
        $read = Get-FieldkitRegistryValues -Items $items
    }

    It 'reads each value kind as documented (binary as base64, multi-string as a list, expand-string unexpanded)' {
        $values = $read.keys[0].values
        $read.keys[0].exists | Should -BeTrue
        $values['Text'] | Should -Be 'hello'
        $values['Number'] | Should -Be 42
        $values['Big'] | Should -Be 5000000000
        $values['Blob'] | Should -Be 'AQID'
        @($values['Multi']) -join ',' | Should -Be 'a,b'
        $values['Expand'] | Should -Be '%SystemRoot%\mecm'
        $values.ContainsKey('Absent') | Should -BeFalse
    }

    It 'reports an absent key without failing' {
        $read.keys[1].exists | Should -BeFalse
        $read.keys[1].values.Count | Should -Be 0
    }

    It 'reads every value when names is omitted' {
        @($read.keys[2].values.Keys | Sort-Object) -join ',' | Should -Be 'Big,Blob,Expand,Multi,Number,Text'
    }

    It 'takes the dictionaries and lists Ansible passes, and trims the key' {
        $read.keys[3].key | Should -Be 'SOFTWARE\mecm.fieldkit.tests\read'
        @($read.keys[3].values.Keys) -join ',' | Should -Be 'Text'
    }

    It 'agrees with Get-ItemProperty' {
        $independent = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\mecm.fieldkit.tests\read' -ErrorAction Stop
        $read.keys[0].values['Number'] | Should -Be $independent.Number
        $read.keys[0].values['Text'] | Should -Be $independent.Text
    }

    It 'refuses an item without a key with E_INVALIDARG (0x80070057)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Get-FieldkitRegistryValues -Items @(@{ names = @('x') }) }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
    }
}

Describe 'registry.remove_values (Remove-FieldkitRegistryValue)' {
    BeforeAll {
        Set-FieldkitTestRegistryValue -SubKey $removeKey -Name 'A' -Value '1' -Kind String
        Set-FieldkitTestRegistryValue -SubKey $removeKey -Name 'B' -Value 2 -Kind DWord
        Set-FieldkitTestRegistryValue -SubKey $removeKey -Name 'Keep' -Value 'stays' -Kind String
        $names = @('A', 'B', 'Missing')
        $checkRun = Remove-FieldkitRegistryValue -Path $removeKey -Names $names -CheckMode
        $afterCheck = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\mecm.fieldkit.tests\remove' -ErrorAction Stop
        $realRun = Remove-FieldkitRegistryValue -Path $removeKey -Names $names
        $afterReal = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\mecm.fieldkit.tests\remove' -ErrorAction Stop
        $secondRun = Remove-FieldkitRegistryValue -Path $removeKey -Names $names
        $absentKey = Remove-FieldkitRegistryValue -Path 'SOFTWARE\mecm.fieldkit.tests\absent' -Names $names
    }

    It 'check mode reports the values present and deletes nothing' {
        $checkRun.changed | Should -BeTrue
        $checkRun.before.key_exists | Should -BeTrue
        @($checkRun.before.values.Keys | Sort-Object) -join ',' | Should -Be 'A,B'
        $checkRun.before.values['B'] | Should -Be '2'
        $checkRun.after.values.Count | Should -Be 0
        $afterCheck.A | Should -Be '1'
        $afterCheck.B | Should -Be 2
    }

    It 'the real run deletes only the named values' {
        $realRun.changed | Should -BeTrue
        $null -eq $afterReal.PSObject.Properties['A'] | Should -BeTrue
        $null -eq $afterReal.PSObject.Properties['B'] | Should -BeTrue
        $afterReal.Keep | Should -Be 'stays'
    }

    It 'a second run is unchanged' {
        $secondRun.changed | Should -BeFalse
        $secondRun.before.values.Count | Should -Be 0
    }

    It 'an absent key is reported, not an error' {
        $absentKey.changed | Should -BeFalse
        $absentKey.before.key_exists | Should -BeFalse
    }
}
