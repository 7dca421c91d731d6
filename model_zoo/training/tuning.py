"""`model-zoo tune`: Keras Tuner over a recipe's search space.

A search lives in `runs/tune/<recipe>-<checkpoint name>/`. Beside Keras Tuner's own files it
keeps `model_zoo_search.json`: a fingerprint of the search space, tuner, objective and data
config. As in Keras Tuner itself, an existing search is never deleted implicitly: it is
reloaded and continued when its fingerprint matches, and refused when it differs (a search
whose space, tuner or data changed is never silently reused); `overwrite=True`
(`--overwrite`) deletes it, says so, and starts afresh. `resume=True` (`--resume`) insists on an
existing search to continue.
"""

import functools
import hashlib
import json
import os
import shutil
import time

from model_zoo.errors import InputError
from model_zoo.limits import positive_int
from model_zoo.optional import import_optional
from model_zoo.training.recipe import get_recipe
from model_zoo.training.runner import runs_root, set_seed

TUNERS = ("random", "bayesian", "hyperband")
STATE_FILE = "model_zoo_search.json"


def _fingerprint(recipe, config, space, tuner, objective):
    blob = json.dumps({"recipe": recipe, "config": config, "space": space.get_config(),
                       "tuner": tuner, "objective": objective}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _hypermodel(recipe, config, load_data):
    """The recipe as a Keras Tuner HyperModel; its data is loaded on the first trial (a chief
    that only serves the oracle never loads it)."""
    keras_tuner = import_optional("keras_tuner", "train", "Tuning")

    data = functools.lru_cache(maxsize=1)(load_data)

    class RecipeHyperModel(keras_tuner.HyperModel):
        def build(self, hp):
            return recipe.build_model(hp, config)

        def fit(self, hp, model, *args, **kwargs):
            return recipe.fit(model, data(), config, hp, callbacks=kwargs.get("callbacks", []),
                              epochs=kwargs.get("epochs"), verbose=0,
                              initial_epoch=kwargs.get("initial_epoch", 0))

    return RecipeHyperModel(name=recipe.name)


def distributed_role():
    """`"chief"`, `"worker"` or None (one process), from Keras Tuner's own environment variables
    `KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`."""
    ip, port = os.environ.get("KERASTUNER_ORACLE_IP"), os.environ.get("KERASTUNER_ORACLE_PORT")
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID")
    if not ip:
        return None
    if not (port and port.isdigit() and tuner_id):
        raise InputError(
            "Distributed tuning needs KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT (a port "
            "number) and KERASTUNER_TUNER_ID (`chief` for the chief, another name per worker) "
            f"set together. Received: ip={ip!r}, port={port!r}, tuner_id={tuner_id!r}"
        )
    return "chief" if "chief" in tuner_id else "worker"


def set_distributed_role(chief=False, worker=None, oracle=None):
    """Sets Keras Tuner's environment variables for `model-zoo tune --chief` / `--worker ID`,
    with the chief's oracle at `oracle` (`HOST:PORT`)."""
    if not chief and not worker:
        if oracle:
            raise InputError("--oracle goes with --chief or --worker ID. Received: --oracle "
                             f"{oracle}")
        return None
    if chief and worker:
        raise InputError("A process is the chief or a worker, not both. "
                         f"Received: --chief --worker {worker}")
    host, _, port = (oracle or "").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError("--oracle must be HOST:PORT, the address the chief serves its oracle "
                         f"on (e.g. 127.0.0.1:8000). Received: {oracle!r}")
    if worker and "chief" in worker:
        raise InputError(f"A worker's id must not contain `chief`. Received: {worker!r}")
    os.environ.update(KERASTUNER_ORACLE_IP=host, KERASTUNER_ORACLE_PORT=port,
                      KERASTUNER_TUNER_ID="chief" if chief else worker)
    return distributed_role()


def trial_seed(seed, trial_id):
    """The seed of trial `trial_id` in a search seeded with `seed` (a 32-bit integer)."""
    return int(hashlib.sha256(f"{seed}/{trial_id}".encode()).hexdigest()[:8], 16)


def _seeded(tuner_class, seed):
    """`tuner_class` whose every trial starts from `trial_seed(seed, trial_id)`.

    A search seeded once runs each trial from where the previous one left the random state;
    after a kill, `--resume` re-runs the interrupted trial (Keras Tuner retries it with its
    values) from a fresh state instead, so its weights, dropout and shuffles, and its score,
    would differ. Seeding each trial by its id makes a resumed search equal an uninterrupted one
    (and Bayesian optimisation's proposals too).
    """
    import numpy as np

    class Seeded(tuner_class):
        def pre_create_trial(self):
            if distributed_role() == "worker":  # the chief's oracle proposes the trials
                return super().pre_create_trial()
            # Bayesian optimisation draws candidates from a RandomState that Keras Tuner does
            # not save with the search: seed it by the number of the trial it is to propose,
            # and fit it to the trials in their order (a reloaded search has them in the order
            # the file system lists them).
            self.oracle.trials = dict(sorted(self.oracle.trials.items()))
            if isinstance(getattr(self.oracle, "_random_state", None), np.random.RandomState):
                self.oracle._random_state = np.random.RandomState(
                    trial_seed(seed, len(self.oracle.trials)))
            super().pre_create_trial()

        def run_trial(self, trial, *args, **kwargs):
            set_seed(trial_seed(seed, trial.trial_id))
            return super().run_trial(trial, *args, **kwargs)

    Seeded.__name__ = f"Seeded{tuner_class.__name__}"
    return Seeded


def tune(recipe_name, overrides=None, tuner="random", max_trials=10, resume=False,
         epochs=None, seed=0, directory=None, log=print, overwrite=False):
    """Runs a search; returns the best trials as `[{"trial", "score", "hp"}, ...]`."""
    keras_tuner = import_optional("keras_tuner", "train", "Tuning")

    if tuner not in TUNERS:
        raise InputError(f"--tuner must be one of {TUNERS}. Received: {tuner!r}")
    positive_int(max_trials, "max_trials")
    recipe = get_recipe(recipe_name)
    config, preset = recipe.resolve(overrides)
    if epochs is not None:
        config["epochs"] = positive_int(epochs, "epochs")
    set_seed(seed)
    space = recipe.search_space(config)
    fixed = keras_tuner.HyperParameters()  # `--set` on a hyperparameter fixes it.
    for key, value in preset.values.items():
        fixed.Fixed(key, value)
    objective = recipe.objective
    fingerprint = _fingerprint(recipe.name, config, space, tuner, objective)
    fingerprint = hashlib.sha256((fingerprint + json.dumps(fixed.values, sort_keys=True,
                                                           default=str)).encode()).hexdigest()
    directory = os.path.abspath(directory or os.path.join(runs_root(), "tune"))
    project = f"{recipe.name}-{recipe.checkpoint_name(config)}"
    project_dir = os.path.join(directory, project)
    state_path = os.path.join(project_dir, STATE_FILE)
    role = distributed_role()
    if resume and overwrite:
        raise InputError("--resume continues a search and --overwrite deletes it: pass one. "
                         "Received: --resume --overwrite")
    if role == "worker":
        # The chief owns the search folder: wait until it has written its state, so that
        # Keras Tuner's files of this worker never come first, and compare the settings.
        _check_worker(state_path, fingerprint, log)
    elif overwrite and os.path.exists(project_dir):
        log(f"--overwrite: deleting the search in {project_dir} and starting afresh.")
        shutil.rmtree(project_dir)
    elif os.path.isfile(state_path):
        with open(state_path, encoding="utf-8") as f:
            previous = json.load(f)
        if previous["fingerprint"] != fingerprint:
            raise InputError(
                f"The search in {project_dir} was started with another search space, tuner, "
                f"objective or config (fingerprint {previous['fingerprint'][:12]}, now "
                f"{fingerprint[:12]}); its trials would not be comparable. Pass --overwrite to "
                f"delete it and start afresh, or --directory for a new place. "
                f"Received: {project_dir}"
            )
        log(f"Resuming the search in {project_dir}.")
    elif resume:
        raise InputError(
            f"--resume: there is no search to resume in {project_dir}. Run without --resume "
            f"to start one. Received: {project_dir}"
        )
    elif os.path.exists(project_dir):
        raise InputError(
            f"{project_dir} exists but holds no model_zoo search ({STATE_FILE} is missing); it "
            f"is left alone. Pass --overwrite to delete it, or --directory for a new place. "
            f"Received: {project_dir}"
        )
    if role != "worker":
        os.makedirs(project_dir, exist_ok=True)
        with open(state_path, "w", encoding="utf-8") as f:
            json.dump({"fingerprint": fingerprint, "recipe": recipe.name, "tuner": tuner,
                       "objective": objective, "config": config}, f, indent=2, default=str)

    load = functools.partial(recipe.load_data, config)
    common = dict(hypermodel=_hypermodel(recipe, config, load), objective=objective,
                  hyperparameters=fixed, tune_new_entries=True, directory=directory,
                  project_name=project, overwrite=False, seed=seed)
    if tuner == "random":
        engine = _seeded(keras_tuner.RandomSearch, seed)(max_trials=max_trials, **common)
    elif tuner == "bayesian":
        engine = _seeded(keras_tuner.BayesianOptimization, seed)(max_trials=max_trials, **common)
    else:
        engine = _seeded(keras_tuner.Hyperband, seed)(
            max_epochs=config.get("epochs", 10), factor=3, max_consecutive_failed_trials=3,
            **common)
        engine.oracle.max_trials = max_trials  # Hyperband budgets by epochs; this caps trials.
    if role == "worker":
        log(f"Worker {os.environ['KERASTUNER_TUNER_ID']}: running trials of the search in "
            f"{project_dir}.")
    elif role == "chief":
        log(f"Chief: serving the search's oracle on {os.environ['KERASTUNER_ORACLE_IP']}:"
            f"{os.environ['KERASTUNER_ORACLE_PORT']} until the workers have run every trial.")
    engine.search()
    if role == "worker":
        return []  # the chief reports the best trials
    best = []
    for trial in engine.oracle.get_best_trials(num_trials=min(max_trials, 5)):
        best.append({"trial": trial.trial_id, "score": trial.score,
                     "hp": dict(trial.hyperparameters.values)})
    return best


WORKER_WAIT = 600  # seconds a worker waits for its chief to start the search


def _check_worker(state_path, fingerprint, log, wait=None):
    """Waits (at most `WORKER_WAIT` s) for the chief's search state; a worker runs trials only
    for the search the chief started with the same settings."""
    deadline = time.monotonic() + (WORKER_WAIT if wait is None else wait)
    if not os.path.isfile(state_path):
        log(f"Waiting for the chief to start the search in {os.path.dirname(state_path)}.")
    while not os.path.isfile(state_path) and time.monotonic() < deadline:
        time.sleep(0.5)
    try:
        with open(state_path, encoding="utf-8") as f:
            chief = json.load(f)["fingerprint"]
    except (OSError, ValueError, KeyError):
        raise InputError(
            f"This worker found no search state of its chief at {state_path} within "
            f"{WORKER_WAIT if wait is None else wait} s; start the chief first, and give the "
            "chief and its workers the same --directory (a shared file system across machines). "
            f"Received: {state_path}"
        ) from None
    if chief != fingerprint:
        raise InputError(
            "This worker's recipe, settings or tuner differ from the chief's search "
            f"(fingerprint {chief[:12]}, the worker's {fingerprint[:12]}); start every worker "
            f"with the chief's arguments. Received: {state_path}"
        )
