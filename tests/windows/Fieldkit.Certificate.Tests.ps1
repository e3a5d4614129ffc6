# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of the certificate ops: cert.list
# (Get-FieldkitCertificate) and cert.remove (Remove-FieldkitCertificate), in a throwaway store
# LocalMachine\FieldkitTest holding self-signed certificates from New-SelfSignedCertificate (made in
# LocalMachine\My, copied to the test store; both copies and their keys are deleted afterwards).
# NOT RUN by the project's CI or authors (no Windows there); see tests/windows/README.md.

BeforeAll {
    . "$PSScriptRoot\Fieldkit.TestHelpers.ps1"
    Assert-FieldkitTestHost
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitCommon.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitSystemOps.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitClientOps.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitImageOps.psm1" -Force -Global -DisableNameChecking
    Enter-FieldkitAnsibleSession
    $storeName = 'FieldkitTest'
    $absentStore = 'FieldkitTestAbsent'
    $clientAuth = '1.3.6.1.5.5.7.3.2'

    Function Get-FieldkitTestStoreThumbprint {
        param ([string]$Name)

        $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList @($Name, 'LocalMachine')
        $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]'ReadOnly, OpenExistingOnly')
        try {
            return @($store.Certificates | ForEach-Object { $_.Thumbprint } | Sort-Object)
        }
        finally {
            $store.Close()
        }
    }

    $created = @()
    $clientArgs = @{
        Subject = 'CN=mecm.fieldkit.tests client auth'
        CertStoreLocation = 'Cert:\LocalMachine\My'
        TextExtension = @('2.5.29.37={text}1.3.6.1.5.5.7.3.2')
        NotAfter = (Get-Date).AddDays(30)
    }
    $created += New-SelfSignedCertificate @clientArgs
    $signingArgs = @{
        Subject = 'CN=mecm.fieldkit.tests code signing'
        CertStoreLocation = 'Cert:\LocalMachine\My'
        Type = 'CodeSigningCert'
        NotAfter = (Get-Date).AddDays(30)
    }
    $created += New-SelfSignedCertificate @signingArgs
    $clientThumbprint = $created[0].Thumbprint
    $signingThumbprint = $created[1].Thumbprint
    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList @($storeName, 'LocalMachine')
    $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite)
    foreach ($cert in $created) {
        $store.Add($cert)
    }
    $store.Close()
}

AfterAll {
    foreach ($cert in $created) {
        Remove-Item -LiteralPath ('Cert:\LocalMachine\My\' + $cert.Thumbprint) -DeleteKey -ErrorAction SilentlyContinue
    }
    if (Test-Path -LiteralPath "Cert:\LocalMachine\$storeName") {
        Remove-Item -LiteralPath "Cert:\LocalMachine\$storeName" -Recurse -Force -ErrorAction SilentlyContinue
    }
    Exit-FieldkitAnsibleSession
}

Describe 'cert.list (Get-FieldkitCertificate)' {
    BeforeAll {
        $listed = Get-FieldkitCertificate -StoreName $storeName
        $absent = Get-FieldkitCertificate -StoreName $absentStore
        $client = @($listed.certificates | Where-Object { $_.thumbprint -eq $clientThumbprint })[0]
    }

    It 'lists every certificate of the store' {
        $listed.store | Should -Be 'LocalMachine\FieldkitTest'
        $listed.store_exists | Should -BeTrue
        @($listed.certificates | ForEach-Object { $_.thumbprint } | Sort-Object) -join ',' | Should -Be ((Get-FieldkitTestStoreThumbprint -Name $storeName) -join ',')
    }

    It 'reads subject, issuer, expiry (UTC), private key and enhanced key usages, and no key material' {
        $client.subject | Should -Be 'CN=mecm.fieldkit.tests client auth'
        $client.issuer | Should -Be 'CN=mecm.fieldkit.tests client auth'
        $client.not_after | Should -Match '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$'
        $client.not_after | Should -Be ($created[0].NotAfter.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture))
        $client.has_private_key | Should -BeTrue
        @($client.enhanced_key_usages) | Should -Contain $clientAuth
        $client.template | Should -BeNullOrEmpty
        @($client.Keys | Sort-Object) -join ',' | Should -Be 'enhanced_key_usages,has_private_key,issuer,not_after,subject,template,thumbprint'
    }

    It 'reports an absent store without creating it' {
        $absent.store_exists | Should -BeFalse
        @($absent.certificates).Count | Should -Be 0
        Test-Path -LiteralPath "Cert:\LocalMachine\$absentStore" | Should -BeFalse
    }
}

Describe 'cert.remove (Remove-FieldkitCertificate)' {
    BeforeAll {
        $checkRun = Remove-FieldkitCertificate -StoreName $storeName -Issuer 'mecm.fieldkit.tests' -CheckMode
        $afterCheck = Get-FieldkitTestStoreThumbprint -Name $storeName
        $realRun = Remove-FieldkitCertificate -StoreName $storeName -Issuer 'mecm.fieldkit.tests'
        $afterReal = Get-FieldkitTestStoreThumbprint -Name $storeName
        $secondRun = Remove-FieldkitCertificate -StoreName $storeName -Issuer 'mecm.fieldkit.tests'
        $byThumbprint = Remove-FieldkitCertificate -StoreName $storeName -Thumbprints @($signingThumbprint.ToLowerInvariant()) -RequireClientAuth $false -CheckMode
        $absent = Remove-FieldkitCertificate -StoreName $absentStore -Issuer 'x'
    }

    It 'check mode lists the matching certificates (client authentication only by default) and removes nothing' {
        $checkRun.changed | Should -BeTrue
        @($checkRun.before.matching | ForEach-Object { $_.thumbprint }) -join ',' | Should -Be $clientThumbprint
        $checkRun.after.matching.Count | Should -Be 0
        $afterCheck | Should -Contain $clientThumbprint
    }

    It 'the real run removes the matching certificate and keeps the other' {
        $realRun.changed | Should -BeTrue
        $realRun.before.store_exists | Should -BeTrue
        $afterReal | Should -Not -Contain $clientThumbprint
        $afterReal | Should -Contain $signingThumbprint
    }

    It 'a second run is unchanged' {
        $secondRun.changed | Should -BeFalse
        @($secondRun.before.matching).Count | Should -Be 0
    }

    It 'matches thumbprints case-insensitively, without the client authentication filter when asked' {
        $byThumbprint.changed | Should -BeTrue
        @($byThumbprint.before.matching | ForEach-Object { $_.thumbprint }) -join ',' | Should -Be $signingThumbprint
    }

    It 'an absent store is reported, not an error, and is not created' {
        $absent.changed | Should -BeFalse
        $absent.before.store_exists | Should -BeFalse
        Test-Path -LiteralPath "Cert:\LocalMachine\$absentStore" | Should -BeFalse
    }

    It 'refuses to remove without a filter, with E_INVALIDARG (0x80070057)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Remove-FieldkitCertificate -StoreName $storeName }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
        $caught.Exception.Message | Should -BeLike '*no certificate filter given*'
    }

    It 'refuses remove_all for any store but SMS, with E_INVALIDARG (0x80070057)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Remove-FieldkitCertificate -StoreName $storeName -RemoveAll $true }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
        Get-FieldkitTestStoreThumbprint -Name $storeName | Should -Contain $signingThumbprint
    }
}
