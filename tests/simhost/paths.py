"""Where things are, and the collection link that lets Python and Ansible import the repo as
``ansible_collections.mecm.fieldkit`` (simulated lab support code, not packaged)."""
from __future__ import annotations

import os
import pathlib
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS_DIR = REPO_ROOT / ".ansible" / "collections"
COLLECTION_LINK = COLLECTIONS_DIR / "ansible_collections" / "mecm" / "fieldkit"
BASELINE_COLLECTIONS_DIR = REPO_ROOT / "tests" / "simhost" / "collections"
FIXTURES_DIR = REPO_ROOT / "tests" / "simhost" / "fixtures"
LABS_DIR = REPO_ROOT / "tests" / "simhost" / "labs"


def ensure_collection_link() -> pathlib.Path:
    """Create ``.ansible/collections/ansible_collections/mecm/fieldkit`` -> repo root, once."""
    if not COLLECTION_LINK.exists():
        COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(REPO_ROOT, COLLECTION_LINK.parent), COLLECTION_LINK)
    if str(COLLECTIONS_DIR) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS_DIR))
    return COLLECTIONS_DIR


def collections_path() -> str:
    """Value for ANSIBLE_COLLECTIONS_PATH: this repo plus the lab's baseline collection."""
    ensure_collection_link()
    return os.pathsep.join([str(COLLECTIONS_DIR), str(BASELINE_COLLECTIONS_DIR)])
