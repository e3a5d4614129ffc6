# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of the image-prep host record ops:
# image.read_removal_record (Get-FieldkitImagePrepRecord), image.write_removal_record
# (Set-FieldkitImagePrepRecord) and image.clear_removal_record (Clear-FieldkitImagePrepRecord). The record
# key is fixed (HKLM\SOFTWARE\mecm.fieldkit\ImagePrep), so the tests run only when it does not exist
# before (a real record of an image-prep run is never touched). The certificate recorded is a self-signed
# client-authentication certificate in the throwaway store LocalMachine\FieldkitRecordTest, deleted with
# its key afterwards. On a host with a ConfigMgr client the SMSCFG/site/TrustedRootKey part is skipped.
# NOT RUN by the project's CI or authors (no Windows there); see tests/windows/README.md.

BeforeDiscovery {
    $skipRecord = Test-Path -LiteralPath 'HKLM:\SOFTWARE\mecm.fieldkit\ImagePrep'
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
    Enter-FieldkitAnsibleSession
    $storeName = 'FieldkitRecordTest'
    $parentExisted = Test-Path -LiteralPath 'HKLM:\SOFTWARE\mecm.fieldkit'
    $certArgs = @{
        Subject = 'CN=mecm.fieldkit.tests record'
        CertStoreLocation = 'Cert:\LocalMachine\My'
        TextExtension = @('2.5.29.37={text}1.3.6.1.5.5.7.3.2')
        NotAfter = (Get-Date).AddDays(30)
    }
    $cert = New-SelfSignedCertificate @certArgs
    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList @($storeName, 'LocalMachine')
    $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite)
    $store.Add($cert)
    $store.Close()
    $filter = @{ StoreName = $storeName; Thumbprints = @($cert.Thumbprint); RequireClientAuth = $true }
}

AfterAll {
    Remove-Item -LiteralPath ('Cert:\LocalMachine\My\' + $cert.Thumbprint) -DeleteKey -ErrorAction SilentlyContinue
    if (Test-Path -LiteralPath "Cert:\LocalMachine\$storeName") {
        Remove-Item -LiteralPath "Cert:\LocalMachine\$storeName" -Recurse -Force -ErrorAction SilentlyContinue
    }
    Exit-FieldkitAnsibleSession
}

Describe 'image.read/write/clear_removal_record (the image-prep host record)' -Skip:$skipRecord {
    BeforeAll {
        $absent = Get-FieldkitImagePrepRecord
        $checkRun = Set-FieldkitImagePrepRecord -CertificateFilters @($filter) -CheckMode
        $afterCheck = Test-Path -LiteralPath 'HKLM:\SOFTWARE\mecm.fieldkit\ImagePrep'
        $realRun = Set-FieldkitImagePrepRecord -CertificateFilters @($filter)
        $read = Get-FieldkitImagePrepRecord
        $values = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\mecm.fieldkit\ImagePrep' -ErrorAction Stop
        $secondRun = Set-FieldkitImagePrepRecord -CertificateFilters @($filter)
        $otherId = Clear-FieldkitImagePrepRecord -RecordId 'not-this-record'
        $checkClear = Clear-FieldkitImagePrepRecord -RecordId $read.record_id -CheckMode
        $afterCheckClear = Test-Path -LiteralPath 'HKLM:\SOFTWARE\mecm.fieldkit\ImagePrep'
        $clear = Clear-FieldkitImagePrepRecord -RecordId $read.record_id
        $afterClear = Get-FieldkitImagePrepRecord
    }

    It 'reads an absent record without failing' {
        $absent.present | Should -BeFalse
        $absent.key | Should -Be 'HKLM\SOFTWARE\mecm.fieldkit\ImagePrep'
        @($absent.certificates).Count | Should -Be 0
    }

    It 'check mode says what it would record and writes nothing' {
        $checkRun.changed | Should -BeTrue
        @($checkRun.after.certificates).Count | Should -Be 1
        $checkRun.after.record_id | Should -BeNullOrEmpty
        $afterCheck | Should -BeFalse
    }

    It 'records the certificate the filter matches, with an id, the time and the computer name' {
        $realRun.changed | Should -BeTrue
        $read.present | Should -BeTrue
        $read.record_id | Should -Be $realRun.after.record_id
        $read.recorded_utc | Should -Match '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$'
        $read.computer_name | Should -Be $env:COMPUTERNAME
        $read.certificates[0].store | Should -Be "LocalMachine\$storeName"
        $read.certificates[0].thumbprint | Should -Be $cert.Thumbprint
        $read.certificates[0].subject | Should -Be 'CN=mecm.fieldkit.tests record'
        @($values.Certificates).Count | Should -Be 1
        $values.TrustedRootKeys | Should -Be 0
    }

    It 'keeps an existing record: nothing new to record is no change' {
        $secondRun.changed | Should -BeFalse
        $secondRun.after.record_id | Should -Be $read.record_id
    }

    It 'leaves a record with another id in place, and check mode removes nothing' {
        $otherId.changed | Should -BeFalse
        $otherId.after.present | Should -BeTrue
        $checkClear.changed | Should -BeTrue
        $afterCheckClear | Should -BeTrue
    }

    It 'removes the record it is given, and mecm.fieldkit when nothing else is in it' {
        $clear.changed | Should -BeTrue
        $clear.after.present | Should -BeFalse
        $afterClear.present | Should -BeFalse
        if (-not $parentExisted) {
            Test-Path -LiteralPath 'HKLM:\SOFTWARE\mecm.fieldkit' | Should -BeFalse
        }
    }
}

Describe 'image.write_removal_record on a host without a ConfigMgr client' -Skip:(Test-FieldkitTestConfigMgrPresent) {
    It 'has no SMSCFG.ini, site or TrustedRootKey to record, and writes nothing' {
        $nothing = Set-FieldkitImagePrepRecord -Smscfg $true -SiteAssignment $true -TrustedRootKey $true -CheckMode
        $nothing.changed | Should -BeFalse
        $nothing.after.sms_unique_id | Should -BeNullOrEmpty
        $nothing.after.site_code | Should -BeNullOrEmpty
    }
}
