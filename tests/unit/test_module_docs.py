"""Every module renders with ansible-doc, with EXAMPLES and RETURN, and every RETURN leaf has a sample."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t

import pytest

from tests.simhost.paths import REPO_ROOT, collections_path

MODULES = sorted(p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
BIN = os.path.dirname(sys.executable)


def _ansible_doc(module: str) -> dict[str, t.Any]:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path())
    out = subprocess.run([os.path.join(BIN, "ansible-doc"), "-j", f"mecm.fieldkit.{module}"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)[f"mecm.fieldkit.{module}"]


def _leaves_without_sample(returns: dict[str, t.Any], prefix: str = "") -> list[str]:
    missing = []
    for key, spec in returns.items():
        path = f"{prefix}{key}"
        if spec.get("contains"):
            missing += _leaves_without_sample(spec["contains"], path + ".")
        elif "sample" not in spec:
            missing.append(path)
    return missing


@pytest.mark.parametrize("module", MODULES)
def test_module_renders_with_examples_and_return(module: str) -> None:
    doc = _ansible_doc(module)
    assert doc["doc"]["short_description"]
    assert doc["examples"].strip()
    assert doc["return"], f"{module} has no RETURN"
    assert _leaves_without_sample(doc["return"]) == []


@pytest.mark.parametrize("module", MODULES)
def test_text_rendering_works(module: str) -> None:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path())
    out = subprocess.run([os.path.join(BIN, "ansible-doc"), f"mecm.fieldkit.{module}"], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert "EXAMPLES:" in out and "RETURN VALUES:" in out
