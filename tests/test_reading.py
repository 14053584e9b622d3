"""GET, PUT, PATCH and DELETE /readings/<id>."""

from datetime import datetime

import pytest
from bson import ObjectId
from conftest import everything, only, problem_body

OID = ObjectId("65f0000000000000000000aa")
URL = f"/readings/{OID}"
T0 = datetime(2026, 3, 1, 10)


@pytest.fixture
def one(readings):
    readings.insert([{"_id": OID, "sensor": "a", "value": 1, "note": "x", "timestamp": T0}])


def test_get_returns_the_reading(client, one):
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json == {
        "_id": {"$oid": str(OID)},
        "sensor": "a",
        "value": 1,
        "note": "x",
        "timestamp": {"$date": "2026-03-01T10:00:00Z"},
    }


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_unknown_id_returns_json_404(client, method):
    response = getattr(client, method)(URL, json={})
    assert response.status_code == 404
    assert response.json == problem_body(404, "Not Found", f"no reading with id {OID}")


@pytest.mark.parametrize("bad", ["123", "zz" * 12, "65f0000000000000000000aa0", "stats2"])
def test_malformed_id_returns_json_404(client, bad):
    response = client.get(f"/readings/{bad}")
    assert response.status_code == 404
    assert response.json == problem_body(404, "Not Found", f"nothing at /readings/{bad}")


def test_put_replaces_the_reading_and_keeps_the_id(client, readings, one):
    response = client.put(URL, json={"sensor": "b", "value": 2.5, "timestamp": "2026-03-02T00:00:00Z"})
    expected = {"_id": OID, "sensor": "b", "value": 2.5, "timestamp": datetime(2026, 3, 2)}
    assert response.status_code == 200
    assert response.json == {
        "_id": {"$oid": str(OID)},
        "sensor": "b",
        "value": 2.5,
        "timestamp": {"$date": "2026-03-02T00:00:00Z"},
    }
    assert list(everything(readings)) == [expected]


def test_put_may_repeat_the_id_but_not_change_it(client, readings, one):
    same = client.put(URL, json={"_id": str(OID), "value": 3, "timestamp": 0})
    other = client.put(URL, json={"_id": "65f0000000000000000000bb", "value": 4})
    assert same.status_code == 200
    assert other.status_code == 400
    assert other.json["errors"] == [{"field": "_id", "detail": "must match the id in the URL"}]
    assert only(readings)["value"] == 3


def test_put_validates_like_post_and_changes_nothing(client, readings, one):
    response = client.put(URL, json={"value": "hot", "$x": 1})
    assert response.status_code == 400
    assert response.json == problem_body(
        400,
        "Bad Request",
        "2 problems in the reading",
        [
            {"field": "$x", "detail": "field names must not start with '$'"},
            {"field": "value", "detail": "must be a number"},
        ],
    )
    assert only(readings)["value"] == 1


def test_patch_merges_top_level_fields_and_null_removes(client, readings, one):
    response = client.patch(URL, json={"value": 7, "note": None, "unit": "C"})
    assert response.status_code == 200
    assert response.json == {
        "_id": {"$oid": str(OID)},
        "sensor": "a",
        "value": 7,
        "timestamp": {"$date": "2026-03-01T10:00:00Z"},
        "unit": "C",
    }
    assert only(readings) == {"_id": OID, "sensor": "a", "value": 7, "timestamp": T0, "unit": "C"}


def test_patch_accepts_merge_patch_content_type(client, readings, one):
    response = client.patch(URL, data='{"value": 8}', content_type="application/merge-patch+json")
    assert response.status_code == 200
    assert only(readings)["value"] == 8


def test_empty_patch_returns_the_reading_unchanged(client, readings, one):
    response = client.patch(URL, json={})
    assert response.status_code == 200
    assert response.json["value"] == 1


@pytest.mark.parametrize(
    ("patch", "errors"),
    [
        ({"value": "x"}, [{"field": "value", "detail": "must be a number"}]),
        ({"timestamp": None}, [{"field": "timestamp", "detail": "cannot be removed"}]),
        ({"a.b": None}, [{"field": "a.b", "detail": "field names must not contain '.'"}]),
        ({"$set": {"value": 0}}, [{"field": "$set", "detail": "field names must not start with '$'"}]),
        ({"_id": "65f0000000000000000000bb"}, [{"field": "_id", "detail": "must match the id in the URL"}]),
        ([1], [{"field": "", "detail": "a patch must be a JSON object"}]),
    ],
)
def test_bad_patch_gets_400_and_changes_nothing(client, readings, one, patch, errors):
    response = client.patch(URL, json=patch)
    assert response.status_code == 400
    assert response.json["errors"] == errors
    assert only(readings) == {"_id": OID, "sensor": "a", "value": 1, "note": "x", "timestamp": T0}


@pytest.mark.parametrize("method", ["put", "patch"])
def test_put_and_patch_need_json(client, one, method):
    response = getattr(client, method)(URL, data={"reading": "{}"})
    assert response.status_code == 415


def test_delete_returns_204_then_404(client, readings, one):
    response = client.delete(URL)
    assert response.status_code == 204
    assert response.data == b""
    assert "Content-Type" not in response.headers
    assert readings.count() == 0
    assert client.delete(URL).status_code == 404
    assert client.get(URL).status_code == 404


@pytest.mark.parametrize(
    "content_type", ["application/json-patch+json", "application/vnd.example+json", "text/plain"]
)
def test_patch_takes_only_json_and_merge_patch(client, readings, one, content_type):
    # application/json-patch+json means RFC 6902 operations: read as a merge patch it would do the wrong thing.
    response = client.patch(URL, data='{"value": 8}', content_type=content_type)
    assert response.status_code == 415
    assert (
        response.json["detail"]
        == f"Content-Type must be application/json or application/merge-patch+json; got {content_type}"
    )
    assert only(readings)["value"] == 1
