"""API keys: open mode, scopes, both headers, 401/403, hashing, env keys."""

import hashlib

import pytest
from conftest import problem_body

from flask_rest_service.auth import KeyManagementError, parse_env_keys

READING = {"sensor": "k", "value": 1, "timestamp": "2026-03-01T10:00:00Z"}


@pytest.fixture
def app(app_factory):
    return app_factory(AUTH_CACHE_SECONDS=0)


@pytest.fixture
def keys(app):
    store = app.extensions["keys"]
    return {scope: store.create(f"{scope}-key", scope) for scope in ("read", "write", "admin")}


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def test_open_without_any_key(client, readings):
    assert client.post("/readings/", json=READING).status_code == 201
    assert client.get("/").json["auth"] == "open"


def test_health_needs_no_key_and_says_keys_are_on(client, keys):
    response = client.get("/")
    assert response.status_code == 200
    assert response.json["auth"] == "keys"


@pytest.mark.parametrize(
    "path", ["/readings/", "/sensors/", "/readings/export", "/readings/stats?sensor=k&interval=1h"]
)
def test_missing_key_is_401_with_www_authenticate(client, keys, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="readings"'
    assert response.json == problem_body(
        401, "Unauthorized", "an API key is required: send it as X-API-Key or Authorization: Bearer"
    )


def test_unknown_key_is_401_and_stores_nothing(client, readings, keys):
    response = client.post("/readings/", json=READING, headers={"X-API-Key": "rk_not-a-key"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="readings", error="invalid_token"'
    assert response.json["detail"] == "unknown API key"
    assert readings.count() == 0


@pytest.mark.parametrize("how", ["x-api-key", "bearer"])
def test_read_key_reads_by_either_header(client, keys, how):
    headers = {"X-API-Key": keys["read"]} if how == "x-api-key" else bearer(keys["read"])
    assert client.get("/readings/", headers=headers).status_code == 200


def test_read_key_cannot_write_403(client, readings, keys):
    response = client.post("/readings/", json=READING, headers=bearer(keys["read"]))
    assert response.status_code == 403
    assert response.json == problem_body(403, "Forbidden", "this key's scope is read; POST needs write")
    assert readings.count() == 0


@pytest.mark.parametrize("scope", ["write", "admin"])
def test_write_and_admin_keys_write_and_read(client, readings, keys, scope):
    assert client.post("/readings/", json=READING, headers=bearer(keys[scope])).status_code == 201
    assert client.get("/readings/", headers=bearer(keys[scope])).status_code == 200
    assert readings.count() == 1


def test_read_key_cannot_delete(client, keys):
    response = client.delete("/readings/?until=2026-01-01", headers=bearer(keys["read"]))
    assert response.status_code == 403


def test_keys_are_stored_only_as_hashes(app, keys):
    stored = app.extensions["store"].keys
    records = [stored.find(hashlib.sha256(key.encode()).hexdigest()) for key in keys.values()]
    assert [record["name"] for record in records] == ["read-key", "write-key", "admin-key"]
    text = repr(records) + repr(stored.list())
    assert not any(key in text for key in keys.values())


def test_key_use_is_recorded(app, client, keys):
    client.get("/readings/", headers=bearer(keys["read"]))
    used = {record["name"]: record["last_used"] for record in app.extensions["store"].keys.list()}
    assert used["read-key"] is not None
    assert used["write-key"] is None


def test_revoked_key_is_refused(app, client, keys):
    app.extensions["keys"].revoke("read-key")
    assert client.get("/readings/", headers=bearer(keys["read"])).status_code == 401


def test_duplicate_name_and_bad_scope_are_refused(app, keys):
    with pytest.raises(KeyManagementError, match="a key named 'read-key' exists"):
        app.extensions["keys"].create("read-key", "read")
    with pytest.raises(KeyManagementError, match="scope must be one of read, write, admin"):
        app.extensions["keys"].create("x", "root")


def test_keys_from_the_environment(app_factory, readings):
    env_keys = parse_env_keys("device:write:0123456789abcdefghij, viewer:read:abcdefghij0123456789")
    app = app_factory(API_KEYS=env_keys, AUTH_CACHE_SECONDS=0)
    client = app.test_client()
    assert client.get("/readings/").status_code == 401
    assert (
        client.post("/readings/", json=READING, headers={"X-API-Key": "0123456789abcdefghij"}).status_code
        == 201
    )
    assert (
        client.post("/readings/", json=READING, headers={"X-API-Key": "abcdefghij0123456789"}).status_code
        == 403
    )


@pytest.mark.parametrize(
    "raw",
    ["device:write", "device:root:0123456789abcdefghij", "device:read:short", ":read:0123456789abcdefghij"],
)
def test_malformed_env_keys_are_refused(raw):
    with pytest.raises(ValueError, match="API_KEYS entries are name:scope:key"):
        parse_env_keys(raw)


def test_require_api_keys_locks_even_without_keys(app_factory):
    client = app_factory(REQUIRE_API_KEYS=True).test_client()
    assert client.get("/readings/").status_code == 401
    assert client.get("/").json["auth"] == "keys"


def test_cors_preflight_needs_no_key(app_factory):
    app = app_factory(AUTH_CACHE_SECONDS=0, CORS_ORIGINS=["https://dash.example"])
    app.extensions["keys"].create("k", "read")
    response = app.test_client().options(
        "/readings/",
        headers={
            "Origin": "https://dash.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-API-Key, Authorization",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://dash.example"
    assert set(response.headers["Access-Control-Allow-Headers"].lower().split(", ")) >= {
        "x-api-key",
        "authorization",
    }


def test_cors_answers_only_the_allowed_origins(app_factory):
    client = app_factory(CORS_ORIGINS=["https://dash.example"]).test_client()
    allowed = client.get("/readings/", headers={"Origin": "https://dash.example"})
    other = client.get("/readings/", headers={"Origin": "https://evil.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://dash.example"
    assert "Link" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in other.headers


def test_no_cors_headers_unless_configured(client):
    assert (
        "Access-Control-Allow-Origin"
        not in client.get("/readings/", headers={"Origin": "https://x.example"}).headers
    )
