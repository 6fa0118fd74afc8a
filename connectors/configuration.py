"""What runs read about how to run, kept per process under the configuration's generation.

Mappings, lookup tables, rates, rule sets, event subscriptions and systems' described
schemas change when someone edits them, seldom; every run reads them. Each change to a
watched model (`watch`, from the apps' ready()) writes a new token into the one
`ConfigurationGeneration` row, after the change and in its transaction when it has one. An
attempt reads the token once (`generation()`), and `kept(token, key, read)` gives what this
process read under that token, else reads it: an edit is used by the very next run, and the
runs in between read none of it again. A token rather than a counter: a database taken back
to an earlier state (a test's rollback) comes back with that state's token.
"""

import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from clarity.prepared import Param, PreparedQuery
from connectors.models import ConfigurationGeneration

T = TypeVar("T")
Kept = Callable[[tuple[Any, ...], Callable[[], Any]], Any]  # (key, read) → what read gives
ROW = 1  # the primary key of the one row

_kept: dict[tuple[Any, ...], tuple[str, Any]] = {}  # key → (token, what was read)
_lock = threading.Lock()


def watch(*models: type[Model]) -> None:
    """A saved or deleted row of any of `models` begins a new generation."""
    for model in models:
        uid = f"configuration-{model._meta.label}"
        post_save.connect(changed, sender=model, weak=False, dispatch_uid=f"{uid}-save")
        post_delete.connect(changed, sender=model, weak=False, dispatch_uid=f"{uid}-delete")


def changed(**_: Any) -> None:
    """Begin a new generation (also for a change written without signals: a QuerySet
    `update`)."""
    token = uuid.uuid4().hex
    if not ConfigurationGeneration.objects.filter(pk=ROW).update(token=token):
        ConfigurationGeneration.objects.update_or_create(pk=ROW, defaults={"token": token})


def generation() -> str:
    """The current token; with no row (a database just emptied) a new one each time, so
    nothing is kept until a change writes the row."""
    return TOKEN.first(row=ROW) or uuid.uuid4().hex


TOKEN = PreparedQuery(
    lambda: ConfigurationGeneration.objects.filter(pk=Param("row")).values_list("token", flat=True)
)  # every attempt asks it


def kept(token: str, key: tuple[Any, ...], read: Callable[[], T]) -> T:
    """What `read()` gave in this process under `token` for `key`, else `read()` now. What
    it returns is shared by every run of the process: callers do not change it, except as
    they change the database (a lookup table that learns a row adds it to its entries as it
    saves it, which begins the next generation)."""
    found = _kept.get(key)
    if found is not None and found[0] == token:
        return found[1]
    value = read()
    with _lock:
        _kept[key] = (token, value)
    return value


def read_now(key: tuple[Any, ...], read: Callable[[], Any]) -> Any:
    """A `Kept` that keeps nothing (outside a run): read each time."""
    return read()
