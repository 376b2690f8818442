"""ProofMode bundles: a media file's OpenPGP signatures and proof record, checked with gpg.

A ProofMode app keeps, for each photo or video, a proof set named after the media's SHA-256:
`<hash>.proof.csv` and/or `<hash>.proof.json` (the capture's record, whose `File Hash SHA256`
is the media's hash), an ASCII-armoured detached signature of the media (`<hash>.asc`, or
`<media name>.asc` in some versions), one of each proof file (`<proof>.asc`) and the device's
public key `pubkey.asc`; timestamp notes (`.ots`, `.gst`) may come too. A source sends either
the media and these files as items of one submission, or one ZIP with all of them.

Flow of `check_proofmode(store, item, siblings, sandbox)`:

1. Material: the other items the source sent in the same sitting (`siblings`, chosen by
   `provenance.sent_together`) that are proof files; or,
   when the item is itself a ZIP, its members, unpacked inside the sandbox (`ZIP_SCRIPT`: regular
   members only, names reduced to a safe base name, sizes capped), never in our process. No
   proof file at all: verdict `absent`. Proof material sent as its own item is `absent` too
   ("proof material, not media"): the verdict is on the media it speaks for.
2. For each media file: the proof that speaks for it (named after its hash, or naming its
   hash, its file name, or the only proof beside the only media file); the proof's SHA-256
   against the media's; the media's and the proof's signatures verified by gpg in a throwaway
   home (`--homedir` in a staging directory of the store, removed afterwards; never the
   workstation's keyring) that holds only `pubkey.asc`. Proof files are read here as text
   (`MAX_PROOF_BYTES` at most, CSV or JSON by the standard library, which interprets nothing).
3. Verdict: `valid` when both signatures are good and the hashes match, naming the key's
   fingerprint and user ids (the key comes with the bundle, so it says who holds the device's
   key, not who they are); `invalid` when a signature is bad or the hash differs (the proof
   does not describe these bytes); `unchecked` when pieces are missing (no key, no signature)
   or gpg fails, with the reason. Nothing here raises for a hostile bundle.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workstation.catalogue import Item
from workstation.errors import ConversionRefused
from workstation.provenance_reason import UNCHECKED_BECAUSE, ProvenanceReason, reason, say, say_all
from workstation.sandbox import INPUT_DIR, MIB, OUTPUT_DIR, Sandbox, SandboxLimits
from workstation.store import EvidenceStore

VALID = "valid"
INVALID = "invalid"
ABSENT = "absent"
UNCHECKED = "unchecked"
PUBKEY_NAME = "pubkey.asc"
SIGNATURE_SUFFIX = ".asc"
PROOF_SUFFIXES = (".proof.csv", ".proof.json")
# Further files of a proof set that are not media (timestamps, attestations, notes).
OTHER_PROOF_SUFFIXES = (".ots", ".gst", ".provider", ".proof.txt")
MAX_PROOF_BYTES = 1 * MIB
MAX_KEY_BYTES = 256 * 1024
MAX_MEMBERS = 64
MAX_TEXT = 300
GPG_TIMEOUT_SECONDS = 120
GPG_OPTIONS = ("--batch", "--no-tty", "--no-greeting", "--no-options", "--trust-model",
               "always", "--no-auto-key-retrieve", "--auto-key-locate", "local",
               "--no-autostart", "--status-fd", "1", "--with-colons", "--fixed-list-mode")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
ZIP_LIMITS = SandboxLimits(
    cpu_seconds=60,
    wall_seconds=120.0,
    memory_bytes=512 * MIB,
    file_bytes=2048 * MIB,
    output_bytes=2048 * MIB,
    tmp_bytes=16 * MIB,
    stdout_bytes=64 * 1024,
)
# Run by the system Python inside the sandbox: unpack regular members under safe base names.
ZIP_SCRIPT = """\
import re, shutil, sys, zipfile
source, target, most = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = set()
with zipfile.ZipFile(source) as archive:
    members = [m for m in archive.infolist() if not m.is_dir()][:most]
    for member in members:
        name = re.sub(r"[^A-Za-z0-9._-]", "_", member.filename.rsplit("/", 1)[-1])[:200]
        if not name.strip("._") or name in seen:
            continue
        seen.add(name)
        with archive.open(member) as data, open(f"{target}/{name}", "xb") as out:
            shutil.copyfileobj(data, out)
"""


@dataclass(frozen=True)
class ProofFile:
    """One file of a bundle: the name it came with and where its bytes are now."""

    name: str
    path: Path


@dataclass(frozen=True)
class MediaCheck:
    name: str
    sha256: str
    verdict: str
    summary: str
    checks: dict[str, str]
    signer: dict[str, Any] | None = None
    proof: str | None = None

    def as_entry(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "verdict": self.verdict,
                "summary": self.summary, "checks": self.checks, "signer": self.signer,
                "proof": self.proof}


@dataclass(frozen=True)
class ProofModeVerdict:
    verdict: str
    summary: str
    signer: dict[str, Any] | None = None
    media: tuple[MediaCheck, ...] = ()
    problem: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_entry(self) -> dict[str, Any]:
        """The part of a `provenance` custody entry that this verdict fills."""
        return {"verdict": self.verdict, "summary": self.summary, "signer": self.signer,
                "media": [check.as_entry() for check in self.media], "problem": self.problem}


def is_proof_material(name: str) -> bool:
    lowered = name.lower()
    return (lowered == PUBKEY_NAME or lowered.endswith(SIGNATURE_SUFFIX)
            or lowered.endswith(PROOF_SUFFIXES) or lowered.endswith(OTHER_PROOF_SUFFIXES))


def is_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


# Proof records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProofRecord:
    hashes: frozenset[str]
    names: frozenset[str]
    problem: ProvenanceReason | None = None


def _fields(rows: Iterable[Any]) -> ProofRecord:
    hashes: set[str] = set()
    names: set[str] = set()
    for row in rows:
        if not isinstance(row, dict):
            continue
        for key, value in row.items():
            if not isinstance(key, str) or not isinstance(value, str):
                continue
            folded = key.casefold().replace(" ", "")
            if "sha256" in folded and _SHA256.match(value.strip().lower()):
                hashes.add(value.strip().lower())
            elif folded in ("filepath", "filename", "file"):
                names.add(value.replace("\\", "/").rsplit("/", 1)[-1])
    return ProofRecord(frozenset(hashes), frozenset(names))


def read_proof(path: Path) -> ProofRecord:
    """The media hashes and names a proof file states (CSV or JSON), or why it cannot say."""
    if path.stat().st_size > MAX_PROOF_BYTES:
        return ProofRecord(frozenset(), frozenset(),
                           reason("proof_too_large", mib=str(MAX_PROOF_BYTES // MIB)))
    text = path.read_bytes().decode("utf-8", "replace")
    try:
        if path.name.lower().endswith(".json"):
            parsed = json.loads(text)
            return _fields(parsed if isinstance(parsed, list) else [parsed])
        return _fields(csv.DictReader(io.StringIO(text)))
    except (ValueError, csv.Error, RecursionError):
        return ProofRecord(frozenset(), frozenset(), reason("proof_unreadable"))


# gpg --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureCheck:
    status: str  # good, bad, missing, error
    fingerprint: str | None = None
    detail: str | None = None  # why it is bad: a key of provenance_reason.SIGNATURE_DETAILS


def _gpg(home: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    binary = shutil.which("gpg")
    if binary is None:
        raise FileNotFoundError("gpg is not installed (Debian package gnupg)")
    return subprocess.run([binary, "--homedir", str(home), *GPG_OPTIONS, *args],
                          stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=GPG_TIMEOUT_SECONDS, check=False)


def _status(output: bytes) -> list[tuple[str, list[str]]]:
    lines = []
    for raw in output.decode("utf-8", "replace").splitlines():
        if raw.startswith("[GNUPG:] "):
            keyword, *rest = raw[9:].split(" ")
            lines.append((keyword, rest))
    return lines


class _Keyring:
    """A throwaway gpg home holding only the bundle's public key."""

    def __init__(self, home: Path, key: Path) -> None:
        self.home = home
        home.mkdir(mode=0o700)
        result = _gpg(home, "--import", str(key))
        self.fingerprints = [rest[1] for keyword, rest in _status(result.stdout)
                             if keyword == "IMPORT_OK" and len(rest) > 1]
        listing = _gpg(home, "--list-keys").stdout.decode("utf-8", "replace")
        self.user_ids: dict[str, list[str]] = {}
        primary = None
        expect_primary = False
        for line in listing.splitlines():
            fields = line.split(":")
            if fields[0] == "pub":
                expect_primary = True
            elif fields[0] == "fpr" and expect_primary and len(fields) > 9:
                primary = fields[9]
                self.user_ids[primary] = []
                expect_primary = False
            elif fields[0] == "uid" and primary is not None and len(fields) > 9:
                self.user_ids[primary].append(fields[9][:MAX_TEXT])

    def signer(self, fingerprint: str | None) -> dict[str, Any] | None:
        if fingerprint is None:
            return None
        return {"fingerprint": fingerprint, "user_ids": self.user_ids.get(fingerprint, [])}

    def verify(self, signature: ProofFile | None, data: Path) -> SignatureCheck:
        if signature is None:
            return SignatureCheck("missing")
        if signature.path.stat().st_size > MAX_KEY_BYTES:
            return SignatureCheck("bad", detail="too_large")
        result = _gpg(self.home, "--verify", str(signature.path), str(data))
        status = _status(result.stdout)
        valid = [rest for keyword, rest in status if keyword == "VALIDSIG"]
        if result.returncode == 0 and valid and len(valid[0]) > 9:
            # VALIDSIG's tenth field is the primary key's fingerprint.
            return SignatureCheck("good", valid[0][9])
        for keyword, _rest in status:
            if keyword == "BADSIG":
                return SignatureCheck("bad", detail="mismatch")
            if keyword in ("ERRSIG", "NO_PUBKEY"):
                return SignatureCheck("bad", detail="unknown_key")
        return SignatureCheck("bad", detail="refused")


# Matching ---------------------------------------------------------------------------------------


def _by_name(material: Sequence[ProofFile]) -> dict[str, ProofFile]:
    return {file.name.lower(): file for file in material}


def _proof_for(name: str, sha256: str, proofs: dict[str, ProofRecord],
               only_media: bool) -> str | None:
    for suffix in PROOF_SUFFIXES:
        for stem in (sha256, name.lower()):
            if f"{stem}{suffix}" in proofs:
                return f"{stem}{suffix}"
    for proof_name, record in sorted(proofs.items()):
        if sha256 in record.hashes or name in record.names:
            return proof_name
    # A lone media file and a lone proof set (its CSV and JSON state the same hashes) belong
    # together even when the hashes differ: that difference is the finding.
    if only_media and len({record.hashes for record in proofs.values()}) == 1:
        return sorted(proofs)[0]
    return None


def _check_media(media: ProofFile, proofs: dict[str, ProofRecord],
                 material: dict[str, ProofFile], keyring: _Keyring | None,
                 only_media: bool) -> MediaCheck:
    sha256 = _sha256(media.path)
    proof_name = _proof_for(media.name, sha256, proofs, only_media)
    media_signature = (material.get(f"{sha256}{SIGNATURE_SUFFIX}")
                       or material.get(f"{media.name.lower()}{SIGNATURE_SUFFIX}"))
    if proof_name is None and media_signature is None:
        return MediaCheck(media.name, sha256, ABSENT, say("proofmode_absent"), {})
    checks: dict[str, str] = {}
    reasons: list[ProvenanceReason] = []
    record = proofs.get(proof_name) if proof_name else None
    if record is None:
        checks["proof_hash"] = "missing"
        reasons.append(reason("proof_missing"))
    elif record.problem is not None:
        checks["proof_hash"] = "unreadable"
        reasons.append(record.problem)
    elif sha256 in record.hashes:
        checks["proof_hash"] = "match"
    else:
        checks["proof_hash"] = "mismatch"
        reasons.append(reason("proof_hash_mismatch"))
        if media_signature is None:
            # The signature is named after the hash of the file the proof was made for.
            for stated in sorted(record.hashes):
                media_signature = material.get(f"{stated}{SIGNATURE_SUFFIX}")
                if media_signature is not None:
                    break
    proof_signature = material.get(f"{proof_name}{SIGNATURE_SUFFIX}") if proof_name else None
    signer = None
    if keyring is None:
        checks["media_signature"] = checks["proof_signature"] = "unchecked"
        reasons.append(reason("no_public_key"))
    else:
        media_check = keyring.verify(media_signature, media.path)
        checks["media_signature"] = media_check.status
        if media_check.detail:
            reasons.append(reason(f"media_signature_{media_check.detail}"))
        proof_check = (keyring.verify(proof_signature, material[proof_name].path)
                       if proof_name else SignatureCheck("missing"))
        checks["proof_signature"] = proof_check.status
        if proof_check.detail:
            reasons.append(reason(f"proof_signature_{proof_check.detail}"))
        signer = keyring.signer(media_check.fingerprint or proof_check.fingerprint)
        for which, check in (("media", media_check), ("proof", proof_check)):
            if check.status == "missing":
                reasons.append(reason(f"no_{which}_signature"))
    values = set(checks.values())
    if values & {"bad", "mismatch"}:
        verdict, summary = INVALID, say_all(reasons)
    elif values == {"good", "match"}:
        verdict = VALID
        summary = say("proofmode_valid", fingerprint=signer["fingerprint"] if signer else "?")
    else:
        verdict, summary = UNCHECKED, say_all([reason(UNCHECKED_BECAUSE), *reasons])
    return MediaCheck(media.name, sha256, verdict, summary[:4 * MAX_TEXT], checks, signer,
                      proof_name)


def check_bundle(staging: Path, media: Sequence[ProofFile], material: Sequence[ProofFile],
                 only_media: bool) -> ProofModeVerdict:
    """The verdict on the media files of one bundle (`staging` is a private scratch dir).
    `only_media`: no other media came with it, so a lone proof set can only be of this."""
    by_name = _by_name(material)
    proofs = {name: read_proof(file.path) for name, file in by_name.items()
              if name.endswith(PROOF_SUFFIXES)}
    key = by_name.get(PUBKEY_NAME)
    try:
        keyring = None
        if key is not None and key.path.stat().st_size <= MAX_KEY_BYTES:
            keyring = _Keyring(staging / "gnupg", key.path)
        checks = tuple(_check_media(file, proofs, by_name, keyring, only_media)
                       for file in media)
    except (OSError, subprocess.SubprocessError) as exc:
        return ProofModeVerdict(UNCHECKED, say("unchecked"),
                                problem=say("proofmode_gpg_failed", error=str(exc)))
    found = [check for check in checks if check.verdict != ABSENT]
    if not found:
        return ProofModeVerdict(ABSENT, say("proofmode_absent"), media=checks)
    for verdict in (INVALID, UNCHECKED, VALID):
        worst = [check for check in found if check.verdict == verdict]
        if worst:
            return ProofModeVerdict(verdict, worst[0].summary, worst[0].signer, checks)
    raise AssertionError("unreachable: every check has a verdict")


def unpack_zip(store: EvidenceStore, item: Item, sandbox: Sandbox, target: Path,
               limits: SandboxLimits = ZIP_LIMITS) -> list[ProofFile]:
    """The ZIP's regular members, unpacked in the sandbox; `ConversionRefused` if it fails."""
    with store.staging_dir("proofzip") as staging:
        output = staging / "output"
        output.mkdir()
        result = sandbox.run(["/usr/bin/python3", "-I", "-c", ZIP_SCRIPT,
                              f"{INPUT_DIR}/bundle.zip", OUTPUT_DIR, str(MAX_MEMBERS)],
                             input_file=item.content_path, output_dir=output, limits=limits,
                             input_name="bundle.zip").require_success()
        files = []
        for path in result.files:
            moved = target / path.name
            path.rename(moved)
            files.append(ProofFile(path.name, moved))
    return files


def check_proofmode(store: EvidenceStore, item: Item, siblings: Sequence[Item],
                    sandbox: Sandbox, limits: SandboxLimits = ZIP_LIMITS) -> ProofModeVerdict:
    """The ProofMode verdict on one file item (see the module docstring)."""
    name = item.original_name or f"file-{item.item_id[:12]}"
    if is_proof_material(name):
        return ProofModeVerdict(ABSENT, say("proofmode_material"))
    with store.staging_dir("proofmode") as staging:
        if name.lower().endswith(".zip") and is_zip(item.content_path):
            unpacked = staging / "unpacked"
            unpacked.mkdir()
            try:
                members = unpack_zip(store, item, sandbox, unpacked, limits)
            except ConversionRefused as exc:
                return ProofModeVerdict(UNCHECKED, say("unchecked"),
                                        problem=say("proofmode_zip_failed", reason=exc.reason))
            material = [m for m in members if is_proof_material(m.name)]
            if not material:
                return ProofModeVerdict(ABSENT, say("proofmode_absent_zip"))
            media = [m for m in members if not is_proof_material(m.name)]
        else:
            material = [ProofFile(s.original_name, s.content_path) for s in siblings
                        if s.original_name and is_proof_material(s.original_name)]
            if not material:
                return ProofModeVerdict(ABSENT, say("proofmode_absent"))
            media = [ProofFile(name, item.content_path)]
            only_media = not any(
                s.kind == "file" and s.item_id != item.item_id
                and not is_proof_material(s.original_name or "") for s in siblings)
            return check_bundle(staging, media, material, only_media)
        return check_bundle(staging, media, material, len(media) == 1)
