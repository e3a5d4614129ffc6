# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image-prep modules' documented options are exactly their action plugins' argument specs, so the
docs cannot drift (tests/unit/test_module_docs.py checks that every module renders)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t

import pytest

from ansible_collections.mecm.fieldkit.plugins.action import report_files, win_sccm_client_generalize
from ansible_collections.mecm.fieldkit.plugins.action import win_sccm_client_install
from tests.simhost.paths import collections_path

MODULES = {
    "mecm.fieldkit.win_sccm_client_generalize": win_sccm_client_generalize.argument_spec(),
    "mecm.fieldkit.win_sccm_client_install": win_sccm_client_install.ActionModule.argument_spec,
    "mecm.fieldkit.report_files": report_files.ActionModule.argument_spec,
}


@pytest.fixture(scope="module")
def docs() -> dict[str, t.Any]:
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    proc = subprocess.run([ansible_doc, "--json", *MODULES], capture_output=True, text=True, check=True,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path()))
    return json.loads(proc.stdout)


def _compare(doc_options: dict[str, t.Any], spec: dict[str, t.Any], path: str) -> None:
    assert set(doc_options) == set(spec), path
    for name, arg in spec.items():
        documented = doc_options[name]
        assert documented["type"] == arg["type"], f"{path}{name}"
        assert documented.get("default") == arg.get("default"), f"{path}{name}"
        assert bool(documented.get("required")) == bool(arg.get("required")), f"{path}{name}"
        if "choices" in arg:
            assert documented["choices"] == arg["choices"], f"{path}{name}"
        if "options" in arg:
            _compare(documented.get("suboptions") or {}, arg["options"], f"{path}{name}.")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_documented_options_are_the_argument_spec(docs: dict[str, t.Any], module: str) -> None:
    _compare(docs[module]["doc"]["options"], MODULES[module], f"{module}: ")
