"""Keras Tuner over a recipe: trials run, and a changed search space is never silently reused."""

import pytest

from model_zoo.errors import InputError
from model_zoo.training import tuning


def test_tune_runs_and_refuses_a_changed_space(tmp_path, monkeypatch):
    smoke = {"dataset": "airline", "epochs": 1, "baselines": False, "pretrain": ""}
    logs = []
    best = tuning.tune("forecasting", smoke, tuner="random", max_trials=2, epochs=1,
                       directory=str(tmp_path), log=logs.append)
    assert 1 <= len(best) <= 2
    assert {"units", "depth", "cell", "learning_rate"} <= set(best[0]["hp"])
    assert best[0]["score"] is not None
    # Same space: the search is continued, with or without --resume (never deleted implicitly).
    tuning.tune("forecasting", smoke, tuner="random", max_trials=2, epochs=1,
                directory=str(tmp_path), resume=True, log=logs.append)
    assert any("Resuming" in line for line in logs)
    logs.clear()
    again = tuning.tune("forecasting", smoke, tuner="random", max_trials=2, epochs=1,
                        directory=str(tmp_path), log=logs.append)
    assert any("Resuming" in line for line in logs) and again == best
    # A changed space (here: a hyperparameter fixed by --set) is refused, --resume or not ...
    for resume in (True, False):
        with pytest.raises(InputError, match="another search space.*--overwrite"):
            tuning.tune("forecasting", {**smoke, "units": "16"}, tuner="random", max_trials=2,
                        epochs=1, directory=str(tmp_path), resume=resume)
    # ... and so is another tuner.
    with pytest.raises(InputError, match="another search space, tuner"):
        tuning.tune("forecasting", smoke, tuner="bayesian", max_trials=2, epochs=1,
                    directory=str(tmp_path))
    # --overwrite deletes the old search and starts afresh, and says so.
    logs.clear()
    tuning.tune("forecasting", {**smoke, "units": "16"}, tuner="random", max_trials=1,
                epochs=1, directory=str(tmp_path), overwrite=True, log=logs.append)
    assert any("--overwrite: deleting the search" in line for line in logs)


def test_tune_leaves_a_folder_it_did_not_make_alone(tmp_path):
    project = tmp_path / "forecasting-forecast_lstm_airline"
    project.mkdir()
    (project / "mine.txt").write_text("not a search")
    with pytest.raises(InputError, match="holds no model_zoo search"):
        tuning.tune("forecasting", {"dataset": "airline"}, max_trials=1,
                    directory=str(tmp_path))
    assert (project / "mine.txt").exists()
    with pytest.raises(InputError, match="pass one"):
        tuning.tune("forecasting", max_trials=1, resume=True, overwrite=True,
                    directory=str(tmp_path))


def test_tune_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="--tuner must be one of"):
        tuning.tune("forecasting", tuner="grid", max_trials=1, directory=str(tmp_path))
    with pytest.raises(InputError, match="`max_trials` must be a positive integer"):
        tuning.tune("forecasting", max_trials=0, directory=str(tmp_path))
    with pytest.raises(InputError, match="no search to resume"):
        tuning.tune("forecasting", max_trials=1, resume=True, directory=str(tmp_path))
