"""The organisation's signing key: a generated root and signing certificate, or an organisation's PKCS#12; loaded
once per worker and reloaded when rotated, with every root this instance trusts. Signing a PDF with it:
records/signing.py."""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Flask, current_app

from ..config import DEFAULT_ORGANISATION, ConfigError, write_private
from ..services.organisation import organisation_name
from .roots import Root, load_roots

ROOT_KEY, ROOT_CERT = "signing-root.key", "signing-root.pem"
SIGN_KEY, SIGN_CERT = "signing.key", "signing.pem"


@dataclass
class SigningKey:
    """A loaded signer (kept between requests: loading an RSA key is the slow part) and its trust root."""

    signer: object
    root_pem: bytes
    root_cert: asn1_x509.Certificate
    subject: str
    private_key: object = None  # the signing certificate's key (cryptography), for receipts and checkpoints
    certificate: x509.Certificate | None = None
    chain: list[x509.Certificate] = field(default_factory=list)  # the signing certificate's issuers
    roots: list[Root] = field(default_factory=list)  # every root ever trusted here, the current one first

    def sign_bytes(self, data: bytes) -> bytes:
        """A detached signature over `data` with the signing key: RSA PKCS#1 v1.5 or ECDSA, SHA-256."""
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

        if isinstance(self.private_key, rsa.RSAPrivateKey):
            return self.private_key.sign(data, PKCS1v15(), hashes.SHA256())
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            return self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))
        raise ValueError("the signing key is neither RSA nor EC")

    @functools.cached_property  # every receipt carries it; a key's certificate never changes (rotation loads anew)
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @functools.cached_property  # worked out once per loaded key, not for every receipt
    def intermediates_der(self) -> list[bytes]:
        """The certificates between the signing certificate and a trusted root, DER-encoded."""
        roots = {root.public_bytes(serialization.Encoding.DER) for root in trusted_roots(self)}
        found: list[bytes] = []
        for cert in getattr(self.signer, "cert_registry", None) or ():
            der = cert.dump()
            if der != self.certificate_der and der not in roots and der not in found:
                found.append(der)
        return found

    @property
    def root_fingerprint(self) -> str:
        """The root certificate's SHA-256 fingerprint, as AA:BB:… for people to compare."""
        digest = hashlib.sha256(self.root_cert.dump()).hexdigest().upper()
        return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64])])


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def generate_keys(folder: Path, organisation: str) -> None:
    """Create an RSA 3072 root certificate and a signing certificate it issued; keys mode 0600."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    root_name = _name(f"{organisation} records root", organisation)
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=365 * 20))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    sign_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    leaf = (x509.CertificateBuilder().subject_name(_name(f"{organisation} audit records", organisation))
            .issuer_name(root_name).public_key(sign_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=365 * 10))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    write_private(folder / ROOT_KEY, _pem_key(root_key))
    write_private(folder / SIGN_KEY, _pem_key(sign_key))
    (folder / ROOT_CERT).write_bytes(root.public_bytes(serialization.Encoding.PEM))
    # Written last: its presence means the other three are complete.
    (folder / SIGN_CERT).write_bytes(leaf.public_bytes(serialization.Encoding.PEM))


def _ensure_keys(instance: Path, organisation: str) -> None:
    """Generate the keys once, even when several server workers start at the same moment."""
    import fcntl

    if (instance / SIGN_CERT).exists():
        return
    if organisation.strip() in ("", DEFAULT_ORGANISATION):
        # The certificate names the organisation for as long as it signs (ten years): never a placeholder.
        raise ConfigError("DONOHARM_ORGANISATION is not set and no organisation name was chosen (at /setup or on "
                          "the settings page): the signing certificate created now would name "
                          f"'{DEFAULT_ORGANISATION}' on every record; set your organisation's name first")
    with open(instance / "signing.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait, then find the files made
        if not (instance / SIGN_CERT).exists():
            generate_keys(instance, organisation)


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _asn1_key(key) -> asn1_keys.PrivateKeyInfo:
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return asn1_keys.PrivateKeyInfo.load(der)


def _signer(leaf: x509.Certificate, key, chain: list[x509.Certificate]):
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    class LoadedKeySigner(SimpleSigner):
        """SimpleSigner re-parses its key for every raw signature (~110 ms each, twice); keep it parsed."""

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
            if isinstance(key, rsa.RSAPrivateKey) and mechanism["algorithm"].native in (
                    "rsassa_pkcs1v15", "sha256_rsa", "sha384_rsa", "sha512_rsa"):
                return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
            return super().sign_raw(data, digest_algorithm)

    return LoadedKeySigner(signing_cert=_asn1_cert(leaf), signing_key=_asn1_key(key),
                           cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(c) for c in chain]))


def load_signing_key(instance: Path, organisation: str, p12_path: str | None = None,
                     p12_password: str | None = None) -> SigningKey:
    """Load the organisation's PKCS#12 if configured, else the instance's keys (made on first use)."""
    if p12_path:
        password = p12_password.encode() if p12_password else None
        try:
            data = Path(p12_path).read_bytes()
        except OSError as error:
            raise ConfigError(f"DONOHARM_SIGNING_P12 ({p12_path}) cannot be read by this user ({error.strerror}): "
                              "make it readable by the service, e.g. chown root:donoharm and chmod 0640") from None
        try:
            key, leaf, extra = pkcs12.load_key_and_certificates(data, password)
        except ValueError:
            raise ConfigError(f"DONOHARM_SIGNING_P12 ({p12_path}) cannot be opened: it is not a PKCS#12 file, or "
                              "DONOHARM_SIGNING_P12_PASSWORD is wrong or missing") from None
        if key is None or leaf is None:
            raise ConfigError(f"DONOHARM_SIGNING_P12 ({p12_path}) holds no private key and certificate")
        chain = list(extra or [])
        roots = [c for c in chain if c.subject == c.issuer]  # PKCS#12 files do not order their chain
        root = roots[0] if roots else (chain[-1] if chain else leaf)
    else:
        _ensure_keys(instance, organisation)
        load_key = serialization.load_pem_private_key
        key = load_key((instance / SIGN_KEY).read_bytes(), None)
        leaf = x509.load_pem_x509_certificate((instance / SIGN_CERT).read_bytes())
        root = x509.load_pem_x509_certificate((instance / ROOT_CERT).read_bytes())
        chain = [root]
    names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    subject = names[0].value if names else leaf.subject.rfc4514_string()
    return SigningKey(signer=_signer(leaf, key, chain), root_pem=root.public_bytes(serialization.Encoding.PEM),
                      root_cert=_asn1_cert(root), subject=subject, private_key=key, certificate=leaf, chain=chain,
                      roots=load_roots(instance, root))


def signing_key(app: Flask | None = None) -> SigningKey:
    """The app's signing key, loaded once and cached in app.extensions (reloaded when the keys were rotated)."""
    app = app or current_app._get_current_object()
    cached = app.extensions.get("donoharm_signing")
    version = _keys_version(app)
    if cached is None or cached[0] != version:
        # The name read now: a certificate made after /setup carries the name chosen there (organisation.py).
        key = load_signing_key(Path(app.instance_path), organisation_name(app),
                               app.config.get("SIGNING_P12"), app.config.get("SIGNING_P12_PASSWORD"))
        cached = (_keys_version(app), key)  # after loading: the first load may have generated the files
        app.extensions["donoharm_signing"] = cached
    return cached[1]


def _keys_version(app: Flask) -> tuple:
    """What changes when the keys are rotated while workers run (rotate-root, rotate-signing-cert, a new P12):
    every worker then picks up the new certificate and the full list of roots at its next use."""
    instance = Path(app.instance_path)
    paths = [Path(app.config["SIGNING_P12"])] if app.config.get("SIGNING_P12") else [instance / SIGN_CERT]
    paths.append(instance / "roots")
    version = [app.config.get("SIGNING_P12")]
    for path in paths:
        try:
            stat = path.stat()
            version.append((stat.st_mtime_ns, stat.st_ino, stat.st_size))
        except FileNotFoundError:
            version.append(None)
    return tuple(version)


def trusted_roots(key: SigningKey) -> list[x509.Certificate]:
    """Every root certificate whose signatures this instance accepts (records, receipts, checkpoints).

    The current root first, then every root it replaced (records/roots.py): rotating the root never makes an
    older record, receipt or checkpoint unverifiable."""
    if key.roots:
        return [root.certificate for root in key.roots]
    return [x509.load_der_x509_certificate(key.root_cert.dump())]
