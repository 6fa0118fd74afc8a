"""The agent's memory of the nonces it has taken, so a captured signed request (read or
write) cannot be sent again while its timestamp is still inside the window.

A nonce is kept until its request's timestamp leaves the window (timestamp +
`WINDOW_SECONDS`): after that the timestamp check refuses the request anyway, so the memory
need hold no more. It is bounded: with `max_nonces` live nonces, a new request is refused
(`CacheFull`, 429) until the oldest expire, rather than forgetting one early, which would
let that request be replayed. Only requests whose signature checked are remembered, so only
a holder of the key can fill it. In memory, shared by the server's threads: a restart
forgets, so a request captured in the five minutes before a restart could be sent once
more after it, inside its window; a write is still done at most once for its
Idempotency-Key (kept on disk).
"""

import heapq
import math
import threading

from agent.protocol import WINDOW_SECONDS

MAX_NONCES = 50_000  # ~10 MB; over 80 requests a second for ten minutes, far above Sage's pace


class Replayed(Exception):
    """The nonce was taken before: the request is a copy of one already received."""


class CacheFull(Exception):
    """Too many live nonces to remember another; `retry_after` seconds until one expires."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class NonceCache:
    """Nonces with their expiry (a dict to look up, a heap to forget the oldest first)."""

    def __init__(self, max_nonces: int = MAX_NONCES) -> None:
        self.max_nonces = max_nonces
        self._expiry: dict[str, float] = {}
        self._by_expiry: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def take(self, nonce: str, sent_at: float, now: float) -> None:
        """Remember `nonce` of a request signed at `sent_at`; raise Replayed when it was
        taken before, CacheFull when no more can be remembered now."""
        with self._lock:
            self._forget_expired(now)
            if nonce in self._expiry:
                raise Replayed
            if len(self._expiry) >= self.max_nonces:
                raise CacheFull(max(1, math.ceil(self._by_expiry[0][0] - now)))
            expires_at = sent_at + WINDOW_SECONDS
            self._expiry[nonce] = expires_at
            heapq.heappush(self._by_expiry, (expires_at, nonce))

    def _forget_expired(self, now: float) -> None:
        """Drop the nonces whose timestamps are out of the window at `now`."""
        while self._by_expiry and self._by_expiry[0][0] < now:
            _, nonce = heapq.heappop(self._by_expiry)
            del self._expiry[nonce]

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)
