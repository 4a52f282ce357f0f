"""The one-time setup link for the first administrator, from the command line."""


def test_setup_link_command_gives_a_working_link_until_an_admin_exists(app, runner):
    result = runner.invoke(args=["users", "setup-link"])
    assert result.exit_code == 0, result.output
    url = result.output.split()[1]
    assert url.startswith("http://127.0.0.1:5000/setup?token=")
    path = url.removeprefix("http://127.0.0.1:5000")
    assert app.test_client().get(path).status_code == 200
    runner.invoke(args=["users", "create", "boss", "--role", "admin", "--password-stdin"],
                  input="field lantern basement 7\n")
    result = runner.invoke(args=["users", "setup-link"])
    assert result.exit_code == 1 and "an administrator exists already" in result.output
    assert app.test_client().get(path).status_code == 404


def test_the_setup_link_is_printed_by_flask_run_and_gunicorn_only():
    from donoharm.accounts.setup import serving as _serving

    assert _serving(["/x/.venv/bin/flask", "--app", "app", "run", "--port", "5000"])
    assert _serving(["/x/.venv/bin/gunicorn", "app:app"])
    # python -m gunicorn: the record worker thread must start there too, or records wait for a download
    assert _serving(["/x/.venv/lib/python3.11/site-packages/gunicorn/__main__.py", "--workers", "2", "app:app"])
    assert not _serving(["/x/.venv/lib/python3.11/site-packages/flask/__main__.py", "--app", "app", "db", "migrate"])
    assert not _serving(["/x/.venv/bin/flask", "--app", "app", "runs", "purge-practice"])
    assert not _serving(["/x/.venv/bin/flask", "--app", "app", "users", "create", "run"])


def test_the_setup_link_uses_the_configured_base_url(app, runner):
    app.config["BASE_URL"] = "https://records.example.org"
    result = runner.invoke(args=["users", "setup-link"])
    assert result.output.split()[1].startswith("https://records.example.org/setup?token=")


def test_workers_starting_together_announce_one_link(app):
    from donoharm.accounts.setup import announced_setup_link
    from donoharm.db import connect

    database = app.config["DATABASE"]
    db = connect(database)
    db.execute("DELETE FROM setup_tokens")  # the test app made one at start; as if no worker had yet
    db.conn.close()
    first = announced_setup_link(database)
    assert first and first.startswith("/setup?token=")
    assert announced_setup_link(database) is None  # the second worker prints nothing
    assert app.test_client().get(first).status_code == 200
