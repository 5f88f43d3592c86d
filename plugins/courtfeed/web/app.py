"""The dashboard: profiles and their last file, rows per day, one upload with its rejects, search.

Server-rendered HTML (Jinja2) with an inline SVG chart and a local stylesheet: no script, no CDN,
so it works in offline installations. It only reads the ledger, through the Airflow connection
courtfeed_dashboard (a read-only role: deploy/sql/dashboard-readonly.sql), or where there is none
the DAGs' own target (courtfeed.dagfactory.runtime.dashboard_url()). No page or API answer names
the database, its host or its user.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from courtfeed.config.files import load_profiles
from courtfeed.rejects import describe_more
from courtfeed.target.reject_store import upload_rejects
from courtfeed.target.schema import UPLOAD_STATUSES
from courtfeed.web import URL_PREFIX, queries
from courtfeed.web.access import EVERYTHING, Visibility, visibility_for
from courtfeed.web.chart import daily_chart_svg, recent_files_svg

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
CHART_DAYS = 30
RECENT_UPLOADS = 20
STATIC_FILES = {"dashboard.css": "text/css", "icon.svg": "image/svg+xml"}


class LedgerUnavailable(Exception):
    """The target database could not be read; the message names only the kind of failure."""


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


class Dashboard:
    """What the routes share: the target database (opened on first use) and the page templates."""

    def __init__(self, target_url: str | None):
        self._target_url = target_url
        self._engine: Engine | None = None
        self.templates = Jinja2Templates(directory=HERE / "templates")
        self.templates.env.filters["when"] = _when
        self.templates.env.filters["number"] = lambda n: f"{n or 0:,}"
        self.templates.env.filters["more_rejects"] = describe_more

    @property
    def target_url(self) -> str:
        if self._target_url is None:
            # Resolved on the first request, never at import: inside Airflow this reads a connection.
            from courtfeed.dagfactory.runtime import dashboard_url

            self._target_url = dashboard_url()
        return self._target_url

    @property
    def target_label(self) -> str:
        """The database URL without its password, for the server's log only (never a page)."""
        return make_url(self.target_url).render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from courtfeed.target.db import engine_for

            self._engine = engine_for(self.target_url)
        return self._engine

    @contextmanager
    def ledger(self) -> Iterator[Connection]:
        """A connection to the target. Its failures become LedgerUnavailable: the driver's own
        message can carry the URL or SQL, so it goes to the log by type only."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            log.warning("dashboard: cannot read the ledger at %s: %s", self.target_label, type(exc).__name__)
            raise LedgerUnavailable(f"the target database cannot be read ({type(exc).__name__})") from None

    def visibility(self, user) -> Visibility:
        """What ``user`` may see, asked of Airflow's auth manager for every profile configured
        or found in the ledger."""
        names = {p.name for p in load_profiles()[0]}
        with self.ledger() as conn:
            if queries.ledger_exists(conn):
                names |= set(queries.ledger_profiles(conn))
        return visibility_for(user, names)

    def summary(self, visible: Visibility = EVERYTHING) -> dict:
        """Everything the front page shows, as plain data (also served as /api/summary)."""
        profiles, problems = load_profiles()
        profiles = [p for p in profiles if visible.allows(p.name)]
        if not visible.everything:
            problems = []  # they name other profiles' files
        rows, daily, recent = [], queries.daily_rows_empty(CHART_DAYS), []
        with self.ledger() as conn:
            has_ledger = queries.ledger_exists(conn)
            latest = {}
            if has_ledger:
                latest = queries.latest_upload_per_profile(conn, [p.name for p in profiles])
                daily = queries.daily_rows(conn, CHART_DAYS, visible=visible)
                recent = queries.recent_uploads(conn, visible, limit=RECENT_UPLOADS)
        for profile in profiles:
            rows.append(
                {
                    "name": profile.name,
                    "description": profile.description,
                    "agency": profile.agency,
                    "template": profile.template,
                    "schedule": profile.schedule
                    if profile.pickup == "schedule"
                    else "watch",  # watch: event-driven
                    "enabled": profile.enabled,
                    "dag_id": profile.dag_id,
                    "last_upload": latest.get(profile.name),
                }
            )
        return {
            "has_ledger": has_ledger,
            "problems": problems,
            "profiles": rows,
            "daily": daily,
            "recent": recent,
        }

    def recent_for(self, profile: str, limit: int = 10, visible: Visibility = EVERYTHING) -> list[dict]:
        if not visible.allows(profile):
            # the same answer as for a profile that does not exist: its name is not confirmed
            raise HTTPException(status_code=404, detail="no such profile")
        with self.ledger() as conn:
            if not queries.ledger_exists(conn):
                return []
            return queries.recent_uploads(conn, visible, profile, limit=limit)

    def upload(self, upload_id: str, visible: Visibility = EVERYTHING) -> dict:
        with self.ledger() as conn:
            upload = queries.get_upload(conn, upload_id) if queries.ledger_exists(conn) else None
            if upload is None or not visible.allows(upload["profile"]):
                raise HTTPException(status_code=404, detail="no upload with that id in the ledger")
            rejects = upload_rejects(conn, upload_id)
        return {"upload": upload, "rejects": rejects}

    def search(self, text: str, status: str, profile: str, visible: Visibility = EVERYTHING) -> dict:
        if status and status not in UPLOAD_STATUSES:
            raise HTTPException(
                status_code=400, detail=f"unknown status; use one of {', '.join(UPLOAD_STATUSES)}"
            )
        configured = [p.name for p in load_profiles()[0] if visible.allows(p.name)]
        with self.ledger() as conn:
            if not queries.ledger_exists(conn):
                return {"uploads": [], "profiles": configured, "limit": queries.SEARCH_LIMIT}
            found = queries.search_uploads(conn, text, status or None, profile or None, visible=visible)
            in_ledger = {p for p in queries.ledger_profiles(conn) if visible.allows(p)}
            known = sorted(set(configured) | in_ledger)
        return {"uploads": found, "profiles": known, "limit": queries.SEARCH_LIMIT}


def _everything() -> Visibility:
    return EVERYTHING


def _links(request: Request) -> dict:
    """Where this app and the Airflow UI are, as seen by the browser.

    Inside Airflow the app is mounted under URL_PREFIX, and the Airflow UI is the part above it.
    """
    base = request.scope.get("root_path", "").rstrip("/")
    return {"base": base, "airflow": base.removesuffix(URL_PREFIX)}


def create_app(*, target_url: str | None = None, require_airflow_login: bool = False) -> FastAPI:
    """The dashboard app.

    target_url: the target database; by default the DAGs' own (the Airflow connection
    courtfeed_target, required as for the tasks), looked up on the first request.
    require_airflow_login: accept only requests carrying an Airflow UI session or API token;
    the plugin turns it on, since the Airflow api-server does not guard plugin apps itself.
    """
    dashboard = Dashboard(target_url)
    dependencies, visible_dependency = _login(dashboard, require_airflow_login)
    # No OpenAPI document: it is not behind the login (FastAPI serves it outside the routes'
    # dependencies), and the JSON routes are described in the README.
    app = FastAPI(
        title="courtfeed dashboard",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=dependencies,
    )
    app.state.dashboard = dashboard
    # the user's Visibility for a route (a default, not an Annotated alias: this module's
    # annotations are strings, resolved against its globals)
    visible_now = Depends(visible_dependency)
    _add_error_pages(app, dashboard)
    _add_pages(app, dashboard, visible_now)
    _add_api(app, dashboard, visible_now)

    @app.get("/{anything:path}", include_in_schema=False)
    def not_found(anything: str):
        # Last: an unknown path answers 404 only after the login check, so a client without a
        # login learns nothing (401 everywhere, /openapi.json and /docs included).
        raise HTTPException(status_code=404, detail="no such page")

    return app


def _login(dashboard: Dashboard, required: bool) -> tuple[list, Callable[..., Visibility]]:
    """The app's login dependency (Airflow's user) and how a route learns what its user may see."""
    if not required:
        return [], _everything  # no login: a local or test app sees the whole ledger
    from airflow.api_fastapi.core_api.security import get_user

    def visible(user=Depends(get_user)) -> Visibility:
        return dashboard.visibility(user)

    return [Depends(get_user)], visible


def _page(
    dashboard: Dashboard, request: Request, template: str, status_code: int = 200, **context
) -> HTMLResponse:
    return dashboard.templates.TemplateResponse(
        request, template, {"links": _links(request), **context}, status_code=status_code
    )


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(f"{request.scope.get('root_path', '')}/api/")


def _add_error_pages(app: FastAPI, dashboard: Dashboard) -> None:
    @app.exception_handler(LedgerUnavailable)
    def ledger_unavailable(request: Request, exc: LedgerUnavailable):
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=503)
        return _page(dashboard, request, "error.html", 503, title="Database unavailable", detail=str(exc))

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException):
        if _wants_json(request) or exc.status_code in (401, 403):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return _page(
            dashboard, request, "error.html", exc.status_code, title="Not available", detail=exc.detail
        )


def _add_pages(app: FastAPI, dashboard: Dashboard, visible_now) -> None:
    @app.get("/static/{name}", name="static")
    def static(name: str):
        # A route, not a mounted StaticFiles app: mounted apps skip the login dependency.
        if name not in STATIC_FILES:
            raise HTTPException(status_code=404, detail="no such file")
        return FileResponse(HERE / "static" / name, media_type=STATIC_FILES[name])

    @app.get("/", response_class=HTMLResponse, name="index")
    def index(request: Request, visible: Visibility = visible_now):
        summary = dashboard.summary(visible)
        chart = daily_chart_svg(summary["daily"])
        return _page(dashboard, request, "index.html", summary=summary, chart=chart, statuses=UPLOAD_STATUSES)

    @app.get("/uploads/{upload_id}", response_class=HTMLResponse, name="upload")
    def upload_page(request: Request, upload_id: str, visible: Visibility = visible_now):
        return _page(dashboard, request, "upload.html", **dashboard.upload(upload_id, visible))

    @app.get("/search", response_class=HTMLResponse, name="search")
    def search_page(
        request: Request, visible: Visibility = visible_now, q: str = "", status: str = "", profile: str = ""
    ):
        result = dashboard.search(q.strip(), status, profile, visible)
        return _page(
            dashboard,
            request,
            "search.html",
            q=q,
            status=status,
            profile=profile,
            statuses=UPLOAD_STATUSES,
            **result,
        )

    @app.get("/profiles/{profile}/recent.svg", name="recent_svg")
    def recent_svg(profile: str, visible: Visibility = visible_now):
        from fastapi.responses import Response

        svg = recent_files_svg(profile, dashboard.recent_for(profile, visible=visible))
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def _add_api(app: FastAPI, dashboard: Dashboard, visible_now) -> None:
    @app.get("/api/summary")
    def api_summary(visible: Visibility = visible_now):
        return JSONResponse(jsonable_encoder(dashboard.summary(visible)))

    @app.get("/api/uploads/{upload_id}")
    def api_upload(upload_id: str, visible: Visibility = visible_now):
        return JSONResponse(jsonable_encoder(dashboard.upload(upload_id, visible)))

    @app.get("/api/search")
    def api_search(visible: Visibility = visible_now, q: str = "", status: str = "", profile: str = ""):
        return JSONResponse(jsonable_encoder(dashboard.search(q.strip(), status, profile, visible)))

    from courtfeed.web.metrics import metrics_endpoint

    # A plain route, which FastAPI's login dependency does not cover: Prometheus has no UI
    # session and brings a bearer token instead.
    app.add_route("/metrics", metrics_endpoint(dashboard), include_in_schema=False)
