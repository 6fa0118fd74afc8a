"""What the flows app hooks into when it is ready: its flow templates registered, audit of
its models, flows offered to each new pair, its repeating schedules after every migrate,
its section of configuration exports, and the models whose changes begin a configuration
generation."""

from typing import Any

from auditlog.registry import auditlog
from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate, post_save

from clarity.schedules import every_night, repeat_every
from connectors import configuration
from connectors.models import IntegrationPair
from flows import config_section as section
from flows.models import Approval, FlowConfig, Subscription
from flows.registry import flows_for, register
from flows.rule_models import RuleSetVersion
from flows.usecases import ALL_FLOWS
from mappings.config_transfer import PairSection, register_pair_section


def connect() -> None:
    register(*ALL_FLOWS)
    auditlog.register(FlowConfig)
    auditlog.register(Approval)
    auditlog.register(Subscription, exclude_fields=["secrets"])
    configuration.watch(RuleSetVersion, Subscription)  # runs keep them per process
    post_save.connect(offer_flows_to_new_pair, sender=IntegrationPair,
                      dispatch_uid="flows.offer_flows")  # fmt: skip
    post_migrate.connect(ensure_schedules, dispatch_uid="flows.sweeper")
    # Flow settings travel in configuration exports beside the mappings.
    register_pair_section(
        section.SECTION,
        PairSection(
            section.export_flow_settings, section.flow_settings_changes, section.apply_flow_settings
        ),
    )


def offer_flows_to_new_pair(
    sender: type, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A new pair gets every flow that fits it, switched off until an admin turns it on."""
    if created and not raw:
        for flow in flows_for(instance.crm.system, instance.erp.system):
            FlowConfig.objects.get_or_create(
                pair=instance, flow=flow.name, defaults={"enabled": False, "trigger": flow.trigger}
            )


def ensure_schedules(sender: AppConfig, **kwargs: Any) -> None:
    if sender.name == "flows":
        sweep_minutes = settings.CLARITY_SWEEP_SECONDS // 60
        repeat_every(sweep_minutes, "Run sweeper", "flows.sweeper.sweep")
        repeat_every(1, "Polling", "flows.polling.poll_due")
        repeat_every(sweep_minutes, "Event delivery sweeper", "flows.events.sweep")
        every_night("Nightly reconciliation", "flows.reconciliation.nightly")
