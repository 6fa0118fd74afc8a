"""`python -m agent` as a customer runs it: a real process served by cheroot over TLS (a
self-signed certificate made here), Sage 100's endpoints over the sandbox backend on a
seeded copy of the Sage 100 tables, called through `AgentClient` trusting that certificate
(`ca_bundle`); the customer it writes read back over ODBC. And the starts it refuses."""

import ipaddress
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyodbc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connectors.agent_client import AgentClient
from connectors.errors import AuthError, TransientError, ValidationError
from sandbox.sage100.seed import write_seed

KEY = "process-test-agent-key"
REPO = Path(__file__).resolve().parents[2]
BACKEND = "sandbox.sage100.backend:SandboxBackend"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files for 127.0.0.1 and localhost, signed by themselves."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Clarity agent test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "agent-cert.pem", folder / "agent-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_agent(*args: str, key: str = KEY) -> subprocess.Popen:
    env = {**os.environ, "CLARITY_AGENT_KEY": key}
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "--product", "sage100", "--backend", BACKEND, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_listening(process: subprocess.Popen, port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the agent exited at start: {process.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail("the agent did not listen within 20 s")


@pytest.fixture
def company(tmp_path) -> Path:
    """A fresh copy of the seeded Sage 100 tables, as the sandbox makes them."""
    db_path = tmp_path / "sage100.db"
    write_seed(db_path)
    return db_path


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


@pytest.fixture
def agent_url(tmp_path, company, certificate) -> Iterator[str]:
    cert_path, key_path = certificate
    port = free_port()
    process = start_agent(
        str(company),
        "--port", str(port),
        "--cert", str(cert_path),
        "--keyfile", str(key_path),
        "--idempotency-db", str(tmp_path / "idempotency.db"),
    )  # fmt: skip
    try:
        wait_until_listening(process, port)
        yield f"https://127.0.0.1:{port}"
    finally:
        process.terminate()
        stopped = process.wait(timeout=15)
    assert stopped == 0, process.stderr.read()  # SIGTERM stops it cleanly


def client(url: str, ca_bundle: Path | str = "", key: str = KEY) -> AgentClient:
    return AgentClient("sage100", "Sage 100 agent", url, key, ca_bundle=str(ca_bundle))


def customers_named(company: Path, name: str) -> list[tuple]:
    connection = pyodbc.connect(f"DRIVER={{SQLite3}};Database={company}", autocommit=True)
    try:
        sql = "SELECT ARDivisionNo, CustomerNo, UDF_CRM_ID FROM AR_Customer WHERE CustomerName = ?"
        return [tuple(row) for row in connection.cursor().execute(sql, name).fetchall()]
    finally:
        connection.close()


def test_the_agent_process_serves_health_and_creates_a_customer_once_over_tls(
    agent_url, company, certificate
):
    agent = client(agent_url, ca_bundle=certificate[0])
    health = agent.health()
    assert health["status"] == "ok" and health["product"] == "sage100"
    assert health["backend"] == "sandbox"
    body = {"ARDivisionNo": "00", "CustomerName": "Tidewater Valve Co", "UDF_CRM_ID": "crm-881"}
    made, existed = agent.create("/v1/customers", "customer", body, "deal-881:customer",
                                 match="UDF_CRM_ID")  # fmt: skip
    assert not existed and made["CustomerName"] == "Tidewater Valve Co"
    again, existed = agent.create("/v1/customers", "customer", body, "deal-881:retry",
                                  match="UDF_CRM_ID")  # fmt: skip
    assert existed and again["CustomerNo"] == made["CustomerNo"]
    assert customers_named(company, "Tidewater Valve Co") == [("00", made["CustomerNo"], "crm-881")]


def test_the_agents_refusals_reach_the_client_as_its_error_classes(agent_url, certificate):
    agent = client(agent_url, ca_bundle=certificate[0])
    with pytest.raises(ValidationError) as refused:
        agent.create("/v1/customers", "customer", {"ARDivisionNo": "00"}, "no-name")
    assert refused.value.fields == {"CustomerName": "The CustomerName is required."}
    with pytest.raises(AuthError, match="refused the key"):
        client(agent_url, ca_bundle=certificate[0], key="not-the-key").health()


def test_without_the_agents_certificate_the_client_does_not_trust_it(agent_url, company):
    with pytest.raises(TransientError, match="Could not reach"):
        client(agent_url).create(
            "/v1/customers", "customer", {"ARDivisionNo": "00", "CustomerName": "Mallory"}, "k"
        )
    assert customers_named(company, "Mallory") == []


@pytest.mark.parametrize(
    "args, key, said",
    [
        (["--host", "0.0.0.0"], KEY, "Refusing to listen on 0.0.0.0 without TLS"),
        (["--host", "192.0.2.10", "--cert", "agent.pem"], KEY, "Give both --cert and --keyfile"),
        ([], "", "Set CLARITY_AGENT_KEY"),
    ],
)
def test_the_agent_refuses_to_start_unsafely_and_says_why(company, args, key, said):
    port = free_port()
    process = start_agent(str(company), "--port", str(port), *args, key=key)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode != 0 and said in stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


def test_the_agent_loads_without_django_or_the_rest_of_clarity():
    """On the Sage PC only Python, werkzeug and cheroot (and pywin32 or pythonnet) exist."""
    script = (
        "import sys, agent.__main__, agent.sage100.boi, agent.sage50.sdk\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert {"agent", "werkzeug", "cheroot"} <= set(loaded)
    assert not {"django", "clarity", "connectors", "sandbox", "requests"} & set(loaded)
