"""One test module for every published checkpoint: a new checkpoint gets these tests for free.

For each entry of the built-in registry: the metadata is complete, every file hashes right and
nothing unlisted lies beside them, the parameter count is the model's, the model loads with
safe_mode and predicts the right shape, every recurrent layer is cuDNN-eligible, and the test
metric re-measured on the recorded sample matches the registry.
"""

import datetime
import os

import pytest

from model_zoo.registry import default_registry, describe_files, verify_files

ENTRIES = [e for name in default_registry().names()
           for e in default_registry()._entries[name].values()]
IDS = [e.metadata.full_name for e in ENTRIES]
MAX_BYTES = 20 * 1024 * 1024


@pytest.fixture(scope="module")
def loaded():
    import model_zoo

    cache = {}

    def get(entry):
        if entry.metadata.full_name not in cache:
            cache[entry.metadata.full_name] = model_zoo.load(entry.metadata.full_name)
        return cache[entry.metadata.full_name]

    return get


def test_registry_is_not_empty():
    assert ENTRIES, "no published checkpoints found under checkpoints/"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_metadata_is_complete(entry):
    from model_zoo.training.recipe import get_recipe

    m = entry.metadata
    folder = os.path.basename(entry.directory)
    assert folder in (m.name, f"{m.name}@{m.version}")
    assert m.description and m.architecture and m.license
    recipe = get_recipe(m.recipe)
    assert recipe.task == m.task
    assert recipe.checkpoint_name(m.config["config"]) == m.name
    for key in ("name", "source", "license", "split"):
        assert m.dataset.get(key), f"dataset.{key} is missing"
    assert m.metrics["test"] and m.metrics["test_sample"]["limit"] >= 1
    assert "baselines" in m.metrics
    assert m.command.startswith(f"model-zoo train {m.recipe} ") and "--publish" in m.command
    for key in ("keras", "tensorflow", "python", "model_zoo"):
        assert m.framework.get(key)
    datetime.date.fromisoformat(m.created)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_files_hash_right_and_nothing_else(entry):
    verify_files(entry.directory, entry.metadata.files)
    assert set(describe_files(entry.directory)) == set(entry.metadata.files)
    assert sum(f["bytes"] for f in entry.metadata.files.values()) < MAX_BYTES


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_loads_and_predicts(entry, loaded):
    import numpy as np

    task = loaded(entry)
    assert task.metadata.full_name == entry.metadata.full_name
    assert task.model.count_params() == entry.metadata.params
    output, expected_shape = task.predict_example()
    assert np.shape(output) == tuple(expected_shape)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_cudnn_eligible(entry, loaded):
    from model_zoo.layers import cudnn_report

    report = cudnn_report(loaded(entry).model)
    assert report, "a zoo model without recurrent layers?"
    # A masked input keeps cuDNN on TensorFlow only (right-padded); JAX and torch fall back.
    assert all(v.eligible("tensorflow") for v in report), str(report)
    assert all(v.eligible() or v.notes for v in report), str(report)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_metric_remeasured_on_sample(entry):
    from model_zoo.training.runner import evaluate_published

    rows, ok = evaluate_published(entry.metadata.full_name, limit=True)
    assert rows, "no numeric metric recorded in test_sample"
    assert ok, rows
