"""The stores: one contract (``base``), one module per engine (``sqlite``, ``mongodb``).

``open_store`` picks the engine from the settings: MongoDB when a connection
string (or, in tests, a client) is given, else the SQLite file. Opening
connects nowhere and resolves no name: the first query does.
"""

from collections.abc import Mapping

from .base import DuplicateName, Position, Store, StoreUnavailable

__all__ = ["DuplicateName", "Position", "Store", "StoreUnavailable", "open_store"]

APP_NAME = "sensor-readings"  # how the service names itself to MongoDB (server logs, currentOp)


def open_store(config: Mapping) -> Store:
    """Open the store the settings name."""
    client = config.get("MONGO_CLIENT")  # tests pass one (mongomock)
    if client is None and config["MONGO_URI"]:
        from pymongo import MongoClient

        timeout = config["MONGO_TIMEOUT_MS"]
        client = MongoClient(
            config["MONGO_URI"],
            connect=False,  # no connection before a worker forks, and no DNS look-up here
            appname=APP_NAME,
            serverSelectionTimeoutMS=timeout,
            connectTimeoutMS=timeout,
            # Client-side operation timeout: bounds each operation with its
            # retries, and sends maxTimeMS so that the server stops too.
            timeoutMS=config["MONGO_REQUEST_TIMEOUT_MS"],
        )
    if client is not None:
        from .mongodb import MongoStore

        return MongoStore(client[config["MONGO_DBNAME"]])
    from .sqlite import SqliteStore

    return SqliteStore(config["SQLITE_PATH"], config["SQLITE_BUSY_TIMEOUT_MS"], config["SQLITE_SYNCHRONOUS"])
