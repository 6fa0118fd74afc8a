"""API tokens are stored as SHA-256 hashes with a short prefix to recognise them by: the token
is shown once (never kept readable, not even in the session), works as `Authorization: Token
<token>`, and stops working when replaced. Tokens of the old clear-text table are moved to
hashes by the migration and keep working."""

import hashlib
import os
import sqlite3
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from rest_framework.test import APIClient

from clarity.models import ApiToken

pytestmark = pytest.mark.django_db

OLD_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # DRF's form: 40 hex characters


def api(token: str = "") -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def create_token(client) -> str:
    """Press Create (or Regenerate) token on the Settings page: the answer shows it, uncached."""
    response = client.post(reverse("api-token"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = response.context["new_token"]
    assert f'<code id="new-token">{token}</code>' in response.content.decode()
    return token


def test_a_new_token_is_shown_once_and_stored_only_hashed(client, users):
    client.force_login(users["operator"])

    token = create_token(client)

    assert len(token) >= 40
    stored = ApiToken.objects.get(user=users["operator"])
    assert stored.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.prefix == token[:8]
    assert all(token not in str(value) for value in stored.__dict__.values())
    assert all(token not in str(s.get_decoded()) for s in Session.objects.all())
    later = client.get(reverse("settings")).content.decode()
    assert token not in later
    assert f"starting <code>{token[:8]}…</code>" in later


def test_the_token_calls_the_api_with_its_owners_role(client, users):
    client.force_login(users["operator"])
    token = create_token(client)
    assert api(token).get("/api/v1/connections/").status_code == 200
    assert api(token).post("/api/v1/connections/", {}, format="json").status_code == 403


def test_a_replaced_token_stops_working(client, users):
    client.force_login(users["operator"])
    old = create_token(client)
    new = create_token(client)
    response = api(old).get("/api/v1/connections/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert api(new).get("/api/v1/connections/").status_code == 200


def test_without_a_token_the_api_answers_401_with_www_authenticate(users):
    response = api().get("/api/v1/connections/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert api("not-a-token").get("/api/v1/connections/").status_code == 401


def test_a_deactivated_users_token_stops_working(users):
    token = ApiToken.issue(users["viewer"])
    users["viewer"].is_active = False
    users["viewer"].save()
    assert api(token).get("/api/v1/connections/").status_code == 401


def manage(database: str, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *command], cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}", "CLARITY_DEMO": ""},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_migration_hashes_tokens_of_the_old_table_and_empties_it(tmp_path):
    database = str(tmp_path / "old.sqlite3")
    for command in (["migrate"], ["migrate", "clarity", "0004_user_time_zone"]):  # before it
        assert manage(database, *command).returncode == 0
    with sqlite3.connect(database) as db:  # DRF's authtoken table, as an older install has it
        db.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) "
            "VALUES ('!', 0, 'scripter', '', '', '', 0, 1, '2025-01-01')"
        )
        db.execute(
            'CREATE TABLE authtoken_token ("key" varchar(40) PRIMARY KEY, created datetime, '
            "user_id integer UNIQUE REFERENCES auth_user (id))"
        )
        db.execute(f"INSERT INTO authtoken_token VALUES ('{OLD_KEY}', '2025-01-02', 1)")

    migrated = manage(database, "migrate")
    assert migrated.returncode == 0, migrated.stderr[-2000:]

    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM authtoken_token").fetchone() == (0,)
        rows = db.execute("SELECT user_id, prefix, key_hash FROM clarity_apitoken").fetchall()
    assert rows == [(1, OLD_KEY[:8], hashlib.sha256(OLD_KEY.encode()).hexdigest())]
    still_works = manage(
        database, "shell", "-c",
        "from clarity.authentication import HashedTokenAuthentication as A; "
        f"print(A().authenticate_credentials('{OLD_KEY}')[0].username)",
    )  # fmt: skip
    assert still_works.stdout.splitlines()[-1] == "scripter", still_works.stderr[-2000:]
