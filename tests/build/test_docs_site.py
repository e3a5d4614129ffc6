# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection docs build as a docs site would build them, from the installed tarball: antsibull-docs
lints the plugin docs and the extra docs (docs/docsite/extra-docs.yml, links.yml, the guides), then
``antsibull-docs sphinx-init`` + ``antsibull-docs collection`` + ``sphinx-build`` make the HTML site.

These machines have no network, so Sphinx's intersphinx inventories of docs.ansible.com cannot be
loaded: references to pages outside this collection (ansible.builtin modules, the Ansible guides) stay
unresolved and are the only warnings allowed. Every other warning or error fails the test."""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import typing as t

import pytest

from tests.build.docsite import GUIDES, LABEL_PREFIX, convert

BIN = pathlib.Path(sys.executable).parent
EXTERNAL_REF = re.compile(r"WARNING: undefined label: '(?!ansible_collections\.mecm\.fieldkit\.)[^']+' \[ref\.ref\]$")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, built_tarball: pathlib.Path) -> dict[str, t.Any]:
    work = tmp_path_factory.mktemp("docs")
    collections = work / "collections"
    env = dict(os.environ, ANSIBLE_HOME=str(work / "ansible-home"), ANSIBLE_COLLECTIONS_PATH=str(collections),
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", str(built_tarball), "-p", str(collections)],
                   env=env, check=True, capture_output=True)
    return {"work": work, "env": env, "root": collections / "ansible_collections" / "mecm" / "fieldkit"}


def test_the_guides_are_in_the_tarball(installed: dict[str, t.Any]) -> None:
    for name in GUIDES:
        page = installed["root"] / "docs" / "docsite" / "rst" / f"{name}.rst"
        assert f".. _{LABEL_PREFIX}{name}:" in page.read_text(encoding="utf-8")
    assert not (installed["root"] / "docs" / "development.md").exists()


def test_converter_handles_the_markdown_the_guides_use() -> None:
    text = convert("# Title\n\nSome `code`s and **bold**, a [link](https://example.org/x) and [a file](../x.md).\n\n"
                   "- item\n  more\n  - nested\n  back\n\n| a | b |\n| --- | --- |\n| `x\\|y` | - |\n\n"
                   "```yaml\nkey: value\n```\n", "label")
    assert text == (".. _label:\n\nTitle\n=====\n\nSome ``code``\\ s and **bold**, a `link <https://example.org/x>`__ "
                    "and a file.\n\n- item\n  more\n\n  - nested\n\n  back\n\n.. list-table::\n   :header-rows: 1\n\n"
                    "   * - a\n     - b\n   * - ``x|y``\n     - \\-\n\n.. code-block:: yaml\n\n   key: value\n")


def test_antsibull_docs_lint(installed: dict[str, t.Any]) -> None:
    proc = subprocess.run([str(BIN / "antsibull-docs"), "lint-collection-docs", "--plugin-docs", str(installed["root"])],
                          env=installed["env"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_antsibull_docs_builds_the_site(installed: dict[str, t.Any]) -> None:
    site = installed["work"] / "site"
    site.mkdir(mode=0o700)
    env = installed["env"]
    subprocess.run([str(BIN / "antsibull-docs"), "sphinx-init", "--use-current", "--dest-dir", str(site),
                    "--sphinx-theme", "alabaster", "mecm.fieldkit"], env=env, check=True, capture_output=True)
    conf = site / "conf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + "\n# No network here: no intersphinx inventories.\n"
                    "intersphinx_mapping = {}\n", encoding="utf-8")
    rst = site / "rst"
    rst.mkdir(mode=0o755, exist_ok=True)
    rst.chmod(0o755)
    proc = subprocess.run([str(BIN / "antsibull-docs"), "--config-file", str(site / "antsibull-docs.cfg"), "collection",
                           "--cleanup", "everything", "--use-current", "--dest-dir", str(rst), "mecm.fieldkit"],
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    guides = rst / "collections" / "mecm" / "fieldkit" / "docsite"
    assert sorted(p.name for p in guides.glob("*.rst")) == sorted(f"{name}.rst" for name in GUIDES)
    warnings = site / "warnings.txt"
    proc = subprocess.run([str(BIN / "sphinx-build"), "-M", "html", str(rst), str(site / "build"), "-c", str(site),
                           "-q", "--keep-going", "-w", str(warnings)], env=env, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    unexpected = [line for line in warnings.read_text(encoding="utf-8").splitlines()
                  if line.strip() and not EXTERNAL_REF.search(line)]
    assert unexpected == []
    html = site / "build" / "html" / "collections" / "mecm" / "fieldkit"
    assert (html / "win_sccm_client_facts_module.html").is_file()
    assert (html / "docsite" / "guide_awx.html").is_file()
