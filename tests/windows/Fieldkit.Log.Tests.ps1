# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of log.read_filtered (Read-FieldkitLogFiltered) on
# logs written to $TestDrive: a CMTrace log (UTF-8 without BOM, multi-line records, time bias), an SMS
# trace log (UTF-16 LE with BOM, like the site server's) with its rotated .lo_ file, and a plain text
# log in the ANSI code page; filters by pattern, severity and time; line, byte and scan bounds; a
# registry path reference.
# NOT RUN by the project's CI or authors (no Windows there); see tests/windows/README.md.

BeforeAll {
    . "$PSScriptRoot\Fieldkit.TestHelpers.ps1"
    Assert-FieldkitTestHost
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitCommon.psm1" -Force -Global -DisableNameChecking
    Import-Module -Name "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitDpShared.psm1" -Force -Global -DisableNameChecking
    Enter-FieldkitAnsibleSession
    $invariant = [System.Globalization.CultureInfo]::InvariantCulture
    $now = [DateTime]::UtcNow

    Function Format-FieldkitTestCmTrace {
        # One CMTrace line; Bias is minutes with UTC = local time + bias (JST is -540).
        param ([string]$Message, [datetime]$Utc, [int]$Type, [int]$Bias = 0)

        $local = $Utc.AddMinutes(-1 * $Bias)
        $sign = '+'
        if ($Bias -lt 0) {
            $sign = '-'
        }
        $time = $local.ToString('HH:mm:ss.fff', [System.Globalization.CultureInfo]::InvariantCulture) + $sign + ('{0:D3}' -f [Math]::Abs($Bias))
        $date = $local.ToString('MM-dd-yyyy', [System.Globalization.CultureInfo]::InvariantCulture)
        return ('<![LOG[{0}]LOG]!><time="{1}" date="{2}" component="FieldkitTest" context="" type="{3}" thread="4242" file="test.cpp:1">' -f $Message, $time, $date, $Type)
    }

    Function Format-FieldkitTestSmsTrailer {
        param ([datetime]$Utc, [int]$Bias = 0)

        $local = $Utc.AddMinutes(-1 * $Bias)
        $sign = '+'
        if ($Bias -lt 0) {
            $sign = '-'
        }
        $stamp = $local.ToString('MM-dd-yyyy HH:mm:ss.fff', [System.Globalization.CultureInfo]::InvariantCulture) + $sign + ('{0:D3}' -f [Math]::Abs($Bias))
        return ('  $$<SMS_DISTRIBUTION_MANAGER><{0}><thread=4242 (0x1092)>' -f $stamp)
    }

    $crlf = "`r`n"
    $japanese = -join ([char[]]@(0x63A5, 0x7D9A, 0x5931, 0x6557))
    $recent = $now.AddMinutes(-60)
    $cmLines = @(
        (Format-FieldkitTestCmTrace -Message 'Client is starting' -Utc $recent -Type 1)
        (Format-FieldkitTestCmTrace -Message 'Waiting for the management point' -Utc $recent -Type 2)
        (Format-FieldkitTestCmTrace -Message ('Failed to send the request ' + $japanese) -Utc $recent -Type 3)
        '<![LOG[First line of a multi-line record'
        (Format-FieldkitTestCmTrace -Message 'second line names DP07.CONTOSO.LOCAL' -Utc $recent -Type 1).Replace('<![LOG[', '')
        (Format-FieldkitTestCmTrace -Message 'Old failure' -Utc $now.AddHours(-48) -Type 3)
        (Format-FieldkitTestCmTrace -Message 'Five hours ago in JST' -Utc $now.AddHours(-5) -Type 3 -Bias -540)
        (Format-FieldkitTestCmTrace -Message 'One hour ago in JST' -Utc $recent -Type 3 -Bias -540)
    )
    $cmLog = Join-Path -Path $TestDrive -ChildPath 'client.log'
    [System.IO.File]::WriteAllText($cmLog, ($cmLines -join $crlf) + $crlf, (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false))

    $smsLines = @(
        ('Processing package PS100001' + (Format-FieldkitTestSmsTrailer -Utc $recent))
        ('Failed to connect to dp02.contoso.local. error = 0x800706ba' + (Format-FieldkitTestSmsTrailer -Utc $recent -Bias -540))
        ('Retrying package PS100002' + (Format-FieldkitTestSmsTrailer -Utc $recent))
        'STATMSG: ID=2300 first line of a multi-line record'
        ('continuation that names dp07.contoso.local' + (Format-FieldkitTestSmsTrailer -Utc $recent))
        ('Failed long ago' + (Format-FieldkitTestSmsTrailer -Utc $now.AddHours(-48)))
    )
    $smsLog = Join-Path -Path $TestDrive -ChildPath 'distmgr.log'
    [System.IO.File]::WriteAllText($smsLog, ($smsLines -join $crlf) + $crlf, [System.Text.Encoding]::Unicode)
    $rotated = Join-Path -Path $TestDrive -ChildPath 'distmgr.lo_'
    [System.IO.File]::WriteAllText($rotated, ('Failed in the rotated log' + (Format-FieldkitTestSmsTrailer -Utc $recent) + $crlf), [System.Text.Encoding]::Unicode)

    $plainLog = Join-Path -Path $TestDrive -ChildPath 'plain.log'
    $ascii = [System.Text.Encoding]::ASCII
    $plainBytes = [System.Collections.Generic.List[byte]]::new()
    $plainBytes.AddRange($ascii.GetBytes('first line' + $crlf + 'caf'))
    $plainBytes.Add([byte]233)
    $plainBytes.AddRange($ascii.GetBytes(' line' + $crlf + 'ERROR: something was denied' + $crlf + 'last line' + $crlf))
    [System.IO.File]::WriteAllBytes($plainLog, $plainBytes.ToArray())

    $missingLog = Join-Path -Path $TestDrive -ChildPath 'missing.log'
    $since = $now.AddHours(-3).ToString('yyyy-MM-ddTHH:mm:ssZ', $invariant)
    $read = Read-FieldkitLogFiltered -Paths @($cmLog, $smsLog, $plainLog, $missingLog) -Patterns @('dp07.contoso.local') -SinceUtc $since
    $files = @{}
    foreach ($file in $read.files) {
        $files[$file.name] = $file
    }
}

AfterAll {
    Remove-FieldkitTestRegistryKey -SubKey $FieldkitTestRegistryKey
    Exit-FieldkitAnsibleSession
}

Describe 'log.read_filtered (Read-FieldkitLogFiltered)' {
    It 'lists the files in order, the rotated .lo_ before its .log, an absent .log but no absent .lo_' {
        @($read.files | ForEach-Object { $_.name }) -join ',' | Should -Be 'client.log,distmgr.lo_,distmgr.log,plain.log,missing.log'
        $files['missing.log'].exists | Should -BeFalse
        $files['client.log'].size_bytes | Should -Be (Get-Item -LiteralPath $cmLog).Length
    }

    It 'detects the encodings: UTF-8 without BOM, UTF-16 LE with BOM, the ANSI code page' {
        $files['client.log'].encoding | Should -Be 'utf-8'
        $files['distmgr.log'].encoding | Should -Be 'utf-16le'
        $files['plain.log'].encoding | Should -Be ('cp' + [System.Text.Encoding]::Default.CodePage)
    }

    It 'keeps CMTrace warnings, errors and pattern matches newer than since_utc, applying each line''s bias' {
        $client = @($read.records | Where-Object { $_.file -eq 'client.log' })
        $files['client.log'].records_scanned | Should -Be 7
        $files['client.log'].records_matched | Should -Be 4
        $client.Count | Should -Be 4
        $client[0].text | Should -BeLike '*Waiting for the management point*'
        $client[0].line_number | Should -Be 2
        $client[1].text | Should -BeLike ('*' + $japanese + '*')
        $client[3].text | Should -BeLike '*One hour ago in JST*'
        @($client | Where-Object { $_.text -like '*Five hours ago*' }).Count | Should -Be 0
        @($client | Where-Object { $_.text -like '*Old failure*' }).Count | Should -Be 0
    }

    It 'joins a multi-line CMTrace record and matches the pattern case-insensitively' {
        $multi = @($read.records | Where-Object { $_.file -eq 'client.log' -and $_.text -like '*First line of a multi-line record*' })[0]
        $multi.line_number | Should -Be 4
        $multi.text | Should -BeLike "*`nsecond line names DP07.CONTOSO.LOCAL*"
    }

    It 'keeps SMS trace errors, warnings and pattern matches, and multi-line records up to the trailer' {
        $sms = @($read.records | Where-Object { $_.file -eq 'distmgr.log' })
        $files['distmgr.log'].records_scanned | Should -Be 5
        @($sms | ForEach-Object { $_.line_number }) -join ',' | Should -Be '2,3,4'
        $sms[0].text | Should -BeLike '*0x800706ba*'
        $sms[2].text | Should -BeLike "STATMSG: ID=2300 first line of a multi-line record`ncontinuation*"
        @($read.records | Where-Object { $_.file -eq 'distmgr.lo_' }).Count | Should -Be 1
    }

    It 'reads a plain log without time stamps as one record, kept for its error marker' {
        $plain = @($read.records | Where-Object { $_.file -eq 'plain.log' })
        $plain.Count | Should -Be 1
        $plain[0].line_number | Should -Be 1
        $plain[0].text | Should -BeLike '*ERROR: something was denied*'
    }

    It 'is not truncated and names no site log folder on a host without a ConfigMgr site' -Skip:(Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\SMS\Identification') {
        $read.truncated | Should -BeFalse
        $read.log_dir | Should -BeNullOrEmpty
    }

    It 'keeps the newest max_lines records of a file and says it truncated' {
        $bounded = Read-FieldkitLogFiltered -Paths @($smsLog) -IncludeRotated $false -Patterns @('dp07.contoso.local') -MaxLines 1
        @($bounded.files).Count | Should -Be 1
        $bounded.files[0].records_returned | Should -Be 1
        $bounded.files[0].truncated | Should -BeTrue
        $bounded.truncated | Should -BeTrue
        $bounded.records[0].text | Should -BeLike '*Failed long ago*'
    }

    It 'keeps at most max_bytes characters' {
        $bounded = Read-FieldkitLogFiltered -Paths @($smsLog) -IncludeRotated $false -MaxBytes 10
        $bounded.files[0].records_returned | Should -Be 0
        $bounded.files[0].truncated | Should -BeTrue
    }

    It 'filters by the severities asked for' {
        $errorsOnly = Read-FieldkitLogFiltered -Paths @($smsLog) -IncludeRotated $false -Severities @('error') -SinceUtc $since
        @($errorsOnly.records | Where-Object { $_.text -like '*Retrying*' }).Count | Should -Be 0
        @($errorsOnly.records).Count | Should -Be 1
        $nothing = Read-FieldkitLogFiltered -Paths @($smsLog) -IncludeRotated $false -Severities @()
        @($nothing.records).Count | Should -Be 0
    }

    It 'reads only the tail of a file larger than max_scan_bytes' {
        $tail = Read-FieldkitLogFiltered -Paths @($cmLog) -IncludeRotated $false -MaxScanBytes 400
        $tail.files[0].partial | Should -BeTrue
        $tail.files[0].records_scanned | Should -BeLessThan 7
        $tail.files[0].encoding | Should -Be 'utf-8'
    }

    It 'resolves a registry path reference to the log' {
        Set-FieldkitTestRegistryValue -SubKey 'SOFTWARE\mecm.fieldkit.tests\log' -Name 'LogDir' -Value $TestDrive -Kind String
        $byRef = Read-FieldkitLogFiltered -PathRefs @(@{ kind = 'registry'; key = 'SOFTWARE\mecm.fieldkit.tests\log'; name = 'LogDir'; append = 'client.log' }) -IncludeRotated $false
        @($byRef.files).Count | Should -Be 1
        $byRef.files[0].path | Should -Be $cmLog
        $byRef.files[0].records_matched | Should -BeGreaterThan 0
    }
}

Describe 'log.read_filtered on the defect classes of real ConfigMgr logs' {
    BeforeAll {
        $utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
        $trailer = Format-FieldkitTestSmsTrailer -Utc $now.AddMinutes(-5)

        Function Write-FieldkitTestLogBytes {
            param ([string]$Name, [object[]]$Parts)

            $bytes = [System.Collections.Generic.List[byte]]::new()
            foreach ($part in $Parts) {
                $bytes.AddRange([byte[]]$part)
            }
            $path = Join-Path -Path $TestDrive -ChildPath $Name
            [System.IO.File]::WriteAllBytes($path, $bytes.ToArray())
            return $path
        }
    }

    It 'reads no error code from a thread ID in the message or the trailer' {
        $path = Write-FieldkitTestLogBytes -Name 'thread.log' -Parts @(, $utf8.GetBytes('SMS_EXECUTIVE started SMS_X as thread ID 6156 (0x180C).' + $trailer + $crlf))
        $read = Read-FieldkitLogFiltered -Paths @($path) -IncludeRotated $false -Severities @('error')
        $read.files[0].records_scanned | Should -Be 1
        @($read.records).Count | Should -Be 0
    }

    It 'keeps a CMTrace record of type 1 with failure text as an error, a type 2 one as a warning' {
        $lines = (Format-FieldkitTestCmTrace -Message 'CcmSetup failed with error code 0x87d00454' -Utc $now.AddMinutes(-5) -Type 1) + $crlf
        $lines += (Format-FieldkitTestCmTrace -Message 'Failed once, will retry' -Utc $now.AddMinutes(-5) -Type 2) + $crlf
        $path = Write-FieldkitTestLogBytes -Name 'type1.log' -Parts @(, $utf8.GetBytes($lines))
        $errors = Read-FieldkitLogFiltered -Paths @($path) -IncludeRotated $false -Severities @('error')
        @($errors.records | ForEach-Object { $_.line_number }) -join ',' | Should -Be '1'
        $warnings = Read-FieldkitLogFiltered -Paths @($path) -IncludeRotated $false -Severities @('warning')
        @($warnings.records | ForEach-Object { $_.line_number }) -join ',' | Should -Be '2'
    }

    It 'stops at NUL padding and does not take it for UTF-16' {
        $padding = New-Object -TypeName byte[] -ArgumentList 5000
        $parts = @($utf8.GetBytes('Failed to connect to dp01' + $trailer + $crlf), $padding, [System.Text.Encoding]::Unicode.GetBytes('Failed left-over' + $crlf))
        $path = Write-FieldkitTestLogBytes -Name 'padded.log' -Parts $parts
        $read = Read-FieldkitLogFiltered -Paths @($path) -IncludeRotated $false
        $read.files[0].encoding | Should -Be 'utf-8'
        $read.files[0].records_scanned | Should -Be 1
        $read.records[0].text | Should -BeLike 'Failed to connect to dp01*'
    }

    It 'drops a BOM at the start of a later line and reads the CMTrace record behind it' {
        $bomBytes = [byte[]]@(239, 187, 191)
        $cm = (Format-FieldkitTestCmTrace -Message 'Failed to add file' -Utc $now.AddMinutes(-5) -Type 3) + $crlf
        $parts = @($bomBytes, $utf8.GetBytes('Processing package PS100012' + $trailer + $crlf), $bomBytes, $utf8.GetBytes($cm))
        $path = Write-FieldkitTestLogBytes -Name 'appended.log' -Parts $parts
        $read = Read-FieldkitLogFiltered -Paths @($path) -IncludeRotated $false -Severities @('error')
        $read.files[0].records_scanned | Should -Be 2
        $read.records[0].line_number | Should -Be 2
        $read.records[0].text | Should -BeLike '<![LOG[Failed to add file*'
    }

    It 'marks a non-zero return code as an error and a name with "Retry" in it as nothing' {
        $lines = 'Process exited with return code: 1603' + $trailer + $crlf
        $lines += "Task 'Configuration Manager Client Retry Task' does not exist" + $trailer + $crlf
        $path = Write-FieldkitTestLogBytes -Name 'heuristic.log' -Parts @(, $utf8.GetBytes($lines))
        $read = Read-FieldkitLogFiltered -Paths @($path) -IncludeRotated $false
        @($read.records | ForEach-Object { $_.line_number }) -join ',' | Should -Be '1'
    }

    It 'keeps the last character of an ANSI log intact' -Skip:(@(932, 1252) -notcontains [System.Text.Encoding]::Default.CodePage) {
        $last = [char]0x00E9
        if ([System.Text.Encoding]::Default.CodePage -eq 932) {
            $last = [char]0x51DC
        }
        $path = Write-FieldkitTestLogBytes -Name 'ansi.log' -Parts @(, [System.Text.Encoding]::Default.GetBytes('failed msg ' + $last))
        $read = Read-FieldkitLogFiltered -Paths @($path) -IncludeRotated $false
        $read.files[0].encoding | Should -Be ('cp' + [System.Text.Encoding]::Default.CodePage)
        $read.records[0].text | Should -Be ('failed msg ' + $last)
    }
}
