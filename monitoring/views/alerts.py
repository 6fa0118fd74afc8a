"""Alert pages: channels, rules, what was noticed and what was sent; a Send test button;
and e-mail the outbox could not send, in plain words, with a Retry button."""

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from clarity import outbox
from clarity.permissions import RuleRequiredMixin, needs, rule_required
from monitoring.alerts.channels import send_test
from monitoring.forms import ChannelForm, RuleForm
from monitoring.models import AlertChannel, AlertDelivery, AlertIncident, AlertRule

RETRY_MAIL = needs(
    "clarity.retry_outboxmessage", message="Only operators and admins can retry unsent e-mail."
)


class AlertListView(RuleRequiredMixin, TemplateView):
    permission = needs("monitoring.view_alertdelivery")
    template_name = "monitoring/alerts/alert_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        deliveries = AlertDelivery.objects.select_related("channel", "rule", "pair", "mail")
        page = Paginator(deliveries, 25).get_page(self.request.GET.get("page"))
        return {
            **super().get_context_data(**kwargs),
            "channels": AlertChannel.objects.all(),
            "rules": AlertRule.objects.select_related("pair").prefetch_related("channels"),
            "held": AlertIncident.objects.filter(notified_at__isnull=True).count(),
            "page": page,
            "mail_set_up": outbox.mail_is_set_up(),
            "mail_example": outbox.EXAMPLE_URL,
            "mail_troubles": outbox.troubles(),
            "can_retry_mail": RETRY_MAIL.allows(self.request.user),
        }


class ModelFormView(RuleRequiredMixin):
    """Create (no pk) or edit (pk) one object through a form, then back to the list; each
    subclass is one of the two and declares the model's add or change permission."""

    model: type
    form_class: type
    noun: str

    def form(self, data: Any = None) -> Any:
        instance = (
            get_object_or_404(self.model, pk=self.kwargs["pk"]) if "pk" in self.kwargs else None
        )
        return self.form_class(data, instance=instance)

    def show(self, form: Any) -> HttpResponse:
        context = {"form": form, "object": form.instance, "noun": self.noun}
        return render(self.request, "monitoring/alerts/form.html", context)

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        return self.show(self.form())

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        form = self.form(request.POST)
        if not form.is_valid():
            return self.show(form)
        saved = form.save()
        messages.success(request, f"{self.noun.capitalize()} “{saved.name}” saved.")
        return redirect("alert-list")


class ChannelFormView(ModelFormView):
    model, form_class, noun = AlertChannel, ChannelForm, "channel"


class ChannelCreateView(ChannelFormView):
    permission = needs("monitoring.add_alertchannel")


class ChannelEditView(ChannelFormView):
    permission = needs("monitoring.change_alertchannel")


class AlertRuleFormView(ModelFormView):
    model, form_class, noun = AlertRule, RuleForm, "rule"


class AlertRuleCreateView(AlertRuleFormView):
    permission = needs("monitoring.add_alertrule")


class AlertRuleEditView(AlertRuleFormView):
    permission = needs("monitoring.change_alertrule")


@require_POST
@rule_required(ChannelEditView.permission)
def send_test_view(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = send_test(get_object_or_404(AlertChannel, pk=pk))
    name = delivery.channel.name
    mail = delivery.mail
    if mail:
        mail.refresh_from_db()  # the worker may have tried it already
    if delivery.status == AlertDelivery.Status.FAILED:
        messages.error(request, f"The test to “{name}” failed: {delivery.error}")
    elif mail is None or mail.status == outbox.Status.SENT:
        messages.success(request, f"Test alert sent to “{name}”.")
    elif mail.last_error:
        messages.error(request, f"The test e-mail to “{name}” is not sent yet: {mail.last_error}")
    else:
        messages.success(
            request,
            f"Test alert to “{name}” queued: the worker e-mails it within seconds, and if it "
            "cannot, this page says why.",
        )
    return redirect(reverse("alert-list"))


@require_POST
@rule_required(RETRY_MAIL)
def retry_mail_view(request: HttpRequest) -> HttpResponse:
    count = outbox.retry_unsent()
    if count:
        messages.success(
            request,
            f"{count} e-mail{'s' if count != 1 else ''} queued again: the worker sends them now, "
            "and this page lists any that still cannot leave.",
        )
    else:
        messages.info(request, "No unsent e-mail left to retry.")
    return redirect(reverse("alert-list"))
