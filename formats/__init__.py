"""The documents that cross the air gap or sit inside a ciphertext, each defined once.

- `formats.bundle_manifest`: the signed manifest of a transfer bundle (docs/bundle-format.md);
- `formats.receipt`: a submission's receipt, encrypted beside it (docs/storage-format.md);
- `formats.consent`: a source's consent record;
- `formats.intake`: a source's structured intake answers;
- `formats.document`: the canonical JSON and UTC times they share;
- `formats.errors`: `FormatError` and its subclasses, raised by every parser here.

The server writes these documents and the workstation verifies them along separate code paths;
only the vocabulary (names, constants, dataclasses, encoders and strict parsers) is shared. This
package imports nothing but the standard library, so the air-gapped workstation can depend on it
without carrying any server code (an import-linter contract keeps it so).
"""
