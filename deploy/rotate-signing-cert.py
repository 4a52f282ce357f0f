"""Issue a new signing certificate from the instance's existing records root; old records keep verifying.

Usage (server stopped, as the service user): .venv/bin/python deploy/rotate-signing-cert.py /var/lib/donoharm
The old signing.key/signing.pem are kept beside the new ones as signing-<UTC time>.key/.pem.
Only for the generated keys; with DONOHARM_SIGNING_P12, ask your CA for a new certificate from the same root.
To replace the root itself (older records keep verifying), use `flask --app app records rotate-root` instead.
A running app picks up the new certificate at its next signature; restarting it does so at once.
"""
from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

ROOT_KEY, ROOT_CERT, SIGN_KEY, SIGN_CERT = "signing-root.key", "signing-root.pem", "signing.key", "signing.pem"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def rotate(instance: Path, years: int = 10) -> Path:
    """Replace signing.key/.pem with a new pair issued by signing-root; return where the old pair went."""
    root_key = serialization.load_pem_private_key((instance / ROOT_KEY).read_bytes(), None)
    root = x509.load_pem_x509_certificate((instance / ROOT_CERT).read_bytes())
    old = x509.load_pem_x509_certificate((instance / SIGN_CERT).read_bytes())
    now = datetime.now(UTC) - timedelta(minutes=5)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    leaf = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(root.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=365 * years))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    kept = instance / f"signing-{stamp}"
    _write_private(kept.with_suffix(".key"), (instance / SIGN_KEY).read_bytes())
    kept.with_suffix(".pem").write_bytes((instance / SIGN_CERT).read_bytes())
    _write_private(instance / SIGN_KEY, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    (instance / SIGN_CERT).write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    return kept


if __name__ == "__main__":
    if len(sys.argv) != 2 or not (Path(sys.argv[1]) / ROOT_KEY).exists():
        sys.exit(__doc__)
    previous = rotate(Path(sys.argv[1]))
    print(f"New signing certificate in place; the previous pair is kept as {previous}.key/.pem. Restart the app.")
