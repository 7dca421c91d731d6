"""Bad input, at every public entry point: one clear line (exit code 2 on the CLI), nothing
written, and the check made before any loading or training.

The cases are tables: a new CLI verb or task verb is covered by adding a row to `CLI_CASES`
or `TASK_CASES` (`test_every_cli_verb_and_task_has_a_case` fails until it has one). They use
the small published checkpoints; every case is refused before the model runs.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import model_zoo
from model_zoo import limits
from model_zoo.cli import CORE, _quiet_tensorflow, main, task_commands
from model_zoo.errors import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WINEIND = os.path.join(ROOT, "examples", "data", "wineind.csv")
SERIES = 100 + 10 * np.sin(np.arange(200) / 3)

FORECASTER = "forecast_lstm_airline"
DETECTOR = "anomaly_lstmae_ucr135"
SERIES_CLASSIFIER = "classify_bigru_italypowerdemand"
LANGUAGE_MODEL = "charlm_lstm_shakespeare"
TEXT_CLASSIFIER = "sentiment_bigru_rotten_tomatoes"
TAGGER = "tagging_bilstm_brown"
TRANSLATOR = "translation_bilstm_bible_en_es"
RECOGNIZER = "asr_crnn_synthetic_en"

# -- the command line: (argv, part of the error, whether it must come before any `load`) -----

CLI_CASES = [
    (["list", "--bogus"], "unrecognized arguments", False),
    (["info", "forecast_lstm_airlin"], "Did you mean 'forecast_lstm_airline'", False),
    (["recipes", "extra"], "unrecognized arguments", False),
    (["train", "forecasting", "--set", "depth=0"], "`depth` must be an integer > 0", False),
    (["train", "forecasting", "--set", "dropout=1.5"], "`dropout` must be a number >= 0 and <= 1",
     False),
    (["train", "forecasting", "--set", "cell=rnn"], "`cell` must be one of ['lstm', 'gru']",
     False),
    (["train", "forecasting", "--set", "epochs=many"], "`epochs` must be an integer", False),
    (["train", "forecasting", "--epochs", "0"], "`epochs` must be a positive integer", False),
    (["train", "forecasting", "--run-dir", "/proc/nope/run"], "Cannot write the run folder",
     False),
    (["publish", "{tmp}/in"], "holds no finished run", False),
    (["tune", "forecasting", "--set", "dropout=1.5", "--max-trials", "1", "--directory",
      "{tmp}/tune"], "`dropout` must be", False),
    (["tune", "forecasting", "--epochs", "0", "--max-trials", "1", "--directory",
      "{tmp}/tune"], "`epochs` must be a positive", False),
    (["tune", "forecasting", "--chief", "--max-trials", "1", "--directory", "{tmp}/tune"],
     "--oracle must be HOST:PORT", False),
    (["tune", "forecasting", "--oracle", "127.0.0.1:8000", "--max-trials", "1"],
     "--oracle goes with --chief or --worker", False),
    (["tune", "forecasting", "--overwrite", "--resume", "--max-trials", "1", "--directory",
      "{tmp}/tune"], "pass one", False),
    (["evaluate", "no_such_model"], "no_such_model", False),
    (["predict", FORECASTER, "--csv", WINEIND, "--column", "bottles", "--horizon", "0"],
     "`horizon` must be a positive integer", False),
    (["predict", FORECASTER, "--csv", WINEIND, "--column", "bottles", "--horizon", "1000000"],
     "MODEL_ZOO_MAX_HORIZON", False),
    (["predict", FORECASTER, "--csv", WINEIND, "--column", "bottles", "--fill-missing", "zero"],
     "invalid choice: 'zero'", False),
    (["predict", DETECTOR, "--csv", WINEIND, "--column", "bottles", "--threshold", "nan"],
     "`threshold` must be a finite number", False),
    (["predict", TEXT_CLASSIFIER, "--text", ""], "Text 1 is empty", False),
    (["predict", TEXT_CLASSIFIER, "--input", "{tmp}/in/latin1.txt"], "is not UTF-8", False),
    (["predict", TAGGER, "--text", "word " * 501], "MODEL_ZOO_MAX_SENTENCE_TOKENS", False),
    (["finetune", FORECASTER, "--csv", WINEIND, "--column", "bottles", "--out", "/proc/x"],
     "Cannot write the fine-tuned checkpoint to /proc/x", True),
    (["finetune", FORECASTER, "--csv", WINEIND, "--column", "bottles", "--out", "{tmp}/out",
      "--name", "Bad Name"], "A checkpoint name is lowercase", True),
    (["finetune", FORECASTER, "--csv", WINEIND, "--column", "bottles", "--out", "{tmp}/out",
      "--epochs", "0"], "`epochs` must be a positive integer", True),
    (["finetune", FORECASTER, "--csv", WINEIND, "--column", "bottles", "--out", "{tmp}/out",
      "--from-scratch", "--strategy", "gradual_unfreezing"],
     "Training from random weights trains every layer", True),
    (["finetune", FORECASTER, "--csv", WINEIND, "--column", "bottles", "--out", "{tmp}/out",
      "--strategy", "nonsense"],
     "Unknown fine-tuning strategy; choose 'auto' (the default: the best on your validation "
     "split) or one of ['full', 'gradual_unfreezing', 'ulmfit']. Received: strategy='nonsense'",
     False),
    (["finetune", FORECASTER, "--csv", WINEIND, "--column", "bottles", "--out", "{tmp}/out",
      "--test-size", "5"], "`test_size` must hold at least one forecast", False),
    (["finetune", FORECASTER, "--csv", WINEIND, "--column", "bottles", "--out", "{tmp}/out",
      "--test-size", "a fifth"], "argument --test-size: invalid int value", False),
    (["finetune", FORECASTER, "--csv", WINEIND, "--column", "bottles", "--out", "{tmp}/out",
      "--season", "0"], "`season` must be a positive integer", False),
    (["finetune", TEXT_CLASSIFIER, "--csv", "{tmp}/in/latin1.txt", "--out", "{tmp}/out",
      "--test-fraction", "1.5"], "`test_fraction` must be a number >= 0 and < 1", False),
    (["finetune", SERIES_CLASSIFIER, "--input", "{tmp}/in/latin1.txt", "--out", "{tmp}/out",
      "--test-fraction", "-0.2"], "`test_fraction` must be a number >= 0 and < 1", False),
    (["finetune", SERIES_CLASSIFIER, "--input", "{tmp}/in/latin1.txt", "--out", "{tmp}/out",
      "--classical-blend", "rocket"], "invalid choice: 'rocket'", True),
    (["cudnn", "no_such_model"], "no_such_model", False),
    (["generate", LANGUAGE_MODEL, "--max-chars", "0"], "must be a positive integer", False),
    (["generate", LANGUAGE_MODEL, "--max-chars", "100000000"], "MODEL_ZOO_MAX_GENERATE_CHARS",
     False),
    (["generate", LANGUAGE_MODEL, "--num-samples", "0"], "`num_samples` must be a positive",
     False),
    (["finetune", TRANSLATOR, "--tsv", "{tmp}/in/pairs.tsv", "--out", "{tmp}/out",
      "--target-vocabulary", "french"], "`target_vocabulary` must be 'keep', 'new' or a", True),
    (["translate", ""], "Sentence 1 is empty", False),
    (["translate", "--file", "{tmp}/in/latin1.txt"], "is not UTF-8", False),
    (["translate", "God is love.", "--plot", "/proc/nope/a.png"],
     "Cannot write the attention plot to /proc/nope/a.png", True),
    (["translate", "God is love.", "--beam-size", "0"], "`beam_size` must be a positive", False),
    (["transcribe", "{tmp}/in/clip.wav", "--beam-width", "0"],
     "`beam_width` must be a positive integer", False),
    (["serve", "no_such_model"], "No checkpoint named `no_such_model`", True),
    (["serve", FORECASTER, "--port", "70000"], "`port` must be an integer from 0", True),
    (["serve", FORECASTER, "--port", "http"], "argument --port: invalid int value", True),
    (["serve", FORECASTER, "--max-batch", "0"], "`max_batch` must be a positive integer",
     True),
    (["serve", FORECASTER, "--batch-wait-ms", "-1"], "`batch_wait_ms` must be >= 0", True),
    (["serve", FORECASTER, "--max-body-mb", "nan"], "`max_body_mb` must be a finite number",
     True),
    (["serve", FORECASTER, FORECASTER], "Two checkpoints would be served under the name",
     True),
    (["export", FORECASTER], "the following arguments are required: --out", True),
    (["export", FORECASTER, "--out", "{tmp}/out", "--format", "onnx"],
     "argument --format: invalid choice", True),
    (["export", FORECASTER, "--out", "{tmp}/out", "--quantize", "float16"],
     "Quantisation applies to TFLite exports only", False),
    (["export", FORECASTER, "--out", "{tmp}/out", "--length", "100"],
     "Unknown export option(s) ['length'] for a `forecasting` model", False),
    (["export", DETECTOR, "--out", "{tmp}/out", "--format", "tflite"],
     "TFLite needs a fixed series length", False),
    (["export", TRANSLATOR, "--out", "{tmp}/out", "--horizon", "5"],
     "Unknown export option(s) ['horizon'] for a `translation` model", False),
    (["export", LANGUAGE_MODEL, "--out", "{tmp}/out", "--max-new-tokens", "0"],
     "`max_new_tokens` must be", False),
    (["export", FORECASTER, "--out", "{tmp}/in"], "Refusing to overwrite the existing", False),
    (["train"], "needs a RECIPE", True),
    (["train", "forecasting", "--resume", "{tmp}/in"], "it takes no other settings. Received: "
     "RECIPE", True),
    (["train", "--resume", "{tmp}/in", "--epochs", "3"], "Received: --epochs", True),
    (["train", "--resume", "{tmp}/in"], "is not a run folder of `model-zoo train`", True),
    (["train", "forecasting", "--backup-steps", "0"], "`backup_steps` must be a positive",
     True),
    (["train", "forecasting", "--distribute", "multiworker"],
     "Multi-worker training is not available", True),
    (["train", "forecasting", "--distribute", "tpu"], "`--distribute` must be one of", True),
    (["finetune", TAGGER, "--conll", "{tmp}/in/latin1.txt", "--out", "{tmp}/out",
      "--test-fraction", "1.5"], "`test_fraction` must be a number >= 0 and < 1", False),
    (["finetune", DETECTOR, "--csv", WINEIND, "--column", "bottles", "--out", "{tmp}/out",
      "--test-csv", WINEIND], "A comparison needs --test-csv FILE with its --labels-column",
     True),
    (["finetune", DETECTOR, "--csv", WINEIND, "--column", "bottles", "--out", "{tmp}/out",
      "--labels-column", "bottles"], "A comparison needs --test-csv FILE", True),
    (["finetune", DETECTOR, "--csv", WINEIND, "--column", "bottles", "--out", "{tmp}/out",
      "--test-csv", WINEIND, "--labels-column", "bottles"],
     "`test_labels` must be 0 (normal) or 1 (anomalous)", False),
]


def _tree(root):
    return sorted(os.path.relpath(os.path.join(d, n), root)
                  for d, dirs, files in os.walk(root) for n in dirs + files)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """The test's folder as the working directory, with a few input files in `in/`."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "latin1.txt").write_bytes("Dieu est amour. Été\n".encode("latin-1"))
    (inputs / "clip.wav").write_bytes(b"not read")
    (inputs / "pairs.tsv").write_text("God is love.\tDieu est amour.\n" * 4, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _refuse_loading(monkeypatch):
    def load(*args, **kwargs):
        raise AssertionError("a checkpoint was loaded before the arguments were checked")

    monkeypatch.setattr(model_zoo.api, "load", load)


@pytest.mark.parametrize("argv, message, before_load", CLI_CASES,
                         ids=[" ".join(c[0])[:60] for c in CLI_CASES])
def test_cli_refuses_bad_input_in_one_line(argv, message, before_load, workdir, capsys,
                                          monkeypatch):
    argv = [a.replace("{tmp}", str(workdir)) for a in argv]
    if before_load:
        _refuse_loading(monkeypatch)
    before = _tree(workdir)
    try:
        code = main(argv)
    except SystemExit as e:  # argparse
        code = e.code
    _, err = capsys.readouterr()
    assert code == 2
    assert message in err and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("model-zoo")
    assert _tree(workdir) == before, "something was written"


def test_every_cli_verb_and_task_has_a_case():
    from model_zoo.tasks.base import registered_tasks

    verbs = set(CORE) | set(task_commands())
    assert verbs == {case[0][0] for case in CLI_CASES}
    tasks = {model_zoo.info(name)["task"] for name, *_ in TASK_CASES}
    assert tasks == set(registered_tasks())


# -- the Python API: (checkpoint, verb, args, kwargs, part of the error) ------------------------

NAN = float("nan")

TASK_CASES = [
    (FORECASTER, "export", ("out",), {"format": "onnx"}, "`format` must be one of"),
    (FORECASTER, "export", ("out",), {"horizon": 0}, "`horizon` must be a positive integer"),
    (DETECTOR, "export", ("out",), {"normalize": "zscore"}, "`normalize` must be one of"),
    (SERIES_CLASSIFIER, "export", ("out",), {"format": "tflite", "quantize": "int4"},
     "`quantize` must be one of"),
    (RECOGNIZER, "export", ("out",), {"decoder": "beam_search_lm"},
     "Unknown export option"),  # The graph decodes greedily only.
    (FORECASTER, "predict", (None,), {}, "Received: None"),
    (FORECASTER, "forecast", (SERIES,), {"horizon": True}, "`horizon` must be a positive"),
    (FORECASTER, "forecast", (SERIES,), {"horizon": 0}, "`horizon` must be a positive"),
    (FORECASTER, "forecast", (SERIES,), {"fill_missing": "zero"},
     "`fill_missing` must be one of (None, 'interpolate')"),
    (FORECASTER, "forecast", (np.r_[SERIES, 1e308],), {}, "beyond the float32 range"),
    (FORECASTER, "forecast", (SERIES,), {"horizon": 10 ** 6}, "MODEL_ZOO_MAX_HORIZON"),
    (FORECASTER, "finetune", (SERIES,), {"epochs": 0}, "`epochs` must be a positive"),
    (FORECASTER, "finetune", (SERIES,), {"test_size": 3}, "`test_size` must hold at least one"),
    (FORECASTER, "finetune", (SERIES,), {"test_size": 2.5}, "`test_size` must be a positive"),
    (FORECASTER, "finetune", (SERIES,), {"season": 0}, "`season` must be a positive integer"),
    (FORECASTER, "finetune", (SERIES,), {"strategy": "nonsense"},
     "choose 'auto' (the default: the best on your validation split) or one of ['full', "
     "'gradual_unfreezing', 'ulmfit']"),
    (FORECASTER, "finetune", (SERIES,), {"strategy": "random"},
     "Unknown fine-tuning strategy"),  # a candidate of auto, not a strategy: init="random"
    (DETECTOR, "predict", (None,), {}, "Received: None"),
    (DETECTOR, "score", (np.r_[SERIES, 1e308],), {}, "beyond the float32 range"),
    (DETECTOR, "score", (np.r_[SERIES, 1e38],), {}, "The anomaly scores overflowed"),
    (DETECTOR, "score", (np.zeros(200_001),), {}, "MODEL_ZOO_MAX_SERIES_VALUES"),
    (DETECTOR, "detect", (SERIES,), {"threshold": NAN}, "`threshold` must be a finite number"),
    (DETECTOR, "detect", (SERIES,), {"fill_missing": "zero"}, "`fill_missing` must be one of"),
    (SERIES_CLASSIFIER, "predict", (None,), {}, "Received: NoneType"),
    (SERIES_CLASSIFIER, "classify", (np.zeros(100_000),), {}, "MODEL_ZOO_MAX_SERIES_STEPS"),
    (SERIES_CLASSIFIER, "predict_proba", (np.zeros(2_001),), {}, "2,001 time steps"),
    (SERIES_CLASSIFIER, "finetune", ([np.zeros(24)] * 4,), {"labels": list("abab"),
                                                            "test_fraction": 1.0},
     "`test_fraction` must be a number >= 0 and < 1"),
    (SERIES_CLASSIFIER, "finetune", ([np.zeros(24)] * 4,), {"labels": list("abab"),
                                                            "val_fraction": NAN},
     "`val_fraction` must be a finite number"),
    (SERIES_CLASSIFIER, "finetune", ([np.zeros(24)] * 4,), {"labels": list("abab"),
                                                            "strategy": 42},
     "A fine-tuning strategy needs a `fit` method. Received: int"),
    (SERIES_CLASSIFIER, "finetune", ([np.zeros(24)] * 4,), {"labels": list("abab"),
                                                            "classical_blend": "rocket"},
     "classical_blend must name classical models from ['minirocket', 'neighbours']"),
    (LANGUAGE_MODEL, "predict", (None,), {}, "Expected a list of strings"),
    (LANGUAGE_MODEL, "finetune", ({"texts": ["To be."]},), {"epochs": 0}, "`epochs` must be"),
    (LANGUAGE_MODEL, "generate", ("ROMEO.",), {"max_chars": 10 ** 7},
     "MODEL_ZOO_MAX_GENERATE_CHARS"),
    (LANGUAGE_MODEL, "generate", ("ROMEO.",), {"max_chars": True}, "`max_chars` must be"),
    (LANGUAGE_MODEL, "generate", ("a" * 10 ** 6,), {}, "MODEL_ZOO_MAX_PROMPT_CHARS"),
    (LANGUAGE_MODEL, "generate", (["a"] * 5_001,), {"num_samples": 2}, "MODEL_ZOO_MAX_TEXTS"),
    (TEXT_CLASSIFIER, "predict", (None,), {}, "Expected a list of strings"),
    (TEXT_CLASSIFIER, "predict", ([""],), {}, "Text 1 is empty"),
    (TEXT_CLASSIFIER, "predict_proba", (["fine", "  "],), {}, "Text 2 is empty"),
    (TEXT_CLASSIFIER, "predict", (["a"] * 10_001,), {}, "MODEL_ZOO_MAX_TEXTS"),
    (TEXT_CLASSIFIER, "predict", (["a" * 20_001],), {}, "MODEL_ZOO_MAX_TEXT_CHARS"),
    (TEXT_CLASSIFIER, "finetune", ((["good", "bad"], ["pos", "neg"]),), {"test_fraction": -0.1},
     "`test_fraction` must be a number >= 0 and < 1"),
    (TEXT_CLASSIFIER, "finetune", ((["good", "bad"], ["pos", "neg"]),), {"strategy": "best"},
     "Unknown fine-tuning strategy; choose 'auto'"),
    (TEXT_CLASSIFIER, "finetune", ((["good", "bad"], ["pos", "neg"]),), {"val_fraction": NAN},
     "`val_fraction` must be a finite number"),
    (TAGGER, "predict", (None,), {}, "`tag` takes a string"),
    (TAGGER, "tag", ("word " * 20_000,), {}, "MODEL_ZOO_MAX_TEXT_CHARS"),
    (TAGGER, "tag", ("word " * 501,), {}, "501 tokens"),
    (TAGGER, "predict_tags", ([["word"] * 501],), {}, "MODEL_ZOO_MAX_SENTENCE_TOKENS"),
    (TRANSLATOR, "predict", (None,), {}, "Expected a string or a list of strings"),
    (TRANSLATOR, "translate", ("",), {}, "Sentence 1 is empty"),
    (TRANSLATOR, "translate", ("God is love.",), {"beam_size": 0}, "`beam_size` must be"),
    (TRANSLATOR, "translate", ("love " * 5_000,), {}, "MODEL_ZOO_MAX_TEXT_CHARS"),
    (TRANSLATOR, "attention", ("God is love.",), {"beam_size": -1}, "`beam_size` must be"),
    (TRANSLATOR, "finetune", ([("God is love.", "Dieu est amour.")] * 4,),
     {"target_vocabulary": 0}, "`target_vocabulary` must be 'keep', 'new' or a"),
    (TRANSLATOR, "plot_attention", ("God is love.", "/proc/nope/a.png"), {},
     "Cannot write the attention plot"),
    (TRANSLATOR, "plot_attention", ("God is love.", "attention.docx"), {},
     "must end with an image format"),
    (RECOGNIZER, "predict", (None,), {}, "`transcribe` takes an audio file path"),
    (RECOGNIZER, "transcribe", ("clip.wav",), {"beam_width": 0}, "`beam_width` must be"),
    (RECOGNIZER, "decode", ([np.zeros((4, 30), "float32")],), {"beam_width": 0},
     "`beam_width` must be"),
    (DETECTOR, "finetune", (SERIES,), {"test": SERIES, "test_labels": np.zeros(199)},
     "one 0/1 label per value of the test series. Received: 199 labels for 200 values"),
    (DETECTOR, "finetune", (SERIES,), {"test": SERIES, "test_labels": np.zeros(200)},
     "at least one anomalous (1) and one normal (0) value"),
    (DETECTOR, "finetune", (SERIES,), {"test": SERIES, "test_labels": np.full(200, 2)},
     "`test_labels` must be 0 (normal) or 1 (anomalous). Received: 2.0"),
    (DETECTOR, "finetune", (SERIES,), {"test_labels": np.zeros(200)}, "pass it as `test=`"),
    (DETECTOR, "finetune", (SERIES,), {"test": SERIES}, "needs its 0/1 labels"),
    (TAGGER, "finetune", ([(["The", "dog"], ["DET", "NOUN"])] * 5,), {"test_fraction": 1.5},
     "`test_fraction` must be a number >= 0 and < 1"),
    (TAGGER, "finetune", ([(["The", "dog"], ["DET", "NOUN"])] * 5,),
     {"test": [(["Paris"], ["B-GPE"])]}, "uses plain tags and the test data BIO tags"),
    (LANGUAGE_MODEL, "finetune", ({"texts": ["To be, or not to be."]},), {"test_fraction": 1.5},
     "`test_fraction` must be a number >= 0 and < 1"),
    (LANGUAGE_MODEL, "finetune", ({"texts": ["To be, or not to be."]},),
     {"test": {"texts": []}}, "Expected at least one text"),
    (LANGUAGE_MODEL, "finetune", ({"texts": ["To be."]},), {}, "at least 2 chars"),
    (LANGUAGE_MODEL, "finetune", ({"texts": ["To be, or not to be."]},), {"test": ("a", "b")},
     "`test` of a language model"),
    (TRANSLATOR, "finetune", ([("God is love.", "Dios es amor.")] * 3,), {"test_fraction": 1.5},
     "`test_fraction` must be a number >= 0 and < 1"),
    (TRANSLATOR, "finetune", ([("God is love.", "Dios es amor.")] * 3,), {"test": []},
     "at least one sentence pair"),
    (TRANSLATOR, "finetune", ([("God is love.", "Dios es amor.")] * 3,),
     {"test": [("God is love.", "Dios es amor.")] * 501}, "MODEL_ZOO_MAX_FINETUNE_TEST_PAIRS"),
]


@pytest.fixture(scope="module")
def loaded():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = model_zoo.load(name)
        return cache[name]

    return get


@pytest.mark.parametrize("name, verb, args, kwargs, message", TASK_CASES,
                         ids=[f"{c[0].split('_')[0]}.{c[1]}-{i}"
                              for i, c in enumerate(TASK_CASES)])
def test_task_verbs_refuse_bad_input_in_one_line(name, verb, args, kwargs, message, loaded,
                                                 workdir):
    task = loaded(name)
    before = _tree(workdir)
    with pytest.raises(InputError) as info:
        getattr(task, verb)(*args, **kwargs)
    text = str(info.value)
    assert message in text and "\n" not in text and "Received: " in text
    assert _tree(workdir) == before, "something was written"


# -- `model_zoo.finetune`'s own arguments: (kwargs, part of the error), refused before loading --

FINETUNE_CASES = [
    ({"init": "bogus"}, "`init` must be one of ('pretrained', 'random')"),
    ({"init": None}, "Received: init=None"),
    ({"init": "random", "strategy": "gradual_unfreezing"},
     "Received: strategy='gradual_unfreezing' with init='random'"),
    ({"epochs": 0}, "`epochs` must be a positive integer"),
]


@pytest.mark.parametrize("kwargs, message", FINETUNE_CASES,
                         ids=[str(c[0]) for c in FINETUNE_CASES])
def test_finetune_refuses_bad_settings_before_loading(kwargs, message, workdir, monkeypatch):
    _refuse_loading(monkeypatch)
    with pytest.raises(InputError) as info:
        model_zoo.finetune(FORECASTER, SERIES, out=str(workdir / "out"), **kwargs)
    text = str(info.value)
    assert message in text and "\n" not in text and "Received: " in text
    assert not (workdir / "out").exists()


# -- the limits themselves ---------------------------------------------------------------------


def test_limits_are_raised_per_block_or_by_the_environment(loaded, monkeypatch):
    forecaster = loaded(FORECASTER)
    with pytest.raises(InputError, match="over the limit of 2,000 values"):
        forecaster.forecast(SERIES, horizon=2_001)
    with limits.override(horizon=2):
        assert forecaster.forecast(SERIES, horizon=2).shape == (2,)
        with pytest.raises(InputError, match="3 values, over the limit of 2 values"):
            forecaster.forecast(SERIES, horizon=3)
        with limits.override(horizon=None):
            assert limits.get("horizon") is None
    assert limits.get("horizon") == 2_000
    monkeypatch.setenv("MODEL_ZOO_MAX_HORIZON", "5")
    with pytest.raises(InputError, match="6 values, over the limit of 5 values"):
        forecaster.forecast(SERIES, horizon=6)
    with limits.override(horizon=6):  # The block wins over the environment.
        assert forecaster.forecast(SERIES, horizon=6).shape == (6,)
    monkeypatch.setenv("MODEL_ZOO_MAX_HORIZON", "0")
    assert limits.get("horizon") is None
    monkeypatch.setenv("MODEL_ZOO_MAX_HORIZON", "lots")
    with pytest.raises(InputError, match="MODEL_ZOO_MAX_HORIZON must be a number"):
        limits.get("horizon")
    with pytest.raises(InputError, match="no input limit named 'horizn'"):
        limits.override(horizn=3).__enter__()
    with pytest.raises(InputError, match="positive number or None"):
        limits.override(horizon=0).__enter__()


def test_audio_length_limit_is_the_same_mechanism():
    from model_zoo.data.audio import AudioError, AudioFeatures

    features = AudioFeatures()
    wave = np.sin(np.arange(8000 * 3) / 3).astype("float32")  # 3 s
    assert features.check(wave) is wave
    with limits.override(audio_seconds=2):
        with pytest.raises(AudioError, match="3 seconds, over the limit of 2 seconds"):
            features.check(wave)


def test_a_hyperparameter_may_leave_the_search_range_but_not_its_domain():
    from model_zoo.training.recipe import get_recipe

    recipe = get_recipe("forecasting")
    _, hp = recipe.resolve({"units": "8", "depth": "1", "dropout": "0.5"})
    assert hp.values == {"units": 8, "depth": 1, "dropout": 0.5}  # outside the tuning range
    with pytest.raises(InputError, match="`learning_rate` must be a number > 0"):
        recipe.resolve({"learning_rate": "0"})
    with pytest.raises(InputError, match="`depth` must be an integer"):
        recipe.resolve({"depth": "1.5"})


# -- TensorFlow's log lines ----------------------------------------------------------------------


def test_native_log_lines_are_dropped_and_the_rest_passes(capfd, monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    with _quiet_tensorflow():
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are "
                    b"written to STDERR\n")
        os.write(2, b"I0000 00:00:1796233970.023852    4407 port.cc:153] oneDNN custom "
                    b"operations are on.\n")
        os.write(2, b"W0000 00:00:1796233970.024758    4407 cudart_stub.cc:31] no GPU\n")
        os.write(2, b"a warning of the user's own\n")
    assert capfd.readouterr().err == "a warning of the user's own\n"


def test_the_cli_prints_only_what_was_asked_for():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    out = subprocess.run([sys.executable, "-m", "model_zoo.cli", "predict", FORECASTER,
                          "--csv", WINEIND, "--column", "bottles", "--horizon", "12"],
                         capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert out.returncode == 0 and '"forecast"' in out.stdout
    assert out.stderr == ""
