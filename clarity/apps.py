from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate

from clarity.checks import demo_reachable_from_elsewhere


class ClarityConfig(AppConfig):
    name = "clarity"
    verbose_name = "Clarity Connect"

    def ready(self) -> None:
        from clarity import health, roles, schedules

        # Permissions exist only after post_migrate, so roles get theirs here on every
        # migrate; models added by later apps join their roles without a new migration.
        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="clarity.roles")
        post_migrate.connect(schedules.ensure_clarity_schedules, dispatch_uid="clarity.schedules")
        health.connect_worker_signals()
        # The demo's well-known accounts never face other machines: check, migrate and
        # runserver refuse to start (and clarity/wsgi.py does for gunicorn).
        checks.register(demo_reachable_from_elsewhere, checks.Tags.security)
