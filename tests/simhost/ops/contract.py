"""The values the simulator shares with the planners and the PowerShell (plugin_utils/_host_contract.py)."""
from __future__ import annotations

from ..paths import ensure_collection_link

ensure_collection_link()

from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _cert_filter as cert_filter  # noqa: E402
from ansible_collections.mecm.fieldkit.plugins.plugin_utils import _host_contract as contract  # noqa: E402

__all__ = ["cert_filter", "contract"]
