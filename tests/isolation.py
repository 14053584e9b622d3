"""The tests' environment: nothing the caller exported reaches the service under test.

conftest imports this module before the service, because the environment
is read earlier than any fixture runs: test modules build apps while they
are collected (test_openapi's schemathesis schemas), module-scoped fixtures
build theirs before a function's fixtures (test_properties), and the
service's webhook sender builds its urllib opener, which reads the proxy
variables, when it is imported. So this process's own environment is
cleaned, once, and every process the tests start inherits the cleaned one
(``conftest.ROOT_ENV``).

Removed:

- every variable the service reads (``config.VARIABLES``: ``API_KEYS``,
  ``DYNO``, ``PORT``, ``MONGO_URL``, ...); a test that wants one sets it
  (``monkeypatch.setenv``, or the ``environ`` of ``run_python``);
- every proxy variable, in any case (``http_proxy``, ``HTTPS_PROXY``,
  ``ALL_PROXY``, ``no_proxy``, ...). The tests talk only to 127.0.0.1, and
  urllib, requests and Chromium would send even that through the proxy
  unless ``no_proxy`` names it. Setting ``NO_PROXY=127.0.0.1,localhost``
  instead would not do: urllib takes ``no_proxy`` over ``NO_PROXY`` when both
  are set, and each client reads the list its own way; with no proxy
  variable at all, every client connects directly;
- Flask's own (``FLASK_APP``, ``FLASK_DEBUG``, ...), which the ``flask``
  command in the subprocess tests would read.
"""

import os


def foreign(name: str) -> bool:
    """Whether a variable the caller exported could change what the tests see."""
    return name.lower().endswith("_proxy") or name.startswith("FLASK_")


def clean(environ=os.environ) -> None:
    """Remove from ``environ`` every variable the service or an HTTP client would read."""
    for name in [name for name in environ if foreign(name)]:
        del environ[name]
    # Imported only now: importing the service builds its urllib opener,
    # which keeps whatever proxies the environment names at that moment.
    from flask_rest_service.config import VARIABLES

    for name in VARIABLES:
        environ.pop(name, None)


clean()
