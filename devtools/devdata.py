"""Development data: sources, submissions, replies and the well-known staff accounts.

`skrynka dev-data` fills a development instance the way SecureDrop's development loader does, so
clients' own test suites find what they expect: the `journalist` (admin) and `dellsberg`
accounts with SecureDrop's public development passphrase and TOTP secret, and N sources, each
with two messages, two files and two replies, all real OpenPGP ciphertext of random sizes with
real encrypted receipts, and a few submissions left unread. It refuses any instance not created
in development mode: those credentials are public.

It must stay fast at 10,000 sources (the benchmarks use it), so it does not push every item
through the source-facing pipeline one gpg process at a time (that costs ~10 processes per
source). Instead, per batch of sources:

1. The first `login_sources` sources are created from a freshly generated codename exactly as a
   real source is (core.sources.create_source); the codenames are returned so a developer can
   log in as them. The others get a random source id and wrap key that are thrown away at once:
   nobody can ever log in as them, which is all a seeded source needs.
   Their reply keys are made by devtools.batch.create_reply_keys: many keys per gpg run instead
   of one gpg run (and one agent) per key, which was most of the time at 10,000 sources.
2. Every message, file (gzip-wrapped, as the source interface stores it) and receipt of the
   batch is encrypted to the submission key by ONE `gpg --multifile` run per worker
   (devtools.batch.encrypt_files); each source's two replies by one run to its reply key and the
   submission key.
3. Ciphertext goes through the store under pending names (fsync, atomic link), the rows are
   inserted in bulk and committed, then the files get their final names (invariant 6: a crash
   in between leaves nothing that survives the next start).

The plaintexts are random test data written only to the RAM-backed dir for the moment gpg
reads them.
"""

import contextlib
import gzip
import hashlib
import io
import os
import random
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core.designation import draw_designation
from core.instance import Instance
from core.models import Reply, SeenReply, SeenSubmission, Source, Submission
from core.sources import create_source
from core.staff_accounts import create_journalist, find_journalist
from core.store import PendingFile
from crypto.codename import generate_codename
from crypto.errors import GpgFailed
from crypto.kdf import KdfParams
from crypto.reply_key import ReplyKey
from crypto.types import Fingerprint
from devtools.batch import create_reply_keys, encrypt_files
from devtools.errors import DevDataRefused, GpgBatchFailed
from formats.receipt import Receipt, encode_receipt

# SecureDrop's public development credentials: clients' test suites log in with exactly these.
# Never usable on a production instance (seed_dev_data refuses one).
DEV_PASSPHRASE = "correct horse battery staple profanity oil chewy"  # noqa: S105 (public)
DEV_OTP_SECRET = "JHCOGO7VCER3EJ4L"  # noqa: S105 (public)


@dataclass(frozen=True)
class DevAccount:
    username: str
    is_admin: bool
    first_name: str | None = None
    last_name: str | None = None


DEV_ACCOUNTS = (
    DevAccount("journalist", is_admin=True),
    DevAccount("dellsberg", is_admin=False, first_name="Daniel", last_name="Ellsberg"),
)
MESSAGES_PER_SOURCE = 2
FILES_PER_SOURCE = 2
REPLIES_PER_SOURCE = 2
# Sources per gpg --multifile run and per database transaction.
BATCH_SOURCES = 250
WRAP_KEY_BYTES = 32
MESSAGE_WORDS = (
    "the",
    "guard",
    "said",
    "we",
    "were",
    "held",
    "in",
    "a",
    "cell",
    "for",
    "three",
    "days",
    "without",
    "water",
    "photo",
    "attached",
    "shows",
    "bruises",
    "after",
    "the",
    "march",
    "names",
    "of",
    "officers",
    "are",
    "in",
    "the",
    "second",
    "file",
    "please",
    "reply",
)


@dataclass
class DevDataSummary:
    sources: int = 0
    submissions: int = 0
    replies: int = 0
    unread: int = 0
    # Codenames of the sources created like real ones: log in as them on the source interface.
    codenames: list[str] = field(default_factory=list)
    accounts_created: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SizeRange:
    smallest: int
    largest: int

    def draw(self, rng: random.Random) -> int:
        return rng.randint(self.smallest, self.largest)


@dataclass(frozen=True)
class ContentSizes:
    """Plaintext sizes in bytes; ciphertext is a little larger."""

    message: SizeRange = SizeRange(40, 4000)
    file: SizeRange = SizeRange(512, 32 * 1024)
    reply: SizeRange = SizeRange(40, 2000)


@dataclass
class _PlannedSource:
    id: int
    uuid: str
    filesystem_id: str
    designation: str
    reply_key_public: str
    next_number: int


def seed_dev_data(
    instance: Instance,
    *,
    sources: int = 5,
    login_sources: int = 2,
    sizes: ContentSizes | None = None,
    seed: int | None = None,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> DevDataSummary:
    """Add the development accounts (if missing) and `sources` new sources with content."""
    if not instance.settings.dev_mode:
        raise DevDataRefused(
            f"{instance.settings.data_dir} is not a development instance: dev-data creates "
            "accounts with a publicly known passphrase and TOTP secret. Create a development "
            "instance with `skrynka dev-data --data-dir NEW_DIR` (or `skrynka demo`)."
        )
    if sources < 0:
        raise ValueError("sources must be 0 or more")
    rng = random.Random(seed)
    sizes = sizes or ContentSizes()
    summary = DevDataSummary()
    with instance.sessions() as db:
        summary.accounts_created = ensure_dev_accounts(db, instance.settings.kdf)
        db.commit()
        authors = [j for j in (find_journalist(db, a.username) for a in DEV_ACCOUNTS) if j]
        author_ids = [j.id for j in authors]
    reader_id = author_ids[0]
    done = 0
    logins = min(login_sources, sources)
    with tempfile.TemporaryDirectory(
        prefix="skrynka-devdata-", dir=instance.settings.ram_dir
    ) as ram:
        work = Path(ram)
        while done < sources:
            count = min(BATCH_SOURCES, sources - done)
            with_codename = max(0, min(count, logins - done))
            planned, codenames = _create_sources(instance, count, with_codename, rng, workers)
            summary.codenames += codenames
            _fill_sources(
                instance, planned, rng, sizes, work, author_ids, reader_id, summary, workers
            )
            done += count
            summary.sources += count
            if progress is not None:
                progress(done, sources)
    return summary


def ensure_dev_accounts(db: Session, kdf: KdfParams) -> list[str]:
    """Create the development accounts that do not exist yet; return their usernames."""
    created = []
    for account in DEV_ACCOUNTS:
        if find_journalist(db, account.username) is not None:
            continue
        create_journalist(
            db,
            username=account.username,
            first_name=account.first_name,
            last_name=account.last_name,
            is_admin=account.is_admin,
            passphrase=DEV_PASSPHRASE,
            otp_secret=DEV_OTP_SECRET,
            kdf=kdf,
        )
        created.append(account.username)
    return created


# --- sources ---


def _create_sources(
    instance: Instance, count: int, with_codename: int, rng: random.Random, workers: int
) -> tuple[list[_PlannedSource], list[str]]:
    codenames: list[str] = []
    ids: list[int] = []
    for _ in range(with_codename):
        codename = generate_codename()
        login = create_source(instance, codename)
        codenames.append(str(codename))
        ids.append(login.id)
    bulk = count - with_codename
    ram_dir = instance.settings.ram_dir
    keys: list[ReplyKey] = []
    if bulk:
        # Wrap keys nobody keeps: a seeded source has no codename, so it can never log in.
        with _gpg_errors():
            keys = create_reply_keys(
                [os.urandom(WRAP_KEY_BYTES) for _ in range(bulk)], ram_dir, workers=workers
            )
    with instance.sessions() as db:
        taken = set(db.scalars(select(Source.journalist_designation)))
        rows = []
        for key in keys:
            designation = _fresh_designation(taken, rng)
            rows.append(
                {
                    "uuid": str(uuid.uuid4()),
                    "filesystem_id": os.urandom(32).hex(),
                    "journalist_designation": designation,
                    "is_starred": False,
                    "pending": True,
                    "interaction_count": 0,
                    "reply_key_fingerprint": key.fingerprint,
                    "reply_key_public": key.public_armored,
                    "reply_key_wrapped": key.wrapped_secret,
                }
            )
        if rows:
            inserted = db.execute(insert(Source).returning(Source.id), rows).scalars().all()
            ids += list(inserted)
        db.commit()
        planned = [
            _PlannedSource(
                id=row.id,
                uuid=row.uuid,
                filesystem_id=row.filesystem_id,
                designation=row.journalist_designation,
                reply_key_public=row.reply_key_public,
                next_number=row.interaction_count + 1,
            )
            for row in db.execute(
                select(
                    Source.id,
                    Source.uuid,
                    Source.filesystem_id,
                    Source.journalist_designation,
                    Source.reply_key_public,
                    Source.interaction_count,
                ).where(Source.id.in_(ids))
            )
        ]
    return planned, codenames


def _fresh_designation(taken: set[str], rng: random.Random) -> str:
    for _ in range(1000):
        designation = draw_designation(rng.choice)
        if designation not in taken:
            taken.add(designation)
            return designation
    raise DevDataRefused(
        "No unused journalist designation is left for more sources; seed fewer sources."
    )


# --- content ---


@dataclass
class _Item:
    """One file gpg encrypts: the plaintext path and where its ciphertext goes."""

    source: _PlannedSource
    kind: str  # message, file, receipt or reply
    number: int
    plaintext: Path
    uuid: str = ""
    receipt_of: "_Item | None" = None

    @property
    def ciphertext(self) -> Path:
        return self.plaintext.with_name(self.plaintext.name + ".gpg")

    @property
    def filename(self) -> str:
        suffix = {"message": "msg", "file": "doc.gz", "receipt": "receipt", "reply": "reply"}
        designation_file = self.source.designation.lower().replace(" ", "_")
        return f"{self.number}-{designation_file}-{suffix[self.kind]}.gpg"


def _random_message(rng: random.Random, size: int) -> bytes:
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(MESSAGE_WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size].encode("utf-8")


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _plan_content(
    planned: Sequence[_PlannedSource],
    rng: random.Random,
    sizes: ContentSizes,
    work: Path,
    now: datetime,
) -> tuple[list[_Item], dict[int, list[_Item]]]:
    """Write every plaintext of the batch; return the submission-key items and the replies."""
    to_submission_key: list[_Item] = []
    replies: dict[int, list[_Item]] = {}
    for source in planned:
        number = source.next_number
        # A conversation: message, file, reply, message, file, reply.
        for round_index in range(max(MESSAGES_PER_SOURCE, FILES_PER_SOURCE, REPLIES_PER_SOURCE)):
            kinds = []
            if round_index < MESSAGES_PER_SOURCE:
                kinds.append("message")
            if round_index < FILES_PER_SOURCE:
                kinds.append("file")
            if round_index < REPLIES_PER_SOURCE:
                kinds.append("reply")
            for kind in kinds:
                path = work / f"{source.id}-{number}-{kind}"
                item = _Item(source, kind, number, path, uuid=str(uuid.uuid4()))
                if kind == "reply":
                    text = _random_message(rng, sizes.reply.draw(rng))
                    _write_private(path, b"Reply from the development data: " + text)
                    replies.setdefault(source.id, []).append(item)
                    number += 1
                    continue
                if kind == "message":
                    plaintext = _random_message(rng, sizes.message.draw(rng))
                    stored = plaintext
                    original_name = None
                else:
                    plaintext = rng.randbytes(sizes.file.draw(rng))
                    original_name = f"evidence-{number}.bin"
                    stored = _gzip(plaintext, original_name)
                _write_private(path, stored)
                receipt = _Item(source, "receipt", number, work / f"{path.name}-receipt")
                receipt.receipt_of = item
                _write_private(
                    receipt.plaintext,
                    encode_receipt(
                        Receipt(
                            submission_uuid=item.uuid,
                            kind=kind,
                            original_name=original_name,
                            size=len(plaintext),
                            sha256=hashlib.sha256(plaintext).hexdigest(),
                            sha512=hashlib.sha512(plaintext).hexdigest(),
                            received_at=now,
                        )
                    ),
                )
                to_submission_key += [item, receipt]
                number += 1
    return to_submission_key, replies


def _gzip(data: bytes, name: str) -> bytes:
    # Stored (level 0) with the name in the header, as the source interface writes doc.gz.
    buffer = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=buffer, compresslevel=0, mtime=0) as gz:
        gz.write(data)
    return buffer.getvalue()


@contextlib.contextmanager
def _gpg_errors() -> Iterator[None]:
    try:
        yield
    except GpgFailed as exc:
        raise GpgBatchFailed(
            f"gpg failed while creating development data: {exc}; run `skrynka check`."
        ) from exc


def _encrypt_to_submission_key(instance: Instance, items: Sequence[_Item], workers: int) -> None:
    fingerprint = Fingerprint(instance.submission_fingerprint)
    chunks = [list(items[i :: max(1, workers)]) for i in range(max(1, workers))]

    def encrypt(chunk: list[_Item]) -> None:
        encrypt_files(
            instance.settings.gnupg_home, [fingerprint], [item.plaintext for item in chunk]
        )

    with _gpg_errors(), ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(encrypt, [chunk for chunk in chunks if chunk]))


def _encrypt_replies(
    instance: Instance, replies: dict[int, list[_Item]], work: Path, workers: int
) -> None:
    fingerprint = Fingerprint(instance.submission_fingerprint)

    def encrypt(items: list[_Item]) -> None:
        source = items[0].source
        key_file = work / f"{source.id}-reply-key.asc"
        _write_private(key_file, source.reply_key_public.encode("ascii"))
        try:
            encrypt_files(
                instance.settings.gnupg_home,
                [fingerprint],
                [item.plaintext for item in items],
                recipient_key_files=[key_file],
            )
        finally:
            key_file.unlink(missing_ok=True)

    with _gpg_errors(), ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(encrypt, replies.values()))


def _store(instance: Instance, item: _Item) -> tuple[PendingFile, int, str]:
    """Link one ciphertext into the store under a pending name; return it, its size, SHA-256."""
    data = item.ciphertext.read_bytes()
    temp = instance.store.temp_path()
    try:
        with temp.open("wb") as handle:
            handle.write(data)
        pending = instance.store.commit(temp, item.source.filesystem_id, item.filename)
    finally:
        temp.unlink(missing_ok=True)
        item.plaintext.unlink(missing_ok=True)
        item.ciphertext.unlink(missing_ok=True)
    return pending, len(data), hashlib.sha256(data).hexdigest()


def _fill_sources(
    instance: Instance,
    planned: Sequence[_PlannedSource],
    rng: random.Random,
    sizes: ContentSizes,
    work: Path,
    author_ids: Sequence[int],
    reader_id: int,
    summary: DevDataSummary,
    workers: int,
) -> None:
    now = datetime.now(UTC)
    submission_items, reply_items = _plan_content(planned, rng, sizes, work, now)
    _encrypt_to_submission_key(instance, submission_items, workers)
    _encrypt_replies(instance, reply_items, work, workers)

    everything = [*submission_items, *(i for items in reply_items.values() for i in items)]
    stored: dict[int, tuple[int, str]] = {}
    pending: list[PendingFile] = []
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for item, (linked, size, sha) in zip(
                everything, pool.map(lambda i: _store(instance, i), everything), strict=True
            ):
                pending.append(linked)
                stored[id(item)] = (size, sha)
        _insert_rows(
            instance,
            planned,
            submission_items,
            reply_items,
            stored,
            author_ids,
            reader_id,
            summary,
            rng,
            now,
        )
    except BaseException:
        for linked in pending:
            instance.store.discard(linked)
        raise
    # The rows are committed: give the files their final names.
    for linked in pending:
        instance.store.finalize(linked)


def _insert_rows(
    instance: Instance,
    planned: Sequence[_PlannedSource],
    submission_items: Sequence[_Item],
    reply_items: dict[int, list[_Item]],
    stored: dict[int, tuple[int, str]],
    author_ids: Sequence[int],
    reader_id: int,
    summary: DevDataSummary,
    rng: random.Random,
    now: datetime,
) -> None:

    receipts = {id(i.receipt_of): i for i in submission_items if i.receipt_of is not None}
    submission_rows = []
    for item in (i for i in submission_items if i.kind != "receipt"):
        size, sha = stored[id(item)]
        receipt = receipts[id(item)]
        receipt_size, receipt_sha = stored[id(receipt)]
        submission_rows.append(
            {
                "uuid": item.uuid,
                "source_id": item.source.id,
                "kind": item.kind,
                "filename": item.filename,
                "size": size,
                "sha256": sha,
                "receipt_filename": receipt.filename,
                "receipt_size": receipt_size,
                "receipt_sha256": receipt_sha,
                "created_at": now - timedelta(minutes=60 - item.number),
                "downloaded": False,
            }
        )
    reply_rows = []
    for index, items in enumerate(reply_items.values()):
        for item in items:
            size, sha = stored[id(item)]
            reply_rows.append(
                {
                    "uuid": item.uuid,
                    "source_id": item.source.id,
                    "journalist_id": author_ids[(index + item.number) % len(author_ids)],
                    "filename": item.filename,
                    "size": size,
                    "sha256": sha,
                    "created_at": now - timedelta(minutes=60 - item.number),
                    "deleted_by_source": False,
                }
            )
    with instance.sessions() as db:
        submission_ids = (
            list(
                db.execute(
                    insert(Submission).returning(
                        Submission.id, Submission.source_id, Submission.filename
                    ),
                    submission_rows,
                )
            )
            if submission_rows
            else []
        )
        reply_ids = (
            list(db.execute(insert(Reply).returning(Reply.id, Reply.journalist_id), reply_rows))
            if reply_rows
            else []
        )
        # Everything is seen by the first account except the newest submission of every
        # second source: "a few submissions left unread", as SecureDrop's loader leaves them.
        newest: dict[int, tuple[int, int]] = {}
        for row in submission_ids:
            number = int(row.filename.split("-", 1)[0])
            if row.source_id not in newest or number > newest[row.source_id][0]:
                newest[row.source_id] = (number, row.id)
        order = {source.id: index for index, source in enumerate(planned)}
        unread = {
            submission_id
            for source_id, (_, submission_id) in newest.items()
            if order[source_id] % 2 == 0
        }
        seen_rows = [
            {"submission_id": row.id, "journalist_id": reader_id}
            for row in submission_ids
            if row.id not in unread
        ]
        if seen_rows:
            db.execute(insert(SeenSubmission), seen_rows)
        reply_seen = [{"reply_id": row.id, "journalist_id": row.journalist_id} for row in reply_ids]
        if reply_seen:
            db.execute(insert(SeenReply), reply_seen)
        per_source = REPLIES_PER_SOURCE + MESSAGES_PER_SOURCE + FILES_PER_SOURCE
        for source in planned:
            db.execute(
                update(Source)
                .where(Source.id == source.id)
                .values(
                    pending=False,
                    interaction_count=source.next_number - 1 + per_source,
                    last_updated=now - timedelta(seconds=rng.randint(0, 30 * 24 * 3600)),
                )
            )
        db.commit()
    summary.submissions += len(submission_rows)
    summary.replies += len(reply_rows)
    summary.unread += len(unread)
