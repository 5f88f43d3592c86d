"""The dashboard app over a ledger the real pipeline filled (see conftest.py)."""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from courtfeed.web.app import create_app
from tests.web.conftest import BAD_AMOUNT, BAD_CASE_NUMBER, BAD_ROW_LAST_NAME, PAYMENTS_REJECTS_KEPT


class TableRows(HTMLParser):
    """The text of each cell of the rows of one table (by id), as lists of strings."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.depth, self.rows, self.cell = table_id, 0, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.depth = self.depth + 1 if self.depth or dict(attrs).get("id") == self.table_id else 0
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table(html: str, table_id: str) -> list[list[str]]:
    parser = TableRows(table_id)
    parser.feed(html)
    return parser.rows


@pytest.fixture
def client(demo_ledger, web_include) -> TestClient:
    return TestClient(create_app(target_url=demo_ledger.target_url))


def latest_file_of(demo_ledger, profile: str) -> str:
    """The file ingested last for a profile (the conftest ingests in list order)."""
    return [name for name, p in demo_ledger.profile_of.items() if p == profile][-1]


def test_profiles_table_shows_each_profile_with_its_latest_file_and_counts(client, demo_ledger):
    response = client.get("/")
    assert response.status_code == 200
    rows = {row[0].split()[0]: row for row in table(response.text, "profiles")[1:]}
    assert set(rows) == {"county_payments", "jury_summons", "metro_hearings"}
    for profile, row in rows.items():
        latest = latest_file_of(demo_ledger, profile)
        result = demo_ledger.results[latest]
        name, agency, template, schedule, last_file, finished, status, read, loaded, rejected, dag = row
        assert last_file == latest
        assert status == result["status"]
        assert (read, loaded, rejected) == (
            f"{result['rows_read']:,}",
            f"{result['rows_loaded']:,}",
            f"{result['rows_rejected']:,}",
        )
        assert agency == "metro-county"
        assert template == profile
        assert dag == "runs"
        assert finished.endswith("UTC")
    # the two files built by the tests are each profile's latest, and carry their own statuses
    assert rows["metro_hearings"][6] == "partial"
    assert rows["county_payments"][6] == "rejected"
    assert 'href="/dags/courtfeed__metro_hearings"' in response.text


def test_summary_api_matches_the_pipeline_results(client, demo_ledger):
    summary = client.get("/api/summary").json()
    assert summary["has_ledger"] is True
    assert summary["problems"] == []
    by_name = {p["name"]: p for p in summary["profiles"]}
    assert by_name["jury_summons"]["schedule"] == "watch"  # event-driven pickup (the default)
    latest = by_name["metro_hearings"]["last_upload"]
    result = demo_ledger.results[latest["file_name"]]
    assert latest["rows_loaded"] == result["rows_loaded"]
    assert latest["rows_rejected"] == result["rows_rejected"] == len(result["rejects"])
    assert len(summary["recent"]) == len(demo_ledger.results)
    assert len(summary["daily"]) == 30
    today = summary["daily"][-1]
    assert today["uploads"] == len(demo_ledger.results)
    assert today["loaded"] == sum(r["rows_loaded"] for r in demo_ledger.results.values())
    assert today["rejected"] == sum(r["rows_rejected"] for r in demo_ledger.results.values())
    assert all(day["uploads"] == 0 for day in summary["daily"][:-1])


def test_front_page_chart_has_a_bar_per_day_and_today_s_totals(client, demo_ledger):
    html = client.get("/").text
    assert html.count('<g class="day"') == 30
    loaded = sum(r["rows_loaded"] for r in demo_ledger.results.values())
    assert f"{loaded:,} loaded" in html


def test_upload_page_shows_counts_per_entity_and_the_rejects(client, demo_ledger):
    summary = client.get("/api/summary").json()
    upload = next(p for p in summary["profiles"] if p["name"] == "metro_hearings")["last_upload"]
    result = demo_ledger.results[upload["file_name"]]

    response = client.get(f"/uploads/{upload['id']}")
    assert response.status_code == 200
    counts = {row[0]: row[1:] for row in table(response.text, "counts")[1:]}
    assert set(counts) == set(result["counts"]) == {"case", "client", "contact", "event"}
    for entity, (created, updated, unchanged, deleted) in counts.items():
        assert unchanged == f"{result['counts'][entity]['unchanged']:,}"
        assert deleted == f"{result['counts'][entity].get('deleted', 0):,}"
        assert created == f"{result['counts'][entity]['created']:,}"
        assert updated == f"{result['counts'][entity]['updated']:,}"
    rejects = [row for row in table(response.text, "rejects")[1:]]
    assert rejects == [[str(r["row"]), r["column"], r["rule"], r["message"]] for r in result["rejects"]]
    assert [str(demo_ledger.bad_row), "CASE_NO"] in [r[:2] for r in rejects]


def test_pages_show_no_row_values(client, demo_ledger):
    summary = client.get("/api/summary").json()
    pages = [client.get("/").text, client.get("/search").text]
    for upload in summary["recent"]:
        pages.append(client.get(f"/uploads/{upload['id']}").text)
        pages.append(client.get(f"/api/uploads/{upload['id']}").text)
    for text in pages:
        for value in (BAD_CASE_NUMBER, BAD_AMOUNT, BAD_ROW_LAST_NAME):
            assert value not in text


def test_rejected_upload_page_shows_the_reason_and_that_nothing_was_loaded(client, demo_ledger):
    found = client.get("/api/search", params={"status": "rejected"}).json()["uploads"]
    assert [u["file_name"] for u in found] == ["county_payments_2026-12.csv"]
    result = demo_ledger.results["county_payments_2026-12.csv"]
    detail = client.get(f"/api/uploads/{found[0]['id']}").json()
    assert detail["upload"]["message"] == result["message"]
    assert detail["upload"]["rows_loaded"] == 0
    # the template keeps 2 in full; the others are counted per rule, and together they are all
    assert [r["row"] for r in detail["rejects"]] == [r["row"] for r in result["rejects"]][
        :PAYMENTS_REJECTS_KEPT
    ]
    assert detail["upload"]["rejects_more"] == result["rejects_more"] == {"type:decimal": 3}
    assert len(detail["rejects"]) + sum(detail["upload"]["rejects_more"].values()) == result["rows_rejected"]
    html = client.get(f"/uploads/{found[0]['id']}").text
    assert "Nothing was written to the target." in html
    assert result["message"] in unescape(html)
    assert "Rejected rows (2 stored)" in html
    assert "and 3 more type:decimal, counted by rule but not stored one by one." in html


def test_unknown_upload_is_a_404_page(client):
    response = client.get("/uploads/no-such-upload")
    assert response.status_code == 404
    assert "no upload with that id" in response.text
    assert client.get("/api/uploads/no-such-upload").status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "HEARINGS"}, {"metro_hearings_20261128.txt", "metro_hearings_20261129.txt"}),
        ({"q": "2026-1"}, {"county_payments_2026-11.csv", "county_payments_2026-12.csv"}),
        ({"status": "partial"}, {"metro_hearings_20261129.txt"}),
        ({"profile": "jury_summons"}, {"jury_summons_20261128.xlsx"}),
        ({"q": "hearings", "status": "loaded"}, {"metro_hearings_20261128.txt"}),
        ({"q": "%"}, set()),  # typed wildcards match literally
        ({"q": "2026_1"}, set()),  # as a LIKE wildcard "_" would match every file
    ],
)
def test_search_filters_by_file_name_status_and_profile(client, demo_ledger, params, expected):
    if params.get("status") == "partial":
        expected = {n for n, r in demo_ledger.results.items() if r["status"] == "partial"}
    found = client.get("/api/search", params=params).json()["uploads"]
    assert {u["file_name"] for u in found} == expected
    html = client.get("/search", params=params).text
    listed = set(re.findall(r'title="[^"]*">([^<]+)</a>', html))
    assert listed == expected


def test_search_page_keeps_the_choices_and_rejects_an_unknown_status(client):
    html = client.get("/search", params={"q": "jury", "status": "loaded", "profile": "jury_summons"}).text
    assert 'value="jury"' in html
    assert '<option value="loaded" selected>' in html
    assert '<option value="jury_summons" selected>' in html
    response = client.get("/search", params={"status": "bogus"})
    assert response.status_code == 400
    assert "unknown status" in response.text


def test_links_follow_the_mount_point_inside_airflow(demo_ledger, web_include):
    # The Airflow api-server mounts the app under /courtfeed: pages must link below that prefix,
    # and to the Airflow UI above it.
    airflow = FastAPI()
    airflow.mount("/courtfeed", create_app(target_url=demo_ledger.target_url))
    client = TestClient(airflow)
    html = client.get("/courtfeed/").text
    assert 'href="/courtfeed/static/dashboard.css"' in html
    upload_links = re.findall(r'href="(/[^"]*uploads/[^"]+)"', html)
    assert upload_links and all(link.startswith("/courtfeed/uploads/") for link in upload_links)
    assert 'href="/dags/courtfeed__jury_summons" target="_top"' in html
    assert client.get(upload_links[0]).status_code == 200
    assert client.get("/courtfeed/static/dashboard.css").status_code == 200


def test_config_problems_are_listed_and_the_valid_profiles_still_shown(demo_ledger, tmp_path, monkeypatch):
    include = tmp_path / "include"
    (include / "profiles").mkdir(parents=True)
    for name in ("jury_summons", "metro_hearings"):
        (include / "profiles" / f"{name}.yaml").write_text(
            (demo_ledger.include / "profiles" / f"{name}.yaml").read_text()
        )
    (include / "profiles" / "broken_feed.yaml").write_text("name: broken_feed\nagency: x\n")
    monkeypatch.setenv("COURTFEED_INCLUDE", str(include))
    client = TestClient(create_app(target_url=demo_ledger.target_url))
    summary = client.get("/api/summary").json()
    assert [p["name"] for p in summary["profiles"]] == ["jury_summons", "metro_hearings"]
    assert summary["problems"] and all("broken_feed" in line for line in summary["problems"])
    assert "Profiles that cannot be used" in client.get("/").text


def test_a_target_without_a_ledger_shows_empty_pages(web_include, tmp_path):
    client = TestClient(create_app(target_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    summary = client.get("/api/summary").json()
    assert summary["has_ledger"] is False
    assert all(p["last_upload"] is None for p in summary["profiles"])
    html = client.get("/").text
    assert "no ledger yet" in html
    assert "no uploads yet" in html
    assert client.get("/search", params={"q": "x"}).status_code == 200
    assert client.get("/uploads/anything").status_code == 404


def test_an_unreachable_database_is_a_503_without_its_password(web_include):
    url = "postgresql://courtfeed:s3cret-pw@127.0.0.1:1/nowhere"
    client = TestClient(create_app(target_url=url))
    response = client.get("/")
    assert response.status_code == 503
    assert "cannot be read" in response.text
    assert "s3cret-pw" not in response.text
    api = client.get("/api/summary")
    assert api.status_code == 503 and "s3cret-pw" not in api.text


def test_target_url_defaults_to_the_dags_target(demo_ledger, web_include, monkeypatch):
    # The dashboard reads the DAGs' target: the courtfeed_target connection.
    host = demo_ledger.target_url.removeprefix("sqlite:///")
    monkeypatch.setenv("AIRFLOW_CONN_COURTFEED_TARGET", json.dumps({"conn_type": "sqlite", "host": host}))
    client = TestClient(create_app())
    assert client.get("/api/summary").json()["recent"]
