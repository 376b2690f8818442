"""Embedded metadata kept as evidence: what exiftool reads from an original, signed and stored.

Flow of `record_metadata` (run for every file item an import adds): exiftool (`-json -n -G1`)
reads the original inside the sandbox (`workstation.sandbox`), never in our own process or
outside the sandbox; its whole JSON is kept, with the `System` group (names, dates and
permissions of the sandbox's copy, not of the evidence) left out, next to a normalised summary:
capture time and time zone, GPS position, device, software, edit history, video container, and
exiftool's own warnings. The record is written to `DIR/metadata/<item id>.json`, beside the
original and independent of working copies, and a `metadata` custody entry carries the record's
SHA-256 and summary, so the record is signed and a changed record no longer matches its entry.

A file exiftool cannot read (malformed, too large, built to make it loop or exhaust memory)
never stops an import: the sandbox's limits stop exiftool, and the record says "metadata could
not be read: <reason>" with `status` "unreadable". Only a sandbox that cannot start at all is
an error (`SandboxUnavailable`), and the import has finished by then; `metadata ITEM` retries.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workstation.catalogue import Item, find_item
from workstation.custody import CustodyLog, Entry, canonical_bytes
from workstation.errors import ConversionRefused
from workstation.sandbox import MIB, Sandbox, SandboxLimits
from workstation.store import EvidenceStore, read_json, utc_now, write_bytes_atomic

RECORD_FORMAT = "skrynka-metadata"
RECORD_VERSION = 1
ACTION = "metadata"
READ = "read"
UNREADABLE = "unreadable"
EXIFTOOL = "exiftool"
# exiftool reads metadata, it does not decode pixels: seconds and a few hundred MiB suffice,
# and anything needing more is treated as hostile.
EXIFTOOL_LIMITS = SandboxLimits(
    cpu_seconds=30,
    wall_seconds=60.0,
    memory_bytes=768 * MIB,
    file_bytes=16 * MIB,
    output_bytes=16 * MIB,
    tmp_bytes=64 * MIB,
    stdout_bytes=8 * MIB,
)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")

# Tag names (after exiftool's `Group:`) that answer each question, in order of preference.
CAPTURE_TIME_TAGS = ("DateTimeOriginal", "CreationDate", "CreateDate", "MediaCreateDate",
                     "DateCreated", "GPSDateTime", "ModifyDate")
TIME_ZONE_TAGS = ("OffsetTimeOriginal", "OffsetTimeDigitized", "OffsetTime", "TimeZone",
                  "TimeZoneOffset")
DEVICE_TAGS = ("Make", "Model", "LensModel", "SerialNumber", "AndroidModel",
               "AndroidManufacturer")
SOFTWARE_TAGS = ("Software", "CreatorTool", "ProcessingSoftware", "Encoder", "HandlerVendorID",
                 "AndroidVersion")
EDIT_TAGS = ("HistoryAction", "HistoryWhen", "HistorySoftwareAgent", "HistoryChanged",
             "DerivedFromDocumentID", "ModifyDate", "MetadataDate")
VIDEO_GROUPS = ("QuickTime", "Track", "Matroska", "RIFF", "H264", "M2TS", "Keys", "UserData",
                "ItemList")
VIDEO_TAGS = ("MajorBrand", "Duration", "ImageWidth", "ImageHeight", "VideoFrameRate",
              "CompressorID", "CompressorName", "AudioFormat", "AudioChannels",
              "AudioSampleRate", "HandlerDescription", "Rotation", "MuxingApp", "WritingApp",
              "VideoCodec", "AvgBitrate")
WARNING_TAGS = ("Warning", "Error")


@dataclass(frozen=True)
class MetadataRecord:
    item_id: str
    status: str
    problem: str | None
    summary: dict[str, Any]
    exiftool: dict[str, Any] = field(default_factory=dict)
    record_sha256: str = ""


def metadata_dir(store: EvidenceStore) -> Path:
    return store.root / "metadata"


def record_path(store: EvidenceStore, item_id: str) -> Path:
    return metadata_dir(store) / f"{item_id}.json"


def _tags(data: Mapping[str, Any], names: tuple[str, ...],
          groups: tuple[str, ...] | None = None) -> dict[str, Any]:
    """`Group:Tag` values whose tag is in `names` (and group starts with one of `groups`)."""
    found: dict[str, Any] = {}
    for name in names:
        for key, value in data.items():
            group, _, tag = key.rpartition(":")
            if tag != name or (groups and not group.startswith(groups)):
                continue
            found.setdefault(key, value)
    return found


def _first(data: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any] | None:
    for name in names:
        for key, value in data.items():
            if key.rpartition(":")[2] == name:
                return {"value": value, "tag": key}
    return None


def _gps(data: Mapping[str, Any]) -> dict[str, Any] | None:
    latitude = data.get("Composite:GPSLatitude")
    longitude = data.get("Composite:GPSLongitude")
    source = "Composite:GPSLatitude/GPSLongitude"
    if not isinstance(latitude, int | float) or not isinstance(longitude, int | float):
        coordinates = _first(data, ("GPSCoordinates",))
        if coordinates is None:
            return None
        # QuickTime keeps "lat lon [alt]" in one tag (with -n, as plain numbers).
        parts = str(coordinates["value"]).split()
        try:
            latitude, longitude = float(parts[0]), float(parts[1])
        except (IndexError, ValueError):
            return {"unparsed": coordinates["value"], "tag": coordinates["tag"]}
        source = str(coordinates["tag"])
    altitude = data.get("Composite:GPSAltitude")
    return {"latitude": latitude, "longitude": longitude,
            "altitude": altitude if isinstance(altitude, int | float) else None,
            "tag": source}


def summarise(data: Mapping[str, Any]) -> dict[str, Any]:
    """The answers an investigator looks for first, each naming the tag it came from."""
    return {
        "file_type": data.get("File:FileType"),
        "mime_type": data.get("File:MIMEType"),
        "capture_time": _first(data, CAPTURE_TIME_TAGS),
        "time_zone": _first(data, TIME_ZONE_TAGS),
        "gps": _gps(data),
        "device": _tags(data, DEVICE_TAGS),
        "software": _tags(data, SOFTWARE_TAGS),
        "edit_history": _tags(data, EDIT_TAGS),
        "video": _tags(data, VIDEO_TAGS, VIDEO_GROUPS),
        "warnings": _tags(data, WARNING_TAGS, ("ExifTool",)),
    }


def _input_name(item: Item) -> str:
    # exiftool picks some parsers by extension; keep the original's, in a name that is safe.
    suffix = Path(item.original_name or "").suffix[:10]
    return "original" + _SAFE_NAME.sub("_", suffix)


def read_with_exiftool(store: EvidenceStore, item: Item, sandbox: Sandbox,
                       limits: SandboxLimits = EXIFTOOL_LIMITS) -> tuple[dict[str, Any],
                                                                          str | None]:
    """exiftool's JSON for the original (without `System` tags), or ({}, why it failed)."""
    name = _input_name(item)
    with store.staging_dir("metadata") as staging:
        output = staging / "output"
        output.mkdir()
        try:
            result = sandbox.run([EXIFTOOL, "-json", "-n", "-G1", f"/input/{name}"],
                                 input_file=item.content_path, output_dir=output,
                                 limits=limits, input_name=name).require_success()
        except ConversionRefused as exc:
            return {}, str(exc)
    if len(result.stdout) >= limits.stdout_bytes:
        return {}, (f"exiftool wrote more than {limits.stdout_bytes // MIB} MiB of metadata;"
                    " the file may be built to exhaust the reader")
    try:
        parsed = json.loads(result.stdout)
    except ValueError:
        return {}, "exiftool's output was not JSON"
    if not isinstance(parsed, list) or len(parsed) != 1 or not isinstance(parsed[0], dict):
        return {}, "exiftool's output was not one JSON object"
    return {key: value for key, value in parsed[0].items()
            if not key.startswith("System:") and key != "SourceFile"}, None


def record_metadata(store: EvidenceStore, item: Item, sandbox: Sandbox, custody: CustodyLog,
                    actor: str, limits: SandboxLimits = EXIFTOOL_LIMITS) -> MetadataRecord:
    """Extract, store and sign the original's embedded metadata; a hostile file is recorded."""
    data, problem = read_with_exiftool(store, item, sandbox, limits)
    status = READ if problem is None else UNREADABLE
    summary = summarise(data) if problem is None else {}
    stated = None if problem is None else f"metadata could not be read: {problem}"
    document = {
        "format": RECORD_FORMAT,
        "version": RECORD_VERSION,
        "item": item.item_id,
        "item_sha256": item.sha256,
        "extracted_at": utc_now(),
        "reader": f"{EXIFTOOL} -json -n -G1 (in the sandbox)",
        "tool_version": data.get("ExifTool:ExifToolVersion"),
        "status": status,
        "problem": stated,
        "summary": summary,
        "exiftool": data,
    }
    body = canonical_bytes(document) + b"\n"
    digest = hashlib.sha256(body).hexdigest()
    metadata_dir(store).mkdir(mode=0o700, exist_ok=True)
    write_bytes_atomic(record_path(store, item.item_id), body, 0o444)
    custody.append(actor, ACTION, item.item_id, item.sha256, {
        "record_sha256": digest, "status": status, "problem": stated,
        "summary": summary,
    })
    return MetadataRecord(item.item_id, status, stated, summary, data, digest)


def latest_metadata_entry(entries: list[Entry], item_id: str) -> Entry | None:
    found = [e for e in entries if e.get("item") == item_id and e.get("action") == ACTION]
    return found[-1] if found else None


def load_metadata(store: EvidenceStore, item_id: str, entries: list[Entry]) -> dict[str, Any]:
    """The stored record checked against its custody entry, or what is wrong with it."""
    entry = latest_metadata_entry(entries, item_id)
    path = record_path(store, item_id)
    if entry is None:
        return {"status": "missing", "problem": "no metadata was extracted for this item yet;"
                " run `skrynka-workstation metadata ITEM`"}
    try:
        body = path.read_bytes()
    except OSError:
        return {"status": "missing", "problem": f"the metadata record {path} is missing"}
    if hashlib.sha256(body).hexdigest() != entry["details"]["record_sha256"]:
        return {"status": "altered", "problem": f"{path} does not match its signed custody"
                f" entry #{entry['seq']}; the record was changed after it was written"}
    record: dict[str, Any] = read_json(path)
    record["custody_seq"] = entry["seq"]
    record["custody_time"] = entry["time"]
    record["custody_actor"] = entry["actor"]
    record["record_sha256"] = entry["details"]["record_sha256"]
    return record


def record_imported_metadata(store: EvidenceStore, item_ids: list[str], sandbox: Sandbox,
                             custody: CustodyLog, actor: str) -> list[MetadataRecord]:
    """The import's second step: a metadata record for every new file item (messages have
    none). Each record is written and signed on its own, so a crash leaves the earlier ones."""
    records = []
    for item_id in item_ids:
        item = find_item(store, item_id)
        if item.kind == "file":
            records.append(record_metadata(store, item, sandbox, custody, actor))
    return records
