"""The workstation loads nothing of the server: no Flask, SQLAlchemy, stem or server code."""

from __future__ import annotations

import subprocess
import sys

SERVER_SIDE = ("flask", "werkzeug", "sqlalchemy", "stem", "core", "source_app",
               "journalist_app", "onion", "gunicorn")


def test_importing_the_whole_workstation_loads_no_server_code() -> None:
    probe = (
        "import sys, workstation.cli, workstation.bagging, workstation.package;"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.split()

    assert not set(SERVER_SIDE) & set(loaded)
    assert {"bagit", "tqdm", "nacl", "crypto"} <= set(loaded)
