"""Export a dataset manifest in the OpenSSF model-signing (OMS) v1.0 payload format.

OMS signs an in-toto Statement whose predicate lists every file as a resource
`{"name", "algorithm": "sha256", "digest"}` (sorted by name) and whose single subject digest is
SHA-256 over the concatenated raw file digests in that order; `serialization` says how the file
list was made. Producing it from our manifest lets OMS-aware tooling check a custody dataset
version without custody. (The OMS subject digest is a flat hash, not our Merkle root: both name
the same file list, and the Merkle root is kept under `custodyMerkleSha256`.)
"""

from __future__ import annotations

import hashlib
from typing import Any

from custody.ledger.attest import MERKLE_DIGEST, STATEMENT_TYPE
from custody.ledger.dataset import Manifest

OMS_PREDICATE_TYPE = "https://model_signing/signature/v1.0"


def oms_statement(manifest: Manifest, name: str) -> dict[str, Any]:
    """An OpenSSF Model Signing (OMS) v1.0 in-toto statement for a dataset manifest, named `name`:
    the flat SHA-256 over the files' digests in path order plus the manifest's Merkle root as
    subject digests, the file list as the predicate's resources."""
    files = sorted(manifest.files, key=lambda f: f.path)  # code-point order, as OMS canonicalises
    flat = hashlib.sha256(b"".join(bytes.fromhex(f.sha256) for f in files)).hexdigest()
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": flat, MERKLE_DIGEST: manifest.root}}],
        "predicateType": OMS_PREDICATE_TYPE,
        "predicate": {
            "serialization": {
                "method": "files",
                "hash_type": "sha256",
                "allow_symlinks": False,  # symlinks are never followed (listed as skipped instead)
                "ignore_paths": list(manifest.skipped),
            },
            "resources": [{"name": f.path, "algorithm": "sha256", "digest": f.sha256} for f in files],
        },
    }
