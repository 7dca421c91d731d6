"""Training that survives a kill: a run's state backed up at epoch ends (and every N steps),
and every `model.fit` of the run continued from it exactly as if it had never stopped.

`RunBackup` is Keras's `BackupAndRestore` callback with what an exact resume needs besides the
weights and the optimizer (which Keras's callback keeps): the early-stopping state and best
weights so far, the history of the epochs before the kill, the dropout seed generators, the
metric accumulators of a half-done epoch, and the stage a multi-stage recipe was in. Why not
Keras's callback alone: it writes weights and metadata one after the other (a kill between
them pairs the weights of one epoch with the epoch number of another), restarts a mid-epoch
backup from the first batch of that epoch (so its batches are trained on twice), and loses the
early stopping's best weights and the history.

A run passes one `RunBackup` in the callbacks of every `model.fit` it makes (`fit_model` finds
it there): each such call is a *stage*, numbered in the order the recipe makes them, and keeps
its state in `<backup_dir>/stage-<n>/`. On resume the recipe runs again from the top with the
same seed: a stage that had finished gets its final weights back without training (and its
history), the stage that was cut short continues at the step after its last backup, and the
stages after it run as usual. The data order is the same because the tf.data shuffles of a
stage's training set are advanced by the epochs already done (their seeds advance each time
Keras starts an iterator over the set; `iterators_per_epoch` measures how many that is).

A state is written into a temporary folder and renamed into place (one atomic rename), so a
kill at any moment leaves the previous state or the new one, never half of each.
"""

import json
import os
import re
import shutil

import keras
import numpy as np

from model_zoo.errors import InputError
from model_zoo.fsutil import staging_folder

_STATE = re.compile(r"state-(\d{8})$")


class RunBackup(keras.callbacks.BackupAndRestore):
    """Backs up and restores the whole training state of a run, stage by stage.

    Args:
        backup_dir: the run's backup folder (`<run folder>/backup`).
        save_freq: `"epoch"` (a backup after every epoch) or an integer N: also every N
            training steps, for long epochs.

    Example:
    >>> backup = RunBackup("runs/forecasting/x/backup")  # doctest: +SKIP
    >>> fit_model(model, train, val, epochs=10, callbacks=[backup])  # doctest: +SKIP
    """

    def __init__(self, backup_dir, save_freq="epoch"):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=False)
        self.stage = 0
        self._resume_state = None

    # -- stages --------------------------------------------------------------------------------

    def _stage_dir(self, stage=None):
        return os.path.join(self.backup_dir, f"stage-{self.stage if stage is None else stage}")

    def begin_stage(self, epochs, early_stopping=None):
        """Starts the next stage (`fit_model` calls it before `model.fit`); returns the epochs
        its backup says are done (0 without a backup)."""
        self.stage += 1
        self.epochs = epochs
        self.early_stopping = early_stopping
        self._history = {}
        self._current_epoch = 0
        self._batches_in_epoch = 0
        self._skip_batches = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._resume_state = None
        folder = _latest_state(self._stage_dir())
        if folder is None:
            return 0
        with open(os.path.join(folder, "state.json"), encoding="utf-8") as f:
            state = json.load(f)
        if state["epochs"] != epochs:
            raise InputError(
                f"The backup of stage {self.stage} in {self.backup_dir} was made for "
                f"{state['epochs']} epochs, this run asks for {epochs}: it is another run's "
                f"backup, or the run's settings changed. Resume with the same settings, or "
                f"start a new run folder. Received: epochs={epochs}")
        state["folder"] = folder
        self._resume_state = state
        self._history = state["history"]
        self._current_epoch = state["epoch"]
        self._skip_batches = state["batch"]
        return state["epoch"]

    def history(self):
        """The stage's whole Keras `History`: the epochs before a resume, then the others."""
        result = keras.callbacks.History()
        result.history = {key: list(values) for key, values in self._history.items()}
        result.epoch = list(range(len(next(iter(result.history.values()), []))))
        return result

    # -- Keras callback hooks ------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        if self._resume_state is not None:
            self._load_model()
        if self._skip_batches:
            self._wrap_train_function()

    def on_epoch_begin(self, epoch, logs=None):
        self._batches_in_epoch = 0
        state = self._resume_state
        if state is not None and state["batch"] and epoch == state["epoch"]:
            # The epoch the kill cut short: its metrics go on from the batches before it.
            _assign(self.model.metrics_variables, _arrays(state["folder"], "metrics"),
                    "metric accumulators")
            self._batches_in_epoch = state["batch"]

    def on_train_batch_end(self, batch, logs=None):
        if self._skip_batches:
            return  # A batch trained on before the kill, passed over.
        self._batches_in_epoch = batch + 1
        super().on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self._history.setdefault(key, []).append(float(value))
        self._batches_in_epoch = 0
        super().on_epoch_end(epoch, logs)  # Saves, with `_current_epoch = epoch + 1`.

    def on_train_end(self, logs=None):
        # After early stopping restored its best weights (it comes before in the callbacks).
        self._save_model(done=True)
        if getattr(self, "_original_train_function", None) is not None:
            self.model.train_function = self._original_train_function
            self._original_train_function = None
        self.model._initial_epoch = None  # Keras keeps it across `fit` calls otherwise.
        self._resume_state = None

    # -- saving and loading ---------------------------------------------------------------------

    def _save_model(self, done=False):
        stage_dir = self._stage_dir()
        previous = _latest_state(stage_dir)
        number = int(_STATE.search(previous).group(1)) + 1 if previous else 1
        stopping = self.early_stopping
        best = getattr(stopping, "best_weights", None) if stopping else None
        arrays = {f"seeds_{i}": v.numpy() for i, v in enumerate(_seed_states(self.model))}
        arrays.update({f"metrics_{i}": np.asarray(v.numpy())
                       for i, v in enumerate(self.model.metrics_variables)})
        arrays.update({f"best_{i}": w for i, w in enumerate(best or [])})
        mid_epoch = not done and self.save_freq != "epoch" and self._batches_in_epoch
        state = {"epochs": self.epochs, "epoch": self._current_epoch,
                 "batch": self._batches_in_epoch if mid_epoch else 0, "done": bool(done),
                 "history": self._history, "early_stopping": _stopping_state(stopping)}
        with staging_folder(os.path.join(stage_dir, "state")) as staging:
            self.model.save_weights(os.path.join(staging, "model.weights.h5"))
            np.savez(os.path.join(staging, "arrays.npz"), **arrays)
            with open(os.path.join(staging, "state.json"), "w", encoding="utf-8") as f:
                json.dump(state, f)
            os.rename(staging, os.path.join(stage_dir, f"state-{number:08d}"))  # Atomic.
        if previous:
            shutil.rmtree(previous, ignore_errors=True)

    def _load_model(self):
        state = self._resume_state
        model = self.model
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(state["folder"], "model.weights.h5"))
        _assign(_seed_states(model), _arrays(state["folder"], "seeds"), "seed generators")
        stopping = self.early_stopping
        if state["done"]:
            model._initial_epoch = self.epochs  # Finished: its final weights, no training.
            return
        if stopping is not None and state["early_stopping"]:
            for key, value in state["early_stopping"].items():
                setattr(stopping, key, value)
            stopping.best_weights = _arrays(state["folder"], "best") or None
        model._initial_epoch = state["epoch"]

    def _wrap_train_function(self):
        """Passes over the batches of the cut-short epoch that were trained on before the kill
        (Keras has no initial step): they are read, so the data order stays, not trained on."""
        original = self.model.train_function
        self._original_train_function = original

        def train_function(iterator):
            if self._skip_batches:
                self._skip_batches -= 1
                if hasattr(iterator, "get_next"):  # TensorFlow: the step reads its batch.
                    iterator.get_next()
                return {}  # (JAX, torch: the batch was read before the step.)
            return original(iterator)

        self.model.train_function = train_function


def _latest_state(stage_dir):
    """The newest complete state folder of a stage, or None."""
    try:
        names = [n for n in os.listdir(stage_dir) if _STATE.match(n)]
    except FileNotFoundError:
        return None
    return os.path.join(stage_dir, max(names)) if names else None


def _seed_states(model):
    """The state variables of the model's random seed generators (dropout, noise): not saved
    by `save_weights`, but part of what makes the epochs after a resume the same."""
    return [v for v in model.variables if "seed_generator_state" in v.path]


def _arrays(folder, prefix):
    with np.load(os.path.join(folder, "arrays.npz")) as data:
        keys = sorted((k for k in data.files if k.startswith(prefix + "_")),
                      key=lambda k: int(k.rsplit("_", 1)[1]))
        return [data[k] for k in keys]


def _assign(variables, values, what):
    if len(variables) != len(values):
        raise InputError(f"The backup holds {len(values)} {what}, the model has "
                         f"{len(variables)}: it was made by another model. Received: "
                         f"{len(values)} saved, {len(variables)} in the model")
    for variable, value in zip(variables, values):
        variable.assign(value)


def _stopping_state(stopping):
    if stopping is None:
        return None
    best = stopping.best
    return {"wait": int(stopping.wait), "best": None if best is None else float(best),
            "best_epoch": int(stopping.best_epoch), "stopped_epoch": int(stopping.stopped_epoch)}


_PER_EPOCH = []


def iterators_per_epoch():
    """How many iterators `model.fit` starts over a training `tf.data.Dataset` per epoch.

    Each one advances the dataset's shuffle seeds, so a resumed stage advances its training set
    by this times the epochs already done. It is a detail of Keras's epoch loop (2 in Keras
    3.15 for a set of known length: one to train, one made ready at the epoch's end), so it is
    measured, once per process, on a throwaway model rather than assumed. (For a set of
    unknown length Keras starts one fewer in the first epoch of each `fit`: the zoo's training
    sets all have a known length.)
    """
    if not _PER_EPOCH:
        import tensorflow as tf

        def dataset():
            return (tf.data.Dataset.range(64).shuffle(64, seed=0).batch(64)
                    .map(lambda x: (tf.cast(x[:, None], "float32"),) * 2))

        def order(ds):
            return tuple(next(iter(ds))[0].numpy()[:, 0])

        reference = dataset()
        orders = [order(reference) for _ in range(8)]
        probe = dataset()
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.0), "mse")
        model.fit(probe, epochs=2, verbose=0)
        _PER_EPOCH.append(orders.index(order(probe)) // 2)
    return _PER_EPOCH[0]


def advance_shuffles(dataset, epochs):
    """Starts (and drops) as many iterators over `dataset` as `epochs` epochs of `model.fit`
    would: its shuffles then give the order of the next epoch. Reads no data."""
    for _ in range(iterators_per_epoch() * epochs if epochs else 0):
        iter(dataset)


def find_backup(callbacks):
    """The `RunBackup` among `callbacks`, or None."""
    return next((c for c in callbacks or () if isinstance(c, RunBackup)), None)
