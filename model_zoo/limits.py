"""Limits on how much input one call takes, and the checks of the numbers a user passes.

Every verb refuses an input past its limit with one clear `InputError` instead of running
for hours or filling the memory. The defaults keep one call within about a minute on a
2-core CPU. A limit is raised (or lifted: `None`, or `0` in the environment)

* for the whole process with the environment variable `MODEL_ZOO_MAX_<NAME>`, e.g.
  `MODEL_ZOO_MAX_HORIZON=50000 model-zoo predict ...`;
* for a block of code with `override`:

>>> with model_zoo.limits.override(horizon=50_000):  # doctest: +SKIP
...     forecaster.forecast(series, horizon=50_000)

`override` wins over the environment, which wins over the default. Evaluation (`evaluate`) and
fine-tuning take whole data sets: there only the audio limit applies.
"""

import contextlib
import contextvars
import dataclasses
import math
import numbers
import os

from model_zoo.errors import InputError


@dataclasses.dataclass(frozen=True)
class Limit:
    default: float
    unit: str
    scope: str


LIMITS = {
    "horizon": Limit(2_000, "values", "forecast in one call"),
    "series_values": Limit(200_000, "values", "in one series to score for anomalies"),
    "series_steps": Limit(2_000, "time steps", "in one series to classify"),
    "texts": Limit(10_000, "items", "(texts, sentences, prompts x samples) in one call"),
    "text_chars": Limit(20_000, "characters", "in one text or sentence"),
    "sentence_tokens": Limit(500, "tokens", "in one sentence to tag"),
    "prompt_chars": Limit(10_000, "characters", "in one prompt"),
    "generate_chars": Limit(10_000, "characters (tokens)", "generated per sample"),
    "audio_seconds": Limit(180, "seconds", "in one audio clip (split it at pauses)"),
    # Translating is slow (beam 8: about 10 sentences a second here, so 500 pairs take about
    # 50 s per model, and the comparison translates them with two): a share held out of the
    # user's pairs stops at this many; a test set given larger is refused.
    "finetune_test_pairs": Limit(500, "pairs", "held out to compare a fine-tuned translator"),
}

_OVERRIDES = contextvars.ContextVar("model_zoo_limits", default={})


def env_name(name):
    return f"MODEL_ZOO_MAX_{name.upper()}"


def _known(name):
    if name not in LIMITS:
        raise InputError(f"There is no input limit named {name!r}; the limits are "
                         f"{sorted(LIMITS)}. Received: {name!r}")


def get(name, default=None):
    """The limit `name` in force now (`None`: no limit); `default` replaces the built-in one."""
    _known(name)
    overrides = _OVERRIDES.get()
    if name in overrides:
        return overrides[name]
    text = os.environ.get(env_name(name), "").strip()
    if text:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not value >= 0 or math.isinf(value):
            raise InputError(f"The environment variable {env_name(name)} must be a number >= 0 "
                             f"(0: no limit). Received: {text!r}")
        return value or None
    return LIMITS[name].default if default is None else default


@contextlib.contextmanager
def override(**limits):
    """`with override(horizon=50_000, texts=None):` those limits inside the block (None: none)."""
    for name, value in limits.items():
        _known(name)
        if value is not None and (not isinstance(value, numbers.Real) or isinstance(value, bool)
                                  or not value > 0):
            raise InputError(f"A limit is a positive number or None (no limit). "
                             f"Received: {name}={value!r}")
    token = _OVERRIDES.set({**_OVERRIDES.get(), **limits})
    try:
        yield
    finally:
        _OVERRIDES.reset(token)


def check(name, size, subject, default=None, error=InputError):
    """Raises `error` if `size` is over the limit `name`; `subject` names the input."""
    limit = get(name, default)
    if limit is not None and size > limit:
        spec = LIMITS[name]
        raise error(
            f"{subject} is too long: {size:,.12g} {spec.unit}, over the limit of {limit:,.12g} "
            f"{spec.unit} {spec.scope}. Use less (split the input), or raise the limit with the "
            f"environment variable {env_name(name)}=N or "
            f"`with model_zoo.limits.override({name}=N):`. "
            f"Received: {size:,.12g} {spec.unit}"
        )
    return size


def check_texts(texts, subject="text", allow_empty=False):
    """Checks the number of `texts` and the length of each: within the limits, and (unless
    `allow_empty`) not empty or blank: a model would still answer, but about nothing."""
    check("texts", len(texts), f"The list of {subject}s")
    for k, text in enumerate(texts):
        check("text_chars", len(text), f"{subject.capitalize()} {k + 1}")
        if not allow_empty and not text.strip():
            raise InputError(f"{subject.capitalize()} {k + 1} is empty: there is nothing to "
                             f"read in it. Remove it or give some words. Received: {text!r}")
    return texts


def positive_int(value, name):
    """`value` as an int if it is a positive integer (not a bool), else an InputError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InputError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


def finite_number(value, name):
    """`value` as a float if it is a finite real number (not a bool), else an InputError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InputError(f"`{name}` must be a finite number. Received: {name}={value!r}")
    return float(value)
