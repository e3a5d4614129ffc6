# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY.
# Starts a process detached from the WinRM session (Win32_Process.Create), for sysprep and ccmsetup. No op of its
# own: shipped by the runners whose ops start one. Targets Windows PowerShell 5.1.

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon

Set-StrictMode -Version 2.0

$script:CimTimeoutSeconds = 30
$script:ErrorInvalidParameter = 87
$script:ErrorAccessDenied = 5
$script:ErrorPathNotFound = 3
$script:ErrorPrivilegeNotHeld = 1314
$script:ErrorUnknownFailure = 2147500037
# CREATE_BREAKAWAY_FROM_JOB: the started process leaves the job of the WMI provider host.
$script:CreateBreakawayFromJob = 16777216

Function ConvertFrom-FieldkitProcessCreateResult {
    <#
    .SYNOPSIS
    The Windows error code for a Win32_Process.Create return value (which is not a Win32 code).
    .DESCRIPTION
    https://learn.microsoft.com/windows/win32/cimwin32prov/create-method-in-class-win32-process:
    2 access denied, 3 insufficient privilege, 8 unknown failure, 9 path not found, 21 invalid parameter.
    #>
    [CmdletBinding()]
    [OutputType([int64])]
    param (
        [Parameter(Mandatory = $true)]
        [int64]
        $ReturnValue
    )

    switch ($ReturnValue) {
        2 {
            return [int64]$script:ErrorAccessDenied
        }
        3 {
            return [int64]$script:ErrorPrivilegeNotHeld
        }
        9 {
            return [int64]$script:ErrorPathNotFound
        }
        21 {
            return [int64]$script:ErrorInvalidParameter
        }
    }
    return [int64]$script:ErrorUnknownFailure
}

Function Invoke-FieldkitProcessCreate {
    [CmdletBinding()]
    [OutputType([object])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $CommandLine,

        [Parameter(Mandatory = $true)]
        [string]
        $WorkingDirectory,

        [Parameter(Mandatory = $true)]
        [uint32]
        $CreateFlags
    )

    $startup = New-CimInstance -ClassName 'Win32_ProcessStartup' -ClientOnly -Property @{ CreateFlags = $CreateFlags }
    $arguments = @{ CommandLine = $CommandLine; CurrentDirectory = $WorkingDirectory; ProcessStartupInformation = $startup }
    try {
        return Invoke-CimMethod -ClassName 'Win32_Process' -MethodName 'Create' -Arguments $arguments -OperationTimeoutSec $script:CimTimeoutSeconds -ErrorAction Stop
    }
    catch {
        $code = Get-FieldkitErrorCode -ErrorRecord $_
        throw (New-FieldkitErrorRecord -Code $code -Message ('could not start {0}: {1}' -f $CommandLine, $_.Exception.Message) -Target $CommandLine -InnerException $_.Exception)
    }
}

Function Start-FieldkitDetachedProcess {
    [CmdletBinding()]
    [OutputType([int])]
    param (
        [Parameter(Mandatory = $true)]
        [string]
        $CommandLine,

        [Parameter(Mandatory = $true)]
        [string]
        $WorkingDirectory
    )

    # Win32_Process.Create starts the process outside the WinRM shell's job object, so it survives the
    # end of the WinRM session; CREATE_BREAKAWAY_FROM_JOB takes it out of the WMI provider host's job too
    # (whose quotas and lifetime would otherwise apply to sysprep and ccmsetup). A job that does not allow
    # breakaway makes CreateProcess fail with access denied (return value 2): then start it without the flag.
    $created = Invoke-FieldkitProcessCreate -CommandLine $CommandLine -WorkingDirectory $WorkingDirectory -CreateFlags $script:CreateBreakawayFromJob
    if ($created.ReturnValue -eq 2) {
        $created = Invoke-FieldkitProcessCreate -CommandLine $CommandLine -WorkingDirectory $WorkingDirectory -CreateFlags 0
    }
    if ($created.ReturnValue -ne 0) {
        $code = ConvertFrom-FieldkitProcessCreateResult -ReturnValue ([int64]$created.ReturnValue)
        throw (New-FieldkitErrorRecord -Code $code -Message ('Win32_Process.Create returned {0} for {1}' -f $created.ReturnValue, $CommandLine) -Target $CommandLine)
    }
    return [int]$created.ProcessId
}

Export-ModuleMember -Function @(
    'Start-FieldkitDetachedProcess'
)
