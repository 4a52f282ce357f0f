"""Password rules as a person choosing a password meets them."""
import pytest

from donoharm.accounts.passwords import common_passwords, password_problem


@pytest.mark.parametrize("password,username,problem", [
    ("short", "acc", "at least 10"),
    ("accompanier-field-2026", "accompanier", "must not contain the username"),
    ("password123", "acc", "most commonly used"),
    ("Qwertyuiop", "acc", "most commonly used"),
    ("password1234!", "acc", "most commonly used"),
    ("aaaaaaaaaaaa", "acc", "more different characters"),
    ("x" * 201, "acc", "at most 200"),
])
def test_weak_passwords_are_refused_with_a_reason(password, username, problem):
    assert problem in password_problem(password, username)


def test_a_long_uncommon_passphrase_is_accepted():
    assert password_problem("basement lantern 47 river", "acc") is None


def test_the_blocklist_ships_with_the_package():
    assert len(common_passwords()) > 200
    assert "123456" in common_passwords()
