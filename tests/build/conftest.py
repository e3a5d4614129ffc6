# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build tests share one tarball: the one check_build.py just built (FIELDKIT_TARBALL), or a fresh build."""
from __future__ import annotations

import os
import pathlib

import pytest

from tests.build.dist import build_tarball


@pytest.fixture(scope="session")
def built_tarball(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    given = os.environ.get("FIELDKIT_TARBALL")
    if given and pathlib.Path(given).is_file():
        return pathlib.Path(given)
    tarball, _figures = build_tarball(tmp_path_factory.mktemp("dist"))
    return tarball
