"""API keys: open mode, scopes, both headers, 401/403, hashing, env keys."""

import hashlib
from datetime import datetime

import pytest
from bson import ObjectId
from conftest import problem_body

from flask_rest_service.auth import MIN_ENV_KEY_LENGTH, Guard, KeyManagementError, parse_env_keys
from flask_rest_service.validation import MAX_LABEL_LENGTH

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
    assert response.json == problem_body(
        403, "Forbidden", "this key's scope is read; POST /readings/ needs write"
    )
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


BAD_NAMES = [
    ("", "a key's name must not be empty or blank"),
    ("  ", "a key's name must not be empty or blank"),
    ("pi\tadmin\tcreated 2026", "a key's name must not hold control or format characters such as '\\t'"),
    ("pi\nroot", "a key's name must not hold control or format characters such as '\\n'"),
    ("pi\u200bkitchen", "a key's name must not hold control or format characters such as '\\u200b'"),
    (
        "k" * (MAX_LABEL_LENGTH + 1),
        f"a key's name has at most {MAX_LABEL_LENGTH} characters, not {MAX_LABEL_LENGTH + 1}",
    ),
]


@pytest.mark.parametrize(("name", "problem"), BAD_NAMES)
def test_a_key_name_that_would_forge_a_listing_is_refused_and_nothing_stored(app, name, problem):
    with pytest.raises(KeyManagementError) as refused:
        app.extensions["keys"].create(name, "read")
    assert str(refused.value) == problem
    assert app.extensions["keys"].list() == []


def test_a_key_name_of_the_longest_label_is_taken(app):
    app.extensions["keys"].create("k" * MAX_LABEL_LENGTH, "read")
    assert [key["name"] for key in app.extensions["keys"].list()] == ["k" * MAX_LABEL_LENGTH]


@pytest.mark.parametrize(("name", "problem"), BAD_NAMES[2:4])
def test_env_key_names_are_checked_the_same(name, problem):
    with pytest.raises(ValueError) as refused:
        parse_env_keys(f"{name}:read:0123456789abcdefghij")
    assert str(refused.value) == f"API_KEYS: {problem}: {name!r}"


def test_env_keys_with_one_name_twice_are_refused():
    with pytest.raises(ValueError) as refused:
        parse_env_keys("pi:read:0123456789abcdefghij,pi:admin:abcdefghij0123456789")
    assert str(refused.value) == "API_KEYS has two entries named 'pi'"


def test_env_keys_with_one_key_twice_are_refused_without_showing_it():
    with pytest.raises(ValueError) as refused:
        parse_env_keys("pi:read:0123456789abcdefghij,ops:admin:0123456789abcdefghij")
    assert str(refused.value) == "API_KEYS has one key in two entries, the second named 'ops'"


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


@pytest.mark.parametrize(
    ("path", "status"), [("/docs", 308), ("/docs/", 200), ("/openapi.json", 200), ("/dashboard", 200)]
)
def test_the_description_and_the_pages_need_no_key(client, keys, path, status):
    response = client.get(path)
    assert (response.status_code, response.headers.get("Location")) == (
        status,
        "http://localhost/docs/" if path == "/docs" else None,  # as with keys off
    )


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


OID = "65f0000000000000000000aa"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("put", f"/readings/{OID}"),
        ("patch", f"/readings/{OID}"),
        ("delete", f"/readings/{OID}"),
        ("delete", "/readings/?until=9999-12-31"),
    ],
)
def test_a_device_key_adds_readings_and_may_not_change_or_erase_them(
    app, client, readings, keys, method, url
):
    # A write key lives on a device: stolen, it must not rewrite or wipe the history.
    readings.insert([{"_id": ObjectId(OID), "value": 1, "timestamp": datetime(2026, 1, 1)}])
    assert client.post("/readings/", json=READING, headers=bearer(keys["write"])).status_code == 201
    response = getattr(client, method)(url, json={"value": 2}, headers=bearer(keys["write"]))
    assert response.status_code == 403
    path = url.split("?")[0]
    assert response.json["detail"] == f"this key's scope is write; {method.upper()} {path} needs admin"
    assert readings.get(ObjectId(OID))["value"] == 1 and readings.count() == 2
    assert getattr(client, method)(url, json={"value": 2}, headers=bearer(keys["admin"])).status_code in (
        200,
        204,
    )


def test_wrong_and_missing_keys_count_against_the_address(app_factory):
    app = app_factory(RATE_LIMIT="3/minute", AUTH_CACHE_SECONDS=0)
    app.extensions["keys"].create("k", "read")
    client = app.test_client()
    codes = [client.get("/readings/", headers={"X-API-Key": f"rk_guess{n}"}).status_code for n in range(3)]
    assert codes + [client.get("/readings/").status_code] == [401, 401, 401, 429]
    other = client.get(
        "/readings/", headers={"X-API-Key": "rk_guess9"}, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert other.status_code == 401  # another address has its own budget


def test_guesses_count_against_the_address_and_each_is_looked_up_once_a_cache_period(
    app_factory, monkeypatch
):
    # A key is looked up before the limit (so that a valid one counts against its
    # own budget from its first request); an unknown one counts against the address.
    app = app_factory(RATE_LIMIT="3/minute", AUTH_CACHE_SECONDS=60)
    app.extensions["keys"].create("k", "read")
    looked_up = []
    real_find = app.extensions["keys"].find
    monkeypatch.setattr(app.extensions["keys"], "find", lambda key: looked_up.append(key) or real_find(key))
    client = app.test_client()
    codes = [
        client.get("/readings/", headers={"X-API-Key": f"rk_guess{n % 3}"}).status_code for n in range(6)
    ]
    assert codes == [401, 401, 401, 429, 429, 429]
    assert looked_up == ["rk_guess0", "rk_guess1", "rk_guess2"]


def test_a_flood_of_guesses_does_not_push_a_real_key_out_of_the_cache(app_factory, monkeypatch):
    app = app_factory(AUTH_CACHE_SECONDS=60, RATE_LIMIT=None)
    key = app.extensions["keys"].create("k", "read")
    monkeypatch.setattr("flask_rest_service.auth.MAX_CACHED_KEYS", 10)
    looked_up = []
    real_find = app.extensions["keys"].find
    monkeypatch.setattr(app.extensions["keys"], "find", lambda key: looked_up.append(key) or real_find(key))
    client = app.test_client()
    assert client.get("/readings/", headers={"X-API-Key": key}).status_code == 200
    for n in range(20):
        assert client.get("/readings/", headers={"X-API-Key": f"rk_guess{n}"}).status_code == 401
    assert client.get("/readings/", headers={"X-API-Key": key}).status_code == 200
    assert looked_up == [key] + [f"rk_guess{n}" for n in range(20)]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_what_the_guard_learns_expires_after_the_cache_period(app_factory):
    app = app_factory(AUTH_CACHE_SECONDS=5)
    guard = app.extensions["guard"] = Guard(app.extensions["keys"], 5, clock=(clock := Clock()))
    client = app.test_client()
    assert guard.is_open()
    key = app.extensions["keys"].create("k", "read")
    app.extensions["keys"].create("other", "read")  # so that revoking k leaves the service locked
    clock.now += 4.9
    assert client.get("/readings/").status_code == 200  # still open: the answer is cached
    clock.now += 0.2
    assert client.get("/readings/").status_code == 401  # a key exists now
    assert client.get("/readings/", headers={"X-API-Key": key}).status_code == 200
    app.extensions["keys"].revoke("k")
    clock.now += 4.9
    assert client.get("/readings/", headers={"X-API-Key": key}).status_code == 200  # cached
    clock.now += 0.2
    assert client.get("/readings/", headers={"X-API-Key": key}).status_code == 401


def test_unknown_keys_are_looked_up_once_per_cache_period_and_the_cache_is_bounded(app_factory, monkeypatch):
    app = app_factory(AUTH_CACHE_SECONDS=5, RATE_LIMIT=None)
    app.extensions["keys"].create("k", "read")
    guard = app.extensions["guard"] = Guard(app.extensions["keys"], 5, clock=(clock := Clock()))
    looked_up = []
    real_find = app.extensions["keys"].find
    monkeypatch.setattr(app.extensions["keys"], "find", lambda key: looked_up.append(key) or real_find(key))
    client = app.test_client()
    for _ in range(3):
        assert client.get("/readings/", headers={"X-API-Key": "rk_wrong"}).status_code == 401
    assert looked_up == ["rk_wrong"]
    clock.now += 5
    client.get("/readings/", headers={"X-API-Key": "rk_wrong"})
    assert looked_up == ["rk_wrong", "rk_wrong"]
    monkeypatch.setattr("flask_rest_service.auth.MAX_CACHED_KEYS", 10)
    looked_up.clear()
    for n in range(11):  # one more than the cache holds: the first is forgotten
        guard.identify(f"rk_guess{n}")
    guard.identify("rk_guess10")
    guard.identify("rk_guess0")
    assert looked_up == [f"rk_guess{n}" for n in range(11)] + ["rk_guess0"]


@pytest.mark.parametrize(
    ("allowed", "origin", "answered"),
    [
        (["https://dash.example"], "https://dash.example", "https://dash.example"),
        (["https://dash.example"], "https://elsewhere.example", None),
        (["*"], "https://elsewhere.example", "https://elsewhere.example"),  # Flask-CORS echoes the origin
    ],
)
def test_cross_origin_answers_vary_by_origin(app_factory, allowed, origin, answered):
    response = app_factory(CORS_ORIGINS=allowed).test_client().get("/readings/", headers={"Origin": origin})
    assert response.headers["Vary"] == "Origin"
    assert response.headers.get("Access-Control-Allow-Origin") == answered


def test_no_vary_without_cors(client):
    assert "Vary" not in client.get("/readings/", headers={"Origin": "https://x.example"}).headers


# --- scopes and headers at their edges ----------------------------------------------------------------


def test_head_needs_a_key_as_get_does(client, keys):
    response = client.head("/readings/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="readings"'
    assert client.head("/readings/", headers={"X-API-Key": "rk_not-a-key"}).status_code == 401


def test_head_with_a_read_key_is_answered(client, keys):
    assert client.head("/readings/", headers=bearer(keys["read"])).status_code == 200


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_read_in_any_case(client, keys, scheme):
    # RFC 9110 section 11.1: an authentication scheme is case-insensitive.
    response = client.get("/readings/", headers={"Authorization": f"{scheme} {keys['read']}"})
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["Basic {key}", "Bearer", "Bearer ", "{key}"])
def test_an_authorization_header_without_a_bearer_key_is_no_key(client, keys, value):
    response = client.get("/readings/", headers={"Authorization": value.format(key=keys["read"])})
    assert response.status_code == 401
    assert response.json["detail"] == "an API key is required: send it as X-API-Key or Authorization: Bearer"


@pytest.fixture
def rule_id(client, keys):
    body = {"name": "r", "kind": "quiet", "sensor": "k", "for": "1h"}
    return client.post("/rules/", json=body, headers=bearer(keys["admin"])).json["_id"]["$oid"]


@pytest.mark.parametrize("scope", ["read", "write"])
def test_a_rule_s_events_need_an_admin_key(client, keys, rule_id, scope):
    # Events name the rule's targets (masked): as the rules themselves, admin only.
    response = client.get(f"/rules/{rule_id}/events", headers=bearer(keys[scope]))
    assert response.status_code == 403
    assert response.json == problem_body(
        403, "Forbidden", f"this key's scope is {scope}; GET /rules/{rule_id}/events needs admin"
    )


def test_an_admin_key_lists_a_rule_s_events(client, keys, rule_id):
    response = client.get(f"/rules/{rule_id}/events", headers=bearer(keys["admin"]))
    assert (response.status_code, response.json) == (200, [])


def test_a_revoked_key_counts_against_its_address_again(app_factory):
    # While a key is known, its requests count against its own budget; once it
    # is found revoked, against the address's, as any unknown key's do.
    app = app_factory(RATE_LIMIT="2/minute", AUTH_CACHE_SECONDS=0)
    key = app.extensions["keys"].create("k", "read")
    app.extensions["keys"].create("other", "read")  # the service stays locked once k is revoked
    client = app.test_client()
    assert client.get("/readings/", headers={"X-API-Key": key}).status_code == 200  # address: 1
    app.extensions["keys"].revoke("k")
    assert client.get("/readings/", headers={"X-API-Key": key}).status_code == 401  # k's: found revoked
    assert client.get("/readings/", headers={"X-API-Key": key}).status_code == 401  # address: 2
    assert client.get("/readings/").status_code == 429  # address: 3, past its 2


def test_an_env_key_of_the_shortest_length_is_accepted():
    [key] = parse_env_keys("device:write:" + "k" * MIN_ENV_KEY_LENGTH)
    assert (key["name"], key["scope"]) == ("device", "write")


def test_an_env_key_one_character_short_is_refused():
    with pytest.raises(ValueError, match="a key of at least 20 characters; got one for 'device'"):
        parse_env_keys("device:write:" + "k" * (MIN_ENV_KEY_LENGTH - 1))
