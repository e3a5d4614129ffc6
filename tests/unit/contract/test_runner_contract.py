"""Contract: the op runner's module contract without Ansible.Basic, on both sides.

The runner modules no longer load Ansible.Basic; ``Invoke-FieldkitRunner`` (plugins/module_utils/_FieldkitCommon.psm1)
reads ``$complex_args``, validates it, runs the batch and writes the result. Its lab twin is
tests/simhost/runner.py. The spec itself (op fields, protocol, ``_ansible_`` options) is declared once in
_host_contract.py and compared with the PowerShell literals by test_host_contract.py; this file checks what is
not a literal: that every runner uses the contract, that the messages agree, that the options Ansible.Basic of the
installed ansible-core accepts are still accepted, and the lab's behaviour at each rule.
"""
from __future__ import annotations

import pathlib
import re

import ansible
import pytest

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _host_contract
from ansible_collections.mecm.fieldkit.plugins.plugin_utils._ops import PlannedOp, build_batch
from tests.simhost.host import Faults
from tests.simhost.model import HostModel, OpContext, load_fixture
from tests.simhost.paths import REPO_ROOT
from tests.simhost.runner import run_batch

COMMON = (REPO_ROOT / "plugins" / "module_utils" / "_FieldkitCommon.psm1").read_text(encoding="utf-8-sig")
LAB_RUNNER = (REPO_ROOT / "tests" / "simhost" / "runner.py").read_text(encoding="utf-8")
RUNNER_FILES = sorted((REPO_ROOT / "plugins" / "modules").glob("sccm_op_runner*.ps1"))


def _run(module_args: dict, *failing: str) -> tuple[dict, int]:
    """Run the lab's runner; every op named in ``failing`` fails with ERROR_ACCESS_DENIED."""
    faults = Faults([{"op": name, "code": 0x80070005, "message": "Access is denied."} for name in failing])
    return run_batch(HostModel(load_fixture("ref_assigned")), module_args, OpContext(), faults)


def _batch() -> list[dict]:
    return build_batch([PlannedOp(id="read", op="client.read_identity", args={})])


@pytest.mark.parametrize("runner", RUNNER_FILES, ids=lambda p: p.name)
def test_every_runner_uses_the_contract_and_no_csharp(runner: pathlib.Path) -> None:
    text = runner.read_text(encoding="utf-8")
    assert not re.search(r"(?im)^#AnsibleRequires\s+-CSharpUtil", text), f"{runner.name} loads a C# util"
    assert "Ansible.Basic" not in text.replace("# No Ansible.Basic", "")
    code = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert code == ["Invoke-FieldkitRunner -ModuleArgs $complex_args"]


def test_the_runner_takes_every_internal_option_of_ansible_basic() -> None:
    """Ansible.Basic of the installed ansible-core accepts these _ansible_ options; so must the runner."""
    source = (pathlib.Path(ansible.__file__).parent / "module_utils" / "csharp" / "Ansible.Basic.cs").read_text()
    block = re.search(r"passVars = new Dictionary<string, string>\(\)\s*\{(.*?)\};", source, re.S).group(1)
    accepted = set(re.findall(r'\{\s*"(\w+)",', block))
    assert accepted and accepted <= _host_contract.runner_internal_options()


@pytest.mark.parametrize("fragment", [
    "Unsupported parameters for (",
    ") module: ",
    "Supported parameters include: ops, protocol",
    "missing required arguments: ops (a list of op dictionaries)",
    "missing required arguments: protocol (an integer)",
    "] must be a dictionary",
    "] has unsupported fields: ",
    "; supported: ",
    " must be a ",
    " but the controller sent protocol ",
    "; install the same mecm.fieldkit version on the controller",
    "failed: ",
    "completed before it: ",
])
def test_host_and_lab_word_the_failures_the_same(fragment: str) -> None:
    assert fragment in COMMON
    assert fragment in LAB_RUNNER


def test_a_good_batch_returns_the_result_keys_and_the_invocation() -> None:
    body, rc = _run({"ops": _batch(), "protocol": 1, "_ansible_check_mode": False, "_ansible_verbosity": 0,
                     "_ansible_module_name": "mecm.fieldkit.sccm_op_runner"})
    assert rc == 0
    assert {"changed", "protocol", "results", "completed", "failed_op", "invocation"} <= set(body)
    assert "failed" not in body and "exception" not in body
    assert body["invocation"] == {"module_args": {"ops": _batch(), "protocol": 1}}


@pytest.mark.parametrize(("args", "message"), [
    ({"ops": [], "protocol": 1, "extra": 1}, "Unsupported parameters for (mecm.fieldkit.sccm_op_runner) module: extra. "
                                             "Supported parameters include: ops, protocol"),
    ({"ops": [], "protocol": 1, "_ansible_unknown": 1}, "Unsupported parameters for (mecm.fieldkit.sccm_op_runner) "
                                                        "module: _ansible_unknown."),
    ({"protocol": 1}, "missing required arguments: ops (a list of op dictionaries)"),
    ({"ops": "x", "protocol": 1}, "missing required arguments: ops (a list of op dictionaries)"),
    ({"ops": [], "protocol": "1"}, "missing required arguments: protocol (an integer)"),
    ({"ops": [], "protocol": True}, "missing required arguments: protocol (an integer)"),
    ({"ops": ["x"], "protocol": 1}, "ops[0] must be a dictionary"),
    ({"ops": [{"id": "a"}], "protocol": 1}, "ops[0].name must be a str"),
    ({"ops": [dict(_batch()[0], mutating="yes")], "protocol": 1}, "ops[0].mutating must be a bool"),
    ({"ops": [dict(_batch()[0], extra=1)], "protocol": 1}, "ops[0] has unsupported fields: extra; supported: id, name, "
                                                           "function, mutating, always, args"),
    ({"ops": [], "protocol": 2}, "sccm_op_runner speaks protocol 1 but the controller sent protocol 2"),
])
def test_bad_options_fail_before_any_op_runs(args: dict, message: str) -> None:
    body, rc = _run(dict(args, _ansible_module_name="mecm.fieldkit.sccm_op_runner"))
    assert rc == 1 and body["failed"] is True
    assert body["msg"].startswith(message)
    assert "results" not in body


@pytest.mark.parametrize(("internal", "shown"), [
    ({}, False), ({"_ansible_verbosity": 2}, False), ({"_ansible_verbosity": 3}, True), ({"_ansible_debug": True}, True),
])
def test_the_error_record_is_returned_with_vvv_or_debug_only(internal: dict, shown: bool) -> None:
    body, rc = _run({"ops": _batch(), "protocol": 1, **internal}, "client.read_identity")
    assert rc == 1 and body["failed_op"] == "read"
    assert body["msg"] == "op read (client.read_identity) failed: Access is denied. (0x80070005); completed before it: none"
    assert ("exception" in body) is shown


def test_the_controller_sends_every_declared_field_and_the_lab_fills_the_optional_ones() -> None:
    assert list(_batch()[0]) == list(_host_contract.runner_op_fields())
    bare = {k: v for k, v in _batch()[0].items() if k not in ("always", "args")}
    body, rc = _run({"ops": [bare], "protocol": 1})
    assert rc == 0 and body["results"][0]["status"] == "ok"
    assert body["invocation"]["module_args"]["ops"][0] == dict(bare, always=False, args={})
