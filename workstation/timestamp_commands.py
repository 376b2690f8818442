"""The workstation's commands for trusted time and fixity: `tsa`, `stamp-request`,
`stamp-record` and `fixity` (workstation.timestamps, .stamping, .fixity do the work).

They are registered on `skrynka-workstation`'s parser by `register_timestamp_commands`; each
handler gets the parsed arguments and the CLI's context factory (store, actor, custody log).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes

from workstation.custody import CustodyLog
from workstation.errors import FixityFailed
from workstation.fixity import check_fixity, record_fixity
from workstation.stamping import (
    head_request,
    nearest_expiry,
    record_token,
    renewal_request,
    write_request,
)
from workstation.store import EvidenceStore
from workstation.terminal import say
from workstation.timestamps import trust_tsa_root, trusted_roots


class Context(Protocol):
    store: EvidenceStore
    actor: str

    def custody(self) -> CustodyLog: ...


ContextOf = Callable[[argparse.Namespace], Context]


def command_tsa(args: argparse.Namespace, context: Context) -> int:
    if args.tsa_command == "trust":
        with context.store.locked():
            fingerprint = trust_tsa_root(context.store, Path(args.certificate))
        say(f"TSA root trusted: SHA-256 {fingerprint}")
        say("compare this fingerprint with the one the authority publishes")
        return 0
    roots = trusted_roots(context.store)
    if not roots:
        say("no TSA root is trusted yet; add one with `tsa trust ROOT.pem`")
    for root in roots:
        say(f"{root.fingerprint(hashes.SHA256()).hex()}  {root.subject.rfc4514_string()}"
              f"  valid until {root.not_valid_after_utc:%Y-%m-%d}")
    expiries = nearest_expiry(context.store)
    if expiries:
        when, where = expiries[0]
        say(f"the first TSA certificate behind a kept token expires {when} ({where});"
              " renew before then (`stamp-request --renewal`, docs/operations.md)")
    return 0


def command_stamp_request(args: argparse.Namespace, context: Context) -> int:
    with context.store.locked():
        if args.renewal:
            request = renewal_request(context.store, args.reason)
        else:
            request = head_request(context.custody())
        out = write_request(context.store, request, Path(args.out))
    say(f"stamp request written to {out}:")
    say(f"  {request.message.decode('ascii').strip()}")
    say("carry only this file to the journalist interface (\"Timestamp a hash\"), bring the"
          " .tsr file back and run `stamp-record FILE.tsr`")
    return 0


def command_stamp_record(args: argparse.Namespace, context: Context) -> int:
    with context.store.locked():
        record = record_token(context.store, context.custody(), Path(args.token), context.actor)
    say(f"{record.purpose} stamped: {record.message}")
    say(f"  token verified: {record.gen_time} by {record.tsa_subject}")
    say(f"  kept in {record.directory}")
    return 0


def command_fixity(args: argparse.Namespace, context: Context) -> int:
    with context.store.locked():
        report = check_fixity(context.store)
        entry = record_fixity(context.custody(), context.actor, report)
    say(f"fixity: {len(report.originals)} original(s) and {len(report.copies)} working"
          f" cop{'y' if len(report.copies) == 1 else 'ies'} read ({report.bytes_read} bytes),"
          f" SHA-256 and SHA-512 checked; custody entry #{entry['seq']}")
    if report.ok:
        say("every file matches the store")
        return 0
    for failure in report.failures:
        say(f"  FAILED {failure['what']}: {failure['problem']}")
    raise FixityFailed(
        f"{len(report.failures)} file(s) no longer match the store; restore them from a backup"
        " copy whose fixity holds, and keep this store as it is for investigation"
    )


def register_timestamp_commands(commands: Any, common: argparse.ArgumentParser,
                                context_of: ContextOf) -> None:
    def handler(function: Callable[[argparse.Namespace, Context], int]
                ) -> Callable[[argparse.Namespace], int]:
        return lambda args: function(args, context_of(args))

    tsa = commands.add_parser("tsa", parents=[common],
                              help="time-stamping authorities whose tokens are trusted")
    tsa_commands = tsa.add_subparsers(dest="tsa_command", required=True)
    trust = tsa_commands.add_parser("trust", parents=[common], help="trust a TSA root (PEM)")
    trust.add_argument("certificate")
    tsa_commands.add_parser("list", parents=[common])
    tsa.set_defaults(handler=handler(command_tsa))

    request = commands.add_parser(
        "stamp-request", parents=[common],
        help="write the custody-log head (or a renewal) as a stamp request file",
    )
    request.add_argument("--out", required=True, help="directory on the transfer medium")
    request.add_argument("--renewal", action="store_true",
                         help="re-stamp every token and original hash the store holds")
    request.add_argument("--reason", default="scheduled renewal",
                         help="why the renewal is made (recorded)")
    request.set_defaults(handler=handler(command_stamp_request))

    record = commands.add_parser("stamp-record", parents=[common],
                                 help="verify and record a token returned for a stamp request")
    record.add_argument("token")
    record.set_defaults(handler=handler(command_stamp_record))

    fixity = commands.add_parser(
        "fixity", parents=[common],
        help="re-read every original and working copy and check SHA-256 and SHA-512",
    )
    fixity.set_defaults(handler=handler(command_fixity))
