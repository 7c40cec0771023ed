"""Complaint classifiers: language, complaint yes/no with a calibrated score, urgency and category.

    from classifiers import load_classifier
    clf = load_classifier(settings.classifier, settings.base_dir)
    clf.classify(mentions)  # → list[Classification]

The model is a directory (manifest.json + weights.npz, see `classifiers.model`);
the one shipped in the package is used unless the config names another.

Only the settings are imported with the package (the config needs them); the
classifier and model (numpy, scipy.sparse) load when first used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifiers.settings import ClassifierSettings

if TYPE_CHECKING:
    from classifiers.classifier import Classifier
    from classifiers.model import ModelError

__all__ = ["Classifier", "ClassifierSettings", "ModelError", "load_classifier", "model_directory"]


def model_directory(settings: ClassifierSettings, base_dir: Path | None = None) -> Path:
    """The model directory the settings select: `model_dir` (relative to the config folder) or the shipped one."""
    from classifiers.model import SHIPPED_MODEL_DIR  # numpy: only when a model is about to be used

    if not settings.model_dir:
        return SHIPPED_MODEL_DIR
    path = Path(settings.model_dir).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path


def load_classifier(settings: ClassifierSettings | None = None, base_dir: Path | None = None) -> Classifier:
    """Load the configured model; raises ModelError (a ValueError) with a one-line reason if it is unusable."""
    # imported here: numpy and scipy are for commands that classify
    from classifiers.classifier import Classifier
    from classifiers.model import load_model

    settings = settings or ClassifierSettings()
    return Classifier(load_model(model_directory(settings, base_dir)), settings)


def __getattr__(name: str) -> Any:
    # `from classifiers import Classifier, ModelError` keeps working, loaded on first use
    if name == "Classifier":
        from classifiers.classifier import Classifier

        return Classifier
    if name == "ModelError":
        from classifiers.model import ModelError

        return ModelError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
