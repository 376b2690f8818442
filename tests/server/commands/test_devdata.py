"""`skrynka dev-data` runs in the development install and says why where devtools is absent."""

import subprocess
import sys
from pathlib import Path

from server.cli import build_parser
from server.commands.devdata import MISSING_MESSAGE, dev_tools_installed

REPO_ROOT = Path(__file__).resolve().parents[3]

# The production layout: the installed packages without the checkout (where devtools lives).
WITHOUT_CHECKOUT = """
import sys
from pathlib import Path
checkout = Path(sys.argv[1]).resolve()
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != checkout]
from server.cli import main
raise SystemExit(main(["dev-data", "--data-dir", sys.argv[2], "--sources", "3"]))
"""


def test_the_development_install_offers_the_real_dev_data_command() -> None:
    assert dev_tools_installed()
    args = build_parser().parse_args(["dev-data", "--data-dir", "/tmp/x", "--sources", "2"])
    assert args.sources == 2
    assert args.workers == 2


def test_without_devtools_dev_data_says_why_and_touches_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_CHECKOUT, str(REPO_ROOT), str(data)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == MISSING_MESSAGE
    assert "Traceback" not in result.stderr
    assert not data.exists()
