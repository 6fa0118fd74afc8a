"""Webhook delivery: POST each event's JSON array to its hooks, in a background thread.

Streak answers the API request first and delivers later, so a slow or broken receiver never
slows the API down. Only a 200 counts as delivered; a 410 deletes the webhook; anything else
(or no answer) is retried with exponential backoff up to `max_attempts`. Every attempt is
logged in the store's `deliveries` collection, which the deliveries page shows.
"""

import heapq
import itertools
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import requests

from sandbox.core.store import DocumentStore


@dataclass
class WebhookSettings:
    retry_base_seconds: float = 10.0  # wait before the first retry; doubles after each one
    max_attempts: int = 5  # attempts per delivery, the first included
    timeout_seconds: float = 10.0  # how long a receiver may take to answer

    def update(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            if name not in asdict(self):
                raise ValueError(f"unknown webhook setting {name!r}; known: {list(asdict(self))}")
            value = type(getattr(self, name))(value)
            if value < 0 or (name == "max_attempts" and value < 1):
                raise ValueError(f"{name} must be positive, got {value}")
            setattr(self, name, value)


@dataclass(order=True)
class Delivery:
    due: float  # time.monotonic() at which to attempt it
    sequence: int
    webhook: dict[str, Any] = field(compare=False)
    event: str = field(compare=False)
    box_key: str | None = field(compare=False)
    payload: list[dict[str, Any]] = field(compare=False)
    generation: int = field(compare=False)
    attempt: int = field(default=1, compare=False)


class WebhookSender:
    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self.settings = WebhookSettings()
        self._queue: list[Delivery] = []
        self._condition = threading.Condition()
        self._sequence = itertools.count()
        self._generation = 0  # bumped by clear(): attempts begun before it are not logged
        self._stopping = False
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="streak-webhooks", daemon=True)
        self._thread.start()

    def enqueue(
        self, webhook: dict[str, Any], event: str, box_key: str | None, payload: list[dict]
    ) -> None:
        with self._condition:
            delivery = Delivery(
                due=time.monotonic(),
                sequence=next(self._sequence),
                webhook=webhook,
                event=event,
                box_key=box_key,
                payload=payload,
                generation=self._generation,
            )
            heapq.heappush(self._queue, delivery)
            self._condition.notify()

    def pending(self) -> int:
        with self._condition:
            return len(self._queue)

    def clear(self) -> None:
        """Forget queued deliveries and restore the default settings (on reset)."""
        with self._condition:
            self._queue.clear()
            self._generation += 1
            self.settings = WebhookSettings()

    def close(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify()
        self._thread.join(timeout=5)
        self._session.close()

    # ------------------------------------------------------------ worker thread

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._stopping and not self._is_due():
                    wait = self._queue[0].due - time.monotonic() if self._queue else None
                    self._condition.wait(timeout=wait)
                if self._stopping:
                    return
                delivery = heapq.heappop(self._queue)
            self._attempt(delivery)

    def _is_due(self) -> bool:
        return bool(self._queue) and self._queue[0].due <= time.monotonic()

    def _attempt(self, delivery: Delivery) -> None:
        hook = delivery.webhook
        if self.store.get("webhooks", hook["key"]) is None:
            return  # deleted since the event
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if hook.get("token"):
            headers["X-Streak-Webhook-Token"] = hook["token"]
        status: int | None = None
        error = ""
        try:
            reply = self._session.post(
                hook["targetUrl"],
                data=json.dumps(delivery.payload),
                headers=headers,
                timeout=self.settings.timeout_seconds,
            )
            status = reply.status_code
            if status != 200:
                error = f"HTTP {status}: {reply.text[:200]}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        with self._condition:
            if delivery.generation != self._generation:
                return
            attempt = delivery.attempt
            outcome = self._follow_up(delivery, status)
            self._log(delivery, attempt, status, error, outcome)

    def _follow_up(self, delivery: Delivery, status: int | None) -> str:
        """Decide what happens after an attempt (called with the lock held)."""
        if status == 200:
            return "delivered"
        if status == 410:
            self.store.delete("webhooks", delivery.webhook["key"])
            return "webhook deleted (410 Gone)"
        if delivery.attempt >= self.settings.max_attempts:
            return "gave up"
        delay = self.settings.retry_base_seconds * 2 ** (delivery.attempt - 1)
        delivery.attempt += 1
        delivery.due = time.monotonic() + delay
        heapq.heappush(self._queue, delivery)
        self._condition.notify()
        return f"retry in {delay:g}s"

    def _log(
        self, delivery: Delivery, attempt: int, status: int | None, error: str, outcome: str
    ) -> None:
        number = self.store.count("deliveries") + 1
        self.store.put(
            "deliveries",
            str(number),
            {
                "number": number,
                "time": int(time.time() * 1000),
                "webhookKey": delivery.webhook["key"],
                "targetUrl": delivery.webhook["targetUrl"],
                "event": delivery.event,
                "boxKey": delivery.box_key,
                "attempt": attempt,
                "statusCode": status,
                "error": error,
                "outcome": outcome,
            },
        )
