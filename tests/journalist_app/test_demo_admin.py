"""`make demo` prints a demo administrator that can sign in to the journalist interface."""

import re
from datetime import UTC, datetime
from pathlib import Path

from core.instance import open_instance
from core.two_factor import totp_code
from journalist_app import create_app
from server.demo import create_demo_instance, prepare_demo, saved_demo_notes
from tests.support.staff import csrf_from


def test_the_demo_printout_has_a_working_admin(tmp_path: Path) -> None:
    settings = create_demo_instance(tmp_path / "demo-data")
    lines = prepare_demo(settings)
    text = "\n".join(lines)
    assert f"http://127.0.0.1:{settings.journalist_port}/" in text
    username = re.search(r"^Username:\s+(\S+)$", text, re.M)
    passphrase = re.search(r"^Passphrase: (.+)$", text, re.M)
    secret = re.search(r"^TOTP secret \(authenticator app\): ([A-Z2-7]+)$", text, re.M)
    assert username
    assert passphrase
    assert secret
    assert len(passphrase.group(1).split()) == 7
    assert sum(1 for line in lines if "▀" in line or "█" in line) > 10  # the terminal QR
    assert saved_demo_notes(settings) == lines  # shown again by later `skrynka demo` runs
    instance = open_instance(settings)
    try:
        client = create_app(instance=instance).test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        response = client.post("/login", data={
            "csrf_token": token,
            "username": username.group(1),
            "passphrase": passphrase.group(1),
            "code": totp_code(secret.group(1), datetime.now(UTC)),
        })
        assert response.status_code == 302
        assert client.get("/admin/users").status_code == 200
    finally:
        instance.close()
