"""Signed receipts: the server's word, kept on the phone, that a run's chain had this head at this position.

What Certificate Transparency calls a signed tree head, at the scale of one run. A receipt is a JSON object
signed with the organisation's signing key over the canonical JSON of every field except `signature`. It
carries the signing certificate (and any intermediates), so it still verifies after that certificate is
replaced, as long as the root that issued it is trusted. A server that rewrote a run's history cannot
produce a chain that still has the receipted head at the receipted position.

Pure: no Flask, no SQL. The server's chain is read through a function given to `check_receipt`.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from ..protocols import canonical_json
from ..runs.chain import event_hash, genesis_hash, text_problem
from ..timefmt import parse_as_written
from .detached import issued_by_root, signature_matches

FORMAT = "donoharm-receipt/1"
# Every field a receipt must have, with its JSON type; "chain" (intermediate certificates) is optional.
FIELDS: dict[str, type] = {"format": str, "run": str, "seq": int, "head": str, "received_at": str,
                           "certificate": str, "signature": str}
MAX_INTERMEDIATES = 4
HEX64 = re.compile(r"[0-9a-f]{64}")

# The server's chain for a run: the hash at every position (0 is the genesis), or None for no such run.
ChainLookup = Callable[[str], "list[str] | None"]


@dataclass
class ReceiptVerdict:
    """What checking a receipt found: `valid` only when it is genuine and the chain still contains it."""

    genuine: bool = False  # signed over exactly these fields, with a certificate a trusted root issued
    contained: bool = False  # the server's chain today has this head at this position
    signer: str | None = None
    run: str | None = None
    seq: int | None = None
    head: str | None = None
    received_at: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.genuine and self.contained and not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "genuine": self.genuine, "contained": self.contained, "signer": self.signer,
                "run": self.run, "seq": self.seq, "head": self.head, "received_at": self.received_at,
                "problems": list(self.problems)}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def signed_bytes(receipt: dict[str, Any]) -> bytes:
    """What the signature covers: the canonical JSON of every field except the signature."""
    return canonical_json({k: v for k, v in receipt.items() if k != "signature"}).encode("utf-8")


def make_receipt(key: Any, run_id: str, seq: int, head: str, received_at: str,
                 intermediates: Iterable[bytes] = ()) -> dict[str, Any]:
    """Sign a receipt for a run's chain at `seq` with `key` (anything with .sign_bytes and .certificate_der)."""
    receipt: dict[str, Any] = {"format": FORMAT, "run": run_id, "seq": seq, "head": head,
                               "received_at": received_at, "certificate": _b64(key.certificate_der)}
    chain = [_b64(der) for der in intermediates]
    if chain:
        receipt["chain"] = chain
    receipt["signature"] = _b64(key.sign_bytes(signed_bytes(receipt)))
    return receipt


def parse_receipt(data: bytes) -> Any:
    """The JSON in a receipt file or request body; a ValueError saying why in plain words if it is not JSON."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as error:  # not JSON, or not text at all
        raise ValueError(f"not JSON ({error})") from None


def shape_problems(receipt: Any) -> list[str]:
    """What makes this not a receipt at all (not an object, a field missing or of the wrong type)."""
    if not isinstance(receipt, dict):
        return ["a receipt is a JSON object"]
    problems = []
    for name, kind in FIELDS.items():
        value = receipt.get(name)
        if value is None:
            problems.append(f"'{name}' is missing")
        elif not isinstance(value, kind) or isinstance(value, bool):
            problems.append(f"'{name}' must be {'a whole number' if kind is int else 'text'}")
    if not problems:
        if receipt["format"] != FORMAT:
            problems.append(f"'format' must be '{FORMAT}'")
        if receipt["seq"] < 0:
            problems.append("'seq' must be 0 or more")
        if not HEX64.fullmatch(receipt["head"]):
            problems.append("'head' must be a sha256 in lower-case hex")
    chain = receipt.get("chain")
    if chain is not None and (not isinstance(chain, list) or len(chain) > MAX_INTERMEDIATES
                              or not all(isinstance(c, str) for c in chain)):
        problems.append(f"'chain' must be a list of at most {MAX_INTERMEDIATES} certificates")
    if not problems:
        try:
            signed_bytes(receipt)
        except (UnicodeEncodeError, RecursionError, ValueError):
            problems.append("the receipt holds text that is not valid Unicode, or is nested too deeply")
    return problems


def _certificate(text: str) -> x509.Certificate | None:
    try:
        return x509.load_der_x509_certificate(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error):
        return None


def _valid_at(leaf: x509.Certificate, when: str) -> bool:
    try:
        moment = parse_as_written(when)
    except ValueError:
        return False
    if moment.tzinfo is None:
        return False
    return leaf.not_valid_before_utc <= moment <= leaf.not_valid_after_utc


def _subject(leaf: x509.Certificate) -> str:
    names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else leaf.subject.rfc4514_string()


def check_receipt(receipt: Any, roots: list[x509.Certificate], chain_of: ChainLookup) -> ReceiptVerdict:
    """Check that a receipt is genuine and that the server's chain still holds its head at its position.

    The chain is looked at only for a genuine receipt: a forged one learns nothing about the server's runs."""
    problems = shape_problems(receipt)
    if problems:
        return ReceiptVerdict(problems=problems)
    verdict = ReceiptVerdict(run=receipt["run"], seq=receipt["seq"], head=receipt["head"],
                             received_at=receipt["received_at"])
    leaf = _certificate(receipt["certificate"])
    intermediates = [_certificate(text) for text in receipt.get("chain") or []]
    if leaf is None or None in intermediates:
        verdict.problems.append("a certificate in the receipt cannot be read")
        return verdict
    verdict.signer = _subject(leaf)
    try:
        signature = base64.b64decode(receipt["signature"], validate=True)
    except (ValueError, binascii.Error):
        signature = b""
    if not issued_by_root(leaf, intermediates, roots):
        verdict.problems.append("the receipt was not signed with a certificate this organisation's root issued")
    if not signature_matches(leaf, signature, signed_bytes(receipt)):
        verdict.problems.append("the signature does not match the receipt: it was changed after signing, "
                                "or not signed by this server")
    if not _valid_at(leaf, receipt["received_at"]):
        verdict.problems.append("the signing certificate was not valid at the receipt's time")
    verdict.genuine = not verdict.problems
    if not verdict.genuine:
        return verdict
    hashes = chain_of(receipt["run"])
    if hashes is None:
        verdict.problems.append("no such run on this server: it was deleted, or its history replaced")
    elif receipt["seq"] >= len(hashes):
        verdict.problems.append("the server's chain for this run is shorter than this receipt's position: "
                                "events it acknowledged are gone")
    elif hashes[receipt["seq"]] != receipt["head"]:
        verdict.problems.append("the server's chain no longer contains this head at this position: "
                                "the run's history was changed after this receipt was given")
    else:
        verdict.contained = True
    return verdict


def chain_hashes(run: dict[str, Any], events: list[dict[str, Any]]) -> list[str]:
    """The hash at every position of a run's chain, recomputed from the stored content (0: the genesis).

    An event's hash covers its texts' commitment, not the texts: a text that no longer matches its commitment
    breaks the chain from that event on, as a changed hash would."""
    hashes = [genesis_hash(run)]
    for event in events:
        intact = text_problem(event) is None
        hashes.append(event_hash(hashes[-1], event) if intact else f"text changed at event {event.get('seq')}")
    return hashes
