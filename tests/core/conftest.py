"""Fixtures for core tests."""

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from core.instance import Instance


@pytest.fixture
def db(instance: Instance) -> Iterator[Session]:
    with instance.sessions() as session:
        yield session
