"""Readings as CSV or NDJSON, produced row by row from a cursor.

CSV columns: ``_id, sensor, type, timestamp, value``, then the other top-level
fields of the first reading in its order, then ``extra``; no column name is
used twice (see ``header``). A field that a later reading has and the header
lacks is never dropped: it goes into that row's ``extra`` cell, as a JSON
object. Dates are ISO 8601 UTC; objects and arrays are Extended JSON text in
their cell.

Text that a spreadsheet would read as a formula (a cell or a header starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a ``'`` in
front, as OWASP advises for CSV injection; numbers stay numbers (``-2.5`` as
a number is written as is, ``"-2+3"`` as text becomes ``'-2+3``).
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import chain

from bson import ObjectId

from .extjson import dumps, iso_utc, lines
from .queries import ExportQuery

FIXED_COLUMNS = ("_id", "sensor", "type", "timestamp", "value")
EXTRA = "extra"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 64 * 1024  # bytes handed to the server at a time
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}


def filename(query: ExportQuery) -> str:
    """Name the file after its filters: ``readings-kitchen-temperature.csv``."""
    parts = ["readings"] + [part for part in (query.filters.sensor, query.filters.type) if part]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts))
    return f"{stem}.{query.format}"


def cell(value) -> str:
    """Format one value for a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, int | float | ObjectId):
        return str(value)
    if isinstance(value, str):
        return text(value)
    return dumps(value).decode()  # "{..." or "[...": never a formula


def text(value: str) -> str:
    """Text for a cell, with a ``'`` in front if a spreadsheet would take it for a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def header(columns: list[str]) -> list[str]:
    """Name the columns, then ``extra``: neutralised, and no name used twice.

    A name that neutralising leaves as it is stays; one it changes, then
    ``extra``, gets one more ``_`` until it is unique. So a field named
    ``'=x`` keeps that name, and a field ``=x`` beside it is ``'=x_``.
    """
    taken = {column for column in columns if text(column) == column}
    names = []
    for column in columns:
        name = text(column)
        if name != column:
            while name in taken:
                name += "_"
            taken.add(name)
        names.append(name)
    extra = EXTRA
    while extra in taken:
        extra += "_"
    return [*names, extra]


def _chunks(pieces: Iterable[bytes]) -> Iterator[bytes]:
    buffer, size = [], 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


def ndjson(readings: Iterable[dict]) -> Iterator[bytes]:
    """Yield readings as newline-delimited Extended JSON, in chunks."""
    return _chunks(lines(readings))


def csv_lines(readings: Iterable[dict]) -> Iterator[bytes]:
    """Yield a header and one line per reading, in chunks."""
    return _chunks(_csv_lines(iter(readings)))


def _csv_lines(readings: Iterator[dict]) -> Iterator[bytes]:
    first = next(readings, None)
    others = [key for key in (first or {}) if key not in FIXED_COLUMNS]
    columns = [*FIXED_COLUMNS, *others]
    known = set(columns)
    line = io.StringIO()
    writer = csv.writer(line, lineterminator="\r\n")  # RFC 4180

    def render(row: list[str]) -> bytes:
        line.seek(0)
        line.truncate()
        writer.writerow(row)
        return line.getvalue().encode()

    yield render(header(columns))
    if first is None:
        return
    for reading in chain((first,), readings):
        extra = {key: value for key, value in reading.items() if key not in known}
        row = [cell(reading.get(column)) for column in columns]
        yield render([*row, dumps(extra).decode() if extra else ""])
