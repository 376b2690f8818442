"""Everything a person can do with the evidence store, for the command line and the desk alike.

`skrynka-workstation` (argparse) and the evidence desk (`workstation_app`, Flask) are two faces
of this one layer: they read what a person asked for, call one method here, and show the
outcome. Every method that acts on evidence takes the `actor` (the person's name) and leaves a
signed custody entry naming them; methods that only list do not. Writes run under the store's
lock; a rendition takes the lock itself only to put its result in place, so a slow conversion
does not block imports.

Lists come from the catalogue index (`workstation.catalogue_index`), which every import,
repair and deletion here keeps current; anything else reads the store, which stays the truth.
Failures are `WorkstationError`s with advice in their message; nothing here prints.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workstation.acknowledgement import AcknowledgementWritten, acknowledge_bundle
from workstation.assessment import (
    Assessment,
    assessment_history,
    confirm_assessment,
    record_assessment,
)
from workstation.cases import Case, CaseBook
from workstation.catalogue import Item, consent_records, find_item, list_items, load_item
from workstation.catalogue_index import (
    PAGE_SIZE,
    CatalogueIndex,
    ItemFilter,
    ItemPage,
    SourcePage,
    SourceRow,
    open_index,
    rebuild_index,
)
from workstation.consent import DESTINATIONS, StoredConsent, latest_consent
from workstation.custody import CustodyLog, Entry, verify_custody
from workstation.errors import (
    ExportError,
    ExportPreviewMismatch,
    ItemNotFound,
    SandboxUnavailable,
    SearchIndexError,
    WorkstationError,
)
from workstation.handover import (
    DESTINATION_LABELS,
    Exclusion,
    ExclusionCause,
    ExportReport,
    consent_decision,
    export_case,
)
from workstation.importer import ImportReport, import_bundle, recover_store
from workstation.incident import (
    Incident,
    IncidentFields,
    create_incident,
    edit_incident,
    find_incident,
    incidents_from,
    link_items,
    timeline_order,
    unlink_items,
)
from workstation.incident_proposal import REGION_NAMES, Proposal, propose_incident
from workstation.keys import load_workstation_signer
from workstation.metadata_record import (
    MetadataRecord,
    load_metadata,
    record_imported_metadata,
    record_metadata,
)
from workstation.metadata_record import record_path as metadata_record_path
from workstation.metadata_tool import MetadataTool
from workstation.perceptual_hash import (
    DISTANCE_THRESHOLD,
    VIDEO_DISTANCE_THRESHOLD,
    Match,
    PerceptualHash,
    clusters,
    hashes_of,
    record_imported_hashes,
    similar_to,
)
from workstation.progress import ProgressFactory, silent_progress
from workstation.provenance import (
    Provenance,
    latest_provenance,
    record_imported_provenance,
    record_provenance,
    sent_together,
)
from workstation.reconciliation import Gap, find_gaps
from workstation.rendition import (
    Rendition,
    find_rendition,
    remove_rendition,
    render_item,
)
from workstation.sandbox import Sandbox, SandboxLimits
from workstation.search_index import forget_item as forget_searchable_item
from workstation.search_index import index_items, sandbox_extractor, search
from workstation.search_index import rebuild_index as rebuild_search_index
from workstation.store import EvidenceStore, remove_tree
from workstation.timeline import TimelineEntry, build_timeline
from workstation.timestamps import stamp_summary
from workstation.working_copy import (
    WorkingCopy,
    list_working_copies,
    make_working_copy,
    safe_file_name,
)

MESSAGE_KINDS = ("message", "reply")
# A message longer than this is cut on screen (the original stays whole in the store).
MAX_MESSAGE_CHARS = 200_000
SEARCH_PAGE_SIZE = 20
# Deeper pages than this are not offered: a person narrows the query instead.
MAX_SEARCH_PAGES = 50


@dataclass(frozen=True)
class SimilarItem:
    """An item whose perceptual hash is within the threshold of another's, and how close."""

    item: Item
    distance: int
    media: str


@dataclass(frozen=True)
class ClusterMember:
    item: Item
    media: str
    sources: tuple[str, ...]
    cases: tuple[str, ...]


@dataclass(frozen=True)
class Cluster:
    """Items linked by near-duplicate matches (single linkage), with who sent each."""

    members: tuple[ClusterMember, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(sorted({name for member in self.members for name in member.sources}))


@dataclass(frozen=True)
class SearchResult:
    item: Item
    field: str
    snippet: str


@dataclass(frozen=True)
class SearchPage:
    """One page of search results; `snippet` marks the matched words with `markers`."""

    query: str
    results: tuple[SearchResult, ...]
    page: int
    page_size: int
    has_next: bool


@dataclass(frozen=True)
class SourceConsent:
    source_uuid: str
    designation: str
    latest: StoredConsent | None
    history: tuple[StoredConsent, ...]


@dataclass(frozen=True)
class ItemDetail:
    """One item as a person sees it: content, where it came from, consent, what was done."""

    item: Item
    text: str | None
    text_cut: bool
    consent: tuple[SourceConsent, ...]
    working_copies: tuple[WorkingCopy, ...]
    custody: tuple[Entry, ...]
    cases: tuple[str, ...]
    metadata: dict[str, Any] | None
    # Each submission's kept trusted-timestamp proof and its verdict (workstation.timestamps).
    timestamps: tuple[dict[str, Any], ...] = ()
    # Verification: every assessment (oldest first) with its confirmation; for files, the
    # signed embedded-metadata record (as `metadata_record.load_metadata` checks it), the
    # perceptual hash and the items within its threshold.
    assessments: tuple[Assessment, ...] = ()
    embedded_metadata: dict[str, Any] | None = None
    perceptual_hash: PerceptualHash | None = None
    similar: tuple[SimilarItem, ...] = ()
    # The latest content-credentials verdict (C2PA, ProofMode); None before it was checked.
    provenance: Provenance | None = None

    def as_json(self) -> dict[str, Any]:
        """The shape `skrynka-workstation show --json` prints."""
        item = self.item
        description: dict[str, Any] = {
            "id": item.item_id,
            "kind": item.kind,
            "name": item.original_name,
            "size": item.size,
            "received_on": [sub.received_on for sub in item.submissions],
            "first_imported_at": item.first_imported_at,
            "sha256": item.sha256,
            "sha512": item.sha512,
        }
        if self.text is not None:
            description["text"] = self.text
        elif self.metadata is not None:
            description["metadata"] = self.metadata
        description["submissions"] = [
            {
                "submission_uuid": sub.submission_uuid,
                "source": sub.source_designation,
                "received_on": sub.received_on,
                "receipt": sub.receipt,
                "intake": sub.intake,
            }
            for sub in item.submissions
        ]
        description["consent"] = {
            consent.source_uuid: {
                "latest": None if consent.latest is None else consent.latest.summary(),
                "history": [record.summary() for record in consent.history],
            }
            for consent in self.consent
        }
        description["working_copies"] = [copy.record for copy in self.working_copies]
        description["custody"] = list(self.custody)
        description["timestamps"] = list(self.timestamps)
        description["assessments"] = [a.summary() for a in self.assessments]
        if item.kind not in MESSAGE_KINDS:
            description["embedded_metadata"] = self.embedded_metadata
            description["provenance"] = (None if self.provenance is None
                                         else self.provenance.summary())
            description["perceptual_hash"] = (None if self.perceptual_hash is None
                                              else self.perceptual_hash.summary())
            description["similar_items"] = [
                {"id": s.item.item_id, "distance": s.distance, "name": s.item.original_name,
                 "media": s.media}
                for s in self.similar
            ]
        return description


@dataclass(frozen=True)
class SourceDetail:
    row: SourceRow
    consent: SourceConsent
    items: ItemPage


@dataclass(frozen=True)
class ExportPreview:
    """What an export would put in the package and what it would leave out, and why."""

    case: Case
    destination: str
    destination_label: str
    included: tuple[Item, ...]
    excluded: tuple[Exclusion, ...]

    @property
    def fingerprint(self) -> str:
        """Names this exact selection; an export asked for with it refuses a different one."""
        body = json.dumps(
            [self.case.name, self.destination, [i.item_id for i in self.included],
             [[e.item_id, e.reason] for e in self.excluded]],
            sort_keys=True,
        ).encode()
        return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class ImportOutcome:
    """An import and the steps that follow it for the new items, as a person is told of them.

    `sandbox_problem` says (with advice) why the steps that need the sandbox did not run; the
    import itself is complete whatever it says.
    """

    report: ImportReport
    metadata: tuple[MetadataRecord, ...] = ()
    hashes: tuple[PerceptualHash, ...] = ()
    # New image -> the items (old or new) that look like it.
    similar: dict[str, tuple[Match, ...]] = field(default_factory=dict)
    provenance: tuple[Provenance, ...] = ()
    search_notes: tuple[str, ...] = ()
    sandbox_problem: str | None = None


@dataclass(frozen=True)
class CustodyVerdict:
    entries: int
    gaps: tuple[Gap, ...]


class WorkstationService:
    """The actions on one evidence store; dependencies are passed in, nothing is global."""

    def __init__(
        self,
        store: EvidenceStore,
        *,
        progress: ProgressFactory = silent_progress,
        sandbox: Sandbox | None = None,
    ) -> None:
        self.store = store
        self.progress = progress
        self.sandbox = sandbox or Sandbox()

    # Plumbing ------------------------------------------------------------------------------
    def custody(self) -> CustodyLog:
        return CustodyLog(
            self.store.custody_log_path,
            self.store.custody_head_path,
            load_workstation_signer(self.store),
        )

    def index(self) -> CatalogueIndex:
        return open_index(self.store)

    def find(self, reference: str) -> Item:
        return find_item(self.store, reference)

    # Import --------------------------------------------------------------------------------
    def import_bundle(self, bundle_path: Path, actor: str) -> ImportOutcome:
        """Verify and import a bundle (e.g. from a USB stick), then, for the new items, read
        their embedded metadata, perceptual hash and content credentials (C2PA, ProofMode) in
        the sandbox (each a signed entry by `actor`) and index their text for search; the
        catalogue index learns every item."""
        if not bundle_path.is_file():
            raise WorkstationError(
                f"{bundle_path} is not a file; give the path of the skrynka-bundle-*.zip on the"
                " stick (check that the stick is mounted)"
            )
        custody = self.custody()
        with self.store.locked():
            report = import_bundle(self.store, bundle_path, custody, actor, self.progress)
            if report.warnings:
                # An interrupted import was finished or dropped first: the index may be behind
                # the store in ways this report does not list, so it is made afresh.
                rebuild_index(self.store)
            touched = [*report.imported, *report.already_present]
            if touched:
                self.index().record_items(load_item(self.store.original_dir(item_id))
                                          for item_id in touched)
            outcome = self._examine_imported(report, custody, actor)
        # After the import has committed and the lock is released: indexing may take minutes of
        # OCR, and its failure only leaves the index behind (`index rebuild` catches up).
        if not report.imported:
            # Nothing new: the index file is not even opened, so a repeated import changes
            # nothing in the store.
            return outcome
        extractor = sandbox_extractor(self.store, self.sandbox, SandboxLimits())
        notes = index_items(self.store, report.imported, extractor)
        return dataclasses.replace(outcome, search_notes=tuple(notes))

    def _examine_imported(self, report: ImportReport, custody: CustodyLog,
                          actor: str) -> ImportOutcome:
        """The steps after an import that leave signed entries (the caller holds the lock).
        Each item's entry is written on its own, so a crash keeps the ones before it."""
        try:
            metadata = record_imported_metadata(self.store, report.imported, self.sandbox,
                                                custody, actor)
            hashes = record_imported_hashes(self.store, report.imported, self.sandbox,
                                            custody, actor)
            provenance = record_imported_provenance(self.store, report.imported, self.sandbox,
                                                    custody, actor, self._items_of_source())
        except SandboxUnavailable as exc:
            return ImportOutcome(report, sandbox_problem=(
                f"imported, but no metadata was read: {exc}. Run `skrynka-workstation metadata"
                " ITEM` and `skrynka-workstation provenance ITEM` once the sandbox works"))
        known = hashes_of(custody.entries())
        similar = {perceptual.item_id: tuple(similar_to(perceptual.item_id, known))
                   for perceptual in hashes if perceptual.problem is None}
        return ImportOutcome(report, tuple(metadata), tuple(hashes), similar,
                             tuple(provenance))

    def check_provenance(self, reference: str, actor: str) -> Provenance:
        """Check a file's content credentials again (a new `provenance` entry by `actor`)."""
        item = self.find(reference)
        if item.kind != "file":
            raise WorkstationError(f"{item.item_id[:16]} is a {item.kind}; only files carry"
                                   " content credentials")
        custody = self.custody()
        with self.store.locked():
            return record_provenance(self.store, item, self.sandbox, custody, actor,
                                     sent_together(item, self._items_of_source()))

    def _items_of_source(self) -> Callable[[str], list[Item]]:
        """Every item of a source (from the index), each source read once per import."""
        index = self.index()
        cache: dict[str, list[Item]] = {}

        def items(source_uuid: str) -> list[Item]:
            if source_uuid not in cache:
                cache[source_uuid] = [load_item(self.store.original_dir(item_id))
                                      for item_id in index.item_ids_of_source(source_uuid)]
            return cache[source_uuid]

        return items

    def rebuild_index(self) -> int:
        with self.store.locked():
            return rebuild_index(self.store)

    def repair(self, actor: str) -> list[str]:
        custody = self.custody()
        with self.store.locked():
            verify_custody(self.store.custody_log_path, self.store.custody_head_path,
                           custody.signer.public_key)
            notes = recover_store(self.store, custody, actor)
            rebuild_index(self.store)
        return notes

    # Lists ---------------------------------------------------------------------------------
    def all_items(self) -> list[Item]:
        """Every item, read from the store itself (for a full listing or a JSON dump)."""
        return list_items(self.store)

    def list_items(self, wanted: ItemFilter | None = None, page: int = 1,
                   page_size: int = PAGE_SIZE) -> ItemPage:
        return self.index().list_items(wanted or ItemFilter(), page, page_size)

    def list_sources(self, page: int = 1, page_size: int = PAGE_SIZE) -> SourcePage:
        return self.index().list_sources(page, page_size)

    def source_detail(self, source_uuid: str, page: int = 1) -> SourceDetail:
        index = self.index()
        row = index.source(source_uuid)
        if row is None:
            raise WorkstationError(
                f"no source {source_uuid!r} in this store; the list of sources shows who sent"
                " what"
            )
        return SourceDetail(
            row=row,
            consent=self._source_consent(index, source_uuid, row.designation),
            items=index.list_items(ItemFilter(source_uuid=source_uuid), page),
        )

    def _source_consent(self, index: CatalogueIndex, source_uuid: str,
                        designation: str) -> SourceConsent:
        items = [load_item(self.store.original_dir(item_id))
                 for item_id in index.item_ids_of_source(source_uuid)
                 if (self.store.original_dir(item_id) / "item.json").is_file()]
        records = consent_records(self.store, source_uuid, items)
        ordered = tuple(sorted(records, key=lambda r: (r.recorded_at, r.origin)))
        return SourceConsent(source_uuid, designation, latest_consent(records), ordered)

    # One item ------------------------------------------------------------------------------
    def describe_item(self, reference: str, actor: str,
                      metadata_tool: MetadataTool | None = None) -> ItemDetail:
        """Everything about one item; recorded in custody as a view by `actor`."""
        item = self.find(reference)
        custody = self.custody()
        with self.store.locked():
            custody.append(actor, "view", item.item_id, item.sha256, {})
        text, cut = self.message_text(item)
        index = self.index()
        consent = tuple(
            self._source_consent(index, source_uuid, designation)
            for source_uuid, designation in sorted(
                {(sub.source_uuid, sub.source_designation) for sub in item.submissions}
            )
        )
        metadata = None
        if text is None and metadata_tool is not None:
            metadata = self._file_metadata(item, metadata_tool)
        entries = custody.entries()
        embedded = None
        perceptual = None
        similar: tuple[SimilarItem, ...] = ()
        provenance = None
        if item.kind not in MESSAGE_KINDS:
            embedded = load_metadata(self.store, item.item_id, entries)
            provenance = latest_provenance(entries, item.item_id)
            known = hashes_of(entries)
            perceptual = known.get(item.item_id)
            similar = tuple(
                SimilarItem(other, match.distance, known[match.item_id].media)
                for match in similar_to(item.item_id, known)
                if (other := self._existing(match.item_id)) is not None
            )
        return ItemDetail(
            item=item,
            text=text,
            text_cut=cut,
            consent=consent,
            working_copies=tuple(list_working_copies(self.store, item.item_id)),
            custody=tuple(custody.history_of(item.item_id)),
            cases=tuple(case.name for case in CaseBook(self.store).all()
                        if item.item_id in case.items),
            metadata=metadata,
            timestamps=tuple(stamp_summary(
                item.directory, "timestamps", {sub.source_uuid for sub in item.submissions},
                item.submissions)),
            assessments=tuple(assessment_history(entries, item.item_id)),
            embedded_metadata=embedded,
            perceptual_hash=perceptual,
            similar=similar,
            provenance=provenance,
        )

    def _existing(self, item_id: str) -> Item | None:
        """The item, or None if the store no longer holds it (the log may outlive it)."""
        directory = self.store.original_dir(item_id)
        return load_item(directory) if (directory / "item.json").is_file() else None

    def message_text(self, item: Item) -> tuple[str | None, bool]:
        """A message's text (decoded, never interpreted), and whether it was cut for display."""
        if item.kind not in MESSAGE_KINDS:
            return None, False
        with item.content_path.open("rb") as handle:
            data = handle.read(MAX_MESSAGE_CHARS * 4 + 1)
        text = data.decode("utf-8", "replace")
        cut = len(data) > MAX_MESSAGE_CHARS * 4 or len(text) > MAX_MESSAGE_CHARS
        return text[:MAX_MESSAGE_CHARS], cut

    def _file_metadata(self, item: Item, tool: MetadataTool) -> dict[str, Any]:
        # mat2 picks its parser by file name; a symlink with the original's name avoids copying.
        with self.store.staging_dir("show") as staging:
            link = staging / safe_file_name(item)
            link.symlink_to(item.content_path)
            report = tool.show(link)
        return {"reader": "mat2 --show", "supported": report.supported, "fields": report.fields,
                "note": report.note}

    def render(self, reference: str, actor: str) -> Rendition:
        """The safe rendition of an item, made once in the sandbox (a "render" entry by
        `actor`); `render_item` takes the store lock itself, only to store the result."""
        item = self.find(reference)
        return render_item(self.store, self.custody(), item.item_id, actor=actor)

    def find_rendition(self, item_id: str) -> Rendition | None:
        return find_rendition(self.store, item_id)

    def make_working_copy(self, reference: str, actor: str, tool: MetadataTool) -> WorkingCopy:
        item = self.find(reference)
        with self.store.locked():
            return make_working_copy(self.store, item, tool, self.custody(), actor)

    def delete_item(self, reference: str, reason: str, actor: str) -> Item:
        item = self.find(reference)
        if not reason.strip():
            raise WorkstationError("say why the item is deleted; the custody log keeps the reason")
        with self.store.locked():
            # Record first: a deletion that is logged but interrupted is visible; the reverse
            # is not.
            self.custody().append(actor, "delete", item.item_id, item.sha256,
                                  {"reason": reason})
            remove_tree(self.store.copies_dir / item.item_id)
            remove_rendition(self.store, item.item_id)
            remove_tree(item.directory)
            # What was read from the item goes with it: its embedded metadata (a GPS position,
            # a device serial) and its searchable text must not outlive the deletion.
            metadata_record_path(self.store, item.item_id).unlink(missing_ok=True)
            self.index().forget_item(item.item_id)
            try:
                forget_searchable_item(self.store, item.item_id)
            except SearchIndexError as exc:
                raise WorkstationError(
                    f"{item.item_id[:16]} is deleted, but the search index could not be"
                    f" updated ({exc}); run `skrynka-workstation index rebuild`"
                ) from exc
        return item

    # Verification ---------------------------------------------------------------------------
    def assess(self, reference: str, actor: str, status: str, grounds: dict[str, str],
               note: str) -> Entry:
        """Record an assessment (status, grounds by kind, note) as a signed entry by `actor`."""
        item = self.find(reference)
        with self.store.locked():
            return record_assessment(self.custody(), item, actor, status, grounds, note)

    def confirm(self, reference: str, actor: str) -> Entry:
        """Confirm the item's latest assessment; refused (nothing written) for its own author."""
        item = self.find(reference)
        with self.store.locked():
            return confirm_assessment(self.custody(), item, actor)

    def assessments(self, reference: str) -> list[Assessment]:
        item = self.find(reference)
        return assessment_history(self.custody().history_of(item.item_id), item.item_id)

    def record_metadata(self, reference: str, actor: str,
                        sandbox: Sandbox | None = None) -> MetadataRecord:
        """Read the original's embedded metadata again (exiftool in the sandbox), signed."""
        item = self.find(reference)
        if item.kind != "file":
            raise WorkstationError(f"{item.item_id[:16]} is a {item.kind}; only files carry"
                                   " embedded metadata")
        with self.store.locked():
            return record_metadata(self.store, item, sandbox or Sandbox(), self.custody(), actor)

    def perceptual_hashes(self) -> dict[str, PerceptualHash]:
        return hashes_of(self.custody().entries())

    def similar_clusters(self, threshold: int = DISTANCE_THRESHOLD,
                         video_threshold: int = VIDEO_DISTANCE_THRESHOLD) -> list[Cluster]:
        """Groups of near-duplicates across every source and case, largest first."""
        known = self.perceptual_hashes()
        case_of: dict[str, list[str]] = {}
        for case in self.cases():
            for item_id in case.items:
                case_of.setdefault(item_id, []).append(case.name)
        found = []
        for group in clusters(known, threshold, video_threshold):
            members = []
            for item_id in group:
                item = self._existing(item_id)
                if item is None:
                    continue
                members.append(ClusterMember(
                    item, known[item_id].media,
                    tuple(sorted({sub.source_designation for sub in item.submissions})),
                    tuple(case_of.get(item_id, ())),
                ))
            if len(members) > 1:
                found.append(Cluster(tuple(members)))
        return found

    # Search --------------------------------------------------------------------------------
    def search(self, query: str, page: int = 1, page_size: int = SEARCH_PAGE_SIZE,
               markers: tuple[str, str] = ("[", "]")) -> SearchPage:
        """One page of the items matching `query` (be, ru or en; Cyrillic and Latin spellings
        meet), best first; `SearchIndexError` for a query without words or a broken index."""
        page = max(1, min(page, MAX_SEARCH_PAGES))
        hits = search(self.store, query, limit=page * page_size + 1, markers=markers)
        results = []
        for hit in hits[(page - 1) * page_size:page * page_size]:
            item = self._existing(hit.item_id)
            if item is not None:
                results.append(SearchResult(item, hit.field, hit.snippet))
        return SearchPage(query, tuple(results), page, page_size,
                          has_next=len(hits) > page * page_size and page < MAX_SEARCH_PAGES)

    def rebuild_search_index(self, sandbox: Sandbox | None = None) -> list[str]:
        """Recreate the search index from the store; the notes name what was not indexed."""
        extractor = sandbox_extractor(self.store, sandbox or Sandbox(), SandboxLimits())
        return rebuild_search_index(self.store, extractor)

    # Cases ---------------------------------------------------------------------------------
    def cases(self) -> list[Case]:
        return CaseBook(self.store).all()

    def case(self, name: str) -> Case:
        return CaseBook(self.store).get(name)

    def create_case(self, name: str, actor: str) -> Case:
        book = CaseBook(self.store)
        with self.store.locked():
            case = book.create(name)
            self.custody().append(actor, "case", None, None,
                                  {"case": case.name, "change": "created"})
        return case

    def add_to_case(self, name: str, references: Sequence[str], actor: str) -> Case:
        if not references:
            raise WorkstationError("choose at least one item to add to the case")
        items = [self.find(reference) for reference in references]
        book = CaseBook(self.store)
        with self.store.locked():
            before = {item_id for case in book.all() if case.name == name
                      for item_id in case.items}
            case = book.add(name, [item.item_id for item in items])
            new = [item for item in items if item.item_id not in before]
            if new:
                self.custody().commit(self.custody().prepare(actor, [
                    ("case", item.item_id, item.sha256, {"case": case.name, "change": "added"})
                    for item in new
                ]))
        return case

    # Incidents -----------------------------------------------------------------------------
    # The custody log is the record (workstation.incident); each call replays it.
    def incidents(self) -> list[Incident]:
        """Every incident, in timeline order (by date, undated last)."""
        return timeline_order(incidents_from(self.custody().entries()).values())

    def incident(self, reference: str) -> Incident:
        return find_incident(incidents_from(self.custody().entries()), reference)

    def propose_incident(self, references: Sequence[str],
                         region_names: Mapping[str, str] = REGION_NAMES) -> Proposal:
        """Values proposed from the items' intake answers and metadata; records nothing."""
        items = [self.find(reference) for reference in references]
        return propose_incident(items, self.custody().entries(), region_names)

    def create_incident(self, fields: IncidentFields, references: Sequence[str],
                        actor: str) -> Incident:
        items = [self.find(reference) for reference in references]
        custody = self.custody()
        with self.store.locked():
            incident_id = create_incident(custody, actor, fields, items)
        return self.incident(incident_id)

    def edit_incident(self, reference: str, fields: IncidentFields,
                      actor: str) -> tuple[Incident, bool]:
        """The incident after the change, and whether anything changed (else nothing signed)."""
        custody = self.custody()
        with self.store.locked():
            current = find_incident(incidents_from(custody.entries()), reference)
            entry = edit_incident(custody, actor, current, fields)
        return self.incident(current.incident_id), entry is not None

    def link_to_incident(self, reference: str, item_references: Sequence[str],
                         actor: str) -> Incident:
        if not item_references:
            raise WorkstationError("choose at least one item to put into the incident")
        items = [self.find(item) for item in item_references]
        custody = self.custody()
        with self.store.locked():
            current = find_incident(incidents_from(custody.entries()), reference)
            link_items(custody, actor, current, items)
        return self.incident(current.incident_id)

    def unlink_from_incident(self, reference: str, item_references: Sequence[str],
                             reason: str, actor: str) -> Incident:
        if not item_references:
            raise WorkstationError("choose at least one item to take out of the incident")
        custody = self.custody()
        with self.store.locked():
            current = find_incident(incidents_from(custody.entries()), reference)
            items = [self._linked_item(current, item) for item in item_references]
            unlink_items(custody, actor, current, items, reason)
        return self.incident(current.incident_id)

    def _linked_item(self, incident: Incident, reference: str) -> Item:
        try:
            return self.find(reference)
        except ItemNotFound:
            # A deleted item can still be taken out of an incident by its full id.
            if reference in incident.item_ids:
                return Item(reference, "deleted", 0, reference, "", None, "",
                            self.store.original_dir(reference), ())
            raise

    def timeline(self) -> list[TimelineEntry]:
        entries = self.custody().entries()
        return build_timeline(incidents_from(entries).values(), self._item_or_none, entries)

    def incident_detail(self, reference: str) -> TimelineEntry:
        """One incident with its items described as the timeline describes them."""
        entries = self.custody().entries()
        incident = find_incident(incidents_from(entries), reference)
        [entry] = build_timeline([incident], self._item_or_none, entries)
        return entry

    def incident_choices(self, item_id: str) -> tuple[list[Incident], list[Incident]]:
        """The incidents an item is in, and those it could be added to (one read of the log)."""
        every = self.incidents()
        return ([i for i in every if item_id in i.item_ids],
                [i for i in every if item_id not in i.item_ids])

    def _item_or_none(self, item_id: str) -> Item | None:
        directory = self.store.original_dir(item_id)
        return load_item(directory) if (directory / "item.json").is_file() else None

    # Export --------------------------------------------------------------------------------
    def preview_export(self, case_name: str, destination: str) -> ExportPreview:
        if destination not in DESTINATIONS:
            raise ExportError(
                f"unknown destination {destination!r}; use one of {', '.join(DESTINATIONS)}"
            )
        case = self.case(case_name)
        included: list[Item] = []
        excluded: list[Exclusion] = []
        for item_id in case.items:
            try:
                item = self.find(item_id)
            except ItemNotFound:
                excluded.append(Exclusion(item_id, item_id[:12], (ExclusionCause("deleted"),)))
                continue
            _records, causes = consent_decision(self.store, item, destination)
            if causes:
                excluded.append(Exclusion(item.item_id, item.display_name, causes))
            else:
                included.append(item)
        return ExportPreview(case, destination, DESTINATION_LABELS[destination],
                             tuple(included), tuple(excluded))

    def export_case(self, case_name: str, destination: str, out_dir: Path, actor: str,
                    recipient_key: Path | None = None, expected: str | None = None
                    ) -> ExportReport:
        """Write the package; with `expected` (a preview's fingerprint) refuse any other one."""
        if expected is not None and self.preview_export(case_name, destination
                                                        ).fingerprint != expected:
            raise ExportPreviewMismatch()
        case = self.case(case_name)
        with self.store.locked():
            signer = load_workstation_signer(self.store)
            return export_case(self.store, case, destination, out_dir, self.custody(), signer,
                               actor, self.progress, recipient_key)

    def workstation_fingerprint(self) -> str:
        return load_workstation_signer(self.store).fingerprint

    # Acknowledgements to the server ----------------------------------------------------------
    def acknowledge_bundle(self, reference: str, out: Path, actor: str
                           ) -> AcknowledgementWritten:
        """Sign and write the acknowledgement of one imported bundle (an "acknowledge" entry
        by `actor`); the server deletes exactly the ciphertexts it names."""
        custody = self.custody()
        with self.store.locked():
            return acknowledge_bundle(self.store, reference, out, custody, custody.signer,
                                      actor)

    def workstation_public_key(self) -> bytes:
        """The 32 raw bytes the server pins (`skrynka workstation-key set`)."""
        return load_workstation_signer(self.store).public_key

    # Custody -------------------------------------------------------------------------------
    def custody_entries(self, item_reference: str | None = None) -> list[Entry]:
        entries = self.custody().entries()
        if item_reference:
            item_id = self.find(item_reference).item_id
            entries = [entry for entry in entries if entry.get("item") == item_id]
        return entries

    def verify_custody(self, actor: str) -> CustodyVerdict:
        """Check the chain, signatures and head, then that store and log agree; log the check."""
        custody = self.custody()
        with self.store.locked():
            count = verify_custody(self.store.custody_log_path, self.store.custody_head_path,
                                   custody.signer.public_key)
            custody.append(actor, "verify", None, None, {"entries": count})
            gaps = find_gaps(self.store, custody.entries())
        return CustodyVerdict(count, tuple(gaps))
