"""``clean_failure``: an option error of our action plugins carries no empty traceback on ansible-core 2.16-2.18,
whose AnsibleActionFail records ``traceback.format_exc()`` ("NoneType: None" outside an ``except`` block) and whose
default callback prints it above the message. Every action plugin's ``run`` is decorated."""
from __future__ import annotations

import importlib
import traceback
import typing as t

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._action_base import _NO_TRACEBACK, clean_failure
from tests.simhost.paths import REPO_ROOT
from tests.unit.plugins.action.plugin_factory import make_action

ACTION_PLUGINS = sorted(p.stem for p in (REPO_ROOT / "plugins" / "action").glob("*.py") if p.stem != "__init__")


class _ActionFail216(AnsibleActionFail):
    """AnsibleActionFail as ansible-core 2.16-2.18 build it, on any version: a plain result dict holding
    ``traceback.format_exc()`` of where it is created (2.19 computes its result and sets no such key)."""

    result: dict[str, t.Any] = {}  # shadows 2.19's computed result

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.result = {"failed": True, "msg": message, "exception": traceback.format_exc()}


def _failure(raise_from: bool) -> AnsibleActionFail:
    class Plugin:
        @clean_failure
        def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
            if raise_from:
                try:
                    raise KeyError("missing")
                except KeyError as err:
                    raise _ActionFail216("wrapped") from err
            raise _ActionFail216("value of mode must be one of: prepare, verify, got: bogus")

    with pytest.raises(AnsibleActionFail) as caught:
        Plugin().run()
    return caught.value


def test_the_empty_traceback_is_what_format_exc_gives_outside_an_except_block() -> None:
    assert traceback.format_exc() == _NO_TRACEBACK


def test_an_option_error_keeps_its_message_and_loses_the_empty_traceback() -> None:
    failure = _failure(raise_from=False)
    assert failure.result["failed"] is True
    assert failure.result["msg"] == "value of mode must be one of: prepare, verify, got: bogus"
    assert "exception" not in failure.result


def test_a_real_traceback_stays_for_vvv() -> None:
    failure = _failure(raise_from=True)
    assert "KeyError: 'missing'" in failure.result["exception"]


@pytest.mark.parametrize("name", ACTION_PLUGINS)
def test_every_action_plugin_run_is_decorated(name: str) -> None:
    assert len(ACTION_PLUGINS) >= 8
    module = importlib.import_module(f"ansible_collections.mecm.fieldkit.plugins.action.{name}")
    assert getattr(module.ActionModule.run, "fieldkit_clean_failure", False), f"{name}.ActionModule.run"


def test_a_refused_option_of_a_real_plugin_has_no_empty_traceback() -> None:
    module = importlib.import_module("ansible_collections.mecm.fieldkit.plugins.action.win_sccm_client_generalize")
    action = make_action(module.ActionModule, {"mode": "bogus"})
    with pytest.raises(AnsibleActionFail) as caught:
        action.run(task_vars={})
    assert "mode" in caught.value.result["msg"] and "bogus" in caught.value.result["msg"]
    assert caught.value.result.get("exception") != _NO_TRACEBACK
