#!powershell

# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: the action plugins of mecm.fieldkit build the batch.
# Runs an ordered batch of typed ops (see plugins/plugin_utils/_ops.py) and returns one result per
# op. Loads the host record and the ops of a real image-prep run's second execution (record clear,
# capture-ready gate, sysprep).
# The module contract and the batch logic are Invoke-FieldkitRunner in _FieldkitCommon.psm1; runner modules differ only in the
# op modules they load (and so ship to the host).

#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitServiceRead
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitSystemOps
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitClientOps
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitImageCommon
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitProcessStart
#AnsibleRequires -PowerShell ansible_collections.mecm.fieldkit.plugins.module_utils._FieldkitImageFinishOps

# No Ansible.Basic: Invoke-FieldkitRunner keeps its module contract (see _FieldkitCommon.psm1) without its C#.
Invoke-FieldkitRunner -ModuleArgs $complex_args
