# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mecm.fieldkit.report_files: write report files on the controller in one task."""
from __future__ import annotations

import copy
import json
import os
import re
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._action_base import clean_failure
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._files import (
    ReportDestinationError, parse_mode, write_files)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,200}$")


def render(content: t.Any) -> str:
    """Text as is; anything else as indented JSON with a final newline."""
    if isinstance(content, str):
        return content
    return json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    argument_spec: dict[str, t.Any] = {
        "dest": {"type": "path", "required": True},
        "files": {"type": "dict", "required": True},
        # raw: an unquoted YAML mode (0644 -> the int 420) is refused with a message instead of being read as "420"
        "mode": {"type": "raw", "default": None},
        "allow_world_writable": {"type": "bool", "default": False},
        "sources": {"type": "list", "elements": "path", "default": []},
        "publish_dest": {"type": "path", "default": None},
    }

    @clean_failure
    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        result = super().run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(argument_spec=copy.deepcopy(self.argument_spec))
        bad = [name for name in params["files"] if not _NAME_RE.match(str(name)) or ".." in str(name)]
        if bad:
            raise AnsibleActionFail(f"files: {bad[0]!r} is not a plain file name (letters, digits, . _ @ -; no "
                                    "path separators)")
        texts = {str(name): render(content) for name, content in params["files"].items()}
        texts.update(read_sources(params["sources"], texts))
        publish = params["publish_dest"]
        common = {"allow_world_writable": params["allow_world_writable"], "check_mode": self._task.check_mode}
        try:
            mode = parse_mode(params["mode"], allow_world_writable=params["allow_world_writable"])
            if publish is not None and publish.strip():
                # Both directories are checked before anything is written.
                dry_run = {"allow_world_writable": params["allow_world_writable"], "check_mode": True}
                write_files(publish, texts, mode=mode, dest_option="publish_dest", **dry_run)
            dest, written, changed = write_files(params["dest"], texts, mode=mode, **common)
            published: tuple[t.Any, list[str], list[str]] = (None, [], [])
            if publish is not None and publish.strip():
                published = write_files(publish, texts, mode=mode, dest_option="publish_dest", **common)
        except ReportDestinationError as exc:
            raise AnsibleActionFail(str(exc)) from None
        result.update(changed=bool(changed or published[2]), dest=str(dest), files=written, changed_files=changed,
                      publish_dest=str(published[0]) if published[0] else None, published_files=published[1])
        return result


def read_sources(paths: list[str], names: t.Collection[str]) -> dict[str, str]:
    """{base name: text} of report files another task wrote on the controller (``sources``)."""
    texts: dict[str, str] = {}
    for path in paths:
        name = os.path.basename(path)
        if not _NAME_RE.match(name) or name in names or name in texts:
            raise AnsibleActionFail(f"sources: {path!r} has the file name {name!r}, which is not a plain file name or is "
                                    "already one of the files; allowed: distinct plain file names")
        try:
            # newline="": the bytes as written (a CSV keeps its CRLF line ends), not universal newlines.
            with open(path, encoding="utf-8", newline="") as handle:
                texts[name] = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise AnsibleActionFail(f"sources: {path!r} cannot be read as UTF-8 text on the controller ({exc}); "
                                    "allowed: report files that exist") from None
    return texts
