"""System checks of our own settings: the demo (CLARITY_DEMO, with its well-known accounts)
serves this machine only.

Django runs system checks before `migrate`, `runserver` and most management commands, so
those refuse to start; gunicorn runs none, so `clarity/wsgi.py` asks `refuse_exposed_demo`
before it serves anything."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def demo_reachable_from_elsewhere(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """An error when demo mode is on and ALLOWED_HOSTS names a host beyond this machine."""
    if not settings.CLARITY_DEMO:
        return []
    beyond = [host for host in settings.ALLOWED_HOSTS if host not in LOOPBACK_HOSTS]
    if not beyond:
        return []
    return [
        Error(
            "Demo mode (CLARITY_DEMO) is on while ALLOWED_HOSTS lets in "
            f"{', '.join(repr(host) for host in beyond)}: the demo's well-known accounts "
            "would be open to anyone who reaches this server.",
            hint=(
                "For the demo, keep ALLOWED_HOSTS to 127.0.0.1, localhost and ::1. To serve "
                "other machines, unset CLARITY_DEMO and create your admin with `manage.py "
                'createsuperuser` (README, "Running in production").'
            ),
            id="clarity.E001",
        )
    ]


def refuse_exposed_demo() -> None:
    """Raise ImproperlyConfigured (the web server then exits) when `demo_reachable_from_
    elsewhere` finds the demo exposed: gunicorn does not run Django's system checks."""
    for error in demo_reachable_from_elsewhere():
        raise ImproperlyConfigured(f"{error.msg} {error.hint}")
