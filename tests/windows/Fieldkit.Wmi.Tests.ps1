# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of the WMI ops on a throwaway namespace
# root\FieldkitTest compiled from a MOF (mofcomp.exe) with a class shaped like ConfigMgr's
# TrustedRootKey: wmi.count_instances (Measure-FieldkitWmiInstance), wmi.remove_instances
# (Remove-FieldkitWmiInstance), wmi.test_namespace (Test-FieldkitWmiNamespace) and
# wmi.read_namespace_security (Get-FieldkitWmiNamespaceSecurity). The namespace is deleted afterwards.
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
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitDpOps.psm1" -Force -Global -DisableNameChecking
    Enter-FieldkitAnsibleSession
    $namespace = 'root\FieldkitTest'
    $absentNamespace = 'root\FieldkitTestAbsent'
    $className = 'TrustedRootKey'

    Function Remove-FieldkitTestNamespace {
        $existing = Get-CimInstance -Namespace 'root' -ClassName '__Namespace' -Filter "Name='FieldkitTest'" -ErrorAction SilentlyContinue
        if ($null -ne $existing) {
            $existing | Remove-CimInstance -ErrorAction Stop
        }
    }

    Function Get-FieldkitTestInstanceCount {
        return @(Get-CimInstance -Namespace 'root\FieldkitTest' -ClassName 'TrustedRootKey' -ErrorAction Stop).Count
    }

    Remove-FieldkitTestNamespace
    $mof = @'
#pragma namespace("\\\\.\\root")
instance of __Namespace
{
    Name = "FieldkitTest";
};

#pragma namespace("\\\\.\\root\\FieldkitTest")
class TrustedRootKey
{
    [key] string TrustedRootKey;
    string Site;
};

instance of TrustedRootKey
{
    TrustedRootKey = "0602000000A40000525341310008000001000100AA01";
    Site = "PS1";
};

instance of TrustedRootKey
{
    TrustedRootKey = "0602000000A40000525341310008000001000100AA02";
    Site = "PS2";
};

instance of TrustedRootKey
{
    TrustedRootKey = "0602000000A40000525341310008000001000100AA03";
    Site = "PS2";
};
'@
    $mofPath = Join-Path -Path $TestDrive -ChildPath 'FieldkitTest.mof'
    $mofLog = Join-Path -Path $TestDrive -ChildPath 'mofcomp.log'
    Set-Content -LiteralPath $mofPath -Value $mof -Encoding ASCII
    $mofcomp = Join-Path -Path $env:SystemRoot -ChildPath 'System32\wbem\mofcomp.exe'
    $compiled = Start-Process -FilePath $mofcomp -ArgumentList @(('"' + $mofPath + '"')) -Wait -PassThru -NoNewWindow -RedirectStandardOutput $mofLog
    if ($compiled.ExitCode -ne 0) {
        throw ('mofcomp.exe failed with {0}: {1}' -f $compiled.ExitCode, (Get-Content -LiteralPath $mofLog -Raw))
    }
}

AfterAll {
    Remove-FieldkitTestNamespace
    Exit-FieldkitAnsibleSession
}

Describe 'wmi.count_instances (Measure-FieldkitWmiInstance)' {
    It 'counts the instances of a class' {
        $measured = Measure-FieldkitWmiInstance -Namespace $namespace -ClassName $className
        $measured.namespace_present | Should -BeTrue
        $measured.class_present | Should -BeTrue
        $measured.count | Should -Be (Get-FieldkitTestInstanceCount)
        $measured.count | Should -Be 3
    }

    It 'reports an absent class without failing' {
        $measured = Measure-FieldkitWmiInstance -Namespace $namespace -ClassName 'FieldkitAbsentClass'
        $measured.namespace_present | Should -BeTrue
        $measured.class_present | Should -BeFalse
        $measured.count | Should -Be 0
    }

    It 'reports an absent namespace without failing (a host without the ConfigMgr client)' {
        $measured = Measure-FieldkitWmiInstance -Namespace $absentNamespace -ClassName $className
        $measured.namespace_present | Should -BeFalse
        $measured.class_present | Should -BeFalse
        $measured.count | Should -Be 0
    }
}

Describe 'wmi.test_namespace (Test-FieldkitWmiNamespace)' {
    BeforeAll {
        $present = Test-FieldkitWmiNamespace -Namespace $namespace -ClassName $className
        $noClass = Test-FieldkitWmiNamespace -Namespace $namespace -ClassName 'FieldkitAbsentClass'
        $noNamespace = Test-FieldkitWmiNamespace -Namespace $absentNamespace -ClassName $className
        $connectOnly = Test-FieldkitWmiNamespace -Namespace $namespace
    }

    It 'connects and counts the instances of a class' {
        $present.connected | Should -BeTrue
        $present.class_present | Should -BeTrue
        $present.instance_count | Should -Be (Get-FieldkitTestInstanceCount)
        $present.error | Should -BeNullOrEmpty
        $present.elapsed_ms | Should -BeOfType ([int])
    }

    It 'returns an absent class as data with WBEM_E_INVALID_CLASS (0x80041010)' {
        $noClass.connected | Should -BeTrue
        $noClass.class_present | Should -BeFalse
        $noClass.error.code | Should -Be 2147749904
        $noClass.error.hresult | Should -Be '0x80041010'
    }

    It 'returns an absent namespace as data with WBEM_E_INVALID_NAMESPACE (0x8004100E)' {
        $noNamespace.connected | Should -BeFalse
        $noNamespace.error.code | Should -Be 2147749902
    }

    It 'only connects when no class is given' {
        $connectOnly.connected | Should -BeTrue
        $connectOnly.class_name | Should -BeNullOrEmpty
        $connectOnly.class_present | Should -BeNullOrEmpty
    }

    It 'refuses a class name that is not one, with E_INVALIDARG (0x80070057)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Test-FieldkitWmiNamespace -Namespace $namespace -ClassName 'TrustedRootKey WHERE 1=1' }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
    }
}

Describe 'wmi.read_namespace_security (Get-FieldkitWmiNamespaceSecurity)' {
    BeforeAll {
        $security = Get-FieldkitWmiNamespaceSecurity -Namespace $namespace
        $rootSecurity = Get-FieldkitWmiNamespaceSecurity
    }

    It 'reads the security descriptor as SDDL with its DACL entries' {
        $security.namespace | Should -Be $namespace
        $security.sddl | Should -Match '^O:'
        $security.sddl | Should -Match 'D:'
        $security.owner_sid | Should -Not -BeNullOrEmpty
        $admins = @($security.entries | Where-Object { $_.sid -eq 'S-1-5-32-544' -and $_.type -eq 'allow' })
        $admins.Count | Should -BeGreaterThan 0
        $admins[0].mask | Should -BeGreaterThan 0
        $admins[0].account | Should -Be (Get-FieldkitTestAccountName -Sid 'S-1-5-32-544')
    }

    It 'reads root by default, where Authenticated Users have an entry' {
        $rootSecurity.namespace | Should -Be 'root'
        @($rootSecurity.entries | ForEach-Object { $_.sid }) | Should -Contain 'S-1-5-11'
    }

    It 'an absent namespace fails with WBEM_E_INVALID_NAMESPACE (0x8004100E)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Get-FieldkitWmiNamespaceSecurity -Namespace $absentNamespace }
        $caught | Should -Not -BeNullOrEmpty
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147749902
    }
}

Describe 'wmi.remove_instances (Remove-FieldkitWmiInstance)' {
    BeforeAll {
        $checkRun = Remove-FieldkitWmiInstance -Namespace $namespace -ClassName $className -PropertyName 'Site' -PropertyValue 'PS1' -CheckMode
        $countAfterCheck = Get-FieldkitTestInstanceCount
        $realRun = Remove-FieldkitWmiInstance -Namespace $namespace -ClassName $className -PropertyName 'Site' -PropertyValue 'PS1'
        $countAfterReal = Get-FieldkitTestInstanceCount
        $secondRun = Remove-FieldkitWmiInstance -Namespace $namespace -ClassName $className -PropertyName 'Site' -PropertyValue 'PS1'
        $removeAll = Remove-FieldkitWmiInstance -Namespace $namespace -ClassName $className
        $countAfterAll = Get-FieldkitTestInstanceCount
        $removeAllAgain = Remove-FieldkitWmiInstance -Namespace $namespace -ClassName $className
        $absentClass = Remove-FieldkitWmiInstance -Namespace $namespace -ClassName 'FieldkitAbsentClass'
        $absentNamespaceRun = Remove-FieldkitWmiInstance -Namespace $absentNamespace -ClassName $className
    }

    It 'check mode counts the matching instances and removes nothing' {
        $checkRun.changed | Should -BeTrue
        $checkRun.before.count | Should -Be 1
        $checkRun.after.count | Should -Be 0
        $countAfterCheck | Should -Be 3
    }

    It 'the real run removes only the instances whose property matches' {
        $realRun.changed | Should -BeTrue
        $realRun.before.count | Should -Be 1
        $realRun.after.count | Should -Be 0
        $countAfterReal | Should -Be 2
    }

    It 'a second run is unchanged' {
        $secondRun.changed | Should -BeFalse
        $secondRun.before.count | Should -Be 0
    }

    It 'without a property filter removes every instance, once' {
        $removeAll.changed | Should -BeTrue
        $removeAll.before.count | Should -Be 2
        $countAfterAll | Should -Be 0
        $removeAllAgain.changed | Should -BeFalse
    }

    It 'an absent class or namespace means nothing to do' {
        $absentClass.changed | Should -BeFalse
        $absentClass.before.namespace_present | Should -BeTrue
        $absentNamespaceRun.changed | Should -BeFalse
        $absentNamespaceRun.before.namespace_present | Should -BeFalse
    }
}
