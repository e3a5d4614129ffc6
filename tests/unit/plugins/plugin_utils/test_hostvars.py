"""host_vars: one host's variables from hostvars, empty when there are none."""
from __future__ import annotations

from ansible_collections.mecm.fieldkit.plugins.plugin_utils._hostvars import host_vars


def test_a_known_host_gives_its_variables() -> None:
    assert host_vars({"a": {"x": 1}}, "a") == {"x": 1}


def test_a_missing_host_a_non_mapping_and_no_hostvars_give_nothing() -> None:
    assert host_vars({"a": {"x": 1}}, "b") == {}
    assert host_vars({"a": "not variables"}, "a") == {}
    assert host_vars(None, "a") == {}
