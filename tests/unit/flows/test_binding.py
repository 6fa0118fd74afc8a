"""Binding a CRM record to its Sage record: the memory that keeps a retry from writing twice."""

from types import SimpleNamespace

import pytest
from django.db import IntegrityError, transaction

from flows.models import ExternalLink
from flows.steps import bind, linked_sage_id
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db


def test_a_record_keeps_the_sage_record_it_was_first_bound_to():
    ctx = SimpleNamespace(pair=IntegrationPairFactory())
    assert linked_sage_id(ctx, "sales_order", "BOX-1") == ""
    bind(ctx, "sales_order", "BOX-1", "0000101")
    bind(ctx, "sales_order", "BOX-1", "0000102")  # a later attempt's: the first stays
    assert linked_sage_id(ctx, "sales_order", "BOX-1") == "0000101"
    link = ExternalLink.objects.get(pair=ctx.pair, entity="sales_order", crm_id="BOX-1")
    assert link.created_at and link.updated_at and link.last_synced_version == ""
    bind(ctx, "invoice", "BOX-1", "INV-7")  # another kind of record binds on its own
    assert linked_sage_id(ctx, "invoice", "BOX-1") == "INV-7"


def test_a_sage_record_bound_to_another_crm_record_is_refused():
    ctx = SimpleNamespace(pair=IntegrationPairFactory())
    bind(ctx, "sales_order", "BOX-1", "0000101")
    with pytest.raises(IntegrityError), transaction.atomic():
        bind(ctx, "sales_order", "BOX-2", "0000101")
    assert linked_sage_id(ctx, "sales_order", "BOX-2") == ""
