# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/client_identity_audit.yml end to end against the simulated lab: a master, a clone of it that
was only half prepared (SMSCFG.ini gone and CcmExec stopped, the SMS certificates still there), a
fully prepared machine and a host whose SMSCFG.ini carries Markdown and HTML."""
from __future__ import annotations

import json
import pathlib

import pytest

from tests.e2e.conftest import run_playbook

pytestmark = pytest.mark.e2e

GUID = "GUID:8F2E1B4C-3D5A-4E6F-9A7B-1C2D3E4F5A6B"
THUMBPRINTS = ["5A0C1F3E9B7D2A4C6E8F0A1B3C5D7E9F1A2B3C4D", "B7E4D2C1A0F9E8D7C6B5A4938271605F4E3D2C1B"]
HOSTILE_GUID = "GUID:<img src=x onerror=alert(1)>|injected|"
HOSTILE = {
    "base": "ref_assigned",
    "os": {"computer_name": "VDI-0666"},
    "files": {"C:\\Windows\\SMSCFG.ini": f"[Configuration - Client Properties]\r\nSMS Unique Identifier={HOSTILE_GUID}\r\n"},
    "wmi": {"root\\ccm": {"CCM_Client": [{"ClientId": HOSTILE_GUID, "PreviousClientId": None}]}},
    "cert_stores": {"LocalMachine\\SMS": [
        {"thumbprint": "0123456789ABCDEF0123456789ABCDEF01234567", "subject": "CN=SMS, CN=VDI-0666",
         "issuer": "CN=SMS, CN=VDI-0666", "not_after": "2046-11-02T00:14:03Z", "has_private_key": True,
         "enhanced_key_usages": ["1.3.6.1.4.1.311.101"], "template": None}]},
}


def test_half_prepared_clone_shares_the_masters_certificates(lab_factory, tmp_path: pathlib.Path) -> None:
    lab, inventory = lab_factory(hosts={"ref-master": "ref_assigned", "vdi-half": "clone_half_prepared",
                                        "ref-mcs": "mcs_partial", "vdi-hostile": HOSTILE})
    audit_dir = tmp_path / "audit"
    run = run_playbook(tmp_path, inventory, "mecm.fieldkit.client_identity_audit",
                       "-e", f"client_identity_audit_report_dir={audit_dir}",
                       "-e", "client_identity_audit_fail_on_duplicates=true", "-f", "4")
    # The half-prepared clone is found, and fail_on_duplicates fails the run.
    assert run.rc == 2, run.stdout + run.stderr
    audit = json.loads((audit_dir / "client_identity_audit.json").read_text(encoding="utf-8"))
    certs = audit["duplicates"]["sms_certificate_thumbprint"]
    assert [d["value"] for d in certs] == THUMBPRINTS
    assert all(d["hosts"] == ["ref-master", "vdi-half"] for d in certs)
    assert certs[0]["sources"] == {"ref-master": ["certificate store", "SMSCFG.ini"], "vdi-half": ["certificate store"]}
    # The clone's WMI still holds the master's identifier; with the certificates left it is not a leftover.
    assert audit["duplicates"]["sms_unique_id"] == [{"value": GUID, "hosts": ["ref-master", "vdi-half"],
                                                     "sources": {"ref-master": ["SMSCFG.ini", "WMI"],
                                                                 "vdi-half": ["WMI"]}}]
    assert audit["duplicate_count"] == 3 and audit["affected_hosts"] == ["ref-master", "vdi-half"]
    assert audit["per_host"]["vdi-half"]["status"] == "partly prepared"
    assert audit["partly_prepared"] == ["vdi-half"]
    # A machine prepared for capture (no SMSCFG.ini, no SMS certificate, CcmExec stopped) is not a duplicate:
    # the identifier left in its WMI is replaced when the client starts.
    assert audit["prepared_for_capture"] == ["ref-mcs"]
    assert audit["per_host"]["ref-mcs"]["stale_wmi_client_id"] == GUID
    failure = run.one("Fail when identities are duplicated", "ref-master")
    assert failure["status"] == "failed"
    assert "3 duplicated identities on ref-master, vdi-half" in failure["result"]["msg"]

    markdown = (audit_dir / "client_identity_audit.md").read_text(encoding="utf-8")
    assert f"| {GUID} | ref-master, vdi-half |" in markdown
    # Host data cannot inject HTML or break the table.
    assert "<img" not in markdown and "&lt;img src=x onerror=alert(1)&gt;\\|injected\\|" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| vdi-hostile |"))
    assert row.replace("\\|", "").count("|") == 6
