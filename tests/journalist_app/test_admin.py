"""Administration: accounts, instance settings and logo, fingerprints, the audit log page."""

import io
import struct
import zlib

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.inbox import find_source
from core.instance import Instance
from core.models import AuditEntry, InstanceConfig, Journalist, JournalistSession, Reply
from core.replies import store_reply
from core.two_factor import totp_code
from journalist_app.errors import LogoRejected
from journalist_app.logo import check_png
from tests.support.staff import (
    StaffAccount,
    csrf_from,
    make_source,
    make_staff_account,
    sign_in_client,
)

MIB = 1024 * 1024


def png(width: int = 8, height: int = 8, extra: bytes = b"") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x80" * min(width, 64) for _ in range(min(height, 64)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + extra + chunk(b"IEND", b""))


def post(client: FlaskClient, url: str, page: str, **data: object) -> object:
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def journalist(instance: Instance, username: str) -> Journalist | None:
    with instance.sessions() as db:
        found = db.scalars(select(Journalist).where(Journalist.username == username)).first()
        if found is not None:
            db.expunge(found)
        return found


def actions(instance: Instance) -> list[str]:
    with instance.sessions() as db:
        return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_staff_who_are_not_admins_get_403(staff_client: FlaskClient) -> None:
    for path in ("/admin/users", "/admin/settings", "/admin/audit", "/admin/users/new"):
        assert staff_client.get(path).status_code == 403


def test_create_a_user_shows_passphrase_secret_and_qr_once(
    admin_client: FlaskClient, instance: Instance, staff_app: object
) -> None:
    response = post(admin_client, "/admin/users/new", "/admin/users/new",
                    username="nina", first_name="Nina", otp_kind="totp")
    html = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.status_code == 200  # type: ignore[attr-defined]
    created = journalist(instance, "nina")
    assert created is not None
    assert created.otp_secret in html
    assert "<svg" in html
    assert 'class="segno"' in html
    passphrase = html.split('<code id="passphrase">', 1)[1].split("</code>", 1)[0]
    assert len(passphrase.split()) == 7
    assert passphrase not in created.passphrase_hash
    assert "user_create" in actions(instance)
    # The new user can sign in with what was shown.
    account = StaffAccount("nina", passphrase, created.otp_secret, created.uuid, False)
    fresh = staff_app.test_client()  # type: ignore[attr-defined]
    assert sign_in_client(fresh, instance, account).status_code == 302
    # Confirming the authenticator with a code works (and uses the code up).
    page = admin_client.get(f"/admin/users/{created.uuid}").get_data(as_text=True)
    from datetime import UTC, datetime, timedelta

    code = totp_code(created.otp_secret, datetime.now(UTC) + timedelta(seconds=30))
    token = csrf_from(page)
    ok = admin_client.post(f"/admin/users/{created.uuid}/verify-2fa",
                           data={"csrf_token": token, "code": code})
    assert ok.status_code == 302
    again = admin_client.post(f"/admin/users/{created.uuid}/verify-2fa",
                              data={"csrf_token": token, "code": code})
    assert again.status_code == 400


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "a b"}, "Usernames are 3 to 64 characters"),
        ({"username": "ada"}, "is taken"),
        ({"username": "hwtoken", "otp_kind": "hotp", "hotp_secret": "zz"}, "one-time-code secret"),
        ({"username": "hwtoken", "otp_kind": "hotp"}, "needs its secret"),
    ],
)
def test_bad_new_users_are_refused(
    admin_client: FlaskClient, instance: Instance, fields: dict[str, str], message: str
) -> None:
    response = post(admin_client, "/admin/users/new", "/admin/users/new",
                    **{"otp_kind": "totp", **fields})
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert message in response.get_data(as_text=True)  # type: ignore[attr-defined]
    with instance.sessions() as db:
        assert len(db.scalars(select(Journalist)).all()) == 1


def test_edit_make_admin_reset_passphrase_and_2fa_end_sessions(
    admin_client: FlaskClient, instance: Instance, staff_app: object
) -> None:
    account = make_staff_account(instance, "olga")
    sign_in_client(staff_app.test_client(), instance, account)  # type: ignore[attr-defined]
    page = f"/admin/users/{account.uuid}"
    post(admin_client, page, page, username="olga2", first_name="Olga", is_admin="y")
    edited = journalist(instance, "olga2")
    assert edited is not None
    assert edited.is_admin
    assert edited.first_name == "Olga"
    assert {"user_edit", "user_make_admin"} <= set(actions(instance))

    def sessions_of_olga() -> int:
        with instance.sessions() as db:
            return len(db.scalars(select(JournalistSession).where(
                JournalistSession.journalist_id == edited.id)).all())

    assert sessions_of_olga() == 1
    # The first press only asks; nothing changes until the admin confirms.
    ask = post(admin_client, f"{page}/reset-passphrase", page)
    asked = ask.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Give olga2 a new passphrase?" in asked
    assert 'id="own-account"' not in asked
    assert sessions_of_olga() == 1
    reset = post(admin_client, f"{page}/reset-passphrase", page, confirm="yes")
    new = reset.get_data(as_text=True).split('<code id="passphrase">')[1].split("<")[0]  # type: ignore[attr-defined]
    assert len(new.split()) == 7
    assert sessions_of_olga() == 0
    sign_in_client(staff_app.test_client(), instance, StaffAccount(  # type: ignore[attr-defined]
        "olga2", new, account.otp_secret, account.uuid, True))
    assert sessions_of_olga() == 1
    response = post(admin_client, f"{page}/reset-2fa", page, otp_kind="totp")
    assert response.status_code == 200  # type: ignore[attr-defined]
    after = journalist(instance, "olga2")
    assert after is not None
    assert after.otp_secret != account.otp_secret
    assert after.otp_secret in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert sessions_of_olga() == 0
    hotp = post(admin_client, f"{page}/reset-2fa", page, otp_kind="hotp",
                hotp_secret="3132333435363738393031323334353637383930")
    assert hotp.status_code == 200  # type: ignore[attr-defined]
    token = journalist(instance, "olga2")
    assert token is not None
    assert not token.is_totp


def test_admins_cannot_demote_or_delete_themselves(
    admin_client: FlaskClient, admin_account: StaffAccount
) -> None:
    page = f"/admin/users/{admin_account.uuid}"
    demote = post(admin_client, page, page, username="ada")
    assert demote.status_code == 400  # type: ignore[attr-defined]
    assert post(admin_client, f"{page}/delete", page,
                confirm="yes").status_code == 400  # type: ignore[attr-defined]
    assert admin_client.get("/admin/users/no-such-user").status_code == 404


def test_deleting_a_user_keeps_their_replies_as_deleted_user(
    admin_client: FlaskClient, instance: Instance
) -> None:
    account = make_staff_account(instance, "olga")
    seeded = make_source(instance)
    with instance.sessions() as db:
        olga = db.scalars(select(Journalist).where(Journalist.uuid == account.uuid)).one()
        source = find_source(db, seeded.uuid)
        assert source is not None
        store_reply(db, instance, source=source, journalist=olga, ciphertext=b"ct")
        db.commit()
    page = f"/admin/users/{account.uuid}"
    ask = post(admin_client, f"{page}/delete", "/admin/users")
    assert "Their replies stay" in ask.get_data(as_text=True)  # type: ignore[attr-defined]
    post(admin_client, f"{page}/delete", "/admin/users", confirm="yes")
    assert journalist(instance, "olga") is None
    with instance.sessions() as db:
        assert db.scalars(select(Reply.journalist_id)).all() == [None]
    html = admin_client.get(f"/source/{seeded.uuid}").get_data(as_text=True)
    assert "Reply by deleted user" in html


def test_instance_settings_and_fingerprints(admin_client: FlaskClient, instance: Instance) -> None:
    html = admin_client.get("/admin/settings").get_data(as_text=True)
    assert instance.submission_fingerprint in html
    assert instance.signer.fingerprint in html
    server_mib = instance.settings.max_upload_bytes // MIB
    response = post(
        admin_client, "/admin/settings", "/admin/settings", organization_name="Pravo Watch",
        max_upload_mib=str(server_mib // 2), initial_message_min_len="20",
        reject_message_with_codename="y",
    )
    assert response.status_code == 302  # type: ignore[attr-defined]
    with instance.sessions() as db:
        config = db.scalars(select(InstanceConfig)).one()
        assert config.organization_name == "Pravo Watch"
        assert config.allow_document_uploads is False
        assert config.max_upload_bytes == (server_mib // 2) * MIB
        assert config.initial_message_min_len == 20
    assert "instance_settings" in actions(instance)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_upload_mib": "999999"}, "can only be lowered"),
        ({"max_upload_mib": "0"}, "Largest upload (MiB): The number must be at least 1."),
        ({"organization_name": ""}, "Organisation name: This field is required."),
        ({"initial_message_min_len": "-3"},
         "Shortest first message (characters): The number must be between 0 and 10000."),
    ],
)
def test_bad_settings_change_nothing(
    admin_client: FlaskClient, instance: Instance, fields: dict[str, str], message: str
) -> None:
    data = {"organization_name": "X", "max_upload_mib": "10", "initial_message_min_len": "0",
            **fields}
    response = post(admin_client, "/admin/settings", "/admin/settings", **data)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert message in response.get_data(as_text=True)  # type: ignore[attr-defined]
    with instance.sessions() as db:
        assert db.scalars(select(InstanceConfig.organization_name)).one() == "Skrynka Test"


def test_logo_upload_is_checked_and_served(admin_client: FlaskClient, instance: Instance) -> None:
    token = csrf_from(admin_client.get("/admin/settings").get_data(as_text=True))

    def upload(data: bytes, name: str = "logo.png") -> object:
        return admin_client.post("/admin/logo", data={"csrf_token": token,
                                                      "logo": (io.BytesIO(data), name)},
                                 content_type="multipart/form-data")

    good = png(64, 32)
    assert upload(good).status_code == 302  # type: ignore[attr-defined]
    assert instance.settings.logo_path.read_bytes() == good
    served = admin_client.get("/logo")
    assert served.get_data() == good
    assert served.mimetype == "image/png"
    for bad, message in [
        (b"<svg onload=alert(1)>", "must be a PNG"),
        (png(2000, 10), "at most 1024"),
        (png(8, 8) + b"\x00" * (300 * 1024), "larger than 256 KiB"),
        (png(8, 8)[:-12], "cut short"),
    ]:
        response = upload(bad)
        assert response.status_code == 400  # type: ignore[attr-defined]
        assert message in response.get_data(as_text=True)  # type: ignore[attr-defined]
        assert instance.settings.logo_path.read_bytes() == good
    remove = admin_client.post("/admin/logo/delete", data={"csrf_token": token})
    assert remove.status_code == 302
    assert not instance.settings.logo_path.exists()
    assert admin_client.get("/logo").status_code == 404


def test_png_header_checks() -> None:
    assert check_png(png(10, 20)) == (10, 20)
    damaged = bytearray(png())
    damaged[20] ^= 0xFF
    with pytest.raises(LogoRejected, match="checksum"):
        check_png(bytes(damaged))
    with pytest.raises(LogoRejected, match="at most"):
        check_png(png(0, 5))


def test_the_audit_log_page_and_its_verification(
    admin_client: FlaskClient, instance: Instance, admin_account: StaffAccount
) -> None:
    html = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "sign_in" in html
    assert admin_account.username in html
    verified = admin_client.get("/admin/audit?verify=1").get_data(as_text=True)
    assert "Verified: all" in verified
    with instance.sessions() as db:
        entry = db.get(AuditEntry, 1)
        assert entry is not None
        entry.action = "nothing_happened"
        db.commit()
    broken = admin_client.get("/admin/audit?verify=1").get_data(as_text=True)
    assert "Broken at entry 1" in broken
    assert admin_client.get("/admin/audit?page=x").status_code == 400


def test_own_passphrase_change_signs_out_everywhere(
    staff_client: FlaskClient, instance: Instance
) -> None:
    response = post(staff_client, "/account/new-passphrase", "/account")
    html = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "You were signed out everywhere" in html
    assert staff_client.get("/").status_code == 302
    with instance.sessions() as db:
        assert db.scalars(select(JournalistSession)).all() == []


def test_resetting_ones_own_passphrase_warns_and_changes_nothing_until_confirmed(
    admin_client: FlaskClient, instance: Instance
) -> None:
    with instance.sessions() as db:
        admin = db.scalars(select(Journalist).where(Journalist.is_admin.is_(True))).first()
        assert admin is not None
        admin_uuid, before = admin.uuid, admin.passphrase_hash
    page = f"/admin/users/{admin_uuid}"
    ask = post(admin_client, f"{page}/reset-passphrase", page)
    assert 'id="own-account"' in ask.get_data(as_text=True)  # type: ignore[attr-defined]
    with instance.sessions() as db:
        assert db.scalars(select(Journalist.passphrase_hash).where(
            Journalist.uuid == admin_uuid)).one() == before


def test_the_audit_log_names_sources_items_and_users(
    admin_client: FlaskClient, instance: Instance
) -> None:
    source = make_source(instance, "named")
    admin_client.get(f"/source/{source.uuid}")
    with instance.sessions() as db:
        found = find_source(db, source.uuid)
        assert found is not None
        designation = found.journalist_designation
        item = found.submissions[0]
        filename, kind = item.filename, item.kind
    admin_client.get(f"/source/{source.uuid}/download/{filename}")
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert f'<span class="object-name">{kind} from {designation}</span>' in page
