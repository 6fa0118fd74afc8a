"""Integration pair pages: list, create, edit, detail, and the webhook URL (rotate it, or
register it with the CRM)."""

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import CreateView, DetailView, ListView, UpdateView

from clarity.permissions import RuleRequiredMixin, needs
from connectors.errors import ConnectorError
from connectors.forms import IntegrationPairForm
from connectors.models import IntegrationPair
from connectors.services import connector_for, register_pair_webhook

VIEW = "connectors.view_integrationpair"
ADD = "connectors.add_integrationpair"
CHANGE = "connectors.change_integrationpair"
TOKEN_SESSION_KEY = "pair-webhook-token-{pk}"


def remember_new_token(request: HttpRequest, pair: IntegrationPair, token: str) -> None:
    """Keep a fresh token in the session for the one page view that may show it."""
    request.session[TOKEN_SESSION_KEY.format(pk=pair.pk)] = token


class PairListView(RuleRequiredMixin, ListView):
    permission = needs(VIEW)
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


class PairCreateView(RuleRequiredMixin, CreateView):
    permission = needs(ADD)
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


class PairUpdateView(RuleRequiredMixin, UpdateView):
    permission = needs(CHANGE)
    model = IntegrationPair
    form_class = IntegrationPairForm
    template_name = "connectors/pair_form.html"

    def form_valid(self, form: IntegrationPairForm) -> HttpResponse:
        messages.success(self.request, f"Pair “{form.instance.name}” saved.")
        return super().form_valid(form)


class PairDetailView(RuleRequiredMixin, DetailView):
    permission = needs(VIEW)
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


class PairRotateTokenView(RuleRequiredMixin):
    permission = needs(CHANGE)

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        pair = get_object_or_404(IntegrationPair, slug=slug)
        token = pair.rotate_webhook_token()
        pair.save(update_fields=["webhook_token_hash", "webhook_token_changed_at", "updated_at"])
        remember_new_token(request, pair, token)
        messages.warning(
            request, "New webhook URL issued. The old URL no longer works: update the CRM."
        )
        return redirect(pair)


class PairRegisterWebhookView(RuleRequiredMixin):
    """Issue a fresh webhook URL and register it with the CRM, replacing older ones."""

    permission = needs(CHANGE)

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
