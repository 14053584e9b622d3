"""Readings as CSV or NDJSON, produced a batch of rows at a time from a cursor.

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
from itertools import chain, islice, repeat
from types import NoneType

from bson import ObjectId

from .extjson import dumps, iso_utc, iso_utc_all, lines
from .queries import ExportQuery

FIXED_COLUMNS = ("_id", "sensor", "type", "timestamp", "value")
EXTRA = "extra"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 64 * 1024  # bytes handed to the server at a time
ROWS = 1000  # CSV rows formatted together, a column at a time
_AS_STR = {int, float, ObjectId}  # the classes whose cell is str(value)
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


def cells(values: list) -> list[str]:
    """Format one column of a batch as ``cell`` formats each value.

    A Python call per cell was most of the export's time, so a column whose
    values share a kind (as a batch's usually do) is formatted with calls
    made in C: ``str`` on numbers and ids, one orjson call for dates, one
    pass to see that no text needs neutralising. Any other column is
    formatted a cell at a time.
    """
    kinds = set(map(type, values))
    if kinds <= _AS_STR:
        return list(map(str, values))
    if kinds == {str}:  # each distinct text looked at once: a sensor's name repeats down its column
        if any(map(str.startswith, set(values), repeat(FORMULA_STARTS))):
            return list(map(text, values))
        return values
    if kinds == {datetime}:
        return iso_utc_all(values)
    if kinds == {NoneType}:
        return [""] * len(values)
    return list(map(cell, values))


def extra_cells(batch: list[dict], known: set[str]) -> list[str]:
    """The ``extra`` cell of each reading: the fields the header lacks as a JSON object, or empty."""
    if all(map(known.issuperset, batch)):  # the usual case: no reading has any
        return [""] * len(batch)
    return [_extra(reading, known) for reading in batch]


def _extra(reading: dict, known: set[str]) -> str:
    extra = {key: value for key, value in reading.items() if key not in known}
    return dumps(extra).decode() if extra else ""


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
    columns = [*FIXED_COLUMNS, *(key for key in first or () if key not in FIXED_COLUMNS)]
    known = set(columns)
    yield _written([header(columns)]).encode()
    if first is None:
        return
    readings = chain((first,), readings)
    while batch := list(islice(readings, ROWS)):
        values = (list(map(dict.get, batch, repeat(column))) for column in columns)
        yield csv_text([*map(cells, values), extra_cells(batch, known)]).encode()


def csv_text(columns: list[list[str]]) -> str:
    """Write the rows these columns of cells make as CSV lines, exactly as ``csv.writer`` does.

    csv.writer looks at each character of each cell to see whether the cell
    needs quoting, which is only when it holds a comma, a double quote or a
    line break (RFC 4180, QUOTE_MINIMAL). When no cell does, its output is
    the cells joined by commas and the rows by CRLF: counting those
    characters in the joined text tells, in a tenth of the writer's time.
    """
    rows = list(zip(*columns, strict=True))
    joined = "\r\n".join(map(",".join, rows)) + "\r\n"
    separators = (len(rows) * (len(columns) - 1), len(rows), len(rows), 0)
    if tuple(map(joined.count, (",", "\r", "\n", '"'))) == separators:  # no cell holds one
        return joined
    return _written(rows)


def _written(rows: Iterable[Iterable[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)  # RFC 4180
    return out.getvalue()
