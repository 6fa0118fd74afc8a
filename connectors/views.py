"""Pages for connections and integration pairs."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import CreateView, DetailView, ListView, UpdateView

from connectors.forms import ConnectionForm, IntegrationPairForm, connection_form_class
from connectors.models import Connection, IntegrationPair
from connectors.registry import SYSTEMS
from connectors.services import check_connection


class RoleRequiredMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Anonymous users go to the login page; signed-in users without the permission get 403."""


# ---------------------------------------------------------------- connections


class ConnectionListView(RoleRequiredMixin, ListView):
    permission_required = "connectors.view_connection"
    template_name = "connectors/connection_list.html"

    def get_queryset(self) -> QuerySet[Connection]:
        return Connection.objects.defer("secrets")


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
        return redirect("connection-list")


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
        return redirect("connection-list")


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
