"""Make the repository importable as ansible_collections.mecm.fieldkit for every test."""
from __future__ import annotations

from tests.simhost.paths import ensure_collection_link

ensure_collection_link()
