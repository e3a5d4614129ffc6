"""Decode what Ansible's PowerShell exec path sends to a (simulated) Windows host.

Ansible never sends a module as-is: over WinRM it runs
``PowerShell ... -EncodedCommand <bootstrap_wrapper.ps1>`` and pipes a payload to it on stdin.
Two formats exist, both decoded into the same :class:`Execution`:

ansible-core 2.19 (``executor/powershell/module_manifest.py``, ``bootstrap_wrapper.ps1``)::

    <bootstrap JSON {name, script, params}> NUL_SEP <exec manifest JSON> [NUL_SEP <base64 lines>]

The exec manifest holds every script (base64) plus the actions to run. For a module the last
action is ``module_wrapper.ps1`` whose params carry ``Script`` (the module's script name) and
``Variables[complex_args]`` (the module args).

ansible-core 2.16-2.18 (``_create_powershell_wrapper``; the bootstrap splits ``$input`` on four NULs)::

    <exec_wrapper.ps1 text> NUL NUL NUL NUL <manifest JSON>

The manifest's ``actions`` are bare script names (``become_wrapper``, ``module_powershell_wrapper``),
each exec script is a base64 value under its own name, ``module_entry`` is the module's source,
``powershell_modules`` / ``csharp_utils`` map module-util names (no extension) to base64 and
``module_args`` carries ``_ansible_module_name``. These versions also send mkdtemp, expand_user,
put_file and fetch_file as plain encoded scripts; :func:`decode_execution` maps them to the 2.19
action names and parameters so the rest of the lab answers both the same way.
Nothing here executes PowerShell.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The line of four NULs that ends the bootstrap JSON (bootstrap_wrapper.ps1 splits on it).
NUL_SEPARATOR = b"\n\0\0\0\0\n"
# ansible-core 2.16-2.18: four NULs between exec_wrapper.ps1 and the manifest JSON.
LEGACY_NUL_SEPARATOR = b"\0\0\0\0"
# Legacy manifest keys that hold a base64 exec script (module_powershell_wrapper, async_watchdog ...).
_LEGACY_EXEC_SCRIPT = re.compile(r"^[a-z_]+_(?:wrapper|watchdog)$")
# become_flags of the runas plugin as 2.19 turns them into become_wrapper.ps1 params (plugins/become/runas.py).
_LOGON_TYPES = {"interactive": "Interactive", "network": "Network", "batch": "Batch", "service": "Service",
                "unlock": "Unlock", "network_cleartext": "NetworkCleartext", "new_credentials": "NewCredentials"}
_LOGON_FLAGS = {"none": "None", "with_profile": "WithProfile", "netcredentials_only": "NetCredentialsOnly"}

_ENCODED_COMMAND = re.compile(r"(?i)-(?:EncodedCommand|enc|e|ec)\s+([A-Za-z0-9+/=]+)")
_POWERSHELL_COMMAND = re.compile(r"(?i)\s*powershell(?:\.exe)?\s.*-(?:EncodedCommand|enc|e|ec)\s+[A-Za-z0-9+/=]+\s*$", re.S)
_MODULE_EXTENSIONS = (".ps1", ".cs", ".psm1")


@dataclass
class Execution:
    """One command as the simulated host understood it."""

    kind: str  # "module" | "raw" | "put_file" | "other"
    module_fqcn: str | None
    module_args: dict
    scripts: dict[str, str]
    become: dict | None
    command_line: str
    stdin: bytes
    # Additions beyond the agreed interface (all defaulted):
    actions: list[str] = field(default_factory=list)  # manifest action names, in order
    action_params: dict = field(default_factory=dict)  # params of the last action (module_wrapper, mkdtemp ...)
    module_script: str | None = None  # Script name as sent, e.g. "ansible_collections.ns.coll.plugins.modules.x.ps1"
    file_data: bytes | None = None  # put_file: the decoded file content
    piped_from: str | None = None  # "type <path> | PowerShell ..." (KEEP_REMOTE_FILES): the remote path


def decode_execution(
    command: str, arguments: str, stdin: bytes, *, files: Mapping[str, bytes] | None = None
) -> Execution:
    """Classify and decode one WinRS command (``rsp:Command`` + ``rsp:Arguments`` + the stdin sent).

    ``files`` is the simulated host's file store (lower-cased Windows path -> bytes); it is only
    used for ``type <file> | PowerShell ...``, which Ansible sends when ANSIBLE_KEEP_REMOTE_FILES=1.
    """
    full = f"{command} {arguments}".strip()
    piped_from = None
    command_line = decode_command_line(full)
    if files is not None:
        # 2.19 sends ``type <path> | PowerShell ...`` as the command; 2.16-2.18 encode that line.
        match = re.match(r"(?is)\s*type\s+(.+?)\s+\|\s+powershell", full if command.lower() == "type" else command_line)
        if match:
            piped_from = _unquote(match.group(1).strip())
            stdin = files.get(piped_from.lower(), b"")
            command_line = decode_command_line(full.split(" | ", 1)[1]) if command.lower() == "type" else command_line
    payload = parse_bootstrap_payload(stdin)
    if payload is not None:
        bootstrap, manifest, trailer = payload
        execution = _from_manifest(bootstrap, manifest, trailer)
    else:
        legacy = parse_legacy_payload(stdin)
        if legacy is not None:
            execution = _from_legacy_manifest(*legacy)
        else:
            execution = _from_legacy_script(command_line, stdin) or Execution(
                kind="raw", module_fqcn=None, module_args={}, scripts={}, become=None,
                command_line=command_line, stdin=stdin)
    execution.command_line = command_line
    execution.stdin = stdin
    execution.piped_from = piped_from
    return execution


def decode_command_line(full: str) -> str:
    """Return the script behind ``-EncodedCommand`` (base64 of UTF-16-LE), else the command as given.

    ansible-core 2.16-2.18 encode raw commands twice (the shell plugin builds ``PowerShell ...
    -EncodedCommand <script>`` and the winrm plugin encodes that line again): a decoded line that
    is itself such a ``PowerShell`` command is decoded once more.
    """
    for _ in range(3):
        match = _ENCODED_COMMAND.search(full)
        if not match:
            return full
        try:
            script = base64.b64decode(match.group(1)).decode("utf-16-le")
        except (binascii.Error, UnicodeDecodeError):
            return full
        if not _POWERSHELL_COMMAND.match(script):
            return script
        full = script
    return full


def parse_bootstrap_payload(stdin: bytes) -> tuple[dict, dict, bytes] | None:
    """Split stdin into (bootstrap JSON, exec manifest JSON, trailing data); None if it is no payload."""
    head, sep, rest = stdin.partition(NUL_SEPARATOR)
    if not sep or not head.lstrip().startswith(b"{"):
        return None
    manifest_raw, _, trailer = rest.partition(NUL_SEPARATOR)
    try:
        bootstrap = json.loads(head)
        manifest = json.loads(manifest_raw)
    except ValueError:
        return None
    if not isinstance(manifest, dict) or "actions" not in manifest:
        return None
    return bootstrap, manifest, trailer


def parse_legacy_payload(stdin: bytes) -> tuple[str, dict] | None:
    """ansible-core 2.16-2.18: split stdin into (exec_wrapper.ps1 text, manifest); None if it is none."""
    head, sep, rest = stdin.partition(LEGACY_NUL_SEPARATOR)
    if not sep or head.lstrip().startswith(b"{"):
        return None
    try:
        manifest = json.loads(rest)
    except ValueError:
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("actions"), list) or "module_entry" not in manifest:
        return None
    return head.decode("utf-8", errors="replace"), manifest


def module_script_from_fqcn(fqcn: str) -> str:
    """The 2.19 ``Script`` name of a module: the inverse of :func:`module_fqcn_from_script`."""
    parts = fqcn.split(".")
    if parts[:2] == ["ansible", "builtin"] and len(parts) > 2:
        return ".".join(["ansible", "modules"] + parts[2:]) + ".ps1"
    if len(parts) >= 3 and parts[0] != "ansible":
        return ".".join(["ansible_collections"] + parts[:2] + ["plugins", "modules"] + parts[2:]) + ".ps1"
    return fqcn + ".ps1"


def module_fqcn_from_script(script: str) -> str:
    """Map the module_wrapper ``Script`` name to a FQCN.

    ``ansible_collections.ns.coll.plugins.modules[.sub].name.ps1`` -> ``ns.coll[.sub].name``;
    ``ansible.modules.name.ps1`` -> ``ansible.builtin.name``; anything else (``ansible.legacy.x``
    for modules in roles/library dirs) is returned without its extension.
    """
    name = script
    for ext in _MODULE_EXTENSIONS:
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    parts = name.split(".")
    if len(parts) >= 6 and parts[0] == "ansible_collections" and parts[3:5] == ["plugins", "modules"]:
        return ".".join(parts[1:3] + parts[5:])
    if parts[:2] == ["ansible", "modules"]:
        return ".".join(["ansible", "builtin"] + parts[2:])
    return name


def _from_manifest(bootstrap: dict, manifest: dict, trailer: bytes) -> Execution:
    actions = [a for a in manifest.get("actions", []) if isinstance(a, dict)]
    names = [str(a.get("name", "")) for a in actions]
    last = actions[-1] if actions else {}
    params = dict(last.get("params") or {})
    scripts = _decode_scripts(manifest.get("scripts") or {})
    if bootstrap.get("name") and isinstance(bootstrap.get("script"), str):
        scripts.setdefault(f"{bootstrap['name']}.ps1", bootstrap["script"])
    execution = Execution(kind="other", module_fqcn=None, module_args={}, scripts=scripts,
                          become=_become(actions), command_line="", stdin=b"",
                          actions=names, action_params=params)
    if names and names[-1] == "module_wrapper.ps1":
        execution.module_script = str(params.get("Script") or "") or None
        if params.get("ForModule") and execution.module_script:
            execution.kind = "module"
            execution.module_fqcn = module_fqcn_from_script(execution.module_script)
            execution.module_args = _complex_args(params)
    elif names and names[-1] == "winrm_put_file.ps1":
        execution.kind = "put_file"
        execution.file_data = _decode_b64_lines(trailer)
    return execution


def _from_legacy_manifest(exec_wrapper: str, manifest: dict) -> Execution:
    """An ansible-core 2.16-2.18 manifest as the same :class:`Execution` a 2.19 one gives."""
    names = [f"{a}.ps1" for a in manifest["actions"] if isinstance(a, str)]
    scripts = {f"{name}.ps1": _b64_text(value) for name, value in manifest.items()
               if _LEGACY_EXEC_SCRIPT.match(name) and isinstance(value, str)}
    scripts.setdefault("exec_wrapper.ps1", exec_wrapper)
    for key, ext in (("powershell_modules", ".psm1"), ("csharp_utils", ".cs")):
        for name, value in (manifest.get(key) or {}).items():
            scripts[f"{name}{ext}"] = _b64_text(value) if isinstance(value, str) else ""
    module_args = manifest.get("module_args") if isinstance(manifest.get("module_args"), dict) else {}
    module_name = str(module_args.get("_ansible_module_name") or "")
    fqcn = module_name if module_name.count(".") >= 2 else f"ansible.legacy.{module_name or 'unknown'}"
    module_script = module_script_from_fqcn(fqcn)
    scripts[module_script] = _b64_text(str(manifest.get("module_entry") or ""))
    become = None
    if "become_wrapper.ps1" in names:
        become = {"BecomeUser": manifest.get("become_user"), **_legacy_become_flags(manifest.get("become_flags"))}
        if manifest.get("become_password"):
            become["BecomePassword"] = manifest["become_password"]
    execution = Execution(kind="other", module_fqcn=None, module_args={}, scripts=scripts, become=become,
                          command_line="", stdin=b"", actions=names, module_script=module_script)
    if names and names[-1] == "module_powershell_wrapper.ps1":
        execution.kind = "module"
        execution.module_fqcn = fqcn
        execution.module_args = module_args
        execution.action_params = {"Script": module_script, "ForModule": True}
    return execution


def _legacy_become_flags(flags: Any) -> dict[str, Any]:
    """``logon_type=batch logon_flags=with_profile`` -> 2.19's ``LogonType`` / ``LogonFlags`` params."""
    params: dict[str, Any] = {}
    for flag in str(flags or "").split():
        key, _, value = flag.partition("=")
        if key.lower() == "logon_type" and value.lower() in _LOGON_TYPES:
            params["LogonType"] = _LOGON_TYPES[value.lower()]
        elif key.lower() == "logon_flags":
            params["LogonFlags"] = [_LOGON_FLAGS.get(v.lower(), v) for v in value.split(",") if v]
    return params


# ansible-core 2.16-2.18 plugins/shell/powershell.py and plugins/connection/winrm.py send these as
# plain scripts; quoted values are PowerShell single-quoted strings ('' is one quote).
_QUOTED = r"'((?:[^']|'')*)'"
_LEGACY_MKDTEMP = re.compile(r"ExpandEnvironmentVariables\(" + _QUOTED + r"\)\s*\n\s*\$tmp = New-Item -Type Directory "
                             r"-Path \$tmp_path -Name " + _QUOTED)
# expand_user of "~" / "~\\x" (Ansible expands only paths that start with "~").
_LEGACY_EXPAND_USER = re.compile(r"^\s*Write-Output (?:(\(Get-Location\)\.Path)|\(\(Get-Location\)\.Path \+ "
                                 + _QUOTED + r"\))\s*$", re.M)
_LEGACY_PUT_FILE = re.compile(r"\$path = " + _QUOTED + r"[\s\S]*\[System\.IO\.File\]::Create\(\$path\)")
_LEGACY_FETCH_FILE = re.compile(r"\$path = " + _QUOTED + r"\s*\n\s*If \(Test-Path -LiteralPath \$path -PathType Leaf\)"
                                r"\s*\n\s*\{\s*\n\s*\$buffer_size = (\d+)\s*\n\s*\$offset = (\d+)")


def _from_legacy_script(script: str, stdin: bytes) -> Execution | None:
    """A 2.16-2.18 mkdtemp / expand_user / put_file / fetch_file script as its 2.19 action; else None."""
    def other(action: str, params: dict, kind: str = "other") -> Execution:
        return Execution(kind=kind, module_fqcn=None, module_args={}, scripts={}, become=None,
                         command_line=script, stdin=stdin, actions=[action], action_params=params)

    if match := _LEGACY_MKDTEMP.search(script):
        return other("powershell_mkdtemp.ps1", {"Directory": _unescape(match.group(1)), "Name": _unescape(match.group(2))})
    if match := _LEGACY_PUT_FILE.search(script):
        execution = other("winrm_put_file.ps1", {"Path": _unescape(match.group(1))}, kind="put_file")
        execution.file_data = _decode_b64_lines(stdin)
        return execution
    if match := _LEGACY_FETCH_FILE.search(script):
        return other("winrm_fetch_file.ps1", {"Path": _unescape(match.group(1)), "BufferSize": int(match.group(2)),
                                              "Offset": int(match.group(3))})
    if match := _LEGACY_EXPAND_USER.search(script):
        path = "~" if match.group(1) else "~" + _unescape(match.group(2))
        return other("powershell_expand_user.ps1", {"Path": path})
    return None


def _unescape(value: str) -> str:
    return value.replace("''", "'")


def _b64_text(raw: str) -> str:
    try:
        return base64.b64decode(raw).decode("utf-8", errors="replace")
    except binascii.Error:
        return ""


def _decode_scripts(scripts: dict[str, Any]) -> dict[str, str]:
    decoded: dict[str, str] = {}
    for name, info in scripts.items():
        raw = info.get("script", "") if isinstance(info, dict) else ""
        try:
            decoded[name] = base64.b64decode(raw).decode("utf-8", errors="replace")
        except binascii.Error:
            decoded[name] = ""
    return decoded


def _complex_args(module_params: dict) -> dict:
    for variable in module_params.get("Variables") or []:
        if isinstance(variable, dict) and variable.get("Name") == "complex_args":
            value = variable.get("Value")
            return value if isinstance(value, dict) else {}
    return {}


def _become(actions: list[dict]) -> dict | None:
    """Become action params merged with its secure params (BecomePassword is plaintext in the manifest)."""
    for action in actions:
        if action.get("name") == "become_wrapper.ps1":
            return {**(action.get("params") or {}), **(action.get("secure_params") or {})}
    return None


def _decode_b64_lines(data: bytes) -> bytes | None:
    try:
        return b"".join(base64.b64decode(line) for line in data.split())
    except (binascii.Error, ValueError):
        return None


def _unquote(path: str) -> str:
    if len(path) >= 2 and path[0] == path[-1] and path[0] in "'\"":
        return path[1:-1]
    return path
