"""Command-line arguments of every task and task verb, importable without TensorFlow.

`model-zoo --help`, `model-zoo predict NAME --help` or `model-zoo generate --help` must answer
at once, but the task modules import Keras (and with it TensorFlow, seconds of start-up). So
what the command line needs before it runs anything is declared here, in plain argparse, and
the heavy modules are imported only when a command runs:

* `TASK_ARGUMENTS[task](parser)`: the task's `predict`/`finetune` arguments (the task class's
  `add_cli_arguments` reads them from here);
* `VERBS[verb] = (help, add_arguments, "module:function")`: the verbs tasks add (`generate`,
  `translate`, `transcribe`), and `serve` (`model_zoo.serving`); the function runs the parsed
  command and returns an exit code;
* the output conventions every command follows: `add_output_options` (`--json`, `--quiet`,
  `--verbose`), `emit` (a command's result, the only thing written to stdout), `status` (a
  progress line on stderr, unless `--quiet`) and `keras_verbose` (Keras's `fit` output).

The constants the arguments show (default checkpoints, decoder names) are defined here once
and imported by the task modules.
"""

import argparse
import json
import sys

from model_zoo.models.anomaly.normalization import MODES as ANOMALY_NORMALIZATIONS

#: How an anomaly detector turns window errors into point scores (`AnomalyDetector`).
ANOMALY_AGGREGATIONS = ("window", "position")

#: The translator `model-zoo translate` uses when no --model is given.
DEFAULT_TRANSLATION_MODEL = "translation_bilstm_bible_en_es"
#: The recognizer `model-zoo transcribe` uses when no --model is given.
DEFAULT_SPEECH_MODEL = "asr_crnn_synthetic_en"
#: CTC decoders of the speech recognizer.
SPEECH_DECODERS = ("greedy", "beam_search", "beam_search_lm")
#: The defaults of `model-zoo serve` and of `model_zoo.serving.Server`.
SERVE_DEFAULTS = {"host": "127.0.0.1", "port": 8501, "max_batch": 64, "batch_wait_ms": 5.0,
                  "max_body_mb": 32.0, "max_instances": 1024}

TASK_ARGUMENTS = {}
VERBS = {}


def task_arguments(task):
    """Decorator: registers a function `add(parser)` as the arguments of task `task`."""

    def decorator(add):
        TASK_ARGUMENTS[task] = add
        return add

    return decorator


def add_task_arguments(task, parser):
    """Adds the `predict`/`finetune` arguments of task `task` (none if it declares none)."""
    add = TASK_ARGUMENTS.get(task)
    if add is not None:
        add(parser)


def _series_csv(parser):
    parser.add_argument("--csv", required=True, help="CSV file holding the series")
    parser.add_argument("--column", required=True, help="column of the series' values")
    parser.add_argument("--fill-missing", choices=["interpolate"], default=None,
                        help="fill gaps (NaN) instead of rejecting them")


@task_arguments("forecasting")
def _forecasting(parser):
    _series_csv(parser)
    parser.add_argument("--horizon", type=int, default=None,
                        help="values to forecast (default: the model's horizon)")
    parser.add_argument("--test-size", type=int, default=None,
                        help="finetune: values held out at the end for the comparison with "
                             "seasonal naive (default: about the last 20%%; 0: none)")
    parser.add_argument("--season", type=int, default=None,
                        help="finetune: the series' season, for seasonal naive and the "
                             "MASE scale (default: detected from the series' autocorrelation; "
                             "1, none, when it has no clear peak)")


@task_arguments("anomaly_detection")
def _anomaly_detection(parser):
    _series_csv(parser)
    parser.add_argument("--threshold", type=float, default=None,
                        help="flag scores above this (default: the model's threshold)")
    parser.add_argument("--test-csv", default=None,
                        help="finetune: a CSV file of a series with labelled anomalies, "
                             "never trained on, to compare the fine-tuned model with the "
                             "zero-shot model and an isolation forest")
    parser.add_argument("--test-column", default=None,
                        help="finetune: column of --test-csv's values (default: --column)")
    parser.add_argument("--labels-column", default=None,
                        help="finetune: column of --test-csv's 0/1 labels (1: anomalous)")
    parser.add_argument("--normalize", choices=list(ANOMALY_NORMALIZATIONS), default=None,
                        help="predict: how the series is standardised (default: the "
                             "model's; 'series' or 'local' for a series of your own); "
                             "finetune: the new model's (default: local)")
    parser.add_argument("--aggregation", choices=list(ANOMALY_AGGREGATIONS), default=None,
                        help="predict: how window errors become point scores, 'window' (long "
                             "events) or 'position' (short spikes; default: the model's, "
                             "the one its threshold was set with); finetune: the new model's "
                             "(default: position)")


@task_arguments("series_classification")
def _series_classification(parser):
    parser.add_argument("--input", required=True,
                        help=".ts file, or long-format CSV (one row per time step)")
    parser.add_argument("--id-column", default="series_id", help="CSV: series-id column")
    parser.add_argument("--label-column", default="label",
                        help="CSV: label column (optional for predict)")
    parser.add_argument("--time-column", default=None, help="CSV: column to sort rows by")
    parser.add_argument("--value-columns", default=None,
                        help="CSV: comma-separated channel columns (default: all others)")
    parser.add_argument("--test-fraction", type=float, default=None,
                        help="finetune: share of each class held out for the comparison "
                             "with 1-NN Euclidean (default 0.2; 0: none)")
    parser.add_argument("--classical-blend", default="minirocket+neighbours",
                        choices=["minirocket+neighbours", "minirocket", "neighbours", "none"],
                        help="finetune: the classical models pooled with the network "
                             "(MiniRocket + ridge, 1-NN Euclidean; default both; none: the "
                             "network alone)")


@task_arguments("tagging")
def _tagging(parser):
    parser.add_argument("--text", action="append", default=None,
                        help="raw text to tag (repeatable)")
    parser.add_argument("--conll", default=None,
                        help="CoNLL file: tokens in the first column (and gold tags in the "
                             "last, for scores); the training file for finetune")
    parser.add_argument("--val-conll", default=None,
                        help="finetune: a validation CoNLL file (default: the end of "
                             "--conll)")
    parser.add_argument("--output", default=None,
                        help="predict: write the tagged --conll file here")
    parser.add_argument("--crf", choices=["yes", "no"], default=None,
                        help="finetune: CRF or softmax for a new head (default: as now)")
    parser.add_argument("--test-conll", "--test", dest="test_conll", default=None,
                        help="finetune: a tagged CoNLL file never trained on, to compare "
                             "the fine-tuned model with the zero-shot model and the "
                             "most-frequent-tag baseline (default: --test-fraction of "
                             "--conll)")
    parser.add_argument("--test-fraction", type=float, default=0.2,
                        help="finetune: share of --conll's sentences held out for that "
                             "comparison when there is no --test-conll (0: none)")


@task_arguments("text_classification")
def _text_classification(parser):
    parser.add_argument("--text", action="append", default=[],
                        help="a text to classify (repeatable)")
    parser.add_argument("--input", default=None,
                        help="a UTF-8 file with one text per line to classify")
    parser.add_argument("--csv", default=None, help="CSV file of labelled texts (finetune)")
    parser.add_argument("--text-column", default="text", help="column of the texts")
    parser.add_argument("--label-column", default="label", help="column of the labels")
    parser.add_argument("--batch-size", type=int, default=32, help="texts per batch")
    parser.add_argument("--seed", type=int, default=0,
                        help="finetune: random seed of the splits and training")
    parser.add_argument("--test-fraction", type=float, default=None,
                        help="finetune: share of each label held out for the comparison "
                             "with TF-IDF + logistic regression (default 0.2; 0: none)")
    parser.add_argument("--no-ngram-blend", action="store_true",
                        help="finetune: the network alone, without the 1-2 gram logistic "
                             "regression blended in")


def _generation_arguments(parser, positional=True):
    if positional:
        parser.add_argument("name", help="language model name or checkpoint folder")
    parser.add_argument("--prompt", action="append", default=None,
                        help="text to continue (repeatable: one batch)")
    parser.add_argument("--max-chars", type=int, default=300,
                        help="characters (tokens, for a subword model) to generate")
    parser.add_argument("--temperature", type=float, default=0.8,
                        help="sampling temperature (lower: more predictable; default 0.8)")
    parser.add_argument("--top-k", type=int, default=0,
                        help="sample among the k most likely only (0: all)")
    parser.add_argument("--top-p", type=float, default=1.0,
                        help="sample within the top probability mass p (1: all)")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed of the sampling (default: a new draw each run)")
    parser.add_argument("--num-samples", type=int, default=1,
                        help="continuations per prompt")


@task_arguments("language_modeling")
def _language_model(parser):
    _generation_arguments(parser, positional=False)
    parser.add_argument("--text-file", action="append", default=[],
                        help="finetune: UTF-8 text file(s) to adapt the language model to")
    parser.add_argument("--csv", default=None,
                        help="finetune: CSV of labelled texts, to build a classifier")
    parser.add_argument("--text-column", default="text", help="column of the texts")
    parser.add_argument("--label-column", default="label", help="column of the labels")
    parser.add_argument("--lm-epochs", type=int, default=1,
                        help="finetune --csv: LM adaptation epochs before the classifier")
    parser.add_argument("--test", default=None,
                        help="finetune: data never trained on, to compare the fine-tuned "
                             "model with the model before and a classical baseline: a "
                             "text file (with --text-file) or a CSV like --csv's "
                             "(default: --test-fraction of the data)")
    parser.add_argument("--test-fraction", type=float, default=None,
                        help="finetune: share held out for that comparison when there is "
                             "no --test: the end of the text (default 0.1) or of each "
                             "label of --csv (default 0.2); 0: none")


@task_arguments("translation")
def _translation(parser):
    parser.add_argument("--text", action="append", default=[],
                        help="a sentence to translate (repeatable)")
    parser.add_argument("--file", default=None, help="a text file, one sentence per line")
    parser.add_argument("--tsv", default=None,
                        help="fine-tuning: sentence pairs, source<TAB>target per line")
    parser.add_argument("--beam-size", type=int, default=None,
                        help="beam width (1 = greedy; default: the checkpoint's)")
    parser.add_argument("--test", default=None,
                        help="fine-tuning: pairs never trained on (TSV like --tsv), to "
                             "compare the fine-tuned model with the model before and the "
                             "nearest-pair baseline by BLEU (default: --test-fraction of "
                             "--tsv)")
    parser.add_argument("--test-fraction", type=float, default=0.1,
                        help="fine-tuning: share of --tsv's pairs held out for that "
                             "comparison when there is no --test (at most 500; 0: none)")
    parser.add_argument("--target-vocabulary", default="keep", metavar="keep|new|SIZE",
                        help="fine-tuning: keep the checkpoint's target vocabulary, or train "
                             "a new one on your targets (another target language: new target "
                             "embedding and output layer, the encoder kept)")
    parser.add_argument("--target-language", default=None,
                        help="fine-tuning: the new target language's code, for the metadata")


@task_arguments("speech_recognition")
def _speech_recognition(parser):
    parser.add_argument("files", nargs="*", help="audio files to transcribe (predict)")
    parser.add_argument("--data", default=None,
                        help="finetune: folder of clips + .txt transcripts, or a CSV")
    parser.add_argument("--language", default=None,
                        help="finetune: language of the transcripts (en, nl, ...)")
    parser.add_argument("--decoder", choices=SPEECH_DECODERS, default=None,
                        help="CTC decoder (default: the checkpoint's)")
    parser.add_argument("--beam-width", type=int, default=None,
                        help="beams of the beam-search decoders (default: the checkpoint's)")


def _translate_arguments(parser):
    parser.add_argument("text", nargs="*", help="sentences to translate")
    parser.add_argument("--model", default=DEFAULT_TRANSLATION_MODEL,
                        help=f"checkpoint name or folder (default: {DEFAULT_TRANSLATION_MODEL})")
    parser.add_argument("--file", default=None, help="a text file, one sentence per line")
    parser.add_argument("--beam-size", type=int, default=None,
                        help="beam width (1 = greedy; default: the checkpoint's)")
    parser.add_argument("--plot", default=None, metavar="OUT.png",
                        help="draw the attention weights of the (first) sentence")


def _transcribe_arguments(parser):
    parser.add_argument("files", nargs="+", help="audio files (WAV, OGG, FLAC)")
    parser.add_argument("--model", default=DEFAULT_SPEECH_MODEL,
                        help=f"checkpoint name or folder (default {DEFAULT_SPEECH_MODEL})")
    parser.add_argument("--decoder", choices=SPEECH_DECODERS, default=None,
                        help="CTC decoder (default: the checkpoint's)")
    parser.add_argument("--beam-width", type=int, default=None,
                        help="beams of the beam-search decoders (default: the checkpoint's)")


def _serve_arguments(parser):
    defaults = SERVE_DEFAULTS
    parser.add_argument("names", nargs="+", metavar="NAME",
                        help="checkpoints to serve: published names (`name@version` pins one), "
                             "folders or URLs; each is served under its name as given (a "
                             "folder's or URL's: the name in its metadata)")
    parser.add_argument("--host", default=defaults["host"],
                        help=f"address to listen on (default {defaults['host']}: this machine "
                             "only; 0.0.0.0: every interface)")
    parser.add_argument("--port", type=int, default=defaults["port"],
                        help=f"port to listen on (default {defaults['port']}, TF Serving's "
                             "REST port; 0: a free one, printed once ready)")
    parser.add_argument("--max-batch", type=int, default=defaults["max_batch"],
                        help="most instances run in one model call: requests that arrive while "
                             f"a model is busy are gathered up to this many (default "
                             f"{defaults['max_batch']}; 1: no batching)")
    parser.add_argument("--batch-wait-ms", type=float, default=defaults["batch_wait_ms"],
                        help="how long the first request of a batch waits for more, in "
                             f"milliseconds (default {defaults['batch_wait_ms']:g}; 0: only "
                             "those already waiting)")
    parser.add_argument("--max-body-mb", type=float, default=defaults["max_body_mb"],
                        help="largest request body in megabytes; a larger one gets 413 "
                             f"(default {defaults['max_body_mb']:g})")
    parser.add_argument("--max-instances", type=int, default=defaults["max_instances"],
                        help="most instances in one request; more get 400 (default "
                             f"{defaults['max_instances']})")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="stop by itself after this many seconds (default: run until "
                             "Ctrl-C or SIGTERM)")


#: Export formats and TFLite quantisations (`model_zoo.export.base` checks them too).
EXPORT_FORMATS = ("saved_model", "tflite")
EXPORT_QUANTIZATIONS = ("float16", "dynamic_range")
#: The samples a speech export's waveforms input takes.
EXPORT_SAMPLE_FORMATS = ("float32", "int16")


def _export_arguments(parser):
    parser.add_argument("name", help="a published checkpoint (`model-zoo list`), a checkpoint "
                                     "folder or a URL")
    parser.add_argument("--out", required=True, help="the export folder to create")
    parser.add_argument("--format", choices=EXPORT_FORMATS, default="saved_model",
                        help="saved_model (default), or tflite: the SavedModel and "
                             "model.tflite beside it")
    parser.add_argument("--quantize", choices=EXPORT_QUANTIZATIONS, default=None,
                        help="tflite only: float16 weights, or int8 weights with dynamic-range "
                             "activations (default: none, float32)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --out folder (once the new one is complete)")
    parser.add_argument("--horizon", type=int, default=None,
                        help="forecasting: values each call forecasts (default: the model's)")
    parser.add_argument("--length", type=int, default=None,
                        help="anomaly detection: a fixed number of values per series "
                             "(needed for tflite)")
    parser.add_argument("--normalize", choices=ANOMALY_NORMALIZATIONS, default=None,
                        help="anomaly detection: how each series is standardised (default: "
                             "the detector's)")
    parser.add_argument("--sample-format", choices=EXPORT_SAMPLE_FORMATS, default=None,
                        help="speech: the waveforms input's samples, float32 from -1 to 1 "
                             "(default) or int16 PCM")
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="language models: tokens of the greedy continuation the graph "
                             "writes (default 32)")
    parser.add_argument("--beam-size", type=int, default=None,
                        help="translation: the SavedModel's beam (default: the checkpoint's, "
                             "as `translate`; 1: greedy; the TFLite model is greedy)")


VERBS.update({
    "export": ("export a checkpoint to SavedModel or TFLite, preprocessing inside",
               _export_arguments, "model_zoo.cli:cmd_export"),
    "generate": ("generate text with a language model", _generation_arguments,
                 "model_zoo.tasks.language_model:generate_command"),
    "translate": ("translate sentences; --plot draws the attention weights",
                  _translate_arguments, "model_zoo.tasks.translation:translate_command"),
    "transcribe": ("transcribe audio files with a speech model", _transcribe_arguments,
                   "model_zoo.tasks.speech_recognition:transcribe_command"),
    # Not a task's verb, but declared alike so that its --help needs no TensorFlow either.
    "serve": ("serve checkpoints over HTTP with TensorFlow Serving's REST API",
              _serve_arguments, "model_zoo.serving:run_cli"),
})


# -- output: the conventions every command follows ---------------------------------------------

#: Set by `model_zoo.cli.main` while a command runs: `stream`, where `emit` writes results (the
#: process's stdout; everything else a command prints goes to stderr then), `errors`, the
#: process's stderr (silenced for the rest with --quiet), and `level`, the verbosity (QUIET,
#: NORMAL or VERBOSE). Outside `main`: stdout, stderr and NORMAL.
OUTPUT = {"stream": None, "errors": None, "level": 1}
QUIET, NORMAL, VERBOSE = 0, 1, 2


def add_output_options(parser, results=True, top=False):
    """Adds `--json` (where the command prints a result), `-q/--quiet` and `-v/--verbose`.

    On a subcommand (`top=False`) their defaults are suppressed, so that an option given
    before the subcommand (`model-zoo --quiet train ...`) is not reset by the subcommand's.
    """
    def default(value):
        return value if top else argparse.SUPPRESS

    if results:
        parser.add_argument("--json", action="store_true", default=default(False),
                            help="print the result as one JSON document on stdout (and nothing "
                                 "else there)")
    parser.add_argument("-q", "--quiet", action="store_true", default=default(False),
                        help="nothing on stderr but errors: no status lines, progress bars, "
                             "Keras fit output, warnings or logs")
    parser.add_argument("-v", "--verbose", action="store_true", default=default(False),
                        help="more on stderr: Keras progress bars by step, informational logs, "
                             "TensorFlow's own log lines, the traceback of an unexpected error")


def _jsonable(value):
    return value.item() if hasattr(value, "item") else str(value)  # numpy scalars, paths


def json_text(obj):
    """`obj` as the indented JSON every command prints."""
    return json.dumps(obj, indent=2, ensure_ascii=False, default=_jsonable)


def emit(result, args=None, human=None):
    """Prints a command's result on stdout, the only thing a command writes there.

    With `--json` (`args.json`), or when the command has no other form (`human` None),
    `result` is printed as one JSON document; otherwise `human(result)` (a string or a list
    of lines), for people.
    """
    if human is None or getattr(args, "json", False):
        text = json_text(result)
    else:
        text = human(result) if callable(human) else human
        if not isinstance(text, str):
            text = "\n".join(text)
    stream = OUTPUT["stream"] or sys.stdout
    stream.write(text.rstrip("\n") + "\n")
    stream.flush()


def status(message):
    """A progress line on stderr (`model-zoo: ...`), unless `--quiet`."""
    if OUTPUT["level"] > QUIET:
        print(f"model-zoo: {message}", file=sys.stderr, flush=True)


def keras_verbose():
    """Keras's `fit(verbose=...)` for the verbosity: none with --quiet, a line per epoch by
    default, a progress bar by step with --verbose."""
    return {QUIET: 0, NORMAL: 2, VERBOSE: 1}[OUTPUT["level"]]
