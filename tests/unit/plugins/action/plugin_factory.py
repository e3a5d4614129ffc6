"""Builds an action plugin around a mocked task, the ansible.windows win_updates test seam: tests then
replace ``_execute_module`` on the instance, so nothing below it (connection, packaging) runs."""
from __future__ import annotations

import typing as t
from unittest.mock import MagicMock

from ansible.playbook.task import Task


def make_action(action_class: type, args: dict[str, t.Any] | None = None, *, check_mode: bool = False,
                diff: bool = False) -> t.Any:
    """An instance of ``action_class`` for a task with ``args``, check mode and diff mode."""
    task = MagicMock(Task)
    task.args = args or {}
    task.check_mode = check_mode
    task.async_val = 0
    task.diff = diff
    connection = MagicMock()
    connection._shell.tmpdir = None
    play_context = MagicMock()
    play_context.check_mode = check_mode
    return action_class(task, connection, play_context, loader=None, templar=None, shared_loader_obj=None)
