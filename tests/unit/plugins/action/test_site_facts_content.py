# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_sccm_site_facts reads the content distribution state in its one runner call, validates
max_stuck_packages before anything runs, and warns when the reading is incomplete (simulated hosts)."""
from __future__ import annotations

import copy
import importlib
import json
import typing as t
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail

from tests.simhost.host import Faults
from tests.simhost.runner import run_batch
from tests.unit.plugins.action.plugin_factory import make_action
from tests.unit.plugins.plugin_utils import dp_lab

DPS = ["dp01.contoso.local", "dp14.contoso.local"]


def _plugin(args: dict[str, t.Any]):
    module = importlib.import_module("ansible_collections.mecm.fieldkit.plugins.action.win_sccm_site_facts")
    return make_action(module.ActionModule, args)


def _replay(model) -> MagicMock:
    def execute(module_name: str, module_args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        body, _rc = run_batch(model, module_args, dp_lab.SYSTEM, Faults([]))
        return json.loads(json.dumps(body))

    return MagicMock(side_effect=execute)


def test_content_state_comes_with_the_site_probe_in_one_runner_call() -> None:
    site, _hosts = dp_lab.lab({DPS[0]: "dp_healthy", DPS[1]: "dp_content_failed"})
    plugin = _plugin({"distribution_points": DPS + ["bad name!"], "max_stuck_packages": 3})
    plugin._execute_module = _replay(site)
    result = plugin.run(task_vars={})
    assert plugin._execute_module.call_count == 1
    ops = [op["name"] for op in plugin._execute_module.call_args.kwargs["module_args"]["ops"]]
    assert ops.count("sms.read_distribution_status") == 1 and "net.probe_targets" in ops
    sent = next(op for op in plugin._execute_module.call_args.kwargs["module_args"]["ops"] if op["name"] == "sms.read_distribution_status")
    # Only names that are host names reach the host.
    assert sent["args"]["DistributionPoints"] == DPS and sent["args"]["MaxPackages"] == 3
    distribution = result["ansible_facts"]["sccm_site"]["distribution"]
    assert distribution["available"] is True and distribution["max_packages"] == 3
    assert len(distribution["dps"][DPS[1]]["packages"]) == 3 and distribution["dps"][DPS[1]]["packages_truncated"]
    assert not any("distribution state" in w for w in result.get("warnings", []))


def test_no_dp_no_distribution_op() -> None:
    site, _hosts = dp_lab.lab({})
    plugin = _plugin({})
    plugin._execute_module = _replay(site)
    result = plugin.run(task_vars={})
    assert result["ansible_facts"]["sccm_site"]["distribution"] is None
    assert "sms.read_distribution_status" not in [op["name"] for op in plugin._execute_module.call_args.kwargs["module_args"]["ops"]]


@pytest.mark.parametrize("value", [-1, 1001])
def test_max_stuck_packages_is_validated_before_anything_runs(value: int) -> None:
    plugin = _plugin({"distribution_points": DPS, "max_stuck_packages": value})
    plugin._execute_module = MagicMock()
    with pytest.raises(AnsibleActionFail, match=f"option max_stuck_packages={value} is out of range; allowed: 0 to 1000"):
        plugin.run(task_vars={})
    assert plugin._execute_module.call_count == 0


def test_incomplete_or_failed_readings_are_warned_about() -> None:
    site, _hosts = dp_lab.lab({DPS[0]: "dp_healthy"},
                              site_overlay={"sms_provider": {"distribution_error": {"code": 0x80041003}}})
    plugin = _plugin({"distribution_points": DPS[:1]})
    plugin._execute_module = _replay(site)
    result = plugin.run(task_vars={})
    assert any("could not read the content distribution state" in w and "0x80041003" in w for w in result["warnings"])
    slow, _hosts = dp_lab.lab({DPS[0]: "dp_healthy"}, site_overlay={"sms_provider": {"distribution_query_seconds": 70}})
    plugin = _plugin({"distribution_points": DPS[:1]})
    plugin._execute_module = _replay(slow)
    result = plugin.run(task_vars={})
    assert any("content distribution state is incomplete" in w for w in result["warnings"])


def test_check_mode_reads_the_same_and_changes_nothing() -> None:
    site, hosts = dp_lab.lab({DPS[0]: "dp_healthy", DPS[1]: "dp_content_failed"})
    before = [copy.deepcopy(m.state) for m in (site, *hosts.values())]
    module = importlib.import_module("ansible_collections.mecm.fieldkit.plugins.action.win_sccm_site_facts")
    plugin = make_action(module.ActionModule, {"distribution_points": DPS}, check_mode=True)
    plugin._execute_module = _replay(site)
    result = plugin.run(task_vars={})
    assert result["changed"] is False
    assert result["ansible_facts"]["sccm_site"]["distribution"]["dps"][DPS[1]]["errors"] == 7
    assert [m.state for m in (site, *hosts.values())] == before
