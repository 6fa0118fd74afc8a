"""A per-token rate limit for webhook deliveries, checked before the database is touched.

One token bucket per (pair slug, URL token) and web process: `CLARITY_WEBHOOK_BURST`
deliveries at once, refilled at `CLARITY_WEBHOOK_RATE_PER_SECOND` (0 turns the limit off).
A token holder sending more is answered 429 with Retry-After, which Streak and Salesforce
both retry later. The buckets live in a bounded LRU, so a sender spraying random tokens
cannot grow memory: the bucket least recently used is forgotten first (a forgotten bucket
starts full again, which only a sender spraying thousands of other URLs could arrange, at a
cost of a 404 each). Wrong tokens get buckets too: telling them apart needs the database.
"""

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings

MAX_BUCKETS = 4096


@dataclass
class Bucket:
    tokens: float
    updated: float  # time.monotonic() of the last refill


class WebhookThrottle:
    """Token buckets keyed by (slug, token); safe to share between a process's threads."""

    def __init__(self, max_buckets: int = MAX_BUCKETS) -> None:
        self.max_buckets = max_buckets
        self.buckets: OrderedDict[tuple[str, str], Bucket] = OrderedDict()
        self.lock = threading.Lock()

    def wait_seconds(self, slug: str, token: str) -> int:
        """0 when a delivery may go ahead (and takes one from its bucket), else the whole
        seconds until the bucket holds one again, for Retry-After."""
        rate = settings.CLARITY_WEBHOOK_RATE_PER_SECOND
        if rate <= 0:
            return 0
        burst = settings.CLARITY_WEBHOOK_BURST
        now = time.monotonic()
        key = (slug, token)
        with self.lock:
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = Bucket(tokens=burst, updated=now)
                if len(self.buckets) > self.max_buckets:
                    self.buckets.popitem(last=False)
            else:
                self.buckets.move_to_end(key)
                bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
                bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0
            return max(1, math.ceil((1 - bucket.tokens) / rate))


WEBHOOK_THROTTLE = WebhookThrottle()
