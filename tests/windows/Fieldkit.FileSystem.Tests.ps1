# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of the file and folder ops, on files in $TestDrive:
# file.remove (Remove-FieldkitFile), folder.empty (Clear-FieldkitFolder), acl.read (Get-FieldkitAcl,
# literal paths and the registry / fixed_drives / site_log path references), path.test_access
# (Test-FieldkitPathAccess, local paths) and disk.list (Get-FieldkitDisk, with a marker file at the
# root of the system drive that is removed afterwards).
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
    $env:FIELDKIT_TEST_DIR = $TestDrive
}

AfterAll {
    Remove-Item -LiteralPath 'Env:\FIELDKIT_TEST_DIR' -ErrorAction SilentlyContinue
    Remove-FieldkitTestRegistryKey -SubKey $FieldkitTestRegistryKey
    Exit-FieldkitAnsibleSession
}

Describe 'file.remove (Remove-FieldkitFile)' {
    BeforeAll {
        $file = Join-Path -Path $TestDrive -ChildPath 'remove-me.txt'
        Set-Content -LiteralPath $file -Value 'SMS Unique Identifier=GUID:TEST' -Encoding ASCII
        $wanted = '%FIELDKIT_TEST_DIR%\remove-me.txt'
        $checkRun = Remove-FieldkitFile -Path $wanted -CheckMode
        $existsAfterCheck = Test-Path -LiteralPath $file
        $realRun = Remove-FieldkitFile -Path $wanted
        $existsAfterReal = Test-Path -LiteralPath $file
        $secondRun = Remove-FieldkitFile -Path $wanted
    }

    It 'check mode reports the removal and removes nothing' {
        $checkRun.changed | Should -BeTrue
        $checkRun.before.exists | Should -BeTrue
        $checkRun.before.path | Should -Be $file
        $checkRun.after.exists | Should -BeFalse
        $existsAfterCheck | Should -BeTrue
    }

    It 'the real run removes it (environment variables expanded)' {
        $realRun.changed | Should -BeTrue
        $existsAfterReal | Should -BeFalse
    }

    It 'a second run is unchanged' {
        $secondRun.changed | Should -BeFalse
        $secondRun.before.exists | Should -BeFalse
    }

    It 'a file in use fails with ERROR_SHARING_VIOLATION (32, 0x80070020) and is kept' {
        $locked = Join-Path -Path $TestDrive -ChildPath 'locked.txt'
        Set-Content -LiteralPath $locked -Value 'x' -Encoding ASCII
        $stream = [System.IO.File]::Open($locked, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, [System.IO.FileShare]::None)
        try {
            $caught = Get-FieldkitTestError -ScriptBlock { Remove-FieldkitFile -Path $locked }
        }
        finally {
            $stream.Dispose()
        }
        $caught | Should -Not -BeNullOrEmpty
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942432
        $caught.Exception.Message | Should -BeLike "could not delete $locked*"
        Test-Path -LiteralPath $locked | Should -BeTrue
    }
}

Describe 'folder.empty (Clear-FieldkitFolder)' {
    BeforeAll {
        $folder = Join-Path -Path $TestDrive -ChildPath 'ccmcache'
        $null = New-Item -ItemType Directory -Path (Join-Path -Path $folder -ChildPath 'sub') -Force
        Set-Content -LiteralPath (Join-Path -Path $folder -ChildPath 'a.txt') -Value '0123456789' -NoNewline -Encoding ASCII
        Set-Content -LiteralPath (Join-Path -Path $folder -ChildPath 'sub\b.bin') -Value '01234' -NoNewline -Encoding ASCII
        $hidden = Join-Path -Path $folder -ChildPath 'hidden.txt'
        Set-Content -LiteralPath $hidden -Value 'x' -NoNewline -Encoding ASCII
        (Get-Item -LiteralPath $hidden -Force).Attributes = 'Hidden'
        $checkRun = Clear-FieldkitFolder -Path '%FIELDKIT_TEST_DIR%\ccmcache\' -RequiredLeaf 'ccmcache' -CheckMode
        $countAfterCheck = @(Get-ChildItem -LiteralPath $folder -Force -Recurse -File).Count
        $realRun = Clear-FieldkitFolder -Path '%FIELDKIT_TEST_DIR%\ccmcache\' -RequiredLeaf 'CCMCACHE'
        $leftAfterReal = @(Get-ChildItem -LiteralPath $folder -Force).Count
        $folderAfterReal = Test-Path -LiteralPath $folder -PathType Container
        $secondRun = Clear-FieldkitFolder -Path '%FIELDKIT_TEST_DIR%\ccmcache' -RequiredLeaf 'ccmcache'
        $absent = Clear-FieldkitFolder -Path (Join-Path -Path $TestDrive -ChildPath 'absent\ccmcache') -RequiredLeaf 'ccmcache'
    }

    It 'check mode counts the files (hidden ones too) and their size, and deletes nothing' {
        $checkRun.changed | Should -BeTrue
        $checkRun.before.exists | Should -BeTrue
        $checkRun.before.path | Should -Be $folder
        $checkRun.before.item_count | Should -Be 3
        $checkRun.before.size_bytes | Should -Be 16
        $checkRun.after.item_count | Should -Be 0
        $countAfterCheck | Should -Be 3
    }

    It 'the real run empties the folder and keeps it (the leaf is compared case-insensitively)' {
        $realRun.changed | Should -BeTrue
        $realRun.after.item_count | Should -Be 0
        $leftAfterReal | Should -Be 0
        $folderAfterReal | Should -BeTrue
    }

    It 'a second run is unchanged' {
        $secondRun.changed | Should -BeFalse
        $secondRun.before.item_count | Should -Be 0
    }

    It 'an absent folder is reported, not an error' {
        $absent.changed | Should -BeFalse
        $absent.before.exists | Should -BeFalse
    }

    It 'refuses a folder with another name, with E_INVALIDARG (0x80070057), and deletes nothing' {
        $other = Join-Path -Path $TestDrive -ChildPath 'Windows'
        $null = New-Item -ItemType Directory -Path $other -Force
        Set-Content -LiteralPath (Join-Path -Path $other -ChildPath 'keep.txt') -Value 'x' -Encoding ASCII
        $caught = Get-FieldkitTestError -ScriptBlock { Clear-FieldkitFolder -Path $other -RequiredLeaf 'ccmcache' }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
        Test-Path -LiteralPath (Join-Path -Path $other -ChildPath 'keep.txt') | Should -BeTrue
    }
}

Describe 'acl.read (Get-FieldkitAcl)' {
    BeforeAll {
        $aclDir = Join-Path -Path $TestDrive -ChildPath 'acl'
        $deniedDir = Join-Path -Path $TestDrive -ChildPath 'denied'
        $null = New-Item -ItemType Directory -Path $aclDir -Force
        $null = New-Item -ItemType Directory -Path $deniedDir -Force
        $users = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-32-545'
        $inherit = [System.Security.AccessControl.InheritanceFlags]'ContainerInherit, ObjectInherit'
        $rule = New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList @($users, 'ReadAndExecute', $inherit, 'None', 'Allow')
        $info = Get-Item -LiteralPath $aclDir
        $security = $info.GetAccessControl('Access')
        $security.AddAccessRule($rule)
        $info.SetAccessControl($security)
        $me = [System.Security.Principal.WindowsIdentity]::GetCurrent().User
        $denyRule = New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList @($me, 'ListDirectory', 'None', 'None', 'Deny')
        $deniedInfo = Get-Item -LiteralPath $deniedDir
        $deniedSecurity = $deniedInfo.GetAccessControl('Access')
        $deniedSecurity.AddAccessRule($denyRule)
        $deniedInfo.SetAccessControl($deniedSecurity)
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\mecm.fieldkit.tests\acl' -Name 'Library' -Value ($TestDrive + ';' + $TestDrive + '\absent') -Kind String
        $refs = @(
            @{ kind = 'registry'; key = 'SOFTWARE\mecm.fieldkit.tests\acl'; name = 'Library'; append = 'acl' }
            @{ kind = 'fixed_drives'; append = 'Windows' }
            @{ kind = 'site_log'; name = 'distmgr.log' }
        )
        $read = Get-FieldkitAcl -Paths @('%FIELDKIT_TEST_DIR%\acl', $deniedDir, (Join-Path -Path $TestDrive -ChildPath 'absent')) -PathRefs $refs
        $independent = Get-Acl -LiteralPath $aclDir
    }

    AfterAll {
        $deniedSecurity = $deniedInfo.GetAccessControl('Access')
        $null = $deniedSecurity.RemoveAccessRule($denyRule)
        $deniedInfo.SetAccessControl($deniedSecurity)
    }

    It 'reads owner, SDDL, protection and the entries of a folder as Get-Acl does' {
        $entry = $read.acls[0]
        $entry.path | Should -Be $aclDir
        $entry.source | Should -Be 'path'
        $entry.exists | Should -BeTrue
        $entry.sddl | Should -Be $independent.Sddl
        $ownerSid = $independent.GetOwner([System.Security.Principal.SecurityIdentifier]).Value
        $entry.owner_sid | Should -Be $ownerSid
        $entry.protected | Should -BeFalse
        $usersEntry = @($entry.entries | Where-Object { $_.sid -eq 'S-1-5-32-545' -and -not $_.inherited })[0]
        $usersEntry.type | Should -Be 'allow'
        $usersEntry.rights | Should -BeLike '*ReadAndExecute*'
        $usersEntry.inheritance | Should -Be 'ContainerInherit, ObjectInherit'
        $usersEntry.mask | Should -BeGreaterThan 0
        $usersEntry.account | Should -Be (Get-FieldkitTestAccountName -Sid 'S-1-5-32-545')
    }

    It 'reads a deny entry' {
        $denied = $read.acls[1]
        $denied.exists | Should -BeTrue
        @($denied.entries | Where-Object { $_.type -eq 'deny' }).Count | Should -BeGreaterThan 0
    }

    It 'reports an absent path without failing' {
        $read.acls[2].exists | Should -BeFalse
        @($read.acls[2].entries).Count | Should -Be 0
    }

    It 'resolves a registry path reference (a ; separated list, each joined with append)' {
        $fromRegistry = @($read.acls | Where-Object { $_.source -eq 'registry SOFTWARE\mecm.fieldkit.tests\acl\Library' })
        @($fromRegistry | ForEach-Object { $_.path }) | Should -Contain (Join-Path -Path $TestDrive -ChildPath 'acl')
        @($fromRegistry | ForEach-Object { $_.path }) | Should -Contain (Join-Path -Path $TestDrive -ChildPath 'absent\acl')
    }

    It 'resolves fixed_drives to existing paths on fixed drives only' {
        $drives = @($read.acls | Where-Object { $_.source -eq 'fixed drives' } | ForEach-Object { $_.path })
        $drives | Should -Contain ($env:SystemDrive.ToUpperInvariant() + '\Windows')
    }

    It 'resolves site_log to nothing on a host without a ConfigMgr site' -Skip:(Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\SMS\Identification') {
        @($read.acls | Where-Object { $_.source -eq 'site log folder' }).Count | Should -Be 0
    }

    It 'refuses an unknown path reference kind with E_INVALIDARG (0x80070057)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Get-FieldkitAcl -PathRefs @(@{ kind = 'ftp'; name = 'x' }) }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942487
    }
}

Describe 'path.test_access (Test-FieldkitPathAccess) on local paths' {
    BeforeAll {
        $deniedDir = Join-Path -Path $TestDrive -ChildPath 'denied-access'
        $null = New-Item -ItemType Directory -Path $deniedDir -Force
        $me = [System.Security.Principal.WindowsIdentity]::GetCurrent().User
        $denyRule = New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList @($me, 'ListDirectory', 'None', 'None', 'Deny')
        $deniedInfo = Get-Item -LiteralPath $deniedDir
        $deniedSecurity = $deniedInfo.GetAccessControl('Access')
        $deniedSecurity.AddAccessRule($denyRule)
        $deniedInfo.SetAccessControl($deniedSecurity)
        $absentDir = Join-Path -Path $TestDrive -ChildPath 'absent'
        $result = Test-FieldkitPathAccess -Paths @($TestDrive, $absentDir, $deniedDir, '%SystemRoot%') -TimeoutSeconds 15
        $drive = New-Object -TypeName System.IO.DriveInfo -ArgumentList ([System.IO.Path]::GetPathRoot($TestDrive))
    }

    AfterAll {
        $deniedSecurity = $deniedInfo.GetAccessControl('Access')
        $null = $deniedSecurity.RemoveAccessRule($denyRule)
        $deniedInfo.SetAccessControl($deniedSecurity)
    }

    It 'names the identity that ran the test' {
        $result.identity | Should -Be ([System.Security.Principal.WindowsIdentity]::GetCurrent().Name)
    }

    It 'reads a readable folder and the free space of its volume' {
        $entry = $result.paths[0]
        $entry.exists | Should -BeTrue
        $entry.readable | Should -BeTrue
        $entry.error | Should -BeNullOrEmpty
        $entry.total_bytes | Should -Be $drive.TotalSize
        $entry.free_bytes | Should -BeGreaterThan 0
        $entry.elapsed_ms | Should -BeOfType ([int])
    }

    It 'reports an absent folder with ERROR_PATH_NOT_FOUND (3, 0x80070003)' {
        $entry = $result.paths[1]
        $entry.exists | Should -BeFalse
        $entry.readable | Should -BeFalse
        $entry.error.code | Should -Be 2147942403
        $entry.error.hresult | Should -Be '0x80070003'
    }

    It 'reports a folder it may not list with E_ACCESSDENIED (0x80070005)' {
        $entry = $result.paths[2]
        $entry.exists | Should -BeTrue
        $entry.readable | Should -BeFalse
        $entry.error.code | Should -Be 2147942405
    }

    It 'expands environment variables and returns the path as given' {
        $entry = $result.paths[3]
        $entry.path | Should -Be '%SystemRoot%'
        $entry.readable | Should -BeTrue
    }
}

Describe 'disk.list (Get-FieldkitDisk)' {
    BeforeAll {
        $systemDrive = $env:SystemDrive.ToUpperInvariant()
        $markerName = 'mecm.fieldkit.tests.marker'
        $markerPath = $systemDrive + '\' + $markerName
        Set-Content -LiteralPath $markerPath -Value 'mecm.fieldkit Pester suite; safe to delete' -Encoding ASCII
        $all = Get-FieldkitDisk
        $filtered = Get-FieldkitDisk -Drives @($systemDrive.ToLowerInvariant() + '\') -MarkerFile $markerName
        $withoutMarker = Get-FieldkitDisk -Drives @($systemDrive) -MarkerFile 'mecm.fieldkit.tests.absent'
        Remove-Item -LiteralPath $markerPath -Force
        $logical = Get-CimInstance -ClassName Win32_LogicalDisk -Filter ("DeviceID='" + $systemDrive + "'") -ErrorAction Stop
    }

    It 'lists every fixed drive as Win32_LogicalDisk does' {
        $expected = @(Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType=3' -ErrorAction Stop | ForEach-Object { $_.DeviceID.ToUpperInvariant() } | Sort-Object)
        @($all.disks | ForEach-Object { $_.drive }) -join ',' | Should -Be ($expected -join ',')
    }

    It 'reads size, free space, percent and file system of the system drive' {
        $disk = $filtered.disks[0]
        @($filtered.disks).Count | Should -Be 1
        $disk.drive | Should -Be $systemDrive
        $disk.size_bytes | Should -Be ([int64]$logical.Size)
        $disk.free_bytes | Should -BeGreaterThan 0
        $disk.free_percent | Should -Be ([Math]::Round($disk.free_bytes * 100.0 / $disk.size_bytes, 2))
        $disk.file_system | Should -Be ([string]$logical.FileSystem)
    }

    It 'finds a marker file at the drive root, and reports its absence' {
        $filtered.disks[0].marker_present | Should -BeTrue
        $withoutMarker.disks[0].marker_present | Should -BeFalse
        $all.disks[0].marker_present | Should -BeNullOrEmpty
    }
}
