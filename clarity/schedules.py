"""The repeating django-q2 schedules the apps keep (heartbeat, sweepers, polling, alerts):
made or brought up to date after every migrate, so a changed interval takes effect."""


def repeat_every(minutes: int, name: str, func: str) -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=name,
        defaults={
            "func": func,
            "schedule_type": Schedule.MINUTES,
            "minutes": max(1, minutes),
            "repeats": -1,
        },
    )
