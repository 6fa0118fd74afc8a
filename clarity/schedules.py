"""The repeating django-q2 schedules the apps keep (heartbeat, sweepers, polling, alerts):
made or brought up to date after every migrate, so a changed interval takes effect. Imported
from the apps' ready() hooks, once the models are loaded."""

from datetime import datetime, time, timedelta

from django.apps import AppConfig
from django.utils import timezone
from django_q.models import Schedule

NIGHT = time(2, 30)  # when the nightly schedules run, in the installation's TIME_ZONE


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


def every_night(name: str, func: str) -> None:
    """Run `func` daily at NIGHT: the first run the coming night, not at the migrate that
    made the schedule (a heavy check at start-up would take a worker from the runs). A
    schedule made before keeps its next run unless it was not a nightly one."""
    schedule = Schedule.objects.filter(name=name).first()
    if schedule and schedule.schedule_type == Schedule.DAILY and schedule.func == func:
        return
    Schedule.objects.update_or_create(
        name=name,
        defaults={
            "func": func,
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
            "next_run": next_night(timezone.now()),
        },
    )


def next_night(now: datetime) -> datetime:
    """The next NIGHT after `now`, in the installation's time zone."""
    local = timezone.localtime(now)
    tonight = local.replace(hour=NIGHT.hour, minute=NIGHT.minute, second=0, microsecond=0)
    return tonight if tonight > local else tonight + timedelta(days=1)


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
