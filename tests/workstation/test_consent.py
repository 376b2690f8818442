"""Consent: the latest record of a source decides, and anything unreadable is most protective."""

from __future__ import annotations

from workstation.consent import latest_consent, read_consent


def record(destinations: object, at: str, origin: str = "receipt") -> object:
    return {"format": "skrynka-consent", "version": 1, "recorded_at": at,
            "destinations": destinations, "replies": False, "investigator_contact": False}


def test_destinations_are_read_and_platform_is_always_allowed() -> None:
    consent = read_consent(record(["un"], "2026-01-01T00:00:00Z"), "s", "receipt", "")

    assert consent.covers("un")
    assert consent.covers("platform")
    assert not consent.covers("court")
    assert consent.problem is None


def test_the_latest_record_decides_even_when_it_narrows() -> None:
    wide = read_consent(record(["platform", "un", "court"], "2026-01-01T00:00:00Z"),
                         "s", "a", "")
    narrow = read_consent(record(["platform"], "2026-02-01T00:00:00Z"), "s", "b", "")

    latest = latest_consent([narrow, wide])

    assert latest is narrow
    assert not latest.covers("court")


def test_an_unreadable_latest_record_counts_as_platform_only() -> None:
    wide = read_consent(record(["platform", "court"], "2026-01-01T00:00:00Z"), "s", "a", "")
    broken = read_consent(record("court", "2026-02-01T00:00:00Z"), "s", "b", "")

    latest = latest_consent([wide, broken])

    assert latest is broken
    assert latest.destinations == frozenset({"platform"})
    assert latest.problem == "destinations is not a list of names"


def test_a_document_of_another_format_covers_nothing_beyond_the_platform() -> None:
    consent = read_consent({"format": "other", "destinations": ["court"]}, "s", "a", "t")

    assert not consent.covers("court")
    assert consent.problem is not None
    assert consent.recorded_at == "t"


def test_unknown_destinations_are_ignored_and_reported() -> None:
    consent = read_consent(record(["un", "press"], "2026-01-01T00:00:00Z"), "s", "a", "")

    assert consent.covers("un")
    assert not consent.covers("press")
    assert "press" in str(consent.problem)


def test_no_records_means_no_consent() -> None:
    assert latest_consent([]) is None
