"""Every registered recipe runs end to end on a tiny configuration, publishes, and loads back."""

import json
import os

import pytest

import model_zoo
from model_zoo.errors import InputError, UnknownModelError
from model_zoo.registry import Registry
from model_zoo.training.recipe import discover_recipes, get_recipe
from script_loader import load_script

RECIPES = sorted(discover_recipes())


def test_recipes_are_registered():
    assert "forecasting" in RECIPES


@pytest.mark.parametrize("name", RECIPES)
def test_default_model_builds_from_empty_hyperparameters(name):
    import keras_tuner

    recipe = get_recipe(name)
    module = __import__(type(recipe).__module__, fromlist=["build_model"])
    model = module.build_model(keras_tuner.HyperParameters())
    assert model.count_params() > 0
    space = recipe.search_space(dict(recipe.defaults))
    assert space.space, "a recipe needs a Keras Tuner search space"


@pytest.mark.parametrize("name", RECIPES)
def test_smoke_run_publishes_a_loadable_checkpoint(name, tmp_path):
    from model_zoo.training.runner import train

    recipe = get_recipe(name)
    registry_dir = tmp_path / "registry"
    steps = []
    result = train(name, dict(recipe.smoke), publish_to_registry=True,
                   registry_dir=str(registry_dir), run_dir=str(tmp_path / "run"), verbose=0,
                   log=steps.append)
    # Every step is announced (the CLI prints them on stderr), data preparation first.
    assert steps[0] == f"loading and preparing the data of recipe {name}"
    assert [s.split(" ")[0] for s in steps[1:]] == ["data", "trained", "fitting", "writing"]
    for path in ("config.json", "metrics.json", "history.json", "checkpoint/metadata.json"):
        assert os.path.isfile(os.path.join(result.run_dir, path)), path
    assert os.listdir(os.path.join(result.run_dir, "tensorboard"))
    assert [p for p in os.listdir(os.path.join(result.run_dir, "plots")) if p.endswith(".png")]
    with open(os.path.join(result.run_dir, "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["test"] and metrics["test_sample"]["limit"] == recipe.sample_size
    entry = Registry([str(registry_dir)]).get(recipe.checkpoint_name(
        recipe.resolve(recipe.smoke)[0]))
    assert entry.metadata.command.startswith(f"model-zoo train {name} ")
    task = model_zoo.load(entry.directory)
    if name == "series_classification":  # MiniRocket and 1-NN pooled in, out of fold
        blend = task.preprocessing["classical_blend"]
        assert entry.metadata.dataset["split"]["train"] == 67
        assert blend["validation_examples"] == 67 and blend["models"] == [
            "minirocket", "neighbours"]
        assert blend["fitted_on"].startswith("the held-out series of 5 cross-validation folds")
        assert blend["minirocket"]["training_series"] == 67
        assert min(blend["network_exponent"], *blend["classical_exponent"]) >= 0
        assert {"minirocket_classifier", "neighbour_classifier", "classical_blend"} <= {
            layer.name for layer in task.model.layers}
    if name == "speech_recognition":  # the decoder's language model travels with it
        assert task.language_model.order == recipe.smoke["lm_order"]
        assert {"cer_lm", "wer_lm"} <= set(metrics["test"]) <= set(entry.metadata.metrics["test"])
        assert {"synthetic_cer", "synthetic_cer_lm", "synthetic_wer_lm"} <= set(metrics["test"])
    output, shape = task.predict_example()
    assert tuple(getattr(output, "shape", ())) == tuple(shape) or len(output) == shape[0]
    # Publishing again adds version 2 and keeps version 1 beside it.
    train(name, dict(recipe.smoke), publish_to_registry=True, registry_dir=str(registry_dir),
          run_dir=str(tmp_path / "run2"), verbose=0)
    registry = Registry([str(registry_dir)])
    assert registry.get(entry.name).version == 2
    assert registry.get(f"{entry.name}@1").version == 1


def test_unknown_recipe_and_settings():
    with pytest.raises(UnknownModelError, match="Did you mean 'forecasting'"):
        get_recipe("forecastin")
    recipe = get_recipe("forecasting")
    with pytest.raises(InputError, match=r"no setting \['colour'\].*hyperparameters"):
        recipe.resolve({"colour": "red"})
    with pytest.raises(InputError, match="The setting `epochs` must be an integer"):
        recipe.resolve({"epochs": "many"})
    config, hp = recipe.resolve({"dataset": "sunspots", "units": "48", "epochs": "3"})
    assert config["dataset"] == "sunspots" and config["epochs"] == 3
    assert hp.values["units"] == 48
    model = recipe.build_model(hp, config)
    assert model.get_layer("encoder_lstm_0").units == 48


def test_reevaluate_run_keeps_the_weights_and_records_why(tmp_path):
    import numpy as np

    from model_zoo.registry import CheckpointMetadata
    from model_zoo.training.runner import train

    recipe = get_recipe("forecasting")
    result = train("forecasting", dict(recipe.smoke), run_dir=str(tmp_path / "run"), verbose=0)
    before = model_zoo.load(result.checkpoint_dir).model.get_weights()
    load_script("scripts/reevaluate_run.py").main([result.run_dir, "--why",
                                                   "evaluation code changed"])

    metadata = CheckpointMetadata.load(result.checkpoint_dir)
    again = metadata.metrics["reevaluated"]
    assert again["why"] == "evaluation code changed"
    assert again["before"]["test"] == result.metrics["test"]
    # Same weights, same evaluation code: the same numbers, recorded in both places.
    assert metadata.metrics["test"] == result.metrics["test"]
    with open(os.path.join(result.run_dir, "metrics.json")) as f:
        assert json.load(f)["reevaluated"]["why"] == "evaluation code changed"
    after = model_zoo.load(result.checkpoint_dir).model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_init_from_starts_training_from_that_checkpoint(monkeypatch, tmp_path):
    """`--set init_from=NAME`: `train` copies NAME's weights into the model before `fit`."""
    import types

    import numpy as np

    import model_zoo.api
    from model_zoo.training.runner import train

    recipe = get_recipe("speech_recognition")
    config, hp = recipe.resolve({**recipe.smoke, "init_from": "base_checkpoint"})
    source = recipe.build_model(hp, config)
    asked, fitted, models = [], [], []
    monkeypatch.setattr(model_zoo.api, "load",
                        lambda spec: asked.append(spec) or types.SimpleNamespace(model=source))

    class Started(Exception):
        pass

    def fit(model, *args, **kwargs):  # training would start here: the weights are set by now
        fitted.append(model.get_weights())
        models.append(model)
        raise Started

    monkeypatch.setattr(type(recipe), "fit", staticmethod(fit))  # train makes its own instance
    with pytest.raises(Started):
        train("speech_recognition", {**recipe.smoke, "init_from": "base_checkpoint"},
              run_dir=str(tmp_path / "run"), verbose=0)
    assert asked == ["base_checkpoint"]
    for a, b in zip(source.get_weights(), fitted[0]):
        np.testing.assert_array_equal(a, b)
    # Without it the model starts from its own random weights.
    with pytest.raises(Started):
        train("speech_recognition", dict(recipe.smoke), run_dir=str(tmp_path / "run2"),
              verbose=0)
    assert asked == ["base_checkpoint"]
    assert any(not np.array_equal(a, b) for a, b in zip(source.get_weights(), fitted[1]))
    # A model one recurrent layer deeper: an error, unless init_partial copies what matches.
    deeper = {**recipe.smoke, "init_from": "base_checkpoint", "depth": recipe.smoke["depth"] + 1}
    with pytest.raises(InputError, match="strict=False"):
        train("speech_recognition", deeper, run_dir=str(tmp_path / "run3"), verbose=0)
    with pytest.raises(Started):
        train("speech_recognition", {**deeper, "init_partial": True},
              run_dir=str(tmp_path / "run4"), verbose=0)
    grown = models[-1]
    assert len(grown.weights) > len(source.weights)
    for name in ("conv_1", "encoder_bigru_0", "ctc_logits"):
        for a, b in zip(source.get_layer(name).get_weights(), grown.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
