from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class FlowsConfig(AppConfig):
    """Flow templates, the webhook inbox, runs, retries, bindings and approvals."""

    name = "flows"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from connectors.models import IntegrationPair
        from flows.models import Approval, FlowConfig, Subscription

        auditlog.register(FlowConfig)
        auditlog.register(Approval)
        auditlog.register(Subscription, exclude_fields=["secrets"])
        post_save.connect(_offer_flows_to_new_pair, sender=IntegrationPair,
                          dispatch_uid="flows.offer_flows")  # fmt: skip
        post_migrate.connect(_ensure_sweeper, dispatch_uid="flows.sweeper")
        _register_config_section()


def _offer_flows_to_new_pair(
    sender: type, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A new pair gets every flow that fits it, switched off until an admin turns it on."""
    if created and not raw:
        from flows.models import FlowConfig
        from flows.registry import flows_for

        for flow in flows_for(instance.crm.system, instance.erp.system):
            FlowConfig.objects.get_or_create(
                pair=instance, flow=flow.name, defaults={"enabled": False, "trigger": flow.trigger}
            )


def _ensure_sweeper(sender: AppConfig, **kwargs: Any) -> None:
    if sender.name == "flows":
        from django.conf import settings

        from clarity.schedules import repeat_every

        sweep_minutes = settings.CLARITY_SWEEP_SECONDS // 60
        repeat_every(sweep_minutes, "Run sweeper", "flows.sweeper.sweep")
        repeat_every(1, "Polling", "flows.polling.poll_due")
        repeat_every(sweep_minutes, "Event delivery sweeper", "flows.events.sweep")


def _register_config_section() -> None:
    """Flow settings travel in configuration exports beside the mappings."""
    from flows import config_section as section
    from mappings.config_transfer import PairSection, register_pair_section

    register_pair_section(
        section.SECTION,
        PairSection(
            section.export_flow_settings,
            section.flow_settings_changes,
            section.apply_flow_settings,
        ),
    )
