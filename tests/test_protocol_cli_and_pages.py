"""The protocols CLI and the protocol pages, as a trainer and an accompanier use them."""
from __future__ import annotations

import re
from pathlib import Path

import click

from tests.protocol_factory import as_yaml, document

ROOT = Path(__file__).resolve().parent.parent


def test_check_all_shipped_protocols_passes(runner):
    result = runner.invoke(args=["protocols", "check"])
    assert result.exit_code == 0, result.output
    assert f"{len(list((ROOT / 'protocols').glob('*/*.yaml')))} file(s) OK" in result.output


def test_check_reports_file_and_line_and_exits_1(runner, tmp_path):
    bad = tmp_path / "test-protocol" / "1.0.0.yaml"
    bad.parent.mkdir()
    doc = document()
    doc["phases"][0]["steps"][1]["kind"] = "signature"
    bad.write_text(as_yaml(doc))
    result = runner.invoke(args=["protocols", "check", str(bad)])
    assert result.exit_code == 1
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if "signature" in text)
    assert re.search(rf"test-protocol/1\.0\.0\.yaml:{line}: unknown step kind 'signature'", result.output)
    assert "Traceback" not in result.output


def test_check_a_missing_path(runner, tmp_path):
    result = runner.invoke(args=["protocols", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "no such file" in result.output


def test_check_finds_two_contents_under_one_version(runner, tmp_path):
    for folder, title in (("a", "One"), ("b", "Two")):
        path = tmp_path / folder / "test-protocol" / "1.0.0.yaml"
        path.parent.mkdir(parents=True)
        path.write_text(as_yaml(document(title=title)))
    result = runner.invoke(args=["protocols", "check", str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 1
    assert "already published with different content" in result.output


def test_list_shows_every_version_with_hash_and_steps(runner, app):
    result = runner.invoke(args=["protocols", "list"])
    assert result.exit_code == 0
    rows = [line.split("\t") for line in result.output.strip().splitlines()]
    shipped = {(path.parent.name, path.stem) for path in (ROOT / "protocols").glob("*/*.yaml")}
    assert {(r[0], r[1]) for r in rows} == shipped
    assert {("social-worker-accompaniment", "1.0.0"), ("social-worker-accompaniment", "2.0.0"),
            ("immigration-separation", "1.1.0"), ("non-coerced-adults", "2.0.0")} <= shipped
    accompaniment = next(r for r in rows if r[:2] == ["social-worker-accompaniment", "2.0.0"])
    protocol = app.extensions["donoharm.registry"].get("social-worker-accompaniment", "2.0.0")
    assert accompaniment[2] == protocol.sha256[:12]
    assert accompaniment[4] == f"{len(protocol.steps)} steps"
    assert accompaniment[5] == "current"


def test_an_invalid_file_does_not_stop_the_app(tmp_path):
    from donoharm import create_app

    protocols = tmp_path / "protocols"
    (protocols / "broken").mkdir(parents=True)
    (protocols / "broken" / "1.0.0.yaml").write_text("id: broken\n")
    (protocols / "test-protocol").mkdir()
    (protocols / "test-protocol" / "1.0.0.yaml").write_text(as_yaml(document()))
    app = create_app({"TESTING": True, "INSTANCE": tmp_path / "i", "PROTOCOLS_DIR": str(protocols)})
    response = app.test_client().get("/protocols")
    assert response.status_code == 200
    assert b"Test protocol" in response.data
    assert app.extensions["donoharm.protocol_problems"]


def test_protocol_list_page_shows_current_versions(client, app):
    response = client.get("/protocols")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Protocols</h1>" in html
    registry = app.extensions["donoharm.registry"]
    for protocol_id in registry.ids():
        current = registry.current(protocol_id)
        assert current.title in html
        assert f"/protocols/{protocol_id}/{current.version}" in html
    assert "/protocols/social-worker-accompaniment/1.0.0" in html


def test_protocol_page_renders_every_step_and_links_versions(client, app):
    registry = app.extensions["donoharm.registry"]
    for protocol in registry.all():
        html = client.get(f"/protocols/{protocol.id}/{protocol.version}").get_data(as_text=True)
        assert f"<h1>{protocol.title}</h1>" in html.replace("&#39;", "'")
        for phase in protocol.phases:
            assert f'id="phase-{phase.id}"' in html
        for step in protocol.steps:
            assert f'id="step-{step.id}"' in html
        assert html.count('class="critical-badge"') == len(protocol.critical_steps) + 1
        assert protocol.sha256 in html
    html = client.get("/protocols/social-worker-accompaniment/1.0.0").get_data(as_text=True)
    assert 'href="/protocols/social-worker-accompaniment/1.1.0"' in html


def test_unknown_protocol_version_is_404(client):
    assert client.get("/protocols/social-worker-accompaniment/9.9.9").status_code == 404
    assert client.get("/protocols/nope/1.0.0").status_code == 404


def _commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}"


def test_every_cli_command_is_in_the_readme(app):
    readme = (ROOT / "README.md").read_text()
    ours = [c for c in _commands(app.cli) if c.split()[0] not in ("run", "shell", "routes")]
    assert ours, "the app registers CLI commands"
    for command in ours:
        assert f"flask --app app {command}" in readme, f"README does not document '{command}'"

