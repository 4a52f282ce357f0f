"""POST /api/v1/protocols and GET /api/v1/protocols/<id>/diff: publish, refuse, compare."""
from __future__ import annotations

from pathlib import Path

from donoharm.db import connect
from donoharm.protocols import MAX_BYTES
from tests.protocol_factory import accompaniment_1_3_0, as_yaml, document


def post_yaml(client, text, content_type="application/yaml"):
    return client.post("/api/v1/protocols", data=text, headers={"Content-Type": content_type})


def uploads(app):
    db = connect(app.config["DATABASE"])
    try:
        return [dict(r) for r in db.execute("SELECT protocol_id, version, sha256 FROM protocol_uploads")]
    finally:
        db.conn.close()


def test_trainer_publishes_a_version_and_it_is_listed(api, app):
    trainer = api("trainer")
    response = trainer.client.post("/api/v1/protocols", data=accompaniment_1_3_0(),
                                   headers={"X-CSRFToken": trainer.csrf, "Content-Type": "application/yaml"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["id"], body["version"], body["created"]) == ("social-worker-accompaniment", "1.3.0", True)
    listed = {(p["id"], p["version"]): p for p in trainer.get("/api/v1/protocols").get_json()}
    assert listed[("social-worker-accompaniment", "1.3.0")]["sha256"] == body["sha256"]
    one = trainer.get("/api/v1/protocols/social-worker-accompaniment/1.3.0").get_json()
    assert one["sha256"] == body["sha256"]
    assert any(s["id"] == "water-and-food-offered" for p in one["phases"] for s in p["steps"])


def test_same_content_again_is_acknowledged_and_stored_once(api, app):
    trainer = api("trainer")
    headers = {"X-CSRFToken": trainer.csrf}
    first = trainer.client.post("/api/v1/protocols", data=accompaniment_1_3_0(), headers=headers)
    # Re-indented YAML with keys in another order is the same content (same canonical sha256).
    import yaml
    reordered = yaml.safe_dump(yaml.safe_load(accompaniment_1_3_0()), sort_keys=True, indent=4)
    again = trainer.client.post("/api/v1/protocols", data=reordered, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["sha256"] == first.get_json()["sha256"]
    assert again.get_json()["created"] is False
    assert len(uploads(app)) == 1


def test_identical_copy_of_a_shipped_file_is_acknowledged_not_stored(api, app):
    trainer = api("admin")
    text = (Path(app.config["PROTOCOLS_DIR"]) / "social-worker-accompaniment" / "1.1.0.yaml").read_text("utf-8")
    response = trainer.client.post("/api/v1/protocols", data=text, headers={"X-CSRFToken": trainer.csrf})
    assert response.status_code == 200
    assert uploads(app) == []


def test_different_content_under_a_published_version_is_409_and_not_stored(api, app):
    trainer = api("trainer")
    headers = {"X-CSRFToken": trainer.csrf}
    changed_shipped = document(id="social-worker-accompaniment", version="1.1.0")
    response = trainer.client.post("/api/v1/protocols", data=as_yaml(changed_shipped), headers=headers)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "version_conflict"
    assert "social-worker-accompaniment 1.1.0" in error["message"]
    assert trainer.client.post("/api/v1/protocols", data=as_yaml(document()), headers=headers).status_code == 201
    other = as_yaml(document(title="Another title"))
    assert trainer.client.post("/api/v1/protocols", data=other, headers=headers).status_code == 409
    assert [u["protocol_id"] for u in uploads(app)] == ["test-protocol"]


def test_invalid_yaml_is_422_with_lines_and_nothing_stored(api, app):
    trainer = api("trainer")
    headers = {"X-CSRFToken": trainer.csrf}
    broken = trainer.client.post("/api/v1/protocols", data="id: x\nversion: [1.0\n", headers=headers)
    assert broken.status_code == 422
    assert broken.get_json()["error"]["details"][0]["line"] >= 2
    doc = document()
    doc["phases"][1]["steps"][0]["kind"] = "signature"
    text = as_yaml(doc)
    response = trainer.client.post("/api/v1/protocols", data=text, headers=headers)
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    kind_line = next(n for n, line in enumerate(text.splitlines(), 1) if "signature" in line)
    assert {"line": kind_line, "message": details[0]["message"]} in details
    assert "unknown step kind 'signature'" in details[0]["message"]
    assert uploads(app) == []


def test_oversize_upload_is_413(api, app):
    trainer = api("trainer")
    text = as_yaml(document()) + "#" * MAX_BYTES
    response = trainer.client.post("/api/v1/protocols", data=text, headers={"X-CSRFToken": trainer.csrf})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert uploads(app) == []


def test_other_roles_get_403_and_anonymous_401(api, app, client):
    for name in ("acc", "sup"):
        user = api(name)
        response = user.client.post("/api/v1/protocols", data=as_yaml(document()),
                                    headers={"X-CSRFToken": user.csrf})
        assert response.status_code == 403, name
        assert response.get_json()["error"]["code"] == "forbidden"
    assert client.post("/api/v1/protocols", data=as_yaml(document())).status_code == 401
    assert uploads(app) == []


def test_diff_between_shipped_and_uploaded_versions(api):
    trainer = api("trainer")
    trainer.client.post("/api/v1/protocols", data=accompaniment_1_3_0(), headers={"X-CSRFToken": trainer.csrf})
    reader = api("acc")
    diff = reader.get("/api/v1/protocols/social-worker-accompaniment/diff?from=1.1.0&to=1.3.0").get_json()
    assert [s["id"] for s in diff["added"]] == ["water-and-food-offered"]
    assert diff["removed"] == [] and diff["moved"] == []
    assert [c["id"] for c in diff["changed"]] == ["arrival-time"]
    text = diff["changed"][0]["changes"]["text"]
    assert text["from"] == "At what time did the NGO team arrive?"
    assert {"op": "insert", "text": "social worker reach the venue"} in text["redline"]
    assert diff["to"]["changelog"].startswith("Changes since 1.1.0")


def test_diff_refuses_missing_and_unknown_versions(api):
    reader = api("acc")
    assert reader.get("/api/v1/protocols/social-worker-accompaniment/diff?from=1.0.0").status_code == 400
    missing = reader.get("/api/v1/protocols/social-worker-accompaniment/diff?from=1.0.0&to=9.9.9")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"


def test_upload_and_diff_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/protocols"] and "get" in paths["/api/v1/protocols"]
    assert "get" in paths["/api/v1/protocols/{protocol_id}/diff"]


def test_version_published_by_another_process_is_visible_without_restart(app, users):
    from donoharm import create_app
    from tests.conftest import Api

    # A second app on the same instance folder stands for another gunicorn worker.
    other = create_app({"TESTING": True, "INSTANCE": Path(app.instance_path), "SECRET_KEY": "test"})
    reader = Api(other, "acc")
    assert reader.get("/api/v1/protocols/test-protocol/1.0.0").status_code == 404
    trainer = Api(app, "trainer")
    assert trainer.client.post("/api/v1/protocols", data=as_yaml(document()),
                               headers={"X-CSRFToken": trainer.csrf}).status_code == 201
    assert reader.get("/api/v1/protocols/test-protocol/1.0.0").status_code == 200
    trainer.client.post("/protocols/test-protocol/1.0.0/retire", data={"csrf_token": trainer.csrf})
    statuses = {(p["id"], p["version"]): p["status"] for p in reader.get("/api/v1/protocols").get_json()}
    assert statuses[("test-protocol", "1.0.0")] == "retired"
