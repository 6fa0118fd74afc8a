"""Run the bridge standalone:

    CLARITY_BRIDGE_KEY=... python -m connectors.sage100.bridge \\
        --backend package.module:BackendClass [backend args...] --port 8105 \\
        [--cert cert.pem --keyfile key.pem] [--idempotency-db bridge-idempotency.db]

The backend class is built with the remaining string arguments, e.g. the sandbox backend
with the SQLite file: `--backend sandbox.sage100.backend:SandboxBackend var/sandbox/sage100.db`;
on Windows beside Sage 100, BOI: `--backend connectors.sage100.bridge.boi_backend:BOIBackend
C:\\Sage\\MAS90\\Home ABC <sage user>` with CLARITY_BOI_PASSWORD set.
The key comes from the environment, never the command line (other users can read that).
"""

import argparse
import os
import sys
from importlib import import_module
from pathlib import Path

from werkzeug.serving import run_simple

from connectors.sage100.bridge.server import BridgeApp

KEY_ENV = "CLARITY_BRIDGE_KEY"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m connectors.sage100.bridge")
    parser.add_argument("--backend", required=True, help="module:Class of the Sage100Backend")
    parser.add_argument("backend_args", nargs="*", help="string arguments for the backend")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8105)
    parser.add_argument("--idempotency-db", type=Path, default=Path("bridge-idempotency.db"))
    parser.add_argument("--cert", help="TLS certificate (PEM); serve https when given")
    parser.add_argument("--keyfile", help="TLS private key (PEM)")
    args = parser.parse_args(argv)
    key = os.environ.get(KEY_ENV, "")
    if not key:
        sys.exit(f"Set {KEY_ENV} to the key shared with Clarity Connect.")
    module, _, name = args.backend.partition(":")
    backend = getattr(import_module(module), name)(*args.backend_args)
    ssl_context = (args.cert, args.keyfile) if args.cert else None
    app = BridgeApp(backend, key, args.idempotency_db)
    run_simple(args.host, args.port, app, threaded=True, ssl_context=ssl_context)


if __name__ == "__main__":
    main()
