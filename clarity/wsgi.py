"""WSGI entry point for gunicorn or runserver. It refuses to serve the demo to other machines
(clarity/checks.py): gunicorn runs no system checks of its own."""

import os

from django.core.wsgi import get_wsgi_application

from clarity.checks import refuse_exposed_demo

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clarity.settings")
application = get_wsgi_application()
refuse_exposed_demo()
