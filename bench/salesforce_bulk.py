"""Upsert 10,000 Accounts into the Salesforce sandbox through sObject Collections and count
the API calls it costs (target: at most 55, token and describe included) and records/s.

Standalone: `.venv/bin/python bench/salesforce_bulk.py`. The sandbox runs in-process on a
free port with its data in a temporary folder; the connection is an unsaved row, so the
token lives in memory and nothing is written to the app's database.
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import django
import requests

RECORDS = 10_000
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clarity.settings")
django.setup()

from connectors.models import Connection  # noqa: E402
from connectors.salesforce.connector import SalesforceConnector  # noqa: E402
from sandbox.registry import start_all  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = start_all(Path(tmp), ports={"salesforce": 0}, names=["salesforce"])["salesforce"]
        try:
            cert = str(sandbox.app.data_dir / "salesforce-cert.pem")
            control = requests.Session()
            control.trust_env = False
            control.post(
                f"{sandbox.url}/_control/settings", json={"api_limit": 1_000_000}, verify=cert
            ).raise_for_status()
            connection = Connection(
                name="Bench Salesforce",
                system="salesforce",
                settings={
                    "login_url": sandbox.url,
                    "auth_flow": "client_credentials",
                    "client_id": "sandbox-client",
                    "ca_bundle": cert,
                },
                secrets={"client_secret": "sandbox-secret"},
            )
            connector = SalesforceConnector(connection)
            accounts = [
                {
                    "ExternalID__c": f"BENCH-{n:05d}",
                    "Name": f"Bench Account {n:05d}",
                    "BillingCity": "Seattle",
                    "Industry": "Retail",
                }
                for n in range(RECORDS)
            ]
            started = time.perf_counter()
            external = connector.external_id_field("Account")  # the describe a real sync makes
            results = connector.upsert_many("Account", external, accounts)
            elapsed = time.perf_counter() - started
            failed = [r for r in results if not r.success]
            if failed:
                print(f"{len(failed)} records failed, first: {failed[0].error}", file=sys.stderr)
            print(f"{len(results) - len(failed)} upserted in {elapsed:.1f} s", file=sys.stderr)
            print(
                json.dumps(
                    {
                        "bench": "salesforce_bulk",
                        "records": len(results) - len(failed),
                        "api_calls": connector.client.api_calls,
                        "records_per_s": round(len(results) / elapsed, 1),
                    }
                )
            )
        finally:
            sandbox.stop()


if __name__ == "__main__":
    main()
