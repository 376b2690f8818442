"""`skrynka user ...` and `skrynka audit verify` from the console."""

import argparse
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from core.instance import Instance
from core.models import AuditEntry, Journalist, JournalistSession
from core.staff_sessions import open_session
from crypto.wordlist import load_eff_wordlist
from server.commands.audit import register_audit_commands
from server.commands.user import register_user_commands


def skrynka(instance: Instance, *argv: str) -> int:
    """Run a sub-command the way server.cli does, against the test instance."""
    parser = argparse.ArgumentParser(prog="skrynka")
    commands = parser.add_subparsers(dest="command")
    data_dir: Path = instance.settings.data_dir
    register_user_commands(commands, lambda _args: data_dir)
    register_audit_commands(commands, lambda _args: data_dir)
    args = parser.parse_args(list(argv))
    result: int = args.func(args)
    return result


def test_user_add_prints_passphrase_secret_and_qr(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    assert skrynka(instance, "user", "add", "ada", "--admin", "--first-name", "Ada") == 0
    out = capsys.readouterr().out
    with instance.sessions() as db:
        ada = db.scalars(select(Journalist)).one()
        assert ada.is_admin
        assert ada.first_name == "Ada"
        assert ada.otp_secret in out
    passphrase = out.split("Passphrase: ", 1)[1].split("\n", 1)[0]
    assert set(passphrase.split()) <= set(load_eff_wordlist().words)
    assert len(passphrase.split()) == 7
    assert "█" in out or "▀" in out  # the QR code, drawn in the terminal
    with instance.sessions() as db:
        assert db.scalars(select(AuditEntry.actor)).all() == ["console"]


def test_user_add_refuses_bad_names_and_duplicates(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    assert skrynka(instance, "user", "add", "ada") == 0
    assert skrynka(instance, "user", "add", "ada") == 1
    assert "is taken" in capsys.readouterr().err
    assert skrynka(instance, "user", "add", "no spaces") == 1
    assert skrynka(instance, "user", "add", "tok", "--hotp-secret", "xyz") == 1
    assert skrynka(instance, "user", "add", "token",
                   "--hotp-secret", "3132333435363738393031323334353637383930") == 0
    out = capsys.readouterr().out
    assert "hardware token" in out
    assert skrynka(instance, "user", "list") == 0
    listing = capsys.readouterr().out
    assert "ada\tstaff\ttotp\tnever signed in" in listing
    assert "token\tstaff\thotp" in listing


def test_resets_and_delete_end_sessions(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import timedelta

    skrynka(instance, "user", "add", "ada")
    with instance.sessions() as db:
        ada = db.scalars(select(Journalist)).one()
        old_secret, old_hash = ada.otp_secret, ada.passphrase_hash
        open_session(db, ada, kind="web", lifetime=timedelta(hours=1))
        db.commit()
    assert skrynka(instance, "user", "reset-passphrase", "ada") == 0
    assert skrynka(instance, "user", "reset-2fa", "ada") == 0
    with instance.sessions() as db:
        ada = db.scalars(select(Journalist)).one()
        assert ada.passphrase_hash != old_hash
        assert ada.otp_secret != old_secret
        assert db.scalars(select(JournalistSession)).all() == []
    assert skrynka(instance, "user", "delete", "nobody") == 1
    assert skrynka(instance, "user", "delete", "ada") == 0
    with instance.sessions() as db:
        assert db.scalars(select(Journalist)).all() == []


def test_each_account_change_is_recorded_and_a_refused_one_changes_nothing(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    skrynka(instance, "user", "add", "ada")
    with instance.sessions() as db:
        ada = db.scalars(select(Journalist)).one()
        ada_uuid, old_secret = ada.uuid, ada.otp_secret
    capsys.readouterr()
    assert skrynka(instance, "user", "reset-2fa", "ada", "--hotp-secret", "xyz") == 1
    assert capsys.readouterr().err.startswith("skrynka: ")
    with instance.sessions() as db:
        assert db.scalars(select(Journalist.otp_secret)).one() == old_secret
    assert skrynka(instance, "user", "reset-passphrase", "ada") == 0
    assert "New passphrase for ada: " in capsys.readouterr().out
    assert skrynka(instance, "user", "reset-2fa", "ada") == 0
    assert "signed out everywhere" in capsys.readouterr().out
    assert skrynka(instance, "user", "delete", "ada") == 0
    assert "Deleted ada" in capsys.readouterr().out
    with instance.sessions() as db:
        entries = db.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.object).order_by(AuditEntry.seq)
        ).all()
    assert [tuple(e) for e in entries] == [
        ("console", "user_create", ada_uuid),
        ("console", "user_reset_passphrase", ada_uuid),
        ("console", "user_reset_2fa", ada_uuid),
        ("console", "user_delete", ada_uuid),
    ]


def test_audit_verify_names_the_first_broken_entry(
    instance: Instance, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ada", "bob", "cyd"):
        skrynka(instance, "user", "add", name)
    capsys.readouterr()
    assert skrynka(instance, "audit", "verify") == 0
    assert "Audit log OK: all 3 entries" in capsys.readouterr().out
    with instance.sessions() as db:
        db.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
        db.commit()
    assert skrynka(instance, "audit", "verify") == 1
    assert "BROKEN at entry 2" in capsys.readouterr().err
