"""The value types that cross the crypto package's boundary.

They are ``NewType``s so that mypy keeps a raw string from being passed where a checked codename,
source id or fingerprint is expected; the functions that create them are the only checks.
"""

from typing import NewType

#: A normalised codename: lower-case EFF words separated by single spaces.
Codename = NewType("Codename", str)

#: A source's lookup id, derived from its codename: 64 lower-case hex characters.
SourceId = NewType("SourceId", str)

#: An OpenPGP v4 fingerprint: 40 upper-case hex characters, no spaces.
Fingerprint = NewType("Fingerprint", str)
