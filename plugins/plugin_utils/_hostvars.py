# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading one host's variables from ``hostvars`` in a filter. FOR INTERNAL COLLECTION USE ONLY."""
from __future__ import annotations

import typing as t


def host_vars(hostvars: t.Any, host: str) -> t.Mapping[str, t.Any]:
    """The variables of ``host`` in ``hostvars``; empty for a host that is not there (or not a mapping)."""
    try:
        own = hostvars[host]
    except (KeyError, TypeError):
        return {}
    return own if isinstance(own, t.Mapping) else {}
