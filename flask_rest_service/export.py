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
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime
from itertools import chain, islice, repeat
from types import NoneType

import orjson
from bson import ObjectId

from .extjson import dumps, iso_utc, iso_utc_all, lines
from .queries import ExportQuery

FIXED_COLUMNS = ("_id", "sensor", "type", "timestamp", "value")
EXTRA = "extra"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 64 * 1024  # bytes handed to the server at a time
ROWS = 1000  # CSV rows formatted together, a column at a time
_AS_STR = {int, float, ObjectId}  # the classes whose cell is str(value)
_NUMBERS = {int, float}
_BOOLS = {True: "true", False: "false"}
# What makes csv.writer quote a cell (QUOTE_MINIMAL): the delimiter, the
# quote character, a line break.
_QUOTED = (",", '"', "\r", "\n")
# Where orjson's text for a number is not str's: an exponent ("1e+16", "2.5e-7";
# str's is "2.5e-07"), nan and infinities (orjson's "null"), and the floats
# under 1e-4 that orjson writes without one ("0.00001", str's "1e-05"; a
# larger number holding "0.0000", "10.00001", is only a false alarm).
_NOT_STR = (b"e", b"n", b"0.0000")
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


def cells(values: list) -> tuple[list[str], Collection[str]]:
    """Format one column of a batch as ``cell`` formats each value; also the texts that might need quoting.

    A Python call per cell was most of the export's time, so a column whose
    values share a kind (as a batch's usually do) is formatted with calls
    made in C: one orjson call for numbers and one for dates, ``str`` on
    ids, one look at each distinct text for a formula. Any other column is
    formatted a cell at a time. Numbers, ids and dates never hold a
    character that needs quoting, so only text is handed back to look at:
    each distinct text once, as a sensor's name repeats down its column.
    """
    kinds = set(map(type, values))
    if kinds <= _NUMBERS:
        return numbers(values), ()
    if kinds <= _AS_STR:
        return list(map(str, values)), ()
    if kinds == {str}:
        distinct = set(values)
        if any(map(str.startswith, distinct, repeat(FORMULA_STARTS))):
            return list(map(text, values)), distinct
        return values, distinct
    if kinds == {datetime}:
        return iso_utc_all(values), ()
    if kinds == {NoneType}:
        return [""] * len(values), ()
    if kinds == {bool}:
        return list(map(_BOOLS.__getitem__, values)), ()
    texts = list(map(cell, values))
    return texts, texts


def numbers(values: list[int | float]) -> list[str]:
    """Format ints and floats as ``str`` does, in one orjson call when its text is the same."""
    try:
        written = orjson.dumps(values)  # b"[1,2.5,...]": shortest round-trip digits, as str's
    except orjson.JSONEncodeError:  # an int past 64 bits
        return list(map(str, values))
    if any(map(written.__contains__, _NOT_STR)):
        return list(map(str, values))
    return written[1:-1].decode().split(",") if values else []


def extra_cells(batch: list[dict], known: set[str]) -> tuple[list[str], Collection[str]]:
    """The ``extra`` cell of each reading, and the texts to look at for quoting (see ``cells``).

    The cell holds the fields the header lacks, as a JSON object, or nothing.
    """
    if set().union(*batch) <= known:  # the usual case: no reading has any
        return [""] * len(batch), ()
    texts = [_extra(reading, known) for reading in batch]
    return texts, texts


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
    return ndjson_batches(_batched(readings))


def ndjson_batches(batches: Iterable[list[dict]]) -> Iterator[bytes]:
    """Yield batches of readings as newline-delimited Extended JSON, in chunks, one batch held at a time."""
    return _chunks(chain.from_iterable(map(lines, batches)))


def csv_lines(readings: Iterable[dict]) -> Iterator[bytes]:
    """Yield a header and one line per reading, in chunks."""
    return csv_batches(_batched(readings))


def csv_batches(batches: Iterable[list[dict]]) -> Iterator[bytes]:
    """Yield a header and one line per reading of each batch, in chunks, one batch held at a time.

    The store's batches are bounded by bytes as well as count
    (``Readings.export_batches``), so big readings come a few at a time.
    """
    return _chunks(_csv_lines(iter(batches)))


def _batched(readings: Iterable[dict]) -> Iterator[list[dict]]:
    readings = iter(readings)
    while batch := list(islice(readings, ROWS)):
        yield batch


def _csv_lines(batches: Iterator[list[dict]]) -> Iterator[bytes]:
    batch = next(batches, None)
    first = batch[0] if batch else None
    columns = [*FIXED_COLUMNS, *(key for key in first or () if key not in FIXED_COLUMNS)]
    known = set(columns)
    yield _written([header(columns)]).encode()
    while batch:
        for rows in _batched(batch):  # ROWS at most, formatted together a column at a time
            values = (list(map(dict.get, rows, repeat(column))) for column in columns)
            yield csv_text([*map(cells, values), extra_cells(rows, known)]).encode()
        batch = next(batches, None)


def csv_text(columns: list[tuple[list[str], Collection[str]]]) -> str:
    """Write the rows these columns of cells make as CSV lines, exactly as ``csv.writer`` does.

    Each column comes with the texts that might need quoting (see
    ``cells``). When none does, csv.writer's output is the cells joined by
    commas and the rows by CRLF, which is written directly; otherwise the
    writer writes the batch.
    """
    rows = list(zip(*(texts for texts, _ in columns), strict=True))
    looked = "".join(chain.from_iterable(looked for _, looked in columns))
    if any(map(looked.__contains__, _QUOTED)):
        return _written(rows)
    return "\r\n".join(map(",".join, rows)) + "\r\n"


def _written(rows: Iterable[Iterable[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)  # RFC 4180
    return out.getvalue()
