"""Checking the trusted timestamps a transfer bundle carries, and keeping them with the originals.

The flow, during `workstation.importer.import_bundle`: `check_bundle_stamps` verifies every
token of every tree in the bundle (crypto.timestamp_token, against the TSA roots the officer
trusts, `DIR/tsa-roots/*.pem`, added with `skrynka-workstation tsa trust`), then, item by item,
recomputes the Merkle root from the item's ciphertext SHA-256 (and its encrypted receipt's),
its leaf index and its inclusion path (crypto.merkle) and compares it with the tree's root.

The verdict of each item is one of:

- ``verified``: both paths lead to the root and at least one token on that root verifies;
- ``refused``: a path leads elsewhere (the item or its path was changed after stamping), the
  tree is unknown, or no token verifies (another root, an untrusted or expired TSA
  certificate, a token file that does not match the manifest); the reason says which;
- ``not stamped``: the server had not stamped the item yet when the bundle was made.

A refused timestamp does not refuse the bundle: the evidence passed its own checks (signature,
hashes, receipts), and losing it because a third party's token is bad would be worse. The
verdict goes into the item's custody entry, the import report warns about it, and the token
files, path and encrypted receipt are kept beside the original (`stage_stamp`), so the proof can
be checked again later or by a recipient with `openssl ts -verify` alone.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from crypto.errors import BadInclusionPath, TimestampTokenInvalid
from crypto.merkle import leaf_hash, parse_hex_digest, path_sides, root_from_path
from crypto.timestamp_token import TokenFacts, load_roots, verify_token
from formats.bundle_manifest import ManifestItem
from formats.timestamps import LeafRef, TreeRecord
from workstation.bundle import VerifiedBundle
from workstation.errors import TsaRootsUnusable, WorkstationError
from workstation.store import EvidenceStore, write_bytes_atomic, write_json_atomic

VERIFIED = "verified"
REFUSED = "refused"
NOT_STAMPED = "not stamped"
PROOF_FORMAT = "skrynka-timestamp-proof"
PROOF_VERSION = 1
MAX_TOKEN_BYTES = 256 * 1024


@dataclass(frozen=True)
class TokenVerdict:
    tsa: str
    ok: bool
    reason: str
    response: bytes
    facts: TokenFacts | None = None

    def as_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"tsa": self.tsa, "verdict": VERIFIED if self.ok else REFUSED,
                                  "reason": self.reason,
                                  "sha256": hashlib.sha256(self.response).hexdigest()}
        if self.facts is not None:
            record["gen_time"] = self.facts.gen_time.strftime("%Y-%m-%dT%H:%M:%SZ")
            record["tsa_subject"] = self.facts.tsa_subject
            record["tsa_certificate_not_after"] = self.facts.tsa_not_after.strftime(
                "%Y-%m-%dT%H:%M:%SZ")
            record["hash_algorithm"] = self.facts.hash_algorithm
        return record


@dataclass(frozen=True)
class StampVerdict:
    verdict: str
    reason: str
    tree: TreeRecord | None = None
    tokens: tuple[TokenVerdict, ...] = ()
    leaves: dict[str, tuple[LeafRef, str]] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        """What the custody entry records (signed with the rest of the entry)."""
        record: dict[str, Any] = {"verdict": self.verdict, "reason": self.reason}
        if self.tree is not None:
            record["tree_root"] = self.tree.root
            record["tree_size"] = self.tree.size
            record["tokens"] = [t.as_record() for t in self.tokens]
        return record


def tsa_roots_dir(store: EvidenceStore) -> Path:
    return store.root / "tsa-roots"


def trust_tsa_root(store: EvidenceStore, pem_file: Path) -> str:
    """Add a TSA root certificate (PEM) to the store; return its SHA-256 fingerprint."""
    try:
        data = pem_file.read_bytes()
        [root] = load_roots(data)[:1]
    except (OSError, TimestampTokenInvalid) as exc:
        raise TsaRootsUnusable(pem_file, str(exc)) from exc
    fingerprint = root.fingerprint(hashes.SHA256()).hex()
    directory = tsa_roots_dir(store)
    directory.mkdir(mode=0o700, exist_ok=True)
    write_bytes_atomic(directory / f"{fingerprint}.pem", data, mode=0o444)
    return fingerprint


def trusted_roots(store: EvidenceStore) -> list[x509.Certificate]:
    roots: list[x509.Certificate] = []
    directory = tsa_roots_dir(store)
    for path in sorted(directory.glob("*.pem")) if directory.is_dir() else []:
        try:
            roots.extend(load_roots(path.read_bytes()))
        except (OSError, TimestampTokenInvalid) as exc:
            raise TsaRootsUnusable(path, str(exc)) from exc
    return roots


def check_token(response: bytes, message: bytes, roots: list[x509.Certificate], tsa: str
                ) -> TokenVerdict:
    try:
        facts = verify_token(response, message, roots)
    except TimestampTokenInvalid as exc:
        return TokenVerdict(tsa=tsa, ok=False, reason=exc.reason, response=response)
    return TokenVerdict(tsa=tsa, ok=True, reason="the token verifies", response=response,
                        facts=facts)


def _tree_tokens(archive: zipfile.ZipFile, tree: TreeRecord, roots: list[x509.Certificate]
                 ) -> tuple[TokenVerdict, ...]:
    root = bytes.fromhex(tree.root)
    verdicts = []
    for token in tree.tokens:
        data = archive.read(token.path)[:MAX_TOKEN_BYTES + 1]
        if (len(data), hashlib.sha256(data).hexdigest()) != (token.size, token.sha256):
            verdicts.append(TokenVerdict(token.tsa, False, "the token file does not match the"
                                         " signed manifest", data))
            continue
        verdicts.append(check_token(data, root, roots, token.tsa))
    return tuple(verdicts)


def _path_leads_to_root(file_sha256: str, leaf: LeafRef, tree: TreeRecord) -> str | None:
    """None if the path leads to the tree's root, else why not."""
    try:
        path = [parse_hex_digest(p, "a path hash") for p in leaf.path]
        found = root_from_path(leaf_hash(bytes.fromhex(file_sha256)), leaf.index, tree.size,
                               path)
    except BadInclusionPath as exc:
        return str(exc)
    if found.hex() != tree.root:
        return "its inclusion path does not lead to the stamped root"
    return None


def verify_item_stamp(item: ManifestItem, trees: dict[int, TreeRecord],
                      tokens: dict[int, tuple[TokenVerdict, ...]]) -> StampVerdict:
    stamp = item.timestamp
    if stamp is None:
        return StampVerdict(NOT_STAMPED, "the server had not stamped this item when the bundle"
                            " was made; a later bundle carries its timestamp")
    tree = trees.get(stamp.tree)
    if tree is None:
        return StampVerdict(REFUSED, f"the item names tree {stamp.tree}, which the bundle does"
                            " not carry")
    leaves = {"ciphertext": (stamp.ciphertext, item.ciphertext.sha256)}
    if stamp.receipt is not None and item.receipt is not None:
        leaves["receipt"] = (stamp.receipt, item.receipt.sha256)
    tree_tokens = tokens.get(tree.id, ())
    for role, (leaf, sha) in leaves.items():
        problem = _path_leads_to_root(sha, leaf, tree)
        if problem is not None:
            return StampVerdict(REFUSED, f"the {role}: {problem} (the item or its path was"
                                " changed after it was stamped)", tree, tree_tokens, leaves)
    good = [t for t in tree_tokens if t.ok]
    if not good:
        reasons = "; ".join(f"{t.tsa}: {t.reason}" for t in tree_tokens) or "no token"
        return StampVerdict(REFUSED, f"no token on the root verifies ({reasons})", tree,
                            tree_tokens, leaves)
    times = ", ".join(
        f"{t.facts.gen_time.strftime('%Y-%m-%dT%H:%M:%SZ')} by {t.facts.tsa_subject}"
        for t in good if t.facts is not None
    )
    return StampVerdict(VERIFIED, f"existed by {times}", tree, tree_tokens, leaves)


def check_bundle_stamps(bundle: VerifiedBundle, roots: list[x509.Certificate]
                        ) -> dict[str, StampVerdict]:
    """Each item's verdict, by item uuid (see the module doc)."""
    trees = {tree.id: tree for tree in bundle.trees}
    with zipfile.ZipFile(bundle.path) as archive:
        tokens = {tree.id: _tree_tokens(archive, tree, roots) for tree in bundle.trees}
    return {item.uuid: verify_item_stamp(item, trees, tokens) for item in bundle.items}


def proof_document(item: ManifestItem, verdict: StampVerdict) -> dict[str, Any]:
    """`proof.json`: everything needed to check the chain without Skrynka code."""
    assert verdict.tree is not None
    leaves = {}
    for role, (leaf, sha) in verdict.leaves.items():
        try:
            sides = path_sides(leaf.index, verdict.tree.size)
        except BadInclusionPath:
            sides = []
        leaves[role] = {
            "file_sha256": sha,
            "leaf_hash": leaf_hash(bytes.fromhex(sha)).hex(),
            "index": leaf.index,
            "path": [{"side": side, "hash": h} for side, h in zip(sides, leaf.path,
                                                                   strict=False)],
        }
    return {
        "format": PROOF_FORMAT,
        "version": PROOF_VERSION,
        "submission_uuid": item.uuid,
        "tree_root": verdict.tree.root,
        "tree_size": verdict.tree.size,
        "leaves": leaves,
        "tokens": [
            {"file": f"token-{n}.tsr", **t.as_record()}
            for n, t in enumerate(verdict.tokens, start=1)
        ],
        "verdict": verdict.verdict,
        "reason": verdict.reason,
    }


def stage_stamp(target: Path, item: ManifestItem, verdict: StampVerdict,
                encrypted_receipt: Path | None) -> None:
    """Write `timestamps/<uuid>/` beside a staged original: proof, root, tokens, receipt."""
    if verdict.tree is None:
        return
    target.mkdir(parents=True)
    proof = proof_document(item, verdict)
    write_json_atomic(target / "proof.json", proof, mode=0o444)
    for role, leaf in proof["leaves"].items():
        # The same path as plain "side hash" lines, for checking with a shell and openssl.
        lines = "".join(f"{step['side']} {step['hash']}\n" for step in leaf["path"])
        write_bytes_atomic(target / f"{role}-path.txt", lines.encode("ascii"), mode=0o444)
    write_bytes_atomic(target / "root.bin", bytes.fromhex(verdict.tree.root), mode=0o444)
    for number, token in enumerate(verdict.tokens, start=1):
        write_bytes_atomic(target / f"token-{number}.tsr", token.response, mode=0o444)
    if encrypted_receipt is not None:
        write_bytes_atomic(target / "receipt.gpg", encrypted_receipt.read_bytes(), mode=0o444)


def stamp_summary(item_dir: Path, tag_dir: str, sources: set[str],
                  submissions: Sequence[Any]) -> list[dict[str, Any]]:
    """The statement's `timestamps` of one item: where each kept proof is and its verdict."""
    summary = []
    for sub in submissions:
        proof_path = item_dir / "timestamps" / sub.submission_uuid / "proof.json"
        if sub.source_uuid not in sources or not proof_path.is_file():
            continue
        proof = read_proof(proof_path)
        item_id = item_dir.name
        summary.append({
            "submission_uuid": sub.submission_uuid,
            "path": f"{tag_dir}/items/{item_id}/timestamps/{sub.submission_uuid}",
            "verdict": proof["verdict"],
            "tree_root": proof["tree_root"],
            "tokens": [{"file": t["file"], "verdict": t["verdict"],
                        "gen_time": t.get("gen_time")} for t in proof["tokens"]],
        })
    return summary


def summary_line(uuid: str, verdict: StampVerdict) -> str:
    return f"timestamp of submission {uuid}: {verdict.verdict}: {verdict.reason}"


def read_proof(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_bytes())
    if not isinstance(document, dict) or document.get("format") != PROOF_FORMAT:
        raise WorkstationError(f"{path} is not a timestamp proof; the store was changed by hand")
    return document
