"""Connection secrets are encrypted at rest, rotate to a new key, and fail loudly."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db

from clarity.fields import DecryptionError
from connectors.models import Connection
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def raw_secrets(pk: int) -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT secrets FROM connectors_connection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_secrets_round_trip_and_are_not_stored_in_clear():
    created = ConnectionFactory(secrets={"api_key": "very-secret-streak-key"})
    assert "very-secret-streak-key" not in raw_secrets(created.pk)
    assert Connection.objects.get(pk=created.pk).secrets == {"api_key": "very-secret-streak-key"}


def test_rotate_keys_re_encrypts_with_the_first_key(settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CLARITY_ENCRYPTION_KEYS = [old_key]
    created = ConnectionFactory(secrets={"api_key": "rotate-me"})
    before = raw_secrets(created.pk)

    settings.CLARITY_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_keys", stdout=StringIO())

    after = raw_secrets(created.pk)
    assert after != before
    assert Fernet(new_key.encode()).decrypt(after.encode())  # readable with the new key alone
    settings.CLARITY_ENCRYPTION_KEYS = [new_key]
    assert Connection.objects.get(pk=created.pk).secrets == {"api_key": "rotate-me"}


def test_a_value_no_key_decrypts_raises_a_clear_error(settings):
    created = ConnectionFactory(secrets={"api_key": "lost"})
    settings.CLARITY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionError, match=r"Connection\.secrets.*CLARITY_ENCRYPTION_KEYS"):
        Connection.objects.get(pk=created.pk).secrets  # noqa: B018
