"""The package, the factory and the process settings."""

from conftest import ROOT, run_python


def test_importing_the_package_builds_no_app():
    result = run_python("import flask_rest_service as m; print('app' in vars(m))")
    assert result.stdout == "False\n"


def test_procfile_target_is_built_on_first_use_even_with_the_database_away(dead_port):
    code = "import flask_rest_service as m; print(m.app.config['STORE_KIND'], m.app is m.app)"
    uri = f"mongodb://127.0.0.1:{dead_port}/plant"
    result = run_python(code, MONGO_URL=uri, MONGO_TIMEOUT_MS="200", CREATE_INDEXES="0")
    assert result.stdout == "mongodb True\n"
    assert "could not check API keys (ServerSelectionTimeoutError)" in result.stderr


def test_embedded_store_warns_loudly_at_start_up():
    result = run_python("import flask_rest_service as m; m.app")
    assert "EMBEDDED STORE" in result.stderr
    assert "data is not persisted; set MONGO_URL" in result.stderr


def test_procfile_runs_gunicorn_on_the_package():
    assert (ROOT / "Procfile").read_text().splitlines()[0] == "web: gunicorn flask_rest_service:app"


def gunicorn_settings(**environ):
    code = (
        "import runpy; s = runpy.run_path('gunicorn.conf.py'); "
        "print(s['workers'], s['bind'], s['timeout'], s['graceful_timeout'], s.get('accesslog'), s['forwarded_allow_ips'])"
    )
    return run_python(code, **environ).stdout.split()


def test_gunicorn_runs_one_worker_on_the_embedded_store():
    assert gunicorn_settings(WEB_CONCURRENCY="4", PORT="8123")[:2] == ["1", "0.0.0.0:8123"]


def test_gunicorn_fits_herokus_limits():
    # Heroku's router drops a request after 30 s and kills a dyno 30 s after SIGTERM.
    workers, bind, timeout, graceful, accesslog, forwarded = gunicorn_settings(PORT="5000")
    assert int(timeout) < 30 and int(graceful) < 30
    assert (accesslog, forwarded) == ("None", "*")  # the service logs each request itself


def test_gunicorn_runs_web_concurrency_workers_on_mongodb():
    assert gunicorn_settings(WEB_CONCURRENCY="4", MONGO_URL="mongodb://db/x")[0] == "4"
