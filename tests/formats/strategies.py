"""Hypothesis strategies for the documents of the formats package, valid and hostile.

Valid strategies build only what the format allows (so parse(encode(x)) == x must hold for every
one of them); `json_values` and `mutated` make the documents an attacker or a damaged disk could
hand a parser, which must then either read them or raise a FormatError, nothing else.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from formats.bundle_manifest import KINDS, Manifest, ManifestItem, MemberRef
from formats.consent import Consent, ConsentRecord, Destination
from formats.errors import FormatError
from formats.intake import (
    MAX_YEAR,
    MIN_YEAR,
    RESPONSIBLE_LIMIT,
    WHEN_TEXT_LIMIT,
    WHERE_TEXT_LIMIT,
    Intake,
    Region,
    Relation,
    Violation,
    build_intake_document,
    clean_text,
)
from formats.receipt import Receipt

# No deadline: the machine running the suite is shared and its timing says nothing here.
PROPERTY = settings(deadline=None, max_examples=150)

# Any text JSON can carry and UTF-8 can encode (lone surrogates can do neither).
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))
non_empty_texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1)
hex64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
hex128 = st.text(alphabet="0123456789abcdef", min_size=128, max_size=128)
uuids = st.uuids().map(str)
# Four-digit years: the documents write %Y and read back exactly four digits.
utc_moments = st.datetimes(
    min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
_name_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="/")
member_names = st.text(alphabet=_name_chars, min_size=1, max_size=40).filter(
    lambda name: name not in (".", "..")
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                                      allow_infinity=False) | texts
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)


@st.composite
def manifest_items(draw: st.DrawFn) -> tuple[ManifestItem, ...]:
    count = draw(st.integers(min_value=0, max_value=4))
    item_uuids = draw(st.lists(uuids, min_size=count, max_size=count, unique=True))
    items = []
    for index, uuid in enumerate(item_uuids):
        kind = draw(st.sampled_from(sorted(KINDS)))
        filename = draw(member_names)
        folder = f"items/{index}"
        receipt = None
        if kind == "message" or kind == "file" or (kind == "consent" and draw(st.booleans())):
            receipt = MemberRef(
                f"{folder}/receipt-{draw(member_names)}",
                draw(st.integers(min_value=0, max_value=2**40)),
                draw(hex64),
            )
        items.append(
            ManifestItem(
                uuid=uuid,
                source_uuid=draw(texts),
                source_designation=draw(texts),
                kind=kind,
                ciphertext=MemberRef(
                    f"{folder}/{filename}", draw(st.integers(min_value=0, max_value=2**40)),
                    draw(hex64),
                ),
                filename=filename,
                received_on=draw(st.dates()).isoformat(),
                receipt=receipt,
            )
        )
    return tuple(items)


manifests = st.builds(
    Manifest,
    instance_id=non_empty_texts,
    created_at=utc_moments,
    signing_key=hex64,
    items=manifest_items(),
)


@st.composite
def consents(draw: st.DrawFn) -> Consent:
    chosen = draw(st.sets(st.sampled_from(list(Destination))))
    replies = draw(st.booleans())
    # Contact travels only through replies: the format refuses one without the other.
    contact = replies and draw(st.booleans())
    return Consent(frozenset(chosen | {Destination.PLATFORM}), replies, contact)


consent_records = st.builds(ConsentRecord, consent=consents(), recorded_at=utc_moments)


def _clean(limit: int) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), texts.map(lambda raw: clean_text("text", raw, limit, [])))


intakes = st.builds(
    Intake,
    violations=st.frozensets(st.sampled_from(list(Violation))),
    when_text=_clean(WHEN_TEXT_LIMIT),
    when_year=st.none() | st.integers(min_value=MIN_YEAR, max_value=MAX_YEAR),
    when_month=st.none() | st.integers(min_value=1, max_value=12),
    where_text=_clean(WHERE_TEXT_LIMIT),
    region=st.none() | st.sampled_from(list(Region)),
    responsible=_clean(RESPONSIBLE_LIMIT),
    relation=st.none() | st.sampled_from(list(Relation)),
)


@st.composite
def receipts(draw: st.DrawFn) -> Receipt:
    from formats.consent import build_consent_document

    kind = draw(st.sampled_from(["message", "file", "consent"]))
    name = draw(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1,
                        max_size=200)) if kind == "file" else None
    intake = draw(st.none() | intakes.map(build_intake_document))
    consent = draw(st.none() | consent_records.map(build_consent_document))
    return Receipt(
        submission_uuid=draw(uuids),
        kind=kind,
        original_name=name,
        size=draw(st.integers(min_value=0, max_value=2**50)),
        sha256=draw(hex64),
        sha512=draw(hex128),
        received_at=draw(utc_moments),
        intake=intake,
        consent=consent,
    )


def mutated(encoded: bytes) -> st.SearchStrategy[bytes]:
    """A valid document with one key removed or set to any JSON value, at the top or one level in.

    The parsers must refuse these with a FormatError (or accept the few that stay valid).
    """

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        document: Any = json.loads(encoded)
        target = document
        nested = [key for key, value in document.items() if isinstance(value, dict | list)]
        if nested and draw(st.booleans()):
            inner = document[draw(st.sampled_from(sorted(nested)))]
            if isinstance(inner, list) and inner and isinstance(inner[0], dict):
                target = inner[draw(st.integers(min_value=0, max_value=len(inner) - 1))]
            elif isinstance(inner, dict):
                target = inner
        if target:
            key = draw(st.sampled_from(sorted(target)))
            if draw(st.booleans()):
                del target[key]
            else:
                target[key] = draw(json_values)
        return json.dumps(document, ensure_ascii=draw(st.booleans())).encode("utf-8")

    return mutate()


def parses_or_refuses(parse: Callable[[bytes], object], data: bytes) -> None:
    """Call `parse`; the only exception allowed out of it is a FormatError."""
    with contextlib.suppress(FormatError):
        parse(data)
