"""PINs and vendor credentials are encrypted at rest, and keys can be rotated (SPEC §3)."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accesscodes.models import AccessCode
from integrations.models import LockConnection
from locksync import fields
from tests.factories import AccessCodeFactory, LockConnectionFactory


def raw_column(model, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_pin_is_stored_encrypted_and_read_back_in_clear():
    code = AccessCodeFactory(pin="4826")
    stored = raw_column(AccessCode, "pin", code.pk)
    assert "4826" not in stored
    assert AccessCode.objects.get(pk=code.pk).pin == "4826"


@pytest.mark.django_db
def test_vendor_credentials_are_stored_encrypted():
    connection_row = LockConnectionFactory(credentials={"api_token": "nuki-secret-token"})
    stored = raw_column(LockConnection, "credentials", connection_row.pk)
    assert "nuki-secret-token" not in stored
    assert LockConnection.objects.get(pk=connection_row.pk).credentials == {
        "api_token": "nuki-secret-token"
    }


@pytest.mark.django_db
def test_encrypted_fields_refuse_lookups_that_cannot_work():
    with pytest.raises(TypeError, match="encrypted"):
        AccessCode.objects.filter(pin="4826").count()


@pytest.mark.django_db
def test_rotation_re_encrypts_with_the_new_key_and_old_rows_stay_readable(settings):
    old_key = settings.FIELD_ENCRYPTION_KEY[0]
    code = AccessCodeFactory(pin="5937")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = [new_key, old_key]
    assert AccessCode.objects.get(pk=code.pk).pin == "5937"

    call_command("rotate_encryption_keys")

    settings.FIELD_ENCRYPTION_KEY = [new_key]
    assert AccessCode.objects.get(pk=code.pk).pin == "5937"
    assert Fernet(new_key.encode()).decrypt(raw_column(AccessCode, "pin", code.pk).encode())


def test_a_bad_key_is_a_clear_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.FIELD_ENCRYPTION_KEY = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="Fernet"):
        fields.encrypt_text("1234")
