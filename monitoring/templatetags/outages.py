"""The outage banner on any page: `{% load outages %}{% outage_banner %}` for every system
that does not answer, `{% outage_banner pair %}` for the pair's own two."""

from typing import Any

from django import template

from connectors.models import IntegrationPair
from monitoring.outages import current_outages

register = template.Library()


@register.inclusion_tag("monitoring/_outage_banner.html")
def outage_banner(pair: IntegrationPair | None = None) -> dict[str, Any]:
    return {"outages": current_outages(pair)}
