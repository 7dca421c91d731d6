"""`model-zoo tune`: Keras Tuner over a recipe's search space.

A search lives in `runs/tune/<recipe>-<checkpoint name>/`. Beside Keras Tuner's own files it
keeps `model_zoo_search.json`: a fingerprint of the search space, tuner, objective and data
config. Without `resume` a new search always starts afresh (the old one is replaced, and this
is said); with `resume` the old search continues only if its fingerprint matches, so a search
whose space changed is never silently reused.
"""

import hashlib
import json
import os
import shutil

from model_zoo.errors import InputError
from model_zoo.limits import positive_int
from model_zoo.training.recipe import get_recipe
from model_zoo.training.runner import runs_root, set_seed

TUNERS = ("random", "bayesian", "hyperband")
STATE_FILE = "model_zoo_search.json"


def _fingerprint(recipe, config, space, tuner, objective):
    blob = json.dumps({"recipe": recipe, "config": config, "space": space.get_config(),
                       "tuner": tuner, "objective": objective}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _hypermodel(recipe, config, data):
    import keras_tuner

    class RecipeHyperModel(keras_tuner.HyperModel):
        def build(self, hp):
            return recipe.build_model(hp, config)

        def fit(self, hp, model, *args, **kwargs):
            return recipe.fit(model, data, config, hp, callbacks=kwargs.get("callbacks", []),
                              epochs=kwargs.get("epochs"), verbose=0,
                              initial_epoch=kwargs.get("initial_epoch", 0))

    return RecipeHyperModel(name=recipe.name)


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
         epochs=None, seed=0, directory=None, log=print):
    """Runs a search; returns the best trials as `[{"trial", "score", "hp"}, ...]`."""
    import keras_tuner

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
    if resume:
        if not os.path.isfile(state_path):
            raise InputError(
                f"--resume: there is no search to resume in {project_dir}. Run without --resume "
                f"to start one. Received: {project_dir}"
            )
        with open(state_path, encoding="utf-8") as f:
            previous = json.load(f)
        if previous["fingerprint"] != fingerprint:
            raise InputError(
                f"--resume refused: the search in {project_dir} was started with another search "
                f"space, tuner, objective or config (fingerprint {previous['fingerprint'][:12]}, "
                f"now {fingerprint[:12]}); its trials would not be comparable. Run without "
                f"--resume to start a new search. Received: --resume"
            )
        log(f"Resuming the search in {project_dir}.")
    elif os.path.exists(project_dir):
        log(f"Starting a new search: replacing the old one in {project_dir} "
            "(pass --resume to continue it instead).")
        shutil.rmtree(project_dir)
    os.makedirs(project_dir, exist_ok=True)
    with open(state_path, "w", encoding="utf-8") as f:
        json.dump({"fingerprint": fingerprint, "recipe": recipe.name, "tuner": tuner,
                   "objective": objective, "config": config}, f, indent=2, default=str)

    data = recipe.load_data(config)
    common = dict(hypermodel=_hypermodel(recipe, config, data), objective=objective,
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
    engine.search()
    best = []
    for trial in engine.oracle.get_best_trials(num_trials=min(max_trials, 5)):
        best.append({"trial": trial.trial_id, "score": trial.score,
                     "hp": dict(trial.hyperparameters.values)})
    return best
