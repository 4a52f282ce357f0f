"""Runs: the pure core of events, state, completion and the hash chain."""
from .chain import genesis_hash, head_hash, seal
from .events import EVENT_TYPES, Actor, DeviceClock, EventError, ValidatedEvent, is_uuid, normalise, validate
from .integrity import verify_chain
from .state import RunState, fold

__all__ = ["EVENT_TYPES", "Actor", "DeviceClock", "EventError", "RunState", "ValidatedEvent", "fold", "genesis_hash",
           "head_hash", "is_uuid", "normalise", "seal", "validate", "verify_chain"]
