"""Every limit and shape a request is checked against, declared once.

Plain values, no imports: the reading validator (``validation``), the
schemas of query strings and rules (``schemas``), the OpenAPI document
(``openapi``) and the docs' tables all read them from here, and
``tests/test_openapi.py`` fails if the served document says otherwise.
Patterns are regular expressions without anchors (werkzeug's URL converters
anchor their own); ``anchored`` gives the JSON Schema form.
"""

# A label: a reading's sensor and type, a rule's name and sensor, an API key's name.
MAX_LABEL_LENGTH = 200
# An ObjectId: 24 hexadecimal digits (in a URL, or as {"$oid": ...}).
OBJECT_ID = "[0-9a-fA-F]{24}"
# A duration: a whole number (at most 9 digits) and a unit.
DURATION = "([1-9][0-9]{0,8})([smhdw])"
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# A field name, at any depth of a reading: not empty, no '$' first, no '.' or NUL
# (what MongoDB refuses somewhere on a write path; refused on every store).
FIELD_NAME = "[^$.\x00][^.\x00]*"
# A field named by its dotted path (stats, threshold rules): field names joined by '.'.
FIELD_PATH = rf"{FIELD_NAME}(\.{FIELD_NAME})*"
MAX_FIELD_PATH = 200
# The dashboard's overview (GET /sensors/overview): sensors a page, by default and at most
# (each costs a latest reading and a day's statistics), and its window of hourly averages.
OVERVIEW_PAGE_SIZE = 50
MAX_OVERVIEW_PAGE_SIZE = 100
OVERVIEW_HOURS = 24
# Alert rules.
RULE_KINDS = ("threshold", "quiet")
MAX_RULE_DURATION_SECONDS = 366 * 86400
MAX_TARGETS = 10


def anchored(pattern: str) -> str:
    """The pattern as JSON Schema wants it: matching the whole string."""
    return f"^{pattern}$"
