"""Fixtures for the crypto tests: real gpg homes with short paths and real keys.

They live in tests/support/gpg_homes.py (the dev-data packet writer's tests in tests/devtools use
them too); importing them here makes them fixtures of this folder. Every home made has its agent
stopped and is removed at teardown.
"""

from tests.support.gpg_homes import (  # noqa: F401 (fixtures)
    gpg_home_factory,
    other_workstation,
    server,
    session_home_factory,
    workstation,
)
