"""Settings come from the environment."""

import pytest

from flask_rest_service.config import INTEGER_SETTINGS, ConfigError, from_env


def test_defaults_without_environment():
    settings = from_env({})
    assert settings["MONGO_URI"] is None
    assert settings["MONGO_DBNAME"] == "rest"
    assert settings["MAX_BATCH_SIZE"] == 1000
    assert settings["DEFAULT_PAGE_SIZE"] == 100


@pytest.mark.parametrize(
    ("environ", "uri"),
    [
        ({"MONGO_URL": "mongodb://a/x"}, "mongodb://a/x"),
        ({"MONGODB_URI": "mongodb://b/x"}, "mongodb://b/x"),
        ({"MONGO_URI": "mongodb://c/x"}, "mongodb://c/x"),
        (
            {"MONGO_URL": "mongodb://a/x", "MONGODB_URI": "mongodb://b/x", "MONGO_URI": "mongodb://c"},
            "mongodb://a/x",
        ),
        ({"MONGO_URL": "", "MONGODB_URI": "mongodb://b/x"}, "mongodb://b/x"),
    ],
)
def test_mongo_uri_names_in_order_of_preference(environ, uri):
    assert from_env(environ)["MONGO_URI"] == uri


@pytest.mark.parametrize(
    ("uri", "database"),
    [
        ("mongodb://localhost", "rest"),
        ("mongodb://localhost/", "rest"),
        ("mongodb://u:p@h1:1,h2:2/sensors?replicaSet=rs", "sensors"),
        ("mongodb+srv://u:p@cluster0.example.net/plant?retryWrites=true&w=majority", "plant"),
    ],
)
def test_database_name_comes_from_the_uri(uri, database):
    assert from_env({"MONGO_URL": uri})["MONGO_DBNAME"] == database


@pytest.mark.parametrize(
    ("environ", "name"),
    [
        ({"MONGO_URL": "mongodb://h/x?w=0"}, "MONGO_URL"),
        ({"MONGODB_URI": "mongodb+srv://u:secret@cluster.example.net/x?retryWrites=true&W=0"}, "MONGODB_URI"),
        ({"MONGO_URI": "mongodb://h1,h2/x?replicaSet=rs&w=0&wtimeoutMS=100"}, "MONGO_URI"),
    ],
)
def test_a_connection_string_asking_for_unacknowledged_writes_is_refused(environ, name):
    with pytest.raises(ConfigError) as refused:
        from_env(environ)
    assert str(refused.value) == (
        f"{name} asks for w=0: MongoDB would confirm no write, so an acknowledged reading could be lost; "
        "remove w=0 (the default is w=majority on a replica set)"
    )
    assert "secret" not in str(refused.value)


@pytest.mark.parametrize(
    "uri", ["mongodb://h/x?w=1", "mongodb://h/x?w=majority", "mongodb://h/x?w=2&wtimeoutMS=10"]
)
def test_an_acknowledged_write_concern_is_taken(uri):
    assert from_env({"MONGO_URL": uri})["MONGO_URI"] == uri


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        (
            "localhost:27017",
            "is not a MongoDB connection string: it starts with mongodb:// or mongodb+srv://",
        ),
        ("http://h/x", "is not a MongoDB connection string: it starts with mongodb:// or mongodb+srv://"),
        (
            "mongodb://",
            "is not a connection string the driver accepts: Must provide at least one hostname or IP",
        ),
        (
            "mongodb://user:s3cret@h/x?retryWrite=true",
            "is not a connection string the driver accepts: Unknown option: retrywrite. Did you mean one of "
            "(retrywrites, retryreads, maxadaptiveretries) or maybe a camelCase version of one? Refer to docstring.",
        ),
    ],
)
def test_a_connection_string_the_service_will_not_use_names_its_setting(uri, reason):
    with pytest.raises(ConfigError) as refused:
        from_env({"MONGODB_URI": uri})
    assert str(refused.value) == f"MONGODB_URI {reason}"
    assert "s3cret" not in str(refused.value)


def test_reads_go_to_the_primary_whatever_the_url_says():
    # A secondary may not hold what was just acknowledged (read-after-write).
    from pymongo import ReadPreference

    from flask_rest_service.stores import open_store

    store = open_store(from_env({"MONGO_URL": "mongodb://127.0.0.1:9/x?readPreference=secondaryPreferred"}))
    assert store.db.read_preference == ReadPreference.PRIMARY
    store.close()


def test_integer_settings_are_read_and_checked():
    assert from_env({"MAX_BATCH_SIZE": "50"})["MAX_BATCH_SIZE"] == 50
    with pytest.raises(ConfigError, match="MAX_BATCH_SIZE must be an integer, got 'many'"):
        from_env({"MAX_BATCH_SIZE": "many"})
    with pytest.raises(ConfigError, match="MAX_PAGE_SIZE must be at least 1, got 0"):
        from_env({"MAX_PAGE_SIZE": "0"})


def test_api_keys_with_one_name_twice_is_a_config_error():
    with pytest.raises(ConfigError, match="^API_KEYS has two entries named 'pi'$"):
        from_env({"API_KEYS": "pi:read:0123456789abcdefghij, pi:write:abcdefghij0123456789"})


MINIMUMS = {
    **{name: minimum for name, (_, minimum) in INTEGER_SETTINGS.items()},
    "READINGS_RETENTION_DAYS": 1,
}


@pytest.mark.parametrize(("name", "minimum"), sorted(MINIMUMS.items()))
def test_an_integer_setting_at_its_minimum_is_taken(name, minimum):
    assert from_env({name: str(minimum)})[name] == minimum


@pytest.mark.parametrize(("name", "minimum"), sorted(MINIMUMS.items()))
def test_an_integer_setting_one_below_its_minimum_is_refused(name, minimum):
    with pytest.raises(ConfigError, match=f"^{name} must be at least {minimum}, got {minimum - 1}$"):
        from_env({name: str(minimum - 1)})
