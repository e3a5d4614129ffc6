# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An execution environment that installs the built collection tarball: ``ansible-builder create``
writes the build context, and the two stages that matter for the collection are replayed without a
container engine, with the scripts ansible-builder put in the context: the galaxy stage installs the
tarball from the context's requirements.yml, and the builder stage's introspection merges the
collection's Python and system requirements (meta/execution-environment.yml) with the user's."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest
import yaml
from packaging.requirements import Requirement

from tests.build.dist import REPO

BIN = pathlib.Path(sys.executable).parent


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory, built_tarball: pathlib.Path) -> dict[str, pathlib.Path]:
    work = tmp_path_factory.mktemp("ee")
    tarball = built_tarball
    definition = work / "execution-environment.yml"
    definition.write_text(textwrap.dedent(f"""\
        ---
        version: 3
        images:
          base_image:
            name: registry.example.test/ee-minimal-rhel9:latest
        dependencies:
          ansible_core:
            package_pip: ansible-core>=2.16
          ansible_runner:
            package_pip: ansible-runner
          galaxy:
            collections:
              - name: collections/{tarball.name}
                type: file
          python:
            - jmespath
          system:
            - git [platform:rpm]
        additional_build_files:
          - src: {tarball}
            dest: collections
        """), encoding="utf-8")
    ctx = work / "context"
    subprocess.run([str(BIN / "ansible-builder"), "create", "-f", str(definition), "-c", str(ctx),
                    "--output-filename", "Containerfile"], check=True, capture_output=True, text=True)
    return {"work": work, "ctx": ctx, "tarball": tarball}


def test_collection_declares_its_requirements() -> None:
    meta = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text(encoding="utf-8"))
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    lines = [line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines()]
    requirements = {r.name: r for r in (Requirement(line) for line in lines if line)}
    assert requirements["pywinrm"].extras == {"kerberos", "credssp"}
    assert requirements["pypsrp"].extras == {"kerberos", "credssp"}


def test_create_writes_the_build_context(context: dict[str, pathlib.Path]) -> None:
    ctx = context["ctx"]
    containerfile = (ctx / "Containerfile").read_text(encoding="utf-8")
    assert 'EE_BASE_IMAGE="registry.example.test/ee-minimal-rhel9:latest"' in containerfile
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    assert "introspect.py introspect --user-pip=requirements.txt --user-bindep=bindep.txt" in containerfile
    assert (ctx / "_build" / "collections" / context["tarball"].name).read_bytes() == context["tarball"].read_bytes()
    galaxy = yaml.safe_load((ctx / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert galaxy == {"collections": [{"name": f"collections/{context['tarball'].name}", "type": "file"}]}


def test_introspection_merges_the_collection_requirements(context: dict[str, pathlib.Path]) -> None:
    ctx, work = context["ctx"] / "_build", context["work"]
    collections = work / "usr-share-ansible-collections"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_HOME=str(work / "ansible-home"))
    # The galaxy stage, as the Containerfile runs it (in /build = the context's _build folder).
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "-r", "requirements.yml",
                    "--collections-path", str(collections)], cwd=ctx, env=env, check=True, capture_output=True)
    installed = collections / "ansible_collections" / "mecm" / "fieldkit"
    assert (installed / "meta" / "execution-environment.yml").is_file()
    # The builder stage's introspection, with the script ansible-builder wrote into the context.
    out = work / "merged"
    subprocess.run([sys.executable, str(ctx / "scripts" / "introspect.py"), "introspect", "--user-pip=requirements.txt",
                    "--user-bindep=bindep.txt", f"--write-bindep={out / 'bindep.txt'}",
                    f"--write-pip={out / 'requirements.txt'}", str(collections)], cwd=ctx, check=True,
                   capture_output=True)
    pip = (out / "requirements.txt").read_text(encoding="utf-8").splitlines()
    bindep = (out / "bindep.txt").read_text(encoding="utf-8").splitlines()
    assert "pywinrm[kerberos,credssp]>=0.4.3  # from collection mecm.fieldkit" in pip
    assert "pypsrp[kerberos,credssp]>=0.8.1  # from collection mecm.fieldkit" in pip
    assert "jmespath  # from collection user" in pip
    for package in ("krb5-libs [platform:rpm]", "krb5-workstation [platform:rpm]", "krb5-devel [compile platform:rpm]",
                    "libkrb5-3 [platform:dpkg]", "libkrb5-dev [compile platform:dpkg]"):
        assert f"{package}  # from collection mecm.fieldkit" in bindep
    assert "git [platform:rpm]  # from collection user" in bindep
