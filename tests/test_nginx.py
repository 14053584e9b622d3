"""deploy/nginx.conf in front of the web process, run by Debian's nginx on loopback ports.

The file is used as shipped, but for its two addresses (nginx's listen port
and the service's) and with the paths an unprivileged nginx needs (pid, logs,
temporary files) in a folder of the test's own.
"""

import json
import shutil
import socket
import subprocess
import time

import pytest
from conftest import ROOT
from webserver import Web, call, free_port

pytestmark = pytest.mark.e2e
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


@pytest.fixture
def proxy(tmp_path):
    """(the nginx address, the service behind it)."""
    if NGINX is None:
        pytest.skip("nginx is not installed (.ci/run installs it)")
    folder = tmp_path
    web = Web({"SQLITE_PATH": str(folder / "readings.sqlite3"), "RATE_LIMIT": "off", "FORWARDED_HOPS": "1"})
    port = free_port()
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server 127.0.0.1:5000;" in site and "listen 80;" in site
    site = site.replace("server 127.0.0.1:5000;", f"server 127.0.0.1:{web.port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    (folder / "site.conf").write_text(site)
    (folder / "nginx.conf").write_text(
        f"""daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
"""
    )
    nginx = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")], stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert nginx.poll() is None, (folder / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not listen within 10 s"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", web
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        web.stop()


def test_requests_pass_through_with_their_request_id(proxy):
    base, web = proxy
    status, health = call(base + "/")
    assert (status, health["status"]) == (200, "OK")
    status, created = call(base + "/readings/", {"sensor": "through-nginx", "value": 3})
    assert status == 201
    assert call(base + "/readings/?sensor=through-nginx") == (200, [created])
    call(base + "/readings/?limit=1", headers={"X-Request-ID": "via-nginx"})
    lines = [line for line in web.stop().splitlines() if "request_id=via-nginx" in line]
    assert len(lines) == 1
    assert "method=GET path=/readings/ status=200" in lines[0]


def read_answer(sock) -> tuple[bytes, bytes]:
    """The head and body of one answer with a Content-Length (nginx keeps the socket open a while after)."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(4096)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:]
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head, body


def test_a_body_over_the_limit_is_refused_before_100_continue(proxy):
    base, _ = proxy
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /readings/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 99000000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        head, body = read_answer(sock)
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 413 Request Entity Too Large"
    assert b"Content-Type: application/problem+json" in head
    assert json.loads(body) == {
        "type": "about:blank",
        "title": "Request Entity Too Large",
        "status": 413,
        "detail": "the body is larger than the limit, 4194304 bytes",
    }
