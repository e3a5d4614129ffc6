#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: sccm_op_runner_image_finish
short_description: Internal op runner for image-prep operations (do not call directly)
version_added: 0.1.0
description:
  - B(Internal use only.) The action plugins of this collection (for example
    M(mecm.fieldkit.win_sccm_client_facts)) plan a batch of typed operations on the controller and
    send it to this module in one module execution.
  - Runs the operations in order, honours check mode (mutating operations report what they would
    change and change nothing) and returns one typed result per operation.
  - Stops at the first failed operation; operations flagged O(ops[].always) still run afterwards.
  - This runner loads the image-prep host record and the operations of a real run's second
    execution (record clear, capture-ready gate, sysprep).
  - Its options and return values may change in any release without notice.
extends_documentation_fragment:
  - mecm.fieldkit.op_runner
author:
  - mecm.fieldkit contributors (@mecm-fieldkit)
"""

EXAMPLES = r"""
# Internal module: use the public modules of the collection instead, for example
- name: Gather ConfigMgr client facts
  mecm.fieldkit.win_sccm_client_facts:
"""

RETURN = r"""
protocol:
  description: Protocol version spoken by the runner.
  returned: always
  type: int
  sample: 1
results:
  description: One result per operation, in batch order.
  returned: always
  type: list
  elements: dict
  sample:
    - id: ccmexec
      name: service.read
      status: ok
      changed: false
      elapsed_ms: 12
      data: {name: CcmExec, exists: true, state: running, start_mode: delayed_auto, process_id: 4242}
completed:
  description: Ids of the operations that completed without error.
  returned: always
  type: list
  elements: str
  sample: [ccmexec]
failed_op:
  description: Id of the first failed operation, or null.
  returned: always
  type: str
  sample: null
"""
