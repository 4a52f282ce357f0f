"""Protocols: the public file format, its loader and the registry of versions (pure core)."""
from .loader import MAX_BYTES, Problem, ProtocolError, load_file, load_text
from .model import KINDS, Option, Phase, Protocol, Step, canonical_json, sha256_of, version_key
from .registry import ConflictError, Registry, load_directory, protocol_files

__all__ = [
    "KINDS", "MAX_BYTES", "ConflictError", "Option", "Phase", "Problem", "Protocol", "ProtocolError",
    "Registry", "Step", "canonical_json", "load_directory", "load_file", "load_text",
    "protocol_files", "sha256_of", "version_key",
]
