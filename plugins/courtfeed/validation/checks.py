"""Checks that report problems as one line each, instead of failing in the middle of a run.

- check_expectations: for ``courtfeed check``. GX silently drops an expectation it cannot
  build, so every expectation of a template (and of its named suites) is built on its own to
  name the bad ones, and the whole suite is built to prove nothing else got dropped.
"""

from __future__ import annotations

from difflib import get_close_matches
from pathlib import Path
from typing import Any

from courtfeed.config.files import ConfigError
from courtfeed.config.template import Template
from courtfeed.validation.suite import gx_severity

REGEX_KWARGS = ("regex",)
REGEX_LIST_KWARGS = ("regex_list",)
SEVERITIES = ("error", "critical", "warning", "info")


def _describe_pydantic_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return type(exc).__name__
    # a kwarg that accepts several types fails once per type: the first message per kwarg is enough
    first: dict[str, str] = {}
    for error in errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        first.setdefault(where, f"{where}: {error.get('msg')}")
    return "; ".join(first.values())


def _regex_problem(pattern: Any) -> str | None:
    """Compile the pattern the way validation will run it (pandas strings, pyarrow's RE2)."""
    import pandas as pd

    if not isinstance(pattern, str):
        return "must be a text pattern"
    try:
        pd.Series(["probe"], dtype="str").str.contains(pattern, regex=True)
    except Exception as exc:  # pyarrow and re raise different types
        return f"is not a usable regular expression ({str(exc).splitlines()[0]})"
    return None


def expectation_problems(items: list[dict], label: str) -> list[str]:
    """One line per expectation dict GX would refuse or could not run, named ``label``."""
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from great_expectations.expectations.metadata_types import FailureSeverity
    from great_expectations.expectations.registry import list_registered_expectation_implementations

    problems = []
    for number, item in enumerate(items, start=1):
        kind = item.get("type") if isinstance(item, dict) else None
        where = f"expectation {number} of {label}" + (f" ({kind})" if kind else "")
        if not isinstance(kind, str):
            problems.append(f"{where}: needs a 'type'")
            continue
        kwargs = item.get("kwargs", {})
        if not isinstance(kwargs, dict):
            problems.append(f"{where}: 'kwargs' must be a mapping")
            continue
        severity = item.get("severity") or "error"
        if severity not in SEVERITIES:
            problems.append(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
            continue
        try:
            ExpectationConfiguration(
                type=kind, kwargs=kwargs, severity=FailureSeverity(gx_severity(severity))
            ).to_domain_obj()
        except ExpectationNotFoundError:
            hint = get_close_matches(kind, list_registered_expectation_implementations(), n=1)
            problems.append(
                f"{where}: Great Expectations has no expectation of this type"
                + (f" (did you mean {hint[0]}?)" if hint else "")
            )
            continue
        except Exception as exc:  # pydantic (v1 inside GX) rejects bad or unknown kwargs
            problems.append(f"{where}: bad kwargs: {_describe_pydantic_error(exc)}")
            continue
        for key in REGEX_KWARGS:
            if key in kwargs and (problem := _regex_problem(kwargs[key])):
                problems.append(f"{where}: {key} {problem}")
        for key in REGEX_LIST_KWARGS:
            for pattern in kwargs.get(key) or []:
                if problem := _regex_problem(pattern):
                    problems.append(f"{where}: {key} entry {pattern!r} {problem}")
    return problems


def check_expectations(template: Template, include_dir: Path | None = None) -> list[str]:
    """Problems with a template's expectations and named suites, one line each ([] when fine).

    Reports unknown expectation types, bad kwargs, unusable regular expressions, missing or
    malformed suite files under include/expectations/, and any expectation GX would drop.
    Imports Great Expectations (slow): meant for ``courtfeed check``, not for DAG parsing.
    """
    import great_expectations as gx

    from courtfeed.validation.suite import build_suite, load_named_suite

    prefix = f"template {template.name!r}"
    problems = []
    template_items = [e.model_dump() for e in template.expectations]
    problems += [f"{prefix}: {p}" for p in expectation_problems(template_items, "the template")]
    for name in template.expectation_suites:
        try:
            items = load_named_suite(name, include_dir)
        except ConfigError as exc:
            problems += [f"{prefix}: {p}" for p in exc.problems]
            continue
        problems += [f"{prefix}: {p}" for p in expectation_problems(items, f"expectation suite {name!r}")]
    if problems:
        return problems
    # Nothing wrong one by one: build the whole suite as validation will, and count.
    suite = build_suite(template, resolved={}, include_dir=include_dir)
    built = gx.ExpectationSuite(name=suite["name"], expectations=suite["expectations"])
    dropped = len(suite["expectations"]) - len(built.expectations)
    if dropped:
        problems.append(
            f"{prefix}: Great Expectations dropped {dropped} of {len(suite['expectations'])} expectations"
        )
    return problems
