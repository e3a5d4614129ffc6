# -*- coding: utf-8 -*-

# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """Options and attributes shared by the internal op runner modules."""

    DOCUMENTATION = r"""
options:
  ops:
    description:
      - The ordered batch, as built by the collection's op registry.
    type: list
    elements: dict
    required: true
    suboptions:
      id:
        description: Name of the step inside the batch.
        type: str
        required: true
      name:
        description: Registry name of the operation.
        type: str
        required: true
      function:
        description: PowerShell function that implements the operation.
        type: str
        required: true
      mutating:
        description: Whether the operation changes the host.
        type: bool
        required: true
      always:
        description: Run even after an earlier operation failed.
        type: bool
        default: false
      args:
        description: Arguments of the operation, keyed by PowerShell parameter name.
        type: raw
        default: {}
  protocol:
    description: Version of the controller/runner protocol; must match the runner.
    type: int
    required: true
attributes:
  check_mode:
    support: full
    description: Mutating operations report what they would change and change nothing.
  diff_mode:
    support: none
    description: Diff mode is shown by the public modules, which know what the operations mean.
  platform:
    support: full
    platforms: windows
    description: Windows hosts with Windows PowerShell 5.1.
"""
