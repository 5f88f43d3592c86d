"""A small OpenLineage receiver: the HTTP endpoint the provider's ``http`` transport posts to.

Every event is checked against the OpenLineage JSON Schema (draft 2020-12) before it is kept:
the event itself against the core ``RunEvent`` definition, and every facet in it against the
schema its ``_schemaURL`` names. A facet whose schema is unknown here is an error too, so a new
facet cannot slip through unchecked. Invalid events are answered 400 and kept apart, with the
validator's messages, for the test to show.

Where the schemas come from: the provider's own facets (AirflowRunFacet ...) name the core
RunFacet or JobFacet as their schema and are checked against it; the JSON files the provider
ships for them are checked too, but apart (``provider_mismatches``): Airflow 3's task events
leave out ``taskInstance.pool``, which AirflowRunFacet.json requires. The core spec and the standard facets from ``openlineage_schema/`` beside this file,
written for these tests from the OpenLineage 2-0-2 spec (openlineage-python ships the classes
generated from it, not the JSON). jsonschema's "uri" and "date-time" checks need extra packages,
so both are checked here by hand.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tests.services._process import register_cleanup, unregister_cleanup

SCHEMA_DIR = Path(__file__).with_name("openlineage_schema")
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
FACET_GROUPS = ("facets", "inputFacets", "outputFacets")


def _format_checker():
    from jsonschema import FormatChecker

    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value) -> bool:
        if not isinstance(value, str):
            return True
        if "t" not in value.lower():
            raise ValueError(f"no time in {value!r}")
        datetime.fromisoformat(value)
        return True

    @checker.checks("uri", raises=ValueError)
    def _uri(value) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        if not parts.scheme or not (parts.netloc or parts.path):
            raise ValueError(f"not an absolute URI: {value!r}")
        return True

    return checker


def _provider_schemas() -> list[tuple[str, dict]]:
    """The facet schemas Airflow's OpenLineage provider ships beside its facet classes, by file URI.

    Its facets name the core RunFacet or JobFacet as their _schemaURL; these files say, under
    their top-level ``properties``, which facet key (``airflow``, ``airflowState`` ...) they
    describe, so those facets are checked by key as well."""
    import airflow.providers.openlineage.plugins.facets as facets_module

    folder = Path(facets_module.__file__).resolve().parents[1] / "facets"
    return [(p.as_uri(), json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


class EventValidator:
    def __init__(self):
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource

        resources = []
        for path in sorted(SCHEMA_DIR.glob("*.json")):
            schema = json.loads(path.read_text())
            resources.append((schema["$id"], Resource.from_contents(schema)))
        self.known = {uri for uri, _ in resources}
        self.by_key: dict[str, str] = {}  # facet key -> the provider schema that describes it
        for uri, schema in _provider_schemas():
            resources.append((uri, Resource.from_contents(schema)))
            for key, ref in schema.get("properties", {}).items():
                self.by_key[key] = uri + ref["$ref"]
        self.registry = Registry().with_resources(resources)
        self.checker = _format_checker()
        self._validator = Draft202012Validator

    def _check(self, schema_ref: str, instance) -> list[str]:
        validator = self._validator({"$ref": schema_ref}, registry=self.registry, format_checker=self.checker)
        return [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)
        ]

    def provider_mismatches(self, event: dict) -> list[str]:
        """Where the provider's own facets differ from the JSON files it ships (its business)."""
        problems = []
        for where, facet in _facets(event):
            key = where.rsplit(".", 1)[-1]
            if key in self.by_key:
                problems += [f"{where} {p}" for p in self._check(self.by_key[key], facet)]
        return problems

    def errors(self, event: dict) -> list[str]:
        """Why ``event`` is not a valid OpenLineage RunEvent (empty when it is)."""
        problems = self._check(f"{CORE}#/$defs/RunEvent", event)
        for where, facet in _facets(event):
            url = facet.get("_schemaURL", "") if isinstance(facet, dict) else ""
            base = url.split("#", 1)[0]
            if base not in self.known:
                problems.append(f"{where}: no schema known for {url or 'a facet without _schemaURL'}")
                continue
            problems += [f"{where} {p}" for p in self._check(url if "#" in url else base, facet)]
        return problems


def _facets(event: dict):
    """(where, facet) for every facet of the event: run, job and each dataset's."""
    for part in ("run", "job"):
        for name, facet in ((event.get(part) or {}).get("facets") or {}).items():
            yield f"{part}.facets.{name}", facet
    for side in ("inputs", "outputs"):
        for i, dataset in enumerate(event.get(side) or []):
            for group in FACET_GROUPS:
                for name, facet in (dataset.get(group) or {}).items():
                    yield f"{side}[{i}].{group}.{name}", facet


@dataclass
class OpenLineageReceiver:
    port: int
    events: list[dict] = field(default_factory=list)
    invalid: list[tuple[dict, list[str]]] = field(default_factory=list)
    provider_mismatches: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def transport(self) -> str:
        """The provider's ``[openlineage] transport`` setting (JSON) that posts here."""
        return json.dumps({"type": "http", "url": self.url, "endpoint": "api/v1/lineage"})

    def clear(self) -> None:
        self.events.clear()
        self.invalid.clear()
        self.provider_mismatches.clear()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            unregister_cleanup(self.stop)
            self._server = None


def start_openlineage_receiver() -> OpenLineageReceiver:
    validator = EventValidator()
    receiver = OpenLineageReceiver(port=0)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                event = json.loads(body)
                problems = validator.errors(event) if isinstance(event, dict) else ["not a JSON object"]
            except ValueError as exc:
                event, problems = {"body": body.decode(errors="replace")}, [f"not JSON: {exc}"]
            with lock:
                (receiver.invalid.append((event, problems)) if problems else receiver.events.append(event))
                if isinstance(event, dict) and not problems:
                    receiver.provider_mismatches += validator.provider_mismatches(event)
            self.send_response(400 if problems else 201)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"errors": problems}).encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    receiver._server = server
    threading.Thread(target=server.serve_forever, daemon=True, name="openlineage-receiver").start()
    register_cleanup(receiver.stop)
    return receiver
