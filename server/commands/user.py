"""`skrynka user add|list|delete|reset-2fa|reset-passphrase`: staff accounts from the console.

The first administrator is made here (there is no one yet to make it in the web interface).
Every change is written to the audit log with the actor "console".
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import segno
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.errors import JournalistError
from core.instance import Instance, open_instance
from core.instance_config import read_organization_name
from core.models import Journalist
from core.settings import Settings, load_settings
from core.staff_accounts import (
    create_journalist,
    delete_journalist,
    find_journalist,
    list_journalists,
    reset_passphrase,
    reset_two_factor,
)
from core.two_factor import provisioning_uri

DataDirOf = Callable[[argparse.Namespace], Path]
CONSOLE = "console"
DEMO_ADMIN = "admin"


def register_user_commands(
    subparsers: argparse._SubParsersAction[Any], data_dir_of: DataDirOf
) -> argparse.ArgumentParser:
    """Add `user` and its sub-commands; each sets ``func`` (Namespace -> exit code)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "user", help="staff accounts", description="Create and manage staff accounts."
    )
    commands = parser.add_subparsers(dest="user_command", required=True, metavar="COMMAND")

    add = commands.add_parser("add", help="create an account (prints its passphrase and 2FA)")
    add.add_argument("username")
    add.add_argument("--admin", action="store_true", help="give administrator rights")
    add.add_argument("--first-name")
    add.add_argument("--last-name")
    add.add_argument(
        "--hotp-secret", help="use a hardware token (HOTP) with this hex or base32 secret"
    )
    add.set_defaults(func=lambda args: _with_instance(args, data_dir_of, _add))

    listing = commands.add_parser("list", help="list accounts")
    listing.set_defaults(func=lambda args: _with_instance(args, data_dir_of, _list))

    remove = commands.add_parser("delete", help="delete an account (its replies stay)")
    remove.add_argument("username")
    remove.set_defaults(func=lambda args: _with_instance(args, data_dir_of, _delete))

    two_factor = commands.add_parser("reset-2fa", help="new 2FA secret; signs the user out")
    two_factor.add_argument("username")
    two_factor.add_argument("--hotp-secret", help="switch to a hardware token with this secret")
    two_factor.set_defaults(func=lambda args: _with_instance(args, data_dir_of, _reset_2fa))

    passphrase = commands.add_parser(
        "reset-passphrase", help="new generated passphrase; signs the user out"
    )
    passphrase.add_argument("username")
    passphrase.set_defaults(
        func=lambda args: _with_instance(args, data_dir_of, _reset_passphrase)
    )
    return parser


def _with_instance(
    args: argparse.Namespace,
    data_dir_of: DataDirOf,
    command: Callable[[argparse.Namespace, Instance], int],
) -> int:
    instance = open_instance(load_settings(data_dir=data_dir_of(args)))
    try:
        return command(args, instance)
    finally:
        instance.close()


def _fail(message: str) -> int:
    print(f"skrynka: {message}", file=sys.stderr)
    return 1


def _organisation(instance: Instance) -> str:
    with instance.sessions() as db:
        return read_organization_name(db)


def terminal_qr(data: str) -> str:
    """A QR code drawn with block characters, for scanning from a terminal."""
    out = io.StringIO()
    segno.make(data, error="m", micro=False).terminal(out=out, compact=True, border=2)
    return out.getvalue()


def enrolment_lines(journalist: Journalist, issuer: str, passphrase: str | None) -> list[str]:
    """What an operator hands the new user: passphrase (once), 2FA secret and its QR code."""
    lines = [f"Username:   {journalist.username}"]
    if passphrase is not None:
        lines.append(f"Passphrase: {passphrase}")
    if journalist.is_totp:
        lines.append(f"TOTP secret (authenticator app): {journalist.otp_secret}")
        lines.append("Scan with the authenticator app:")
        lines.extend(terminal_qr(provisioning_uri(journalist, issuer)).rstrip("\n").split("\n"))
    else:
        lines.append("Second factor: the hardware token (HOTP) whose secret was given.")
    return lines


def _add(args: argparse.Namespace, instance: Instance) -> int:
    audit = AuditLog(instance.signer)
    with instance.sessions() as db:
        try:
            journalist, passphrase = create_journalist(
                db,
                username=args.username,
                first_name=args.first_name,
                last_name=args.last_name,
                is_admin=args.admin,
                otp_secret=args.hotp_secret,
                hotp=args.hotp_secret is not None,
                kdf=instance.settings.kdf,
            )
        except JournalistError as exc:
            return _fail(str(exc))
        audit.record(db, actor=CONSOLE, action="user_create", object=journalist.uuid,
                     detail="admin" if args.admin else None)
        db.commit()
        lines = enrolment_lines(journalist, _organisation(instance), passphrase)
    print("\n".join(lines))
    print("The passphrase is shown only now: hand it to the user in person.")
    return 0


def _list(args: argparse.Namespace, instance: Instance) -> int:
    with instance.sessions() as db:
        for journalist in list_journalists(db):
            role = "admin" if journalist.is_admin else "staff"
            factor = "totp" if journalist.is_totp else "hotp"
            last = journalist.last_login.strftime("%Y-%m-%d %H:%M UTC") if (
                journalist.last_login) else "never signed in"
            print(f"{journalist.username}\t{role}\t{factor}\t{last}")
    return 0


def _change_account(
    args: argparse.Namespace,
    instance: Instance,
    action: str,
    change: Callable[[Session, Journalist], list[str]],
) -> int:
    """Apply `change` to the named account, record `action` and commit; print its lines.

    A refused change (a JournalistError) is reported and nothing is committed or recorded.
    """
    with instance.sessions() as db:
        journalist = find_journalist(db, args.username)
        if journalist is None:
            return _fail(f"No account is called {args.username!r}; see `skrynka user list`.")
        # Recorded before the change: a deleted account's uuid is still readable here.
        uuid = journalist.uuid
        try:
            lines = change(db, journalist)
        except JournalistError as exc:
            return _fail(str(exc))
        AuditLog(instance.signer).record(db, actor=CONSOLE, action=action, object=uuid)
        db.commit()
    print("\n".join(lines))
    return 0


def _delete(args: argparse.Namespace, instance: Instance) -> int:
    def delete(db: Session, journalist: Journalist) -> list[str]:
        delete_journalist(db, journalist)
        return [f"Deleted {args.username}; their replies stay, shown as by a deleted user."]

    return _change_account(args, instance, "user_delete", delete)


def _reset_2fa(args: argparse.Namespace, instance: Instance) -> int:
    def reset(db: Session, journalist: Journalist) -> list[str]:
        reset_two_factor(db, journalist, hotp_secret=args.hotp_secret)
        lines = enrolment_lines(journalist, _organisation(instance), None)
        return [*lines, "The user was signed out everywhere."]

    return _change_account(args, instance, "user_reset_2fa", reset)


def _reset_passphrase(args: argparse.Namespace, instance: Instance) -> int:
    def reset(db: Session, journalist: Journalist) -> list[str]:
        passphrase = reset_passphrase(db, journalist, kdf=instance.settings.kdf)
        return [
            f"New passphrase for {args.username}: {passphrase}",
            "The user was signed out everywhere.",
        ]

    return _change_account(args, instance, "user_reset_passphrase", reset)


def create_demo_admin(settings: Settings) -> list[str]:
    """`skrynka demo` step: an administrator to sign in to the demo journalist interface."""
    instance = open_instance(settings)
    try:
        with instance.sessions() as db:
            journalist, passphrase = create_journalist(
                db, username=DEMO_ADMIN, is_admin=True, kdf=settings.kdf
            )
            AuditLog(instance.signer).record(
                db, actor=CONSOLE, action="user_create", object=journalist.uuid, detail="demo"
            )
            db.commit()
            lines = enrolment_lines(journalist, _organisation(instance), passphrase)
    finally:
        instance.close()
    return [
        f"Journalist interface: http://127.0.0.1:{settings.journalist_port}/ "
        "(demo administrator below)",
        *lines,
    ]
