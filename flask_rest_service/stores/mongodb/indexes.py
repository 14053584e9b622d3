"""The service's indexes, made so that what a deployment already holds never stops it.

A database may hold an index with the same keys under another name (made in
Atlas's UI: creating ours again is error 85), an index of another shape under
our name (86), or 2014-era documents with two array fields that a compound
index cannot cover (171). None of them may fail ``init-db`` or a worker's
start, at every restart: an equivalent index is used as it is, a taken name
is left to its owner (ours gets MongoDB's default name), and an index that
cannot be built is logged, with its cause, while the service runs without it
(its queries are slower, never wrong).
"""

import logging

from pymongo.errors import OperationFailure

log = logging.getLogger(__name__)

OPTIONS_CONFLICT = 85  # IndexOptionsConflict
KEY_SPECS_CONFLICT = 86  # IndexKeySpecsConflict
PARALLEL_ARRAYS = 171  # CannotIndexParallelArrays
DUPLICATES = 11000  # a unique index over documents that repeat a value
NOT_BUILT = {OPTIONS_CONFLICT, KEY_SPECS_CONFLICT, PARALLEL_ARRAYS, DUPLICATES}


def ensure(collection, keys: list[tuple[str, int]], name: str, unique: bool = False) -> str | None:
    """The name of an index on ``keys`` (made now, or one the collection has); None if it cannot be built."""
    existing = collection.index_information()
    for found, info in existing.items():
        if _same(info, keys, unique):
            return found
    options = {"unique": True} if unique else {}
    if name in existing:
        log.warning(
            "%s: the index %r has other keys (%s) than the service's (%s); it is left as it is, "
            "and the service's index gets MongoDB's default name",
            collection.name, name, _shown(existing[name]["key"]), _shown(keys),
        )  # fmt: skip
    else:
        options["name"] = name
    try:
        return collection.create_index(keys, **options)
    except OperationFailure as error:
        if error.code not in NOT_BUILT:
            raise
        log.error(
            "%s: index %s (%s) not built, the service runs without it: %s",
            collection.name, name, _shown(keys), " ".join(str(error).split()),
        )  # fmt: skip
        return None


def _same(info: dict, keys: list[tuple[str, int]], unique: bool) -> bool:
    """An existing index serves as ours: the same keys in order, as unique, over every document."""
    if "partialFilterExpression" in info or info.get("sparse") or "collation" in info:
        return False
    found = [(field, int(direction)) if isinstance(direction, int | float) else (field, direction)
             for field, direction in info["key"]]  # fmt: skip
    return found == list(keys) and bool(info.get("unique")) == unique


def _shown(keys) -> str:
    return ", ".join(f"{field} {direction}" for field, direction in keys)
