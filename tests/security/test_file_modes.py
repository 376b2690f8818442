"""A shared machine: after init, nobody but the server's user can read its secrets."""

import stat

from core.instance import Instance


def test_the_data_dir_is_closed_and_every_secret_is_the_owners_alone(instance: Instance) -> None:
    data_dir = instance.settings.data_dir
    # The barrier for everything inside (the database is 0644 behind it, as SQLite makes it).
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    secrets = sorted(instance.settings.secrets_dir.iterdir())
    assert {path.name for path in secrets} >= {"session.key", "codename.salt", "signing.key"}
    assert stat.S_IMODE(instance.settings.secrets_dir.stat().st_mode) == 0o700
    for path in secrets:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
