"""Connections to a system are kept per thread: the clients a run builds anew reuse the
sockets the thread opened before, and no two threads ever share one."""

import threading
from urllib.parse import urlsplit

from connectors.http import HttpClient
from connectors.outbound import thread_adapter


def opened_to(base: str) -> int:
    """Sockets this thread's pools for `base`'s host and port have opened so far."""
    url = urlsplit(base)
    pools = thread_adapter().poolmanager.pools
    return sum(
        pools[key].num_connections
        for key in pools.keys()  # noqa: SIM118 (the container is not iterable)
        if (key.key_host, key.key_port) == (url.hostname, url.port)
    )


def answered(client: HttpClient) -> None:
    """One request, whatever the answer (the sandbox refuses a request without a key)."""
    assert client.session.get(client.url("/api/v1/users/me"), timeout=5).status_code == 401


def test_two_clients_of_one_thread_share_one_connection_and_another_thread_opens_its_own(
    streak_sandbox,
):
    base = streak_sandbox.url
    thread_adapter().poolmanager.clear()  # whatever earlier tests on this thread kept open
    for _ in range(3):  # a new client per run, as connectors are built per run
        answered(HttpClient("streak", base))
    assert opened_to(base) == 1
    opened_there: list[int] = []

    def elsewhere() -> None:
        answered(HttpClient("streak", base))
        opened_there.append(opened_to(base))

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert opened_there == [1]
    assert opened_to(base) == 1
