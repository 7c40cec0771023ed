"""The model directory format: `manifest.json` + `weights.npz`, safe to load (no pickle).

manifest.json holds the format name and version, the model version, the
feature settings, the calibration and the class names, plus the SHA-256 of
weights.npz and the SHA-256 of the manifest itself (`manifest_sha256`, over
its canonical JSON without that key): everything that changes a verdict
(weights, thresholds, calibration, class names, feature settings) is covered,
so a hand-edited threshold or swapped category classes are refused like a
corrupt weights file. weights.npz holds plain numeric arrays only and is read
with `allow_pickle=False`. Anything missing, corrupt, edited or of another
format version raises `ModelError` with a one-line message.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.features import FeatureSpec
from monitor.errors import MonitorError

FORMAT_NAME = "complaint-monitor-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "weights.npz"
SHIPPED_MODEL_DIR = Path(__file__).resolve().parent / "model"


class ModelError(MonitorError, ValueError):
    """A model directory that cannot be used (missing, corrupt, or another format version)."""


@dataclass(slots=True)
class LinearHead:
    """A linear model over the hashed features: one column of weights per class (or one for binary)."""

    coef: np.ndarray  # (n_features,) for a binary head, (n_features, k) for k classes
    intercept: np.ndarray  # () or (k,)
    classes: list[str] = field(default_factory=list)
    platt: tuple[float, float] = (1.0, 0.0)  # binary heads: calibrated p = 1 / (1 + exp(-(a * score + b)))
    stream_weight: float = 0.0  # complaint heads: p = 1 / (1 + exp(-(a * score + stream_weight * stream score + b)))


STREAM_HEAD = "stream"
"""A complaint head trained on stream-like rows alone (shipped examples, team labels); never chosen by language:
its score is stacked into each language head's calibrated probability (`LinearHead.stream_weight`)."""
ALL_LANGUAGES = "all"
"""The complaint head trained on every language; per-language heads (en, id) are used where they apply."""
HEAD_FOR_LANGUAGE = {"en": "en", "id": "id", "ms": "id", "jv": "id", "su": "id"}
"""Which complaint head a language uses (Malay, Javanese and Sundanese posts lean on Indonesian); others use 'all'."""


@dataclass(slots=True)
class ModelBundle:
    """Everything a trained model consists of."""

    version: str
    spec: FeatureSpec
    idf: np.ndarray
    complaint: dict[str, LinearHead]  # "all" plus per-language heads
    threshold: float
    severity: LinearHead | None  # CESAMARD severity levels (older models; `urgency` replaces it)
    slang_from: np.ndarray
    slang_to: np.ndarray
    lang_vocab: dict[str, np.ndarray]  # language code → sorted word hashes typical of it
    info: dict[str, Any] = field(default_factory=dict)
    category: LinearHead | None = None  # one column per category name (learned from labelled rows)
    urgency: LinearHead | None = None  # one column per urgency level of a complaint
    thresholds: dict[str, float] = field(default_factory=dict)
    """Per complaint head: the threshold chosen for the target recall (a head without one uses `threshold`)."""
    priors: dict[str, float] = field(default_factory=dict)
    """Per complaint head: the complaint share its calibration assumes (the training mix)."""


MULTICLASS_HEADS = ("severity", "category", "urgency")
"""Optional one-vs-rest heads, stored as `<name><k>_index/_value` arrays plus `<name>_intercept`."""


MANIFEST_HASH = "manifest_sha256"


def manifest_sha256(manifest: dict[str, Any]) -> str:
    """The SHA-256 of a manifest's canonical JSON, without its own `manifest_sha256`."""
    body = {k: v for k, v in manifest.items() if k != MANIFEST_HASH}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _sparse(vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    index = np.flatnonzero(vector)
    return index.astype(np.int32), vector[index].astype(np.float16)


def _dense(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.float32)
    if len(index) and (index.min() < 0 or index.max() >= size):
        raise ValueError("weight index out of range")
    out[index] = values
    return out


def save_model(bundle: ModelBundle, directory: Path) -> None:
    """Write the bundle to `directory` (created if needed; existing model files are replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    arrays["idf_index"], arrays["idf_value"] = _sparse(bundle.idf)
    for name, head in bundle.complaint.items():
        arrays[f"complaint_{name}_index"], arrays[f"complaint_{name}_value"] = _sparse(head.coef)
        arrays[f"complaint_{name}_intercept"] = np.asarray(head.intercept, dtype=np.float64)
    for name in MULTICLASS_HEADS:
        head = getattr(bundle, name)
        if head is not None:
            for k in range(head.coef.shape[1]):
                arrays[f"{name}{k}_index"], arrays[f"{name}{k}_value"] = _sparse(head.coef[:, k])
            arrays[f"{name}_intercept"] = np.asarray(head.intercept, dtype=np.float64)
    arrays["slang_from"] = bundle.slang_from.astype(np.uint64)
    arrays["slang_to"] = bundle.slang_to.astype(np.uint64)
    for lang, hashes in bundle.lang_vocab.items():
        arrays[f"vocab_{lang}"] = np.sort(hashes.astype(np.uint64))
    # indices are stored as gaps (ascending, so small non-negative numbers): they compress several times better
    for name in [n for n in arrays if n.endswith("_index")]:
        arrays[name] = np.diff(arrays[name], prepend=0).astype(np.int32)
    weights_path = directory / WEIGHTS
    np.savez_compressed(weights_path, allow_pickle=False, **arrays)
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "version": bundle.version,
        "features": bundle.spec.to_dict(),
        "complaint": {
            "heads": {
                name: {"platt": list(head.platt), "stream_weight": head.stream_weight}
                for name, head in bundle.complaint.items()
            },
            "threshold": bundle.threshold,
            "thresholds": bundle.thresholds,
            "priors": bundle.priors,
        },
        **{
            name: {"classes": getattr(bundle, name).classes} if getattr(bundle, name) is not None else None
            for name in MULTICLASS_HEADS
        },
        "languages": sorted(bundle.lang_vocab),
        "index_encoding": "gaps",
        "weights_sha256": hashlib.sha256(weights_path.read_bytes()).hexdigest(),
        "info": bundle.info,
    }
    manifest[MANIFEST_HASH] = manifest_sha256(manifest)
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ModelError(f"model directory not found: {directory}")
    if not path.is_file():
        raise ModelError(f"not a model directory (no {MANIFEST}): {directory}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"model manifest is corrupt: {path} ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ModelError(f"not a complaint-monitor model: {path}")
    found = manifest.get("format_version")
    if found != FORMAT_VERSION:
        raise ModelError(
            f"model format version {found} in {directory} is not supported (this version reads {FORMAT_VERSION}); "
            "retrain it with `complaint-monitor train`"
        )
    return manifest


def _multiclass_head(
    name: str, manifest: dict[str, Any], arrays: dict[str, np.ndarray], size: int
) -> LinearHead | None:
    if not manifest.get(name):
        return None
    classes = [str(c) for c in manifest[name]["classes"]]
    coef = np.zeros((size, len(classes)), dtype=np.float32)
    for k in range(len(classes)):
        coef[:, k] = _dense(arrays[f"{name}{k}_index"], arrays[f"{name}{k}_value"], size)
    return LinearHead(coef, np.asarray(arrays[f"{name}_intercept"], dtype=np.float64).reshape(len(classes)), classes)


def verify_model(directory: Path, allow_unsealed: bool = False) -> dict[str, Any]:
    """Check a model directory's integrity without loading it (a few milliseconds): the format, the weights
    against their SHA-256, the manifest against its own. Returns the manifest; ModelError with a one-line
    reason when anything that changes a verdict is missing, corrupt or was edited.

    `allow_unsealed`: accept a manifest written before manifests were sealed (only to compare with an old
    release read from git; a model the product uses is always sealed)."""
    directory = Path(directory)
    manifest = _read_manifest(directory)
    weights_path = directory / WEIGHTS
    try:
        with weights_path.open("rb") as handle:
            weights_sha = hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise ModelError(f"cannot read model weights {weights_path}: {exc.strerror or exc}") from None
    if weights_sha != manifest.get("weights_sha256"):
        raise ModelError(f"model weights do not match the manifest (corrupt or replaced file): {weights_path}")
    stated = manifest.get(MANIFEST_HASH)
    if stated is None and allow_unsealed:
        return manifest
    if stated is None:
        raise ModelError(
            f"model manifest has no {MANIFEST_HASH} (written before manifests were sealed): retrain it with "
            f"`complaint-monitor train`: {directory / MANIFEST}"
        )
    try:
        actual = manifest_sha256(manifest)
    except ValueError:  # NaN or an infinity in the manifest
        actual = ""
    if actual != stated:
        raise ModelError(
            f"model manifest was changed after training (thresholds, classes or settings no longer match its "
            f"{MANIFEST_HASH}): {directory / MANIFEST}"
        )
    return manifest


def load_model(directory: Path, allow_unsealed: bool = False) -> ModelBundle:
    """Read and check a model directory; raises ModelError with a one-line reason."""
    directory = Path(directory)
    manifest = verify_model(directory, allow_unsealed)
    weights_path = directory / WEIGHTS
    try:
        spec = FeatureSpec.from_dict(manifest["features"])
        size = spec.n_features
        with np.load(weights_path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        if manifest.get("index_encoding") == "gaps":
            for name in [n for n in arrays if n.endswith("_index")]:
                arrays[name] = np.cumsum(arrays[name], dtype=np.int64)
        complaint = {}
        for name, head in manifest["complaint"]["heads"].items():
            platt = head["platt"]
            complaint[str(name)] = LinearHead(
                coef=_dense(arrays[f"complaint_{name}_index"], arrays[f"complaint_{name}_value"], size),
                intercept=np.asarray(arrays[f"complaint_{name}_intercept"], dtype=np.float64).reshape(()),
                platt=(float(platt[0]), float(platt[1])),
                stream_weight=float(head.get("stream_weight", 0.0)),
            )
        if ALL_LANGUAGES not in complaint:
            raise KeyError(f"complaint head '{ALL_LANGUAGES}'")
        multiclass = {name: _multiclass_head(name, manifest, arrays, size) for name in MULTICLASS_HEADS}
        return ModelBundle(
            version=str(manifest["version"]),
            spec=spec,
            idf=_dense(arrays["idf_index"], arrays["idf_value"], size),
            complaint=complaint,
            threshold=float(manifest["complaint"]["threshold"]),
            thresholds={str(k): float(v) for k, v in (manifest["complaint"].get("thresholds") or {}).items()},
            priors={str(k): float(v) for k, v in (manifest["complaint"].get("priors") or {}).items()},
            severity=multiclass["severity"],
            category=multiclass["category"],
            urgency=multiclass["urgency"],
            slang_from=arrays["slang_from"].astype(np.uint64),
            slang_to=arrays["slang_to"].astype(np.uint64),
            lang_vocab={lang: arrays[f"vocab_{lang}"].astype(np.uint64) for lang in manifest.get("languages", [])},
            info=dict(manifest.get("info") or {}),
        )
    except (KeyError, TypeError, ValueError, IndexError, zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"model files in {directory} are corrupt or incomplete: {exc}") from None
