"""Before a restore: does every private key match its certificate, and was every signing certificate issued
by a records root this instance trusts? A key that does not match would sign nothing verifiable."""
from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ..records.detached import issued_by

ROOT_CERT = "signing-root.pem"
ROOTS_DIR = "roots"


def _public(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _certificate(path: Path, problems: list[str]) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as error:
        problems.append(f"{path.name}: not a readable certificate ({error})")
        return None


def _roots(folder: Path, problems: list[str]) -> list[x509.Certificate]:
    """The current root and every retired one kept in roots/ (records/roots.py)."""
    paths = [folder / ROOT_CERT] if (folder / ROOT_CERT).exists() else []
    if (folder / ROOTS_DIR).is_dir():
        paths += sorted((folder / ROOTS_DIR).glob("*.pem"))
    return [cert for path in paths if (cert := _certificate(path, problems)) is not None]


def key_problems(folder: Path) -> tuple[int, list[str]]:
    """Check every `<name>.key` in `folder` against `<name>.pem` and every signing certificate against the roots.

    Returns (keys checked, problems)."""
    problems: list[str] = []
    keys = 0
    for key_path in sorted(folder.glob("*.key")):
        keys += 1
        cert_path = key_path.with_suffix(".pem")
        if not cert_path.is_file():
            problems.append(f"{key_path.name}: no certificate {cert_path.name} beside it")
            continue
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as error:
            problems.append(f"{key_path.name}: not a readable private key ({error})")
            continue
        cert = _certificate(cert_path, problems)
        if cert is not None and _public(key.public_key()) != _public(cert.public_key()):
            problems.append(f"{key_path.name} does not match its certificate {cert_path.name}")
    roots = _roots(folder, problems)
    for cert_path in sorted(folder.glob("signing*.pem")):
        if cert_path.name == ROOT_CERT or (cert := _certificate(cert_path, problems)) is None:
            continue
        if not any(issued_by(cert, root) for root in roots):
            problems.append(f"{cert_path.name} was not issued by {ROOT_CERT} nor by a root kept in {ROOTS_DIR}/")
    return keys, problems


def p12_problems(path: Path, password: str | None) -> tuple[bool, list[str]]:
    """Check an organisation's PKCS#12: (checked, problems). Unchecked when it cannot be opened with `password`."""
    try:
        key, cert, _chain = pkcs12.load_key_and_certificates(path.read_bytes(),
                                                             password.encode() if password else None)
    except (OSError, ValueError, TypeError):
        return False, []  # e.g. DONOHARM_SIGNING_P12_PASSWORD is not set on this server yet
    if key is None or cert is None:
        return True, [f"{path.name}: the PKCS#12 holds no key or no certificate"]
    if _public(key.public_key()) != _public(cert.public_key()):
        return True, [f"{path.name}: its key does not match its certificate"]
    return True, []
