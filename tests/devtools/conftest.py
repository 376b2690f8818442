"""Fixtures for the development tools' tests: the crypto tests' gpg homes and keys."""

from tests.support.gpg_homes import (  # noqa: F401 (fixtures)
    gpg_home_factory,
    other_workstation,
    server,
    session_home_factory,
    workstation,
)
