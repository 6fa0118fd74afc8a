"""Pages for connections and integration pairs."""

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import CreateView, DetailView, ListView, UpdateView

from connectors.errors import ConnectorError
from connectors.forms import ConnectionForm, IntegrationPairForm, connection_form_class
from connectors.models import Connection, IntegrationPair
from connectors.registry import SYSTEMS
from connectors.services import (
    cached_schema,
    check_connection,
    connector_for,
    register_pair_webhook,
)


class RoleRequiredMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Anonymous users go to the login page; signed-in users without the permission get 403."""


# ---------------------------------------------------------------- connections


class ConnectionListView(RoleRequiredMixin, ListView):
    """Every connection with its health and last error, Test, and Reconnect for those that
    connect through an OAuth consent page (Sage 50)."""

    permission_required = "connectors.view_connection"
    template_name = "connectors/connection_list.html"

    def get_queryset(self) -> QuerySet[Connection]:
        return Connection.objects.defer("secrets")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        for connection in context["object_list"]:
            connector_class = SYSTEMS[connection.system].connector_class
            connection.supports_oauth_connect = connector_class.supports_oauth_connect
        return context

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        if self.request.user.has_perm("connectors.change_connection"):
            origins = {
                connector_for(connection).authorization_origin()
                for connection in context["object_list"]
                if connection.supports_oauth_connect
            }
            if origins:  # the Reconnect forms are answered by a redirect to a consent page
                response._csp_update = {"form-action": sorted(origins)}
        return response


class ConnectionSystemChoiceView(RoleRequiredMixin, View):
    permission_required = "connectors.add_connection"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "connectors/connection_choose.html", {"systems": SYSTEMS.values()})


class ConnectionFormView(RoleRequiredMixin, View):
    """Create (with a system in the URL) or edit a connection through its system's form."""

    template_name = "connectors/connection_form.html"

    def get_permission_required(self) -> tuple[str, ...]:
        if "pk" in self.kwargs:
            return ("connectors.change_connection",)
        return ("connectors.add_connection",)

    def get_form(self, data: Any = None) -> ConnectionForm:
        if "pk" in self.kwargs:
            instance = get_object_or_404(Connection, pk=self.kwargs["pk"])
            return connection_form_class(instance.system)(data, instance=instance)
        system = self.kwargs["system"]
        if system not in SYSTEMS:
            raise Http404("Unknown system")
        return connection_form_class(system)(data)

    def render_form(self, form: ConnectionForm) -> HttpResponse:
        return render(
            self.request,
            self.template_name,
            {"form": form, "connection": form.instance, "system": SYSTEMS[form.instance.system]},
        )

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        return self.render_form(self.get_form())

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        form = self.get_form(request.POST)
        if not form.is_valid():
            return self.render_form(form)
        created = form.instance.pk is None
        connection = form.save()
        verb = "created" if created else "saved"
        messages.success(request, f"Connection “{connection.name}” {verb}.")
        return redirect(connection)


class ConnectionDetailView(RoleRequiredMixin, DetailView):
    permission_required = "connectors.view_connection"
    model = Connection
    template_name = "connectors/connection_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        connection = self.object
        form = connection_form_class(connection.system)(instance=connection)
        context["settings_rows"] = [
            (form.fields[key].label or key, connection.settings.get(key, ""))
            for key in form.settings_fields
        ]
        context["secret_rows"] = [
            (form.fields[key].label or key, key in (connection.secrets or {}))
            for key in form.secret_fields
        ]
        context["pairs"] = IntegrationPair.objects.filter(Q(crm=connection) | Q(erp=connection))
        self.connector = connector_for(connection)
        context["entities"] = self.connector.entities()
        context["supports_oauth_connect"] = self.connector.supports_oauth_connect
        return context

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        if context["supports_oauth_connect"]:
            # The connect form is answered by a redirect to the consent page, which
            # `form-action 'self'` would block.
            response._csp_update = {"form-action": [self.connector.authorization_origin()]}
        return response


class ConnectionSchemaView(RoleRequiredMixin, View):
    """The fields of one entity: GET shows the cached schema, POST discovers it again."""

    permission_required = "connectors.view_connection"

    def get(self, request: HttpRequest, pk: int, entity: str) -> HttpResponse:
        return self.render_schema(request, pk, entity, refresh=False)

    def post(self, request: HttpRequest, pk: int, entity: str) -> HttpResponse:
        if not request.user.has_perm("connectors.test_connection"):
            raise PermissionDenied
        return self.render_schema(request, pk, entity, refresh=True)

    def render_schema(
        self, request: HttpRequest, pk: int, entity: str, refresh: bool
    ) -> HttpResponse:
        connection = get_object_or_404(Connection, pk=pk)
        if entity not in connector_for(connection).entities():
            raise Http404("Unknown entity")
        context: dict[str, Any] = {"connection": connection, "entity": entity}
        try:
            context["fields"], context["cache"] = cached_schema(connection, entity, refresh)
        except ConnectorError as exc:
            context["error"] = exc.message
        return render(request, "connectors/_schema.html", context)


class ConnectionTestView(RoleRequiredMixin, View):
    """Run the connector's test now; htmx swaps in the result, plain POSTs get a flash."""

    permission_required = "connectors.test_connection"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        connection = get_object_or_404(Connection, pk=pk)
        health = check_connection(connection)
        if request.htmx:
            return render(
                request,
                "connectors/_connection_health.html",
                {"connection": connection, "health": health},
            )
        level = messages.SUCCESS if health.ok else messages.ERROR
        messages.add_message(request, level, f"{connection.name}: {health.message}")
        return redirect(connection)


OAUTH_STATE_KEY = "oauth-connect-state"


class OAuthConnectView(RoleRequiredMixin, View):
    """Send the admin to the system's consent page; the callback comes back to us."""

    permission_required = "connectors.change_connection"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        connection = get_object_or_404(Connection, pk=pk)
        connector = connector_for(connection)
        if not connector.supports_oauth_connect:
            raise Http404("This system has no OAuth connect")
        state = secrets.token_urlsafe(24)
        request.session[OAUTH_STATE_KEY] = {"state": state, "connection": connection.pk}
        redirect_uri = request.build_absolute_uri(reverse("oauth-callback"))
        return HttpResponseRedirect(connector.authorization_url(redirect_uri, state))


class OAuthCallbackView(RoleRequiredMixin, View):
    """The system's consent page sends the browser back here with a code (or an error)."""

    permission_required = "connectors.change_connection"

    def get(self, request: HttpRequest) -> HttpResponse:
        expected = request.session.pop(OAUTH_STATE_KEY, None)
        if not expected or not secrets.compare_digest(
            expected["state"], request.GET.get("state", "")
        ):
            messages.error(request, "The authorisation could not be matched to a request "
                           "from this browser (state mismatch). Press Connect again.")  # fmt: skip
            return redirect("connection-list")
        connection = get_object_or_404(Connection, pk=expected["connection"])
        if "code" not in request.GET:
            reason = request.GET.get("error_description") or request.GET.get("error", "refused")
            messages.error(request, f"{connection.system_label} did not grant access: {reason}.")
            return redirect(connection)
        redirect_uri = request.build_absolute_uri(reverse("oauth-callback"))
        try:
            connector_for(connection).complete_authorization(request.GET["code"], redirect_uri)
        except ConnectorError as exc:
            messages.error(request, exc.message)
            return redirect(connection)
        health = check_connection(connection)
        level = messages.SUCCESS if health.ok else messages.WARNING
        messages.add_message(request, level, f"Connected. {health.message}")
        return redirect(connection)


# ---------------------------------------------------------------- pairs

TOKEN_SESSION_KEY = "pair-webhook-token-{pk}"


def remember_new_token(request: HttpRequest, pair: IntegrationPair, token: str) -> None:
    """Keep a fresh token in the session for the one page view that may show it."""
    request.session[TOKEN_SESSION_KEY.format(pk=pair.pk)] = token


class PairListView(RoleRequiredMixin, ListView):
    permission_required = "connectors.view_integrationpair"
    template_name = "connectors/pair_list.html"

    def get_queryset(self) -> QuerySet[IntegrationPair]:
        pairs = IntegrationPair.objects.select_related("crm", "erp").defer(
            "crm__secrets", "erp__secrets"
        )
        query = self.request.GET.get("q", "").strip()
        if query:
            pairs = pairs.filter(
                Q(name__icontains=query)
                | Q(crm__name__icontains=query)
                | Q(erp__name__icontains=query)
            )
        return pairs


class PairCreateView(RoleRequiredMixin, CreateView):
    permission_required = "connectors.add_integrationpair"
    model = IntegrationPair
    form_class = IntegrationPairForm
    template_name = "connectors/pair_form.html"

    def form_valid(self, form: IntegrationPairForm) -> HttpResponse:
        with transaction.atomic():
            pair = form.save(commit=False)
            token = pair.rotate_webhook_token()
            pair.save()
        remember_new_token(self.request, pair, token)
        messages.success(self.request, f"Pair “{pair.name}” created.")
        return HttpResponseRedirect(pair.get_absolute_url())


class PairUpdateView(RoleRequiredMixin, UpdateView):
    permission_required = "connectors.change_integrationpair"
    model = IntegrationPair
    form_class = IntegrationPairForm
    template_name = "connectors/pair_form.html"

    def form_valid(self, form: IntegrationPairForm) -> HttpResponse:
        messages.success(self.request, f"Pair “{form.instance.name}” saved.")
        return super().form_valid(form)


class PairDetailView(RoleRequiredMixin, DetailView):
    permission_required = "connectors.view_integrationpair"
    model = IntegrationPair
    template_name = "connectors/pair_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pair = self.object
        token = self.request.session.pop(TOKEN_SESSION_KEY.format(pk=pair.pk), None)
        context["new_webhook_url"] = pair.webhook_url(token) if token else None
        context["masked_webhook_url"] = pair.webhook_url("•" * 12)
        context["can_register_webhook"] = connector_for(pair.crm).supports_webhook_registration
        return context


class PairRotateTokenView(RoleRequiredMixin, View):
    permission_required = "connectors.change_integrationpair"

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        pair = get_object_or_404(IntegrationPair, slug=slug)
        token = pair.rotate_webhook_token()
        pair.save(update_fields=["webhook_token_hash", "webhook_token_changed_at", "updated_at"])
        remember_new_token(request, pair, token)
        messages.warning(
            request, "New webhook URL issued. The old URL no longer works: update the CRM."
        )
        return redirect(pair)


class PairRegisterWebhookView(RoleRequiredMixin, View):
    """Issue a fresh webhook URL and register it with the CRM, replacing older ones."""

    permission_required = "connectors.change_integrationpair"

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        pair = get_object_or_404(IntegrationPair.objects.select_related("crm"), slug=slug)
        connector = connector_for(pair.crm)
        if not connector.supports_webhook_registration:
            raise Http404("This CRM cannot register webhooks through its API")
        try:
            registered, removed = register_pair_webhook(pair)
        except ConnectorError as exc:
            messages.error(request, f"Could not register the webhook: {exc.message}")
            return redirect(pair)
        events = ", ".join(sorted({hook.get("event", "?") for hook in registered}))
        messages.success(
            request,
            f"{pair.crm.system_label} now posts {events} to this pair's new webhook URL"
            + (f"; {removed} older registration(s) removed." if removed else "."),
        )
        return redirect(pair)
