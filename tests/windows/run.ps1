# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

<#
.SYNOPSIS
Runs the real-host Pester suite of mecm.fieldkit (tests/windows/*.Tests.ps1) and writes a test report.

.DESCRIPTION
For a THROWAWAY Windows VM only (Windows Server 2019, 2022 or 2025, or Windows 10/11): the suite creates
and removes services, scheduled tasks, registry keys, a certificate store, firewall rules, an SMB share,
a WMI namespace, an event source and, on a host without ConfigMgr, a fake ConfigMgr footprint. Never
run it on a production machine.

Run it elevated, in 64-bit Windows PowerShell 5.1 (powershell.exe, not pwsh): the collection targets
Windows PowerShell 5.1 and the ops read HKLM through the 64-bit registry view.

The script checks that it runs elevated, in Windows PowerShell 5.1, 64-bit; installs Pester 5.5 or later
for the current user when it is missing (Install-Module from the PowerShell Gallery); runs the suite;
writes the report (NUnit XML by default, JUnit XML with -OutputFormat JUnitXml); and exits with 0 when
every test passed or was skipped, 1 when a test failed, 2 when the host is not suitable.

NONE of this has been run by the project's own CI or authors: there is no Windows where the collection
is built. It is provided for people with a Windows machine; see tests/windows/README.md.

.PARAMETER OutputPath
Where to write the report; the folder is created. Default: tests/output/windows/fieldkit-pester.xml.

.PARAMETER OutputFormat
NUnitXml (default) or JUnitXml.

.PARAMETER Tag
Run only the Describe/It blocks with these tags (none are tagged at present).

.PARAMETER Path
Test files or folders to run; default every *.Tests.ps1 next to this script.

.PARAMETER SkipPesterInstall
Do not install Pester; fail when Pester 5.5 or later is not available.

.EXAMPLE
powershell.exe -NoProfile -ExecutionPolicy Bypass -File tests\windows\run.ps1

.EXAMPLE
powershell.exe -NoProfile -ExecutionPolicy Bypass -File tests\windows\run.ps1 -OutputPath C:\results\fieldkit.xml -OutputFormat JUnitXml

.EXAMPLE
$env:FIELDKIT_TEST_CONFIGMGR = '1'; .\tests\windows\run.ps1 -Path .\tests\windows\Fieldkit.ConfigMgr.Tests.ps1
#>

[CmdletBinding()]
param (
    [Parameter()]
    [string]
    $OutputPath = '',

    [Parameter()]
    [ValidateSet('NUnitXml', 'JUnitXml')]
    [string]
    $OutputFormat = 'NUnitXml',

    [Parameter()]
    [string[]]
    $Tag = @(),

    [Parameter()]
    [string[]]
    $Path = @(),

    [Parameter()]
    [switch]
    $SkipPesterInstall
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$minimumPester = [version]'5.5.0'

Function Write-FieldkitRunLine {
    param (
        [string]$Message
    )

    Write-Host ('[mecm.fieldkit windows tests] ' + $Message)
}

Function Exit-FieldkitRun {
    param (
        [int]$Code,
        [string]$Message
    )

    Write-FieldkitRunLine -Message $Message
    exit $Code
}

# --- the host must be suitable ---------------------------------------------------------------------
$identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
$principal = New-Object -TypeName System.Security.Principal.WindowsPrincipal -ArgumentList $identity
if (-not $principal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Exit-FieldkitRun -Code 2 -Message ('not elevated: run this script from an elevated Windows PowerShell ("Run as administrator"); the suite creates services, shares, firewall rules, a WMI namespace and HKLM keys. Current user: ' + $identity.Name)
}
if ($PSVersionTable.PSEdition -ne 'Desktop' -or $PSVersionTable.PSVersion.Major -ne 5) {
    Exit-FieldkitRun -Code 2 -Message ('this is PowerShell {0} ({1}); run the suite in Windows PowerShell 5.1 (powershell.exe), the version the collection targets' -f $PSVersionTable.PSVersion, $PSVersionTable.PSEdition)
}
if (-not [Environment]::Is64BitProcess) {
    Exit-FieldkitRun -Code 2 -Message 'this is 32-bit Windows PowerShell; run the 64-bit powershell.exe (%SystemRoot%\System32\WindowsPowerShell\v1.0)'
}

# --- Pester 5 --------------------------------------------------------------------------------------
$available = @(Get-Module -ListAvailable -Name 'Pester' | Where-Object { $_.Version -ge $minimumPester })
if ($available.Count -eq 0) {
    if ($SkipPesterInstall) {
        Exit-FieldkitRun -Code 2 -Message "Pester $minimumPester or later is not installed and -SkipPesterInstall was given"
    }
    Write-FieldkitRunLine -Message "installing Pester $minimumPester or later for the current user from the PowerShell Gallery"
    # The PowerShell Gallery needs TLS 1.2, which Windows PowerShell 5.1 does not always offer by default.
    [System.Net.ServicePointManager]::SecurityProtocol = [System.Net.ServicePointManager]::SecurityProtocol -bor [System.Net.SecurityProtocolType]::Tls12
    $nuget = Get-PackageProvider -ListAvailable -Name 'NuGet' -ErrorAction SilentlyContinue | Where-Object { $_.Version -ge [version]'2.8.5.201' }
    if ($null -eq $nuget) {
        $null = Install-PackageProvider -Name 'NuGet' -MinimumVersion '2.8.5.201' -Scope CurrentUser -Force
    }
    # -SkipPublisherCheck: Windows ships Pester 3.4 signed by another publisher, which blocks the update otherwise.
    Install-Module -Name 'Pester' -MinimumVersion '5.5' -Scope CurrentUser -Force -SkipPublisherCheck -AllowClobber
}
Remove-Module -Name 'Pester' -Force -ErrorAction SilentlyContinue
Import-Module -Name 'Pester' -MinimumVersion $minimumPester -Force
$pester = Get-Module -Name 'Pester'
Write-FieldkitRunLine -Message ('Pester {0}, Windows PowerShell {1}, {2} build {3}' -f $pester.Version, $PSVersionTable.PSVersion, (Get-CimInstance -ClassName Win32_OperatingSystem).Caption, [Environment]::OSVersion.Version.Build)

# --- run -------------------------------------------------------------------------------------------
if (-not $OutputPath) {
    $OutputPath = Join-Path -Path $PSScriptRoot -ChildPath '..\output\windows\fieldkit-pester.xml'
}
$OutputPath = [System.IO.Path]::GetFullPath($OutputPath)
$outputDir = Split-Path -Path $OutputPath -Parent
if (-not (Test-Path -LiteralPath $outputDir)) {
    $null = New-Item -ItemType Directory -Path $outputDir -Force
}
$testPaths = @($Path)
if ($testPaths.Count -eq 0) {
    $testPaths = @($PSScriptRoot)
}

$configuration = New-PesterConfiguration
$configuration.Run.Path = $testPaths
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputPath = $OutputPath
$configuration.TestResult.OutputFormat = $OutputFormat
$configuration.TestResult.TestSuiteName = 'mecm.fieldkit windows'
if ($Tag.Count -gt 0) {
    $configuration.Filter.Tag = $Tag
}
Write-FieldkitRunLine -Message ('running {0}; report: {1} ({2})' -f ($testPaths -join ', '), $OutputPath, $OutputFormat)
$result = Invoke-Pester -Configuration $configuration

$summary = 'passed {0}, failed {1} (blocks {2}, files {3}), skipped {4}, not run {5}; report {6}' -f $result.PassedCount, $result.FailedCount, $result.FailedBlocksCount, $result.FailedContainersCount, $result.SkippedCount, $result.NotRunCount, $OutputPath
if ($result.FailedCount -gt 0 -or $result.FailedBlocksCount -gt 0 -or $result.FailedContainersCount -gt 0 -or $result.Result -ne 'Passed') {
    Exit-FieldkitRun -Code 1 -Message ('FAILED: ' + $summary)
}
Exit-FieldkitRun -Code 0 -Message ('ok: ' + $summary)
