# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing report files on the controller. FOR INTERNAL COLLECTION USE ONLY.

Validation of a report destination and of a file mode, and an all-or-nothing write of several files:
every file is checked, then staged as a temporary file in the destination, and only when every one is
staged are they renamed into place. A failure names the option, the value and what is wrong, and leaves
nothing behind (no file, no temporary file, no directory this call created).

Modes: without a mode a new file gets ``0666`` minus the umask (``0644`` with the usual ``022``) and an
existing file keeps its mode, as with Ansible's copy module. A mode is a quoted octal string (``"0644"``,
``"644"``, ``"0o644"``) or the symbolic form of Ansible's file module (``u=rw,g=r,o=r``, ``go-w``,
``u+x``); a number is refused (YAML reads an unquoted ``0644`` as 420), and so are the setuid, setgid
and sticky bits and, unless allowed, modes that let everyone write (``o+w``: ``"0666"``, ``"0777"``).
"""
from __future__ import annotations

import dataclasses
import errno
import os
import pathlib
import re
import secrets
import stat
import typing as t

WORLD_WRITABLE = stat.S_IWOTH
_OCTAL_RE = re.compile(r"^(?:0o|0)?([0-7]{3})$")
_SPECIAL_OCTAL_RE = re.compile(r"^(?:0o)?([0-7])([0-7]{3})$")
_CLAUSE_RE = re.compile(r"^([ugoa]*)((?:[-+=][rwxXugo]*)+)$")
_ACTION_RE = re.compile(r"([-+=])([rwxXugo]*)")
_WHO_BITS = {"u": (stat.S_IRUSR, stat.S_IWUSR, stat.S_IXUSR), "g": (stat.S_IRGRP, stat.S_IWGRP, stat.S_IXGRP),
             "o": (stat.S_IROTH, stat.S_IWOTH, stat.S_IXOTH)}
_SHIFT = {"u": 6, "g": 3, "o": 0}
_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENOTDIR: "a part of the path is a file, not a directory",
    errno.EISDIR: "it is a directory",
    errno.ENOENT: "a part of the path does not exist",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ELOOP: "too many symbolic links",
}


class ReportDestinationError(ValueError):
    """A report destination, file or mode that cannot be used; the message names the option and the value."""


def _reason(error: OSError) -> str:
    return _REASONS.get(error.errno or 0) or (error.strerror or str(error)).lower()


def current_umask() -> int:
    """The process umask, read without changing it where Linux tells it (``/proc/self/status``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode a new file gets without an explicit mode: 0666 minus the umask."""
    return 0o666 & ~current_umask()


@dataclasses.dataclass(frozen=True)
class FileMode:
    """A validated mode: an octal number or an Ansible symbolic mode applied to the file's current mode."""

    text: str
    octal: int | None = None

    def apply(self, current: int) -> int:
        """The mode of a file whose mode is now ``current`` (a new file: default_file_mode())."""
        if self.octal is not None:
            return self.octal
        return _apply_symbolic(self.text, current)


def _apply_symbolic(text: str, current: int) -> int:
    """Ansible's file-module symbolic mode (chmod syntax), without the s and t bits."""
    mode = stat.S_IMODE(current)
    for clause in text.split(","):
        match = _CLAUSE_RE.match(clause)
        if not match:
            raise ValueError(clause)
        who, actions = match.group(1), match.group(2)
        use_umask = who == ""  # as chmod and Ansible: no "who" means all, but bits in the umask are left alone
        users = "ugo" if who in ("", "a") else who
        if "a" in users:
            raise ValueError(clause)
        mask = ~current_umask() if use_umask else 0o777
        for operator, perms in _ACTION_RE.findall(actions):
            for user in users:
                bits = 0
                for perm in perms:
                    if perm in "rwx":
                        bits |= _WHO_BITS[user]["rwx".index(perm)] & mask
                    elif perm == "X":
                        # execute only where some execute bit is already set (these are files, never folders)
                        bits |= _WHO_BITS[user][2] if mode & 0o111 else 0
                    else:  # copy the permissions of u, g or o
                        bits |= (((mode >> _SHIFT[perm]) & 0o7) << _SHIFT[user])
                if operator == "=":
                    mode = (mode & ~(0o7 << _SHIFT[user])) | bits
                elif operator == "+":
                    mode |= bits
                else:
                    mode &= ~bits
    return mode


def parse_mode(value: t.Any, *, option: str = "mode", allow_world_writable: bool = False) -> FileMode | None:
    """Validate a file mode option; None when no mode is given (the umask applies).

    Raises:
        ReportDestinationError: a number (unquoted YAML mode), an unknown form, special bits, or a mode that
            lets everyone write unless ``allow_world_writable``.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ReportDestinationError(f"{option}={value!r} is not a file mode; give a quoted octal string such as "
                                     f"\"0644\" or a symbolic mode such as u=rw,g=r,o=r")
    if not isinstance(value, str):
        hint = f"; if you wrote 0{value:o}, write \"0{value:o}\"" if isinstance(value, int) and 0 < value <= 0o777 else ""
        raise ReportDestinationError(
            f"{option}={value!r} is a number, not a quoted mode: YAML reads an unquoted 0644 as the octal number 420, "
            f"so the files would get other permissions than you meant. Quote the mode, e.g. {option}: \"0644\"{hint}")
    text = value.strip()
    match = _OCTAL_RE.match(text)
    if match:
        mode = FileMode(text, int(match.group(1), 8))
    elif _SPECIAL_OCTAL_RE.match(text):
        raise ReportDestinationError(f"{option}={value!r} sets the setuid, setgid or sticky bit, which report files "
                                     "never need; give three octal digits such as \"0644\"")
    else:
        try:
            _apply_symbolic(text, 0o644)
        except ValueError:
            raise ReportDestinationError(
                f"{option}={value!r} is not a file mode: give a quoted octal string such as \"0644\" or a symbolic "
                "mode as Ansible's file module takes it, such as u=rw,g=r,o=r or go-w (r, w, x, X and u/g/o; the "
                "setuid, setgid and sticky bits s and t are refused)") from None
        mode = FileMode(text)
    if mode.octal is not None:
        check_world_writable(mode.octal, value=value, option=option, allow=allow_world_writable)
    return mode


def check_world_writable(mode: int, *, value: t.Any, option: str = "mode", allow: bool = False,
                         path: str | None = None) -> None:
    """Refuse a mode that lets every user of the controller write, unless allowed."""
    if allow or not mode & WORLD_WRITABLE:
        return
    where = f" for {path}" if path else ""
    raise ReportDestinationError(
        f"{option}={value!r} gives 0{mode:03o}{where}, which lets every user of the controller write the reports "
        f"(o+w). Use a mode such as \"0644\" or \"0664\", or set allow_world_writable=true if you mean it")


def check_destination(value: t.Any, *, option: str = "dest") -> tuple[pathlib.Path, list[pathlib.Path]]:
    """Validate a report directory; return it (absolute) and the directories that have to be created.

    A relative directory is relative to the controller's current directory; an empty one is refused (it
    would silently mean the current directory). Nothing is created here.
    """
    if value is None or not str(value).strip():
        raise ReportDestinationError(
            f"{option}={value!r} is empty: name the report directory on the controller (an empty {option} would write "
            f"into the current directory, {os.getcwd()})")
    text = os.path.expandvars(os.path.expanduser(str(value)))
    try:
        dest = pathlib.Path(text).resolve()
    except (OSError, ValueError, RuntimeError) as exc:
        raise ReportDestinationError(f"{option}={value!r} is not a usable path: {exc}") from None
    missing: list[pathlib.Path] = []
    current = dest
    while True:
        try:
            info = current.stat()
        except (FileNotFoundError, NotADirectoryError):  # NotADirectoryError: a file above it, found next
            missing.append(current)
            if current.parent == current:
                raise ReportDestinationError(f"{option}={value!r}: no existing folder above {dest}") from None
            current = current.parent
            continue
        except OSError as exc:
            raise ReportDestinationError(f"{option}={value!r}: cannot read {current} ({_reason(exc)}); nothing was "
                                         "written") from None
        break
    if not stat.S_ISDIR(info.st_mode):
        if current == dest:
            problem = f"{dest} exists and is a file, not a directory"
        else:
            problem = f"{current} is a file, not a directory, so {dest} cannot be created"
        raise ReportDestinationError(f"{option}={value!r}: {problem}; nothing was written")
    if not os.access(current, os.W_OK | os.X_OK):
        if current == dest:
            problem = f"the directory {dest} is not writable for this user (permission denied)"
        else:
            problem = f"{current} does not let this user create {missing[-1].name} in it (permission denied)"
        raise ReportDestinationError(f"{option}={value!r}: {problem}; nothing was written")
    return dest, list(reversed(missing))


@dataclasses.dataclass
class _Plan:
    path: pathlib.Path
    data: bytes
    mode: int
    write: bool  # content differs (or new file)
    chmod: bool  # same content, other mode


def _plan_file(path: pathlib.Path, data: bytes, mode: FileMode | None, *, name: str, dest_option: str, dest_value: t.Any,
               mode_option: str, allow_world_writable: bool) -> _Plan:
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise ReportDestinationError(f"{dest_option}={dest_value!r}: cannot read {path} ({_reason(exc)}); nothing "
                                     "was written") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ReportDestinationError(f"files: {name!r} cannot be written: {path} is {kind}; nothing was written")
    current = stat.S_IMODE(info.st_mode) if info is not None else default_file_mode()
    target = mode.apply(current) if mode is not None else current
    if mode is not None:
        check_world_writable(target, value=mode.text, option=mode_option, allow=allow_world_writable, path=str(path))
    same = False
    if info is not None:
        try:
            same = path.read_bytes() == data
        except OSError as exc:
            raise ReportDestinationError(f"{dest_option}={dest_value!r}: cannot read {path} ({_reason(exc)}); "
                                         "nothing was written") from None
    return _Plan(path, data, target, write=not same, chmod=same and target != current)


def write_files(dest_value: t.Any, files: t.Mapping[str, str], *, mode: FileMode | None = None,
                allow_world_writable: bool = False, check_mode: bool = False, dest_option: str = "dest",
                mode_option: str = "mode") -> tuple[pathlib.Path, list[str], list[str]]:
    """Write ``{file name: text}`` into the report directory, all or nothing.

    Returns:
        The directory, every file path and the paths written (or, in check mode, that would be written).
        A file already holding the text is not rewritten; with a mode, its mode is corrected.

    Raises:
        ReportDestinationError: naming the option, the value and the problem; nothing was written.
    """
    dest, missing = check_destination(dest_value, option=dest_option)
    plans = [_plan_file(dest / name, text.encode("utf-8"), mode, name=name, dest_option=dest_option,
                        dest_value=dest_value, mode_option=mode_option, allow_world_writable=allow_world_writable)
             for name, text in files.items()]
    paths = [str(plan.path) for plan in plans]
    changed = [str(plan.path) for plan in plans if plan.write or plan.chmod]
    if check_mode or not changed:
        return dest, paths, changed
    created: list[pathlib.Path] = []
    staged: list[tuple[str, _Plan]] = []

    def undo() -> None:
        for temp, _plan in staged:
            try:
                os.unlink(temp)
            except OSError:
                pass
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                pass

    current: pathlib.Path | str = dest
    try:
        for folder in missing:
            current = folder
            folder.mkdir()  # 0777 minus the umask, like any directory the controller creates
            created.append(folder)
        for plan in plans:
            if not plan.write:
                continue
            current = plan.path
            temp = os.path.join(dest, f".{plan.path.name}.{secrets.token_hex(4)}.tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
            staged.append((temp, plan))
            with os.fdopen(fd, "wb") as stream:
                stream.write(plan.data)
                os.fchmod(stream.fileno(), plan.mode)
    except OSError as exc:
        undo()
        raise ReportDestinationError(f"{dest_option}={dest_value!r}: cannot write {current} ({_reason(exc)}); "
                                     "nothing was written") from None
    except BaseException:
        undo()
        raise
    try:
        for temp, plan in staged:
            current = plan.path
            os.replace(temp, plan.path)
        for plan in plans:
            if plan.chmod:
                current = plan.path
                os.chmod(plan.path, plan.mode)
    except OSError as exc:
        undo()
        raise ReportDestinationError(f"{dest_option}={dest_value!r}: cannot write {current} ({_reason(exc)})") from None
    return dest, paths, changed


def write_text_if_changed(path: str | os.PathLike[str], text: str, *, mode: int | None = None,
                          check_mode: bool = False) -> bool:
    """Write ``text`` as UTF-8 unless the file already holds exactly it; return whether it changed.

    The write is atomic (temporary file in the same folder, then rename), so a reader never sees half
    a report. Without ``mode`` a new file gets 0666 minus the umask and an existing file keeps its mode.
    In check mode nothing is written; the answer says whether a write would happen.
    """
    path = pathlib.Path(path)
    file_mode = None if mode is None else FileMode(f"0{mode:03o}", mode)
    _dest, _paths, changed = write_files(str(path.parent), {path.name: text}, mode=file_mode, allow_world_writable=True,
                                         check_mode=check_mode, dest_option="path")
    return bool(changed)
