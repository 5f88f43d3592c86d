"""Profiles and templates: the contracts' examples load, and every mistake is one clear line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from courtfeed.config.files import ConfigError, check_all, load_profile_file, resolve_template

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def include(tmp_path: Path) -> Path:
    dest = tmp_path / "include"
    shutil.copytree(REPO / "include" / "profiles", dest / "profiles")
    shutil.copytree(REPO / "include" / "templates", dest / "templates")
    return dest


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_shipped_profiles_and_templates_are_valid():
    assert check_all(REPO / "include") == []


def test_typo_key_is_named_with_a_suggestion(include: Path):
    _edit(include / "profiles" / "metro_hearings.yaml", lambda d: d["source"].update(keywrds=["x"]))
    problems = check_all(include)
    assert len(problems) == 1
    assert "metro_hearings.yaml: source: unknown key 'keywrds' (did you mean 'keywords'?)" in problems[0]


def test_missing_template_is_named(include: Path):
    _edit(include / "profiles" / "county_payments.yaml", lambda d: d.update(template="county_paymnts"))
    problems = check_all(include)
    assert problems == [
        f"{include / 'profiles' / 'county_payments.yaml'}: template: 'county_paymnts' not found in "
        f"{include / 'templates'} (did you mean 'county_payments'?)"
    ]


def test_unknown_target_field_and_bad_values(include: Path):
    def change(d):
        d["fields"]["client.frist_name"] = d["fields"].pop("client.first_name")
        d["method"] = "upsert"

    _edit(include / "templates" / "metro_hearings.yaml", change)
    problems = "\n".join(check_all(include))
    assert "'client.frist_name': unknown field of client (did you mean 'client.first_name'?)" in problems
    assert "method:" in problems


def test_profile_rules(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "p",
                "agency": "a",
                "template": "t",
                "timezone": "America/Chicgo",
                "after_load": "archive",
                "source": {"connection": "c", "directory": "/x", "bucket": "b"},
            }
        )
    )
    with pytest.raises(ConfigError) as err:
        load_profile_file(path)
    text = str(err.value)
    assert "unknown timezone 'America/Chicgo'" in text
    assert "either 'directory' (SFTP) or 'bucket'" in text


def test_connections_named_when_known(include: Path):
    problems = check_all(include, known_connections={"courtfeed_target"})
    assert problems and all("Airflow connection 'sftp_demo' is not defined" in p for p in problems)


def test_template_by_name_or_path():
    by_name = resolve_template("metro_hearings")
    by_path = resolve_template(str(REPO / "include" / "templates" / "metro_hearings.yaml"))
    assert by_name == by_path
    with pytest.raises(ConfigError, match="did you mean 'metro_hearings'"):
        resolve_template("metro_hearing")


def test_check_command_exit_codes(include: Path):
    cli = [sys.executable, "-m", "courtfeed.cli", "check", "--include", str(include)]
    ok = subprocess.run(cli, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    _edit(include / "profiles" / "jury_summons.yaml", lambda d: d.update(shedule="@daily"))
    bad = subprocess.run(cli, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "jury_summons.yaml: (top level): unknown key 'shedule' (did you mean 'schedule'?)" in bad.stdout


def test_check_warns_about_a_profile_that_skips_host_key_checks(include: Path):
    """The opt-out is allowed, never silent."""
    from courtfeed.config.files import check_warnings

    assert check_warnings(include) == []
    profile = include / "profiles" / "jury_summons.yaml"
    _edit(profile, lambda d: d["source"].update(insecure_skip_host_key_check=True))
    (warning,) = check_warnings(include)
    assert warning.startswith(f"warning: {profile}: source.insecure_skip_host_key_check: ")
    assert "host key" in warning
    cli = [sys.executable, "-m", "courtfeed.cli", "check", "--include", str(include)]
    shown = subprocess.run(cli, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stdout + shown.stderr  # a warning, not a problem
    assert warning in shown.stdout.splitlines()


@pytest.mark.parametrize(
    ("target", "type_", "accepted"),
    [
        ("event.date", "text", "'date'"),
        ("event.date", "datetime", "'date'"),  # its UTC date may not be the court's
        ("event.time", "text", "'time'"),
        ("event.starts_at", "date", "'datetime'"),
        ("client.dob", "phone", "'date'"),
        ("contact.opt_in", "text", "'boolean'"),
        ("payment.amount", "date", "'decimal', 'money' or 'integer'"),
        ("client.phone", "text", "'phone'"),
    ],
)
def test_a_field_type_that_cannot_fill_its_target_field_is_refused(include: Path, target, type_, accepted):
    template = include / "templates" / "metro_hearings.yaml"
    _edit(template, lambda d: d["fields"].update({target: {"column": "HEARING_DATE", "type": type_}}))
    problems = check_all(include)
    assert len(problems) == 1 and problems[0].startswith(f"{template}: fields: '{target}': type '{type_}'")
    assert f"use type {accepted}, or leave type out" in problems[0], problems[0]
    # refused where a task loads it too, not only by `courtfeed check`
    with pytest.raises(ConfigError, match=f"type '{type_}' does not fit {target}"):
        resolve_template(str(template))


@pytest.mark.parametrize(
    ("target", "type_"),
    [
        ("client.notes", "date"),
        ("case.status", "enum"),
        ("payment.amount", "integer"),
        ("payment.balance", "money"),
    ],
)
def test_a_field_type_its_target_can_hold_is_accepted(include: Path, target, type_):
    spec = {"column": "STATUS", "type": type_} | ({"allowed": ["x"]} if type_ == "enum" else {})
    _edit(include / "templates" / "metro_hearings.yaml", lambda d: d["fields"].update({target: spec}))
    assert check_all(include) == []


def test_check_command_names_the_field_whose_type_does_not_fit(include: Path):
    _edit(
        include / "templates" / "metro_hearings.yaml",
        lambda d: d["fields"].update({"event.date": {"column": "HEARING_DATE", "type": "text"}}),
    )
    cli = [sys.executable, "-m", "courtfeed.cli", "check", "--include", str(include)]
    bad = subprocess.run(cli, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "'event.date': type 'text' does not fit event.date, a date field" in bad.stdout
