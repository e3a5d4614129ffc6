# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Real-host Pester 5 tests (Windows PowerShell 5.1) of plugins/module_utils/_FieldkitCommon.psm1 and
# _FieldkitClientCommon.psm1: the PowerShell parser on every shipped script, module import under StrictMode, error
# records and their Windows error codes, Invoke-FieldkitOp, Invoke-FieldkitBatch, and Invoke-FieldkitRunner in a
# child powershell.exe (the module contract without Ansible.Basic; no op uses an Ansible-provided type).
# NOT RUN by the project's CI or authors (no Windows there); see tests/windows/README.md.

BeforeDiscovery {
    $pluginRoot = Join-Path -Path $PSScriptRoot -ChildPath '..\..\plugins'
    $shippedScripts = @(Get-ChildItem -Path $pluginRoot -Recurse -File -Include '*.ps1', '*.psm1' | ForEach-Object { @{ Name = $_.Name; Path = $_.FullName } })
    $opModules = @(Get-ChildItem -Path (Join-Path -Path $pluginRoot -ChildPath 'module_utils') -Filter '_Fieldkit*.psm1' | ForEach-Object { @{ Name = $_.BaseName; Path = $_.FullName } })
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
    Enter-FieldkitAnsibleSession
    $missingService = 'mecm.fieldkit.tests.absent'

    Function New-FieldkitWireOp {
        # One op as the runner receives it (plugins/plugin_utils/_ops.to_wire).
        param (
            [string]$Id,
            [string]$Name,
            [string]$Function,
            [bool]$Mutating,
            [hashtable]$Arguments = @{},
            [bool]$Always = $false
        )

        return @{ id = $Id; name = $Name; function = $Function; mutating = $Mutating; always = $Always; args = $Arguments }
    }
}

AfterAll {
    Exit-FieldkitAnsibleSession
}

Describe 'Windows PowerShell parses every script the collection ships' {
    It 'parses <Name> without errors' -ForEach $shippedScripts {
        $tokens = $null
        $errors = $null
        $null = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref]$tokens, [ref]$errors)
        @($errors | ForEach-Object { '{0}:{1}: {2}' -f $_.Extent.StartLineNumber, $_.Extent.StartColumnNumber, $_.Message }) | Should -BeNullOrEmpty
    }
}

Describe 'The op modules import under StrictMode 2.0 and export what they declare' {
    It '<Name> exports every function named in its Export-ModuleMember list' -ForEach $opModules {
        $text = Get-Content -LiteralPath $Path -Raw
        $block = [regex]::Match($text, 'Export-ModuleMember -Function @\(([^)]*)\)').Groups[1].Value
        $declared = @([regex]::Matches($block, "'([^']+)'") | ForEach-Object { $_.Groups[1].Value })
        $declared.Count | Should -BeGreaterThan 0
        $exported = @((Get-Module -Name $Name).ExportedFunctions.Keys)
        foreach ($function in $declared) {
            $exported | Should -Contain $function
        }
    }

    It 'runs with PowerShell 5.1 (Desktop edition), the version the collection targets' {
        $PSVersionTable.PSVersion.Major | Should -Be 5
        $PSVersionTable.PSVersion.Minor | Should -Be 1
    }
}

Describe 'ConvertTo-FieldkitHResult' {
    It 'turns <Code> into <Expected>' -ForEach @(
        @{ Code = 5; Expected = 2147942405 }
        @{ Code = 1060; Expected = 2147943460 }
        @{ Code = -2147024891; Expected = 2147942405 }
        @{ Code = 2147749902; Expected = 2147749902 }
        @{ Code = 0; Expected = 0 }
    ) {
        ConvertTo-FieldkitHResult -Code $Code | Should -Be $Expected
    }

    It 'reads a PowerShell 5.1 hex literal above 0x7FFFFFFF (a negative Int32) as the unsigned HRESULT' {
        ConvertTo-FieldkitHResult -Code 0x80070652 | Should -Be 2147944018
    }
}

Describe 'New-FieldkitErrorRecord carries the Windows error code on .NET Framework' {
    # The defect this guards against: Exception.HResult has no public setter on .NET Framework, so
    # "$exception.HResult = ..." fails in Windows PowerShell 5.1 and every op error lost its code and message.
    It 'New-FieldkitErrorRecord -Code 5 yields 0x80070005 and the original message' {
        $record = New-FieldkitErrorRecord -Code 5 -Message 'Access is denied (mecm.fieldkit test)' -Target 'target-x'
        $record | Should -BeOfType ([System.Management.Automation.ErrorRecord])
        Get-FieldkitErrorCode -ErrorRecord $record | Should -Be 2147942405
        ConvertTo-FieldkitTestHex -Code (Get-FieldkitErrorCode -ErrorRecord $record) | Should -Be '0x80070005'
        $record.Exception.Message | Should -Be 'Access is denied (mecm.fieldkit test)'
        $record.FullyQualifiedErrorId | Should -Be 'FieldkitOpFailed'
        $record.TargetObject | Should -Be 'target-x'
    }

    It 'keeps a full HRESULT given as a PowerShell hex literal (0x8004100E)' {
        $record = New-FieldkitErrorRecord -Code 0x8004100E -Message 'invalid namespace'
        Get-FieldkitErrorCode -ErrorRecord $record | Should -Be 2147749902
    }

    It 'accepts -InnerException and keeps its own code and message' {
        # The inner exception is not attached (no constructor that carries the code takes one); the
        # callers put the inner message into Message.
        $inner = New-Object -TypeName System.ComponentModel.Win32Exception -ArgumentList 5
        $record = New-FieldkitErrorRecord -Code 1060 -Message 'outer' -InnerException $inner
        Get-FieldkitErrorCode -ErrorRecord $record | Should -Be 2147943460
        $record.Exception.Message | Should -Be 'outer'
    }

    It 'survives throw and catch with its code and message' {
        $caught = Get-FieldkitTestError -ScriptBlock { throw (New-FieldkitErrorRecord -Code 1618 -Message 'ccmsetup runs') }
        $caught | Should -Not -BeNullOrEmpty
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147944018
        $caught.Exception.Message | Should -Be 'ccmsetup runs'
    }
}

Describe 'Get-FieldkitErrorCode on errors Windows raises' {
    It 'reads a Win32Exception' {
        $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList @((New-Object -TypeName System.ComponentModel.Win32Exception -ArgumentList 5), 'x', 'NotSpecified', $null)
        Get-FieldkitErrorCode -ErrorRecord $record | Should -Be 2147942405
    }

    It 'looks through MethodInvocationException to FileNotFoundException (0x80070002)' {
        $missing = Join-Path -Path $TestDrive -ChildPath 'missing.txt'
        $caught = Get-FieldkitTestError -ScriptBlock { [System.IO.File]::ReadAllText($missing) }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147942402
    }

    It 'reads a ManagementException (Get-WmiObject, invalid namespace 0x8004100E)' {
        $caught = Get-FieldkitTestError -ScriptBlock { Get-WmiObject -Namespace 'root\mecmFieldkitTestsAbsent' -Class 'Win32_Process' -ErrorAction Stop }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147749902
    }

    It 'reads a CimException (Get-CimInstance, invalid namespace 0x8004100E)' {
        # CimException does not set Exception.HResult; the code is in NativeErrorCode / ErrorData.
        $caught = Get-FieldkitTestError -ScriptBlock { Get-CimInstance -Namespace 'root\mecmFieldkitTestsAbsent' -ClassName 'Win32_Process' -ErrorAction Stop }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147749902
    }

    It 'gives 0 for a plain PowerShell error with no Windows code' {
        $caught = Get-FieldkitTestError -ScriptBlock { throw 'no code here' }
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 0
    }
}

Describe 'Invoke-FieldkitOp' {
    BeforeAll {
        $file = Join-Path -Path $TestDrive -ChildPath 'invoke-op.txt'
        Set-Content -LiteralPath $file -Value 'x' -Encoding ASCII
        $readOp = New-FieldkitWireOp -Id 'processes' -Name 'process.list' -Function 'Get-FieldkitProcess' -Mutating $false -Arguments @{ Names = @('powershell') }
        $read = Invoke-FieldkitOp -Op $readOp -CheckMode $false
        $checkOp = New-FieldkitWireOp -Id 'remove' -Name 'file.remove' -Function 'Remove-FieldkitFile' -Mutating $true -Arguments @{ Path = $file }
        $checked = Invoke-FieldkitOp -Op $checkOp -CheckMode $true
        $existsAfterCheck = Test-Path -LiteralPath $file
        $failOp = New-FieldkitWireOp -Id 'svc' -Name 'service.ensure' -Function 'Set-FieldkitServiceState' -Mutating $true -Arguments @{ Name = $missingService; State = 'stopped' }
        $failed = Invoke-FieldkitOp -Op $failOp -CheckMode $false
        $unknownOp = New-FieldkitWireOp -Id 'nope' -Name 'nope.op' -Function 'Get-NoSuchFieldkitFunction' -Mutating $false
        $unknown = Invoke-FieldkitOp -Op $unknownOp -CheckMode $false
    }

    It 'returns the data of a read-only op' {
        $read.status | Should -Be 'ok'
        $read.changed | Should -BeFalse
        @($read.data.processes | ForEach-Object { $_.pid }) | Should -Contain $PID
        $read.elapsed_ms | Should -BeOfType ([int])
    }

    It 'passes check mode to a mutating op, which then changes nothing' {
        $checked.status | Should -Be 'changed'
        $checked.changed | Should -BeTrue
        $checked.before.exists | Should -BeTrue
        $checked.after.exists | Should -BeFalse
        $existsAfterCheck | Should -BeTrue
    }

    It 'reports a failed op with its Windows error code (1060 ERROR_SERVICE_DOES_NOT_EXIST)' {
        $failed.status | Should -Be 'failed'
        $failed.error.code | Should -Be 2147943460
        $failed.error.hresult | Should -Be '0x8007041C'
        $failed.error.message | Should -BeLike "*$missingService*does not exist*"
        $failed.ErrorRecord | Should -BeOfType ([System.Management.Automation.ErrorRecord])
    }

    It 'reports a function that is not loaded with ERROR_NOT_SUPPORTED (0x80070032)' {
        $unknown.status | Should -Be 'failed'
        $unknown.error.hresult | Should -Be '0x80070032'
        $unknown.error.message | Should -BeLike '*Get-NoSuchFieldkitFunction is not loaded*'
    }
}

Describe 'Invoke-FieldkitBatch' {
    BeforeAll {
        $file = Join-Path -Path $TestDrive -ChildPath 'batch.txt'
        Set-Content -LiteralPath $file -Value 'x' -Encoding ASCII
        $ops = @(
            (New-FieldkitWireOp -Id 'a' -Name 'process.list' -Function 'Get-FieldkitProcess' -Mutating $false -Arguments @{ Names = @('powershell') })
            (New-FieldkitWireOp -Id 'b' -Name 'service.ensure' -Function 'Set-FieldkitServiceState' -Mutating $true -Arguments @{ Name = $missingService; State = 'stopped' })
            (New-FieldkitWireOp -Id 'c' -Name 'process.list' -Function 'Get-FieldkitProcess' -Mutating $false -Arguments @{ Names = @('powershell') })
            (New-FieldkitWireOp -Id 'd' -Name 'file.remove' -Function 'Remove-FieldkitFile' -Mutating $true -Arguments @{ Path = $file } -Always $true)
        )
        $failing = Invoke-FieldkitBatch -Ops $ops -CheckMode $false
        $fileLeft = Test-Path -LiteralPath $file
        $good = Invoke-FieldkitBatch -Ops @($ops[0]) -CheckMode $true
    }

    It 'stops at the first failed op, runs the always op, and names the op, code and what completed' {
        $failing.message | Should -BeLike 'op b (service.ensure) failed: *(0x8007041C); completed before it: a'
        $failing.error_record | Should -BeOfType ([System.Management.Automation.ErrorRecord])
        @($failing.results | ForEach-Object { $_.status }) -join ',' | Should -Be 'ok,failed,not_run,changed'
        $failing.failed_op | Should -Be 'b'
        @($failing.completed) -join ',' | Should -Be 'a,d'
        $failing.changed | Should -BeTrue
        $fileLeft | Should -BeFalse
    }

    It 'never returns the ErrorRecord in the results' {
        foreach ($result in $failing.results) {
            $result.ContainsKey('ErrorRecord') | Should -BeFalse
        }
    }

    It 'has no failure when every op succeeds' {
        $good.failed_op | Should -BeNullOrEmpty
        $good.message | Should -BeNullOrEmpty
        $good.changed | Should -BeFalse
    }
}

Describe 'Invoke-FieldkitRunner in a child Windows PowerShell (the module contract without Ansible.Basic)' {
    BeforeAll {
        Function Invoke-FieldkitTestRunner {
            # Runs the runner as the module wrapper does: $complex_args set globally, the result read from
            # stdout, the exit code from the process (the runner sets $LASTEXITCODE and exits).
            param ([hashtable]$ModuleArgs)

            $common = (Resolve-Path -LiteralPath "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitCommon.psm1").Path
            $clientCommon = (Resolve-Path -LiteralPath "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitClientCommon.psm1").Path
            $serviceRead = (Resolve-Path -LiteralPath "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitServiceRead.psm1").Path
            $system = (Resolve-Path -LiteralPath "$PSScriptRoot\..\..\plugins\module_utils\_FieldkitSystemOps.psm1").Path
            $json = ConvertTo-Json -InputObject $ModuleArgs -Depth 20 -Compress
            $script = @"
Import-Module -Name '$common' -DisableNameChecking
Import-Module -Name '$clientCommon' -DisableNameChecking
Import-Module -Name '$serviceRead' -DisableNameChecking
Import-Module -Name '$system' -DisableNameChecking
`$complex_args = @{}
foreach (`$p in (ConvertFrom-Json -InputObject `$env:FIELDKIT_TEST_ARGS).PSObject.Properties) { `$complex_args[`$p.Name] = `$p.Value }
`$complex_args.ops = @(foreach (`$o in @(`$complex_args.ops)) { `$h = @{}; foreach (`$q in `$o.PSObject.Properties) { `$h[`$q.Name] = `$q.Value }; `$a = @{}; if (`$h.args) { foreach (`$q in `$h.args.PSObject.Properties) { `$a[`$q.Name] = `$q.Value } }; `$h.args = `$a; `$h })
Invoke-FieldkitRunner -ModuleArgs `$complex_args
"@
            $env:FIELDKIT_TEST_ARGS = $json
            try {
                $out = & powershell.exe -NoProfile -NonInteractive -Command $script
                $rc = $LASTEXITCODE
            }
            finally {
                Remove-Item -LiteralPath Env:\FIELDKIT_TEST_ARGS -ErrorAction SilentlyContinue
            }
            return @{ rc = $rc; result = ((@($out) -join "`n") | ConvertFrom-Json) }
        }

        $read = New-FieldkitWireOp -Id 'a' -Name 'process.list' -Function 'Get-FieldkitProcess' -Mutating $false -Arguments @{ Names = @('powershell') }
        $fail = New-FieldkitWireOp -Id 'b' -Name 'service.ensure' -Function 'Set-FieldkitServiceState' -Mutating $true -Arguments @{ Name = $missingService; State = 'stopped' }
        $ok = Invoke-FieldkitTestRunner -ModuleArgs @{ ops = @($read); protocol = 1; _ansible_check_mode = $true; _ansible_module_name = 'mecm.fieldkit.sccm_op_runner' }
        $failed = Invoke-FieldkitTestRunner -ModuleArgs @{ ops = @($read, $fail); protocol = 1 }
        $failedVerbose = Invoke-FieldkitTestRunner -ModuleArgs @{ ops = @($fail); protocol = 1; _ansible_verbosity = 3 }
        $unknown = Invoke-FieldkitTestRunner -ModuleArgs @{ ops = @(); protocol = 1; extra = 1; _ansible_module_name = 'mecm.fieldkit.sccm_op_runner' }
        $wrongProtocol = Invoke-FieldkitTestRunner -ModuleArgs @{ ops = @($read); protocol = 99 }
    }

    It 'exits 0 with the result keys and the invocation when every op succeeds' {
        $ok.rc | Should -Be 0
        $ok.result.changed | Should -BeFalse
        $ok.result.protocol | Should -Be 1
        $ok.result.results[0].status | Should -Be 'ok'
        @($ok.result.completed) -join ',' | Should -Be 'a'
        $ok.result.invocation.module_args.protocol | Should -Be 1
        $ok.result.PSObject.Properties.Name | Should -Not -Contain 'failed'
    }

    It 'exits 1 naming the failed op, without the exception below -vvv' {
        $failed.rc | Should -Be 1
        $failed.result.failed | Should -BeTrue
        $failed.result.failed_op | Should -Be 'b'
        $failed.result.msg | Should -BeLike 'op b (service.ensure) failed: *(0x8007041C); completed before it: a'
        $failed.result.PSObject.Properties.Name | Should -Not -Contain 'exception'
    }

    It 'returns the ErrorRecord as Ansible.Basic formatted it with -vvv' {
        $failedVerbose.rc | Should -Be 1
        $failedVerbose.result.exception | Should -BeLike '*+ CategoryInfo          : *+ FullyQualifiedErrorId : *ScriptStackTrace:*'
    }

    It 'refuses an unknown option and another protocol before any op runs' {
        $unknown.rc | Should -Be 1
        $unknown.result.msg | Should -BeLike 'Unsupported parameters for (mecm.fieldkit.sccm_op_runner) module: extra.*'
        $wrongProtocol.rc | Should -Be 1
        $wrongProtocol.result.msg | Should -BeLike '*speaks protocol 1 but the controller sent protocol 99*'
        $wrongProtocol.result.PSObject.Properties.Name | Should -Not -Contain 'results'
    }
}

Describe 'Common helpers' {
    BeforeAll {
        $key = 'SOFTWARE\mecm.fieldkit.tests\common'
        Set-FieldkitTestRegistryValue -SubKey $key -Name 'Expand' -Value '%SystemRoot%\mecm' -Kind ExpandString
        Set-FieldkitTestRegistryValue -SubKey $key -Name 'Number' -Value 7 -Kind DWord
    }

    AfterAll {
        Remove-FieldkitTestRegistryKey -SubKey 'SOFTWARE\mecm.fieldkit.tests'
    }

    It 'ConvertTo-FieldkitUtcString formats UTC and local times, and passes $null through' {
        $utc = New-Object -TypeName DateTime -ArgumentList @(2026, 11, 20, 9, 5, 7, [DateTimeKind]::Utc)
        ConvertTo-FieldkitUtcString -Value $utc | Should -Be '2026-11-20T09:05:07Z'
        ConvertTo-FieldkitUtcString -Value $utc.ToLocalTime() | Should -Be '2026-11-20T09:05:07Z'
        ConvertTo-FieldkitUtcString -Value $null | Should -BeNullOrEmpty
    }

    It 'Get-FieldkitRegistryValue reads REG_EXPAND_SZ unexpanded and returns $null for what is absent' {
        Get-FieldkitRegistryValue -SubKey $key -ValueName 'Expand' | Should -Be '%SystemRoot%\mecm'
        Get-FieldkitRegistryValue -SubKey $key -ValueName 'Number' | Should -Be 7
        Get-FieldkitRegistryValue -SubKey $key -ValueName 'Absent' | Should -BeNullOrEmpty
        Get-FieldkitRegistryValue -SubKey 'SOFTWARE\mecm.fieldkit.tests\absent' -ValueName 'x' | Should -BeNullOrEmpty
    }

    It 'Test-FieldkitRegistryKey tells present from absent keys' {
        Test-FieldkitRegistryKey -SubKey $key | Should -BeTrue
        Test-FieldkitRegistryKey -SubKey 'SOFTWARE\mecm.fieldkit.tests\absent' | Should -BeFalse
    }

    It 'Get-FieldkitCimInstanceSet tells an absent namespace and an absent class from an empty class' {
        $os = Get-FieldkitCimInstanceSet -Namespace 'root\cimv2' -ClassName 'Win32_OperatingSystem'
        $os.namespace_present | Should -BeTrue
        $os.class_present | Should -BeTrue
        @($os.instances).Count | Should -Be 1
        $noClass = Get-FieldkitCimInstanceSet -Namespace 'root\cimv2' -ClassName 'MecmFieldkitTestsAbsent'
        $noClass.namespace_present | Should -BeTrue
        $noClass.class_present | Should -BeFalse
        $noNamespace = Get-FieldkitCimInstanceSet -Namespace 'root\mecmFieldkitTestsAbsent' -ClassName 'Win32_Process'
        $noNamespace.namespace_present | Should -BeFalse
        $noNamespace.class_present | Should -BeFalse
    }

    It 'ConvertTo-FieldkitWqlString escapes backslash and quote so that WMI accepts the filter' {
        ConvertTo-FieldkitWqlString -Value "a\b'c" | Should -Be "a\\b\'c"
        $filter = "Name='{0}'" -f (ConvertTo-FieldkitWqlString -Value "mecm.fieldkit.tests\'absent")
        @(Get-CimInstance -ClassName Win32_Service -Filter $filter -ErrorAction Stop).Count | Should -Be 0
    }

    It 'Invoke-FieldkitNativeCommand returns exit code, output and error lines as plain strings' {
        $cmd = Join-Path -Path $env:SystemRoot -ChildPath 'System32\cmd.exe'
        $run = Invoke-FieldkitNativeCommand -FilePath $cmd -Arguments '/c echo mecm-out& echo mecm-err 1>&2& exit 3' -TimeoutSeconds 30
        $run.exit_code | Should -Be 3
        @($run.lines) | Should -Contain 'mecm-out'
        @($run.error_lines) | Should -Contain 'mecm-err '
        $run.lines[0].PSObject.Properties['PSPath'] | Should -BeNullOrEmpty
    }

    It 'Invoke-FieldkitNativeCommand ends a program that runs too long with ERROR_TIMEOUT (1460, 0x800705B4)' {
        $ping = Join-Path -Path $env:SystemRoot -ChildPath 'System32\ping.exe'
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $caught = Get-FieldkitTestError -ScriptBlock { Invoke-FieldkitNativeCommand -FilePath $ping -Arguments '-n 30 127.0.0.1' -TimeoutSeconds 2 }
        $watch.Stop()
        Get-FieldkitErrorCode -ErrorRecord $caught | Should -Be 2147943860
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 15
    }

    It 'Get-FieldkitOemEncoding is the system OEM code page (the one console programs write in)' {
        $oem = (Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Nls\CodePage' -ErrorAction Stop).OEMCP
        (Get-FieldkitOemEncoding).CodePage | Should -Be ([int]$oem)
    }

    It 'Read-FieldkitComAssignedSite tells an unassigned client from a COM failure' {
        $assigned = [pscustomobject]@{}
        $assigned | Add-Member -MemberType ScriptMethod -Name 'GetAssignedSite' -Value { 'PS1' }
        $failing = [pscustomobject]@{}
        $failing | Add-Member -MemberType ScriptMethod -Name 'GetAssignedSite' -Value { throw (New-Object -TypeName System.Runtime.InteropServices.COMException -ArgumentList @('no site', -2016410008)) }
        $wbem = [pscustomobject]@{}
        $wbem | Add-Member -MemberType ScriptMethod -Name 'GetAssignedSite' -Value { throw (New-Object -TypeName System.Runtime.InteropServices.COMException -ArgumentList @('not found', -2147217406)) }
        (Read-FieldkitComAssignedSite -Client $assigned -RegistrySite 'PS1').site | Should -Be 'PS1'
        $unassigned = Read-FieldkitComAssignedSite -Client $failing -RegistrySite ''
        $unassigned.site | Should -Be ''
        $unassigned.error.hresult | Should -Be '0x87D00668'
        (Read-FieldkitComAssignedSite -Client $failing -RegistrySite 'PS1').site | Should -BeNullOrEmpty
        $unknown = Read-FieldkitComAssignedSite -Client $wbem -RegistrySite ''
        $unknown.site | Should -BeNullOrEmpty
        $unknown.error.code | Should -Be 2147749890
    }
}
