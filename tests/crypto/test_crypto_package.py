"""The package layout guarantees: our ``crypto`` (not PyPI's), and the right ``gnupg``."""

from pathlib import Path

import gnupg

import crypto

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_crypto_is_this_repository_package() -> None:
    assert Path(crypto.__file__).resolve().is_relative_to(REPO_ROOT)


def test_gnupg_is_python_gnupg() -> None:
    # python-gnupg's GPG class has import_keys; the unrelated PyPI 'gnupg' does not.
    assert hasattr(gnupg.GPG, "import_keys")
    assert hasattr(gnupg, "__version__")
