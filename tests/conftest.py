"""Shared fixtures: an app on a temporary instance folder, its client and CLI runner."""
from __future__ import annotations

import pytest

from donoharm import create_app


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE": tmp_path / "instance", "SECRET_KEY": "test"})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
