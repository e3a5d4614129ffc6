# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DP action plugins: one runner call per facts task (``_execute_module`` replaced by the
simulator's runner, the ansible.windows win_updates seam), option validation with messages naming
option, value and what is allowed, docs that match the argument specs, and report writing."""
from __future__ import annotations

import importlib
import json
import typing as t
from unittest.mock import MagicMock

import pytest
import yaml
from ansible.errors import AnsibleActionFail

from tests.simhost.host import Faults
from tests.simhost.model import OpContext
from tests.simhost.paths import REPO_ROOT
from tests.simhost.runner import run_batch
from tests.unit.plugins.action.plugin_factory import make_action
from tests.unit.plugins.plugin_utils import dp_lab

DP = "dp01.contoso.local"
ACTIONS = ("win_sccm_dp_facts", "win_sccm_site_facts", "sccm_dp_diagnose", "sccm_dp_report")


def _plugin(name: str, args: dict[str, t.Any] | None = None, check_mode: bool = False):
    module = importlib.import_module(f"ansible_collections.mecm.fieldkit.plugins.action.{name}")
    return make_action(module.ActionModule, args, check_mode=check_mode)


def _replay(model, ctx: OpContext) -> MagicMock:
    def execute(module_name: str, module_args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        assert module_name in ("mecm.fieldkit.sccm_op_runner_dp", "mecm.fieldkit.sccm_op_runner_site")
        body, _rc = run_batch(model, module_args, ctx, Faults([]))
        return json.loads(json.dumps(body))

    return MagicMock(side_effect=execute)


@pytest.mark.parametrize("name", ACTIONS)
def test_documented_options_match_the_argument_spec(name: str) -> None:
    plugin = _plugin(name)
    stub = (REPO_ROOT / "plugins" / "modules" / f"{name}.py").read_text(encoding="utf-8")
    namespace: dict[str, t.Any] = {}
    exec(compile(stub, name, "exec"), namespace)  # pylint: disable=exec-used
    options = yaml.safe_load(namespace["DOCUMENTATION"])["options"]
    spec = plugin.argument_spec
    assert set(options) == set(spec)
    for option, doc in options.items():
        assert doc["type"] == spec[option]["type"], option
        assert doc.get("default") == spec[option].get("default"), option
        assert doc.get("choices") == spec[option].get("choices"), option
        assert doc.get("elements") == spec[option].get("elements"), option
    for part in ("EXAMPLES", "RETURN"):
        assert yaml.safe_load(namespace[part])


def test_dp_facts_is_one_runner_call() -> None:
    _site, hosts = dp_lab.lab({DP: "dp_healthy"})
    plugin = _plugin("win_sccm_dp_facts")
    plugin._execute_module = _replay(hosts[DP], dp_lab.SYSTEM)
    result = plugin.run(task_vars={})
    assert plugin._execute_module.call_count == 1
    facts = result["ansible_facts"]["sccm_dp"]
    assert result["changed"] is False and not result.get("warnings") and facts["errors"] == []
    assert facts["time"]["controller_offset_seconds"] is not None
    assert result["invocation"]["module_args"]["log_window_hours"] == 72


def test_dp_facts_warns_without_the_role() -> None:
    _site, hosts = dp_lab.lab({DP: "dp_healthy"})
    host = hosts[DP]
    del host.state["registry"]["HKLM\\SOFTWARE\\Microsoft\\SMS\\DP"]
    del host.state["shares"]["SMS_DP$"]
    plugin = _plugin("win_sccm_dp_facts")
    plugin._execute_module = _replay(host, dp_lab.SYSTEM)
    result = plugin.run(task_vars={})
    assert any("role is not installed" in w for w in result["warnings"])


@pytest.mark.parametrize(("args", "message"), [
    ({"log_window_hours": 0}, "option log_window_hours=0 is out of range; allowed: 1 to 8760"),
    ({"max_events": 5000}, "option max_events=5000 is out of range; allowed: 0 to 1000"),
])
def test_dp_facts_option_ranges(args: dict, message: str) -> None:
    with pytest.raises(AnsibleActionFail, match=message):
        _plugin("win_sccm_dp_facts", args).run(task_vars={})


def test_site_facts_as_system_and_as_winrm_user() -> None:
    site, _hosts = dp_lab.lab({DP: "dp_healthy"})
    plugin = _plugin("win_sccm_site_facts", {"distribution_points": [DP]})
    plugin._execute_module = _replay(site, dp_lab.SYSTEM)
    result = plugin.run(task_vars={})
    assert plugin._execute_module.call_count == 1
    assert result["ansible_facts"]["sccm_site"]["dps"][DP]["wmi"]["connected"] is True
    assert not result.get("warnings")
    plugin = _plugin("win_sccm_site_facts", {"distribution_points": [DP]})
    plugin._execute_module = _replay(site, dp_lab.WINRM_USER)
    result = plugin.run(task_vars={})
    assert any("not as SYSTEM" in w and "become_user: SYSTEM" in w for w in result["warnings"])


@pytest.mark.parametrize(("args", "message"), [
    ({"source_shares": ["C:\\Sources"]}, r"option source_shares: 'C:\\\\Sources' is not a UNC path"),
    ({"tcp_ports": [0]}, "option tcp_ports: 0 is not a TCP port; allowed: 1 to 65535"),
    ({"site_logs": ["..\\x.log"]}, r"option site_logs: '..\\\\x.log' is not a ConfigMgr log file name; allowed: "),
    ({"site_logs": ["SAM"]}, r"option site_logs: 'SAM' is not a ConfigMgr log file name"),
    ({"site_logs": [".."]}, r"option site_logs: '..' is not a ConfigMgr log file name"),
    ({"log_paths": ["SAM"]}, r"option log_paths: 'SAM' is not a ConfigMgr log file of the client log folder; "
                             r"allowed: %windir%\\CCM\\Logs\\<name>.log"),
    ({"log_paths": ["\\\\evil.example\\share"]}, r"option log_paths: '.*evil.example.*' is not a ConfigMgr log file"),
    ({"log_paths": ["C:\\Windows\\System32\\config\\SAM"]}, r"option log_paths: .* is not a ConfigMgr log file"),
    ({"log_paths": ["%windir%\\CCM\\Logs\\..\\..\\x.log"]}, r"option log_paths: .* is not a ConfigMgr log file"),
    ({"max_parallel": 0}, "option max_parallel=0 is out of range; allowed: 1 to 64"),
])
def test_site_facts_option_validation(args: dict, message: str) -> None:
    plugin = _plugin("win_sccm_site_facts", args)
    plugin._execute_module = MagicMock()
    with pytest.raises(AnsibleActionFail, match=message):
        plugin.run(task_vars={})
    # Refused before anything runs on the host.
    assert plugin._execute_module.call_count == 0


def test_site_facts_reads_only_log_files_of_the_two_log_folders() -> None:
    """log_paths become path references the host resolves and checks itself: no literal path is sent."""
    site, _hosts = dp_lab.lab({DP: "dp_healthy"})
    plugin = _plugin("win_sccm_site_facts", {"distribution_points": [DP],
                                             "log_paths": ["%SystemRoot%\\CCM\\Logs\\PatchDownloader.log"]})
    sent: list[dict] = []
    replay = _replay(site, dp_lab.SYSTEM)

    def execute(module_name, module_args, task_vars):
        sent.append(module_args)
        return replay(module_name, module_args, task_vars)

    plugin._execute_module = MagicMock(side_effect=execute)
    result = plugin.run(task_vars={})
    logs_op = next(op for op in sent[0]["ops"] if op["id"] == "logs")
    assert logs_op["args"]["Paths"] == []
    assert logs_op["args"]["PathRefs"][-1] == {"kind": "site_log", "name": "PatchDownloader.log", "folder": "client"}
    files = {f["path"] for f in result["ansible_facts"]["sccm_site"]["logs"]["files"]}
    assert "C:\\Windows\\CCM\\Logs\\PatchDownloader.log" in files


def test_one_bad_dp_name_does_not_blind_the_probe_of_the_others() -> None:
    """Issue 9 defect 1: an invalid name and a duplicate no longer reject the whole list."""
    site, _hosts = dp_lab.lab({DP: "dp_healthy"})
    plugin = _plugin("win_sccm_site_facts", {"distribution_points": [DP, "dp 02;calc", "DP01.contoso.local."]})
    plugin._execute_module = _replay(site, dp_lab.SYSTEM)
    result = plugin.run(task_vars={})
    assert plugin._execute_module.call_count == 1 and not result.get("failed")
    dps = result["ansible_facts"]["sccm_site"]["dps"]
    assert set(dps) == {DP, "dp 02;calc"}
    assert dps[DP]["wmi"]["connected"] is True and dps[DP]["dns"]["resolved"] is True
    bad = dps["dp 02;calc"]
    assert bad["error"]["hresult"] == "0x80070057" and set(bad["stages"].values()) == {"failed"}
    assert "'dp 02;calc' is not a host name; allowed: DNS names" in bad["error"]["message"]
    assert any("'dp 02;calc' is not a host name" in w for w in result["warnings"])
    assert any("lists 'dp01.contoso.local' more than once; probed once" in w for w in result["warnings"])


def test_diagnose_from_hostvars_and_from_facts() -> None:
    site, hosts = dp_lab.lab({DP: "dp_healthy"})
    site_facts = dp_lab.site_facts(site, [DP])
    dp_facts = dp_lab.dp_facts(hosts[DP])
    hostvars = {"cm01": {"ansible_facts": {"sccm_site": site_facts}}, DP: {"ansible_facts": {"sccm_dp": dp_facts}},
                "dp99": {}}
    plugin = _plugin("sccm_dp_diagnose", {"site_host": "cm01", "dp_hosts": [DP, "dp99"], "language": "ja"})
    result = plugin.run(task_vars={"hostvars": hostvars})
    diagnosis = result["diagnosis"]
    assert [d["overall"] for d in diagnosis["dps"]] == ["PASS", "UNKNOWN"] and diagnosis["language"] == "ja"
    assert "site_facts" not in result["invocation"]["module_args"] and not result.get("warnings")
    plugin = _plugin("sccm_dp_diagnose", {"site_facts": site_facts, "dp_facts": {DP: dp_facts}})
    assert plugin.run(task_vars={})["diagnosis"]["summary"]["pass"] == 1
    with pytest.raises(AnsibleActionFail, match="host 'nope' is not in the inventory"):
        _plugin("sccm_dp_diagnose", {"dp_hosts": ["nope"]}).run(task_vars={"hostvars": hostvars})


@pytest.mark.parametrize(("args", "message"), [
    ({"free_space_fail_percent": 20}, "option free_space_fail_percent=20.0 must not be above free_space_warn_percent=15.0"),
    ({"free_space_warn_percent": 150}, "option free_space_warn_percent=150.0 is out of range; allowed: 0 to 100"),
    ({"language": "fr"}, "value of language must be one of: en, ja, got: fr"),
])
def test_diagnose_option_validation(args: dict, message: str) -> None:
    with pytest.raises(AnsibleActionFail, match=message):
        _plugin("sccm_dp_diagnose", dict({"dp_facts": {}}, **args)).run(task_vars={})


def test_report_writes_every_format_once(tmp_path) -> None:
    site, hosts = dp_lab.lab({DP: "dp_healthy", "dp13.contoso.local": "dp_disk_full"})
    site_facts = dp_lab.site_facts(site, sorted(hosts))
    dp_facts = {n: dp_lab.dp_facts(h) for n, h in hosts.items()}
    from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_diagnose import diagnose  # pylint: disable=import-outside-toplevel

    diagnosis = diagnose(site_facts, dp_facts)
    args = {"dest": str(tmp_path / "out"), "diagnosis": diagnosis, "dp_facts": dp_facts, "site_facts": site_facts}
    checked = _plugin("sccm_dp_report", args, check_mode=True).run(task_vars={})
    assert checked["changed"] is True and not (tmp_path / "out").exists()
    # Issue 9 defect 4: a check-mode run says plainly that the paths it returns were not written.
    assert checked["written"] is False
    assert checked["msg"] == f"check mode: no report written; 7 file(s) would be written to {tmp_path / 'out'}"
    result = _plugin("sccm_dp_report", args).run(task_vars={})
    assert result["changed"] is True and result["written"] is True and "msg" not in result
    assert {k: v.rsplit("/", 1)[1] for k, v in result["files"].items()} == {
        "html": "dp_diagnosis.html", "markdown": "dp_diagnosis.md", "json": "dp_diagnosis.json",
        "junit": "dp_diagnosis.junit.xml"}
    assert set(result["inventory_files"]) == {"csv", "json", "html"}
    assert json.loads((tmp_path / "out" / "dp_diagnosis.json").read_text(encoding="utf-8"))["summary"]["fail"] == 1
    assert [r["dp"] for r in result["inventory_rows"]] == [DP, "dp13.contoso.local"]
    assert result["inventory_count"] == 2
    assert _plugin("sccm_dp_report", args).run(task_vars={})["changed"] is False
    with pytest.raises(AnsibleActionFail, match=r"option basename='\.\./x' is not a file name"):
        _plugin("sccm_dp_report", dict(args, basename="../x")).run(task_vars={})


@pytest.mark.parametrize("dest", ["", "  "])
def test_report_refuses_an_empty_dest(tmp_path, monkeypatch, dest: str) -> None:
    monkeypatch.chdir(tmp_path)
    args = {"dest": dest, "dp_facts": {}, "inventory_formats": ["csv"]}
    with pytest.raises(AnsibleActionFail, match=r"option dest=.* is empty: name the report directory"):
        _plugin("sccm_dp_report", args).run(task_vars={})
    assert list(tmp_path.iterdir()) == []


def test_report_names_a_file_where_the_folder_is_expected(tmp_path) -> None:
    (tmp_path / "f").write_text("x", encoding="utf-8")
    args = {"dest": str(tmp_path / "f" / "out"), "dp_facts": {}, "inventory_formats": ["csv"]}
    with pytest.raises(AnsibleActionFail, match=r"option dest='.*/f/out': .*/f is a file, not a directory"):
        _plugin("sccm_dp_report", args).run(task_vars={})


def test_report_template_dir_overrides_and_is_validated(tmp_path) -> None:
    site, hosts = dp_lab.lab({DP: "dp_healthy"})
    dp_facts = {n: dp_lab.dp_facts(h) for n, h in hosts.items()}
    site_facts = dp_lab.site_facts(site, sorted(hosts))
    from ansible_collections.mecm.fieldkit.plugins.plugin_utils._dp_diagnose import diagnose  # pylint: disable=import-outside-toplevel

    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "base.css").write_text("body{background:#abcdef}\n", encoding="utf-8")
    args = {"dest": str(tmp_path / "out"), "diagnosis": diagnose(site_facts, dp_facts), "dp_facts": dp_facts,
            "formats": ["html"], "inventory_formats": ["html"], "template_dir": str(templates)}
    result = _plugin("sccm_dp_report", args).run(task_vars={})
    for path in (result["files"]["html"], result["inventory_files"]["html"]):
        text = (tmp_path / "out" / path.rsplit("/", 1)[1]).read_text(encoding="utf-8")
        assert "body{background:#abcdef}" in text and "<table" in text  # the user's file, the collection's others
    for bad, reason in ((tmp_path / "missing", "does not exist"), (templates / "base.css", "is not a directory")):
        with pytest.raises(AnsibleActionFail, match=r"option template_dir='%s' %s" % (bad, reason)):
            _plugin("sccm_dp_report", dict(args, dest=str(tmp_path / "out2"), template_dir=str(bad))).run(task_vars={})
        assert not (tmp_path / "out2").exists()  # refused before anything is written
