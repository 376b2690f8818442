"""Journalist designations: neutral "adjective noun" pairs, unique among sources."""

import itertools
import re

import pytest

from core.designation import ADJECTIVES, NOUNS, choose_designation, draw_designation
from core.errors import DesignationExhausted
from core.instance import Instance
from core.models import Source


def add_source(instance: Instance, designation: str, n: int) -> None:
    with instance.sessions() as db:
        db.add(
            Source(
                filesystem_id=f"{n:064x}",
                journalist_designation=designation,
                reply_key_fingerprint=f"{n:040X}",
                reply_key_public="public",
                reply_key_wrapped=b"wrapped",
            )
        )
        db.commit()


def test_word_lists_are_large_unique_and_plain() -> None:
    for words in (ADJECTIVES, NOUNS):
        assert len(words) >= 300
        assert len(set(words)) == len(words)
        assert all(re.fullmatch(r"[a-z]{2,12}", word) for word in words)


def test_a_designation_is_an_adjective_and_a_noun() -> None:
    adjective, noun = draw_designation().split(" ")
    assert adjective in ADJECTIVES
    assert noun in NOUNS


def test_draws_vary() -> None:
    assert len({draw_designation() for _ in range(50)}) > 40


def test_a_taken_designation_is_drawn_again(instance: Instance) -> None:
    add_source(instance, "amber lantern", 1)
    draws = iter(["amber lantern", "amber lantern", "calm otter"])
    with instance.sessions() as db:
        assert choose_designation(db, draw=lambda: next(draws)) == "calm otter"


def test_gives_up_with_a_clear_error_after_bounded_attempts(instance: Instance) -> None:
    add_source(instance, "amber lantern", 1)
    counter = itertools.count()

    def always_taken() -> str:
        next(counter)
        return "amber lantern"

    with instance.sessions() as db, pytest.raises(DesignationExhausted, match="Delete sources"):
        choose_designation(db, attempts=7, draw=always_taken)
    assert next(counter) == 7
