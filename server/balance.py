"""Checks for an app server behind an Onionbalance front, made before `skrynka serve` starts.

The settings alone are checked when they are loaded (`core.settings.check_balance_settings`:
the front address's form, a shared directory, PostgreSQL). What needs the onion package or the
command line is checked here, and `skrynka serve` reports these problems together with
`check_instance`'s, so the operator fixes everything in one go: the address's checksum, that
the front is not this machine's own source address, and that skrynka launches the tor (tor
accepts Onionbalance instances only for services in its torrc).
"""

from pathlib import Path

from core.settings import Settings
from onion.balance import check_onion_address
from onion.errors import BalanceNeedsOwnTor, OnionError
from onion.keystore import OnionKeyStore, ServiceRole
from onion.publisher import onion_dir_of

LAUNCH = "launch"


def balance_problems(
    settings: Settings, *, tor_control: str = LAUNCH, no_tor: bool = False
) -> list[str]:
    """Every reason this app server cannot serve as an instance of its front (none if unset)."""
    if not settings.onionbalance_front:
        return []
    problems: list[str] = []
    try:
        front = check_onion_address(settings.onionbalance_front, "Onionbalance front address")
    except OnionError as error:
        problems.append(str(error))
    else:
        own = _own_source_address(settings.data_dir)
        if own == front:
            problems.append(
                f"SKRYNKA_ONIONBALANCE_FRONT is this machine's own source address ({front}); "
                "set it to the front's address that 'skrynka onion balance-config' printed."
            )
    if not no_tor and tor_control != LAUNCH:
        problems.append(str(BalanceNeedsOwnTor(tor_control)))
    return problems


def _own_source_address(data_dir: Path) -> str | None:
    try:
        key = OnionKeyStore(onion_dir_of(data_dir)).load_service_key(ServiceRole.SOURCE)
    except OnionError:
        return None  # a damaged key is reported when serve publishes
    return None if key is None else key.onion_address
