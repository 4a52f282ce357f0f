"""Detached signatures with the organisation's signing key over JSON documents (receipts, checkpoints).

A signed document carries the signing certificate (base64 DER), so it can still be checked after the
signing certificate is replaced: it is accepted when a root the instance trusts issued that certificate
(directly, or through CA certificates the document carries) and the signature over the document holds.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

from ..protocols import canonical_json

UNSIGNED_FIELDS = ("signature", "timestamp")


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """Whether `parent` signed `child` (and named itself as its issuer)."""
    try:
        child.verify_directly_issued_by(parent)
        return True
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):  # all mean: not issued by it
        return False


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def issued_by_root(leaf: x509.Certificate, intermediates: list[x509.Certificate],
                   roots: list[x509.Certificate]) -> bool:
    """Whether a trusted root is the leaf itself or issued it, directly or through the given CA certificates."""
    if _der(leaf) in {_der(root) for root in roots}:
        return True
    current, pool = leaf, list(intermediates)
    for _ in range(len(pool) + 1):
        if any(issued_by(current, root) for root in roots):
            return True
        parent = next((c for c in pool if _is_ca(c) and issued_by(current, c)), None)
        if parent is None:
            return False
        pool.remove(parent)
        current = parent
    return False


def signature_matches(leaf: x509.Certificate, signature: bytes, data: bytes) -> bool:
    """Whether `signature` over `data` was made with the leaf's key (RSA PKCS#1 v1.5 or ECDSA, SHA-256)."""
    public_key = leaf.public_key()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            return False
        return True
    except (InvalidSignature, ValueError):
        return False


def signed_body(document: dict[str, Any]) -> bytes:
    """What is signed: the canonical JSON of every field but the signature and a later timestamp."""
    return canonical_json({k: v for k, v in document.items() if k not in UNSIGNED_FIELDS}).encode("utf-8")


def sign_document(document: dict[str, Any], key: Any) -> dict[str, Any]:
    """The document with `certificate` and `signature` added (`key`: a records.signing.SigningKey)."""
    document = {**document, "certificate": base64.b64encode(key.certificate_der).decode("ascii")}
    return {**document, "signature": base64.b64encode(key.sign_bytes(signed_body(document))).decode("ascii")}


def signature_problem(document: dict[str, Any], roots: list[x509.Certificate]) -> str | None:
    """Why the document's signature is not ours, or None when it is genuine."""
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(document["certificate"], validate=True))
        signature = base64.b64decode(document["signature"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        return "it has no readable certificate and signature"
    if not issued_by_root(certificate, [], roots):
        return "it was not signed with a certificate of this organisation"
    if not signature_matches(certificate, signature, signed_body(document)):
        return "its signature does not match its content: it was changed after signing"
    return None
