"""The system-tor equivalent of what `OnionPublisher` does over the control port.

For operators who run tor as a system service and would rather keep onion services in its
torrc than let skrynka add them. Our key directories already have tor's HiddenServiceDir
layout, so the instructions copy them and the torrc lines point at the copies.

For an app server behind an Onionbalance front (`onionbalance_front`), the source service is
marked `HiddenServiceOnionbalanceInstance 1` and its directory gets the `ob_config` file naming
the front; tor supports that only here, not for services added over the control port.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from onion.balance import OB_CONFIG_NAME, check_onion_address
from onion.keystore import OnionKeyStore, ServiceRole

VIRTUAL_PORT = 80


def render_system_torrc(
    keystore: OnionKeyStore,
    source_port: int,
    journalist_port: int,
    *,
    tor_services_dir: Path = Path("/var/lib/tor"),
    tor_user: str = "debian-tor",
    pow_defense: bool = True,
    onionbalance_front: str | None = None,
) -> str:
    """Shell steps and torrc lines hosting both services from a system tor (keys must exist)."""
    front = (
        None
        if onionbalance_front is None
        else check_onion_address(onionbalance_front, "Onionbalance front address")
    )
    source = keystore.ensure_service_key(ServiceRole.SOURCE)
    journalist = keystore.ensure_service_key(ServiceRole.JOURNALIST)
    clients = keystore.list_clients()
    targets = {role: tor_services_dir / f"skrynka-{role.value}" for role in ServiceRole}
    owner = f"{tor_user}:{tor_user}"
    lines = [
        "# Skrynka onion services for a system tor. Use either this or the control port",
        "# (skrynka serve --tor-control ...), not both: tor refuses the same address twice.",
        "#",
        "# 1. As root, copy the keys (already in tor's format) where tor can read them:",
    ]
    for role in ServiceRole:
        here = keystore.service_dir(role)
        there = targets[role]
        lines.append(
            f"#   install -d -m 0700 -o {tor_user} -g {tor_user} {shlex.quote(str(there))}"
        )
        lines.append(
            f"#   cp -r {shlex.quote(str(here))}/. {shlex.quote(str(there))}/ && "
            f"chown -R {owner} {shlex.quote(str(there))}"
        )
    if front is not None:
        source_target = shlex.quote(str(targets[ServiceRole.SOURCE]))
        lines.append(
            f"#   echo 'MasterOnionAddress {front}' > {source_target}/{OB_CONFIG_NAME} && "
            f"chown {owner} {source_target}/{OB_CONFIG_NAME}"
        )
    lines += [
        f"#   ({len(clients)} staff device(s) in authorized_clients; after add-client or",
        "#   remove-client, copy the journalist directory again and reload tor.)",
        "# 2. Add these lines to /etc/tor/torrc, then: systemctl reload tor",
        f"#    source interface:     {source.onion_address}",
        f"#    journalist interface: {journalist.onion_address}",
        "",
    ]
    services = [(ServiceRole.SOURCE, source_port)]
    if clients:
        services.append((ServiceRole.JOURNALIST, journalist_port))
    for role, port in services:
        lines.append(f"HiddenServiceDir {targets[role]}")
        lines.append(f"HiddenServicePort {VIRTUAL_PORT} 127.0.0.1:{port}")
        if role is ServiceRole.SOURCE and front is not None:
            # The front's descriptor (written by onionbalance) has no PoW parameters.
            lines.append("HiddenServiceOnionbalanceInstance 1")
        elif pow_defense:
            lines.append("HiddenServicePoWDefensesEnabled 1")
        lines.append("")
    if not clients:
        # Fail closed: without authorised clients the journalist service would be public.
        lines.append(
            "# The journalist interface is left out: no staff device is authorised yet"
            " (skrynka onion add-client NAME, then run this again)."
        )
    return "\n".join(lines)
