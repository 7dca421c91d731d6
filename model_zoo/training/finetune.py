"""Fine-tuning strategies, shared by every task's `finetune`.

`GradualUnfreezing` is ULMFiT's recipe (Howard & Ruder, 2018): train the head first, unfreeze
one more layer group from the top at each stage, give lower groups smaller learning rates
(discriminative fine-tuning), and use a slanted triangular schedule within each stage.
`FullFineTune` trains every layer at once with a small learning rate.
"""

import dataclasses

import keras

from model_zoo.errors import InputError
from model_zoo.limits import positive_int
from model_zoo.training.fit import early_stopping, fit_model, steps_in
from model_zoo.training.optimizers import DiscriminativeAdam, SlantedTriangular


def _is_recurrent(layer):
    return isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))


def layer_groups(model, head_from=None):
    """Groups a model's weighted layers bottom-to-top for gradual unfreezing.

    Every weighted layer up to the last recurrent one is its own group; the layers after it
    (the head) form the top group. `head_from` names the first layer of the head explicitly.
    """
    weighted = [layer for layer in model.layers if layer.weights]
    if not weighted:
        raise InputError(f"Model {model.name} has no weights to fine-tune. Received: {model.name}")
    if head_from is not None:
        names = [layer.name for layer in weighted]
        if head_from not in names:
            raise InputError(f"No layer {head_from!r} in the model. Received: {names}")
        cut = names.index(head_from)
    else:
        recurrent = [i for i, layer in enumerate(weighted) if _is_recurrent(layer)]
        cut = recurrent[-1] + 1 if recurrent else len(weighted) - 1
        cut = min(cut, len(weighted) - 1)
    groups = [[layer] for layer in weighted[:cut]]
    groups.append(weighted[cut:])
    return groups


def discriminative_multipliers(groups, lr_decay):
    """`{layer name: lr_decay ** -depth}`, depth counted from the top group (0)."""
    multipliers = {}
    for depth, group in enumerate(reversed(groups)):
        for layer in group:
            multipliers[layer.name] = lr_decay ** (-depth)
    return multipliers


@dataclasses.dataclass
class FullFineTune:
    """Every layer trainable, Adam with a small slanted-triangular learning rate.

    Args:
        learning_rate: peak learning rate.
        clipnorm: gradient-norm clipping.
        patience: early-stopping patience (on the validation loss, when there is a set).
        callbacks: Keras callbacks every `model.fit` of the strategy gets (a run's TensorBoard
            and `RunBackup`, which makes a killed fine-tune resumable).
    """

    learning_rate: float = 3e-4
    clipnorm: float = 1.0
    patience: int = 5
    callbacks: tuple = dataclasses.field(default=(), repr=False, compare=False)

    def fit(self, model, train, val, loss, epochs, metrics=None, groups=None, verbose=0):
        epochs = positive_int(epochs, "epochs")
        schedule = SlantedTriangular(self.learning_rate, steps_in(train) * epochs)
        history = _fit_all_layers(model, keras.optimizers.Adam(schedule, clipnorm=self.clipnorm),
                                  train, val, loss, epochs, metrics, self.patience, verbose,
                                  self.callbacks)
        return {"stages": [{"trainable_groups": "all", "history": history.history}]}

    def adapt(self, model, train, val, loss, epochs, metrics=None, verbose=0):
        """A language model's adaptation step (see `ULMFiT.adapt`): the same as `fit`."""
        return self.fit(model, train, val, loss, epochs, metrics=metrics, verbose=verbose)


def _fit_all_layers(model, optimizer, train, val, loss, epochs, metrics, patience, verbose,
                    callbacks=()):
    """Every layer trainable; early stopping on the validation loss (when there is one)."""
    for layer in model.layers:
        layer.trainable = True
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics or [])
    return fit_model(model, train, val, epochs=epochs, callbacks=callbacks,
                     early_stopping=early_stopping(val, patience), verbose=verbose)


@dataclasses.dataclass
class GradualUnfreezing:
    """ULMFiT fine-tuning: gradual unfreezing, discriminative learning rates, STLR.

    Args:
        learning_rate: peak learning rate of the top group.
        lr_decay: each group below the top gets the learning rate of the group above / this.
        epochs_per_stage: epochs spent at each stage before one more group is unfrozen; the
            last stage (all groups) takes the remaining epochs, with early stopping.
        clipnorm: gradient-norm clipping.
        patience: early-stopping patience of the last stage.
        max_stages: unfreeze at most this many groups from the top (None: all).
        callbacks: Keras callbacks every `model.fit` of the strategy gets (each stage is one;
            with a run's `RunBackup` a killed run resumes in the stage it was in).
    """

    learning_rate: float = 1e-3
    lr_decay: float = 2.6
    epochs_per_stage: int = 1
    clipnorm: float = 1.0
    patience: int = 5
    max_stages: int | None = None
    callbacks: tuple = dataclasses.field(default=(), repr=False, compare=False)

    def fit(self, model, train, val, loss, epochs, metrics=None, groups=None, verbose=0):
        epochs = positive_int(epochs, "epochs")
        groups = groups or layer_groups(model)
        n_groups = len(groups)
        stages = n_groups if self.max_stages is None else min(self.max_stages, n_groups)
        stage_epochs = [self.epochs_per_stage] * (stages - 1)
        stage_epochs.append(max(epochs - sum(stage_epochs), 1))
        multipliers = discriminative_multipliers(groups, self.lr_decay)
        report = []
        for stage, n_epochs in enumerate(stage_epochs, start=1):
            unfrozen = groups[n_groups - stage:]
            names = {layer.name for group in unfrozen for layer in group}
            for layer in model.layers:
                layer.trainable = layer.name in names or not layer.weights
            schedule = SlantedTriangular(self.learning_rate, steps_in(train) * n_epochs)
            model.compile(optimizer=DiscriminativeAdam(multipliers, learning_rate=schedule,
                                                       clipnorm=self.clipnorm),
                          loss=loss, metrics=metrics or [])
            last = stage == len(stage_epochs)
            history = fit_model(model, train, val, epochs=n_epochs, callbacks=self.callbacks,
                                early_stopping=early_stopping(val, self.patience)
                                if last else None, verbose=verbose)
            report.append({"trainable_groups": stage, "layers": sorted(names),
                           "history": history.history})
        for layer in model.layers:
            layer.trainable = True
        return {"stages": report}


@dataclasses.dataclass
class ULMFiT(GradualUnfreezing):
    """Language-model-to-classifier transfer (Howard & Ruder, 2018), in two steps.

    1. `adapt(language_model, ...)`: fine-tune a pretrained language model on the target
       task's text, every layer at once, lower layers with smaller learning rates
       (discriminative fine-tuning) and a slanted triangular schedule.
    2. `fit(classifier, ...)`: the classifier, whose embedding and recurrent layers start from
       the language model's, trains with gradual unfreezing (`GradualUnfreezing`).

    `TextClassifier.finetune` and `LanguageModel.finetune` use it by name (`"ulmfit"`).

    Args:
        learning_rate, lr_decay, epochs_per_stage, clipnorm, patience, max_stages: of the
            classifier step, as in `GradualUnfreezing`.
        lm_learning_rate: peak learning rate of the language-model step.

    Example:
    >>> strategy = ULMFiT()
    >>> strategy.adapt(lm_model, text_windows, None, loss=lm_loss, epochs=1)  # doctest: +SKIP
    >>> strategy.fit(classifier, train, val, loss="sparse_categorical_crossentropy", epochs=5)
    """

    # Howard & Ruder's 0.01; on lm_lstm_imdb with 1,000 labels it beat 2e-3 on validation
    # accuracy (0.71 vs 0.605; recipes/sentiment.md).
    learning_rate: float = 1e-2
    lm_learning_rate: float = 1e-3

    def adapt(self, model, train, val, loss, epochs, metrics=None, verbose=0):
        epochs = positive_int(epochs, "epochs")
        multipliers = discriminative_multipliers(layer_groups(model), self.lr_decay)
        schedule = SlantedTriangular(self.lm_learning_rate, steps_in(train) * epochs)
        optimizer = DiscriminativeAdam(multipliers, learning_rate=schedule,
                                       clipnorm=self.clipnorm)
        history = _fit_all_layers(model, optimizer, train, val, loss, epochs, metrics,
                                  self.patience, verbose, self.callbacks)
        return {"stages": [{"trainable_groups": "all", "multipliers": multipliers,
                            "history": history.history}]}


@dataclasses.dataclass
class RecipeSchedule:
    """Training from scratch the way the recipes train (`training.fit`): every layer, Adam with
    the recipe's learning rate, warm-up, cosine decay to 1% of it, gradient clipping and early
    stopping on the validation loss, for the epochs the caller gives.

    What `model_zoo.finetune(..., init="random")` (`--from-scratch`) and the random-weights
    candidate of `strategy="auto"` train with: a pretrained model's small fine-tuning learning
    rate would handicap a network that starts from nothing. `from_metadata` reads the settings
    of the recipe run that published a checkpoint.

    Args:
        learning_rate: peak learning rate (the recipe's `learning_rate`).
        warmup_epochs: epochs of linear warm-up.
        clipnorm: gradient-norm clipping.
        patience: early-stopping patience.
        callbacks: Keras callbacks every `model.fit` gets.
    """

    learning_rate: float = 1e-3
    warmup_epochs: int = 0
    clipnorm: float = 1.0
    patience: int = 10
    callbacks: tuple = dataclasses.field(default=(), repr=False, compare=False)

    @classmethod
    def from_metadata(cls, metadata):
        """The schedule of the recipe run recorded in a checkpoint's metadata (defaults where
        the checkpoint was not published by a recipe)."""
        recorded = (getattr(metadata, "config", None) or {})
        config, hp = recorded.get("config") or {}, recorded.get("hp") or {}
        defaults = cls()
        return cls(learning_rate=float(hp.get("learning_rate", defaults.learning_rate)),
                   warmup_epochs=int(config.get("warmup_epochs") or 0),
                   patience=int(config.get("patience") or defaults.patience))

    def fit(self, model, train, val, loss, epochs, metrics=None, groups=None, verbose=0):
        from model_zoo.training.fit import fit as recipe_fit

        epochs = positive_int(epochs, "epochs")
        for layer in model.layers:
            layer.trainable = True
        history = recipe_fit(model, train, val, loss, epochs=epochs,
                             learning_rate=self.learning_rate, clipnorm=self.clipnorm,
                             patience=self.patience, metrics=metrics, callbacks=self.callbacks,
                             warmup_epochs=min(self.warmup_epochs, epochs - 1),
                             verbose=verbose)
        return {"stages": [{"trainable_groups": "all", "history": history.history}]}

    def adapt(self, model, train, val, loss, epochs, metrics=None, verbose=0):
        """A language model's adaptation step: the same as `fit`."""
        return self.fit(model, train, val, loss, epochs, metrics=metrics, verbose=verbose)


def merged_history(report):
    """One Keras-style history `{metric: [per epoch]}` over the stages of a strategy's report."""
    merged = {}
    for stage in report["stages"]:
        for key, values in stage["history"].items():
            merged.setdefault(key, []).extend(float(v) for v in values)
    return merged


STRATEGIES = {"gradual_unfreezing": GradualUnfreezing, "full": FullFineTune, "ulmfit": ULMFiT}


def get_strategy(strategy):
    if strategy is None:
        return GradualUnfreezing()
    if isinstance(strategy, str):
        if strategy not in STRATEGIES:
            raise InputError(
                f"Unknown fine-tuning strategy; choose one of {sorted(STRATEGIES)}. "
                f"Received: {strategy!r}"
            )
        return STRATEGIES[strategy]()
    if not hasattr(strategy, "fit"):
        raise InputError(
            f"A fine-tuning strategy needs a `fit` method. Received: {type(strategy).__name__}"
        )
    return strategy
