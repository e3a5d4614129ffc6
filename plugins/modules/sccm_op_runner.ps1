#!powershell

# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: the action plugins of mecm.fieldkit build the batch.
# Runs an ordered batch of typed ops (see plugins/plugin_utils/_ops.py) and returns one result per
# op. Stops at the first failed op; ops flagged "always" still run afterwards (cleanup).

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._FieldkitCommon
#AnsibleRequires -PowerShell ..module_utils._FieldkitSystemOps
#AnsibleRequires -PowerShell ..module_utils._FieldkitClientOps
#AnsibleRequires -PowerShell ..module_utils._FieldkitDpOps
#AnsibleRequires -PowerShell ..module_utils._FieldkitImageOps

$spec = @{
    options = @{
        ops = @{
            type = 'list'
            elements = 'dict'
            required = $true
            options = @{
                id = @{ type = 'str'; required = $true }
                name = @{ type = 'str'; required = $true }
                function = @{ type = 'str'; required = $true }
                mutating = @{ type = 'bool'; required = $true }
                always = @{ type = 'bool'; default = $false }
                args = @{ type = 'raw'; default = @{} }
            }
        }
        protocol = @{ type = 'int'; required = $true }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$protocolVersion = 1
if ($module.Params.protocol -ne $protocolVersion) {
    $module.FailJson("sccm_op_runner speaks protocol $protocolVersion but the controller sent protocol $($module.Params.protocol); install the same mecm.fieldkit version on the controller")
}

$results = [System.Collections.Generic.List[object]]::new()
$completed = [System.Collections.Generic.List[string]]::new()
$failure = $null
$failureRecord = $null
$completedBeforeFailure = 'none'
foreach ($op in $module.Params.ops) {
    if ($null -ne $failure -and -not $op.always) {
        $results.Add(@{ id = $op.id; name = $op.name; status = 'not_run'; changed = $false })
        continue
    }
    $result = Invoke-FieldkitOp -Op $op -CheckMode $module.CheckMode
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
        $module.Result.changed = $true
    }
}

$module.Result.protocol = $protocolVersion
$module.Result.results = $results.ToArray()
$module.Result.completed = $completed.ToArray()
$module.Result.failed_op = $null
if ($null -ne $failure) {
    $module.Result.failed_op = $failure.id
    $message = 'op {0} ({1}) failed: {2} ({3}); completed before it: {4}' -f @(
        $failure.id,
        $failure.name,
        $failure.error.message,
        $failure.error.hresult,
        $completedBeforeFailure
    )
    $module.FailJson($message, $failureRecord)
}
$module.ExitJson()
