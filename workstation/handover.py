"""Exporting a case as a handover package (docs/handover-format.md).

The flow: `export_case` decides which items of the case the sources' latest consent lets go to
the destination, lays out the payload (originals and working copies) and the tag files
(receipts, intake, consent, the custody extract and the signed statement), then has a child
process turn that into a BagIt bag and validate it (`workstation.bagging`). With a recipient key
the finished bag is tarred and encrypted to that key and only the `.tar.gpg` leaves the store.
The package carries its own export entries, so they are signed (`CustodyLog.prepare`) before
the statement, but they reach the custody log (`CustodyLog.commit`) only after the package is
complete under its final name; any failure before that removes the partial package and the log
never mentions it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import tarfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crypto.encryption import open_encryptor
from crypto.errors import CryptoError
from crypto.signing import Signer
from crypto.submission_key import import_submission_key
from workstation.assessment import assessment_history
from workstation.bagging import build_bag
from workstation.cases import Case
from workstation.catalogue import Item, consent_of, find_item
from workstation.consent import StoredConsent
from workstation.custody import CustodyLog, canonical_bytes
from workstation.errors import ExportError
from workstation.incident import ACTION as INCIDENT_ACTION
from workstation.incident import incidents_from
from workstation.metadata_record import latest_metadata_entry, record_path
from workstation.progress import ProgressFactory
from workstation.provenance import latest_provenance
from workstation.store import EvidenceStore, fsync_dir, remove_tree, utc_now
from workstation.timestamps import stamp_summary, tsa_roots_dir
from workstation.working_copy import list_working_copies, safe_file_name

STATEMENT_FORMAT = "skrynka-handover-statement"
STATEMENT_VERSION = 1
TAG_DIR = "skrynka"
DESTINATION_LABELS = {
    "platform": "this platform only (internal handover)",
    "un": "UN investigative bodies",
    "court": "national or international courts and prosecutors",
}
COPY_CHUNK = 1024 * 1024


# Why an item stays out of a package, in English with `%(name)s` slots: the package's signed
# statement and the command line say these; the desk has its own words for each code.
EXCLUSION_TEXTS = {
    "no_consent": "no consent record (treated as this platform only)",
    "consent_narrower": "latest consent (%(recorded_at)s) allows only: %(allowed)s",
    "no_submission": "no submission record",
    "deleted": "the item is no longer in the store (deleted)",
}


@dataclass(frozen=True)
class ExclusionCause:
    """One reason an item stays out: a code of `EXCLUSION_TEXTS` and its values."""

    code: str
    values: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        return EXCLUSION_TEXTS[self.code] % dict(self.values)


@dataclass(frozen=True)
class Exclusion:
    item_id: str
    name: str
    causes: tuple[ExclusionCause, ...]

    @property
    def reason(self) -> str:
        """The causes as one English sentence, as the package's statement records it."""
        return "; ".join(cause.text for cause in self.causes)


@dataclass
class ExportReport:
    package_id: str
    path: Path
    included: list[str] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)
    encrypted_to: str | None = None
    payload_bytes: int = 0


def consent_decision(store: EvidenceStore, item: Item, destination: str
                     ) -> tuple[list[StoredConsent], tuple[ExclusionCause, ...]]:
    """The latest consent records that cover `destination`, or why the item must stay (no
    causes when it may go)."""
    covering: list[StoredConsent] = []
    causes: list[ExclusionCause] = []
    for source_uuid in sorted({sub.source_uuid for sub in item.submissions}):
        record = consent_of(store, source_uuid)
        if record is None:
            causes.append(ExclusionCause("no_consent"))
        elif record.covers(destination):
            covering.append(record)
        else:
            allowed = ", ".join(sorted(record.destinations))
            causes.append(ExclusionCause("consent_narrower", (
                ("allowed", allowed), ("recorded_at", str(record.recorded_at)))))
    if covering:
        return covering, ()
    return [], tuple(causes) or (ExclusionCause("no_submission"),)


def copy_into(source: Path, target: Path, progress_update: Any) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as src, target.open("xb") as dst:
        while chunk := src.read(COPY_CHUNK):
            dst.write(chunk)
            progress_update(len(chunk))
    os.chmod(target, 0o644)


def write_tag(tag_root: Path, relative: str, value: Any) -> None:
    path = tag_root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(value, bytes):
        path.write_bytes(value)
    else:
        path.write_text(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                        encoding="utf-8")


def _item_tags(store: EvidenceStore, item: Item, records: list[StoredConsent],
               tag_root: Path) -> list[str]:
    """Write receipts, intake and consent of one item; return consent custody item names."""
    base = f"items/{item.item_id}"
    covering_sources = {record.source_uuid for record in records}
    write_tag(tag_root, f"{base}/item.json", {
        "id": item.item_id,
        "kind": item.kind,
        "original_name": item.original_name,
        "size": item.size,
        "sha256": item.sha256,
        "sha512": item.sha512,
        "submissions": [
            {"submission_uuid": sub.submission_uuid, "kind": sub.kind,
             "received_on": sub.received_on}
            for sub in item.submissions if sub.source_uuid in covering_sources
        ],
    })
    consent_items: list[str] = []
    for sub in item.submissions:
        if sub.source_uuid not in covering_sources:
            continue
        if sub.receipt is not None:
            write_tag(tag_root, f"{base}/receipts/{sub.submission_uuid}.json", sub.receipt)
        if sub.intake is not None:
            write_tag(tag_root, f"{base}/intake/{sub.submission_uuid}.json", sub.intake)
        kept = item.directory / "timestamps" / sub.submission_uuid
        for path in sorted(kept.iterdir()) if kept.is_dir() else []:
            # Token, root, path and encrypted receipt: checkable with openssl alone.
            write_tag(tag_root, f"{base}/timestamps/{sub.submission_uuid}/{path.name}",
                      path.read_bytes())
    for index, record in enumerate(records):
        write_tag(tag_root, f"{base}/consent/{index + 1}.json", record.summary())
        if record.origin.startswith("consent item "):
            consent_uuid = record.origin.removeprefix("consent item ")
            raw = (store.consent_dir / f"{consent_uuid}.json").read_bytes()
            write_tag(tag_root, f"{base}/consent/{consent_uuid}.record.json", raw)
            consent_items.append(f"consent:{consent_uuid}")
    for copy in list_working_copies(store, item.item_id):
        write_tag(tag_root, f"{base}/working-copies/{copy.copy_sha256}.json", copy.record)
    return consent_items


def _assessment_tag(item: Item, log_entries: list[dict[str, Any]], tag_root: Path) -> None:
    """The item's assessment history; each step names the custody entry that carries it."""
    history = assessment_history(log_entries, item.item_id)
    write_tag(tag_root, f"items/{item.item_id}/assessments.json", {
        "format": "skrynka-assessments",
        "version": 1,
        "item": item.item_id,
        "current": history[-1].effective_status if history else "unreviewed",
        "history": [assessment.summary() for assessment in history],
    })


def _metadata_tag(store: EvidenceStore, item: Item, log_entries: list[dict[str, Any]],
                  tag_root: Path) -> None:
    """The stored metadata record, byte for byte (its SHA-256 is in a `metadata` entry)."""
    entry = latest_metadata_entry(log_entries, item.item_id)
    path = record_path(store, item.item_id)
    if entry is not None and path.is_file():
        write_tag(tag_root, f"items/{item.item_id}/metadata.json", path.read_bytes())


def _provenance_tag(item: Item, log_entries: list[dict[str, Any]], tag_root: Path) -> None:
    """The latest content-credentials verdict, naming the custody entry that carries it."""
    provenance = latest_provenance(log_entries, item.item_id)
    if provenance is not None:
        write_tag(tag_root, f"items/{item.item_id}/provenance.json", {
            "format": "skrynka-provenance", "version": 1, **provenance.summary()})


def _incident_tags(log_entries: list[dict[str, Any]], exported: set[str],
                   tag_root: Path) -> set[str]:
    """One file per incident that holds an exported item, listing only exported items.

    Items left out for lack of consent are not named (not even by id): an incident must not
    tell the recipient what else the platform holds. Returns the ids of the incidents written.
    """
    written: set[str] = set()
    for incident in incidents_from(log_entries).values():
        shown = [item_id for item_id in incident.item_ids if item_id in exported]
        if not shown:
            continue
        own_entries = [step for step in incident.history if step.item is None]
        write_tag(tag_root, f"incidents/{incident.incident_id}.json", {
            "format": "skrynka-incident",
            "version": 1,
            **incident.summary(shown),
            "entries": [{"seq": step.seq, "hash": step.entry_hash, "change": step.change,
                         "actor": step.actor, "time": step.time} for step in own_entries],
        })
        written.add(incident.incident_id)
    return written


def _in_extract(entry: dict[str, Any], items: set[str], incidents: set[str]) -> bool:
    """An entry of an exported item or consent record, or an incident's own (item-less) one."""
    if entry.get("item") in items:
        return True
    return (entry.get("action") == INCIDENT_ACTION and entry.get("item") is None
            and (entry.get("details") or {}).get("incident") in incidents)


def export_case(
    store: EvidenceStore,
    case: Case,
    destination: str,
    out_dir: Path,
    custody: CustodyLog,
    signer: Signer,
    actor: str,
    progress_factory: ProgressFactory,
    recipient_key: Path | None = None,
) -> ExportReport:
    if destination not in DESTINATION_LABELS:
        raise ExportError(
            f"unknown destination {destination!r}; use one of {sorted(DESTINATION_LABELS)}"
        )
    if not out_dir.is_dir():
        raise ExportError(f"{out_dir} is not a directory; create it (e.g. on the handover medium)")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    package_id = str(uuid.uuid4())
    name = f"skrynka-{case.name}-{destination}-{stamp}"
    final = out_dir / (f"{name}.tar.gpg" if recipient_key else name)
    if final.exists():
        raise ExportError(f"{final} already exists; choose another --out or wait a second")
    recipient_armored = _read_recipient(recipient_key) if recipient_key else None
    report = ExportReport(package_id=package_id, path=final)
    items = [find_item(store, item_id) for item_id in case.items]
    decisions = [(item, *consent_decision(store, item, destination)) for item in items]
    for item, _records, causes in decisions:
        if causes:
            report.excluded.append(Exclusion(item.item_id, item.display_name, causes))
    included = [(item, records) for item, records, causes in decisions if not causes]
    total = sum(item.size + sum(c.record["size"] for c in list_working_copies(store, item.item_id))
                for item, _ in included)
    with store.staging_dir("export") as staging:
        # Without encryption the bag is built on the output medium itself (no second copy).
        bag_dir = staging / name if recipient_key else out_dir / f".{name}.partial"
        tag_root = staging / "tags" / TAG_DIR
        bag_dir.mkdir(mode=0o700)
        try:
            tag_root.mkdir(parents=True)
            progress = progress_factory(total, "export")
            statement_items: list[dict[str, Any]] = []
            consent_custody: list[str] = []
            log_entries = custody.entries()
            try:
                for item, records in included:
                    statement_items.append(
                        _lay_out_item(store, item, records, bag_dir, progress.update)
                    )
                    consent_custody += _item_tags(store, item, records, tag_root)
                    _assessment_tag(item, log_entries, tag_root)
                    _metadata_tag(store, item, log_entries, tag_root)
                    _provenance_tag(item, log_entries, tag_root)
                    report.included.append(item.item_id)
                    report.payload_bytes += int(statement_items[-1]["payload_bytes"])
            finally:
                progress.close()
            incidents = _incident_tags(log_entries, set(report.included), tag_root)
            readme = _write_readme(bag_dir, case, destination, len(included), len(report.excluded))
            # The export entries are signed now so the package can carry them, but they are
            # written to the log only once the package exists and validated (below).
            export_entries = custody.prepare(actor, [
                ("export", item.item_id, item.sha256, {
                    "package_id": package_id, "case": case.name,
                    "destination": destination, "package_name": name,
                })
                for item, _records in included
            ])
            wanted = set(report.included) | set(consent_custody)
            extract = [e for e in custody.entries() + export_entries
                       if _in_extract(e, wanted, incidents)]
            extract_bytes = b"".join(canonical_bytes(entry) + b"\n" for entry in extract)
            write_tag(tag_root, "custody.jsonl", extract_bytes)
            statement = {
                "format": STATEMENT_FORMAT,
                "version": STATEMENT_VERSION,
                "package_id": package_id,
                "package_name": name,
                "exported_at": utc_now(),
                "exported_by": actor,
                "case": case.name,
                "destination": destination,
                "destination_label": DESTINATION_LABELS[destination],
                "workstation_key_fingerprint": signer.fingerprint,
                "items": statement_items,
                "readme": readme,
                "excluded": [
                    {"id": e.item_id, "name": e.name, "reason": e.reason} for e in report.excluded
                ],
                "custody_extract": {
                    "path": f"{TAG_DIR}/custody.jsonl",
                    "entries": len(extract),
                    "sha256": hashlib.sha256(extract_bytes).hexdigest(),
                },
            }
            statement_bytes = json.dumps(
                statement, indent=2, sort_keys=True, ensure_ascii=False
            ).encode("utf-8") + b"\n"
            write_tag(tag_root, "statement.json", statement_bytes)
            write_tag(tag_root, "statement.json.sig",
                      base64.b64encode(signer.sign(statement_bytes)) + b"\n")
            write_tag(tag_root, "workstation.pub", base64.b64encode(signer.public_key) + b"\n")
            for root in sorted(tsa_roots_dir(store).glob("*.pem")):
                # The TSA roots this workstation trusted, for convenience: a recipient compares
                # their fingerprints with what each authority publishes before relying on them.
                write_tag(tag_root, f"tsa-roots/{root.name}", root.read_bytes())
            problem = build_bag(bag_dir, tag_root.parent, _bag_info(statement))
            if problem is not None:
                raise ExportError(f"the package did not validate after writing: {problem}")
            if recipient_armored is not None:
                report.encrypted_to = _encrypt_package(
                    store, bag_dir, name, recipient_armored, final
                )
            else:
                os.rename(bag_dir, final)
                fsync_dir(out_dir)
            custody.commit(export_entries)
        except BaseException as exc:
            # No export entry was written: take away whatever part of the package exists.
            if not recipient_key:
                remove_tree(bag_dir)
            _remove_package(final)
            if isinstance(exc, OSError):
                raise ExportError(
                    f"the package could not be written ({exc}); nothing was exported and the"
                    " custody log does not mention it. Check the free space and that --out is"
                    " writable, then export again"
                ) from exc
            raise
    return report


def _remove_package(path: Path) -> None:
    if path.is_dir():
        remove_tree(path)
    else:
        path.unlink(missing_ok=True)


def _lay_out_item(store: EvidenceStore, item: Item, records: list[StoredConsent],
                  bag_dir: Path, progress_update: Any) -> dict[str, Any]:
    name = safe_file_name(item)
    original_rel = f"originals/{item.item_id}/{name}"
    copy_into(item.content_path, bag_dir / original_rel, progress_update)
    payload = item.size
    copies = []
    for copy in list_working_copies(store, item.item_id):
        rel = f"working-copies/{item.item_id}/{copy.copy_sha256}/{copy.record['file_name']}"
        copy_into(copy.path, bag_dir / rel, progress_update)
        payload += int(copy.record["size"])
        copies.append({
            "path": f"data/{rel}",
            "sha256": copy.copy_sha256,
            "sha512": copy.record["copy_sha512"],
            "stripped": copy.record["stripped"],
            "method": copy.record["method"],
            "tool": f"mat2 {copy.record['tool_version']}",
        })
    return {
        "id": item.item_id,
        "kind": item.kind,
        "original_name": item.original_name,
        "path": f"data/{original_rel}",
        "size": item.size,
        "sha256": item.sha256,
        "sha512": item.sha512,
        "working_copies": copies,
        "consent": [
            {"destinations": sorted(r.destinations), "recorded_at": r.recorded_at,
             "origin": r.origin}
            for r in records
        ],
        "timestamps": stamp_summary(item.directory, TAG_DIR,
                                    {r.source_uuid for r in records}, item.submissions),
        "payload_bytes": payload,
    }


def _write_readme(bag_dir: Path, case: Case, destination: str, included: int,
                  excluded: int) -> dict[str, str]:
    """A plain-text guide as the first payload file (a bag needs at least one payload file)."""
    text = (
        f"Skrynka handover package: case {case.name}, for {DESTINATION_LABELS[destination]}.\n"
        f"{included} item(s) included, {excluded} left out because the source's consent does not\n"
        "cover this destination (listed in skrynka/statement.json).\n\n"
        "data/originals/<id>/        the originals as received, byte for byte (id = SHA-256)\n"
        "data/working-copies/<id>/   metadata-stripped copies made from them\n"
        "skrynka/statement.json      what was exported, by whom, when (signed: .sig)\n"
        "skrynka/custody.jsonl       custody log entries of these items (each signed)\n"
        "skrynka/items/<id>/         receipts, intake answers, consent, working-copy records,\n"
        "                            assessments (each step is a signed entry in custody.jsonl)\n"
        "skrynka/incidents/<id>.json incidents these items belong to (signed in custody.jsonl)\n"
        "skrynka/workstation.pub     the workstation's Ed25519 public key (base64)\n\n"
        "Check it with `skrynka-workstation verify PACKAGE` and compare the printed key\n"
        "fingerprint with the one the sender gave you by another channel.\n"
    ).encode()
    (bag_dir / "README.txt").write_bytes(text)
    return {
        "path": "data/README.txt",
        "sha256": hashlib.sha256(text).hexdigest(),
        "sha512": hashlib.sha512(text).hexdigest(),
    }


def _bag_info(statement: dict[str, Any]) -> dict[str, str]:
    return {
        "Source-Organization": "Skrynka evidence workstation",
        "External-Identifier": str(statement["package_id"]),
        "External-Description": (
            f"Case {statement['case']} for {statement['destination_label']}; "
            f"{len(statement['items'])} item(s), {len(statement['excluded'])} left out for lack"
            " of consent"
        ),
        "Skrynka-Destination": str(statement["destination"]),
        "Skrynka-Workstation-Key": str(statement["workstation_key_fingerprint"]),
    }


def _read_recipient(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ExportError(f"cannot read recipient key {path}: {exc.strerror}") from exc


def _encrypt_package(store: EvidenceStore, bag_dir: Path, name: str, armored: bytes,
                     final: Path) -> str:
    """Tar the bag and stream it into gpg for the recipient; return the recipient fingerprint."""
    home = bag_dir.parent / "recipient-gnupg"
    home.mkdir(mode=0o700)
    try:
        fingerprint = import_submission_key(home, armored)
    except CryptoError as exc:
        raise ExportError(f"the recipient key cannot be used: {exc}") from exc
    partial = final.with_name(f".{final.name}.partial")
    encryptor = open_encryptor(home, [fingerprint], partial)
    try:
        with tarfile.open(fileobj=encryptor, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            tar.add(bag_dir, arcname=name)
        encryptor.finish()
    except BaseException:
        encryptor.abort()
        partial.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(home, ignore_errors=True)
    os.rename(partial, final)
    return str(fingerprint)
