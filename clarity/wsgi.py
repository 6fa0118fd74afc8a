"""WSGI entry point for gunicorn or runserver. It refuses to serve the demo to other machines
(clarity/checks.py): gunicorn runs no system checks of its own. Webhook deliveries are
answered ahead of Django's handler (flows/hook_app.py), everything else by Django."""

import os

from django.core.wsgi import get_wsgi_application

from clarity.checks import refuse_exposed_demo

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clarity.settings")
django_application = get_wsgi_application()

from flows.hook_app import WebhookApp  # noqa: E402  (imports models: after Django is set up)

application = WebhookApp(django_application)
refuse_exposed_demo()
