"""The sandbox's self-signed TLS certificate and the demo JWT key pair, kept in the data dir.

simple-salesforce only speaks https, so clients verify against `salesforce-cert.pem`.
Both are generated once and reused, so a client configured with them keeps working.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sandbox.salesforce import ids

CERT_FILE = "salesforce-cert.pem"
KEY_FILE = "salesforce-key.pem"
JWT_PRIVATE_FILE = "salesforce-jwt-private.pem"
JWT_PUBLIC_FILE = "salesforce-jwt-public.pem"
# More addresses or host names the certificate names, comma-separated, e.g. the bridge address
# bench/cluster.py's hosts reach the sandbox on. Read only when the certificate is made.
EXTRA_NAMES_ENV = "SANDBOX_SALESFORCE_TLS_NAMES"


def _subject_names() -> list[x509.GeneralName]:
    """127.0.0.1 and localhost, then every name in EXTRA_NAMES_ENV."""
    names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
    ]
    for name in filter(None, os.environ.get(EXTRA_NAMES_ENV, "").replace(" ", "").split(",")):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    return names


def _private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ensure_certificate(data_dir: Path) -> tuple[Path, Path]:
    """(cert path, key path): a certificate for CN/SAN 127.0.0.1 and localhost."""
    cert_path, key_path = data_dir / CERT_FILE, data_dir / KEY_FILE
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Clarity Connect Salesforce sandbox"),
    ])  # fmt: skip
    start = ids.now() - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(_subject_names()), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(_private_pem(key))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def ensure_jwt_keys(data_dir: Path) -> tuple[Path, Path]:
    """(private, public) PEM paths of the demo key pair a JWT-bearer client signs with."""
    private_path, public_path = data_dir / JWT_PRIVATE_FILE, data_dir / JWT_PUBLIC_FILE
    if private_path.exists() and public_path.exists():
        return private_path, public_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_path.write_bytes(_private_pem(key))
    private_path.chmod(0o600)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path
