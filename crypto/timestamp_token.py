"""RFC 3161 time-stamp requests and tokens, through the kept `rfc3161-client` library.

The server builds a request over a message (a Merkle root, a custody-log head line, a renewal
document) with `build_request`, sends it to an authority and checks the answer with
`verify_token`; the workstation checks the same tokens with `verify_token` again, against the
TSA root certificates its officer trusts. No ASN.1 is parsed here: `rfc3161-client` decodes the
response, checks the CMS signature and the certificate chain *at the token's own time*, the
critical id-kp-timeStamping extended key usage, the nonce and the message imprint.

Every failure, including a response that is not DER at all, raises
:class:`TimestampTokenInvalid` with the reason in words; nothing here raises anything else.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from crypto.errors import TimestampTokenInvalid, TimestampTokenMismatch

SHA256_OID = "2.16.840.1.101.3.4.2.1"
SHA512_OID = "2.16.840.1.101.3.4.2.3"
_ALGORITHMS = {"sha256": HashAlgorithm.SHA256, "sha512": HashAlgorithm.SHA512}
_OIDS = {SHA256_OID: "sha256", SHA512_OID: "sha512"}


@dataclass(frozen=True)
class TimestampRequest:
    der: bytes
    nonce: int | None


@dataclass(frozen=True)
class TokenFacts:
    """What a verified token says."""

    gen_time: datetime
    serial_number: int
    policy: str
    hash_algorithm: str
    tsa_subject: str
    tsa_not_after: datetime


def build_request(message: bytes, algorithm: str = "sha256") -> TimestampRequest:
    """A DER TimeStampReq over ``message`` hashed with ``algorithm``, with a nonce and certReq."""
    if algorithm not in _ALGORITHMS:
        raise TimestampTokenInvalid(f"unsupported hash algorithm {algorithm!r}")
    request = (
        TimestampRequestBuilder()
        .data(message)
        .hash_algorithm(_ALGORITHMS[algorithm])
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    return TimestampRequest(der=request.as_bytes(), nonce=request.nonce)


def load_roots(pem: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM file; TimestampTokenInvalid if there is none."""
    try:
        roots = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise TimestampTokenInvalid(f"the TSA root file is not PEM certificates ({exc})") from exc
    if not roots:
        raise TimestampTokenInvalid("the TSA root file holds no certificate")
    return roots


def _leaf_certificate(der_certs: set[bytes], issuer: x509.Name, serial: int
                      ) -> x509.Certificate | None:
    for der in der_certs:
        cert = x509.load_der_x509_certificate(der)
        if cert.issuer == issuer and cert.serial_number == serial:
            return cert
    return None


def verify_token(
    response: bytes,
    message: bytes,
    roots: list[x509.Certificate],
    *,
    nonce: int | None = None,
) -> TokenFacts:
    """Check a DER TimeStampResp over ``message`` against ``roots``; return what it says."""
    if not roots:
        raise TimestampTokenInvalid("no TSA root certificate is trusted, so no token can verify")
    try:
        decoded = decode_timestamp_response(response)
    except ValueError as exc:
        raise TimestampTokenInvalid(f"not an RFC 3161 response ({exc})") from exc
    if decoded.status != PKIStatus.GRANTED:
        raise TimestampTokenInvalid(
            f"the authority did not grant the request (status {decoded.status}: "
            f"{'; '.join(decoded.status_string) or 'no reason given'})"
        )
    try:
        info = decoded.tst_info
        algorithm = _OIDS.get(info.message_imprint.hash_algorithm.dotted_string)
        if algorithm is None:
            raise TimestampTokenInvalid(
                f"the token uses hash {info.message_imprint.hash_algorithm.dotted_string}, "
                "which this verifier does not accept"
            )
        digest = hashlib.new(algorithm, message).digest()
        if info.message_imprint.message != digest:
            raise TimestampTokenMismatch(
                "the token stamps other data (its message imprint is not the hash of this "
                "root or document)"
            )
        builder = VerifierBuilder()
        for root in roots:
            builder = builder.add_root_certificate(root)
        if nonce is not None:
            builder = builder.nonce(nonce)
        builder.build().verify(decoded, digest)
        signer = next(iter(decoded.signed_data.signer_infos))
        leaf = _leaf_certificate(decoded.signed_data.certificates, signer.issuer,
                                 signer.serial_number)
    except VerificationError as exc:
        raise TimestampTokenInvalid(_explain(str(exc))) from exc
    except ValueError as exc:
        raise TimestampTokenInvalid(f"the token is malformed ({exc})") from exc
    if leaf is None:
        raise TimestampTokenInvalid("the token does not carry its TSA certificate")
    return TokenFacts(
        gen_time=info.gen_time.astimezone(UTC),
        serial_number=info.serial_number,
        policy=info.policy.dotted_string,
        hash_algorithm=algorithm,
        tsa_subject=leaf.subject.rfc4514_string(),
        tsa_not_after=leaf.not_valid_after_utc,
    )


def _explain(reason: str) -> str:
    if "certificates" in reason.lower():
        found = re.search(r"Verify error: ([^\"]+)", reason)
        detail = found.group(1) if found else reason
        return (
            "the TSA certificate does not chain to a trusted TSA root, or was not valid (expired"
            f" or not yet valid) at the token's time: {detail}"
        )
    return reason
