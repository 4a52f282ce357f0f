"""A Merkle tree over every run's (id, head, count), as Certificate Transparency builds one (RFC 6962, pure).

Leaves and inner nodes are hashed with different prefixes (0x00, 0x01), so a leaf can never pass for a
node; an odd node at a level is carried up unchanged, as RFC 6962's split at the largest power of two.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from ..protocols import canonical_json


def leaf(run_id: str, head: str, count: int) -> dict[str, Any]:
    return {"run": run_id, "head": head, "count": count}


def leaf_hash(entry: dict[str, Any]) -> bytes:
    body = canonical_json({"run": entry["run"], "head": entry["head"], "count": entry["count"]})
    return hashlib.sha256(b"\x00" + body.encode("utf-8")).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(hashes: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash of leaf hashes in order; the hash of nothing for no leaves."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    split = 1 << ((len(hashes) - 1).bit_length() - 1)  # the largest power of two below the count
    return _node(root_of(hashes[:split]), root_of(hashes[split:]))


def merkle_root(leaves: Sequence[dict[str, Any]]) -> str:
    """The hex root over leaves sorted by run id (the order is part of the definition)."""
    ordered = sorted(leaves, key=lambda entry: entry["run"])
    return root_of([leaf_hash(entry) for entry in ordered]).hex()
