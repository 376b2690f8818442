"""Errors raised by the onion package.

Every stem or OS error is translated into one of these at the package edge, so callers (the
`skrynka` command, `skrynka serve`) catch `OnionError` only and can show its message as it is:
each message says what went wrong and what the operator can do about it.
"""

from __future__ import annotations


class OnionError(Exception):
    """Base class of every error raised by the onion package."""


class TorNotReachable(OnionError):
    """Nothing answered on the tor control port or socket we were told to use."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(
            f"Cannot reach tor's control port at {where} ({reason}). Is tor running? Enable "
            "its control port in torrc, e.g. 'ControlPort 127.0.0.1:9051' with "
            "'CookieAuthentication 1' (or 'ControlSocket /run/tor/control'), restart tor and "
            "pass the same address with --tor-control; or let skrynka launch its own tor "
            "with --tor-control launch."
        )
        self.where = where


class TorAuthFailed(OnionError):
    """Tor answered but refused our credentials (password or cookie)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(
            f"Tor at {where} refused authentication ({reason}). Check that the control "
            "password given with --tor-password-file matches the HashedControlPassword in "
            "torrc (make it with 'tor --hash-password'), or, with CookieAuthentication, that "
            "this user may read tor's control_auth_cookie (on Debian: add the user to the "
            "debian-tor group)."
        )
        self.where = where


class TorLaunchFailed(OnionError):
    """Our own tor process did not start."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Could not start tor ({reason}). Check that the 'tor' package is installed "
            "(apt install tor), that no other tor uses the same data directory, and that the "
            "extra torrc lines given are valid ('tor --verify-config -f FILE' checks them)."
        )


class OnionPublishFailed(OnionError):
    """Tor refused to publish, or gave back something other than what we asked for."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(
            f"Tor did not publish the {service} onion service ({reason}). If the address "
            "is already hosted by this tor (a HiddenServiceDir in torrc, or another skrynka "
            "instance), remove it there first; run 'skrynka onion status' to see what tor "
            "reports."
        )
        self.service = service


class OnionKeyInvalid(OnionError):
    """A stored onion key file is damaged or does not match the stored address."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"The onion key in {path} is unusable ({reason}). Restore the directory from "
            "a backup: creating a new key would change the onion address that sources "
            "and staff know."
        )
        self.path = path


class ClientNameInvalid(OnionError):
    """A staff device name that cannot be used as a file name."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"{name!r} is not a valid staff device name: use 1 to 32 letters, digits, '-' "
            "or '_', starting with a letter or digit (e.g. 'anna-laptop')."
        )
        self.name = name


class ClientExists(OnionError):
    """A staff device with that name is already authorised."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"A staff device named {name!r} is already authorised. Pick another name, or "
            f"run 'skrynka onion remove-client {name}' first to replace its key."
        )
        self.name = name


class ClientUnknown(OnionError):
    """No staff device with that name is authorised."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"No staff device named {name!r} is authorised; 'skrynka onion status' lists the names."
        )
        self.name = name


class OnionAddressInvalid(OnionError):
    """Text that should be a v3 onion address is not one (length, alphabet or checksum)."""

    def __init__(self, what: str, text: str, reason: str) -> None:
        super().__init__(
            f"The {what} {text!r} is not a v3 onion address ({reason}). Copy it again from "
            "where it was printed ('skrynka onion status' on an app server, 'skrynka onion "
            "balance-config' for the front): 56 letters a-z and digits 2-7, then '.onion'."
        )
        self.text = text


class BalanceConfigInvalid(OnionError):
    """The Onionbalance set-up asked for cannot work; every reason at once."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "The Onionbalance configuration was not written:\n"
            + "\n".join(f"- {problem}" for problem in problems)
        )
        self.problems = problems


class BalanceNeedsOwnTor(OnionError):
    """An Onionbalance instance was asked of a tor we do not launch ourselves."""

    def __init__(self, where: str) -> None:
        super().__init__(
            f"This app server is an Onionbalance instance, which tor supports only for services "
            f"in its torrc, not for those added over the control port ({where}). Let skrynka "
            "launch its own tor (--tor-control launch, the default), or configure the service "
            "in your system tor with the lines 'skrynka onion torrc' prints and serve with "
            "--no-tor."
        )
        self.where = where
