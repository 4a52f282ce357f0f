"""Every root certificate the instance ever signed under, and `records rotate-root` to make a new one.

The current root is `signing-root.pem` in the instance folder. A root that was replaced is kept, certificate
only, as `roots/<sha256>.pem` with `roots/<sha256>.json` ({"subject", "not_before", "not_after",
"retired_at"}): verification trusts it for signatures made before `retired_at`, so no record ever becomes
unverifiable. Its private key is not kept: nothing needs it once a new root signs, and keeping it would let
whoever reads the folder make new certificates under a root that is still trusted.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from flask import current_app
from flask.cli import with_appcontext

ROOTS_DIR = "roots"


def fingerprint(cert: x509.Certificate) -> str:
    """A certificate's SHA-256 fingerprint as AA:BB:… (what people compare by another channel)."""
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


@dataclass(frozen=True)
class Root:
    """A root certificate this instance trusts, with the period it signed in."""

    certificate: x509.Certificate
    current: bool
    retired_at: datetime | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)

    @property
    def file_id(self) -> str:
        """The fingerprint as lower-case hex without colons (file names, URLs)."""
        return self.fingerprint.replace(":", "").lower()

    @property
    def not_before(self) -> datetime:
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    @property
    def subject(self) -> str:
        names = self.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(names[0].value) if names else self.certificate.subject.rfc4514_string()

    @property
    def asn1(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.certificate.public_bytes(serialization.Encoding.DER))

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def load_roots(instance: Path, current: x509.Certificate) -> list[Root]:
    """The current root first, then every retired one kept in `roots/`, most recently retired first."""
    roots = [Root(current, current=True)]
    seen = {fingerprint(current)}
    retired = []
    folder = instance / ROOTS_DIR
    for pem in sorted(folder.glob("*.pem")) if folder.is_dir() else []:
        cert = x509.load_pem_x509_certificate(pem.read_bytes())
        if fingerprint(cert) in seen:
            continue
        seen.add(fingerprint(cert))
        meta_path = pem.with_suffix(".json")
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        retired_at = datetime.fromisoformat(meta["retired_at"]) if meta.get("retired_at") else None
        retired.append(Root(cert, current=False, retired_at=retired_at))
    retired.sort(key=lambda r: r.retired_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return roots + retired


def retire(instance: Path, cert: x509.Certificate, when: datetime) -> Path:
    """Keep a root certificate (not its key) in roots/ with the time it stopped signing; return its .pem."""
    folder = instance / ROOTS_DIR
    folder.mkdir(exist_ok=True)
    root = Root(cert, current=False, retired_at=when)
    meta = {"fingerprint": root.fingerprint, "subject": root.subject, "not_before": root.not_before.isoformat(),
            "not_after": root.not_after.isoformat(), "retired_at": when.isoformat()}
    (folder / f"{root.file_id}.json").write_text(json.dumps(meta, indent=2) + "\n")
    (folder / f"{root.file_id}.pem").write_bytes(root.pem)  # written last: the .pem is what makes it trusted
    return folder / f"{root.file_id}.pem"


def rotate_root(instance: Path, organisation: str, now: datetime | None = None) -> tuple[Root, Root, list[Path]]:
    """Make a new root and a signing certificate it issued; keep the old root's certificate, drop its keys.

    Returns the old root, the new one and the signing keys kept by earlier signing-certificate rotations
    (signing-<time>.key, issued under the old root too) that were removed with it."""
    import fcntl

    from .signing import ROOT_CERT, ROOT_KEY, SIGN_CERT, SIGN_KEY, generate_keys

    now = now or datetime.now(UTC)
    with open(instance / "signing.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # not while a starting worker generates the first keys
        old = x509.load_pem_x509_certificate((instance / ROOT_CERT).read_bytes())
        staging = instance / ".rotate-root"
        staging.mkdir(mode=0o700, exist_ok=True)
        generate_keys(staging, organisation)
        retire(instance, old, now)  # first: the old root stays trusted whatever happens next
        for name in (ROOT_KEY, ROOT_CERT, SIGN_KEY, SIGN_CERT):  # replaces the old keys; signing.pem last
            os.replace(staging / name, instance / name)
        staging.rmdir()
        removed = sorted(path for path in instance.glob("signing-*.key") if path.name != ROOT_KEY)
        for path in removed:
            path.unlink()
    new = x509.load_pem_x509_certificate((instance / ROOT_CERT).read_bytes())
    return Root(old, current=False, retired_at=now), Root(new, current=True), removed


@click.command("rotate-root")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def rotate_root_command(yes: bool) -> None:
    """Make a new records root certificate and signing certificate; older records keep verifying."""
    app = current_app  # command-line output stays in English, as every command's does
    instance = Path(app.instance_path)
    if app.config.get("SIGNING_P12"):
        click.echo("Records are signed with your organisation's own certificate (DONOHARM_SIGNING_P12): its "
                   "certificate authority issues new roots and certificates. Ask it for a new certificate, point "
                   "DONOHARM_SIGNING_P12 at it, and, if it chains to a new root, put the old root certificate "
                   f"(PEM) into {instance / ROOTS_DIR} so that older records keep verifying.", err=True)
        sys.exit(1)
    from .signing import SIGN_CERT

    if not (instance / SIGN_CERT).exists():
        click.echo("This instance has no signing keys yet: they are made on first start.", err=True)
        sys.exit(1)
    if not yes:
        click.confirm("Make a new root certificate? Records signed from now on chain to it; older records keep "
                      "verifying under the old root, whose private key is removed from this folder.", abort=True)
    from ..services.organisation import organisation_name

    old, new, removed = rotate_root(instance, organisation_name(app._get_current_object()))
    app.extensions.pop("donoharm_signing", None)
    click.echo(f"New root certificate: {new.fingerprint}")
    click.echo(f"Retired root, still trusted for records signed before now: {old.fingerprint}")
    click.echo(f"The old root's private key and its signing key were replaced in {instance}.")
    for path in removed:
        click.echo(f"Removed an older signing key issued under the old root: {path}")
    click.echo("Running workers sign with the new certificate from their next record (restarting the app does it "
               "at once). Back up the instance folder now, roots/ included. Older backups still hold the old "
               "root's private key: destroy those copies or keep them offline.")
