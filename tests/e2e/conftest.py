"""End-to-end harness: simulated labs and real ansible-playbook runs through them."""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import typing as t

import pytest

from tests.simhost.lab import Lab
from tests.simhost.paths import REPO_ROOT, collections_path

CALLBACK_DIR = pathlib.Path(__file__).parent / "callback_plugins"
BIN_DIR = pathlib.Path(sys.executable).parent


@dataclasses.dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    records: list[dict[str, t.Any]]

    def results(self, task: str | None = None, host: str | None = None) -> list[dict[str, t.Any]]:
        return [r for r in self.records
                if (task is None or r["task"] == task) and (host is None or r["host"] == host)]

    def one(self, task: str, host: str) -> dict[str, t.Any]:
        found = self.results(task, host)
        assert len(found) == 1, f"expected one result for {task!r} on {host}, got {len(found)}:\n{self.stdout}"
        return found[0]

    def artifact(self, key: str) -> dict[str, t.Any]:
        """The one set_stats artifact ``key`` of the run, as its task result recorded it (what AWX shows)."""
        found = [r["result"]["ansible_stats"]["data"][key] for r in self.records
                 if r["action"] == "ansible.builtin.set_stats"]
        assert len(found) == 1, self.stdout
        return found[0]


def ansible_env(tmp_path: pathlib.Path, results_file: pathlib.Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collections_path(),
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
        "ANSIBLE_CALLBACKS_ENABLED": "record_results",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "PATH": f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}",
    })
    if results_file is not None:
        env["FIELDKIT_RESULTS_FILE"] = str(results_file)
    return env


def run_playbook(tmp_path: pathlib.Path, inventory: pathlib.Path, playbook: str | pathlib.Path,
                 *args: str, env_extra: dict[str, str] | None = None) -> PlaybookRun:
    """Run ansible-playbook (playbook text or path) and return its recorded results."""
    if isinstance(playbook, str) and "\n" in playbook:
        path = tmp_path / f"playbook-{len(list(tmp_path.glob('playbook-*.yml')))}.yml"
        path.write_text(playbook, encoding="utf-8")
        playbook = path
    results_file = tmp_path / f"results-{os.getpid()}-{len(list(tmp_path.glob('results-*.json')))}.json"
    env = ansible_env(tmp_path, results_file)
    env.update(env_extra or {})
    proc = subprocess.run(
        [str(BIN_DIR / "ansible-playbook"), "-i", str(inventory), str(playbook), *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    records = json.loads(results_file.read_text(encoding="utf-8")) if results_file.exists() else []
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, records)


@pytest.fixture
def lab_factory(tmp_path: pathlib.Path) -> t.Iterator[t.Callable[..., tuple[Lab, pathlib.Path]]]:
    """Start a lab (named, or ``hosts={name: fixture}``) and write its inventory (``connection``: winrm or psrp);
    stopped after the test."""
    started: list[Lab] = []

    def start(name: str | None = None, *, hosts: dict[str, str] | None = None,
              groups: dict[str, list[str]] | None = None, transport: str = "ntlm",
              connection: str = "winrm") -> tuple[Lab, pathlib.Path]:
        lab = Lab.named(name, transport=transport) if name else Lab.from_fixtures(hosts or {}, groups, transport=transport)
        lab.start()
        started.append(lab)
        inventory = lab.write_inventory(tmp_path / f"inventory-{len(started)}.yml", connection=connection)
        return lab, inventory

    yield start
    for lab in started:
        lab.stop()
