"""A free-form ODBC connection string is an instruction to the driver manager: another
DRIVER= loads another library, SQLite's LoadExt= loads any shared object, ProvideX's
LogFile= writes a file. The Sage forms take only the dialect's documented keys, a driver
from its list, values that cannot smuggle in another attribute, and never the password;
and a string stored before that is refused before the driver reads it."""

import pytest
from django.urls import reverse

from connectors.models import Connection
from connectors.services import check_connection

pytestmark = pytest.mark.django_db

SAGE100 = {"name": "Sage 100", "odbc_dialect": "providex", "company_code": "ABC",
           "default_warehouse": "000", "bridge_url": "http://127.0.0.1:8104",
           "bridge_key": "k" * 20}  # fmt: skip


@pytest.fixture
def admin(client, users):
    client.force_login(users["admin"])
    return client


def odbc_error(admin, system: str, form: dict) -> list[str]:
    page = admin.post(reverse("connection-create", args=[system]), form)
    return page.context["form"].errors.get("odbc_connection_string", []) if page.context else []


@pytest.mark.parametrize(
    ("dialect", "text", "words"),
    [
        ("sqlite", "DRIVER={SQLite3};Database=/tmp/x.db;LoadExt=/tmp/evil.so",
         "LoadExt is not a setting the SQLite (sandbox) driver is given here"),
        ("providex", "DSN=SOTAMAS90;LogFile=/var/www/shell.php",
         "LogFile is not a setting the ProvideX (Sage 100) driver is given here"),
        ("providex", "DRIVER={/tmp/evil.so};Company=ABC",
         "DRIVER={/tmp/evil.so} is not a ProvideX (Sage 100) driver"),
        ("mssql", "DRIVER={SQLite3};Database=/srv/clarity/db.sqlite3",
         "is not a SQL Server (Sage 100 Premium) driver"),
        ("providex", "DSN=SOTAMAS90;UID=integration;PWD=hunter2",
         "Leave PWD out: type the password in the ODBC password field"),
        ("providex", "DSN=SOTAMAS90;Company=ABC}};LoadExt={/tmp/evil.so}",
         "Cannot read the connection string at"),
        ("providex", "DSN=SOTAMAS90;DSN=Other", "DSN is given twice"),
        ("providex", "DSN=SOTAMAS90;\nLogFile=/tmp/x", "control character"),
    ],
)  # fmt: skip
def test_the_sage_100_form_refuses_what_the_driver_should_not_be_told(admin, dialect, text, words):
    errors = odbc_error(admin, "sage100", {**SAGE100, "odbc_dialect": dialect,
                                           "odbc_connection_string": text})  # fmt: skip

    assert len(errors) == 1 and words in errors[0], errors
    assert not Connection.objects.exists()


def test_the_documented_strings_are_taken(admin):
    for dialect, text in [
        ("providex", "DSN=SOTAMAS90;Company=ABC;UID=integration"),
        ("mssql", "DRIVER={ODBC Driver 18 for SQL Server};Server=sage-sql;Database=MAS_ABC"),
        ("sqlite", "DRIVER={SQLite3};Database=/srv/sandbox/sage100.db"),
    ]:
        form = {**SAGE100, "name": dialect, "odbc_dialect": dialect,
                "odbc_connection_string": text}  # fmt: skip
        assert odbc_error(admin, "sage100", form) == []
    assert Connection.objects.count() == 3


def test_the_sage_50_desktop_form_checks_its_pervasive_string(admin):
    form = {"name": "Sage 50", "odbc_dialect": "pervasive", "company_name": "Cedar Ridge",
            "agent_url": "http://127.0.0.1:8106", "customer_reference_field": "CustomField5",
            "agent_key": "k" * 20}  # fmt: skip
    text = "DSN=CedarRidge;UID=Peachtree;LoadExt=/tmp/evil.so"

    [error] = odbc_error(admin, "sage50desktop", {**form, "odbc_connection_string": text})

    assert error.startswith("LoadExt is not a setting the Pervasive / Actian Zen (Sage 50)")
    form["odbc_connection_string"] = "DSN=CedarRidge;UID=Peachtree"
    assert odbc_error(admin, "sage50desktop", form) == []


def test_a_stored_string_is_refused_before_the_driver_reads_it(tmp_path):
    database = tmp_path / "created-by-the-driver.db"
    connection = Connection.objects.create(
        name="Old Sage 100", system="sage100",
        settings={**SAGE100, "odbc_dialect": "sqlite",
                  "odbc_connection_string": f"DRIVER={{SQLite3}};Database={database};"
                                            f"LoadExt={tmp_path / 'evil'}"},
        secrets={"bridge_key": "k" * 20},
    )  # fmt: skip

    health = check_connection(connection)

    assert not health.ok
    assert health.message.startswith("Sage 100's ODBC connection string is refused: LoadExt")
    assert not database.exists()  # the driver never opened it
