"""Audit entries for actions that change no tracked field: retries, cancels, pauses."""

from typing import Any

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model


def record_action(user: Any, obj: Model, action: str, detail: str = "") -> LogEntry:
    """Audit an action that changes no tracked field (retry, cancel, pause, send test).

    `user` may be None inside a request: auditlog's middleware then fills in the actor.
    """
    return LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_pk=str(obj.pk),
        object_id=obj.pk if isinstance(obj.pk, int) else None,
        object_repr=str(obj)[:1000],
        action=LogEntry.Action.UPDATE,
        changes={},
        actor=user if getattr(user, "is_authenticated", False) else None,
        additional_data={"action": action, "detail": detail},
    )
