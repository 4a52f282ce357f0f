"""Full backups (`db backup --full`) and their verified restore (`db restore`).

A backup taken while events stream in is private (0600), holds every event acknowledged before it began,
every issued record and every key (the root key only when asked), and restores into a working instance
whose records verify. A tampered backup is refused with each problem named, and the live instance is left
exactly as it was.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import stat
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from donoharm import create_app
from donoharm.audit import make_checkpoint
from donoharm.backup import full as full_backup
from donoharm.db import connect
from donoharm.db import maintenance as maintenance_db
from donoharm.services.library import get_registry
from tests.conftest import Api, attestation, complete_answers, event, login


def _instance(tmp_path: Path, name: str):
    return create_app({"TESTING": True, "INSTANCE": tmp_path / name, "SECRET_KEY": "test"})


def _submitted(app, api: Api, label: str) -> str:
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    run_id = api.start_run(label=label)
    assert api.send(run_id, *complete_answers(protocol), attestation()).status_code == 200
    return run_id


def _records(app) -> list[dict]:
    db = connect(app.config["DATABASE"])
    try:
        return [dict(r) for r in db.execute("SELECT id, run_id, path, sha256 FROM records").fetchall()]
    finally:
        db.conn.close()


def _tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` (and every folder), by relative path: the instance's exact state."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:*") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _event_ids(db_bytes: bytes, tmp_path: Path) -> set[str]:
    path = tmp_path / "inspect.db"
    path.write_bytes(db_bytes)
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM events")}
    finally:
        conn.close()
        path.unlink()


@pytest.fixture
def populated(signed_app, users):
    """An instance with a submitted (recorded) run, a run in progress and a signed checkpoint."""
    acc = Api(signed_app, "acc")
    submitted = _submitted(signed_app, acc, "OP-TEST-001")
    open_run = acc.start_run(label="OP-TEST-002")
    assert acc.send(open_run, event("note", note="Staff arrived.")).status_code == 200
    assert signed_app.test_cli_runner().invoke(args=["db", "checkpoint"]).exit_code == 0
    assert _records(signed_app), "the submitted run should have a signed record"
    return {"app": signed_app, "acc": acc, "submitted": submitted, "open": open_run}


def test_a_full_backup_taken_while_events_stream_holds_everything_acknowledged_and_restores(
        populated, tmp_path, monkeypatch):
    app = populated["app"]
    writer = Api(app, "acc")  # its own client: the writer thread uses nothing else
    streaming = writer.start_run(label="OP-TEST-003")
    acked: list[str] = []
    failures: list[int] = []
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            sent = event("note", note="Staff are on site.")
            response = writer.send(streaming, sent)
            (acked.append(sent["id"]) if response.status_code == 200 else failures.append(response.status_code))

    # Around the backup's database snapshot, the app goes on working: a record is issued just before it (after
    # the keys and checkpoints were read), then more events are acknowledged and a checkpoint is signed.
    marks: dict[str, int] = {}
    snapshot = full_backup.snapshot_database
    late = Api(app, "acc2")

    def snapshot_while_writing(source, dest):
        marks["late_run"] = _submitted(app, late, "OP-TEST-004")
        marks["at_snapshot"] = len(acked)
        snapshot(source, dest)
        deadline = time.monotonic() + 20
        while len(acked) < marks["at_snapshot"] + 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        marks["after_snapshot"] = len(acked)
        with app.app_context():
            make_checkpoint(app)  # names chain heads the snapshot does not have: must not be in the archive

    monkeypatch.setattr(full_backup, "snapshot_database", snapshot_while_writing)
    thread = threading.Thread(target=write)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while len(acked) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        acknowledged_before = list(acked)
        archive = tmp_path / "backups" / "instance.tar.gz"
        archive.parent.mkdir()
        result = app.test_cli_runner().invoke(args=["db", "backup", "--full", str(archive)])
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert not failures
    assert len(acknowledged_before) >= 5 and marks["after_snapshot"] >= marks["at_snapshot"] + 5

    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert [p.name for p in archive.parent.iterdir()] == [archive.name]  # no temporary file left behind
    members = _members(archive)
    manifest = json.loads(members.pop("manifest.json"))
    assert set(manifest["files"]) == set(members)
    for name, data in members.items():
        assert manifest["files"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}, name
    assert manifest["root_key_included"] is False and manifest["migration"]
    names = set(members)
    assert {"instance/donoharm.db", "instance/signing.key", "instance/signing.pem",
            "instance/signing-root.pem"} <= names
    assert "instance/signing-root.key" not in names
    assert any(name.startswith("instance/checkpoints/checkpoint-") for name in names)
    assert not any(name.endswith((".lock", "-wal", "-shm")) for name in names)
    issued = {record["run_id"]: record for record in _records(app)}
    assert {populated["submitted"], marks["late_run"]} <= set(issued)
    for record in issued.values():
        assert hashlib.sha256(members[f"instance/{record['path']}"]).hexdigest() == record["sha256"]
    in_backup = _event_ids(members["instance/donoharm.db"], tmp_path)
    assert set(acknowledged_before) <= in_backup  # every event acknowledged before the backup began
    assert set(acked[:marks["at_snapshot"]]) <= in_backup

    # Restored into a new instance: the app starts, serves the runs, and the records and the instance verify.
    fresh = _instance(tmp_path, "restored")
    result = fresh.test_cli_runner().invoke(args=["db", "restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert "no records root key" in result.output
    restored = _instance(tmp_path, "restored")
    client = restored.test_client()
    login(client, "acc")
    for run_id in (populated["submitted"], populated["open"]):
        body = client.get(f"/api/v1/runs/{run_id}").get_json()
        original = populated["acc"].get(f"/api/v1/runs/{run_id}").get_json()
        assert body["events"] == original["events"] and body["run"]["head_hash"] == original["run"]["head_hash"]
    streamed = client.get(f"/api/v1/runs/{streaming}").get_json()["events"]
    live = populated["acc"].get(f"/api/v1/runs/{streaming}").get_json()["events"]
    assert streamed == live[:len(streamed)]  # one consistent moment of the chain
    runner = restored.test_cli_runner()
    for record in _records(restored):
        checked = runner.invoke(args=["records", "verify", str(tmp_path / "restored" / record["path"])])
        assert checked.exit_code == 0, checked.output
    verified = runner.invoke(args=["db", "verify"])  # chains, records and the newest checkpoint it holds
    assert verified.exit_code == 0, verified.output
    assert stat.S_IMODE((tmp_path / "restored" / "signing.key").stat().st_mode) == 0o600


def test_the_root_key_is_backed_up_only_when_asked(populated, tmp_path):
    app = populated["app"]
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "backup", "--full", str(tmp_path / "plain.tar")]).exit_code == 0
    result = runner.invoke(args=["db", "backup", "--full", "--with-root-key", str(tmp_path / "offline.tar")])
    assert result.exit_code == 0, result.output
    assert "instance/signing-root.key" not in _members(tmp_path / "plain.tar")
    members = _members(tmp_path / "offline.tar")
    assert members["instance/signing-root.key"] == (Path(app.instance_path) / "signing-root.key").read_bytes()
    assert json.loads(members["manifest.json"])["root_key_included"] is True


def _rebuild(source: Path, dest: Path, change, update_manifest: bool = True) -> None:
    """Write a copy of an archive with `change(members)` applied, its manifest updated to match unless asked."""
    members = _members(source)
    manifest = json.loads(members.pop("manifest.json"))
    extra = change(members) or []
    if update_manifest:
        manifest["files"] = {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                             for name, data in members.items()}
    with tarfile.open(dest, "w:gz") as tar:
        for name, data in [*members.items(), ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)


def _edit_database(members, statement):
    """Run one SQL statement on the database inside an archive's members."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "edit.db"
        path.write_bytes(members["instance/donoharm.db"])
        conn = sqlite3.connect(path)
        conn.execute(statement)
        conn.commit()
        conn.close()
        members["instance/donoharm.db"] = path.read_bytes()


def _edit_event(members):
    _edit_database(members, "UPDATE events SET note = 'changed afterwards' WHERE note = 'Staff arrived.'")


def _record_path_outside(members):
    _edit_database(members, "UPDATE records SET path = '../outside/record.pdf'")


def _record(members):
    return next(name for name in members if name.startswith("instance/records/"))


def _other_key(members):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    members["instance/signing.key"] = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption())


def _evil(members):
    info = tarfile.TarInfo("../evil")
    info.size = 1
    return [info]


def _link(members):
    info = tarfile.TarInfo("instance/secret_key")
    info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    return [info]


TAMPERING = {
    "an edited event": (_edit_event, True, "its content does not match its hash"),
    "a changed record file": (lambda m: m.__setitem__(_record(m), m[_record(m)][:-10] + b"%%EOF\n\n\n\n\n"), True,
                              "differs from the one issued (sha256)"),
    "a missing record file": (lambda m: m.pop(_record(m)) and None, True, "the signed file is missing"),
    "a key that does not match its certificate": (_other_key, True, "signing.key does not match its certificate"),
    "a record path outside the instance": (_record_path_outside, True, "leads outside the instance"),
    "a file that differs from the manifest": (lambda m: m.__setitem__("instance/signing.pem", b"changed"), False,
                                              "instance/signing.pem: does not match its sha256 in the manifest"),
    "a member outside the folder": (_evil, True, "'../evil' would be written outside the restore folder"),
    "a link": (_link, True, "'instance/secret_key' is a link or device"),
}


@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_a_tampered_backup_is_refused_and_changes_nothing(populated, tmp_path, tampering):
    app = populated["app"]
    runner = app.test_cli_runner()
    good = tmp_path / "good.tar.gz"
    assert runner.invoke(args=["db", "backup", "--full", str(good)]).exit_code == 0
    change, update_manifest, problem = TAMPERING[tampering]
    bad = tmp_path / "bad.tar.gz"
    _rebuild(good, bad, change, update_manifest)
    instance = Path(app.instance_path)
    before = _tree(instance)

    result = runner.invoke(args=["db", "restore", "--replace", str(bad)])
    assert result.exit_code == 1, result.output
    assert problem in result.output
    assert "nothing was restored" in result.output
    assert _tree(instance) == before  # byte for byte, and nothing left behind
    assert not (tmp_path / "evil").exists()


def test_the_untampered_backup_restores_over_the_instance_and_keeps_the_old_files_aside(populated, tmp_path):
    app = populated["app"]
    runner = app.test_cli_runner()
    archive = tmp_path / "good.tar.gz"
    assert runner.invoke(args=["db", "backup", "--full", str(archive)]).exit_code == 0
    refused = runner.invoke(args=["db", "restore", str(archive)])
    assert refused.exit_code == 1 and "already has users or runs" in refused.output
    instance = Path(app.instance_path)
    before = _tree(instance)
    result = runner.invoke(args=["db", "restore", "--replace", str(archive)])
    assert result.exit_code == 0, result.output
    aside = [p for p in instance.iterdir() if p.name.startswith("before-restore-")]
    assert len(aside) == 1 and str(aside[0]) in result.output
    assert _tree(aside[0]) == before
    assert not [p for p in instance.iterdir() if p.name.startswith(".restore-")]
    # What was set aside is never backed up again.
    again = tmp_path / "again.tar"
    assert runner.invoke(args=["db", "backup", "--full", str(again)]).exit_code == 0
    assert not any("before-restore-" in name for name in _members(again))


def test_a_database_restore_checks_the_record_files_of_the_instance(populated, tmp_path):
    app = populated["app"]
    backup = tmp_path / "backup.db"
    assert app.test_cli_runner().invoke(args=["db", "backup", str(backup)]).exit_code == 0
    fresh = _instance(tmp_path, "rebuilt")  # the instance files were not put back
    before = _tree(tmp_path / "rebuilt")
    result = fresh.test_cli_runner().invoke(args=["db", "restore", str(backup)])
    assert result.exit_code == 1
    assert "the signed file is missing (records/" in result.output
    assert _tree(tmp_path / "rebuilt") == before


def test_into_a_folder_keeps_the_newest_archives_and_never_touches_other_files(populated, tmp_path):
    app = populated["app"]
    folder = tmp_path / "backups"
    folder.mkdir()
    old = ["donoharm-full-20200101T000000Z.tar.gz", "donoharm-full-20210101T000000Z.tar.gz",
           "donoharm-full-20220101T000000Z.tar.gz"]
    unrelated = ["notes.txt", "donoharm-20200101T0000.db", "donoharm-full-latest.tar.gz", "other.tar.gz"]
    for name in old + unrelated:
        (folder / name).write_text("kept by someone")
    app.config["BACKUP_KEEP"] = "2"
    result = app.test_cli_runner().invoke(args=["db", "backup", "--full", "--into", str(folder)])
    assert result.exit_code == 0, result.output
    made = [p.name for p in folder.glob("donoharm-full-2*.tar.gz") if p.name not in old]
    assert len(made) == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted([*made, old[-1], *unrelated])
    assert stat.S_IMODE((folder / made[0]).stat().st_mode) == 0o600
    db = connect(app.config["DATABASE"])
    try:
        assert maintenance_db.last_task(db, "backup")["ok"] == 1
    finally:
        db.conn.close()
    # With no DEST and no --into, the configured folder is used.
    app.config["BACKUP_DIR"] = str(folder)
    assert app.test_cli_runner().invoke(args=["db", "backup", "--full"]).exit_code == 0
    assert len(list(folder.glob("donoharm-full-2*.tar.gz"))) == 2


def _unwritable_folder(tmp_path, monkeypatch) -> Path:
    """A folder this process cannot write: by its mode, or as root (whom modes do not stop) by the kernel's
    answer to a user without the right, EACCES, when anything is created in it."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o500)
        return folder
    real_open, real_mkdir = os.open, os.mkdir

    def refused(path) -> bool:
        return Path(path).parent == folder

    def deny(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", lambda p, *a, **k: deny() if refused(p) else real_open(p, *a, **k))
    monkeypatch.setattr(os, "mkdir", lambda p, *a, **k: deny() if refused(p) else real_mkdir(p, *a, **k))
    return folder


@pytest.mark.parametrize("args", [["--full"], []], ids=["full", "database"])
def test_a_folder_the_user_cannot_write_is_named_clearly(populated, tmp_path, monkeypatch, args):
    app = populated["app"]
    folder = _unwritable_folder(tmp_path, monkeypatch)
    result = app.test_cli_runner().invoke(args=["db", "backup", *args, str(folder / "backup.tar.gz")])
    assert result.exit_code == 1
    assert f"cannot write to the folder {folder} (permission denied" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    monkeypatch.undo()
    if args:
        db = connect(app.config["DATABASE"])
        try:
            last = maintenance_db.last_task(db, "backup")
        finally:
            db.conn.close()
        assert last["ok"] == 0 and str(folder) in last["detail"]


@pytest.mark.parametrize("args", [["--full"], []], ids=["full", "database"])
def test_an_existing_destination_is_refused(populated, tmp_path, args):
    dest = tmp_path / "backup.tar.gz"
    dest.write_text("an earlier backup")
    result = populated["app"].test_cli_runner().invoke(args=["db", "backup", *args, str(dest)])
    assert result.exit_code == 1 and "exists already" in result.output
    assert dest.read_text() == "an earlier backup"


def test_an_organisations_pkcs12_is_backed_up_and_restored_beside_the_instance(populated, tmp_path, key_folder):
    app = populated["app"]
    key = serialization.load_pem_private_key((key_folder / "signing.key").read_bytes(), None)
    from cryptography import x509

    cert = x509.load_pem_x509_certificate((key_folder / "signing.pem").read_bytes())
    p12 = tmp_path / "etc" / "signing.p12"
    p12.parent.mkdir()
    data = pkcs12.serialize_key_and_certificates(b"org", key, cert, None,
                                                 serialization.BestAvailableEncryption(b"test-p12-password"))
    p12.write_bytes(data)
    app.config["SIGNING_P12"] = str(p12)
    archive = tmp_path / "with-p12.tar.gz"
    result = app.test_cli_runner().invoke(args=["db", "backup", "--full", str(archive)])
    assert result.exit_code == 0, result.output
    assert _members(archive)["external/signing.p12"] == data

    fresh = _instance(tmp_path, "restored")
    fresh.config.update(SIGNING_P12=str(p12), SIGNING_P12_PASSWORD="test-p12-password")
    result = fresh.test_cli_runner().invoke(args=["db", "restore", str(archive)])
    assert result.exit_code == 0, result.output
    copies = list((tmp_path / "restored" / "restored-settings").glob("signing-*.p12"))
    assert len(copies) == 1 and copies[0].read_bytes() == data and str(copies[0]) in result.output
    assert p12.read_bytes() == data and "DONOHARM_SIGNING_P12 was not changed" in result.output


def test_a_swap_that_fails_halfway_puts_every_file_back(tmp_path, monkeypatch):
    from donoharm.backup import swap

    instance, staged = tmp_path / "instance", tmp_path / "staged"
    for folder, names in ((instance, ["donoharm.db", "signing.key", "secret_key"]), (staged, ["donoharm.db", "x"])):
        (folder / "records").mkdir(parents=True)
        for name in names:
            (folder / name).write_text(f"{folder.name} {name}")
    before = _tree(instance), _tree(staged)
    real_rename, calls = os.rename, []

    def rename(source, dest):
        calls.append(source)
        if len(calls) == 6:  # after the old files went aside and one new file came in
            raise OSError(5, "Input/output error")
        real_rename(source, dest)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError):
        swap.swap_in(instance, staged, instance / "before-restore-test")
    assert (_tree(instance), _tree(staged)) == before


def test_a_full_backup_needs_a_destination(populated):
    result = populated["app"].test_cli_runner().invoke(args=["db", "backup", "--full"])
    assert result.exit_code == 1 and "set DONOHARM_BACKUP_DIR" in result.output


def test_a_restore_while_the_database_is_open_elsewhere_is_refused(populated, tmp_path):
    app = populated["app"]
    runner = app.test_cli_runner()
    archive = tmp_path / "good.tar.gz"
    assert runner.invoke(args=["db", "backup", "--full", str(archive)]).exit_code == 0
    server = connect(app.config["DATABASE"])  # as a running server holds it
    try:
        server.execute("SELECT count(*) FROM runs").fetchone()
        before = _tree(Path(app.instance_path))
        result = runner.invoke(args=["db", "restore", "--replace", str(archive)])
        assert result.exit_code == 1 and "stop the server first" in result.output
        assert _tree(Path(app.instance_path)) == before
    finally:
        server.conn.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can restore into a folder another user owns")
def test_root_is_told_to_restore_as_the_service_user(populated, tmp_path):
    app = populated["app"]
    runner = app.test_cli_runner()
    archive = tmp_path / "good.tar.gz"
    assert runner.invoke(args=["db", "backup", "--full", str(archive)]).exit_code == 0
    instance = Path(app.instance_path)
    os.chown(instance, 65534, 65534)
    try:
        result = runner.invoke(args=["db", "restore", "--replace", str(archive)])
    finally:
        os.chown(instance, 0, 0)
    assert result.exit_code == 1 and "not as root" in result.output


def test_a_backup_of_an_instance_with_a_missing_record_file_is_written_but_fails(populated, tmp_path):
    app = populated["app"]
    record = _records(app)[0]
    (Path(app.instance_path) / record["path"]).unlink()
    archive = tmp_path / "backup.tar.gz"
    result = app.test_cli_runner().invoke(args=["db", "backup", "--full", str(archive)])
    assert result.exit_code == 1
    assert f"record {record['id']}: the signed file {record['path']} is missing" in result.output
    assert archive.exists() and "a restore would refuse this backup" in result.output
    db = connect(app.config["DATABASE"])
    try:
        assert maintenance_db.last_task(db, "backup")["ok"] == 0
    finally:
        db.conn.close()


def test_a_manifest_cannot_make_the_restore_move_a_file_from_elsewhere(populated, tmp_path):
    app = populated["app"]
    good = tmp_path / "good.tar.gz"
    assert app.test_cli_runner().invoke(args=["db", "backup", "--full", str(good)]).exit_code == 0
    sentinel = tmp_path / "elsewhere.p12"
    sentinel.write_text("not part of any backup")
    members = _members(good)
    manifest = json.loads(members.pop("manifest.json"))
    members["external/note.txt"] = b"a folder to climb out of"
    manifest["files"]["external/note.txt"] = {"sha256": hashlib.sha256(members["external/note.txt"]).hexdigest(),
                                              "size": len(members["external/note.txt"])}
    # From <instance>/.restore-*/unpacked/, four levels up is tmp_path.
    manifest["signing_p12"] = {"member": f"external/../../../../{sentinel.name}", "configured_path": "/etc/x.p12"}
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        for name, data in [*members.items(), ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    fresh = _instance(tmp_path, "restored")
    result = fresh.test_cli_runner().invoke(args=["db", "restore", str(bad)])
    assert result.exit_code == 0, result.output
    assert sentinel.read_text() == "not part of any backup"
    assert not (tmp_path / "restored" / "restored-settings").exists()
