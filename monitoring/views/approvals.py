"""The approval queue: what waits, read as money (the deal's amount in its currency and in the
pair's, the customer's credit in Sage now, the lines, a link to the deal), why it waits (over
the threshold, or held because it looks unusual, each finding in words), with approve ("send
it anyway" for a held deal) and reject in one click, and a Decided tab with who decided and
when.

Also the rules other pages share about approvals: which approvals wait, that a rejection is
an approver's decision and not a failure (`success_rate`), and where an approver lands after
signing in."""

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clarity.formats import plain_number
from clarity.permissions import SIGNED_IN, needs, rule_required
from clarity.roles import APPROVER, role_of
from connectors.models import IntegrationPair
from connectors.registry import SYSTEMS
from flows.approvals import DECIDE, DecisionRefused, approve, reject
from flows.credit import SageUnavailable, UnknownCustomer, credit_of
from flows.models import Approval, ExternalLink, RunStep, SyncRun
from flows.steps import MAP_DEAL

DECIDED_SHOWN = 100
Status = SyncRun.Status
# The outcomes the success rate weighs. A rejection is an approver's decision, not a
# failure: it counts neither way (nor does a run still waiting for one).
RATED = (Status.SUCCEEDED, Status.FAILED, Status.DEAD)
# Attribute of the request holding the count of waiting approvals, counted once per request.
WAITING_COUNT = "_clarity_approvals_waiting"


def waiting_approvals() -> QuerySet[Approval]:
    """Approvals whose run still waits for them (a cancelled run's approval waits for no one)."""
    return Approval.objects.filter(
        status=Approval.Status.PENDING, run__status=Status.AWAITING_APPROVAL
    )


def waiting_count(request: HttpRequest) -> int:
    """How many approvals wait: one COUNT query per request, however often it is shown."""
    if not hasattr(request, WAITING_COUNT):
        setattr(request, WAITING_COUNT, waiting_approvals().count())
    return getattr(request, WAITING_COUNT)


def success_rate(by_status: Mapping[str, int]) -> int | None:
    """Succeeded among the runs that succeeded or failed, in whole percent; None before any."""
    rated = sum(by_status.get(status, 0) for status in RATED)
    return round(100 * by_status.get(Status.SUCCEEDED, 0) / rated) if rated else None


def money(value: Any, currency: str = "") -> str:
    """An amount as finance reads it: 1,234.50 USD (empty when there is no amount), with a
    no-break space so the currency never wraps away from its number."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return f"{value} {currency}".strip()
    return f"{amount:,.2f}\u00a0{currency}" if currency else f"{amount:,.2f}"


@rule_required(SIGNED_IN)
def after_sign_in(request: HttpRequest) -> HttpResponse:
    """Where signing in leads (LOGIN_REDIRECT_URL): approvers to the queue, which is their
    work; everyone else to the dashboard."""
    return redirect("approval-list" if role_of(request.user) == APPROVER else "dashboard")


@rule_required(needs("flows.view_approval"))
def approval_list(request: HttpRequest) -> HttpResponse:
    tab = "decided" if request.GET.get("tab") == "decided" else "pending"
    if tab == "pending":
        approvals = waiting_approvals().select_related("run__pair__crm", "run__pair__erp")
        rows = cards(approvals.order_by("created_at"), CreditAnswers())
    else:
        decided = (
            Approval.objects.exclude(status=Approval.Status.PENDING)
            .select_related("run__pair", "decided_by")
            .order_by("-decided_at")[:DECIDED_SHOWN]
        )
        rows = [{"approval": approval, "title": title_of(approval.run, {})} for approval in decided]
    context = {
        "tab": tab,
        "rows": rows,
        "pending_count": waiting_count(request),
        "can_decide": DECIDE.allows(request.user),
    }
    return render(request, "monitoring/approval_list.html", context)


def cards(approvals: Iterable[Approval], credit: "CreditAnswers") -> list[dict[str, Any]]:
    """Each waiting approval with what an approver weighs: the deal as mapped (customer,
    lines), the customer's credit now, and the deal's page in the CRM."""
    approvals = list(approvals)
    mapped = mapped_deals([approval.run_id for approval in approvals])
    rows = []
    for approval in approvals:
        run = approval.run
        deal = mapped.get(run.pk, {})
        customer = deal.get("customer") or {}
        document = deal.get("document") or {}
        crm_id = (customer.get("external_refs") or {}).get("crm") or ""
        rows.append(
            {
                "approval": approval,
                "title": title_of(run, document),
                "customer": customer.get("name") or document.get("customer_name") or "",
                "currency": document.get("currency") or approval.currency,
                "lines": [shown_line(line) for line in document.get("lines") or []],
                "credit": credit.of(run.pair, crm_id, approval, customer.get("name") or ""),
                "deal_links": deal_links(run),
            }
        )
    return rows


def mapped_deals(run_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The latest successful `map_deal` output of each run, in one query."""
    steps = RunStep.objects.filter(
        run_id__in=run_ids, name=MAP_DEAL, status=RunStep.Status.SUCCEEDED
    ).order_by("run_id", "attempt")
    return {run_id: output or {} for run_id, output in steps.values_list("run_id", "output")}


def title_of(run: SyncRun, document: Mapping[str, Any]) -> str:
    """The run's human label where the run has one, else the Deal ID and customer."""
    parts = [document.get("crm_deal_id"), document.get("customer_name")]
    named = " · ".join(str(part) for part in parts if part)
    return run.label or named or run.summary or run.entity_key


def shown_line(line: Mapping[str, Any]) -> dict[str, str]:
    quantity = line.get("quantity")
    return {
        "sku": str(line.get("sku") or ""),
        "description": str(line.get("description") or ""),
        "quantity": plain_number(Decimal(str(quantity))) if quantity not in (None, "") else "",
        "unit_price": money(line.get("unit_price")),
        "amount": money(line.get("amount")),
    }


def deal_links(run: SyncRun) -> list[dict[str, str]]:
    """The deal's page in the CRM, from the connector's record links."""
    crm = run.pair.crm
    found = SYSTEMS[crm.system].connector_class.record_links(
        crm.settings or {}, run.entity_key, run.references or {}
    )
    return [{"label": link.label, "url": link.url} for link in found]


class CreditAnswers:
    """The customers' credit for one page load, read live from Sage (`flows.credit`, within
    its time budget): each customer is asked once, and once a Sage has not answered, the
    other cards of that Sage say so at once instead of each waiting out the budget again."""

    def __init__(self) -> None:
        self.answers: dict[tuple[int, str], dict[str, Any]] = {}
        self.unreachable: dict[int, str] = {}

    def of(
        self, pair: IntegrationPair, crm_id: str, approval: Approval, name: str
    ) -> dict[str, Any]:
        if not crm_id:
            return unavailable("the deal names no customer record in the CRM.")
        erp = pair.erp.system_label
        if not ExternalLink.objects.filter(pair=pair, entity="customer", crm_id=crm_id).exists():
            return unavailable(
                f"{name or 'the customer'} is not linked to a {erp} customer yet; it is "
                f"linked when its first won deal reaches {erp}."
            )
        if pair.erp_id in self.unreachable:
            return unavailable(self.unreachable[pair.erp_id])
        key = (pair.pk, crm_id)
        if key not in self.answers:
            try:
                self.answers[key] = {"answer": credit_of(pair, crm_id)}
            except UnknownCustomer as unknown:
                self.answers[key] = unavailable(str(unknown))
            except SageUnavailable as down:
                self.unreachable[pair.erp_id] = str(down)
                return unavailable(str(down))
        found = self.answers[key]
        return shown_credit(found["answer"], pair, approval) if "answer" in found else found


def unavailable(why: str) -> dict[str, Any]:
    return {"unavailable": f"credit not available: {why}"}


def shown_credit(answer: Mapping[str, Any], pair: IntegrationPair, approval: Approval) -> dict:
    """The credit answer as the card shows it, in the ERP's currency (the pair's base
    currency where the ERP keeps one currency). A limit of 0 is Sage's "no limit"."""
    currency = answer.get("currency") or pair.base_currency
    limit = Decimal(str(answer.get("credit_limit") or 0))
    available = Decimal(str(answer.get("available") or 0))
    open_label, still_open = "Open orders", answer.get("open_orders")
    if still_open is None:
        open_label, still_open = "Unpaid invoices", answer.get("outstanding_invoices") or {}
    over = Decimal(0)
    if limit and currency == approval.base_currency:
        over = approval.base_amount - available
    return {
        "customer": f"{answer.get('customer', '')} · {answer.get('name', '')}".strip(" ·"),
        "limit": money(limit, currency) if limit else "none set",
        "balance": money(answer.get("balance"), currency),
        "open_label": open_label,
        "open": f"{still_open.get('count', 0)} · {money(still_open.get('amount', 0), currency)}",
        "available": money(available, currency) if limit else "",
        "over": money(over, currency) if over > 0 else "",
    }


@rule_required(DECIDE)
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject; refused with 403 for anyone who is not an approver or admin."""
    approval = get_object_or_404(Approval.objects.select_related("run"), pk=pk)
    comment = request.POST.get("comment", "")
    try:
        if request.POST.get("decision") == "reject":
            reject(approval, request.user, comment)
            messages.success(
                request,
                f"Rejected: {approval.run.summary or approval.run}. The reason goes to the deal.",
            )
        else:
            approved = approve(approval, request.user, comment)
            approval.run.refresh_from_db()
            messages.success(request, approved_message(approved, approval.run))
    except DecisionRefused as refused:
        messages.error(request, str(refused))
    return redirect("approval-list")


def approved_message(approval: Approval, run: SyncRun) -> str:
    """What the approver is told: where the run is now, and when the deal, approved over the
    threshold, was held again at once because it looks unusual."""
    approval.refresh_from_db()
    what = run.summary or str(run)
    if approval.status == Approval.Status.PENDING:
        return (
            f"Approved over the threshold: {what}. It waits again because it looks unusual: "
            "see its card."
        )
    sent = "Sent on" if approval.kind == Approval.Kind.ANOMALY else "Approved"
    return f"{sent}: {what}. The run is now {run.get_status_display().lower()}."
