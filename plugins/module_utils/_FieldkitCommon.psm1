# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# Shared helpers for the mecm.fieldkit op runner: structured errors with Windows error codes and
# the invocation of one op. Targets Windows PowerShell 5.1.

Set-StrictMode -Version 2.0
# ServiceController and its status and TimeoutException types are used before any cmdlet has loaded
# System.ServiceProcess.dll; type literals of an assembly that is not loaded fail at run time.
Add-Type -AssemblyName 'System.ServiceProcess'

$script:CodePageKey = 'SYSTEM\CurrentControlSet\Control\Nls\CodePage'

Function ConvertTo-FieldkitHResult {
    <#
    .SYNOPSIS
    Normalises a Windows error code to an unsigned 32-bit HRESULT (as int64).
    .DESCRIPTION
    A bare Win32 code (1..65535) becomes HRESULT_FROM_WIN32 (0x8007xxxx); a negative Int32 HResult is
    reinterpreted as unsigned. Hex literals are avoided on purpose: in PowerShell 5.1 0x80070000 is a
    negative Int32.
    #>
    [CmdletBinding()]
    [OutputType([int64])]
    param (
        [Parameter(Mandatory = $true)]
        [int64]
        $Code
    )

    $win32Facility = [int64]2147942400
    if ($Code -gt 0 -and $Code -le 65535) {
        return $win32Facility + $Code
    }
    if ($Code -lt 0) {
        return $Code + [int64]4294967296
    }
    return $Code
}

Function New-FieldkitErrorRecord {
    <#
    .SYNOPSIS
    Builds an ErrorRecord whose exception carries a Windows error code (HRESULT or Win32 code).
    .DESCRIPTION
    InnerException is accepted for the callers' readability but not attached: neither constructor that
    can carry the code takes one, so callers put the inner message into Message (they all do).
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param (
        [Parameter(Mandatory = $true)]
        [int64]
        $Code,

        [Parameter(Mandatory = $true)]
        [string]
        $Message,

        [Parameter()]
        [string]
        $Target = '',

        [Parameter()]
        [System.Exception]
        $InnerException
    )

    # Exception.HResult has a protected setter on .NET Framework ("'HResult' is a ReadOnly property" in
    # Windows PowerShell 5.1), so the code goes in through a constructor: Win32Exception(int, string) for
    # FACILITY_WIN32 codes (read back from NativeErrorCode), COMException(string, int) for any other HRESULT.
    # https://learn.microsoft.com/dotnet/api/system.exception.hresult (.NET Framework 4.8: protected set)
    $unsigned = ConvertTo-FieldkitHResult -Code $Code
    $win32Facility = [int64]2147942400
    if ($unsigned -ge $win32Facility -and $unsigned -le ($win32Facility + 65535)) {
        $exception = [System.ComponentModel.Win32Exception]::new([int]($unsigned - $win32Facility), $Message)
    }
    else {
        $signed = [System.BitConverter]::ToInt32([System.BitConverter]::GetBytes([uint32]$unsigned), 0)
        $exception = [System.Runtime.InteropServices.COMException]::new($Message, $signed)
    }
    $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList @(
        $exception,
        'FieldkitOpFailed',
        [System.Management.Automation.ErrorCategory]::NotSpecified,
        $Target
    )
    return $record
}

Function Get-FieldkitErrorCode {
    <#
    .SYNOPSIS
    Returns the Windows error code of an ErrorRecord as an unsigned HRESULT, or 0 when none is known.
    #>
    [CmdletBinding()]
    [OutputType([int64])]
    param (
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.ErrorRecord]
        $ErrorRecord
    )

    # Codes of .NET wrappers say nothing about the Windows failure; keep looking in inner exceptions:
    # COR_E_EXCEPTION 0x80131500, COR_E_SYSTEM 0x80131501 (MethodInvocationException and other
    # RuntimeExceptions), COR_E_INVALIDOPERATION 0x80131509, COR_E_APPLICATION 0x80131600, E_FAIL 0x80004005.
    $meaningless = @([int64]2148734208, [int64]2148734209, [int64]2148734217, [int64]2148734464, [int64]2147500037)
    $exception = $ErrorRecord.Exception
    while ($null -ne $exception) {
        $code = [int64]0
        if ($exception -is [System.ComponentModel.Win32Exception]) {
            $code = ConvertTo-FieldkitHResult -Code $exception.NativeErrorCode
        }
        elseif ($exception.GetType().Name -eq 'ManagementException') {
            $code = ConvertTo-FieldkitHResult -Code ([int64]$exception.ErrorCode)
        }
        elseif ($exception.GetType().Name -eq 'CimException' -and $null -ne $exception.ErrorData) {
            # The WMI HRESULT (e.g. 0x80041003 WBEM_E_ACCESS_DENIED) is the error_Code property of the
            # MSFT_WmiError instance in ErrorData; HResult itself is a generic MI code.
            # https://learn.microsoft.com/previous-versions/windows/desktop/wmi_v2/msft-wmierror
            $errorCode = $exception.ErrorData.CimInstanceProperties['error_Code']
            if ($null -ne $errorCode -and $null -ne $errorCode.Value) {
                $code = ConvertTo-FieldkitHResult -Code ([int64]$errorCode.Value)
            }
            elseif ($exception.HResult -ne 0) {
                $code = ConvertTo-FieldkitHResult -Code $exception.HResult
            }
        }
        elseif ($exception.HResult -ne 0) {
            $code = ConvertTo-FieldkitHResult -Code $exception.HResult
        }
        if ($code -ne 0 -and $meaningless -notcontains $code) {
            return $code
        }
        $exception = $exception.InnerException
    }
    return [int64]0
}

Function Invoke-FieldkitOp {
    <#
    .SYNOPSIS
    Runs one op of a batch and returns its typed result; never throws.
    .DESCRIPTION
    The returned hashtable has id, name, status (ok, changed or failed), changed, elapsed_ms and either
    data (read-only op), before/after (mutating op) or error. When the op failed, the ErrorRecord is
    returned in the ErrorRecord key so the runner can pass it to FailJson.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [System.Collections.IDictionary]
        $Op,

        [Parameter(Mandatory = $true)]
        [bool]
        $CheckMode
    )

    $result = @{
        id = $Op.id
        name = $Op.name
        status = 'ok'
        changed = $false
    }
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    try {
        $command = Get-Command -Name $Op.function -CommandType Function -ErrorAction SilentlyContinue
        if ($null -eq $command) {
            throw (New-FieldkitErrorRecord -Code 0x80070032 -Message "op $($Op.name): PowerShell function $($Op.function) is not loaded" -Target $Op.name)
        }
        $opArgs = @{}
        foreach ($key in $Op.args.Keys) {
            $opArgs[$key] = $Op.args[$key]
        }
        if ($Op.mutating) {
            if (-not $command.Parameters.ContainsKey('CheckMode')) {
                throw (New-FieldkitErrorRecord -Code 0x80070032 -Message "op $($Op.name): mutating function $($Op.function) has no -CheckMode" -Target $Op.name)
            }
            $opArgs.CheckMode = $CheckMode
            $outcome = & $command @opArgs
            $result.changed = [bool]$outcome.changed
            $result.before = $outcome.before
            $result.after = $outcome.after
            if ($result.changed) {
                $result.status = 'changed'
            }
        }
        else {
            $outcome = & $command @opArgs
            $result.data = $outcome
        }
    }
    catch {
        $code = Get-FieldkitErrorCode -ErrorRecord $_
        $result.status = 'failed'
        $result.error = @{
            code = $code
            hresult = ('0x{0:X8}' -f $code)
            message = $_.Exception.Message
            category = $_.CategoryInfo.Category.ToString()
            target = [string]$_.TargetObject
        }
        $result.ErrorRecord = $_
    }
    $watch.Stop()
    $result.elapsed_ms = [int]$watch.ElapsedMilliseconds
    return $result
}

Function ConvertTo-FieldkitUtcString {
    <#
    .SYNOPSIS
    Formats a DateTime as ISO 8601 UTC, or returns $null.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter()]
        [AllowNull()]
        [object]
        $Value
    )

    if ($null -eq $Value) {
        return $null
    }
    $date = [datetime]$Value
    return $date.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
}

Function ConvertTo-FieldkitWqlString {
    <#
    .SYNOPSIS
    Escapes a value for a single-quoted WQL string literal: backslash first, then the quote, both with "\".
    .DESCRIPTION
    WQL escapes with a backslash, not by doubling the quote
    (https://learn.microsoft.com/windows/win32/wmisdk/where-clause: "\'" and "\\").
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [string]
        $Value
    )

    return $Value.Replace('\', '\\').Replace("'", "\'")
}

Function Get-FieldkitRegistryValue {
    <#
    .SYNOPSIS
    Reads one value under HKLM from the 64-bit view; returns $null when the key or value is absent.
    #>
    [CmdletBinding()]
    [OutputType([object])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $SubKey,

        [Parameter(Mandatory = $true)]
        [string]
        $ValueName
    )

    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    try {
        $key = $base.OpenSubKey($SubKey, $false)
        if ($null -eq $key) {
            return $null
        }
        try {
            return $key.GetValue($ValueName, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
        }
        finally {
            $key.Dispose()
        }
    }
    finally {
        $base.Dispose()
    }
}

Function Test-FieldkitRegistryKey {
    <#
    .SYNOPSIS
    Tests whether a key exists under HKLM (64-bit view).
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $SubKey
    )

    $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    try {
        $key = $base.OpenSubKey($SubKey, $false)
        if ($null -eq $key) {
            return $false
        }
        $key.Dispose()
        return $true
    }
    finally {
        $base.Dispose()
    }
}

Function Get-FieldkitOemEncoding {
    <#
    .SYNOPSIS
    The system's OEM code page encoding, which console programs such as sc.exe and w32tm.exe write in.
    .DESCRIPTION
    Read from HKLM\SYSTEM\CurrentControlSet\Control\Nls\CodePage OEMCP, not from the user's format
    culture (CultureInfo.TextInfo.OEMCodePage), which can differ from the system locale (a Japanese system
    with an English user format culture writes CP932). Falls back to the console's output encoding, then 437.
    #>
    [CmdletBinding()]
    [OutputType([System.Text.Encoding])]
    param ()

    $oemcp = Get-FieldkitRegistryValue -SubKey $script:CodePageKey -ValueName 'OEMCP'
    $number = 0
    if ($null -ne $oemcp -and [int]::TryParse([string]$oemcp, [ref]$number) -and $number -gt 0) {
        try {
            return [System.Text.Encoding]::GetEncoding($number)
        }
        catch {
            $number = 0
        }
    }
    try {
        # A process without a console (the WinRM host) may throw here.
        $console = [System.Console]::OutputEncoding
        if ($null -ne $console) {
            return $console
        }
    }
    catch {
        $number = 0
    }
    return [System.Text.Encoding]::GetEncoding(437)
}

Function Invoke-FieldkitNativeCommand {
    <#
    .SYNOPSIS
    Runs a program (no shell) and returns @{ exit_code; lines; error_lines }; kills it after TimeoutSeconds.
    .DESCRIPTION
    Output is read through System.Diagnostics.Process rather than "& x.exe 2>&1": under Ansible's
    $ErrorActionPreference = 'Stop', Windows PowerShell 5.1 turns redirected stderr of a native command into
    a terminating NativeCommandError. The lines are plain strings (no PowerShell note properties).
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $FilePath,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [string]
        $Arguments,

        [Parameter(Mandatory = $true)]
        [int]
        $TimeoutSeconds
    )

    $encoding = Get-FieldkitOemEncoding
    $startInfo = New-Object -TypeName System.Diagnostics.ProcessStartInfo
    $startInfo.FileName = $FilePath
    $startInfo.Arguments = $Arguments
    $startInfo.UseShellExecute = $false
    $startInfo.RedirectStandardOutput = $true
    $startInfo.RedirectStandardError = $true
    $startInfo.CreateNoWindow = $true
    $startInfo.StandardOutputEncoding = $encoding
    $startInfo.StandardErrorEncoding = $encoding
    try {
        $process = [System.Diagnostics.Process]::Start($startInfo)
    }
    catch {
        $code = Get-FieldkitErrorCode -ErrorRecord $_
        throw (New-FieldkitErrorRecord -Code $code -Message ('could not start {0}: {1}' -f $FilePath, $_.Exception.Message) -Target $FilePath)
    }
    try {
        $output = $process.StandardOutput.ReadToEndAsync()
        $errorOutput = $process.StandardError.ReadToEndAsync()
        if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
            $process.Kill()
            throw (New-FieldkitErrorRecord -Code 1460 -Message ('{0} {1} did not finish within {2} s' -f $FilePath, $Arguments, $TimeoutSeconds) -Target $FilePath)
        }
        $process.WaitForExit()
        return @{
            exit_code = $process.ExitCode
            lines = [string[]]@($output.Result -split "`r?`n" | Where-Object { $_.Trim() })
            error_lines = [string[]]@($errorOutput.Result -split "`r?`n" | Where-Object { $_.Trim() })
        }
    }
    finally {
        $process.Dispose()
    }
}

# The runner's module contract, without Ansible.Basic. Ansible.Basic is C# that the exec wrapper compiles with
# Add-Type on every execution and that travels with every payload (about 176 KB on the wire, more than our own
# code for a client read); the runners used four things of it, done here the same way:
#   - the options: $complex_args, the hashtable the exec wrapper sets before it runs a module that does not use
#     Ansible.Basic (module_wrapper.ps1 of ansible-core 2.19, module_powershell_wrapper.ps1 of 2.16-2.18), checked
#     against the runner's spec below: unknown options and bad op fields fail before any op runs;
#   - check mode, debug and verbosity from the _ansible_ options Ansible.Basic reads (check_mode, debug, verbosity);
#   - the result: ConvertTo-Json -Depth 99 -Compress, written with Console.WriteLine (Ansible.Basic's ToJson and
#     WriteLine in a runspace), with invocation.module_args, and the exec wrapper's warnings (2.16-2.18:
#     _ansible_exec_wrapper_warnings) as warnings;
#   - the failure: failed, msg, and with -vvv or debug the exception text of the failed op's ErrorRecord in
#     Ansible.Basic's FailJson format; the exit code through $LASTEXITCODE, which the module wrapper reads.
# Ansible.Basic also writes an "Invoked with" event to the Application log unless no_log is set; the runner writes
# none, so no op argument reaches the event log whatever no_log says. The runner spec has no no_log option: no
# value is masked in the result, as with Ansible.Basic and this spec.
# The runner's spec, declared in plugins/plugin_utils/_host_contract.py (RUNNER_*, checked by
# tests/unit/contract/test_host_contract.py): every field of an op as name=type (type? = optional: $false or an
# empty hashtable when missing, Ansible.Basic's defaults of the spec it replaces), the protocol version, and the
# _ansible_ options it takes.
$script:RunnerOpFields = 'id=str;name=str;function=str;mutating=bool;always=bool?;args=dict?'
$script:RunnerProtocol = 1
$script:RunnerInternalOptions = 'check_mode;debug;diff;keep_remote_files;ignore_unknown_opts;module_name;no_log;remote_tmp;selinux_special_fs;shell_executable;socket;string_conversion_action;syslog_facility;target_log_info;tracebacks_for;tmpdir;verbosity;version;exec_wrapper_warnings'

Function Test-FieldkitRunnerValue {
    <#
    .SYNOPSIS
    True when a value of the module arguments has the runner spec's type (str, bool, int, dict, list).
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param (
        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [object]
        $Value,

        [Parameter(Mandatory = $true)]
        [string]
        $Type
    )

    switch ($Type) {
        'str' { return $Value -is [string] }
        'bool' { return $Value -is [bool] }
        # ConvertFrom-Json gives Int32 or Int64 for a JSON integer.
        'int' { return ($Value -is [int] -or $Value -is [long]) }
        'dict' { return $Value -is [System.Collections.IDictionary] }
        'list' { return ($Value -is [System.Collections.IList] -and $Value -isnot [string]) }
    }
    return $false
}

Function Get-FieldkitRunnerProblem {
    <#
    .SYNOPSIS
    What is wrong with the runner's options (ops and protocol), or $null; sets the missing optional op fields to
    their defaults. The lab's twin is _validate_top in tests/simhost/runner.py.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [System.Collections.IDictionary]
        $Params,

        [Parameter(Mandatory = $true)]
        [string]
        $ModuleName
    )

    $unknown = @($Params.Keys | Where-Object { $_ -notin @('ops', 'protocol') } | Sort-Object)
    if ($unknown.Count -gt 0) {
        return "Unsupported parameters for ($ModuleName) module: $($unknown -join ', '). Supported parameters include: ops, protocol"
    }
    if (-not $Params.Contains('ops') -or -not (Test-FieldkitRunnerValue -Value $Params.ops -Type 'list')) {
        return 'missing required arguments: ops (a list of op dictionaries)'
    }
    if (-not $Params.Contains('protocol') -or -not (Test-FieldkitRunnerValue -Value $Params.protocol -Type 'int')) {
        return 'missing required arguments: protocol (an integer)'
    }
    $fields = [ordered]@{}
    foreach ($item in $script:RunnerOpFields.Split(';')) {
        $name, $type = $item.Split('=')
        $fields[$name] = $type
    }
    $index = 0
    foreach ($op in $Params.ops) {
        if (-not (Test-FieldkitRunnerValue -Value $op -Type 'dict')) {
            return "ops[$index] must be a dictionary"
        }
        $extra = @($op.Keys | Where-Object { $_ -notin $fields.Keys } | Sort-Object)
        if ($extra.Count -gt 0) {
            return "ops[$index] has unsupported fields: $($extra -join ', '); supported: $(@($fields.Keys) -join ', ')"
        }
        foreach ($field in $fields.Keys) {
            $type = $fields[$field].TrimEnd('?')
            if (-not $op.Contains($field) -and $fields[$field].EndsWith('?')) {
                if ($type -eq 'bool') {
                    $op[$field] = $false
                }
                else {
                    $op[$field] = @{}
                }
            }
            if (-not $op.Contains($field) -or -not (Test-FieldkitRunnerValue -Value $op[$field] -Type $type)) {
                return "ops[$index].$field must be a $type"
            }
        }
        $index++
    }
    return $null
}

Function Get-FieldkitRunnerException {
    <#
    .SYNOPSIS
    The exception text of a failed op's ErrorRecord, as Ansible.Basic's FailJson writes it.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param (
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.ErrorRecord]
        $ErrorRecord
    )

    $position = ''
    if ($null -ne $ErrorRecord.InvocationInfo) {
        $position = $ErrorRecord.InvocationInfo.PositionMessage
    }
    return ("{0}`r`n{1}" -f $ErrorRecord.ToString(), $position) +
        ("`r`n    + CategoryInfo          : {0}" -f $ErrorRecord.CategoryInfo.ToString()) +
        ("`r`n    + FullyQualifiedErrorId : {0}" -f $ErrorRecord.FullyQualifiedErrorId) +
        ("`r`n`r`nScriptStackTrace:`r`n{0}" -f $ErrorRecord.ScriptStackTrace)
}

Function Invoke-FieldkitBatch {
    <#
    .SYNOPSIS
    Runs a validated batch: one typed result per op, in order.
    .DESCRIPTION
    Check mode is passed to mutating ops only. The batch stops at the first failed op; ops flagged "always" still
    run afterwards (cleanup). Returns the result keys (changed, results, completed, failed_op), the failed op and
    its ErrorRecord, and the failure message naming the op, its error code and what completed before it.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Collections.IList]
        $Ops,

        [Parameter(Mandatory = $true)]
        [bool]
        $CheckMode
    )

    $results = [System.Collections.Generic.List[object]]::new()
    $completed = [System.Collections.Generic.List[string]]::new()
    $changed = $false
    $failure = $null
    $failureRecord = $null
    $completedBeforeFailure = 'none'
    foreach ($op in $Ops) {
        if ($null -ne $failure -and -not $op.always) {
            $results.Add(@{ id = $op.id; name = $op.name; status = 'not_run'; changed = $false })
            continue
        }
        $result = Invoke-FieldkitOp -Op $op -CheckMode $CheckMode
        if ($result.status -ne 'failed') {
            $completed.Add($op.id)
        }
        elseif ($null -eq $failure) {
            $failure = $result
            $failureRecord = $result.ErrorRecord
            if ($completed.Count -gt 0) {
                $completedBeforeFailure = $completed -join ', '
            }
        }
        if ($result.ContainsKey('ErrorRecord')) {
            $result.Remove('ErrorRecord')
        }
        $results.Add($result)
        if ($result.changed) {
            $changed = $true
        }
    }

    $outcome = @{
        changed = $changed
        results = $results.ToArray()
        completed = $completed.ToArray()
        failed_op = $null
        message = $null
        error_record = $failureRecord
    }
    if ($null -ne $failure) {
        $outcome.failed_op = $failure.id
        $outcome['message'] = 'op {0} ({1}) failed: {2} ({3}); completed before it: {4}' -f @(
            $failure.id,
            $failure.name,
            $failure.error.message,
            $failure.error.hresult,
            $completedBeforeFailure
        )
    }
    return $outcome
}

Function Invoke-FieldkitRunner {
    <#
    .SYNOPSIS
    The whole op runner module: validates the module arguments, runs the batch, writes the one JSON result and
    exits (0, or 1 when the options or an op failed).
    .DESCRIPTION
    See the comment above $script:RunnerOpFields for what this does in place of Ansible.Basic.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [object]
        $ModuleArgs
    )

    $params = @{}
    $internal = @{}
    $internalOptions = $script:RunnerInternalOptions.Split(';')
    if ($ModuleArgs -is [System.Collections.IDictionary]) {
        foreach ($key in $ModuleArgs.Keys) {
            if ($key -like '_ansible_*' -and $key.Substring(9) -in $internalOptions) {
                $internal[$key.Substring(9)] = $ModuleArgs[$key]
            }
            else {
                $params[$key] = $ModuleArgs[$key]
            }
        }
    }
    $moduleName = 'sccm_op_runner'
    if ($internal.module_name -is [string] -and $internal.module_name) {
        $moduleName = $internal.module_name
    }
    $checkMode = $internal.check_mode -eq $true
    $showException = ($internal.verbosity -is [int] -and $internal.verbosity -gt 2) -or $internal.debug -eq $true

    $result = [ordered]@{ changed = $false }
    $problem = $null
    if ($ModuleArgs -isnot [System.Collections.IDictionary]) {
        $problem = 'the module arguments ($complex_args) are missing: run the runner through Ansible'
    }
    else {
        $problem = Get-FieldkitRunnerProblem -Params $params -ModuleName $moduleName
    }
    if ($null -eq $problem -and $params.protocol -ne $script:RunnerProtocol) {
        $problem = "sccm_op_runner speaks protocol $($script:RunnerProtocol) but the controller sent protocol $($params.protocol); install the same mecm.fieldkit version on the controller"
    }
    $record = $null
    if ($null -ne $problem) {
        $result.failed = $true
        $result.msg = $problem
    }
    else {
        $outcome = Invoke-FieldkitBatch -Ops $params.ops -CheckMode $checkMode
        $result.changed = $outcome.changed
        $result.protocol = $script:RunnerProtocol
        $result.results = $outcome.results
        $result.completed = $outcome.completed
        $result.failed_op = $outcome.failed_op
        if ($null -ne $outcome.failed_op) {
            $result.failed = $true
            $result.msg = $outcome.message
            $record = $outcome.error_record
        }
    }
    if ($record -is [System.Management.Automation.ErrorRecord] -and $showException) {
        $result['exception'] = Get-FieldkitRunnerException -ErrorRecord $record
    }
    $result.invocation = @{ module_args = $params }
    $warnings = @($internal.exec_wrapper_warnings | Where-Object { $_ -is [string] })
    if ($warnings.Count -gt 0) {
        $result.warnings = $warnings
    }

    $rc = 0
    if ($result.Contains('failed')) {
        $rc = 1
    }
    [Console]::Out.WriteLine((ConvertTo-Json -InputObject $result -Depth 99 -Compress))
    # Ansible.Basic's ExitModule: the module wrapper takes the exit code from the global LASTEXITCODE.
    Set-Variable -Name LASTEXITCODE -Value $rc -Scope Global
    exit $rc
}

Export-ModuleMember -Function @(
    'ConvertTo-FieldkitHResult',
    'New-FieldkitErrorRecord',
    'Get-FieldkitErrorCode',
    'Invoke-FieldkitOp',
    'ConvertTo-FieldkitUtcString',
    'ConvertTo-FieldkitWqlString',
    'Get-FieldkitRegistryValue',
    'Test-FieldkitRegistryKey',
    'Get-FieldkitOemEncoding',
    'Invoke-FieldkitNativeCommand',
    'Invoke-FieldkitBatch',
    'Invoke-FieldkitRunner'
)
