"""Finding and loading profiles and templates, and turning validation errors into one line each."""

from __future__ import annotations

import os
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from courtfeed.config.profile import Profile
from courtfeed.config.template import Template

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigError(Exception):
    """A profile or template that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def include_dir() -> Path:
    """include/ of the project: COURTFEED_INCLUDE, else the folder beside dags/ and plugins/."""
    env = os.environ.get("COURTFEED_INCLUDE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "include"


def profiles_dir() -> Path:
    return include_dir() / "profiles"


def templates_dir() -> Path:
    return include_dir() / "templates"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        # libyaml when PyYAML has it: about 7x faster, and parse time reads every profile
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {str(exc).splitlines()[0]}"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping of keys at the top level"])
    return data


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a model accepts at ``loc`` (walking nested models), for did-you-mean hints."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        fld = getattr(current, "model_fields", {}).get(part)
        if fld is None:
            return []
        ann = fld.annotation
        current = next(
            (a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)),
            None,
        )
        if current is None:
            args = getattr(ann, "__args__", ())
            current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
    if current is None or not hasattr(current, "model_fields"):
        return []
    return [f.alias or n for n, f in current.model_fields.items()]


def format_errors(path: Path, exc: ValidationError, model: type[BaseModel]) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            hint = get_close_matches(str(loc[-1]), _known_keys(model, loc), n=1)
            msg = f"unknown key '{loc[-1]}'" + (f" (did you mean '{hint[0]}'?)" if hint else "")
            where = ".".join(str(p) for p in loc[:-1]) or "(top level)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{path}: {where}: {msg}")
    return lines


def load_template_file(path: Path) -> Template:
    data = _read_yaml(path)
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(path, exc, Template)) from None


def load_profile_file(path: Path) -> Profile:
    data = _read_yaml(path)
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(path, exc, Profile)) from None
    if profile.name != path.stem:
        raise ConfigError([f"{path}: name '{profile.name}' must match the file name '{path.stem}'"])
    return profile


def resolve_template(name_or_path: str, base: Path | None = None) -> Template:
    """A template by name (include/templates/<name>.yaml) or by path to a YAML file."""
    as_path = Path(name_or_path)
    if as_path.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if not as_path.is_file():
            raise ConfigError([f"template file not found: {name_or_path}"])
        return load_template_file(as_path)
    folder = base or templates_dir()
    for ext in (".yaml", ".yml"):
        candidate = folder / f"{name_or_path}{ext}"
        if candidate.is_file():
            return load_template_file(candidate)
    known = sorted(p.stem for p in folder.glob("*.y*ml"))
    hint = get_close_matches(name_or_path, known, n=1)
    raise ConfigError(
        [
            f"template '{name_or_path}' not found in {folder}"
            + (f" (did you mean '{hint[0]}'?)" if hint else "")
        ]
    )


def profile_files(folder: Path | None = None) -> list[Path]:
    folder = folder or profiles_dir()
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def load_profiles(folder: Path | None = None) -> tuple[list[Profile], list[str]]:
    """Every valid profile, plus one line per problem in the others (never raises)."""
    profiles, problems = [], []
    for path in profile_files(folder):
        try:
            profiles.append(load_profile_file(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
    return profiles, problems


def check_all(include: Path | None = None, known_connections: set[str] | None = None) -> list[str]:
    """Validate every profile and template and their cross references; one line per problem."""
    base = include or include_dir()
    problems: list[str] = []
    templates: dict[str, Template] = {}
    for path in sorted((base / "templates").glob("*.y*ml")):
        try:
            tpl = load_template_file(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
            templates[path.stem] = None  # type: ignore[assignment]  # exists, but broken
            continue
        if tpl.name != path.stem:
            problems.append(f"{path}: name '{tpl.name}' must match the file name '{path.stem}'")
        for suite in tpl.expectation_suites:
            if not (base / "expectations" / f"{suite}.json").is_file():
                problems.append(f"{path}: expectation suite '{suite}' not found in {base / 'expectations'}")
        templates[path.stem] = tpl
    profiles, profile_problems = load_profiles(base / "profiles")
    problems.extend(profile_problems)
    for profile in profiles:
        where = base / "profiles" / f"{profile.name}.yaml"
        if profile.template not in templates:
            hint = get_close_matches(profile.template, list(templates), n=1)
            problems.append(
                f"{where}: template: '{profile.template}' not found in {base / 'templates'}"
                + (f" (did you mean '{hint[0]}'?)" if hint else "")
            )
        if known_connections is not None and profile.source.connection not in known_connections:
            problems.append(
                f"{where}: source.connection: Airflow connection '{profile.source.connection}' is not defined"
            )
    return problems


def check_warnings(include: Path | None = None) -> list[str]:
    """What is allowed but weakens a promise courtfeed makes: one "warning: ..." line each.

    A profile that skips SFTP host key verification trusts whichever server answers.
    """
    base = include or include_dir()
    warnings = []
    for profile in load_profiles(base / "profiles")[0]:
        if profile.source.kind == "sftp" and profile.source.insecure_skip_host_key_check:
            where = base / "profiles" / f"{profile.name}.yaml"
            warnings.append(
                f"warning: {where}: source.insecure_skip_host_key_check: the SFTP server's host key is "
                f"not verified for connection '{profile.source.connection}': anyone on the network path "
                "can pose as the server; pin its key in the connection's extra 'host_key' instead"
            )
    return warnings
