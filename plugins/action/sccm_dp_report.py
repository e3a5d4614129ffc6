# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mecm.fieldkit.sccm_dp_report: writes DP diagnosis and inventory reports on the controller."""
from __future__ import annotations

import os
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.mecm.fieldkit.plugins.action.sccm_dp_diagnose import facts_from_hostvars
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _dp_report as renderer
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._action_base import clean_failure
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_report_html import validate_template_dir
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_inventory import inventory_rows
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._gc_pause import paused
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._files import (
    ReportDestinationError, check_destination, write_text_if_changed)

REPORT_FORMATS = {"html": ".html", "markdown": ".md", "json": ".json", "junit": ".junit.xml"}
INVENTORY_FORMATS = {"csv": ".csv", "json": ".json", "html": ".html"}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    argument_spec: dict[str, t.Any] = {
        "dest": {"type": "path", "required": True},
        "diagnosis": {"type": "dict"},
        "formats": {"type": "list", "elements": "str", "default": list(REPORT_FORMATS),
                    "choices": list(REPORT_FORMATS)},
        "basename": {"type": "str", "default": "dp_diagnosis"},
        "dp_facts": {"type": "dict"},
        "dp_hosts": {"type": "list", "elements": "str"},
        "site_facts": {"type": "dict"},
        "site_host": {"type": "str"},
        "inventory_formats": {"type": "list", "elements": "str", "default": list(INVENTORY_FORMATS),
                              "choices": list(INVENTORY_FORMATS)},
        "inventory_basename": {"type": "str", "default": "dp_inventory"},
        "language": {"type": "str", "choices": ["en", "ja"]},
        "template_dir": {"type": "path"},
    }

    @paused  # every renderer, JUnit included, without the cyclic collector (half the CPU at 2,000 DPs)
    @clean_failure
    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        _validation, params = self.validate_argument_spec(
            argument_spec=self.argument_spec,
            mutually_exclusive=[["dp_facts", "dp_hosts"], ["site_facts", "site_host"]],
            required_one_of=[["diagnosis", "dp_facts", "dp_hosts"]],
        )
        for option in ("basename", "inventory_basename"):
            name = params[option]
            if not name or name in (".", "..") or any(c in name for c in "/\\:*?\"<>|"):
                raise AnsibleActionFail(f"option {option}={name!r} is not a file name; allowed: letters, digits, "
                                        "'-', '_' and '.', without folders")
        # Like files written with delegate_to: localhost, a relative dest is relative to the
        # controller's current directory.
        # An empty dest (it would be the current directory), a file where a folder is expected or a folder
        # this user cannot write is refused with the option and the value, before anything is written.
        # A template directory is checked before anything is written (it must exist and be a directory).
        try:
            template_dir = validate_template_dir(params["template_dir"])
        except ValueError as exc:
            raise AnsibleActionFail(f"option {exc}") from None
        try:
            check_destination(params["dest"])
        except ReportDestinationError as exc:
            raise AnsibleActionFail(f"option {exc}") from None
        dest = os.path.abspath(params["dest"])
        if not self._task.check_mode:
            os.makedirs(dest, exist_ok=True)
        language = params["language"] or (params["diagnosis"] or {}).get("language") or "en"
        files: dict[str, str] = {}
        changed = False
        diagnosis = params["diagnosis"]
        if diagnosis is not None:
            render = {"html": lambda d: renderer.render_html(d, template_dir=template_dir), "markdown": renderer.render_markdown,
                      "json": renderer.render_json, "junit": renderer.render_junit}
            for fmt in params["formats"]:
                path = os.path.join(dest, params["basename"] + REPORT_FORMATS[fmt])
                changed |= write_text_if_changed(path, render[fmt](diagnosis), check_mode=self._task.check_mode)
                files[fmt] = path
        inventory_files: dict[str, str] = {}
        rows = None
        if params["dp_facts"] is not None or params["dp_hosts"] is not None:
            if params["dp_hosts"] is not None:
                dp_facts = {h: facts_from_hostvars(task_vars, h, "sccm_dp") for h in params["dp_hosts"]}
            else:
                dp_facts = dict(params["dp_facts"])
            site = params["site_facts"]
            if params["site_host"]:
                site = facts_from_hostvars(task_vars, params["site_host"], "sccm_site")
            rows = inventory_rows(dp_facts, site_facts=site)
            render_inv = {"csv": renderer.render_inventory_csv, "json": renderer.render_inventory_json,
                          "html": lambda r: renderer.render_inventory_html(r, language, template_dir=template_dir)}
            for fmt in params["inventory_formats"]:
                path = os.path.join(dest, params["inventory_basename"] + INVENTORY_FORMATS[fmt])
                changed |= write_text_if_changed(path, render_inv[fmt](rows), check_mode=self._task.check_mode)
                inventory_files[fmt] = path
        result.update(changed=changed, dest=dest, files=files, inventory_files=inventory_files,
                      written=not self._task.check_mode)
        if self._task.check_mode:
            # Say plainly that the paths above are where the files would go (the role writes its reports with
            # check_mode: false: they change nothing on any host).
            result["msg"] = (f"check mode: no report written; {len(files) + len(inventory_files)} file(s) would be "
                             f"written to {dest}" + ("" if changed else " (none would change)"))
        if rows is not None:
            result["inventory_rows"] = rows
            result["inventory_count"] = len(rows)
        if diagnosis is not None:
            result["summary"] = diagnosis.get("summary")
        result["invocation"] = {"module_args": {k: v for k, v in params.items()
                                                if k not in ("diagnosis", "dp_facts", "site_facts")}}
        return result
