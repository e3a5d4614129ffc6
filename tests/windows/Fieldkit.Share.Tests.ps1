# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of the share ops on a throwaway SMB share
# "mecm.fieldkit.tests$" over a folder in $TestDrive: share.list (Get-FieldkitShare, with the share
# ACL), acl.read through a share path reference (Get-FieldkitAcl), and path.test_access
# (Test-FieldkitPathAccess) over UNC, including a path that never answers.
# NOT RUN by the project's CI or authors (no Windows there); see tests/windows/README.md.

BeforeAll {
    . "$PSScriptRoot\Fieldkit.TestHelpers.ps1"
    Assert-FieldkitTestHost
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitCommon.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitDpShared.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitSiteOps.psm1" -Force -Global -DisableNameChecking
    Enter-FieldkitAnsibleSession
    $shareName = 'mecm.fieldkit.tests$'
    $sharePath = Join-Path -Path $TestDrive -ChildPath 'share'
    $null = New-Item -ItemType Directory -Path (Join-Path -Path $sharePath -ChildPath 'content') -Force
    Set-Content -LiteralPath (Join-Path -Path $sharePath -ChildPath 'content\file.txt') -Value 'x' -Encoding ASCII
    $administrators = Get-FieldkitTestAccountName -Sid 'S-1-5-32-544'
    $users = Get-FieldkitTestAccountName -Sid 'S-1-5-32-545'
    if ($null -ne (Get-SmbShare -Name $shareName -ErrorAction SilentlyContinue)) {
        Remove-SmbShare -Name $shareName -Force -ErrorAction Stop
    }
    $null = New-SmbShare -Name $shareName -Path $sharePath -FullAccess $administrators -ReadAccess $users -Description 'mecm.fieldkit Pester suite; safe to delete' -ErrorAction Stop
}

AfterAll {
    if ($null -ne (Get-SmbShare -Name $shareName -ErrorAction SilentlyContinue)) {
        Remove-SmbShare -Name $shareName -Force -ErrorAction SilentlyContinue
    }
    Exit-FieldkitAnsibleSession
}

Describe 'share.list (Get-FieldkitShare)' {
    BeforeAll {
        $listed = Get-FieldkitShare -Names @('mecm.fieldkit.tests*', 'mecm.fieldkit.tests.absent')
        $noAccess = Get-FieldkitShare -Names @($shareName) -IncludeAccess $false
        $everything = Get-FieldkitShare
        $share = @($listed.shares | Where-Object { $_.name -eq $shareName })[0]
    }

    It 'finds the share by wildcard pattern, with its path, description and special flag' {
        $listed.server_service_running | Should -BeTrue
        $share.path | Should -Be $sharePath
        $share.description | Should -Be 'mecm.fieldkit Pester suite; safe to delete'
        $share.special | Should -Be ([bool](Get-SmbShare -Name $shareName -ErrorAction Stop).Special)
    }

    It 'reads the share ACL with SIDs, as Get-SmbShareAccess does' {
        $admins = @($share.access | Where-Object { $_.sid -eq 'S-1-5-32-544' })[0]
        $admins.type | Should -Be 'allow'
        $admins.right | Should -Be 'full'
        $admins.account | Should -Be $administrators
        $admins.resolved | Should -BeTrue
        $readers = @($share.access | Where-Object { $_.sid -eq 'S-1-5-32-545' })[0]
        $readers.right | Should -Be 'read'
        @($share.access).Count | Should -Be @(Get-SmbShareAccess -Name $shareName -ErrorAction Stop).Count
    }

    It 'lists the patterns no share matched' {
        @($listed.missing) -join ',' | Should -Be 'mecm.fieldkit.tests.absent'
    }

    It 'leaves the ACL out when asked' {
        $noAccess.shares[0].access | Should -BeNullOrEmpty
    }

    It 'lists every share without names, administrative shares included' {
        $names = @($everything.shares | ForEach-Object { $_.name })
        $names | Should -Contain $shareName
        $names | Should -Contain 'IPC$'
        @($everything.missing).Count | Should -Be 0
    }
}

Describe 'acl.read (Get-FieldkitAcl) through a share path reference' {
    It 'resolves the share to its local path and reads its ACL' {
        $read = Get-FieldkitAcl -PathRefs @(@{ kind = 'share'; name = $shareName; append = 'content' }, @{ kind = 'share'; name = 'mecm.fieldkit.tests.absent' })
        @($read.acls).Count | Should -Be 1
        $read.acls[0].path | Should -Be (Join-Path -Path $sharePath -ChildPath 'content')
        $read.acls[0].source | Should -Be "share $shareName"
        $read.acls[0].exists | Should -BeTrue
        $read.acls[0].sddl | Should -Be (Get-Acl -LiteralPath (Join-Path -Path $sharePath -ChildPath 'content')).Sddl
    }
}

Describe 'path.test_access (Test-FieldkitPathAccess) over UNC' {
    BeforeAll {
        $unc = '\\localhost\' + $shareName + '\content'
        $absentShare = '\\localhost\mecm.fieldkit.tests.absent$'
        $silent = '\\192.0.2.1\mecm.fieldkit.tests'
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $result = Test-FieldkitPathAccess -Paths @($unc, $absentShare, $silent) -TimeoutSeconds 5
        $watch.Stop()
    }

    It 'reads a share and the free space behind it' {
        $entry = $result.paths[0]
        $entry.path | Should -Be $unc
        $entry.exists | Should -BeTrue
        $entry.readable | Should -BeTrue
        $entry.free_bytes | Should -BeGreaterThan 0
    }

    It 'reports an absent share with ERROR_BAD_NET_NAME (67, 0x80070043)' {
        $entry = $result.paths[1]
        $entry.readable | Should -BeFalse
        $entry.error.code | Should -Be 2147942467
    }

    It 'gives up on a server that does not answer within the timeout' {
        $entry = $result.paths[2]
        $entry.readable | Should -BeFalse
        $entry.error | Should -Not -BeNullOrEmpty
        $entry.elapsed_ms | Should -BeLessThan 9000
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 30
    }
}
