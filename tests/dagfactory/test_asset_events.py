"""The load's asset events: one per entity written, counts summed over the delivery's uploads."""

from __future__ import annotations

from courtfeed.dagfactory.asset_events import asset_event_extras


def upload(upload_id: str, status: str, **counts: dict) -> dict:
    return {"upload_id": upload_id, "status": status, "path": "/drop/hearings.zip", "counts": counts}


def test_counts_of_every_upload_of_a_delivery_are_summed_per_entity():
    results = [
        upload("u1", "loaded", event={"created": 3, "updated": 1}, client={"created": 2}),
        upload("u2", "partial", event={"created": 4, "unchanged": 5, "deleted": 1}),
    ]
    extras = asset_event_extras(results, ["event", "client", "case"])
    assert extras["event"] == {
        "file": "hearings.zip",
        "status": "loaded,partial",
        "uploads": ["u1", "u2"],
        "created": 7,
        "updated": 1,
        "unchanged": 5,
        "deleted": 1,
    }
    assert extras["client"]["uploads"] == ["u1"] and extras["client"]["created"] == 2
    assert "case" not in extras  # nothing written: no event


def test_an_entity_without_an_asset_gets_no_event():
    results = [upload("u1", "loaded", event={"created": 1}, payment={"created": 1})]
    assert set(asset_event_extras(results, ["event"])) == {"event"}


def test_a_delivery_that_wrote_nothing_emits_nothing():
    assert asset_event_extras([upload("u1", "rejected")], ["event"]) == {}
    assert asset_event_extras([], ["event"]) == {}
