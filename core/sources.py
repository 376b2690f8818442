"""Sources: created from a codename, found again from a codename, never storing it.

A codename goes through exactly one Argon2id derivation per login (crypto.kdf). Its outputs are
the source id, which is the database lookup key and the store directory name, and the wrap key,
which is the only key that opens the source's reply secret key. The caller keeps the
:class:`~crypto.kdf.SourceSecrets` for as long as the source stays logged in (the source app
seals them into the session cookie) and forgets the codename at once.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from core.designation import MAX_DESIGNATION_ATTEMPTS, choose_designation
from core.errors import DesignationExhausted, UnknownSource
from core.instance import Instance
from core.models import Reply, Source, Submission
from crypto.codename import CODENAME_LANGUAGES, canonical_text, normalize_codename
from crypto.kdf import SourceSecrets, derive_source_secrets
from crypto.reply_key import create_reply_key
from crypto.types import Codename, SourceId
from crypto.wordlist import load_codename_words

#: A message is compared with the codename only if it has a run of this many codename words;
#: each candidate costs one Argon2id derivation, so at most this many runs are checked.
MAX_CODENAME_CANDIDATES = 4


@dataclass(frozen=True)
class SourceLogin:
    """A logged-in source: its row id, designation and the secrets its codename derived."""

    id: int
    designation: str
    secrets: SourceSecrets

    @property
    def source_id(self) -> SourceId:
        return self.secrets.source_id


def derive_secrets(instance: Instance, codename: Codename) -> SourceSecrets:
    return derive_source_secrets(codename, instance.codename_salt, instance.settings.kdf)


def create_source(instance: Instance, codename: Codename) -> SourceLogin:
    """Create the source a freshly generated codename stands for, or log in if it exists.

    Creating twice with the same codename (a double-clicked form) returns the same source.
    """
    secrets = derive_secrets(instance, codename)
    existing = find_source(instance, secrets)
    if existing is not None:
        return existing
    # The reply key is generated before the row exists: its secret half is wrapped at once and
    # the plain secret key never leaves the RAM-backed GNUPGHOME crypto uses for it.
    reply_key = create_reply_key(secrets.wrap_key, instance.settings.ram_dir)
    for _ in range(MAX_DESIGNATION_ATTEMPTS):
        with instance.sessions() as db:
            designation = choose_designation(db)
            source = Source(
                filesystem_id=secrets.source_id,
                journalist_designation=designation,
                reply_key_fingerprint=reply_key.fingerprint,
                reply_key_public=reply_key.public_armored,
                reply_key_wrapped=reply_key.wrapped_secret,
            )
            db.add(source)
            try:
                db.commit()
            except IntegrityError:
                db.rollback()
                # Either the same codename was created by a concurrent request (then log in to
                # that source) or another source took the designation at the same moment.
                existing = find_source(instance, secrets)
                if existing is not None:
                    return existing
                continue
            return SourceLogin(id=source.id, designation=designation, secrets=secrets)
    raise DesignationExhausted(
        "Every designation drawn for a new source was taken by a concurrent request; "
        "try again, and delete sources that are no longer needed."
    )


def authenticate_source(instance: Instance, typed: str) -> SourceLogin:
    """Log a source in with the codename it typed.

    Raises :class:`~crypto.errors.InvalidCodename` for text that cannot be a codename (checked
    before any derivation, so an over-long input costs nothing) and :class:`UnknownSource` for a
    well-formed codename that belongs to no source.
    """
    codename = normalize_codename(typed)
    secrets = derive_secrets(instance, codename)
    found = find_source(instance, secrets)
    if found is None:
        raise UnknownSource("No source has this codename.")
    with instance.sessions() as db:
        # A pending source is pruned one longest login after it was last active: a new login
        # starts that clock again (prune_pending_sources).
        db.execute(
            update(Source)
            .where(Source.id == found.id, Source.pending.is_(True))
            .values(last_updated=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
        db.commit()
    return found


def find_source(instance: Instance, secrets: SourceSecrets) -> SourceLogin | None:
    with instance.sessions() as db:
        row = db.execute(
            select(Source.id, Source.journalist_designation).where(
                Source.filesystem_id == secrets.source_id
            )
        ).one_or_none()
    if row is None:
        return None
    return SourceLogin(id=row.id, designation=row.journalist_designation, secrets=secrets)


def find_codename_candidates(text: str, limit: int = MAX_CODENAME_CANDIDATES) -> list[Codename]:
    """Return the runs of consecutive codename words in ``text`` as long as a codename.

    Only these could be a codename, so only these are worth an Argon2id derivation. Each
    language's list is searched for runs of its own codename length. Words are compared after
    the same normalisation as a typed codename; punctuation around words is ignored so
    "my codename: a b c d e f g." is found too.
    """
    words = [
        word.strip(".,;:!?\"'()[]{}<>«»„“”‘’")
        for word in canonical_text(text).split()
    ]
    candidates: list[Codename] = []
    for language in CODENAME_LANGUAGES:
        chosen = load_codename_words(language)
        run = 0  # how many codename words end at the current position
        for end, word in enumerate(words, start=1):
            run = run + 1 if word in chosen.accepted else 0
            if run < chosen.length:
                continue
            candidate = normalize_codename(" ".join(words[end - chosen.length : end]))
            if candidate not in candidates:
                candidates.append(candidate)
            if len(candidates) >= limit:
                return candidates
    return candidates


def message_contains_codename(instance: Instance, text: str, source_id: SourceId) -> bool:
    """Whether ``text`` contains the codename of the source ``source_id``.

    The codename itself is gone after login, so each candidate is derived and its source id
    compared: a match means the candidate is this source's codename.
    """
    return any(
        derive_secrets(instance, candidate).source_id == source_id
        for candidate in find_codename_candidates(text)
    )


def prune_pending_sources(instance: Instance, older_than: timedelta,
                          now: datetime | None = None) -> int:
    """Delete sources that never submitted and were last active before ``older_than`` ago.

    A pending source holds nothing but its designation and reply key: staff never saw it, and
    its codename logs in to nothing useful until it submits. Once every login it could still
    have is over (the caller passes the longest a source login can last), it only uses up a
    designation, so it is removed; the codename is then unknown, as if never created. Returns
    how many were removed.
    """
    cutoff = (now or datetime.now(UTC)) - older_than
    with instance.sessions() as db:
        result = db.execute(
            delete(Source)
            .where(
                Source.pending.is_(True),
                Source.last_updated < cutoff,
                ~exists().where(Submission.source_id == Source.id),
                ~exists().where(Reply.source_id == Source.id),
            )
            .execution_options(synchronize_session=False)
        )
        db.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def count_recent_pending_sources(instance: Instance, within: timedelta,
                                 now: datetime | None = None) -> int:
    """How many sources were created (and have not submitted) in the last ``within``.

    The global throttle on /create counts these: it is the same number for every visitor, so it
    singles out no one (all sources share the Tor exit's address anyway), and it is shared by
    every worker process because it lives in the database.
    """
    since = (now or datetime.now(UTC)) - within
    with instance.sessions() as db:
        count = db.scalar(
            select(func.count()).select_from(Source)
            .where(Source.pending.is_(True), Source.last_updated >= since)
        )
    return int(count or 0)
