"""What a password must be: at least 8 characters; in production at least 12, not common, not a demo password."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from smartcustoms.errors import Problem

MIN_LENGTH = 8
MIN_LENGTH_PRODUCTION = 12
MIN_DISTINCT_PRODUCTION = 5  # "aaaaaaaaaaaa", "abababababab" are long and worthless
KNOWN_DEMO_PASSWORDS = frozenset({"demo-password"})  # what `smartcustoms demo` gives its users (demo.DEMO_PASSWORD)
COMMON = Path(__file__).parent / "data" / "common-passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of passwords too common to allow in production, lower-cased."""
    lines = COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def is_demo_password(password: str) -> bool:
    """Whether the password is one the demo data gives its users (public: refused at sign-in in production)."""
    return password in KNOWN_DEMO_PASSWORDS


def problems(password: str, *, production: bool) -> list[Problem]:
    """Why the password may not be set (empty: it may); the stricter rules apply in production mode."""
    if not production:
        if len(password) < MIN_LENGTH:
            return [Problem("AUTH-USR-004", "/password", f"A password must have at least {MIN_LENGTH} characters.")]
        return []
    found = []
    if len(password) < MIN_LENGTH_PRODUCTION:
        found.append(
            Problem("AUTH-USR-004", "/password", f"A password must have at least {MIN_LENGTH_PRODUCTION} characters in production.")
        )
    if is_demo_password(password):
        found.append(Problem("AUTH-PWD-001", "/password", "This is the demo data's published password; choose another."))
    elif password.lower() in common_passwords() or password.strip().lower() in common_passwords():
        found.append(Problem("AUTH-PWD-002", "/password", "This password is among the most common ones; choose another."))
    elif len(set(password)) < MIN_DISTINCT_PRODUCTION:
        found.append(Problem("AUTH-PWD-003", "/password", f"A password must use at least {MIN_DISTINCT_PRODUCTION} different characters."))
    return found
