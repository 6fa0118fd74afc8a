"""The repeating django-q2 schedules the apps keep (heartbeat, sweepers, polling, alerts):
made or brought up to date after every migrate, so a changed interval takes effect. Imported
from the apps' ready() hooks, once the models are loaded."""

from django.apps import AppConfig
from django_q.models import Schedule


def repeat_every(minutes: int, name: str, func: str) -> None:
    Schedule.objects.update_or_create(
        name=name,
        defaults={
            "func": func,
            "schedule_type": Schedule.MINUTES,
            "minutes": max(1, minutes),
            "repeats": -1,
        },
    )


def ensure_clarity_schedules(sender: AppConfig, **kwargs: object) -> None:
    """post_migrate: the schedules the clarity app itself keeps."""
    if sender.name == "clarity":
        # The heartbeat is a thread in each worker now (clarity/health.py), not a schedule.
        Schedule.objects.filter(name="Worker heartbeat").delete()
        repeat_every(1, "Mail sweeper", "clarity.outbox.sweep")


def ensure_alert_schedule(sender: AppConfig, **kwargs: object) -> None:
    """post_migrate: the alert evaluation the monitoring app keeps."""
    if sender.name == "monitoring":
        repeat_every(1, "Alert evaluation", "monitoring.alerts.evaluation.evaluate")
