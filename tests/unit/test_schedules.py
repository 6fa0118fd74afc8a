"""The schedules the apps keep: the nightly reconciliation runs at night, from the coming
night on, not at the migrate that made it (a heavy check then took a worker from the runs
every time a fresh installation or a benchmark started), and a later migrate leaves its
next run where it is."""

from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from django_q.models import Schedule

from clarity.schedules import NIGHT, next_night
from flows.signals import ensure_schedules

pytestmark = pytest.mark.django_db
NAME = "Nightly reconciliation"


def test_the_nightly_reconciliation_first_runs_the_coming_night():
    schedule = Schedule.objects.get(name=NAME)  # made by the test database's migrate
    assert schedule.schedule_type == Schedule.DAILY
    local = timezone.localtime(schedule.next_run)
    assert (local.hour, local.minute) == (NIGHT.hour, NIGHT.minute)
    assert timezone.now() < schedule.next_run <= timezone.now() + timedelta(days=1)


def test_a_later_migrate_keeps_the_next_run():
    later = timezone.now() + timedelta(hours=30)
    Schedule.objects.filter(name=NAME).update(next_run=later)
    ensure_schedules(apps.get_app_config("flows"))
    assert Schedule.objects.get(name=NAME).next_run == later


def test_a_schedule_of_the_old_kind_becomes_a_nightly_one():
    Schedule.objects.filter(name=NAME).update(
        schedule_type=Schedule.MINUTES, minutes=24 * 60, next_run=timezone.now()
    )
    ensure_schedules(apps.get_app_config("flows"))
    schedule = Schedule.objects.get(name=NAME)
    assert schedule.schedule_type == Schedule.DAILY and schedule.next_run > timezone.now()


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 12, 7, 1, 0, tzinfo=UTC), datetime(2026, 12, 7, 2, 30, tzinfo=UTC)),
        (datetime(2026, 12, 7, 2, 30, tzinfo=UTC), datetime(2026, 12, 8, 2, 30, tzinfo=UTC)),
        (datetime(2026, 12, 7, 14, 0, tzinfo=UTC), datetime(2026, 12, 8, 2, 30, tzinfo=UTC)),
    ],
)
def test_the_next_night_is_today_before_it_and_tomorrow_after(settings, now, expected):
    settings.TIME_ZONE = "UTC"
    assert next_night(now) == expected
