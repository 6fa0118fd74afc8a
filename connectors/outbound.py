"""The one guard for every request this server sends on someone else's say-so (SSRF).

Connection URLs, the `instance_url` of Salesforce's token reply, Sage's paging links, event
subscriptions, alert webhooks, the agents and the Pub/Sub address are typed by people or
sent by outside systems; none of them may make this server reach its own network. So:

- a URL is http or https, names a host and carries no credentials (`check_url`);
- every address its host resolves to must be public. Private (RFC 1918, fc00::/7), loopback,
  link-local (169.254/16, where clouds answer with instance credentials; fe80::/10),
  unspecified, multicast, reserved and shared (CGNAT, 100.64/10) addresses, and their
  IPv4-mapped IPv6 forms, are refused unless the host as written (name or address, alone or
  as host:port) is in settings.CLARITY_OUTBOUND_ALLOWED_HOSTS: the sandboxes, or a Sage
  server on the customer's network;
- the check runs where the socket is opened (`GuardedSession`): the host is resolved once,
  every address checked, and the socket connected to a checked address, while TLS (SNI and
  the certificate) and the Host header keep the name. A DNS answer that changes between a
  form's check and the request (rebinding) meets the same check again;
- redirects are followed hop by hop through the same session, so each hop is checked alike;
- open connections are kept per thread and host (`thread_adapter`), so the next request
  to a system skips the TCP and TLS handshakes; a kept socket was checked when opened, and
  every request and redirect is still checked by `GuardedSession.send`. Pools are never
  shared between threads (urllib3's are locked, but a session's cookies and state are not),
  and a forked worker starts with none of its parent's sockets;
- gRPC (`grpc_target`) is resolved and checked once, and the channel pinned to the addresses
  checked.

Forms apply the same rules when saved (`validate_url`, `validate_host_port`), so an admin
learns at once rather than at the first run. A refusal is `OutboundRefused`, raised before
any packet leaves; its message names the host, never the whole URL (a Slack webhook URL is
itself a secret).
"""

import ipaddress
import os
import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import create_connection

from clarity.cpu_turns import waiting_on_a_system
from connectors.errors import OutboundRefused, TransientError

SCHEMES = {"http": 80, "https": 443}  # with their default ports
MAX_REDIRECTS = 5
HOSTS_KEPT = 16  # per thread: the systems a worker thread's runs talk to, with room
CONNECTIONS_KEPT = 2  # per thread and host: one request at a time, one more for a redirect
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Answer = tuple[Any, ...]  # one getaddrinfo answer: family, type, proto, canonname, sockaddr
Resolver = Callable[[str, int], list[Answer]]


def system_resolver(host: str, port: int) -> list[Answer]:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


# Where names are resolved; tests stand in for DNS here (e.g. an answer that changes between
# two lookups, as a rebinding attack's does).
resolver: Resolver = system_resolver


def kind_of(address: IpAddress) -> str:
    """What makes an address unfit for a server-side request, in words; "" when public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    checks = (
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address (this server itself)"),
        (address.is_link_local, "a link-local address (where cloud metadata services answer)"),
        (address.is_multicast, "a multicast address"),
        (address in SHARED, "a carrier-grade NAT address (100.64.0.0/10)"),
        (address.is_private, "a private network address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "an address that is not publicly routable"),
    )
    return next((words for hit, words in checks if hit), "")


def bare(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def listed() -> set[tuple[str, str]]:
    """The allow-list as (host, port) pairs; port "" for any port. IPv6 addresses with a
    port are written in brackets: [fd00::5]:8105."""
    pairs = set()
    for entry in settings.CLARITY_OUTBOUND_ALLOWED_HOSTS:
        entry = entry.strip().lower()
        if entry.startswith("["):
            name, _, port = entry[1:].partition("]")
            port = port.removeprefix(":")
        elif entry.count(":") == 1:
            name, _, port = entry.partition(":")
        else:
            name, port = entry, ""
        pairs.add((bare(name), port))
    return pairs


def allowed(host: str, port: int) -> bool:
    """The host as written (name or address), alone or with this port, is allow-listed."""
    pairs = listed()
    return (bare(host), "") in pairs or (bare(host), str(port)) in pairs


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def refused(host: str, reason: str, message: str) -> OutboundRefused:
    return OutboundRefused(message, host=host, reason=reason)


def check_url(url: str) -> SplitResult:
    """The URL's form: http or https, a host, no user or password in it (credentials belong
    in a connection's secrets: a URL is logged, shown and sent in the clear over http)."""
    try:
        parts = urlsplit(str(url).strip())
        if parts.port == 0:  # out of range raises ValueError itself
            raise ValueError("port 0")
    except ValueError as exc:
        raise refused("", "malformed", f"The URL is not valid ({exc}).") from exc
    if parts.scheme.lower() not in SCHEMES:
        scheme = f"“{parts.scheme}:”" if parts.scheme else "no scheme"
        raise refused(
            parts.hostname or "",
            "scheme",
            f"Only http:// and https:// addresses may be used, and this URL has {scheme}.",
        )
    if not parts.hostname:
        raise refused("", "no host", "The URL names no host: write it as https://host/path.")
    if "@" in parts.netloc:
        raise refused(
            parts.hostname,
            "credentials",
            f"The URL for {parts.hostname} holds a user name or password: remove it from the "
            "URL and type it in the connection's secret fields instead.",
        )
    return parts


def port_of(parts: SplitResult) -> int:
    return parts.port or SCHEMES[parts.scheme.lower()]


def literal(host: str) -> IpAddress | None:
    """The host as an IP address when it is one (an IPv6 zone, %eth0 or %25eth0, dropped)."""
    try:
        return ipaddress.ip_address(bare(host).split("%")[0])
    except ValueError:
        return None


def addresses(host: str, port: int) -> list[Answer]:
    """Resolve `host` (socket.gaierror when it does not resolve) and check every address it
    has, unless the host is allow-listed; the answers to connect to."""
    if allowed(host, port):
        return resolver(bare(host), port)
    written = literal(host)
    if written is not None:
        refuse_private(host, written)
    answers = resolver(bare(host), port)
    for answer in answers:
        refuse_private(host, ipaddress.ip_address(str(answer[4][0]).split("%")[0]))
    return answers


def refuse_private(host: str, address: IpAddress) -> None:
    """OutboundRefused naming the host, the address and what to do, unless it is public."""
    kind = kind_of(address)
    if not kind:
        return
    named = host if literal(host) == address else f"{host} ({address})"
    raise refused(
        host,
        kind,
        f"Refused to connect to {named}: it is {kind}, and this server sends requests only "
        "to public addresses. If it is really your Sage server (or another system of yours "
        f"on this network), add {bare(host)} to CLARITY_OUTBOUND_ALLOWED_HOSTS.",
    )


def check_now(url: str) -> SplitResult:
    """`check_url`, and the addresses the host has now (a name that does not resolve yet
    passes: it is checked again when a request is sent)."""
    parts = check_url(url)
    with suppress(socket.gaierror):
        addresses(parts.hostname or "", port_of(parts))
    return parts


def split_host_port(address: str) -> tuple[str, int]:
    """`host:port` (a gRPC address) as its parts; OutboundRefused when it is not one."""
    try:
        parts = urlsplit(f"//{address.strip()}")
        port = parts.port
    except ValueError:
        port = None
        parts = None
    if parts is None or not parts.hostname or port is None or "@" in parts.netloc:
        raise refused("", "malformed", f"“{address}” is not a host:port address.")
    return parts.hostname, port


def validate_url(value: str) -> None:
    """Form validator: the guard's rules, checked when a URL is saved."""
    try:
        check_now(value)
    except OutboundRefused as exc:
        raise ValidationError(exc.message, code="outbound") from exc


def validate_host_port(value: str) -> None:
    """Form validator for a host:port address (gRPC)."""
    try:
        host, port = split_host_port(value)
        addresses(host, port)
    except socket.gaierror:
        return
    except OutboundRefused as exc:
        raise ValidationError(exc.message, code="outbound") from exc


def grpc_target(address: str) -> tuple[str, str]:
    """A gRPC `host:port` resolved and checked once: the channel's target pinned to the
    checked addresses of one family (`ipv4:a:p,b:p`), and the host name TLS must verify."""
    host, port = split_host_port(address)
    try:
        answers = addresses(host, port)
    except socket.gaierror as exc:
        raise TransientError(
            f"The name {host} could not be resolved (no such host, or DNS is down).",
            detail=str(exc),
        ) from exc
    family = answers[0][0]
    scheme = "ipv6" if family == socket.AF_INET6 else "ipv4"
    pinned = [host_port(str(a[4][0]), port) for a in answers if a[0] == family]
    return f"{scheme}:{','.join(dict.fromkeys(pinned))}", host


# ---------------------------------------------------------------- requests and urllib3


class GuardedConnect:
    """urllib3's `_new_conn`, through the guard: resolve once, check every address, connect
    to a checked one. urllib3 keeps the name for the Host header and TLS."""

    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        try:
            answers = addresses(self.host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        failure: OSError | None = None
        for answer in answers:
            try:
                return create_connection(
                    (str(answer[4][0]), self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:
                failure = exc
        if isinstance(failure, TimeoutError):
            message = f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            raise ConnectTimeoutError(self, message) from failure
        raise NewConnectionError(
            self,  # type: ignore[arg-type]
            f"Failed to establish a new connection: {failure}",
        ) from failure


class GuardedHTTPConnection(GuardedConnect, HTTPConnection):
    pass


class GuardedHTTPSConnection(GuardedConnect, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """requests' adapter whose pools open guarded connections; proxies are not offered (a
    proxy would do the resolving, out of the guard's sight)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise refused("", "proxy", "Server-side requests are not sent through a proxy.")


_kept = threading.local()


def _forget_parents_connections() -> None:
    """A forked worker opens its own sockets: the parent's are the parent's to use."""
    global _kept
    _kept = threading.local()


os.register_at_fork(after_in_child=_forget_parents_connections)


SAFE_METHODS = frozenset({"GET", "HEAD"})  # requests that change nothing at the system


def writes_sent() -> int:
    """How many requests that may change something at a system (any method but GET and
    HEAD) this thread has sent: the runner writes a step's result at once only after a step
    that sent one (flows/step_records.py)."""
    return getattr(_kept, "writes", 0)


def thread_adapter() -> GuardedAdapter:
    """This thread's guarded adapter, whose pools keep connections open per host for every
    client the thread uses: a run builds new clients, the sockets outlive them."""
    adapter = getattr(_kept, "adapter", None)
    if adapter is None:
        adapter = GuardedAdapter(pool_connections=HOSTS_KEPT, pool_maxsize=CONNECTIONS_KEPT)
        _kept.adapter = adapter
    return adapter


class GuardedSession(requests.Session):
    """A requests session for outside systems: each request and each redirect hop has its
    URL checked, and its sockets are opened by the guard and kept by the calling thread's
    adapter (`thread_adapter`), so a session used from several threads never shares a
    socket between them. The environment's proxy and CA settings are ignored: the
    connection's settings decide."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self.max_redirects = MAX_REDIRECTS
        self.adapters.clear()  # requests' own adapters would open unguarded sockets

    def get_adapter(self, url: str) -> GuardedAdapter:
        """The calling thread's adapter, for http and https alike (`send` checked the URL)."""
        if urlsplit(url).scheme.lower() not in SCHEMES:
            raise requests.exceptions.InvalidSchema("Not sent: the address is not http or https.")
        return thread_adapter()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        check_url(request.url or "")
        if request.method not in SAFE_METHODS:
            _kept.writes = writes_sent() + 1
        with waiting_on_a_system():  # another run thread may use the CPU meanwhile
            return super().send(request, **kwargs)
