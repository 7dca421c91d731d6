"""Checkpoint metadata: plain data, stored as `metadata.json` beside the checkpoint's files."""

import dataclasses
import json
import os
import re

from model_zoo.errors import InputError

SCHEMA_VERSION = 1
METADATA_FILE = "metadata.json"
# The files of the checkpoint format (see `model_zoo.checkpoint`): the two a load always reads.
MODEL_FILE = "model.keras"
PREPROCESSING_FILE = "preprocessing.json"
ASSETS_DIR = "assets"
CARD_FILE = "README.md"


def few(names, limit=5):
    """`['a', 'b', 'c', 'd', 'e'] and 12 more`: a few names for an error message, not all."""
    names = list(names)
    shown = repr(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"

# Names are lowercase words joined by underscores, `<task>_<architecture>_<dataset>`, for
# example `forecast_lstm_taylor`. A version is pinned with `@N`: `forecast_lstm_taylor@1`.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def check_name(name):
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InputError(
            "A checkpoint name is lowercase letters and digits joined by underscores, "
            f"`<task>_<architecture>_<dataset>` (e.g. `forecast_lstm_taylor`). Received: {name!r}"
        )
    return name


@dataclasses.dataclass
class CheckpointMetadata:
    """Everything the registry knows about one published checkpoint.

    Args:
        name: registry name, `<task>_<architecture>_<dataset>`.
        version: integer version; `load("name@2")` pins it, `load("name")` takes the newest.
        task: the task object `load` returns (`forecasting`, `text_classification`, ...).
        architecture: the model family, e.g. `stacked_lstm_forecaster`.
        description: one sentence for `model-zoo list`.
        recipe: the recipe that trained it.
        config: the resolved recipe config, hyperparameters included, that rebuilds the model.
        dataset: `{"name", "source", "license", "split": {...}}`: the data and its exact split.
        metrics: what the recipe measured: `{"test": {...}, "baselines": {...}, ...}`.
        params: parameter count of the Keras model.
        files: `{relative path: {"sha256", "bytes"}}` for every file but metadata.json.
        license: the checkpoint's license.
        command: the exact command that produced it.
        framework: versions of keras, tensorflow, python and model_zoo at training time.
        created: ISO date of publication.
        source: for a checkpoint whose files are not in the repository, `{"url", "sha256"}` of
            the archive that holds them.
        tags: free-form labels.
        intended_use: what the checkpoint is for, in a sentence or two (the model card's
            "Intended use and limitations"): a recipe's `card_notes`, filled in with the run's
            numbers by `model_zoo.checkpoint.fill_card_notes`.
        limitations: honest notes, one sentence or short paragraph each: what the model does
            not do well, goals not reached, what its numbers do not say.
    """

    name: str
    version: int
    task: str
    architecture: str
    description: str = ""
    recipe: str = ""
    config: dict = dataclasses.field(default_factory=dict)
    dataset: dict = dataclasses.field(default_factory=dict)
    metrics: dict = dataclasses.field(default_factory=dict)
    params: int = 0
    files: dict = dataclasses.field(default_factory=dict)
    license: str = "Apache-2.0"
    command: str = ""
    framework: dict = dataclasses.field(default_factory=dict)
    created: str = ""
    source: dict | None = None
    tags: list = dataclasses.field(default_factory=list)
    intended_use: str = ""
    limitations: list = dataclasses.field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self):
        check_name(self.name)
        if not isinstance(self.version, int) or self.version < 1:
            raise InputError(
                f"Checkpoint version must be a positive integer. Received: {self.version!r}"
            )

    @property
    def full_name(self):
        return f"{self.name}@{self.version}"

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        known = {f.name for f in dataclasses.fields(cls)}
        missing = [k for k in ("name", "version", "task", "architecture") if k not in data]
        if missing:
            raise InputError(
                f"Checkpoint metadata lacks the required fields {missing}. "
                f"Received: fields {sorted(data)}"
            )
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(
                f"Checkpoint metadata has unknown fields {unknown} (written by a newer "
                f"model_zoo?). Expected only {sorted(known)}. Received: {sorted(data)}"
            )
        return cls(**data)

    def save(self, directory):
        path = os.path.join(directory, METADATA_FILE)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2, sort_keys=False)
            f.write("\n")
        return path

    @classmethod
    def load(cls, directory):
        path = os.path.join(directory, METADATA_FILE)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            found = few(sorted(os.listdir(directory))) if os.path.isdir(directory) else directory
            raise InputError(
                f"{directory} is not a model_zoo checkpoint: it has no {METADATA_FILE}. "
                f"Received: {found}"
            ) from None
        except json.JSONDecodeError as e:
            raise InputError(
                f"{path} is not valid JSON ({e.msg} at line {e.lineno}). Received: a corrupt "
                "metadata file."
            ) from None
        return cls.from_dict(data)
