"""RFC 3161 timestamps from the authority the organisation names (DONOHARM_TSA_URL, trusted by DONOHARM_TSA_ROOT).

A timestamp is the authority's signed statement that some data existed at a time; the organisation cannot make
one for an earlier time, so it cannot back-date a record signature or a checkpoint that carries one.
"""
from __future__ import annotations

import hashlib
from datetime import UTC
from pathlib import Path

from asn1crypto import cms, pem
from asn1crypto import x509 as asn1_x509
from flask import Flask, current_app, has_app_context

from .blocking import outside_event_loop


class TimestampError(Exception):
    """No valid timestamp: the authority did not answer, refused, or its answer does not verify."""


def tsa_roots(app: Flask | None = None) -> list[asn1_x509.Certificate]:
    """The certificates in DONOHARM_TSA_ROOT (one PEM file, several allowed: keep a former authority's there)."""
    app = app or (current_app._get_current_object() if has_app_context() else None)
    if app is None or not app.config.get("TSA_ROOT"):
        return []
    cached = app.extensions.get("donoharm_tsa_roots")
    if cached is None or cached[0] != app.config["TSA_ROOT"]:
        data = Path(app.config["TSA_ROOT"]).read_bytes()
        blocks = [der for _, _, der in pem.unarmor(data, multiple=True)] if pem.detect(data) else [data]
        try:
            certs = [asn1_x509.Certificate.load(der) for der in blocks]
            for cert in certs:
                cert.native  # noqa: B018 (parse now: a wrong file fails here, not in the middle of a signature)
        except ValueError as error:
            raise TimestampError(f"DONOHARM_TSA_ROOT ({app.config['TSA_ROOT']}) holds no certificate: {error}") \
                from None
        cached = (app.config["TSA_ROOT"], certs)
        app.extensions["donoharm_tsa_roots"] = cached
    return cached[1]


def timestamper(app: Flask | None = None):
    """pyHanko's HTTP client for the configured authority (kept: it caches the authority's certificates), or None."""
    from pyhanko.sign.timestamps import HTTPTimeStamper

    app = app or (current_app._get_current_object() if has_app_context() else None)
    if app is None or not app.config.get("TSA_URL"):
        return None
    if not app.config.get("TSA_ROOT"):
        raise TimestampError("DONOHARM_TSA_URL is set without DONOHARM_TSA_ROOT: no authority can be trusted")
    key = (app.config["TSA_URL"], app.config.get("TSA_TIMEOUT", 10))
    cached = app.extensions.get("donoharm_timestamper")
    if cached is None or cached[0] != key:
        cached = (key, HTTPTimeStamper(app.config["TSA_URL"], timeout=key[1]))
        app.extensions["donoharm_timestamper"] = cached
    return cached[1]


def authority_error(error: BaseException, url: str) -> TimestampError:
    """A TimestampError that says in plain words what went wrong with the authority."""
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

    if isinstance(error, PathBuildingError | PathValidationError):
        return TimestampError(f"the timestamp authority at {url} has a certificate that does not chain to "
                              f"DONOHARM_TSA_ROOT ({error})")
    reason = str(error) or type(error).__name__
    return TimestampError(f"the timestamp authority at {url} gave no timestamp: {reason}")


# What a failing authority raises through pyHanko: its own error, aiohttp's, a timeout, a refused connection.
def failures() -> tuple[type[BaseException], ...]:
    import asyncio

    import aiohttp
    from pyhanko.sign.timestamps import TimestampRequestError
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

    return (TimestampRequestError, aiohttp.ClientError, asyncio.TimeoutError, OSError, PathBuildingError,
            PathValidationError)


def timestamp_token(data: bytes, app: Flask | None = None) -> bytes | None:
    """A DER TimeStampToken over sha256(data) from the configured authority; None when none is configured.

    Raises TimestampError when the authority fails or its token does not verify against DONOHARM_TSA_ROOT."""
    stamper = timestamper(app)
    if stamper is None:
        return None
    import asyncio

    app = app or current_app._get_current_object()
    digest = hashlib.sha256(data).digest()
    try:
        token = outside_event_loop(lambda: asyncio.run(stamper.async_timestamp(digest, "sha256")))
    except failures() as error:
        raise authority_error(error, app.config["TSA_URL"]) from error
    der = token.dump()
    check_timestamp_token(der, data, app)  # never hand out a token that would not verify later
    return der


def check_timestamp_token(token: bytes, data: bytes, app: Flask | None = None) -> str:
    """The time (ISO 8601, UTC) a TimeStampToken over sha256(data) states; TimestampError unless it verifies.

    The authority's certificate is checked as at the token's own time, so a token stays valid after that
    certificate expires (the authority's key is trusted not to be used to forge earlier times)."""
    from cryptography.hazmat.primitives import hashes
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko.sign.validation.status import TimestampSignatureStatus
    from pyhanko_certvalidator import ValidationContext

    roots = tsa_roots(app)
    if not roots:
        raise TimestampError("no timestamp authority is trusted here (DONOHARM_TSA_ROOT is not set)")
    try:
        info = cms.ContentInfo.load(token)
        signed_data = info["content"]
        gen_time = signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise TimestampError(f"this is not an RFC 3161 timestamp token ({type(error).__name__})") from None

    def imprint(algorithm: str) -> bytes:
        digest = hashes.Hash(get_pyca_cryptography_hash(algorithm))
        digest.update(data)
        return digest.finalize()

    import asyncio

    context = ValidationContext(trust_roots=roots, moment=gen_time, allow_fetching=False)
    try:
        status = TimestampSignatureStatus(**outside_event_loop(
            lambda: asyncio.run(validate_tst_signed_data(signed_data, context, imprint))))
    except Exception as error:  # a malformed token must give a clear error, whatever pyHanko raises
        raise TimestampError(f"the timestamp token does not verify ({type(error).__name__}: {error})") from None
    if not status.intact:
        raise TimestampError("the timestamp token was not made over this data")
    if not status.valid:
        raise TimestampError("the timestamp token's signature does not verify")
    if not status.trusted:
        raise TimestampError("the timestamp token is not from an authority named in DONOHARM_TSA_ROOT")
    return status.timestamp.astimezone(UTC).isoformat()

