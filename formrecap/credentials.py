"""Generating and hashing site keys and API secrets."""

import hashlib
import secrets

SITE_KEY_PREFIX = "pk_"
API_SECRET_PREFIX = "sk_"
API_KEY_VISIBLE_CHARS = 11  # "sk_" + 8 characters


def new_site_key() -> str:
    return SITE_KEY_PREFIX + secrets.token_urlsafe(18)


def new_api_secret() -> str:
    # 32 random bytes: unguessable, so a fast unsalted hash is the right storage (as for GitHub tokens).
    return API_SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_api_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def visible_prefix(secret: str) -> str:
    return secret[:API_KEY_VISIBLE_CHARS]
