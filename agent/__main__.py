"""Run the agent on the machine beside Sage, served by cheroot (a production WSGI server
that also runs on Windows):

    set CLARITY_AGENT_KEY=<the key also stored on the Clarity connection>
    python -m agent --product sage100|sage50 --backend package.module:BackendClass
        [backend args...] [--host 0.0.0.0 --port 8105] --cert agent.pem --keyfile agent.key
        [--idempotency-db C:\\ClarityAgent\\idempotency.db]

The backend class is built with the remaining string arguments, e.g. on Windows beside Sage
100, BOI: `--backend agent.sage100.boi:BOIBackend C:\\Sage\\MAS90\\Home ABC <sage user>`
(with CLARITY_BOI_PASSWORD set); beside Sage 50 US, the SDK: `--backend
agent.sage50.sdk:SdkBackend <company path> ...` (see that module); a sandbox's:
`--backend sandbox.sage100.backend:SandboxBackend var/sandbox/sage100.db`.

The key comes from the environment, never the command line (other users can read that).
Without --cert/--keyfile the agent serves plain http and only on a loopback address: the
key signs requests but does not hide the customers and orders they carry.
"""

import argparse
import ipaddress
import os
import signal
import sys
from importlib import import_module
from pathlib import Path
from typing import Any, NoReturn

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from agent.api import ProductApi
from agent.backend import AgentBackend
from agent.sage50.api import Sage50Api
from agent.sage50.backend import Sage50Backend
from agent.sage100.api import Sage100Api
from agent.sage100.backend import Sage100Backend
from agent.server import MAX_BODY_BYTES, AgentApp

KEY_ENV = "CLARITY_AGENT_KEY"
MAX_HEADER_BYTES = 65_536
PRODUCTS: dict[str, tuple[type[ProductApi], type[AgentBackend]]] = {
    "sage100": (Sage100Api, Sage100Backend),
    "sage50": (Sage50Api, Sage50Backend),
}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m agent", description="The Clarity agent beside Sage."
    )
    parser.add_argument("--product", required=True, choices=sorted(PRODUCTS))
    parser.add_argument("--backend", required=True, help="module:Class of the product's backend")
    parser.add_argument("backend_args", nargs="*", help="string arguments for the backend")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8105)
    parser.add_argument("--idempotency-db", type=Path, default=Path("agent-idempotency.db"))
    parser.add_argument("--cert", help="TLS certificate (PEM); serve https when given")
    parser.add_argument("--keyfile", help="TLS private key (PEM)")
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES)
    return parser.parse_args(argv)


def load_backend(product: str, spec: str, args: list[str]) -> AgentBackend:
    module, _, name = spec.partition(":")
    try:
        backend_class = getattr(import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        sys.exit(f"--backend {spec}: no such class ({exc}). Give it as package.module:Class.")
    expected = PRODUCTS[product][1]
    if not (isinstance(backend_class, type) and issubclass(backend_class, expected)):
        sys.exit(f"--backend {spec} is not a {expected.__name__}, so it cannot serve {product}.")
    return backend_class(*args)


def stop(signum: int, frame: Any) -> NoReturn:
    """SIGTERM (a service manager stopping the agent): leave the serve loop cleanly."""
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    key = os.environ.get(KEY_ENV, "")
    if not key:
        sys.exit(f"Set {KEY_ENV} to the key shared with Clarity Connect.")
    if bool(args.cert) != bool(args.keyfile):
        sys.exit("Give both --cert and --keyfile (PEM files) to serve https, or neither.")
    if not args.cert and not is_loopback(args.host):
        sys.exit(
            f"Refusing to listen on {args.host} without TLS: requests carry your customers "
            "and orders in clear. Give --cert and --keyfile, or listen on 127.0.0.1."
        )
    backend = load_backend(args.product, args.backend, args.backend_args)
    api_class = PRODUCTS[args.product][0]
    app = AgentApp(api_class(backend), key, args.idempotency_db, args.max_body_bytes)
    server = wsgi.Server((args.host, args.port), app, server_name="clarity-agent")
    server.max_request_header_size = MAX_HEADER_BYTES  # read before the signature is checked
    if args.cert:
        server.ssl_adapter = BuiltinSSLAdapter(args.cert, args.keyfile)
    scheme = "https" if args.cert else "http"
    signal.signal(signal.SIGTERM, stop)
    print(
        f"Clarity agent for {args.product} ({args.backend}) on {scheme}://{args.host}:{args.port}",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        close = getattr(backend, "close", None)  # BOI and SDK sessions end with the agent
        if close is not None:
            close()


if __name__ == "__main__":
    main()
