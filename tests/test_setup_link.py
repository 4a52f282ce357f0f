"""The one-time setup link for the first administrator, from the command line."""


def test_setup_link_command_gives_a_working_link_until_an_admin_exists(app, runner):
    result = runner.invoke(args=["users", "setup-link"])
    assert result.exit_code == 0, result.output
    path = result.output.split()[1]
    assert path.startswith("/setup?token=")
    assert app.test_client().get(path).status_code == 200
    runner.invoke(args=["users", "create", "boss", "--role", "admin", "--password-stdin"],
                  input="field lantern basement 7\n")
    result = runner.invoke(args=["users", "setup-link"])
    assert result.exit_code == 1 and "an administrator exists already" in result.output
    assert app.test_client().get(path).status_code == 404


def test_the_setup_link_is_printed_by_flask_run_and_gunicorn_only():
    from donoharm.auth import _serving

    assert _serving(["/x/.venv/bin/flask", "--app", "app", "run", "--port", "5000"])
    assert _serving(["/x/.venv/bin/gunicorn", "app:app"])
    assert not _serving(["/x/.venv/bin/flask", "--app", "app", "runs", "purge-practice"])
    assert not _serving(["/x/.venv/bin/flask", "--app", "app", "users", "create", "run"])
