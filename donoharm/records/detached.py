"""Detached signatures with the organisation's signing key over JSON documents (receipts, checkpoints).

A signed document carries the signing certificate (base64 DER), so it can still be checked after the
signing certificate is replaced: it is accepted when that certificate was issued by one of the roots the
instance trusts and the signature over the document's canonical JSON holds.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ..protocols import canonical_json
from .signing import SigningKey

UNSIGNED_FIELDS = ("signature", "timestamp")


def signed_body(document: dict[str, Any]) -> bytes:
    """What is signed: the canonical JSON of every field but the signature and a later timestamp."""
    return canonical_json({k: v for k, v in document.items() if k not in UNSIGNED_FIELDS}).encode("utf-8")


def sign_document(document: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """The document with `certificate` and `signature` added."""
    document = {**document, "certificate": base64.b64encode(key.certificate_der).decode("ascii")}
    return {**document, "signature": base64.b64encode(key.sign_bytes(signed_body(document))).decode("ascii")}


def signature_problem(document: dict[str, Any], roots: list[x509.Certificate]) -> str | None:
    """Why the document's signature is not ours, or None when it is genuine."""
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(document["certificate"], validate=True))
        signature = base64.b64decode(document["signature"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        return "it has no readable certificate and signature"
    if not any(_issued_by(certificate, root) for root in roots):
        return "it was not signed with a certificate of this organisation"
    public_key = certificate.public_key()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, signed_body(document), padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, signed_body(document), ec.ECDSA(hashes.SHA256()))
        else:
            return "its certificate's key type is not supported"
    except InvalidSignature:
        return "its signature does not match its content: it was changed after signing"
    return None


def _issued_by(certificate: x509.Certificate, root: x509.Certificate) -> bool:
    if certificate == root:
        return True
    try:
        certificate.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
