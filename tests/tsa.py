"""A small RFC 3161 timestamp authority on 127.0.0.1 for the tests (never an outside service).

Its own root and TSA certificate are made with `cryptography` (the TSA's with the critical extended key usage
timeStamping that RFC 3161 requires); pyHanko's DummyTimeStamper builds and signs each answer. The same server
publishes certificate revocation lists (GET), as a CA does: the TSA root's own, and any a test adds.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Timestamp Authority")])


def make_root(common_name: str) -> tuple[x509.Certificate, object]:
    """A self-signed CA root (20 years) and its key."""
    now = datetime.now(UTC) - timedelta(days=1)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = _name(common_name)
    root = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=365 * 20))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return root, key


def issue(root: x509.Certificate, root_key, subject: x509.Name, public_key, usage: list,
          crl_url: str | None = None, critical_usage: bool = False) -> x509.Certificate:
    """An end-entity certificate from `root` (20 years), with extended key usage and, if given, a CRL address."""
    now = datetime.now(UTC) - timedelta(days=1)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(root.subject)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + timedelta(days=365 * 20))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usage), critical=critical_usage)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                              critical=False))
    if crl_url:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None, reasons=None,
            crl_issuer=None)]), critical=False)
    return builder.sign(root_key, hashes.SHA256())


def empty_crl(root: x509.Certificate, root_key) -> bytes:
    """A current CRL from `root` revoking nothing (DER), as a CA publishes it."""
    now = datetime.now(UTC)
    return (x509.CertificateRevocationListBuilder().issuer_name(root.subject).last_update(now - timedelta(minutes=1))
            .next_update(now + timedelta(days=7))
            .add_extension(x509.CRLNumber(1), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


def make_tsa_certificates(common_name: str = "Test TSA", crl_url: str | None = None):
    """A TSA root and a TSA certificate it issued (EKU timeStamping, critical), and the TSA's key."""
    root, root_key = make_root(f"{common_name} root")
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa = issue(root, root_key, _name(common_name), tsa_key.public_key(), [ExtendedKeyUsageOID.TIME_STAMPING],
                crl_url, critical_usage=True)
    return root, tsa, tsa_key


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@dataclass
class TimestampAuthority:
    """A running test TSA: its URL, the root PEM to trust, and every time it stamped (UTC)."""

    url: str
    root_pem: Path
    issued: list[datetime] = field(default_factory=list)
    requests: int = 0
    failing: bool = False  # answer HTTP 500, as an authority in trouble would
    server: ThreadingHTTPServer | None = None
    crls: dict[str, bytes] = field(default_factory=dict)  # path -> DER CRL, served on GET
    crl_requests: int = 0

    def crl_url(self, path: str) -> str:
        return self.url.rsplit("/", 1)[0] + path

    def stop(self) -> None:
        """Stop answering: later requests find nothing listening (connection refused)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


_CACHE: dict = {}


def start_tsa(folder: Path, fixed_time: datetime | None = None) -> TimestampAuthority:
    """Start a TSA on 127.0.0.1 (a random port, a daemon thread); its root PEM is written into `folder`."""
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    if "keys" not in _CACHE:  # RSA key generation is the slow part: one TSA root and key per test session
        root, root_key = make_root("Test TSA root")
        _CACHE["keys"] = (root, root_key, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    root, root_key, tsa_key = _CACHE["keys"]
    folder.mkdir(parents=True, exist_ok=True)
    root_pem = folder / "tsa-root.pem"
    root_pem.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    key_info = asn1_keys.PrivateKeyInfo.load(tsa_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    authority = TimestampAuthority(url="", root_pem=root_pem)
    stamper: list = []  # made once the port (in the certificate's CRL address) is known

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            data = authority.crls.get(self.path)
            authority.crl_requests += data is not None
            self.send_response(200 if data else 404)
            self.send_header("Content-Type", "application/pkix-crl")
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

        def do_POST(self):  # noqa: N802 (http.server's naming)
            authority.requests += 1
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if authority.failing or self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_response(500 if authority.failing else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            response = stamper[0].request_tsa_response(tsp.TimeStampReq.load(body))
            token = response["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
            authority.issued.append(token["gen_time"].native.astimezone(UTC))
            data = response.dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    authority.server = server
    authority.url = f"http://127.0.0.1:{server.server_port}/tsa"
    tsa_cert = issue(root, root_key, _name("Test TSA"), tsa_key.public_key(), [ExtendedKeyUsageOID.TIME_STAMPING],
                     authority.crl_url("/tsa.crl"), critical_usage=True)
    authority.crls["/tsa.crl"] = empty_crl(root, root_key)
    stamper.append(DummyTimeStamper(tsa_cert=_asn1(tsa_cert), tsa_key=key_info, certs_to_embed=[_asn1(root)],
                                    fixed_dt=fixed_time))
    return authority
