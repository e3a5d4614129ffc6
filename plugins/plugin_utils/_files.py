# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing report files on the controller. FOR INTERNAL COLLECTION USE ONLY."""
from __future__ import annotations

import os
import tempfile


def write_text_if_changed(path: str | os.PathLike[str], text: str, *, mode: int = 0o644,
                          check_mode: bool = False) -> bool:
    """Write ``text`` as UTF-8 unless the file already holds exactly it; return whether it changed.

    The write is atomic (temporary file in the same folder, then rename), so a reader never sees half
    a report. In check mode nothing is written; the answer says whether a write would happen.
    """
    data = text.encode("utf-8")
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                return False
    except FileNotFoundError:
        pass
    if check_mode:
        return True
    directory = os.path.dirname(os.fspath(path)) or "."
    handle_fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(handle_fd, "wb") as stream:
            stream.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return True
