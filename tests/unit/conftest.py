"""Unit tests start no sandbox: they stay fast and run anywhere."""

import pytest


@pytest.fixture
def sandbox_pool() -> None:
    """Every sandbox fixture (and every fixture built on one, e.g. `sage100_pair`) starts its
    sandbox through this pool, so here asking for any of them fails the test."""
    pytest.fail("unit tests start no sandbox: move this test to tests/integration/", pytrace=False)
