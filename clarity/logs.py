"""Structured logs: one JSON object a line, with the run id on every line a run writes.

`logs_for_run` wraps the runner's task so that everything logged while a run executes (by
the runner, a step, a connector, requests) carries `run_id`; `bind_log_context` adds what
becomes known later (the pair). The context lives in a contextvar, so threads and workers
never see each other's runs. This module imports nothing of the project: settings load it
before the apps.

`WebhookTokenFilter` masks the secret token of webhook URLs (`/hooks/<pair>/<token>/`) in
every record the handlers write, wherever it is quoted: Django's request logger writes the
path of every answer of 400 and above ("Bad Request: /hooks/…"), runserver that of every
request. The pair's slug stays, so a line still says which pair.
"""

import copy
import functools
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

log_context: ContextVar[dict[str, Any] | None] = ContextVar("clarity_log_context", default=None)
CONTEXT_FIELDS = ("run_id", "pair")
# `hooks/<slug>/<token>`, as a path, a path without its leading slash (Django's resolver
# messages) or inside a URL; "webhooks/…" and the like are left alone.
WEBHOOK_TOKEN = re.compile(r"(?<![\w.-])(hooks/[^/\s?#'\"<>]+/)[^/\s?#'\"<>]+")
MASKED_TOKEN = r"\1[token]"
PLAIN_VALUES = (int, float, bool, type(None))

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def run_logging(run_id: int, **fields: Any) -> Iterator[None]:
    token = log_context.set({"run_id": run_id, **fields})
    try:
        yield
    finally:
        log_context.reset(token)


def bind_log_context(**fields: Any) -> None:
    """Add fields (e.g. pair) to the current run's log context."""
    log_context.set({**(log_context.get() or {}), **fields})


def logs_for_run(task: Callable[P, R]) -> Callable[P, R]:
    """Decorate a task whose first argument is the run id."""

    @functools.wraps(task)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with run_logging(args[0] if args else kwargs["run_id"]):
            return task(*args, **kwargs)

    return wrapper


class RunContextFilter(logging.Filter):
    """Puts run_id and pair on the record, so the plain format can show them too."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = log_context.get() or {}
        for field in CONTEXT_FIELDS:
            if not hasattr(record, field):
                setattr(record, field, context.get(field))
        return True


def mask_webhook_tokens(text: str) -> str:
    return WEBHOOK_TOKEN.sub(MASKED_TOKEN, text) if "hooks/" in text else text


def masked_value(value: Any) -> Any:
    """A log argument with webhook tokens masked; unchanged when it quotes none (numbers
    stay numbers for `%d`)."""
    if isinstance(value, str):
        return mask_webhook_tokens(value)
    if isinstance(value, PLAIN_VALUES):
        return value
    text = str(value)
    return mask_webhook_tokens(text) if "hooks/" in text else value


def masked_request(request: Any) -> Any:
    """A copy of a Django request (attached by its request and security loggers) whose
    path and WSGI environment quote no webhook token; the request serving the client is
    left as it is."""
    path = getattr(request, "path", None)
    if not isinstance(path, str) or "hooks/" not in path:
        return request
    clone = copy.copy(request)
    clone.path = mask_webhook_tokens(path)
    clone.path_info = mask_webhook_tokens(getattr(request, "path_info", ""))
    clone.META = clone.environ = {
        key: mask_webhook_tokens(value) if isinstance(value, str) else value
        for key, value in getattr(request, "META", {}).items()
    }
    return clone


class WebhookTokenFilter(logging.Filter):
    """Masks webhook tokens in the message, its arguments, the attached request, and the
    traceback and stack (formatted here, so every formatter writes the masked text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = masked_value(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: masked_value(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(masked_value(value) for value in record.args)
        if hasattr(record, "request"):
            record.request = masked_request(record.request)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_webhook_tokens(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_webhook_tokens(record.stack_info)
        return True


class JSONFormatter(logging.Formatter):
    """time, level, logger, message, run_id and pair when known, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = log_context.get() or {}
        for field in CONTEXT_FIELDS:
            value = getattr(record, field, None) or context.get(field)
            if value is not None:
                entry[field] = value
        if record.exc_info or record.exc_text:
            entry["exc"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
