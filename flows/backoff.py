"""How long to wait before the next try of a run or a delivery."""

import random

from django.conf import settings


def backoff_seconds(attempt: int) -> float:
    """Full jitter: uniform(0, min(cap, base * 2^(attempt-1)))."""
    ceiling = min(settings.CLARITY_RETRY_CAP_SECONDS,
                  settings.CLARITY_RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1))  # fmt: skip
    return random.uniform(0, ceiling)
