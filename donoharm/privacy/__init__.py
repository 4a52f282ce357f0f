"""Personal data in free text: the detector shared (as rules) by the server and the phone (pure)."""
from .detector import KINDS, Span, find_personal_data

__all__ = ["KINDS", "Span", "find_personal_data"]
