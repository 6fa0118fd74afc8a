"""`{{ value|moment }}`: a time as every page shows it, in one format (DATETIME_FORMAT, e.g.
"2025-06-03 14:05 CEST") and in the reader's time zone, named, so two people in two zones
reading one page each know which time is meant."""

from datetime import date, datetime

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as format_date

register = template.Library()


@register.filter
def moment(value: datetime | date | None) -> str:
    """ "" for no time (so that `|default:"never"` still reads)."""
    if not value:
        return ""
    if not isinstance(value, datetime):
        return format_date(value, settings.DATE_FORMAT)
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return format_date(value, settings.DATETIME_FORMAT)
