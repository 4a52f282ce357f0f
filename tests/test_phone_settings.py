"""Settings of the phone's app (issue 20): DONOHARM_PHONE_LOCK_MINUTES, DONOHARM_APP_NAME, DONOHARM_APP_ICON are
checked at start, and reach the pages, the manifest and the neutral page Hide shows."""
from __future__ import annotations

import struct
import zlib

import pytest

from donoharm.config import ConfigError, app_icon, app_name, lock_minutes
from tests.conftest import login


def png(path, width, height):
    """A minimal valid PNG of one colour."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def test_lock_minutes_default_to_five_and_take_a_fraction():
    assert lock_minutes(None) == 5 and lock_minutes(" ") == 5
    assert lock_minutes("2") == 2 and lock_minutes("0.5") == 0.5


@pytest.mark.parametrize("value", ["0", "-1", "five", "0.01", "1441", "nan"])
def test_lock_minutes_out_of_range_or_not_a_number_are_refused(value):
    with pytest.raises(ConfigError, match="DONOHARM_PHONE_LOCK_MINUTES must be a number of minutes"):
        lock_minutes(value)


def test_app_name_is_one_short_line():
    assert app_name(None) is None and app_name("  ") is None
    assert app_name(" Notes ") == "Notes"
    for bad in ["a" * 41, "Two\nlines"]:
        with pytest.raises(ConfigError, match="DONOHARM_APP_NAME"):
            app_name(bad)


def test_app_icon_must_be_a_square_png_of_192_pixels_or_more(tmp_path):
    assert app_icon(None) is None
    good = app_icon(str(png(tmp_path / "icon.png", 192, 192)))
    assert good["width"] == good["height"] == 192
    with pytest.raises(ConfigError, match="names no file"):
        app_icon(str(tmp_path / "missing.png"))
    (tmp_path / "fake.png").write_bytes(b"GIF89a" + b"\x00" * 30)
    with pytest.raises(ConfigError, match="must be a PNG file"):
        app_icon(str(tmp_path / "fake.png"))
    with pytest.raises(ConfigError, match="square PNG of at least 192"):
        app_icon(str(png(tmp_path / "small.png", 64, 64)))
    with pytest.raises(ConfigError, match="square PNG of at least 192"):
        app_icon(str(png(tmp_path / "wide.png", 256, 192)))


def test_a_bad_setting_stops_the_app_at_start(tmp_path, monkeypatch):
    from donoharm import create_app

    monkeypatch.setenv("DONOHARM_PHONE_LOCK_MINUTES", "soon")
    with pytest.raises(ConfigError, match="DONOHARM_PHONE_LOCK_MINUTES"):
        create_app({"TESTING": True, "INSTANCE": tmp_path / "instance", "SECRET_KEY": "test"})


def test_the_pages_carry_the_lock_time_and_a_hide_control(app, client, users):
    app.config["PHONE_LOCK_MINUTES"] = 2
    login(client, "acc")
    html = client.get("/").get_data(as_text=True)
    assert 'data-lock-seconds="120"' in html
    assert 'href="/hidden" data-hide' in html
    assert 'id="vault"' in html and "vault-cover" in html  # covered until the script finds the app unlocked


def test_a_neutral_name_and_icon_reach_the_manifest_and_the_titles(app, client, users, tmp_path):
    icon = png(tmp_path / "neutral.png", 256, 256)
    app.config["APP_NAME"] = "Notes"
    app.config["APP_ICON"] = app_icon(str(icon))
    manifest = client.get("/manifest.webmanifest").get_json()
    assert manifest["name"] == manifest["short_name"] == "Notes"
    assert "harm" not in manifest["description"].lower()
    assert manifest["icons"] == [{"src": "/icon.png", "sizes": "256x256", "type": "image/png", "purpose": "any"}]
    served = client.get("/icon.png")
    assert served.data == icon.read_bytes() and served.mimetype == "image/png"
    served.close()  # a file response: closed, as a server closes it
    html = client.get("/login").get_data(as_text=True)
    assert "<title>" in html and "Do No Harm" not in html.split("</title>")[0]
    assert '<a class="brand" href="/">Notes</a>' in html


def test_the_neutral_page_names_nothing_of_the_app(client):
    response = client.get("/hidden")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Do No Harm" not in html and "app.js" not in html and "manifest" not in html and "icon" not in html
