"""A short way through the middleware for webhook deliveries.

A CRM posting to `/hooks/...` carries no session, cookie or login, and reads no HTML, so the
middleware after this one (sessions, CSRF, auth, messages, CSP, htmx, auditlog, axes) would
only spend time on it: about a tenth of a delivery's CPU. Placed right after Django's
SecurityMiddleware, whose headers (nosniff, HSTS, Referrer-Policy) the reply still gets,
this calls the hook view straight away. The Host header is still checked against
ALLOWED_HOSTS, as CommonMiddleware would (a bad one is a 400).
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

HOOKS_PREFIX = "/hooks/"


class WebhookFastPath:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(HOOKS_PREFIX):
            return self.get_response(request)
        request.get_host()  # DisallowedHost → 400, as for every other URL
        try:
            match = resolve(request.path_info)
        except Resolver404:  # the same bare 404 as an unknown pair, not the HTML page
            return HttpResponse("Not found", status=404, content_type="text/plain")
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
