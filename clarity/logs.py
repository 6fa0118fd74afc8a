"""Structured logs: one JSON object a line, with the run id on every line a run writes.

`logs_for_run` wraps the runner's task so that everything logged while a run executes (by
the runner, a step, a connector, requests) carries `run_id`; `bind_log_context` adds what
becomes known later (the pair). The context lives in a contextvar, so threads and workers
never see each other's runs. This module imports nothing of the project: settings load it
before the apps.
"""

import functools
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

log_context: ContextVar[dict[str, Any] | None] = ContextVar("clarity_log_context", default=None)
CONTEXT_FIELDS = ("run_id", "pair")

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
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
