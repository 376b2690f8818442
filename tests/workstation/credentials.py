"""Content credentials made by the tests themselves: C2PA manifests signed with c2pa-python's
Builder and a certificate chain made here, and ProofMode-style proof sets signed by real gpg."""

from __future__ import annotations

import datetime
import hashlib
import io
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CAMERA = "Field Camera 7"
LAB = "Skrynka Test Lab"
ROOT = "Skrynka Test Root"


@dataclass(frozen=True)
class CertificateChain:
    chain_pem: bytes  # the signer's certificate, then the root's
    key_pem: bytes
    root_pem: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, LAB)])


def _usage(*, signer: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=signer, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=not signer, crl_sign=not signer, encipher_only=False,
                         decipher_only=False)


def make_chain() -> CertificateChain:
    """A root CA and a signing certificate it issued, as C2PA's certificate profile wants."""
    now = datetime.datetime.now(datetime.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (x509.CertificateBuilder().subject_name(_name(ROOT)).issuer_name(_name(ROOT))
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(signer=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                           critical=False)
            .sign(root_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(_name(CAMERA)).issuer_name(root.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(signer=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return CertificateChain(
        chain_pem=leaf.public_bytes(pem) + root.public_bytes(pem),
        key_pem=key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()),
        root_pem=root.public_bytes(pem),
    )


def sign_c2pa(image: bytes, chain: CertificateChain, title: str = "yard.jpg") -> bytes:
    """The JPEG with a C2PA manifest ("created by a camera") signed by `chain`."""
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ES256, chain.chain_pem, chain.key_pem, None))
    manifest = {
        "claim_generator_info": [{"name": "skrynka-tests", "version": "1"}],
        "title": title,
        "format": "image/jpeg",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
            "action": "c2pa.created",
            "digitalSourceType":
                "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
        }]}}],
    }
    signed = io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, "image/jpeg", io.BytesIO(image), signed)
    return signed.getvalue()


def edit_after_signing(signed: bytes, old: bytes = b"TestCam", new: bytes = b"BestCam") -> bytes:
    """The same file with its camera name edited: the bytes the manifest's hash covers change."""
    assert signed.count(old) == 1
    return signed.replace(old, new)


def change_claim(signed: bytes, title: str = "yard.jpg") -> bytes:
    """The manifest's own claim edited (its title), so the claim signature no longer matches."""
    old = title.encode()
    assert signed.count(old) == 1
    return signed.replace(old, old[:-1] + b"G")


def corrupt_manifest(signed: bytes) -> bytes:
    """Garbage written over part of the manifest box (its CBOR claim)."""
    start = signed.index(b"c2pa.signature") + 200
    damaged = bytearray(signed)
    for index in range(start, start + 60):
        damaged[index] ^= 0x5A
    return bytes(damaged)


# ProofMode ----------------------------------------------------------------------------------------


class ProofModeDevice:
    """A phone's ProofMode key: a real OpenPGP key in a throwaway gpg home (short path)."""

    def __init__(self, home: Path, user_id: str = "ProofMode device <device@proofmode.test>"):
        self.home = home
        self.user_id = user_id
        self._gpg("--quick-generate-key", user_id, "ed25519", "sign", "never")
        listing = self._gpg("--with-colons", "--list-keys").decode()
        self.fingerprint = next(line.split(":")[9] for line in listing.splitlines()
                                if line.startswith("fpr:"))

    def _gpg(self, *args: str, stdin: bytes = b"") -> bytes:
        return subprocess.run(
            ["gpg", "--homedir", str(self.home), "--batch", "--pinentry-mode", "loopback",
             "--passphrase", "", *args],
            input=stdin, capture_output=True, check=True, timeout=120).stdout

    def public_key(self) -> bytes:
        return self._gpg("--armor", "--export", self.fingerprint)

    def sign(self, data: bytes) -> bytes:
        return self._gpg("--armor", "--detach-sign", stdin=data)

    def proof_set(self, media: bytes, name: str) -> dict[str, bytes]:
        """What the app writes beside a photo: proof CSV, both signatures, the public key."""
        digest = hashlib.sha256(media).hexdigest()
        proof = ("File Hash SHA256,File Path,File Modified,Proof Generated,Location.Latitude\n"
                 f"{digest},/storage/emulated/0/DCIM/Camera/{name},2026-11-27 05:10:02,"
                 "2026-11-27 05:10:03,53.9\n").encode()
        return {
            f"{digest}.proof.csv": proof,
            f"{digest}.proof.csv.asc": self.sign(proof),
            f"{digest}.asc": self.sign(media),
            "pubkey.asc": self.public_key(),
        }


def proof_device() -> Iterator[ProofModeDevice]:
    """A device key for one test; its gpg-agent is stopped afterwards."""
    home = Path(tempfile.mkdtemp(prefix="skp-", dir="/tmp"))
    try:
        yield ProofModeDevice(home)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"],
                       capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


def zipped(files: dict[str, bytes]) -> bytes:
    """The files in one ZIP, as a source might send a ProofMode share."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"proofmode/{name}", data)
    return out.getvalue()
