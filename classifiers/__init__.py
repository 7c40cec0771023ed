"""Complaint classifiers: language, complaint yes/no with a calibrated score, urgency and category.

    from classifiers import load_classifier
    clf = load_classifier(settings.classifier, settings.base_dir)
    clf.classify(mentions)  # → list[Classification]

The model is a directory (manifest.json + weights.npz, see `classifiers.model`);
the one shipped in the package is used unless the config names another.
"""

from __future__ import annotations

from pathlib import Path

from classifiers.classifier import Classifier
from classifiers.model import SHIPPED_MODEL_DIR, ModelError, load_model
from classifiers.settings import ClassifierSettings

__all__ = ["Classifier", "ClassifierSettings", "ModelError", "load_classifier", "model_directory"]


def model_directory(settings: ClassifierSettings, base_dir: Path | None = None) -> Path:
    """The model directory the settings select: `model_dir` (relative to the config folder) or the shipped one."""
    if not settings.model_dir:
        return SHIPPED_MODEL_DIR
    path = Path(settings.model_dir).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path


def load_classifier(settings: ClassifierSettings | None = None, base_dir: Path | None = None) -> Classifier:
    """Load the configured model; raises ModelError (a ValueError) with a one-line reason if it is unusable."""
    settings = settings or ClassifierSettings()
    return Classifier(load_model(model_directory(settings, base_dir)), settings)
