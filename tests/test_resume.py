"""A killed `model-zoo train` continues from its backup exactly as if it had not stopped
(issue 19, part 1).

Each run is a subprocess. The killed one sends itself SIGKILL from inside a training step
(after the backup of that step, if any), so the kill lands mid-epoch; the resumed one is
`model-zoo train --resume RUN_DIR`. On this CPU TensorFlow is deterministic (two uninterrupted
runs of the same seed give the same bits: the first test checks it), so the resumed run's
weights, history and test metrics must equal the uninterrupted run's exactly.

The recipe is the forecaster pre-trained on a corpus of other series and then fine-tuned with
gradual unfreezing: stage 1 is the pre-training (`training.fit`), stages 2 and 3 are the
unfreezing stages of `GradualUnfreezing` (one `model.fit` each, the last with early
stopping), so both kinds of stage, and a kill in either, are covered.
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from model_zoo.errors import InputError

SETTINGS = {"dataset": "airline", "epochs": 3, "units": 4, "depth": 1,
            "pretrain": "us_employment", "pretrain_epochs": 2, "pretrain_max_windows": 64,
            "patience": 2}

# Makes the process SIGKILL itself right after the training step [stage, epoch, batch] (JSON
# in `kill`; none: `null`), and after that step's backup if there is one.
KILL_HOOK = r"""
import json, os, signal, sys
from model_zoo.training import backup

def kill_at(kill):
    begin, end = backup.RunBackup.on_epoch_begin, backup.RunBackup.on_train_batch_end

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_now = epoch
        return begin(self, epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        end(self, batch, logs)
        if [self.stage, self.epoch_now, batch] == kill:
            os.kill(os.getpid(), signal.SIGKILL)

    if kill:
        backup.RunBackup.on_epoch_begin = on_epoch_begin
        backup.RunBackup.on_train_batch_end = on_train_batch_end
"""

# Trains the recipe into RUN_DIR: `DRIVER RUN_DIR SETTINGS BACKUP_STEPS KILL`.
DRIVER = KILL_HOOK + r"""
from model_zoo.training import runner

kill_at(json.loads(sys.argv[4]))
runner.train("forecasting", json.loads(sys.argv[2]), run_dir=sys.argv[1], verbose=0,
             backup_steps=json.loads(sys.argv[3]))
"""


def _env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


def _train(run_dir, backup_steps=None, kill=None):
    return subprocess.run(
        [sys.executable, "-c", DRIVER, str(run_dir), json.dumps(SETTINGS),
         json.dumps(backup_steps), json.dumps(kill)],
        env=_env(), capture_output=True, text=True, timeout=300)


def _resume(run_dir):
    return subprocess.run([sys.executable, "-m", "model_zoo.cli", "train", "--resume",
                           str(run_dir), "--quiet"],
                          env=_env(), capture_output=True, text=True, timeout=300)


def _outcome(run_dir):
    """(weights, history, test metrics) of a finished run."""
    import model_zoo

    weights = model_zoo.load(os.path.join(run_dir, "checkpoint")).model.get_weights()
    with open(os.path.join(run_dir, "history.json"), encoding="utf-8") as f:
        history = json.load(f)
    with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as f:
        test = json.load(f)["test"]
    return weights, history, test


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("resume") / "uninterrupted"
    done = _train(run_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir


def _assert_same_run(resumed, reference):
    weights, history, test = _outcome(resumed)
    ref_weights, ref_history, ref_test = _outcome(reference)
    assert len(weights) == len(ref_weights)
    for got, want in zip(weights, ref_weights):
        np.testing.assert_array_equal(got, want)
    assert history == ref_history
    assert test == ref_test


@pytest.mark.parametrize("backup_steps, kill, stages_backed_up", [
    # Backups every step; killed in the second epoch of the last unfreezing stage, after its
    # first batch: stages 1-2 are restored finished, stage 3 continues at its second batch.
    (1, [3, 1, 0], ["stage-1", "stage-2", "stage-3"]),
    # Backups at epoch ends only; killed in the pre-training's second epoch (after its one
    # batch, before the epoch's end): the epoch is
    # trained again from its start, with the first epoch's weights, optimizer and data order.
    (None, [1, 1, 0], ["stage-1"]),
])
def test_a_killed_run_resumes_exactly(uninterrupted, tmp_path, backup_steps, kill,
                                      stages_backed_up):
    run_dir = tmp_path / "run"
    killed = _train(run_dir, backup_steps, kill)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not (run_dir / "checkpoint").exists()
    assert sorted(os.listdir(run_dir / "backup")) == stages_backed_up

    resumed = _resume(run_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_same_run(run_dir, uninterrupted)
    assert not (run_dir / "backup").exists()  # A finished run keeps no backup.


def test_two_uninterrupted_runs_are_identical_and_a_finished_run_refuses_resume(
        uninterrupted, tmp_path):
    again = tmp_path / "again"
    assert _train(again).returncode == 0
    _assert_same_run(again, uninterrupted)  # What "exactly" above rests on.

    from model_zoo.training import runner

    with pytest.raises(InputError, match="has finished: there is nothing to resume"):
        runner.resume(uninterrupted)
    with pytest.raises(InputError, match="holds a run already"):
        runner.train("forecasting", SETTINGS, run_dir=str(uninterrupted), verbose=0)
    with pytest.raises(InputError, match="not a run folder"):
        runner.resume(tmp_path)


# -- the backup folder itself (no training) --------------------------------------------------


def test_backup_of_other_settings_is_refused_and_debris_is_ignored(tmp_path):
    import keras

    from model_zoo.training.backup import RunBackup
    from model_zoo.training.fit import fit_model

    def model_and_data():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dropout(0.5),
                                  keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(1e-2), "mse")
        x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
        return model, (x, x[:, :1])

    model, (x, y) = model_and_data()
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(16, seed=1).batch(4)
    backup_dir = tmp_path / "backup"
    history = fit_model(model, data, None, epochs=2, callbacks=[RunBackup(str(backup_dir))],
                        verbose=0)
    assert len(history.history["loss"]) == 2
    stage = backup_dir / "stage-1"
    # A temporary left by a killed writer (its PID is gone) is not a state.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    from model_zoo.fsutil import temporary_prefix

    debris = stage / (temporary_prefix(".state.tmp-").replace(str(os.getpid()), str(dead.pid))
                      + "x")
    debris.mkdir()
    (states,) = [n for n in os.listdir(stage) if n.startswith("state-")]

    # The same stage again, finished: its weights come back, nothing trains.
    again, _ = model_and_data()
    restored = fit_model(again, data, None, epochs=2,
                         callbacks=[RunBackup(str(backup_dir))], verbose=0)
    assert restored.history == history.history
    for got, want in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert not debris.exists()  # Removed by the next write of the stage.
    assert [n for n in os.listdir(stage) if n.startswith("state-")] != [states]

    other, _ = model_and_data()
    with pytest.raises(InputError, match="was made for 2 epochs, this run asks for 3"):
        fit_model(other, data, None, epochs=3, callbacks=[RunBackup(str(backup_dir))],
                  verbose=0)


# -- fine-tuning: `model-zoo finetune ... --resume` ------------------------------------------------

# Runs `model-zoo finetune ARGS...`: `FINETUNE_DRIVER KILL ARGS...`.
FINETUNE_DRIVER = KILL_HOOK + r"""
from model_zoo import cli

kill_at(json.loads(sys.argv[1]))
sys.exit(cli.main(["finetune", *sys.argv[2:]]))
"""


def _finetune(args, kill=None):
    return subprocess.run([sys.executable, "-c", FINETUNE_DRIVER, json.dumps(kill), *args],
                          env=_env(), capture_output=True, text=True, timeout=300)


@pytest.fixture
def series_csv(tmp_path):
    from series_data import seasonal_series

    path = tmp_path / "series.csv"
    values = seasonal_series(150, seed=5)
    path.write_text("value\n" + "\n".join(f"{v:.6f}" for v in values) + "\n")
    return str(path)


def test_a_killed_finetune_resumes_exactly(tiny_forecaster_dir, series_csv, tmp_path):
    """The default strategy `auto` trains four candidates one after the other (gradual
    unfreezing: two stages, full, random weights): killed inside the third stage (`full`),
    the resumed fine-tune ends with the uninterrupted one's weights and comparison."""
    import model_zoo

    args = [tiny_forecaster_dir, "--csv", series_csv, "--column", "value", "--epochs", "2"]
    reference = _finetune([*args, "--out", str(tmp_path / "reference")])
    assert reference.returncode == 0, reference.stderr[-3000:]

    out = tmp_path / "tuned"
    killed = _finetune([*args, "--out", str(out)], kill=[3, 1, 0])
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    backup_dir = tmp_path / "tuned.backup"
    assert not out.exists() and sorted(os.listdir(backup_dir)) == [
        "finetune.json", "stage-1", "stage-2", "stage-3"]

    again = _finetune([*args, "--out", str(out)])  # Not silently resumed, not overwritten.
    assert again.returncode == 2 and "holds the backup of a fine-tune" in again.stderr
    other = _finetune([*args[:-1], "3", "--out", str(out), "--resume"])
    assert other.returncode == 2 and "was made by another fine-tune" in other.stderr

    resumed = _finetune([*args, "--out", str(out), "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert not backup_dir.exists()
    got, want = model_zoo.load(str(out)), model_zoo.load(str(tmp_path / "reference"))
    for a, b in zip(got.model.get_weights(), want.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    tuned, reference_metrics = (m.metadata.metrics["finetune"] for m in (got, want))
    assert tuned["comparison"]["rows"] == reference_metrics["comparison"]["rows"]
    assert tuned["strategy"] == {**reference_metrics["strategy"],
                                 "seconds": tuned["strategy"]["seconds"]}
    assert "--resume" not in got.metadata.command


def test_finetune_resume_needs_a_backup(tiny_forecaster_dir, tmp_path):
    import model_zoo

    series = np.sin(np.arange(150) / 2) + 5
    with pytest.raises(InputError, match="There is no fine-tune to resume"):
        model_zoo.finetune(tiny_forecaster_dir, series, out=str(tmp_path / "x"), resume=True)
    with pytest.raises(InputError, match="give `out=`"):
        model_zoo.finetune(tiny_forecaster_dir, series, resume=True)
    (tmp_path / "y.backup").mkdir()
    (tmp_path / "y.backup" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="is not a fine-tune's backup"):
        model_zoo.finetune(tiny_forecaster_dir, series, out=str(tmp_path / "y"))
    assert os.listdir(tmp_path / "y.backup") == ["notes.txt"]
