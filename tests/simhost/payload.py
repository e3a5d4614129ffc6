"""Decode what Ansible's PowerShell exec path sends to a (simulated) Windows host.

Ansible never sends a module as-is: over WinRM it runs
``PowerShell ... -EncodedCommand <bootstrap_wrapper.ps1>`` and pipes a payload to it on stdin:

    <bootstrap JSON {name, script, params}> NUL_SEP <exec manifest JSON> [NUL_SEP <base64 lines>]

The exec manifest holds every script (base64) plus the actions to run. For a module the last
action is ``module_wrapper.ps1`` whose params carry ``Script`` (the module's script name) and
``Variables[complex_args]`` (the module args). Nothing here executes PowerShell.
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

_ENCODED_COMMAND = re.compile(r"(?i)-(?:EncodedCommand|enc|e|ec)\s+([A-Za-z0-9+/=]+)")
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
    if command.lower() == "type" and files is not None:
        piped_from = _unquote(arguments.split(" | ", 1)[0].strip())
        stdin = files.get(piped_from.lower(), b"")
    command_line = decode_command_line(full)
    payload = parse_bootstrap_payload(stdin)
    if payload is None:
        return Execution(kind="raw", module_fqcn=None, module_args={}, scripts={}, become=None,
                         command_line=command_line, stdin=stdin, piped_from=piped_from)
    bootstrap, manifest, trailer = payload
    execution = _from_manifest(bootstrap, manifest, trailer)
    execution.command_line = command_line
    execution.stdin = stdin
    execution.piped_from = piped_from
    return execution


def decode_command_line(full: str) -> str:
    """Return the script behind ``-EncodedCommand`` (base64 of UTF-16-LE), else the command as given."""
    match = _ENCODED_COMMAND.search(full)
    if not match:
        return full
    try:
        return base64.b64decode(match.group(1)).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError):
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
