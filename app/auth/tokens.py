"""API tokens and link secrets: random, shown once, stored only as a SHA-256 hash."""

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "kep_"


def new_token() -> str:
    """A fresh token with 32 random bytes (256 bits) behind a recognisable prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_link_secret() -> str:
    """The secret of a one-time link: 32 random bytes, safe in a URL's path."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # A fast hash is right here: the token has 256 bits of entropy, so there is
    # nothing to brute-force, and every request needs the lookup.
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
