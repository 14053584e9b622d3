"""The form bodies of the original protocol: every part named, every byte UTF-8, like JSON."""

import pytest
from conftest import multipart, only, problem_body

READING = b'{"sensor": "pi", "value": 1}'
MULTIPART = "multipart/form-data; boundary=X"
URLENCODED = "application/x-www-form-urlencoded"


def bad_form(*errors):
    detail = f"{len(errors)} problem{'s' if len(errors) > 1 else ''} in the form"
    return problem_body(400, "Bad Request", detail, list(errors))


@pytest.mark.parametrize("params", [b"", b'; filename="r.json"'])
def test_a_part_without_a_name_is_refused_beside_an_unknown_one(client, readings, params):
    # Once a 500: the unnamed part's name (None) was sorted with the other names.
    body = multipart((params, b"1"), (b'; name="extra"', b"2"), (b'; name="reading"', READING))
    response = client.post("/readings/", data=body, content_type=MULTIPART)
    assert response.status_code == 400
    assert response.json == bad_form(
        {"field": "body", "detail": "a part of the form has no name; send the reading as 'reading'"},
        {"field": "extra", "detail": "unknown form field; send the reading as 'reading'"},
    )
    assert readings.count() == 0


def test_part_headers_that_are_not_utf8_are_refused(client, readings):
    body = multipart((b'; name="\xff\xfe"', b"1"), (b'; name="reading"', READING))
    response = client.post("/readings/", data=body, content_type=MULTIPART)
    assert response.status_code == 400
    assert response.json == bad_form(
        {"field": "body", "detail": "not valid multipart/form-data: part headers that are not UTF-8"}
    )
    assert readings.count() == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"reading=%7B%22sensor%22%3A%22a%FF%22%7D", URLENCODED),  # a percent-escape of a lone byte
        (multipart((b'; name="reading"', b'{"sensor": "a\xff"}')), MULTIPART),
        (multipart((b'; name="reading"; filename="r.json"', b'{"sensor": "a\xff"}')), MULTIPART),
    ],
)
def test_a_reading_that_is_not_utf8_is_refused_as_in_json(client, readings, body, content_type):
    response = client.post("/readings/", data=body, content_type=content_type)
    assert response.status_code == 400
    [error] = response.json["errors"]
    assert error["field"] == "reading"
    assert error["detail"].startswith("not valid JSON: str is not valid UTF-8")
    assert readings.count() == 0


def test_an_urlencoded_body_that_is_not_utf8_is_refused(client, readings):
    response = client.post("/readings/", data=b"reading=\xff", content_type=URLENCODED)
    assert response.status_code == 400
    assert response.json == bad_form({"field": "body", "detail": "not valid UTF-8 (byte 8)"})
    assert readings.count() == 0


def test_a_field_name_that_is_not_utf8_is_named_with_escapes(client, readings):
    response = client.post("/readings/", data=b"%FF=1&reading=%7B%7D", content_type=URLENCODED)
    assert response.status_code == 400
    assert response.json == bad_form(
        {"field": "\\xff", "detail": "unknown form field; send the reading as 'reading'"}
    )
    assert readings.count() == 0


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (multipart((b'; name="reading"', READING)), "multipart/form-data", "no boundary"),
        (
            multipart((b'; name="reading"', READING)),
            "multipart/form-data; boundary*=utf-8''%E2%82%AC",
            "a boundary must be ASCII",
        ),
        (multipart((b'; name="reading"', READING))[:-9], MULTIPART, "cut short"),
        (
            b"--X\r\nContent-Type: text/plain\r\n\r\n{}\r\n--X--\r\n",
            MULTIPART,
            "Missing Content-Disposition header",
        ),
    ],
)
def test_a_multipart_body_that_cannot_be_read_is_refused(client, readings, body, content_type, detail):
    response = client.post("/readings/", data=body, content_type=content_type)
    assert response.status_code == 400
    assert response.json == bad_form({"field": "body", "detail": f"not valid multipart/form-data: {detail}"})
    assert readings.count() == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"reading=%7B%22sensor%22%3A%22caf%C3%A9%22%7D", URLENCODED),
        ('reading={"sensor":"café"}'.encode(), URLENCODED),
        (multipart((b'; name="reading"', '{"sensor": "café"}'.encode())), MULTIPART),
    ],
)
def test_utf8_text_in_a_form_is_kept(client, readings, body, content_type):
    response = client.post("/readings/", data=body, content_type=content_type)
    assert response.status_code == 201
    assert only(readings)["sensor"] == "café"
