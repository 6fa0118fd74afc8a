"""A pair's flows: each one on or off, how it starts, its options, its last run and the runs
of it in the error queue; a flow started by a button (the initial load) links to its page;
and pausing the whole pair.

The options form is built from the flow template's `default_options` (`flow_options`), so a
new option shows up here by being declared in the template."""

from django.contrib import messages
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from clarity.audit import record_action
from clarity.permissions import Rule, needs, rule_required
from connectors.models import IntegrationPair
from flows.models import FlowConfig, SyncRun
from flows.polling import poll_statuses
from flows.queue import enqueue
from flows.registry import FLOWS
from flows.services import INITIAL_LOAD
from monitoring.forms import FlowConfigForm
from monitoring.pair_systems import PairSystems
from monitoring.views.errors import queue_runs

VIEW_FLOWS = "flows.view_flowconfig"
# Looking needs the view permission; saving a flow's settings the change one as well.
FLOWS_RULE = Rule(
    read=(VIEW_FLOWS,),
    write=(VIEW_FLOWS, "flows.change_flowconfig"),
    message="Only integration admins change a pair's flows.",
)
ACTION_PAGES = {INITIAL_LOAD: "initial-load"}  # flows started from their own page


@rule_required(FLOWS_RULE)
def pair_flows(request: HttpRequest, slug: str) -> HttpResponse:
    pair = get_object_or_404(IntegrationPair.objects.select_related("crm", "erp"), slug=slug)
    configs = list(FlowConfig.objects.filter(pair=pair).select_related("pair"))
    systems = PairSystems(pair)  # the CRM's stages, Sage's warehouses: read once a page
    bound_pk = int(request.POST.get("config", 0) or 0) if request.method == "POST" else None
    if request.method == "POST":
        config = get_object_or_404(FlowConfig, pk=bound_pk, pair=pair)
        form = FlowConfigForm(config, request.POST, systems=systems)
        if form.is_valid():
            form.save()
            label = FLOWS[config.flow].label if config.flow in FLOWS else config.flow
            messages.success(request, f"“{label}” saved.")
            return redirect("pair-flows", slug=pair.slug)
        forms_by_config = {config.pk: form}
    else:
        forms_by_config = {}
    in_queue = dict(
        queue_runs().filter(pair=pair).values_list("flow_config").annotate(n=Count("pk"))
    )
    polls = poll_statuses(pair)
    rows = [
        {
            "config": config,
            "flow": FLOWS.get(config.flow),
            "form": forms_by_config.get(config.pk) or FlowConfigForm(config, systems=systems),
            "last_run": config.runs.order_by("-created_at", "-pk").first(),
            "in_queue": in_queue.get(config.pk, 0),
            "action_url": action_url(config),
            "poll": polls.get(config.flow),
        }
        for config in configs
    ]
    offered = {config.flow for config in configs}
    unavailable = [
        {"flow": flow, "why": "; ".join(missing)}
        for flow in FLOWS.values()
        if flow.name not in offered
        and (missing := flow.missing_for(pair.crm.system, pair.erp.system))
    ]
    context = {
        "pair": pair,
        "rows": rows,
        "unavailable": unavailable,
        "can_change": FLOWS_RULE.allows(request.user),
        "waiting": SyncRun.objects.filter(pair=pair, status__in=SyncRun.CLAIMABLE).count(),
    }
    status = 400 if forms_by_config else 200  # a form came back with errors
    return render(request, "monitoring/pair_flows.html", context, status=status)


def action_url(config: FlowConfig) -> str:
    """The page a flow started by a button is started from; "" for the other flows."""
    page = ACTION_PAGES.get(config.flow)
    return reverse(page, args=[config.pair.slug]) if page else ""


@rule_required(needs("connectors.pause_integrationpair"))
@require_POST
def pause_pair(request: HttpRequest, slug: str) -> HttpResponse:
    """Pause or resume the pair; resuming rings the doorbell of every run it held back."""
    pair = get_object_or_404(IntegrationPair, slug=slug)
    resume = request.POST.get("action") == "resume"
    with transaction.atomic():
        IntegrationPair.objects.filter(pk=pair.pk).update(enabled=resume)
        record_action(request.user, pair, "resumed" if resume else "paused")
        waiting = list(SyncRun.objects.filter(pair=pair, status__in=SyncRun.CLAIMABLE))
        if resume:
            for run in waiting:
                enqueue(run)
    if resume:
        messages.success(request, f"{pair.name} resumed; {len(waiting)} waiting run(s) queued.")
    else:
        messages.success(request, f"{pair.name} paused: no run starts until it is resumed.")
    return redirect("pair-flows", slug=pair.slug)
