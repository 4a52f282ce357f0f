"""Every page is valid HTML by the W3C Nu HTML Checker (vnu), for each role, in English and Khmer.

The pages are rendered with the test client and checked together in one run of the checker (Java starts slowly).
`make test` installs the checker (npm `vnu-jar`, into the gitignored .vnu folder) and Java (Debian's
default-jre-headless, scripts/system-deps.sh). Only pages are checked: the records' print-only CSS
(WeasyPrint's `running()`, `element()`) is not for browsers and vnu would flag it.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from donoharm import create_app
from donoharm.db import connect
from donoharm.db import users as users_db
from tests.browser import make_sample_runs, page_paths
from tests.conftest import PASSWORD_HASH, csrf_from, login
from tests.protocol_factory import accompaniment_1_3_0

VNU = Path(__file__).resolve().parent.parent / ".vnu/node_modules/vnu-jar/build/dist/vnu.jar"
JAVA = shutil.which("java")
ROLES = [None, "acc", "sup", "trainer", "admin"]
LANGUAGES = ["en", "km"]
BROKEN_YAML = "id: example\nversion: 1.0.0\nphases:\n  - id: before\n    steps:\n      - id: one\n     kind: check\n"

pytestmark = pytest.mark.skipif(not (JAVA and VNU.exists()),
                                reason="the W3C checker needs Java and .vnu/ (`make test` installs both)")


def posted_pages(client, language):
    """Pages that only a form's answer shows: the trainer's upload preview and its error page."""
    headers = {"Accept-Language": language}
    for name, text in (("upload-preview", accompaniment_1_3_0()), ("upload-errors", BROKEN_YAML)):
        data = {"csrf_token": csrf_from(client, "/protocols/new"), "text": text}
        response = client.post("/protocols/new", data=data, content_type="multipart/form-data", headers=headers)
        yield name, response


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Every HTML page for every role and language, written to files: {file name: (role, language, path)}."""
    app = create_app({"TESTING": True, "INSTANCE": tmp_path_factory.mktemp("w3c") / "instance", "SECRET_KEY": "test"})
    # The first administrator's form, which page_paths leaves out: shown only with the token, before any admin.
    setup_path = f"/setup?token={app.extensions['donoharm.setup_token']}"
    setup = {language: [("/setup", app.test_client().get(setup_path, headers={"Accept-Language": language}))]
             for language in LANGUAGES}
    assert all(pages[0][1].status_code == 200 for pages in setup.values())
    db = connect(app.config["DATABASE"])
    for name, role in [("acc", "accompanier"), ("sup", "supervisor"), ("trainer", "trainer"), ("admin", "admin")]:
        users_db.create_user(db, name, PASSWORD_HASH, role)
    db.conn.close()
    sample = make_sample_runs(app)
    folder = tmp_path_factory.mktemp("pages")
    files = {}
    for role in ROLES:
        for language in LANGUAGES:
            client = app.test_client()
            if role:
                login(client, role)
            gets = ((path, client.get(path, headers={"Accept-Language": language})) for path in page_paths(app, sample))
            posts = posted_pages(client, language) if role == "trainer" else ()
            for path, response in [*gets, *posts, *(setup[language] if not role else [])]:
                with response:  # files sent as they are (icons, PDFs) are closed, read or not
                    if not response.content_type.startswith("text/html") or 300 <= response.status_code < 400:
                        continue
                    html = response.get_data(as_text=True)
                assert re.search(rf'<html lang="{language}"[ >]', html), (role, language, path)
                slug = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "home"
                name = f"{role or 'signed-out'}-{language}-{slug}.html"
                (folder / name).write_text(html, encoding="utf-8")
                files[name] = (role or "signed out", language, path)
    return folder, files


def test_every_page_is_valid_html(rendered):
    folder, files = rendered
    assert len(files) > 100  # every role and language: a broken walk would pass with nothing checked
    names = sorted(files)
    result = subprocess.run([JAVA, "-jar", str(VNU), "--format", "json", "--exit-zero-always",
                             *(str(folder / name) for name in names)],
                            capture_output=True, text=True, timeout=600)
    report = json.loads(result.stderr or result.stdout)
    errors = [m for m in report["messages"] if m["type"] == "error" or m.get("subType") == "fatal"]
    found = sorted({f"{files[Path(unquote(urlparse(m['url']).path)).name]} line {m.get('lastLine')}: {m['message']}"
                    for m in errors})
    assert not found, "\n".join(found[:60])
