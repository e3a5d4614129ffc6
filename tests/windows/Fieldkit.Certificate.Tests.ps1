# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of the certificate ops: cert.list
# (Get-FieldkitCertificate), cert.remove (Remove-FieldkitCertificate) and guard.assert_certificate_filter
# (Assert-FieldkitCertificateFilter), in a throwaway store LocalMachine\FieldkitTest holding certificates from
# New-SelfSignedCertificate (made in LocalMachine\My, copied to the test store; both copies and their keys are
# deleted afterwards): two self-signed ones, and two client-authentication certificates signed by a throwaway
# test CA, one with a CNG key (Microsoft Software Key Storage Provider) and one with a CAPI key (Microsoft
# Enhanced RSA and AES Cryptographic Provider), so that an issuer filter selects both.
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
    $caArgs = @{
        Subject = 'CN=mecm.fieldkit.tests CA, O=mecm.fieldkit'
        CertStoreLocation = 'Cert:\LocalMachine\My'
        KeyUsage = @('CertSign', 'CRLSign', 'DigitalSignature')
        TextExtension = @('2.5.29.19={text}CA=true')
        NotAfter = (Get-Date).AddDays(30)
    }
    $ca = New-SelfSignedCertificate @caArgs
    $cngArgs = @{
        Subject = 'CN=mecm.fieldkit.tests cng'
        CertStoreLocation = 'Cert:\LocalMachine\My'
        Signer = $ca
        TextExtension = @('2.5.29.37={text}1.3.6.1.5.5.7.3.2')
        NotAfter = (Get-Date).AddDays(30)
    }
    $issued = @(New-SelfSignedCertificate @cngArgs)
    $capiArgs = @{
        Subject = 'CN=mecm.fieldkit.tests capi'
        CertStoreLocation = 'Cert:\LocalMachine\My'
        Signer = $ca
        Provider = 'Microsoft Enhanced RSA and AES Cryptographic Provider'
        TextExtension = @('2.5.29.37={text}1.3.6.1.5.5.7.3.2')
        NotAfter = (Get-Date).AddDays(30)
    }
    $issued += New-SelfSignedCertificate @capiArgs
    $created += $issued
    $cngThumbprint = $issued[0].Thumbprint
    $capiThumbprint = $issued[1].Thumbprint
    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList @($storeName, 'LocalMachine')
    $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite)
    foreach ($cert in $created) {
        $store.Add($cert)
    }
    $store.Close()
}

AfterAll {
    foreach ($cert in @($created) + @($ca)) {
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
        $client.template_name | Should -BeNullOrEmpty
        $client.template_oid | Should -BeNullOrEmpty
        @($client.Keys | Sort-Object) -join ',' | Should -Be 'enhanced_key_usages,has_private_key,issuer,not_after,subject,template,template_name,template_oid,thumbprint'
    }

    It 'reports an absent store without creating it' {
        $absent.store_exists | Should -BeFalse
        @($absent.certificates).Count | Should -Be 0
        Test-Path -LiteralPath "Cert:\LocalMachine\$absentStore" | Should -BeFalse
    }
}

Describe 'cert.remove (Remove-FieldkitCertificate)' {
    BeforeAll {
        $partOfName = Remove-FieldkitCertificate -StoreName $storeName -Issuer 'mecm.fieldkit.tests' -CheckMode
        $checkRun = Remove-FieldkitCertificate -StoreName $storeName -Issuer 'mecm.fieldkit.tests client auth' -CheckMode
        $afterCheck = Get-FieldkitTestStoreThumbprint -Name $storeName
        $realRun = Remove-FieldkitCertificate -StoreName $storeName -Issuer 'CN=MECM.FIELDKIT.TESTS  client auth'
        $afterReal = Get-FieldkitTestStoreThumbprint -Name $storeName
        $secondRun = Remove-FieldkitCertificate -StoreName $storeName -Issuer 'mecm.fieldkit.tests client auth'
        $byThumbprint = Remove-FieldkitCertificate -StoreName $storeName -Thumbprints @($signingThumbprint.ToLowerInvariant()) -RequireClientAuth $false -CheckMode
        $absent = Remove-FieldkitCertificate -StoreName $absentStore -Issuer 'x'
    }

    It 'part of the issuer name matches nothing (no substring match)' {
        $partOfName.changed | Should -BeFalse
        @($partOfName.before.matching).Count | Should -Be 0
    }

    It 'check mode lists the matching certificate (issuer CN exactly, client authentication only) with its CNG key and removes nothing' {
        $checkRun.changed | Should -BeTrue
        @($checkRun.before.matching | ForEach-Object { $_.thumbprint }) -join ',' | Should -Be $clientThumbprint
        $checkRun.before.matching[0].key_provider | Should -Be 'cng'
        $checkRun.before.matching[0].key_container | Should -Not -BeNullOrEmpty
        $checkRun.after.matching.Count | Should -Be 0
        @($checkRun.after.removed).Count | Should -Be 0
        $afterCheck | Should -Contain $clientThumbprint
    }

    It 'the real run (issuer DN, case and spaces ignored) removes the certificate and its private key, and verifies both' {
        $realRun.changed | Should -BeTrue
        $realRun.before.store_exists | Should -BeTrue
        $afterReal | Should -Not -Contain $clientThumbprint
        $afterReal | Should -Contain $signingThumbprint
        $removed = @($realRun.after.removed)
        $removed.Count | Should -Be 1
        $removed[0].certificate_removed | Should -BeTrue
        $removed[0].key_removed | Should -BeTrue
        $provider = New-Object -TypeName System.Security.Cryptography.CngProvider -ArgumentList 'Microsoft Software Key Storage Provider'
        [System.Security.Cryptography.CngKey]::Exists($removed[0].key_container, $provider, [System.Security.Cryptography.CngKeyOpenOptions]::MachineKey) | Should -BeFalse
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

Describe 'a certificate filter without thumbprints that selects several certificates' {
    BeforeAll {
        $caIssuer = 'CN=mecm.fieldkit.tests CA, O=mecm.fieldkit'
        $guardError = Get-FieldkitTestError -ScriptBlock { Assert-FieldkitCertificateFilter -StoreName $storeName -Issuer 'O=mecm.fieldkit,CN=mecm.fieldkit.tests CA' }
        $removeError = Get-FieldkitTestError -ScriptBlock { Remove-FieldkitCertificate -StoreName $storeName -Issuer 'mecm.fieldkit.tests CA' }
        $afterRefusal = Get-FieldkitTestStoreThumbprint -Name $storeName
        $guardAllowed = Assert-FieldkitCertificateFilter -StoreName $storeName -Issuer $caIssuer -AllowMultiple $true
        $guardListed = Assert-FieldkitCertificateFilter -StoreName $storeName -Issuer $caIssuer -Thumbprints @($cngThumbprint, $capiThumbprint)
        $removeAllowed = Remove-FieldkitCertificate -StoreName $storeName -Issuer $caIssuer -AllowMultiple $true
        $afterRemoval = Get-FieldkitTestStoreThumbprint -Name $storeName
    }

    It 'the guard refuses it with ERROR_INVALID_PARAMETER (0x80070057) and names both certificates' {
        Get-FieldkitErrorCode -ErrorRecord $guardError | Should -Be 2147942487
        $guardError.Exception.Message | Should -BeLike "*matches 2 certificates in LocalMachine\$storeName*"
        $guardError.Exception.Message | Should -BeLike "*$cngThumbprint*"
        $guardError.Exception.Message | Should -BeLike "*$capiThumbprint*"
    }

    It 'cert.remove refuses it too and removes nothing' {
        Get-FieldkitErrorCode -ErrorRecord $removeError | Should -Be 2147942487
        $afterRefusal | Should -Contain $cngThumbprint
        $afterRefusal | Should -Contain $capiThumbprint
    }

    It 'passes with allow_multiple or with the thumbprints listed' {
        $guardAllowed.passed | Should -BeTrue
        $guardListed.passed | Should -BeTrue
    }

    It 'with allow_multiple removes both certificates, the CNG and the CAPI key, and verifies them' {
        $removeAllowed.changed | Should -BeTrue
        $afterRemoval | Should -Not -Contain $cngThumbprint
        $afterRemoval | Should -Not -Contain $capiThumbprint
        $removed = @($removeAllowed.after.removed | Sort-Object -Property key_provider)
        @($removed | ForEach-Object { $_.key_provider }) -join ',' | Should -Be 'capi,cng'
        @($removed | Where-Object { $_.key_removed -ne $true }).Count | Should -Be 0
        @($removed | Where-Object { $_.certificate_removed -ne $true }).Count | Should -Be 0
        $capi = $removed[0]
        $parameters = New-Object -TypeName System.Security.Cryptography.CspParameters -ArgumentList @(24, 'Microsoft Enhanced RSA and AES Cryptographic Provider', $capi.key_container)
        $parameters.Flags = [System.Security.Cryptography.CspProviderFlags]'UseExistingKey, UseMachineKeyStore'
        { New-Object -TypeName System.Security.Cryptography.RSACryptoServiceProvider -ArgumentList @(, $parameters) } | Should -Throw
    }
}
