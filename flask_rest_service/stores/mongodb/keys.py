"""The ``api_keys`` and ``leases`` collections."""

from datetime import datetime, timedelta

from pymongo.errors import (
    DuplicateKeyError,
)

from ..base import (
    DuplicateName,
    Keys,
    Leases,
)
from .indexes import ensure
from .outages import _outages
from .readings import KEYS, LEASES


@_outages
class MongoKeys(Keys):
    """The ``api_keys`` collection."""

    def __init__(self, db):
        self.collection = db[KEYS]

    def create_indexes(self) -> list[str]:
        """Make names and hashes unique."""
        names = [ensure(self.collection, [(field, 1)], field, unique=True) for field in ("name", "hash")]
        return [name for name in names if name]

    def add(self, record: dict) -> None:
        """Store a key record; ``DuplicateName`` if the name is taken."""
        self.create_indexes()  # uniqueness is what makes a duplicate name fail
        try:
            self.collection.insert_one(dict(record))
        except DuplicateKeyError:
            raise DuplicateName(record["name"]) from None

    def find(self, hashed: str) -> dict | None:
        """Return the record with this hash, or None."""
        return self.collection.find_one({"hash": hashed}, {"_id": 0})

    def records(self) -> list[dict]:
        """Every record by name, whole."""
        return list(self.collection.find({}, {"_id": 0}).sort("name"))

    def list(self) -> list[dict]:
        """Every record by name, without the hash."""
        return list(self.collection.find({}, {"_id": 0, "hash": 0}).sort("name"))

    def revoke(self, name: str) -> bool:
        """Delete a record by name; return whether it existed."""
        return self.collection.delete_one({"name": name}).deleted_count == 1

    def any(self) -> bool:
        """Whether any key is stored."""
        return self.collection.find_one({}, {"_id": 1}) is not None

    def touch(self, name: str, when: datetime) -> None:
        """Record when a key was last used."""
        self.collection.update_one({"name": name}, {"$set": {"last_used": when}})


@_outages
class MongoLeases(Leases):
    """The ``leases`` collection."""

    def __init__(self, db):
        self.collection = db[LEASES]

    def acquire(self, name: str, holder: str, now: datetime, seconds: float) -> bool:
        """Take or renew the lease; an upsert that collides on ``_id`` means another holds it."""
        try:
            self.collection.find_one_and_update(
                {"_id": name, "$or": [{"expires": {"$lte": now}}, {"holder": holder}]},
                {"$set": {"holder": holder, "expires": now + timedelta(seconds=seconds)}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True
