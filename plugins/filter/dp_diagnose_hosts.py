# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the role dp_diagnose: the DPs of a play by the name ConfigMgr uses, from ``hostvars``, in one run-once
expression instead of a ``set_fact`` task per DP.

A DP's name is its host variable ``dp_diagnose_dp_name``, else (once its facts are in) the FQDN it reports, else its
inventory name. Two hosts whose names differ only in case or a trailing dot are the same DP.
"""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _hostvars

FACTS_RESULT = "dp_diagnose_dp_facts_result"


def _checked_hosts(hosts: t.Any, filter_name: str) -> list[str]:
    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, t.Iterable):
        raise AnsibleFilterError(f"{filter_name}: expects a list of inventory names (ansible_play_hosts_all), "
                                 f"got {type(hosts).__name__}")
    return [str(host) for host in hosts]


def _dp_facts(host_vars: t.Mapping[str, t.Any], result_var: str) -> dict[str, t.Any] | None:
    """``ansible_facts.sccm_dp`` of the DP's registered facts result; None when it gave none (unreachable, failed)."""
    result = host_vars.get(result_var)
    facts = result.get("ansible_facts") if isinstance(result, t.Mapping) else None
    sccm_dp = facts.get("sccm_dp") if isinstance(facts, t.Mapping) else None
    return dict(sccm_dp) if isinstance(sccm_dp, t.Mapping) else None


def _dp_name(host: str, host_vars: t.Mapping[str, t.Any], facts: t.Mapping[str, t.Any] | None) -> str:
    return str(host_vars.get("dp_diagnose_dp_name") or (facts or {}).get("fqdn") or host)


def _same_dp_key(name: str) -> str:
    return name.lower().removesuffix(".")


def dp_diagnose_probe_names(hosts: t.Any, hostvars: t.Any) -> list[str]:
    """The names the site server probes, one per host: ``dp_diagnose_dp_name``, else the inventory name (the site
    probe runs before the DP facts, so no FQDN yet)."""
    return [_dp_name(host, _hostvars.host_vars(hostvars, host), None)
            for host in _checked_hosts(hosts, "dp_diagnose_probe_names")]


def _named_dps(hosts: t.Any, hostvars: t.Any, result_var: str, filter_name: str) -> list[tuple[str, str, t.Any]]:
    named = []
    for host in _checked_hosts(hosts, filter_name):
        host_vars = _hostvars.host_vars(hostvars, host)
        facts = _dp_facts(host_vars, result_var)
        named.append((host, _dp_name(host, host_vars, facts), facts))
    return named


def dp_diagnose_dp_facts(hosts: t.Any, hostvars: t.Any, result_var: str = FACTS_RESULT) -> dict[str, t.Any]:
    """DP name -> ``ansible_facts.sccm_dp`` (None for a DP that gave no facts), in host order; of two hosts with the
    same name the later one's facts win, as ``combine`` did with the per-DP entries."""
    return {name: facts for _host, name, facts in _named_dps(hosts, hostvars, result_var, "dp_diagnose_dp_facts")}


def dp_diagnose_same_dp(hosts: t.Any, hostvars: t.Any, result_var: str = FACTS_RESULT) -> list[str]:
    """One sentence per host that is a DP an earlier host already is (diagnosed and reported once)."""
    owners: dict[str, str] = {}
    same = []
    for host, name, _facts in _named_dps(hosts, hostvars, result_var, "dp_diagnose_same_dp"):
        key = _same_dp_key(name)
        if key in owners:
            same.append(f"{host} and {owners[key]} are the same DP {name} (dp_diagnose_dp_name or the FQDN they "
                        "report); it is diagnosed once")
        else:
            owners[key] = host
    return same


class FilterModule:
    """mecm.fieldkit filters of the role dp_diagnose."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {
            "dp_diagnose_probe_names": dp_diagnose_probe_names,
            "dp_diagnose_dp_facts": dp_diagnose_dp_facts,
            "dp_diagnose_same_dp": dp_diagnose_same_dp,
        }
