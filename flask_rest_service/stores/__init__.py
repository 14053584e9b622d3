"""The stores: one contract (``base``, ``alerts``), one sub-package per engine (``sqlite``, ``mongodb``).

``open_store`` is the one way to a store, for the app and the CLI's
``copy-to``/``copy-from`` alike: MongoDB when the settings hold a connection
string, else the SQLite file. Opening connects nowhere and resolves no name:
the first query does.
"""

from collections.abc import Mapping

from .base import DuplicateName, Position, Store, StoreUnavailable

__all__ = ["DuplicateName", "Position", "Store", "StoreUnavailable", "open_store"]

APP_NAME = "sensor-readings"  # how the service names itself to MongoDB (server logs, currentOp)


def open_store(config: Mapping) -> Store:
    """Open the store the settings name."""
    if config["MONGO_URI"]:
        import pymongo

        from .mongodb import MongoStore

        timeout = config["MONGO_TIMEOUT_MS"]
        client = pymongo.MongoClient(
            config["MONGO_URI"],
            connect=False,  # no connection before a worker forks, and no DNS look-up here
            appname=APP_NAME,
            serverSelectionTimeoutMS=timeout,
            connectTimeoutMS=timeout,
            # Client-side operation timeout: bounds each operation with its
            # retries, and sends maxTimeMS so that the server stops too.
            timeoutMS=config["MONGO_REQUEST_TIMEOUT_MS"],
            # Over a readPreference in the URL: a secondary may not hold the
            # reading just acknowledged, nor the rule just made (read-after-write).
            readPreference="primary",
        )
        return MongoStore(
            client[config["MONGO_DBNAME"]],
            config["MONGO_REQUEST_TIMEOUT_MS"],
            config["MONGO_MAINTENANCE_TIMEOUT_MS"],
        )
    from .sqlite import SqliteStore

    return SqliteStore(config["SQLITE_PATH"], config["SQLITE_BUSY_TIMEOUT_MS"], config["SQLITE_SYNCHRONOUS"])
