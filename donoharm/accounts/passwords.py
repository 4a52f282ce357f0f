"""Password rules: long enough, not the username, not a commonly used password."""
from __future__ import annotations

from functools import cache
from importlib import resources

MIN_LENGTH = 10
MAX_LENGTH = 200


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of frequently used passwords (lower case)."""
    text = resources.files("donoharm").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problem(password: str, username: str = "") -> str | None:
    """Say what is wrong with a password, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if username and username.strip().lower() in password.lower():
        return "The password must not contain the username."
    lowered = password.lower()
    if lowered in common_passwords() or lowered.rstrip("0123456789!.") in common_passwords():
        return "This password is one of the most commonly used; choose another."
    if len(set(password)) < 4:
        return "Use more different characters."
    return None
