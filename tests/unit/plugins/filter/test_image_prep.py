# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image-prep filters are thin: they check their input and delegate to plugin_utils."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mecm.fieldkit.plugins.filter.image_prep import FilterModule


FILTERS = FilterModule().filters()


def test_all_filters_are_exported() -> None:
    assert set(FILTERS) == {"image_prep_host_record", "image_prep_records", "image_prep_plan",
                            "image_prep_registered_records", "image_prep_junit", "image_prep_summary",
                            "image_prep_report_files", "sccm_identity_audit", "sccm_identity_audit_markdown"}


DEFAULTS = {"client_image_prep_mode": "prepare", "client_image_prep_scenario": "recapture",
            "client_image_prep_ccmsetup_source": "", "client_image_prep_platform_handles": "none"}


def test_plan_puts_each_host_in_at_most_one_group_from_its_own_values_over_the_defaults() -> None:
    new = {"client_image_prep_scenario": "new", "client_image_prep_ccmsetup_source": "C:\\Install\\Client"}
    hostvars = {
        "plain": {},
        "install": new,
        "install-auto": dict(new, client_image_prep_platform_handles="auto"),
        "new-no-source": {"client_image_prep_scenario": "new"},
        "verify-new": dict(new, client_image_prep_mode="verify"),
        "auto": {"client_image_prep_platform_handles": "auto"},
    }
    plan = FILTERS["image_prep_plan"](hostvars, list(hostvars) + ["not-in-hostvars"], DEFAULTS)
    assert plan["install"] == ["install", "install-auto"]  # the install play reads the platform itself
    assert plan["platform"] == ["auto"]
    assert plan["scenarios"] == {"plain": "recapture", "install": "new", "install-auto": "new", "new-no-source": "new",
                                 "verify-new": "new", "auto": "recapture", "not-in-hostvars": "recapture"}


def test_registered_records_are_the_records_of_the_registered_results() -> None:
    generalize = {"changed": True, "msg": "done", "steps": [], "scenario": "new"}
    install = {"changed": True, "msg": "installed", "module_executions": 3}
    failure = {"failed": True, "msg": "ccmsetup ended with return code 6"}
    hostvars = {
        "done": {"client_image_prep_install": install, "client_image_prep_generalize": generalize},
        "failed": {"client_image_prep_install": dict(install, failed=True, msg=failure["msg"]),
                   "client_image_prep_failure": failure},
        "skipped": {"client_image_prep_generalize": {"skipped": True, "changed": False}},
        "nothing": {},
    }
    scenarios = {"done": "new", "failed": "new", "skipped": "recapture", "nothing": "recapture"}
    records = FILTERS["image_prep_registered_records"](hostvars, list(hostvars), scenarios)
    assert records["done"] == FILTERS["image_prep_host_record"]("done", generalize, install, None, "new")
    assert records["done"]["status"] == "changed" and records["done"]["module_executions"] == 4
    assert records["failed"]["status"] == "failed" and records["failed"]["msg"] == failure["msg"]
    assert records["failed"]["scenario"] == "new"
    assert records["skipped"]["status"] == "no result" and records["skipped"]["scenario"] == "recapture"
    # Nothing registered: the record image_prep_records gives a host without result.
    assert records["nothing"] == FILTERS["image_prep_records"]({}, ["nothing"])["nothing"]


def test_records_to_report_files() -> None:
    hostvars = {"a": {"client_image_prep_result": FILTERS["image_prep_host_record"]("a", {"changed": False,
                                                                                        "msg": "ok", "steps": []})}}
    records = FILTERS["image_prep_records"](hostvars, ["a", "b"])
    files = FILTERS["image_prep_report_files"](records)
    assert sorted(files) == ["a.json", "b.json", "client_image_prep-junit.xml", "client_image_prep.html", "summary.json"]
    assert files["summary.json"]["failed"] == 1
    assert files["client_image_prep.html"].startswith("<!DOCTYPE html>") and '<html lang="en">' in files["client_image_prep.html"]
    ja = FILTERS["image_prep_report_files"](records, "ja")["client_image_prep.html"]
    assert '<html lang="ja">' in ja and "イメージ準備" in ja


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"language": "de"}, "language='de' is not a report language; use one of en, ja"),
    ({"template_dir": "/nonexistent/templates"}, "template_dir='/nonexistent/templates' must be a directory"),
    ({"template_dir": 3}, "template_dir=3 must be the path of a directory"),
    ({"identity_audit": {"hosts": 1}}, "identity_audit={'hosts': 1} must be the dict returned by"),
])
def test_report_files_options_are_validated(kwargs, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match="image_prep_report_files: ") as err:
        FILTERS["image_prep_report_files"]({}, **kwargs)
    assert message in str(err.value)


def test_identity_audit_reads_ansible_facts() -> None:
    facts = {"installed": True, "identity": {"smscfg_unique_id": "GUID:1", "smscfg_present": True},
             "service": {"state": "running"}, "sms_certificates": {"certificates": []}}
    hostvars = {"a": {"ansible_facts": {"sccm_client": facts}}, "b": {"ansible_facts": {"sccm_client": facts}}}
    audit = FILTERS["sccm_identity_audit"](hostvars, ["a", "b"])
    assert audit["duplicates"]["sms_unique_id"] == [{"value": "GUID:1", "hosts": ["a", "b"], "sources": {
        "a": ["SMSCFG.ini"], "b": ["SMSCFG.ini"]}}]
    assert "GUID:1" in FILTERS["sccm_identity_audit_markdown"](audit)


@pytest.mark.parametrize(("name", "args"), [
    ("image_prep_records", ({}, "a")), ("image_prep_plan", ({}, "a", DEFAULTS)), ("image_prep_plan", ({}, [], {})),
    ("image_prep_registered_records", ({}, "a")), ("image_prep_registered_records", ({}, [], "new")),
    ("image_prep_junit", ([],)), ("image_prep_summary", ("x",)),
    ("image_prep_report_files", (None,)), ("sccm_identity_audit", ({}, None)), ("sccm_identity_audit_markdown", ({},)),
])
def test_wrong_input_is_a_filter_error(name: str, args: tuple) -> None:
    with pytest.raises(AnsibleFilterError, match=name):
        FILTERS[name](*args)


def test_unreachable_install_through_the_filters() -> None:
    install = {"unreachable": True, "changed": True, "msg": "a became unreachable while ccmsetup ... was waited for",
               "mp_block_rule": {"left_in_place": True}}
    record = FILTERS["image_prep_host_record"]("a", {"skipped": True}, install, None, "new")
    assert record["status"] == "unreachable" and record["unreachable_during"] == "install_client"
    summary = FILTERS["image_prep_summary"]({"a": record})
    assert summary["reasons"]["a"] == {"status": "unreachable", "msg": install["msg"]}
    assert 'type="unreachable"' in FILTERS["image_prep_junit"]({"a": record})
