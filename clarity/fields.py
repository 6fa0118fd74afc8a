"""An encrypted JSON field: MultiFernet over keys from CLARITY_ENCRYPTION_KEYS.

The first key encrypts; every key decrypts, so keys rotate by prepending a new one and
running `manage.py rotate_keys`. A value no key decrypts raises DecryptionError: a
credential is never handed on as ciphertext.
"""

import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class DecryptionError(Exception):
    """A stored secret that none of the configured keys can decrypt."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "CLARITY_ENCRYPTION_KEYS is empty: set it to one or more Fernet keys "
            "(make run writes one into .env)."
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "CLARITY_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.CLARITY_ENCRYPTION_KEYS))


def encrypt(value: Any) -> str:
    return fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt(token: str, where: str = "a stored secret") -> Any:
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken:
        raise DecryptionError(
            f"Cannot decrypt {where}: none of the keys in CLARITY_ENCRYPTION_KEYS "
            "matches. Restore the key it was encrypted with (keep old keys after the "
            "new one until `manage.py rotate_keys` has run)."
        ) from None


class EncryptedJSONField(models.TextField):
    """A dict (or any JSON value) stored as one Fernet token."""

    def from_db_value(self, value: str | None, expression, connection) -> Any:
        if value is None:
            return value
        return decrypt(value, where=f"{self.model.__name__}.{self.name}")

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return encrypt(value)

    def value_to_string(self, obj: models.Model) -> str:
        return "(encrypted)"
