"""`skrynka-workstation`: the evidence officer's command on the air-gapped machine.

Everything here is the edge: parse arguments, open the store, call one function of the package,
print the outcome, and turn `WorkstationError`s into messages and exit codes. `main` catches
`WorkstationError` and its subclasses only (the exit code of each is in `EXIT_CODES`); the
package translates what it meets from crypto, gpg and the file system into those, so anything
else reaching here is a defect and keeps its traceback.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workstation.acknowledgement import acknowledge_bundle
from workstation.cases import CaseBook
from workstation.catalogue import Item, consent_records, find_item, list_items
from workstation.consent import DESTINATIONS, latest_consent
from workstation.custody import CustodyLog, verify_custody
from workstation.errors import (
    AmbiguousItem,
    BundleNotImported,
    BundleRejected,
    CaseError,
    CustodyBroken,
    EvidenceStoreError,
    ItemNotFound,
    KeySetupError,
    MetadataToolError,
    PackageInvalid,
    WorkstationError,
)
from workstation.handover import export_case
from workstation.importer import import_bundle, recover_store
from workstation.keyring import import_secret_key, secret_key_fingerprints
from workstation.keys import (
    create_workstation_key,
    load_workstation_signer,
    pin_server_key,
    read_server_key_argument,
)
from workstation.metadata_tool import MetadataTool
from workstation.package import verify_package
from workstation.progress import terminal_progress
from workstation.reconciliation import find_gaps
from workstation.rendition import remove_rendition, render_item
from workstation.store import (
    GNUPG_IN_STORE,
    GNUPG_OF_USER,
    EvidenceStore,
    StoreConfig,
    open_store,
    remove_tree,
    utc_now,
)
from workstation.working_copy import list_working_copies, make_working_copy, safe_file_name

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
    (PackageInvalid, EXIT_VERIFICATION_FAILED),
    (ItemNotFound, EXIT_NOT_FOUND),
    (BundleNotImported, EXIT_NOT_FOUND),
    (AmbiguousItem, EXIT_NOT_FOUND),
    (CaseError, EXIT_NOT_FOUND),
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
    print(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


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
    print(f"evidence store created in {store.root}")
    print(f"submission secret key(s): {', '.join(fingerprints)}"
          + (" (smartcard / your own gpg)" if args.smartcard else ""))
    print(f"pinned server signing key: {server_fpr}")
    print(f"workstation signing key:   {signer.fingerprint}")
    print("compare both fingerprints out of band and write down the workstation one:"
          " recipients of handover packages check it")
    return EXIT_OK


def command_import(args: argparse.Namespace) -> int:
    context = _Context(args)
    with context.store.locked():
        report = import_bundle(
            context.store, Path(args.bundle), context.custody(), context.actor, terminal_progress
        )
    for note in report.warnings:
        print(f"store: {note}")
    if report.already_imported:
        print(f"bundle {report.bundle_sha256[:16]} was imported before; nothing changed")
        return EXIT_OK
    print(f"bundle verified (manifest {report.bundle_sha256[:16]}): signature, ciphertext and"
          " plaintext hashes all match")
    for item_id in report.imported:
        print(f"  imported   {item_id}")
    for item_id in report.already_present:
        print(f"  unchanged  {item_id} (already in the store)")
    for uuid in report.consent_records:
        print(f"  consent    record {uuid}")
    if not (report.imported or report.consent_records):
        print("nothing new in this bundle; nothing changed")
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
    items = list_items(context.store)
    if args.json:
        _print_json([_item_summary(item) for item in items])
        return EXIT_OK
    if not items:
        print("the store holds no items yet; import a bundle first")
    for item in items:
        received = ",".join(sorted({sub.received_on for sub in item.submissions}))
        print(f"{item.item_id[:16]}  {item.kind:<7}  {item.size:>12}  {received}  "
              f"{item.display_name}")
    return EXIT_OK


def describe_item(context: _Context, item: Item, tool: MetadataTool) -> dict[str, Any]:
    description = _item_summary(item)
    description["sha256"] = item.sha256
    description["sha512"] = item.sha512
    if item.kind in ("message", "reply"):
        description["text"] = item.content_path.read_bytes().decode("utf-8", "replace")
    else:
        description["metadata"] = _file_metadata(context.store, item, tool)
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
    consent: dict[str, Any] = {}
    for source_uuid in sorted({sub.source_uuid for sub in item.submissions}):
        records = consent_records(context.store, source_uuid)
        latest = latest_consent(records)
        consent[source_uuid] = {
            "latest": None if latest is None else latest.summary(),
            "history": [record.summary() for record in records],
        }
    description["consent"] = consent
    description["working_copies"] = [copy.record for copy in list_working_copies(
        context.store, item.item_id)]
    description["custody"] = context.custody().history_of(item.item_id)
    return description


def _file_metadata(store: EvidenceStore, item: Item, tool: MetadataTool) -> dict[str, Any]:
    # mat2 picks its parser by file name; a symlink with the original's name avoids copying.
    with store.staging_dir("show") as staging:
        link = staging / safe_file_name(item)
        link.symlink_to(item.content_path)
        report = tool.show(link)
    return {"reader": "mat2 --show", "supported": report.supported, "fields": report.fields,
            "note": report.note}


def command_show(args: argparse.Namespace) -> int:
    context = _Context(args)
    item = find_item(context.store, args.item)
    tool = MetadataTool(args.mat2)
    with context.store.locked():
        context.custody().append(context.actor, "view", item.item_id, item.sha256, {})
        description = describe_item(context, item, tool)
    if args.json:
        _print_json(description)
        return EXIT_OK
    print(f"item      {item.item_id}")
    print(f"kind      {item.kind}   size {item.size}   name {item.original_name or '-'}")
    print(f"sha512    {item.sha512}")
    if "text" in description:
        print("\n--- message ---")
        print(description["text"])
        print("--- end of message ---")
    else:
        meta = description["metadata"]
        print("\nfile metadata (mat2 --show):"
              + ("" if meta["supported"] else f" {meta['note']}"))
        for key, value in sorted(meta["fields"].items()):
            print(f"  {key}: {value}")
    for sub in description["submissions"]:
        print(f"\nsubmission {sub['submission_uuid']} from {sub['source']}"
              f" received {sub['received_on']}")
        print("  receipt: " + json.dumps(sub["receipt"], ensure_ascii=False, sort_keys=True))
        if sub["intake"] is not None:
            print("  intake:  " + json.dumps(sub["intake"], ensure_ascii=False, sort_keys=True))
    for source, consent in description["consent"].items():
        latest = consent["latest"]
        allowed = "none recorded (this platform only)" if latest is None else ", ".join(
            latest["destinations"])
        print(f"\nconsent of source {source[:12]}: {allowed}")
        for record in consent["history"]:
            problem = f"  PROBLEM: {record['problem']}" if record["problem"] else ""
            print(f"  {record['source_recorded_at']}  {','.join(record['destinations'])}"
                  f"  ({record['origin']}){problem}")
    for copy in description["working_copies"]:
        state = "stripped" if copy["stripped"] else "NOT STRIPPED"
        print(f"\nworking copy {copy['copy_sha256'][:16]} {state} by {copy['method']};"
              f" removed: {', '.join(sorted(copy['removed'])) or 'nothing'}")
    print("\ncustody:")
    for entry in description["custody"]:
        print(f"  #{entry['seq']} {entry['time']} {entry['actor']} {entry['action']}")
    return EXIT_OK


def command_working_copy(args: argparse.Namespace) -> int:
    context = _Context(args)
    item = find_item(context.store, args.item)
    tool = MetadataTool(args.mat2)
    with context.store.locked():
        copy = make_working_copy(context.store, item, tool, context.custody(), context.actor)
    record = copy.record
    print(f"working copy of {item.item_id}: {copy.path}")
    if copy.stripped:
        removed = ", ".join(sorted(record["removed"])) or "nothing (no metadata found)"
        print(f"  cleaned with mat2 {record['tool_version']}; removed: {removed}")
        if record["metadata_after"]:
            print(f"  mat2 still reports: {', '.join(sorted(record['metadata_after']))}")
    else:
        print(f"  NOT STRIPPED: {record['not_stripped_reason']}")
        print("  this is a byte copy flagged as such; clean it by hand before it leaves")
    return EXIT_OK


def command_render(args: argparse.Namespace) -> int:
    context = _Context(args)
    item = find_item(context.store, args.item)
    # render_item takes the store lock itself, and only for the moment it stores the result.
    rendition = render_item(context.store, context.custody(), item.item_id, actor=context.actor)
    print(f"rendition of {item.item_id} ({rendition.kind}), made {rendition.made_at}")
    if rendition.directory is not None:
        print(f"  in {rendition.directory}")
    for path in rendition.files:
        print(f"  {path.name}")
    if rendition.text is not None:
        print(f"  text: {len(rendition.text)} characters (skrynka-workstation show for the item)")
    if rendition.note:
        print(f"  note: {rendition.note}")
    print("  tools: " + ", ".join(f"{name} ({version})"
                                  for name, version in sorted(rendition.tools.items())))
    if rendition.refused:
        print("  NOT RENDERED: the file was refused (recorded in the custody log); do not open"
              " the original on this machine", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def command_case(args: argparse.Namespace) -> int:
    context = _Context(args)
    book = CaseBook(context.store)
    if args.case_command == "create":
        with context.store.locked():
            book.create(args.name)
        print(f"case {args.name} created")
    elif args.case_command == "add":
        items = [find_item(context.store, ref).item_id for ref in args.items]
        with context.store.locked():
            case = book.add(args.case, items)
        print(f"case {case.name} now holds {len(case.items)} item(s)")
    else:
        cases = book.all()
        if not cases:
            print("no cases yet; create one with `case create NAME`")
        for case in cases:
            print(f"{case.name}  created {case.created_at}  {len(case.items)} item(s)")
            for item_id in case.items:
                print(f"  {item_id}")
    return EXIT_OK


def command_export(args: argparse.Namespace) -> int:
    context = _Context(args)
    case = CaseBook(context.store).get(args.case)
    with context.store.locked():
        signer = load_workstation_signer(context.store)
        report = export_case(
            context.store,
            case,
            args.to,
            Path(args.out),
            context.custody(),
            signer,
            context.actor,
            terminal_progress,
            Path(args.recipient) if args.recipient else None,
        )
    print(f"package {report.path} ({report.package_id})")
    print(f"  {len(report.included)} item(s) exported for {args.to}; bag validated")
    for item_id in report.included:
        print(f"  included  {item_id}")
    for exclusion in report.excluded:
        print(f"  LEFT OUT  {exclusion.item_id} ({exclusion.name}): {exclusion.reason}")
    if report.encrypted_to:
        print(f"  encrypted to {report.encrypted_to}")
    print(f"  workstation key fingerprint: {signer.fingerprint}")
    return EXIT_OK


def command_verify(args: argparse.Namespace) -> int:
    report = verify_package(Path(args.package))
    statement = report.statement
    print(f"package {statement['package_name']} verifies:")
    print("  bag valid (every SHA-256 and SHA-512 checked), statement signature good,"
          f" {report.custody_entries} custody entries signed and intact")
    print(f"  case {statement['case']} for {statement['destination_label']},"
          f" exported {statement['exported_at']} by {statement['exported_by']}")
    print(f"  {len(statement['items'])} item(s); {len(statement['excluded'])} left out")
    print(f"  workstation key fingerprint: {report.workstation_key_fingerprint}")
    print("  compare this fingerprint with the one the sender gave you by another channel")
    return EXIT_OK


def command_custody(args: argparse.Namespace) -> int:
    context = _Context(args)
    signer = load_workstation_signer(context.store)
    if args.custody_command == "verify":
        with context.store.locked():
            count = verify_custody(
                context.store.custody_log_path, context.store.custody_head_path,
                signer.public_key,
            )
            context.custody().append(context.actor, "verify", None, None, {"entries": count})
            gaps = find_gaps(context.store, context.custody().entries())
        print(f"custody log intact: {count} entries, chain and signatures verified")
        if gaps:
            print(f"custody log and store disagree ({len(gaps)}):", file=sys.stderr)
            for gap in gaps:
                print(f"  {gap.describe()}", file=sys.stderr)
            return EXIT_VERIFICATION_FAILED
        print("every item in the store has its import entry, and every import entry its item")
        return EXIT_OK
    if args.custody_command == "repair":
        with context.store.locked():
            verify_custody(context.store.custody_log_path, context.store.custody_head_path,
                           signer.public_key)
            notes = recover_store(context.store, context.custody(), context.actor)
        for note in notes:
            print(note)
        if not notes:
            print("nothing to repair: the store and the custody log agree")
        return EXIT_VERIFICATION_FAILED if any(n.startswith("NOT REPAIRED") for n in notes) \
            else EXIT_OK
    entries = context.custody().entries()
    if args.item:
        item = find_item(context.store, args.item)
        entries = [e for e in entries if e.get("item") == item.item_id]
    for entry in entries:
        print(f"#{entry['seq']} {entry['time']} {entry['actor']} {entry['action']}"
              f" {entry['item'] or '-'}")
    return EXIT_OK


def command_acknowledge(args: argparse.Namespace) -> int:
    context = _Context(args)
    with context.store.locked():
        written = acknowledge_bundle(
            context.store, args.bundle, Path(args.out), context.custody(),
            load_workstation_signer(context.store), context.actor,
        )
    print(f"acknowledgement of bundle {written.bundle_manifest_sha256[:16]} written to"
          f" {written.path}: {written.items} item(s), signed by this workstation")
    print("upload it on the server's journalist interface (Acknowledgements) or the API; the"
          " server then deletes exactly these ciphertexts")
    return EXIT_OK


def command_public_key(args: argparse.Namespace) -> int:
    context = _Context(args)
    signer = load_workstation_signer(context.store)
    if args.out:
        try:
            with open(args.out, "x", encoding="ascii") as handle:
                handle.write(signer.public_key.hex() + "\n")
        except OSError as exc:
            raise WorkstationError(f"cannot write {args.out} ({exc.strerror})") from exc
        print(f"workstation public key written to {args.out}")
    else:
        print(signer.public_key.hex())
    print(f"fingerprint {signer.fingerprint}", file=sys.stderr)
    return EXIT_OK


def command_delete(args: argparse.Namespace) -> int:
    context = _Context(args)
    item = find_item(context.store, args.item)
    if not args.yes:
        raise WorkstationError(
            f"deleting {item.item_id} removes the original and its working copies for good;"
            " repeat with --yes to confirm"
        )
    with context.store.locked():
        # Record first: a deletion that is logged but interrupted is visible; the reverse is not.
        context.custody().append(context.actor, "delete", item.item_id, item.sha256,
                                 {"reason": args.reason})
        remove_tree(context.store.copies_dir / item.item_id)
        remove_rendition(context.store, item.item_id)
        remove_tree(item.directory)
    print(f"deleted {item.item_id}; the custody log records why")
    return EXIT_OK


# Parser --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "actor"):
        args.actor = None
    try:
        result: int = args.handler(args)
        return result
    except MetadataToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except WorkstationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        for cls, code in EXIT_CODES:
            if isinstance(exc, cls):
                return code
        return EXIT_ERROR
