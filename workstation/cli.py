"""`skrynka-workstation`: the evidence officer's command on the air-gapped machine.

Everything here is the edge: parse arguments, open the store, call one function of the package,
print the outcome, and turn `WorkstationError`s into messages and exit codes. `main` catches
`WorkstationError` and its subclasses only (the exit code of each is in `EXIT_CODES`); the
package translates what it meets from crypto, gpg and the file system into those, so anything
else reaching here is a defect and keeps its traceback.
"""

from __future__ import annotations

import argparse
import errno
import getpass
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workstation.assessment import GROUNDS, STATUSES
from workstation.catalogue import Item
from workstation.consent import DESTINATIONS
from workstation.custody import CustodyLog
from workstation.errors import (
    AmbiguousItem,
    AssessmentRefused,
    BundleNotImported,
    BundleRejected,
    CaseError,
    CustodyBroken,
    EvidenceStoreError,
    FixityFailed,
    IncidentNotFound,
    IncidentRefused,
    ItemNotFound,
    KeySetupError,
    MetadataToolError,
    NoSpaceLeft,
    PackageInvalid,
    StampTokenRefused,
    WorkstationError,
)
from workstation.incident_commands import register_incident_commands
from workstation.keyring import import_secret_key, secret_key_fingerprints
from workstation.keys import (
    create_workstation_key,
    load_workstation_signer,
    pin_server_key,
    read_server_key_argument,
)
from workstation.metadata_tool import MetadataTool
from workstation.package import verify_package
from workstation.perceptual_hash import (
    DISTANCE_THRESHOLD,
    MIN_QUALITY,
    VIDEO,
    VIDEO_DISTANCE_THRESHOLD,
)
from workstation.progress import terminal_progress
from workstation.provenance import LABELS as PROVENANCE_LABELS
from workstation.sandbox import Sandbox
from workstation.service import WorkstationService
from workstation.store import (
    GNUPG_IN_STORE,
    GNUPG_OF_USER,
    EvidenceStore,
    StoreConfig,
    open_store,
    remove_tree,
    utc_now,
)
from workstation.terminal import escape_json_text, say, say_block
from workstation.timestamp_commands import register_timestamp_commands

STORE_ENV = "SKRYNKA_WORKSTATION_STORE"
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BUNDLE_REFUSED = 3
EXIT_VERIFICATION_FAILED = 4
EXIT_NOT_FOUND = 5
EXIT_STORE = 6
# The first matching class decides; order from specific to general.
EXIT_CODES: tuple[tuple[type[WorkstationError], int], ...] = (
    (BundleRejected, EXIT_BUNDLE_REFUSED),
    (CustodyBroken, EXIT_VERIFICATION_FAILED),
    (FixityFailed, EXIT_VERIFICATION_FAILED),
    (StampTokenRefused, EXIT_VERIFICATION_FAILED),
    (PackageInvalid, EXIT_VERIFICATION_FAILED),
    (ItemNotFound, EXIT_NOT_FOUND),
    (BundleNotImported, EXIT_NOT_FOUND),
    (AmbiguousItem, EXIT_NOT_FOUND),
    (CaseError, EXIT_NOT_FOUND),
    (IncidentNotFound, EXIT_NOT_FOUND),
    (IncidentRefused, EXIT_ERROR),
    (AssessmentRefused, EXIT_ERROR),
    (EvidenceStoreError, EXIT_STORE),
    (KeySetupError, EXIT_STORE),
    (WorkstationError, EXIT_ERROR),
)


class _Context:
    """What every store command needs, built from the arguments."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.store = open_store(_store_path(args))
        self.actor: str = args.actor or getpass.getuser()
        self.service = WorkstationService(self.store, progress=terminal_progress)

    def custody(self) -> CustodyLog:
        return CustodyLog(
            self.store.custody_log_path,
            self.store.custody_head_path,
            load_workstation_signer(self.store),
        )


def _store_path(args: argparse.Namespace) -> Path:
    value = getattr(args, "store", None) or os.environ.get(STORE_ENV)
    if not value:
        raise EvidenceStoreError(f"no evidence store given; pass --store DIR or set {STORE_ENV}")
    return Path(value)


def _print_json(value: Any) -> None:
    print(escape_json_text(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)))


# Commands ------------------------------------------------------------------------------------


def command_init(args: argparse.Namespace) -> int:
    store = EvidenceStore(_store_path(args))
    server_key = read_server_key_argument(args.server_key, args.server_fingerprint)
    if args.smartcard:
        home = Path(os.environ.get("GNUPGHOME") or Path.home() / ".gnupg")
        if not secret_key_fingerprints(home):
            raise KeySetupError(
                f"gpg in {home} knows no secret key or card; insert the card and run"
                " `gpg --card-status` once, then retry"
            )
    store.create_layout()
    try:
        if args.smartcard:
            mode = GNUPG_OF_USER
            fingerprints = secret_key_fingerprints(Path(os.environ.get("GNUPGHOME")
                                                        or Path.home() / ".gnupg"))
        else:
            mode = GNUPG_IN_STORE
            fingerprints = import_secret_key(store.store_gnupg_dir, Path(args.secret_key))
        server_fpr = pin_server_key(store, server_key)
        signer = create_workstation_key(store)
        store.write_config(StoreConfig(mode, server_fpr, signer.fingerprint, utc_now()))
    except BaseException:
        remove_tree(store.root)
        raise
    say(f"evidence store created in {store.root}")
    say(f"submission secret key(s): {', '.join(fingerprints)}"
          + (" (smartcard / your own gpg)" if args.smartcard else ""))
    say(f"pinned server signing key: {server_fpr}")
    say(f"workstation signing key:   {signer.fingerprint}")
    say("compare both fingerprints out of band and write down the workstation one:"
          " recipients of handover packages check it")
    return EXIT_OK


def command_import(args: argparse.Namespace) -> int:
    context = _Context(args)
    outcome = context.service.import_bundle(Path(args.bundle), context.actor)
    report = outcome.report
    if outcome.sandbox_problem is not None:
        say(f"store: {outcome.sandbox_problem}", err=True)
    for note in report.warnings:
        say(f"store: {note}")
    if report.already_imported:
        say(f"bundle {report.bundle_sha256[:16]} was imported before; nothing changed")
        return EXIT_OK
    say(f"bundle verified (manifest {report.bundle_sha256[:16]}): signature, ciphertext and"
          " plaintext hashes all match")
    for item_id in report.imported:
        say(f"  imported   {item_id}")
    for record in outcome.metadata:
        say(f"  metadata   {record.item_id[:16]} "
              + (record.problem or "read with exiftool in the sandbox; signed record stored"))
    for perceptual in outcome.hashes:
        if perceptual.problem:
            say(f"  pdq        {perceptual.item_id[:16]} {perceptual.problem}")
            continue
        matches = outcome.similar.get(perceptual.item_id, ())
        say(f"  pdq        {perceptual.item_id[:16]} quality {perceptual.quality}; "
              + (f"similar to {', '.join(m.item_id[:16] for m in matches)}" if matches
                 else "no similar item yet"))
    for checked in outcome.provenance:
        say(f"  provenance {checked.item_id[:16]} "
            + provenance_line("C2PA", checked.c2pa) + "; "
            + provenance_line("ProofMode", checked.proofmode))
    for item_id in report.already_present:
        say(f"  unchanged  {item_id} (already in the store)")
    for uuid in report.consent_records:
        say(f"  consent    record {uuid}")
    for uuid, verdict in sorted(report.timestamps.items()):
        say(f"  timestamp  {verdict:<11} submission {uuid}")
    for uuid, reason in report.unreadable:
        say(f"  UNREADABLE reply {uuid}: {reason}; not imported, recorded in the custody log")
    if not (report.imported or report.consent_records or report.unreadable):
        say("nothing new in this bundle; nothing changed")
    for note in outcome.search_notes:
        say(f"  search     {note}")
    return EXIT_OK


def _item_summary(item: Item) -> dict[str, Any]:
    return {
        "id": item.item_id,
        "kind": item.kind,
        "name": item.original_name,
        "size": item.size,
        "received_on": [sub.received_on for sub in item.submissions],
        "first_imported_at": item.first_imported_at,
    }


def command_list(args: argparse.Namespace) -> int:
    context = _Context(args)
    items = context.service.all_items()
    if args.json:
        _print_json([_item_summary(item) for item in items])
        return EXIT_OK
    if not items:
        say("the store holds no items yet; import a bundle first")
    for item in items:
        received = ",".join(sorted({sub.received_on for sub in item.submissions}))
        say(f"{item.item_id[:16]}  {item.kind:<7}  {item.size:>12}  {received}  "
              f"{item.display_name}")
    return EXIT_OK


def _print_embedded_metadata(record: dict[str, Any]) -> None:
    say()
    if record["status"] != "read":
        say(f"embedded metadata (exiftool): {record['problem']}")
        return
    say(f"embedded metadata (exiftool {record['tool_version']}, signed record"
        f" #{record['custody_seq']}):")
    for key, value in record["summary"].items():
        if value:
            say(f"  {key}: {json.dumps(value, ensure_ascii=False, sort_keys=True)}")


def provenance_line(name: str, verdict: dict[str, Any]) -> str:
    """One line per checker: its verdict, why, and who signed."""
    line = f"{name}: {PROVENANCE_LABELS.get(verdict.get('verdict', ''), '?')}"
    line += f" ({verdict.get('summary')})" if verdict.get("summary") else ""
    signer = verdict.get("signer") or {}
    if signer.get("subject"):
        line += f"; signer {signer['subject']}, issued by {signer.get('issuer') or '?'}"
    elif signer.get("fingerprint"):
        line += (f"; key {signer['fingerprint']}"
                 + (f" ({', '.join(signer.get('user_ids') or [])})"
                    if signer.get("user_ids") else ""))
    if verdict.get("codes"):
        line += f"; codes: {', '.join(verdict['codes'])}"
    if verdict.get("problem") and verdict.get("verdict") != "invalid":
        line += f"; {verdict['problem']}"
    return line


def _print_provenance(provenance: dict[str, Any] | None) -> None:
    say()
    if provenance is None:
        say("provenance: not checked yet (items imported before content credentials were"
            " checked)")
        return
    say(f"provenance (signed record #{provenance['custody_seq']}):")
    say("  " + provenance_line("C2PA", provenance["c2pa"]))
    say("  " + provenance_line("ProofMode", provenance["proofmode"]))


def _print_similar(perceptual: dict[str, Any], similar: list[dict[str, Any]]) -> None:
    say()
    if perceptual["problem"]:
        say(f"similar items: {perceptual['problem']}")
        return
    if perceptual["quality"] < MIN_QUALITY:
        say(f"similar items: not compared (PDQ quality {perceptual['quality']} is below"
            f" {MIN_QUALITY}: a nearly flat picture)")
        return
    if perceptual["media"] == VIDEO:
        say(f"similar items (PDQ of {len(perceptual['frames'])} sampled frames, at most"
            f" {VIDEO_DISTANCE_THRESHOLD} of 256 bits differ):" + ("" if similar else " none"))
    else:
        say(f"similar items (PDQ, at most {DISTANCE_THRESHOLD} of 256 bits differ;"
            f" {VIDEO_DISTANCE_THRESHOLD} with a video):"
            + ("" if similar else " none"))
    for match in similar:
        say(f"  {match['id'][:16]}  distance {match['distance']:>3}  {match['name'] or '-'}")


def _print_assessments(assessments: list[dict[str, Any]]) -> None:
    say()
    if not assessments:
        say("assessment: unreviewed (no assessment recorded)")
        return
    say(f"assessment: {assessments[-1]['effective_status']}")
    for assessment in assessments:
        say(f"  #{assessment['seq']} {assessment['time']} {assessment['actor']}:"
            f" {assessment['status']}")
        for kind in GROUNDS:
            if kind in assessment["grounds"]:
                say(f"    {kind} analysis: {assessment['grounds'][kind]}")
        if assessment["note"]:
            say(f"    note: {assessment['note']}")
        confirmed = assessment["confirmed_by"]
        if confirmed is not None:
            say(f"    confirmed #{confirmed['seq']} {confirmed['time']} by {confirmed['actor']}")


def command_show(args: argparse.Namespace) -> int:
    context = _Context(args)
    detail = context.service.describe_item(args.item, context.actor, MetadataTool(args.mat2))
    item = detail.item
    description = detail.as_json()
    if args.json:
        _print_json(description)
        return EXIT_OK
    say(f"item      {item.item_id}")
    say(f"kind      {item.kind}   size {item.size}   name {item.original_name or '-'}")
    say(f"sha512    {item.sha512}")
    if "text" in description:
        say()
        say("--- message (every line of it marked | ) ---")
        say_block(description["text"])
        say("--- end of message ---")
    else:
        meta = description["metadata"]
        say()
        say("file metadata (mat2 --show):"
              + ("" if meta["supported"] else f" {meta['note']}"))
        for key, value in sorted(meta["fields"].items()):
            say(f"  {key}: {value}")
    for sub in description["submissions"]:
        say()
        say(f"submission {sub['submission_uuid']} from {sub['source']}"
              f" received {sub['received_on']}")
        say("  receipt: " + json.dumps(sub["receipt"], ensure_ascii=False, sort_keys=True))
        if sub["intake"] is not None:
            say("  intake:  " + json.dumps(sub["intake"], ensure_ascii=False, sort_keys=True))
    for source, consent in description["consent"].items():
        latest = consent["latest"]
        allowed = "none recorded (this platform only)" if latest is None else ", ".join(
            latest["destinations"])
        say()
        say(f"consent of source {source[:12]}: {allowed}")
        for record in consent["history"]:
            problem = f"  PROBLEM: {record['problem']}" if record["problem"] else ""
            say(f"  {record['source_recorded_at']}  {','.join(record['destinations'])}"
                  f"  ({record['origin']}){problem}")
    for copy in description["working_copies"]:
        state = "stripped" if copy["stripped"] else "NOT STRIPPED"
        say()
        say(f"working copy {copy['copy_sha256'][:16]} {state} by {copy['method']};"
              f" removed: {', '.join(sorted(copy['removed'])) or 'nothing'}")
    for stamp in description["timestamps"]:
        times = ", ".join(t["gen_time"] for t in stamp["tokens"] if t.get("gen_time"))
        say()
        say(f"timestamp of submission {stamp['submission_uuid']}: {stamp['verdict']}"
            + (f" ({times})" if times else ""))
    if "embedded_metadata" in description:
        _print_embedded_metadata(description["embedded_metadata"])
        _print_provenance(description["provenance"])
    if description.get("perceptual_hash"):
        _print_similar(description["perceptual_hash"], description["similar_items"])
    _print_assessments(description["assessments"])
    say()
    say("custody:")
    for entry in description["custody"]:
        say(f"  #{entry['seq']} {entry['time']} {entry['actor']} {entry['action']}")
    return EXIT_OK


def _parse_grounds(values: list[str]) -> dict[str, str]:
    grounds: dict[str, str] = {}
    for value in values:
        kind, sep, text = value.partition("=")
        if not sep or kind not in GROUNDS:
            raise AssessmentRefused(
                f"--grounds takes KIND=TEXT with KIND one of {', '.join(GROUNDS)};"
                f" got {str(value[:60])!r}"
            )
        grounds[kind] = f"{grounds[kind]}\n{text}" if kind in grounds else text
    return grounds


def command_assess(args: argparse.Namespace) -> int:
    context = _Context(args)
    item = context.service.find(args.item)
    grounds = _parse_grounds(args.grounds)
    entry = context.service.assess(item.item_id, context.actor, args.status, grounds, args.note)
    say(f"assessment of {item.item_id[:16]} recorded as custody entry #{entry['seq']}:"
          f" {args.status} by {context.actor!s}")
    if args.status == "corroborated":
        say("  it counts as corroborated once a second person runs"
              f" `confirm {item.item_id[:16]} --actor THEIR-NAME`")
    return EXIT_OK


def command_confirm(args: argparse.Namespace) -> int:
    context = _Context(args)
    item = context.service.find(args.item)
    entry = context.service.confirm(item.item_id, context.actor)
    say(f"{context.actor!s} confirmed the assessment of {item.item_id[:16]}"
          f" ({entry['details']['status']}) as custody entry #{entry['seq']}")
    return EXIT_OK


def command_metadata(args: argparse.Namespace) -> int:
    context = _Context(args)
    item = context.service.find(args.item)
    record = context.service.record_metadata(item.item_id, context.actor, Sandbox())
    say(f"metadata of {item.item_id[:16]}: "
          + (str(record.problem) if record.problem else "read; signed record stored"))
    return EXIT_OK


def command_provenance(args: argparse.Namespace) -> int:
    context = _Context(args)
    checked = context.service.check_provenance(args.item, context.actor)
    say(f"provenance of {checked.item_id[:16]} (signed record #{checked.custody_seq}):")
    say("  " + provenance_line("C2PA", checked.c2pa))
    say("  " + provenance_line("ProofMode", checked.proofmode))
    return EXIT_OK


def command_similar(args: argparse.Namespace) -> int:
    context = _Context(args)
    groups = context.service.similar_clusters(args.threshold, args.video_threshold)
    if args.json:
        _print_json([[{"id": member.item.item_id, "media": member.media,
                       "cases": list(member.cases)} for member in group.members]
                     for group in groups])
        return EXIT_OK
    if not groups:
        say(f"no similar images or videos among {len(context.service.perceptual_hashes())}"
            f" hashed item(s) (threshold {args.threshold} of 256 bits between images,"
            f" {args.video_threshold} with a video)")
    for number, group in enumerate(groups, start=1):
        say(f"cluster {number}: {len(group.members)} items")
        for member in group.members:
            say(f"  {member.item.item_id[:16]}  {member.item.display_name!s}"
                  f"  sources: {', '.join(member.sources)!s}"
                  f"  cases: {', '.join(member.cases) or '-'!s}")
    return EXIT_OK


def command_working_copy(args: argparse.Namespace) -> int:
    context = _Context(args)
    item = context.service.find(args.item)
    copy = context.service.make_working_copy(item.item_id, context.actor, MetadataTool(args.mat2))
    record = copy.record
    say(f"working copy of {item.item_id}: {copy.path}")
    if copy.stripped:
        removed = ", ".join(sorted(record["removed"])) or "nothing (no metadata found)"
        say(f"  cleaned with mat2 {record['tool_version']}; removed: {removed}")
        if record["metadata_after"]:
            say(f"  mat2 still reports: {', '.join(sorted(record['metadata_after']))}")
    else:
        say(f"  NOT STRIPPED: {record['not_stripped_reason']}")
        say("  this is a byte copy flagged as such; clean it by hand before it leaves")
    return EXIT_OK


def command_render(args: argparse.Namespace) -> int:
    context = _Context(args)
    rendition = context.service.render(args.item, context.actor)
    say(f"rendition of {rendition.item_id} ({rendition.kind}), made {rendition.made_at}")
    if rendition.directory is not None:
        say(f"  in {rendition.directory}")
    for path in rendition.files:
        say(f"  {path.name}")
    if rendition.text is not None:
        say(f"  text: {len(rendition.text)} characters (skrynka-workstation show for the item)")
    if rendition.note:
        say(f"  note: {rendition.note}")
    say("  tools: " + ", ".join(f"{name} ({version})"
                                  for name, version in sorted(rendition.tools.items())))
    if rendition.refused:
        say("  NOT RENDERED: the file was refused (recorded in the custody log); do not open"
              " the original on this machine", err=True)
        return EXIT_ERROR
    return EXIT_OK


def command_case(args: argparse.Namespace) -> int:
    context = _Context(args)
    if args.case_command == "create":
        context.service.create_case(args.name, context.actor)
        say(f"case {args.name} created")
    elif args.case_command == "add":
        case = context.service.add_to_case(args.case, args.items, context.actor)
        say(f"case {case.name} now holds {len(case.items)} item(s)")
    else:
        cases = context.service.cases()
        if not cases:
            say("no cases yet; create one with `case create NAME`")
        for case in cases:
            say(f"{case.name}  created {case.created_at}  {len(case.items)} item(s)")
            for item_id in case.items:
                say(f"  {item_id}")
    return EXIT_OK


def command_export(args: argparse.Namespace) -> int:
    context = _Context(args)
    report = context.service.export_case(
        args.case, args.to, Path(args.out), context.actor,
        Path(args.recipient) if args.recipient else None,
    )
    fingerprint = context.service.workstation_fingerprint()
    say(f"package {report.path} ({report.package_id})")
    say(f"  {len(report.included)} item(s) exported for {args.to}; bag validated")
    for item_id in report.included:
        say(f"  included  {item_id}")
    for exclusion in report.excluded:
        say(f"  LEFT OUT  {exclusion.item_id} ({exclusion.name}): {exclusion.reason}")
    if report.encrypted_to:
        say(f"  encrypted to {report.encrypted_to}")
    say(f"  workstation key fingerprint: {fingerprint}")
    return EXIT_OK


def command_verify(args: argparse.Namespace) -> int:
    report = verify_package(Path(args.package))
    statement = report.statement
    say(f"package {statement['package_name']} verifies:")
    say("  bag valid (every SHA-256 and SHA-512 checked), statement signature good,"
          f" {report.custody_entries} custody entries signed and intact")
    say(f"  case {statement['case']} for {statement['destination_label']},"
          f" exported {statement['exported_at']} by {statement['exported_by']}")
    say(f"  {len(statement['items'])} item(s); {len(statement['excluded'])} left out")
    say(f"  workstation key fingerprint: {report.workstation_key_fingerprint}")
    say("  compare this fingerprint with the one the sender gave you by another channel")
    return EXIT_OK


def command_custody(args: argparse.Namespace) -> int:
    context = _Context(args)
    if args.custody_command == "verify":
        verdict = context.service.verify_custody(context.actor)
        count, gaps = verdict.entries, verdict.gaps
        say(f"custody log intact: {count} entries, chain and signatures verified")
        if gaps:
            say(f"custody log and store disagree ({len(gaps)}):", err=True)
            for gap in gaps:
                say(f"  {gap.describe()}", err=True)
            return EXIT_VERIFICATION_FAILED
        say("every item in the store has its import entry, and every import entry its item")
        return EXIT_OK
    if args.custody_command == "repair":
        notes = context.service.repair(context.actor)
        for note in notes:
            say(note)
        if not notes:
            say("nothing to repair: the store and the custody log agree")
        return EXIT_VERIFICATION_FAILED if any(n.startswith("NOT REPAIRED") for n in notes) \
            else EXIT_OK
    entries = context.service.custody_entries(args.item)
    for entry in entries:
        say(f"#{entry['seq']} {entry['time']} {entry['actor']} {entry['action']}"
              f" {entry['item'] or '-'}")
    return EXIT_OK


def command_acknowledge(args: argparse.Namespace) -> int:
    context = _Context(args)
    written = context.service.acknowledge_bundle(args.bundle, Path(args.out), context.actor)
    say(f"acknowledgement of bundle {written.bundle_manifest_sha256[:16]} written to"
        f" {written.path}: {written.items} item(s), signed by this workstation")
    say("upload it on the server's journalist interface (Acknowledgements) or the API; the"
        " server then deletes exactly these ciphertexts")
    return EXIT_OK


def command_public_key(args: argparse.Namespace) -> int:
    context = _Context(args)
    public_key = context.service.workstation_public_key()
    if args.out:
        try:
            with open(args.out, "x", encoding="ascii") as handle:
                handle.write(public_key.hex() + "\n")
        except FileExistsError as exc:
            raise WorkstationError(f"{args.out} exists already; choose another file name"
                                   ) from exc
        except OSError as exc:
            raise WorkstationError(f"cannot write {args.out} ({exc.strerror})") from exc
        say(f"workstation public key written to {args.out}")
    else:
        say(public_key.hex())
    say(f"fingerprint {context.service.workstation_fingerprint()}", err=True)
    return EXIT_OK


def command_delete(args: argparse.Namespace) -> int:
    context = _Context(args)
    item = context.service.find(args.item)
    if not args.yes:
        raise WorkstationError(
            f"deleting {item.item_id} removes the original and its working copies for good;"
            " repeat with --yes to confirm"
        )
    context.service.delete_item(item.item_id, args.reason, context.actor)
    say(f"deleted {item.item_id}; the custody log records why")
    return EXIT_OK


def command_catalogue(args: argparse.Namespace) -> int:
    context = _Context(args)
    count = context.service.rebuild_index()
    say(f"catalogue index rebuilt from the store: {count} item(s)")
    return EXIT_OK


def command_search(args: argparse.Namespace) -> int:
    context = _Context(args)
    found = context.service.search(args.query, page_size=args.limit)
    for hit in found.results:
        say(f"{hit.item.item_id}  [{hit.field}]  {hit.snippet}")
    if not found.results:
        say("no items match")
    return EXIT_OK


def command_index(args: argparse.Namespace) -> int:
    context = _Context(args)
    notes = context.service.rebuild_search_index(Sandbox())
    for note in notes:
        say(note)
    say(f"search index rebuilt from the store ({len(notes)} note(s))")
    return EXIT_OK


# Parser --------------------------------------------------------------------------------------

# A command added from outside this package (the desk lives in workstation_app, which may use
# Flask; this package may not): it gets the subcommands and the shared options, adds its parser
# and sets `handler`.
CommandExtension = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]",
                             argparse.ArgumentParser], None]


def build_parser(extensions: Sequence[CommandExtension] = ()) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", default=argparse.SUPPRESS,
                        help=f"evidence store directory (default: ${STORE_ENV})")
    common.add_argument("--actor", default=argparse.SUPPRESS,
                        help="who is acting, for the custody log (default: the OS user)")
    parser = argparse.ArgumentParser(
        prog="skrynka-workstation", parents=[common],
        description="Air-gapped evidence workstation: import, custody, working copies, handover.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", parents=[common], help="create an evidence store")
    keys = init.add_mutually_exclusive_group(required=True)
    keys.add_argument("--secret-key", help="exported submission secret key to import")
    keys.add_argument("--smartcard", action="store_true",
                      help="leave the secret key on an OpenPGP card used through your own gpg")
    init.add_argument("--server-key", required=True,
                      help="file with the server's Ed25519 signing public key")
    init.add_argument("--server-fingerprint",
                      help="expected SHA-256 fingerprint of that key, obtained out of band")
    init.set_defaults(handler=command_init)

    importing = commands.add_parser("import", parents=[common], help="import a transfer bundle")
    importing.add_argument("bundle")
    importing.set_defaults(handler=command_import)

    listing = commands.add_parser("list", parents=[common], help="list items")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=command_list)

    show = commands.add_parser("show", parents=[common], help="show one item (logged as a view)")
    show.add_argument("item")
    show.add_argument("--json", action="store_true")
    show.add_argument("--mat2", default="mat2", help=argparse.SUPPRESS)
    show.set_defaults(handler=command_show)

    metadata = commands.add_parser(
        "metadata", parents=[common],
        help="read an original's embedded metadata again with exiftool in the sandbox")
    metadata.add_argument("item")
    metadata.set_defaults(handler=command_metadata)

    provenance = commands.add_parser(
        "provenance", parents=[common],
        help="check an original's content credentials (C2PA, ProofMode) again in the sandbox")
    provenance.add_argument("item")
    provenance.set_defaults(handler=command_provenance)

    similar = commands.add_parser(
        "similar", parents=[common],
        help="list clusters of similar images (PDQ) across sources and cases")
    similar.add_argument("--video-threshold", type=int, default=VIDEO_DISTANCE_THRESHOLD,
                         help="bits of 256 that may differ when a video is compared (default:"
                         " %(default)s)")
    similar.add_argument("--threshold", type=int, default=DISTANCE_THRESHOLD,
                         help=f"most differing bits of 256 (default {DISTANCE_THRESHOLD})")
    similar.add_argument("--json", action="store_true")
    similar.set_defaults(handler=command_similar)

    copy = commands.add_parser("working-copy", parents=[common],
                               help="make a metadata-stripped working copy")
    copy.add_argument("item")
    copy.add_argument("--mat2", default="mat2", help=argparse.SUPPRESS)
    copy.set_defaults(handler=command_working_copy)

    render = commands.add_parser("render", parents=[common],
                                 help="make (once) the safe rendition of an item, in the sandbox")
    render.add_argument("item")
    render.set_defaults(handler=command_render)

    case = commands.add_parser("case", parents=[common], help="group items into cases")
    case_commands = case.add_subparsers(dest="case_command", required=True)
    create = case_commands.add_parser("create", parents=[common])
    create.add_argument("name")
    add = case_commands.add_parser("add", parents=[common])
    add.add_argument("case")
    add.add_argument("items", nargs="+")
    case_commands.add_parser("list", parents=[common])
    case.set_defaults(handler=command_case)

    export = commands.add_parser("export", parents=[common],
                                 help="export a case as a BagIt handover package")
    export.add_argument("--case", required=True)
    export.add_argument("--to", required=True, choices=DESTINATIONS)
    export.add_argument("--out", required=True, help="directory to write the package into")
    export.add_argument("--recipient",
                        help="recipient's OpenPGP public key (armored) to encrypt to")
    export.set_defaults(handler=command_export)

    verify = commands.add_parser("verify", parents=[common],
                                 help="verify a handover package (no store needed)")
    verify.add_argument("package")
    verify.set_defaults(handler=command_verify)

    custody = commands.add_parser("custody", parents=[common], help="the custody log")
    custody_commands = custody.add_subparsers(dest="custody_command", required=True)
    custody_commands.add_parser("verify", parents=[common])
    custody_commands.add_parser(
        "repair", parents=[common],
        help="finish interrupted imports and record items found without an import entry",
    )
    custody_show = custody_commands.add_parser("show", parents=[common])
    custody_show.add_argument("item", nargs="?")
    custody.set_defaults(handler=command_custody)

    searching = commands.add_parser("search", parents=[common],
                                    help="find items by words (be, ru, en; any script)")
    searching.add_argument("query")
    searching.add_argument("--limit", type=int, default=20)
    searching.set_defaults(handler=command_search)

    index = commands.add_parser("index", parents=[common], help="the derived search index")
    index_commands = index.add_subparsers(dest="index_command", required=True)
    index_commands.add_parser("rebuild", parents=[common],
                              help="recreate the search index from the store")
    index.set_defaults(handler=command_index)

    assess = commands.add_parser("assess", parents=[common],
                                 help="record an assessment of an item (a signed custody entry)")
    assess.add_argument("item")
    assess.add_argument("--status", required=True, choices=STATUSES)
    assess.add_argument("--grounds", action="append", default=[], metavar="KIND=TEXT",
                        help=f"grounds of the assessment; KIND is one of {', '.join(GROUNDS)}"
                        " (repeat for each)")
    assess.add_argument("--note", default="", help="free note")
    assess.set_defaults(handler=command_assess)

    confirm = commands.add_parser("confirm", parents=[common],
                                  help="confirm another person's latest assessment of an item")
    confirm.add_argument("item")
    confirm.set_defaults(handler=command_confirm)

    acknowledge = commands.add_parser(
        "acknowledge", parents=[common],
        help="write the signed acknowledgement of an imported bundle for the server",
    )
    acknowledge.add_argument("--bundle", required=True,
                             help="the bundle's manifest SHA-256 (at least 8 hex digits)")
    acknowledge.add_argument("--out", required=True, help="file to write (must not exist)")
    acknowledge.set_defaults(handler=command_acknowledge)

    public_key = commands.add_parser(
        "public-key", parents=[common],
        help="print (or write) this workstation's public key, for `skrynka workstation-key set`",
    )
    public_key.add_argument("--out", help="file to write (must not exist)")
    public_key.set_defaults(handler=command_public_key)

    delete = commands.add_parser("delete", parents=[common],
                                 help="delete an item (original and working copies)")
    delete.add_argument("item")
    delete.add_argument("--reason", required=True)
    delete.add_argument("--yes", action="store_true")
    delete.set_defaults(handler=command_delete)
    register_timestamp_commands(commands, common, _Context)
    register_incident_commands(commands, common, _Context)

    catalogue = commands.add_parser(
        "catalogue", parents=[common],
        help="the catalogue index lists use (derived from the store; rebuild it any time)",
    )
    catalogue_commands = catalogue.add_subparsers(dest="catalogue_command", required=True)
    catalogue_commands.add_parser("rebuild", parents=[common])
    catalogue.set_defaults(handler=command_catalogue)
    for extension in extensions:
        extension(commands, common)
    return parser


def main(argv: Sequence[str] | None = None,
         extensions: Sequence[CommandExtension] = ()) -> int:
    parser = build_parser(extensions)
    args = parser.parse_args(argv)
    if not hasattr(args, "actor"):
        args.actor = None
    try:
        result: int = args.handler(args)
        return result
    except MetadataToolError as exc:
        say(f"error: {exc}", err=True)
        return EXIT_ERROR
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # Each command cleans up what it wrote before the error reaches here.
        say(f"error: {NoSpaceLeft(str(exc.filename or _target_of(args)))}", err=True)
        return EXIT_ERROR
    except WorkstationError as exc:
        say(f"error: {exc}", err=True)
        for cls, code in EXIT_CODES:
            if isinstance(exc, cls):
                return code
        return EXIT_ERROR


def _target_of(args: argparse.Namespace) -> str:
    """Where a command writes: the export destination, else the evidence store."""
    return str(getattr(args, "out", None) or getattr(args, "store", None) or "the output")
