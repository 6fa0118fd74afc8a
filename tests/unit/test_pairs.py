"""A pair joins exactly one CRM to one ERP; other combinations are refused with a reason."""

import pytest
from django.core.exceptions import ValidationError

from connectors.forms import IntegrationPairForm
from connectors.models import IntegrationPair
from tests.factories import ConnectionFactory, IntegrationPairFactory

pytestmark = pytest.mark.django_db

SAGE100 = {
    "odbc_connection_string": "DSN=SOTAMAS90",
    "odbc_dialect": "providex",
    "company_code": "ABC",
    "bridge_url": "http://127.0.0.1:8104",
}


def form_for(crm, erp, **extra):
    return IntegrationPairForm(
        data={"name": "Acme", "crm": crm.pk, "erp": erp.pk, "base_currency": "usd", **extra}
    )


def test_crm_to_erp_is_accepted_and_currency_upper_cased():
    streak = ConnectionFactory()
    sage = ConnectionFactory(name="Sage", system="sage100", settings=SAGE100)
    form = form_for(streak, sage, enabled="on")
    assert form.is_valid(), form.errors
    pair = form.save(commit=False)
    assert pair.slug == "acme" and pair.base_currency == "USD"


@pytest.mark.parametrize(
    ("crm_system", "erp_system", "bad_field"),
    [
        ("sage100", "sage50", "crm"),  # two ERPs
        ("streak", "salesforce", "erp"),  # two CRMs
    ],
)
def test_other_combinations_are_refused_with_the_valid_ones_listed(
    crm_system, erp_system, bad_field
):
    crm = ConnectionFactory(name="One", system=crm_system)
    erp = ConnectionFactory(name="Two", system=erp_system)
    form = form_for(crm, erp)
    assert not form.is_valid()
    message = form.errors[bad_field][0]
    assert "Streak → Sage 100" in message and "Salesforce → Sage Accounting" in message
    assert "is not a" in message


def test_erp_and_crm_swapped_names_both_sides():
    streak = ConnectionFactory()
    sage = ConnectionFactory(name="Sage", system="sage100", settings=SAGE100)
    pair = IntegrationPair(name="Backwards", crm=sage, erp=streak)
    with pytest.raises(ValidationError) as caught:
        pair.full_clean()
    assert set(caught.value.message_dict) >= {"crm", "erp"}


def test_a_name_whose_url_name_is_taken_is_refused():
    IntegrationPairFactory(name="Acme Sales")
    existing = IntegrationPair.objects.get()
    form = form_for(existing.crm, existing.erp, name="acme sales!")
    assert not form.is_valid()
    assert "acme-sales" in form.errors["name"][0]


def test_base_currency_must_be_an_iso_code():
    streak = ConnectionFactory()
    sage = ConnectionFactory(name="Sage", system="sage100", settings=SAGE100)
    form = form_for(streak, sage, base_currency="U5D")
    assert not form.is_valid()
    assert "ISO 4217" in form.errors["base_currency"][0]


def test_webhook_token_is_stored_only_as_a_hash():
    pair = IntegrationPairFactory()
    token = pair.rotate_webhook_token()
    pair.save()
    pair.refresh_from_db()
    assert token not in pair.webhook_token_hash
    assert pair.webhook_token_matches(token)
    assert not pair.webhook_token_matches(token + "x")
    assert pair.webhook_url(token).endswith(f"/hooks/{pair.slug}/{token}/")
