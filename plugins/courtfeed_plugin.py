"""Airflow plugin entry: mounts the courtfeed dashboard in the Airflow api-server and adds it to
the Airflow UI's navigation.

Every Airflow component (scheduler, workers, dag-processor) loads plugins, so this file stays
light: the dashboard app is built on its first request, in the api-server only.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from courtfeed.web import URL_PREFIX


class LazyDashboard:
    """An ASGI app that builds the real dashboard (FastAPI, Jinja2, SQLAlchemy) when first called."""

    def __init__(self):
        self._app = None

    async def __call__(self, scope, receive, send):
        if self._app is None:
            from courtfeed.web.app import create_app

            # The api-server does not guard plugin apps: ask for the Airflow login ourselves.
            self._app = create_app(require_airflow_login=True)
        await self._app(scope, receive, send)


class CourtfeedPlugin(AirflowPlugin):
    name = "courtfeed"
    fastapi_apps = [{"app": LazyDashboard(), "url_prefix": URL_PREFIX, "name": "courtfeed"}]
    external_views = [
        {
            "name": "courtfeed",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            # url_route: the UI shows the page inside its own frame at /plugin/courtfeed
            "url_route": "courtfeed",
            "icon": f"{URL_PREFIX}/static/icon.svg",
        }
    ]
