"""Connection pages: the list, create and edit through each system's form, the detail with
its field explorer, Test connection, and OAuth connect for systems with a consent page."""

import secrets
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.generic import DetailView, ListView

from clarity.permissions import Rule, RuleRequiredMixin, needs
from connectors.budgets import budget_use
from connectors.errors import ConnectorError
from connectors.forms import ConnectionForm, and_list, connection_form_class
from connectors.models import Connection, IntegrationPair
from connectors.registry import SYSTEMS
from connectors.services import cached_schema, check_connection, connector_for

VIEW = "connectors.view_connection"
ADD = "connectors.add_connection"
CHANGE = "connectors.change_connection"
TEST = "connectors.test_connection"


class ConnectionListView(RuleRequiredMixin, ListView):
    """Every connection with its health and last error, Test, and Reconnect for those that
    connect through an OAuth consent page (Sage Accounting)."""

    permission = needs(VIEW)
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
        if OAuthConnectView.permission.allows(self.request.user):
            origins = {
                connector_for(connection).authorization_origin()
                for connection in context["object_list"]
                if connection.supports_oauth_connect
            }
            if origins:  # the Reconnect forms are answered by a redirect to a consent page
                response._csp_update = {"form-action": sorted(origins)}
        return response


class ConnectionSystemChoiceView(RuleRequiredMixin):
    permission = needs(ADD)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "connectors/connection_choose.html", {"systems": SYSTEMS.values()})


class ConnectionFormView(RuleRequiredMixin):
    """A connection through its system's form: `ConnectionCreateView` (a system in the URL)
    and `ConnectionEditView` (a pk) say who may use it."""

    template_name = "connectors/connection_form.html"

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
        if form.cleared:
            messages.warning(
                request,
                "The address changed, so these stored secrets were cleared: "
                f"{and_list(form.cleared)}. Type them again (or connect again) before the next "
                "test.",
            )
        return redirect(connection)


class ConnectionCreateView(ConnectionFormView):
    permission = needs(ADD)


class ConnectionEditView(ConnectionFormView):
    permission = needs(CHANGE)


def daily_allocation(connection: Connection) -> dict[str, Any] | None:
    """The last reading of a daily API allocation (Salesforce's `Sforce-Limit-Info`)."""
    usage = (connection.settings or {}).get("api_usage") or {}
    if not isinstance(usage.get("used"), int) or not isinstance(usage.get("limit"), int):
        return None
    try:
        at = datetime.fromisoformat(usage.get("at") or "")
    except ValueError:
        at = None
    return {"used": f"{usage['used']:,}", "limit": f"{usage['limit']:,}", "at": at}


class ConnectionDetailView(RuleRequiredMixin, DetailView):
    permission = needs(VIEW)
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
        context["budgets"] = [budget_use(budget) for budget in connection.api_budgets.all()]
        context["allocation"] = daily_allocation(connection)
        return context

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        if context["supports_oauth_connect"]:
            # The connect form is answered by a redirect to the consent page, which
            # `form-action 'self'` would block.
            response._csp_update = {"form-action": [self.connector.authorization_origin()]}
        return response


class ConnectionSchemaView(RuleRequiredMixin):
    """The fields of one entity: GET shows the cached schema, POST discovers it again."""

    permission = Rule(read=(VIEW,), write=(VIEW, TEST))

    def get(self, request: HttpRequest, pk: int, entity: str) -> HttpResponse:
        return self.render_schema(request, pk, entity, refresh=False)

    def post(self, request: HttpRequest, pk: int, entity: str) -> HttpResponse:
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


class ConnectionTestView(RuleRequiredMixin):
    """Run the connector's test now; htmx swaps in the result, plain POSTs get a flash."""

    permission = needs(TEST)

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


class OAuthConnectView(RuleRequiredMixin):
    """Send the admin to the system's consent page; the callback comes back to us."""

    permission = needs(CHANGE)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        connection = get_object_or_404(Connection, pk=pk)
        connector = connector_for(connection)
        if not connector.supports_oauth_connect:
            raise Http404("This system has no OAuth connect")
        state = secrets.token_urlsafe(24)
        request.session[OAUTH_STATE_KEY] = {"state": state, "connection": connection.pk}
        redirect_uri = request.build_absolute_uri(reverse("oauth-callback"))
        return HttpResponseRedirect(connector.authorization_url(redirect_uri, state))


class OAuthCallbackView(RuleRequiredMixin):
    """The system's consent page sends the browser back here with a code (or an error)."""

    permission = needs(CHANGE)

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
