"""Webhook deliveries answered ahead of Django's request handler, everything else through it.

A CRM posting to `/hooks/<pair>/<token>/` carries no session, cookie or login and reads no
HTML; Django's handler would still build its middleware chain around the view, resolve the
URL and run every middleware before the short way (`flows.middleware`) is reached: about a
tenth of a delivery's CPU on the intake's hot path (bench/ingest.py). This WSGI wrapper calls
the hook view itself for a POST to a well-formed hook URL and keeps what the handler gives
every answer: the Host checked against ALLOWED_HOSTS (a bad one goes to Django, which
answers 400 as for any URL), `request_started`/`request_finished` (the database connection
checked before and after), SecurityMiddleware's headers, an exception answered and logged as
Django answers it, and every answer of 400 and above logged by `django.request` (whose
filter masks the token). Anything else (another method, a path the pattern does not take,
a script prefix) goes to Django unchanged.
"""

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware
from django.utils.log import log_response

from flows.views.hooks import receive_webhook

# clarity/urls.py's `hooks/<slug:slug>/<str:token>/`, anchored to the whole path.
HOOK_PATH = re.compile(r"/hooks/(?P<slug>[-a-zA-Z0-9_]+)/(?P<token>[^/]+)/")

StartResponse = Callable[..., Any]


def never_called(request: HttpRequest) -> HttpResponse:
    raise AssertionError("SecurityMiddleware is used here for its process_response only")


class WebhookApp:
    """The WSGI application: deliveries straight to the hook view, the rest to Django."""

    def __init__(self, django: WSGIHandler) -> None:
        self.django = django
        self.security = SecurityMiddleware(never_called)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = HOOK_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or environ.get("REQUEST_METHOD") != "POST" or environ.get("SCRIPT_NAME"):
            return self.django(environ, start_response)
        request = WSGIRequest(environ)
        try:
            request.get_host()
        except DisallowedHost:  # nothing read yet: Django answers 400 and logs it
            return self.django(environ, start_response)
        signals.request_started.send(sender=WSGIHandler, environ=environ)
        try:
            response = receive_webhook(request, match["slug"], match["token"])
        except Exception as exc:  # answered and logged as Django answers any view's
            response = response_for_exception(request, exc)
        response = self.security.process_response(request, response)
        if response.status_code >= 400:
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        response._handler_class = WSGIHandler
        response._resource_closers.append(request.close)  # closing sends request_finished
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return response
