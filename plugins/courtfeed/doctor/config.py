"""`courtfeed check` as one function (the command and the doctor share it), and the doctor's
per-profile template check."""

from __future__ import annotations

from pathlib import Path

from courtfeed.config.profile import Profile
from courtfeed.doctor.report import Recorder


def check_problems(include: Path, known_connections: set[str] | None = None) -> list[str]:
    """Every problem `courtfeed check` reports: schema, cross references, expectations, exclude rules."""
    from courtfeed.config.files import ConfigError, check_all, load_template_file
    from courtfeed.readers.exclusions import check_rule
    from courtfeed.validation import check_expectations

    problems = check_all(include, known_connections)
    for path in sorted((include / "templates").glob("*.y*ml")):
        try:
            tpl = load_template_file(path)
        except ConfigError:
            continue  # already reported by check_all
        problems.extend(f"{path}: {p}" for p in check_expectations(tpl, include))
        for i, rule in enumerate(tpl.exclude):
            problem = check_rule(rule)
            if problem:
                problems.append(f"{path}: exclude.{i}: {problem}")
    return problems


def check_template(profile: Profile, include: Path, problems: list[str], rec: Recorder) -> None:
    """The profile's template exists and neither it nor the profile has a `check` problem."""
    from courtfeed.config.files import ConfigError, resolve_template

    try:
        resolve_template(profile.template, include / "templates")
    except ConfigError as exc:
        rec.fail(
            "template",
            exc.problems[0],
            "write it (`courtfeed automap SAMPLE_FILE` proposes one) or fix the profile's template name",
        )
        return
    mine = [
        p for p in problems if f"/profiles/{profile.name}.y" in p or f"/templates/{profile.template}.y" in p
    ]
    if mine:
        rec.fail(
            "template",
            f"'{profile.template}': `courtfeed check` reports {len(mine)} problem(s), first: {mine[0]}",
            "run `courtfeed check` and fix each line it prints",
        )
        return
    rec.ok("template", f"'{profile.template}' exists and `courtfeed check` passes for it and the profile")
