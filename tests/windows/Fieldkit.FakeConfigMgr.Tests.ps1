# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of the ConfigMgr-reading ops against a FAKE
# ConfigMgr footprint that the suite writes on a stock host and removes afterwards: registry values
# under HKLM\SOFTWARE\Microsoft\SMS and \CCM, a LocalMachine\SMS certificate store, %windir%\SMSCFG.ini,
# %windir%\ccmsetup\Logs\ccmsetup.log and a site log folder. No ConfigMgr binary, service, COM object or
# WMI namespace is faked. The whole file is skipped when the host has ANY real ConfigMgr component, so
# nothing real is ever overwritten or deleted.
# NOT RUN by the project's CI or authors (no Windows there); see tests/windows/README.md.

BeforeDiscovery {
    . "$PSScriptRoot\Fieldkit.TestHelpers.ps1"
    $configMgrPresent = Test-FieldkitTestConfigMgrPresent
    $smsCfgPresent = Test-Path -LiteralPath (Join-Path -Path $env:SystemRoot -ChildPath 'SMSCFG.ini')
    $ccmSetupPresent = Test-Path -LiteralPath (Join-Path -Path $env:SystemRoot -ChildPath 'ccmsetup')
    $skipFake = $configMgrPresent -or $smsCfgPresent -or $ccmSetupPresent
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
    Enter-FieldkitAnsibleSession
    $smsCfg = Join-Path -Path $env:SystemRoot -ChildPath 'SMSCFG.ini'
    $ccmSetupDir = Join-Path -Path $env:SystemRoot -ChildPath 'ccmsetup'
    $installDir = Join-Path -Path $TestDrive -ChildPath 'Microsoft Configuration Manager'
    $libraryPath = Join-Path -Path $TestDrive -ChildPath 'SCCMContentLib'
    $created = $false
}

AfterAll {
    Exit-FieldkitAnsibleSession
}

Describe 'Ops that read a ConfigMgr footprint (a fake one, on a stock host)' -Skip:$skipFake {
    BeforeAll {
        # Refuse, again at run time, to touch a host with a real ConfigMgr component.
        if (Test-FieldkitTestConfigMgrPresent) {
            throw 'this host has a ConfigMgr component: the fake-footprint tests must not run here'
        }
        $created = $true
        $smsThumbprints = @()
        $mobileClient = 'SOFTWARE\Microsoft\SMS\Mobile Client'
        Set-FieldkitTestRegistryValue -SubKey $mobileClient -Name 'AssignedSiteCode' -Value 'PS1'
        Set-FieldkitTestRegistryValue -SubKey $mobileClient -Name 'ProductVersion' -Value '5.00.9132.1011'
        Set-FieldkitTestRegistryValue -SubKey $mobileClient -Name 'GPRequestedSiteAssignmentCode' -Value 'PS1'
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\Microsoft\SMS\Client\Configuration\Client Properties' -Name 'Local SMS Path' -Value 'C:\Windows\CCM\'
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\Microsoft\CCM\CcmExec' -Name 'ProvisioningMode' -Value 'true'
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\Microsoft\CCM\CcmExec' -Name 'ProvisioningEnabledTime' -Value '1763600000'
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\Microsoft\CCM\CcmExec' -Name 'ProvisioningMaxMinutes' -Value '2880'
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\Microsoft\CCM\LocationServices' -Name 'DnsSuffix' -Value 'contoso.local'
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\Microsoft\SMS\Identification' -Name 'Site Code' -Value 'PS1'
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\Microsoft\SMS\Identification' -Name 'Installation Directory' -Value $installDir
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\Microsoft\SMS\DP' -Name 'SiteServer' -Value 'cm01.contoso.local'
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\Microsoft\SMS\DP' -Name 'ContentLibraryPath' -Value $libraryPath
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\Microsoft\SMS\DP' -Name 'ContentLibUsableDrives' -Value 'D:\,E:\'
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\Microsoft\SMS\DP' -Name 'IsPullDP' -Value 0 -Kind DWord
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\Microsoft\SMS\DP' -Name 'IsPXE' -Value 1 -Kind DWord
        $logDir = Join-Path -Path $installDir -ChildPath 'Logs'
        $null = New-Item -ItemType Directory -Path $logDir -Force
        $stamp = [DateTime]::UtcNow.AddMinutes(-30).ToString('MM-dd-yyyy HH:mm:ss.fff', [System.Globalization.CultureInfo]::InvariantCulture)
        $distmgr = 'Failed to connect to dp04.contoso.local. error = 0x800706ba  $$<SMS_DISTRIBUTION_MANAGER><' + $stamp + '+000><thread=4242 (0x1092)>'
        [System.IO.File]::WriteAllText((Join-Path -Path $logDir -ChildPath 'distmgr.log'), $distmgr + "`r`n", [System.Text.Encoding]::Unicode)
        $null = New-Item -ItemType Directory -Path $libraryPath -Force
        $smsCfgText = @(
            '[Configuration - Client Properties]'
            'SMS Unique Identifier=GUID:12345678-90AB-CDEF-1234-567890ABCDEF'
            'Previous SMSUID=GUID:00000000-1111-2222-3333-444444444444'
            'SMS Certificate Identifier=SMS;0123456789ABCDEF0123456789ABCDEF01234567'
        ) -join "`r`n"
        Set-Content -LiteralPath $smsCfg -Value $smsCfgText -Encoding ASCII
        $logsDir = Join-Path -Path $ccmSetupDir -ChildPath 'Logs'
        $null = New-Item -ItemType Directory -Path $logsDir -Force
        $ccmLines = @(
            '<![LOG[CcmSetup is exiting with return code 0]LOG]!><time="09:00:00.000-540" date="11-19-2026" component="ccmsetup" context="" type="1" thread="1" file="ccmsetup.cpp:1">'
            ''
            '<![LOG[==========[ ccmsetup started in process 5100 ]==========]LOG]!><time="09:01:00.000-540" date="11-20-2026" component="ccmsetup" context="" type="1" thread="1" file="ccmsetup.cpp:1">'
            '<![LOG[Installation succeeded. Windows Installer has requested a reboot.]LOG]!><time="09:05:00.000-540" date="11-20-2026" component="ccmsetup" context="" type="1" thread="1" file="ccmsetup.cpp:1">'
            '<![LOG[CcmSetup is exiting with return code 7]LOG]!><time="09:05:01.000-540" date="11-20-2026" component="ccmsetup" context="" type="1" thread="1" file="ccmsetup.cpp:1">'
        )
        Set-Content -LiteralPath (Join-Path -Path $logsDir -ChildPath 'ccmsetup.log') -Value $ccmLines -Encoding ASCII
        $smsCert = New-SelfSignedCertificate -Subject 'CN=SMS, CN=mecm.fieldkit.tests' -CertStoreLocation 'Cert:\LocalMachine\My' -NotAfter (Get-Date).AddDays(30)
        $smsThumbprints += $smsCert.Thumbprint
        $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList @('SMS', 'LocalMachine')
        $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite)
        $store.Add($smsCert)
        $store.Close()
    }

    AfterAll {
        # Only what this block created: $created is set after the run-time check above.
        if ($created) {
            Remove-FieldkitTestRegistryKey -SubKey 'SOFTWARE\Microsoft\SMS'
            Remove-FieldkitTestRegistryKey -SubKey 'SOFTWARE\Microsoft\CCM'
            Remove-Item -LiteralPath $smsCfg -Force -ErrorAction SilentlyContinue
            Remove-Item -LiteralPath $ccmSetupDir -Recurse -Force -ErrorAction SilentlyContinue
            if (Test-Path -LiteralPath 'Cert:\LocalMachine\SMS') {
                Remove-Item -LiteralPath 'Cert:\LocalMachine\SMS' -Recurse -Force -ErrorAction SilentlyContinue
            }
            foreach ($thumbprint in $smsThumbprints) {
                Remove-Item -LiteralPath ('Cert:\LocalMachine\My\' + $thumbprint) -DeleteKey -ErrorAction SilentlyContinue
            }
        }
    }

    It 'client.read_install: no client without CcmExec, the version from the registry' {
        $install = Get-FieldkitClientInstall
        $install.installed | Should -BeFalse
        $install.version | Should -Be '5.00.9132.1011'
        $install.version_source | Should -Be 'registry'
        $install.install_path | Should -Be 'C:\Windows\CCM\'
    }

    It 'client.read_identity: the SMS Unique Identifier and the previous one from SMSCFG.ini' {
        $identity = Get-FieldkitClientIdentity
        $identity.smscfg_present | Should -BeTrue
        $identity.smscfg_unique_id | Should -Be 'GUID:12345678-90AB-CDEF-1234-567890ABCDEF'
        $identity.smscfg_previous_unique_id | Should -Be 'GUID:00000000-1111-2222-3333-444444444444'
        $identity.smscfg_certificate_identifier | Should -Be 'SMS;0123456789ABCDEF0123456789ABCDEF01234567'
        $identity.wmi_available | Should -BeFalse
    }

    It 'client.read_site_assignment: the site and the Group Policy values from the registry' {
        $site = Get-FieldkitClientSiteAssignment
        $site.com_available | Should -BeFalse
        $site.registry_assigned_site | Should -Be 'PS1'
        $site.gp_site_assignment['GPRequestedSiteAssignmentCode'] | Should -Be 'PS1'
        $site.dns_suffix | Should -Be 'contoso.local'
    }

    It 'client.read_provisioning_mode: the registry values, numbers parsed' {
        $mode = Get-FieldkitClientProvisioningMode
        $mode.registry_value | Should -Be 'true'
        $mode.enabled_time_epoch | Should -Be 1763600000
        $mode.max_minutes | Should -Be 2880
    }

    It 'guard.assert_not_provisioning fails with ERROR_INVALID_STATE (5023, 0x8007139F)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Assert-FieldkitNotProvisioning }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147947423
        $caught.Exception.Message | Should -BeLike '*is in provisioning mode*'
    }

    It 'client.set_provisioning_mode in check mode reports a disable and writes nothing' {
        $result = Set-FieldkitClientProvisioningMode -Enabled $false -CheckMode
        $result.changed | Should -BeTrue
        $result.before.registry_value | Should -Be 'true'
        $result.after.registry_value | Should -Be 'false'
        Get-FieldkitRegistryValue -SubKey 'SOFTWARE\Microsoft\CCM\CcmExec' -ValueName 'ProvisioningMode' | Should -Be 'true'
    }

    It 'site.read_roles: a site system (DP key), not a site server' {
        $roles = Get-FieldkitSiteRole
        $roles.is_site_server | Should -BeFalse
        $roles.is_site_system | Should -BeTrue
        $roles.site_code | Should -Be 'PS1'
        $roles.roles | Should -Contain 'distribution_point'
        $roles.evidence | Should -Contain 'key HKLM\SOFTWARE\Microsoft\SMS\DP exists'
    }

    It 'guard.assert_not_site_system fails with ERROR_NOT_SUPPORTED (50, 0x80070032)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Assert-FieldkitNotSiteSystem }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942450
        $caught.Exception.Message | Should -BeLike '*is a ConfigMgr site system*'
    }

    It 'dp.read_role (Get-FieldkitDpRole) reads the DP registry' {
        $role = Get-FieldkitDpRole
        $role.installed | Should -BeTrue
        $role.registry_present | Should -BeTrue
        $role.site_server | Should -Be 'cm01.contoso.local'
        $role.site_code | Should -Be 'PS1'
        $role.content_library_path | Should -Be $libraryPath
        @($role.usable_drives) -join ',' | Should -Be 'D:,E:'
        $role.is_pull_dp | Should -BeFalse
        $role.is_pxe | Should -BeTrue
        $role.sms_dp_share_path | Should -BeNullOrEmpty
    }

    It 'log.read_filtered resolves the site_log path reference to the site log folder' {
        $read = Read-FieldkitLogFiltered -PathRefs @(@{ kind = 'site_log'; name = 'distmgr.log' }) -IncludeRotated $false
        $read.log_dir | Should -Be (Join-Path -Path $installDir -ChildPath 'Logs')
        $read.files[0].exists | Should -BeTrue
        $read.records[0].text | Should -BeLike '*dp04.contoso.local*0x800706ba*'
    }

    It 'ccmsetup.read_status reads the last return code of ccmsetup.log and its tail' {
        $status = Get-FieldkitCcmSetupStatus -TailLines 3
        $status.log_present | Should -BeTrue
        $status.return_code | Should -Be 7
        @($status.log_tail).Count | Should -Be 3
        $status.log_tail[-1] | Should -BeLike '<![[]LOG[[]CcmSetup is exiting with return code 7*'
        @((Get-FieldkitCcmSetupStatus -TailLines 0).log_tail).Count | Should -Be 0
    }

    It 'guard.assert_capture_ready fails with ERROR_NOT_READY (21, 0x80070015) for SMS certificates and SMSCFG.ini' {
        $caught = Get-FieldkitTestError -ScriptBlock { Assert-FieldkitCaptureReady }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942421
        $caught.Exception.Message | Should -BeLike '*LocalMachine\SMS holds 1 certificate(s)*'
        $caught.Exception.Message | Should -BeLike '*SMSCFG.ini exists*'
        (Assert-FieldkitCaptureReady -CheckSmsStore $false -CheckSmscfg $false).passed | Should -BeTrue
    }

    It 'cert.remove with remove_all empties LocalMachine\SMS (check mode first)' {
        $check = Remove-FieldkitCertificate -StoreName 'SMS' -RemoveAll $true -CheckMode
        $check.changed | Should -BeTrue
        @($check.before.matching | ForEach-Object { $_.thumbprint }) | Should -Contain $smsCert.Thumbprint
        @((Get-FieldkitCertificate -StoreName 'SMS').certificates).Count | Should -Be 1
        $real = Remove-FieldkitCertificate -StoreName 'SMS' -RemoveAll $true
        $real.changed | Should -BeTrue
        @((Get-FieldkitCertificate -StoreName 'SMS').certificates).Count | Should -Be 0
        (Remove-FieldkitCertificate -StoreName 'SMS' -RemoveAll $true).changed | Should -BeFalse
    }

    It 'file.remove removes %windir%\SMSCFG.ini (check mode first)' {
        (Remove-FieldkitFile -Path '%windir%\SMSCFG.ini' -CheckMode).changed | Should -BeTrue
        Test-Path -LiteralPath $smsCfg | Should -BeTrue
        (Remove-FieldkitFile -Path '%windir%\SMSCFG.ini').changed | Should -BeTrue
        Test-Path -LiteralPath $smsCfg | Should -BeFalse
        (Assert-FieldkitCaptureReady).passed | Should -BeTrue
    }

    It 'registry.remove_values removes the assigned site (check mode first)' {
        $check = Remove-FieldkitRegistryValue -Path 'SOFTWARE\Microsoft\SMS\Mobile Client' -Names @('AssignedSiteCode') -CheckMode
        $check.changed | Should -BeTrue
        (Get-FieldkitClientSiteAssignment).registry_assigned_site | Should -Be 'PS1'
        (Remove-FieldkitRegistryValue -Path 'SOFTWARE\Microsoft\SMS\Mobile Client' -Names @('AssignedSiteCode')).changed | Should -BeTrue
        (Get-FieldkitClientSiteAssignment).registry_assigned_site | Should -BeNullOrEmpty
    }
}
