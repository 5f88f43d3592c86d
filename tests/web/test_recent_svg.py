"""The live "latest files" card the profile DAGs' docs embed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from courtfeed.config.files import load_profile_file
from courtfeed.dagfactory.factory import profile_doc
from courtfeed.web.app import create_app


def test_recent_svg_lists_the_profiles_files_and_counts(demo_ledger, web_include):
    client = TestClient(create_app(target_url=demo_ledger.target_url))
    r = client.get("/profiles/metro_hearings/recent.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert "metro_hearings_20261128.txt" in r.text
    assert ">220<" in r.text and ">250<" in r.text  # loaded and read
    assert "county_payments" not in r.text  # another profile's files stay out
    empty = client.get("/profiles/no_such_feed/recent.svg")
    assert empty.status_code == 200 and "no files yet" in empty.text


def test_dag_docs_embed_the_card_and_link_the_dashboard(web_include):
    profile = load_profile_file(web_include / "profiles" / "metro_hearings.yaml")
    doc = profile_doc(profile)
    assert "(/courtfeed/profiles/metro_hearings/recent.svg)" in doc
    assert "/courtfeed/search?profile=metro_hearings" in doc
