"""Model fields encrypted at rest with Fernet (SPEC §3: PINs and vendor credentials)."""

import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be one or more comma-separated Fernet keys"
        ) from exc


def fernet() -> MultiFernet:
    """Return the MultiFernet for FIELD_ENCRYPTION_KEY: the first key encrypts, all decrypt."""
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEY))


def encrypt_text(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "An encrypted value cannot be read with any key in FIELD_ENCRYPTION_KEY"
        ) from exc


def rotate_text(token: str) -> str:
    """Re-encrypt a stored token with the first (newest) key."""
    return fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """Text stored Fernet-encrypted; it cannot be filtered on, only compared in Python."""

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt_text(str(value))

    def from_db_value(self, value: str | None, expression, connection) -> str | None:
        if value is None:
            return None
        return decrypt_text(value)

    def get_lookup(self, lookup_name: str):
        if lookup_name != "isnull":
            raise TypeError(f"{self.name} is encrypted; '{lookup_name}' lookups are not possible")
        return super().get_lookup(lookup_name)


class EncryptedJSONField(models.TextField):
    """A JSON object stored Fernet-encrypted (vendor credentials)."""

    # What the model attribute holds, for django-stubs' mypy plugin: JSON, not text.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return encrypt_text(json.dumps(value, sort_keys=True))

    def from_db_value(self, value: str | None, expression, connection) -> Any:
        if value is None:
            return None
        return json.loads(decrypt_text(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj))

    def get_lookup(self, lookup_name: str):
        if lookup_name != "isnull":
            raise TypeError(f"{self.name} is encrypted; '{lookup_name}' lookups are not possible")
        return super().get_lookup(lookup_name)
