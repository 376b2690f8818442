"""Sources are created and found again from a codename that is never stored."""

import dataclasses
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from core.errors import UnknownSource
from core.instance import Instance
from core.models import Source
from core.sources import (
    authenticate_source,
    create_source,
    find_codename_candidates,
    message_contains_codename,
)
from crypto.codename import generate_codename
from crypto.errors import InvalidCodename
from crypto.kdf import KdfParams


def test_a_new_source_has_a_designation_and_a_wrapped_reply_key(instance: Instance) -> None:
    login = create_source(instance, generate_codename())
    with instance.sessions() as db:
        source = db.scalars(select(Source)).one()
    assert source.id == login.id
    assert source.filesystem_id == login.source_id
    assert len(source.journalist_designation.split(" ")) == 2
    assert source.pending
    assert source.interaction_count == 0
    assert "BEGIN PGP PUBLIC KEY BLOCK" in source.reply_key_public
    assert b"PRIVATE KEY" not in source.reply_key_wrapped
    assert len(source.reply_key_fingerprint) == 40


def test_the_codename_is_stored_nowhere(instance: Instance) -> None:
    codename = generate_codename()
    create_source(instance, codename)
    instance.engine.dispose()
    words = codename.split(" ")
    for path in Path(instance.settings.data_dir).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert codename.encode() not in data, path
            assert " ".join(words[:3]).encode() not in data, path


def test_login_with_the_codename_typed_differently(instance: Instance) -> None:
    codename = generate_codename()
    created = create_source(instance, codename)
    typed = "  " + codename.upper().replace(" ", "   ") + "\n"
    found = authenticate_source(instance, typed)
    assert found.id == created.id
    assert found.secrets == created.secrets


def test_creating_twice_logs_in_to_the_same_source(instance: Instance) -> None:
    codename = generate_codename()
    first = create_source(instance, codename)
    second = create_source(instance, codename)
    assert first.id == second.id
    with instance.sessions() as db:
        assert len(db.scalars(select(Source)).all()) == 1


def test_an_unknown_codename_is_refused(instance: Instance) -> None:
    create_source(instance, generate_codename())
    with pytest.raises(UnknownSource):
        authenticate_source(instance, generate_codename())


@pytest.mark.parametrize(
    "typed", ["", "one two three", "not a codename at all really no", "x" * 10_000]
)
def test_text_that_cannot_be_a_codename_is_refused(instance: Instance, typed: str) -> None:
    with pytest.raises(InvalidCodename):
        authenticate_source(instance, typed)


def test_over_long_input_is_refused_before_any_derivation(instance: Instance) -> None:
    # With a KDF this expensive, any derivation would take well over a second.
    costly = dataclasses.replace(
        instance, settings=dataclasses.replace(instance.settings, kdf=KdfParams(8, 512 * 1024**2))
    )
    started = time.monotonic()
    with pytest.raises(InvalidCodename):
        authenticate_source(costly, "abacus " * 2000)
    assert time.monotonic() - started < 0.2


def test_codename_candidates_are_runs_of_seven_codename_words() -> None:
    codename = generate_codename()
    assert find_codename_candidates(codename) == [codename]
    assert find_codename_candidates(f"My codename is: {codename.upper()}. Thanks!") == [codename]
    assert find_codename_candidates("Я бачыў, як іх затрымалі каля вакзала.") == []


def test_a_message_holding_the_sources_codename_is_recognised(instance: Instance) -> None:
    codename = generate_codename()
    login = create_source(instance, codename)
    assert message_contains_codename(instance, f"remember: {codename}", login.source_id)
    assert not message_contains_codename(instance, generate_codename(), login.source_id)
    assert not message_contains_codename(instance, "an ordinary message", login.source_id)
