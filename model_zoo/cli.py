"""The `model-zoo` command line.

    model-zoo list [PATTERN] [--task T]       published checkpoints
    model-zoo info NAME                       a checkpoint's metadata
    model-zoo recipes                         registered recipes
    model-zoo train RECIPE [--set k=v ...] [--epochs N] [--seed S] [--publish [--replace]]
                    [--run-dir DIR] [--backup-steps N] [--distribute mirrored]
    model-zoo train --resume RUN_DIR          continue a killed run from its last backup
    model-zoo publish RUN_DIR [--replace]     publish a finished run's checkpoint
    model-zoo tune RECIPE --max-trials N --tuner random|bayesian|hyperband [--overwrite]
    model-zoo evaluate NAME [--sample]        re-measure a checkpoint, compare with the registry
    model-zoo predict NAME <task arguments>   (`model-zoo predict NAME --help` lists them)
    model-zoo finetune NAME <task arguments> --out DIR [--from-scratch] [--run-dir DIR]
    model-zoo cudnn NAME                      cuDNN eligibility of every recurrent layer
    model-zoo export NAME --out DIR [--format saved_model|tflite]   raw input in, the verb's
                                              output out (`model_zoo.export`)
    model-zoo serve NAME [NAME ...] [--port 8501]   serve checkpoints over HTTP with TensorFlow
                                              Serving's REST API (`model_zoo.serving`)

Tasks add their own verbs (`generate`, `translate`, `transcribe`), declared with every task's
arguments (and `serve`'s) in `model_zoo.tasks.cli_arguments`, so that `--help`, `--version`,
`list`, `info` and every command's `--help` answer without importing TensorFlow.

Every command follows the conventions of `cli_arguments` (`emit`, `status`, `keras_verbose`):
its result, and nothing else, on stdout (`--json`: one JSON document); status lines, Keras's fit
output, progress bars, warnings and logs on stderr (`--quiet`: errors only; `--verbose`: more);
errors as one line on stderr, with the exit codes of `EXIT_CODES`.
"""

import argparse
import contextlib
import logging
import os
import re
import shlex
import sys
import threading
import time
import warnings

from model_zoo.errors import InputError, IntegrityError, ModelZooError, OfflineError
from model_zoo.tasks.cli_arguments import (NORMAL, OUTPUT, QUIET, VERBOSE, add_output_options,
                                           emit, json_text, keras_verbose, status)

CORE = ("list", "info", "recipes", "train", "publish", "tune", "evaluate", "predict", "finetune",
        "cudnn")

#: Verbs with no result to print (`serve` runs until stopped): no `--json`.
NO_RESULT = ("serve",)

EXIT_CODES = """\
exit codes:
  0    success
  1    the command ran and failed: `evaluate` measured other metrics than the registry's,
       `cudnn` found a layer cuDNN cannot run, a checkpoint failed its integrity check, a
       checkpoint is not cached under MODEL_ZOO_OFFLINE=1, or an unexpected error (one line;
       --verbose shows its traceback)
  2    usage or input error: bad arguments or options, an unknown checkpoint or recipe, input
       that is refused (a missing file, a bad value, a file `transcribe` cannot read), a
       missing optional package
  130  interrupted (Ctrl-C)

output: the result on stdout (--json: one JSON document, and nothing else there); status
lines, Keras's fit output, progress bars, warnings and logs on stderr (--quiet: errors only;
--verbose: more, TensorFlow's own log lines included). --quiet/--verbose go before or after
the command."""


# What TensorFlow's C++ libraries print on loading (oneDNN notes, CUDA probing on a CPU-only
# machine): INFO/WARNING lines written to descriptor 2 before absl logging is initialised,
# which TF_CPP_MIN_LOG_LEVEL does not reach.
_NATIVE_LOG = re.compile(rb"(WARNING: All log messages before absl::InitializeLog\(\) is called "
                         rb"are written to STDERR|[IW]\d{4} [\d:.]+ +\d+ [\w.-]+:\d+\] )")


@contextlib.contextmanager
def _quiet_tensorflow():
    """Keeps TensorFlow's own log lines out of the command's output.

    Sets TF_CPP_MIN_LOG_LEVEL=3 (no C++ INFO, WARNING or ERROR lines, such as a failed
    `cuInit` on a machine without a GPU) and, for the lines logged before that setting is
    read, passes descriptor 2 through a pipe that drops them and forwards everything else.
    A TF_CPP_MIN_LOG_LEVEL set by the user is kept, and then nothing is filtered.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        yield
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # No descriptor 2 at all: nothing to keep clean.
        yield
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward():
        with os.fdopen(read_end, "rb") as pipe, os.fdopen(saved, "wb", closefd=False) as out:
            for line in pipe:
                if not _NATIVE_LOG.match(line):
                    out.write(line)
                    out.flush()

    thread = threading.Thread(target=forward, name="model-zoo-stderr", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # Closes the pipe's last write end: the thread reads to its end.
        thread.join(timeout=5)
        if not thread.is_alive():
            os.close(saved)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2), like every other error of the CLI."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (`{self.prog} --help` lists the "
                     "arguments)\n")

    # A task's parser runs inside a command, where stdout is kept for `emit`'s result and
    # stderr may be silenced (--quiet): its help and errors go to the streams the command had.
    def print_help(self, file=None):
        super().print_help(file or OUTPUT["stream"] or sys.stdout)

    def exit(self, status=0, message=None):
        if message:
            (OUTPUT["errors"] or sys.stderr).write(message)
        sys.exit(status)


def parse_sets(pairs):
    """`["key=value", ...]` (the `--set` options) -> `{key: value}`; values stay strings."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--set takes key=value. Received: {pair!r}")
        out[key.strip()] = value
    return out


def _headline(metrics):
    test = metrics.get("test", {})
    # The first of these a checkpoint has: every task's main test metric (an anomaly
    # detector's ROC-AUC before its F1 at one threshold).
    for key in ("mase", "roc_auc", "accuracy", "bleu", "cer", "nats_per_char", "nats_per_token",
                "f1"):
        if key in test:
            return f"{key}={test[key]:.4g}"
    return ""


# -- commands: each computes its result and hands it to `emit` ----------------------------------


def cmd_list(args):
    from model_zoo.registry import default_registry

    entries = default_registry().list(pattern=args.pattern, task=args.task)

    def human(_):
        if not entries:
            return "No checkpoints match."
        width = max(len(e.name) for e in entries)
        return [f"{m.name:<{width}}  v{m.version}  {m.task:<20} {m.params:>10,} params  "
                f"{_headline(m.metrics)}" for m in (e.metadata for e in entries)]

    emit([e.metadata.to_dict() for e in entries], args, human)
    return 0


def cmd_info(args):
    from model_zoo.api import info

    emit(info(args.name), args)  # JSON either way: the metadata is a nested document.
    return 0


def cmd_recipes(args):
    from model_zoo.training.recipe import discover_recipes

    recipes = [{"name": name, "task": cls.task, "description": cls.description}
               for name, cls in sorted(discover_recipes().items())]
    emit(recipes, args, lambda rows: [f"{r['name']:<20} {r['task']:<20} {r['description']}"
                                      for r in rows])
    return 0


def cmd_train(args):
    from model_zoo.training import runner

    if args.resume is not None:
        given = [flag for flag, value in (
            ("RECIPE", args.recipe), ("--set", args.set), ("--epochs", args.epochs),
            ("--seed", args.seed), ("--publish", args.publish), ("--replace", args.replace),
            ("--run-dir", args.run_dir), ("--registry-dir", args.registry_dir),
            ("--backup-steps", args.backup_steps), ("--distribute", args.distribute))
            if value not in (None, False)]
        if given:
            raise InputError(f"`--resume RUN_DIR` continues a run with the settings it was "
                             f"started with; it takes no other settings. Received: "
                             f"{', '.join(given)}")
        result = runner.resume(args.resume, verbose=keras_verbose(), log=status)
    elif args.recipe is None:
        raise InputError("`model-zoo train` needs a RECIPE (`model-zoo recipes` lists them), or "
                         "--resume RUN_DIR. Received: neither")
    else:
        result = runner.train(args.recipe, parse_sets(args.set), epochs=args.epochs,
                              seed=0 if args.seed is None else args.seed,
                              publish_to_registry=args.publish, replace=args.replace,
                              run_dir=args.run_dir, registry_dir=args.registry_dir,
                              verbose=keras_verbose(), backup_steps=args.backup_steps,
                              distribute=args.distribute, log=status)
    metrics = {"test": result.metrics["test"],
               "baselines": {k: {m: v for m, v in b.items() if m != "forecasts"}
                             for k, b in result.metrics.get("baselines", {}).items()}}

    def human(_):
        return [f"run folder: {result.run_dir}", f"checkpoint: {result.checkpoint_dir}",
                *([f"published:  {result.published}"] if result.published else []),
                json_text(metrics)]

    emit({"run_dir": result.run_dir, "checkpoint": result.checkpoint_dir,
          "published": result.published, **metrics}, args, human)
    return 0


def cmd_publish(args):
    from model_zoo.training.runner import publish_run

    emit({"published": publish_run(args.run_dir, args.registry_dir, args.replace)}, args,
         lambda result: f"published:  {result['published']}")
    return 0


def cmd_tune(args):
    from model_zoo.training.tuning import set_distributed_role, tune

    role = set_distributed_role(args.chief, args.worker, args.oracle)
    best = tune(args.recipe, parse_sets(args.set), tuner=args.tuner, max_trials=args.max_trials,
                resume=args.resume, overwrite=args.overwrite, epochs=args.epochs,
                seed=args.seed, directory=args.directory, log=status)

    def human(result):
        if role == "worker":
            return "worker done: the chief reports the best trials"
        return ["best trials:", *(f"{rank}. trial {t['trial']}  score={t['score']:.5g}  "
                                  f"{t['hp']}" for rank, t in enumerate(result["best"], 1))]

    emit({"recipe": args.recipe, "role": role,
          "best": [] if role == "worker" else list(best)}, args, human)
    return 0


def cmd_evaluate(args):
    from model_zoo.training.runner import evaluate_published

    rows, ok = evaluate_published(args.name, limit=args.sample, log=status)
    result = {"name": args.name, "sample": bool(args.sample), "agree": ok,
              "metrics": [{"metric": key, "registry": recorded, "measured": measured,
                           "agree": agree} for key, recorded, measured, agree in rows]}

    def human(result):
        lines = [f"{'metric':<16}{'registry':>14}{'measured':>14}  agree"]
        for row in result["metrics"]:
            shown = "-" if row["measured"] is None else f"{row['measured']:.6g}"
            lines.append(f"{row['metric']:<16}{row['registry']:>14.6g}{shown:>14}  "
                         f"{'yes' if row['agree'] else 'NO'}")
        return lines + ["matches the registry" if ok else "DIFFERS from the registry"]

    emit(result, args, human)
    return 0 if ok else 1


def _finetune_options(parser):
    """The options `model-zoo finetune` has for every task."""
    parser.add_argument("--out", required=True, help="folder for the new checkpoint")
    parser.add_argument("--name", default=None, help="name of the new checkpoint")
    parser.add_argument("--epochs", type=int, default=None,
                        help="total epochs over all stages (default: the task's)")
    parser.add_argument("--strategy", default=None,
                        help="auto (the default where the task has it: tries the strategies "
                             "and random weights, keeps the best on validation), "
                             "gradual_unfreezing or full")
    parser.add_argument("--from-scratch", action="store_true",
                        help="train the same architecture from freshly initialised weights "
                             "(every layer trainable), to measure what pretraining buys")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing checkpoint in --out")
    parser.add_argument("--resume", action="store_true",
                        help="continue a killed fine-tune from its backup (--out DIR.backup), "
                             "with the same arguments")
    parser.add_argument("--run-dir", default=None,
                        help="the run folder: TensorBoard logs, history.json, metrics.json, "
                             "plots/training_curves.png (default: runs/finetune/<time>-<the "
                             "--out folder's name>/, under $MODEL_ZOO_RUNS if set)")


def _task_parser(prog, task, finetune=False):
    from model_zoo.tasks.cli_arguments import add_task_arguments

    parser = _Parser(prog=prog)
    add_task_arguments(task, parser)
    if finetune:
        _finetune_options(parser)
    add_output_options(parser)
    return parser


_COMMAND_HELP = {
    "predict": "Runs a checkpoint on your input and prints the result as JSON.",
    "finetune": "Fine-tunes a checkpoint on your data and writes a new checkpoint to --out "
                "(loadable with `model_zoo.load(DIR)` or by path on the command line), and "
                "its training (TensorBoard logs, history, curves) to a run folder.",
}


def _command_help(command):
    """Help of `model-zoo predict|finetune --help` when no checkpoint is named: the common
    options, and where a task's own arguments are listed. Imports no TensorFlow."""
    parser = argparse.ArgumentParser(
        prog=f"model-zoo {command}", usage=f"model-zoo {command} NAME <task arguments>"
        + (" --out DIR [options]" if command == "finetune" else ""),
        description=_COMMAND_HELP[command], add_help=False,
        epilog=f"NAME is a published checkpoint (`model-zoo list`), a checkpoint folder or a "
               f"URL. Its task's own arguments (input files, columns, ...) are listed by "
               f"`model-zoo {command} NAME --help`.")
    parser.add_argument("name", metavar="NAME", help="the checkpoint")
    if command == "finetune":
        _finetune_options(parser)
    add_output_options(parser, top=True)
    return parser.format_help()


def _task_of(name):
    """The task of checkpoint `name` (a registered name or a folder), read from its metadata
    without importing the task's module (nor TensorFlow)."""
    from model_zoo.registry import CheckpointMetadata, default_registry

    if os.path.isdir(name):
        return CheckpointMetadata.load(name).task
    return default_registry().get(name).metadata.task


def cmd_predict(args):
    task_args = _task_parser(f"model-zoo predict {args.name}", _task_of(args.name))\
        .parse_args(args.rest)
    from model_zoo.api import load

    # JSON either way: a prediction is a nested document.
    emit(load(args.name).predict_cli(task_args), args)
    return 0


# Options of the command line that change what it prints, not what it does: left out of the
# command recorded in a fine-tuned checkpoint's metadata (as is --resume).
_OUTPUT_FLAGS = ("--resume", "--json", "-q", "--quiet", "-v", "--verbose")


def cmd_finetune(args):
    task = _task_of(args.name)
    task_args = _task_parser(f"model-zoo finetune {args.name}", task, finetune=True)\
        .parse_args(args.rest)
    from model_zoo.fsutil import require_writable
    from model_zoo.tasks.base import task_class
    from model_zoo.training.runner import new_run_dir, recorded_fits

    out = os.path.abspath(task_args.out)
    run_dir = os.path.abspath(task_args.run_dir or new_run_dir("finetune", os.path.basename(out)))
    require_writable(run_dir, "run folder", folder=True)
    if os.path.isfile(os.path.join(run_dir, "history.json")) and not task_args.overwrite:
        raise InputError(f"{run_dir} holds a run already; give another --run-dir (or "
                         f"--overwrite). Received: {run_dir}")
    task_cls = task_class(task)
    from model_zoo.api import finetune

    kwargs = task_cls.finetune_data_from_cli(task_args)
    if task_args.epochs is not None:
        kwargs["epochs"] = task_args.epochs
    if task_args.strategy:
        kwargs["strategy"] = task_args.strategy
    kwargs["verbose"] = keras_verbose()
    data = kwargs.pop("data")
    command = " ".join(shlex.quote(a) for a in ["model-zoo", "finetune", args.name,
                                                *(a for a in args.rest if a not in _OUTPUT_FLAGS)])
    started = time.monotonic()
    with recorded_fits(run_dir, log=status) as files:
        tuned = finetune(args.name, data, out=task_args.out, name=task_args.name,
                         overwrite=task_args.overwrite, command=command,
                         resume=task_args.resume,
                         init="random" if task_args.from_scratch else "pretrained", **kwargs)
        metrics = getattr(tuned, "finetune_metrics", {})
        files["metrics"] = metrics
        files["run"] = {"command": command, "checkpoint": out, "parent": args.name}
    status(f"fine-tuned in {time.monotonic() - started:.0f} s")

    def human(_):
        lines = [f"fine-tuned checkpoint: {out}", f"run folder: {run_dir}"]
        if metrics.get("comparison"):
            from model_zoo.comparison import table_lines

            lines += ["", *table_lines(metrics["comparison"]), ""]
        return lines + [json_text(metrics)]

    emit({"checkpoint": out, "run_dir": run_dir, "metrics": metrics}, args, human)
    return 0


def cmd_export(args):
    from model_zoo.api import load

    options = {key: getattr(args, key) for key in ("horizon", "length", "normalize",
                                                   "max_new_tokens", "sample_format",
                                                   "beam_size")
               if getattr(args, key) is not None}
    card = load(args.name).export(args.out, format=args.format, quantize=args.quantize,
                                  overwrite=args.overwrite, **options)

    def human(card):
        files = "the SavedModel" + (f" and {card['tflite']['file']}" if "tflite" in card else "")
        return (f"exported {card['parent']['name']} ({card['task']}): {files} in "
                f"{os.path.abspath(args.out)}; inputs {list(card['inputs'])}, outputs "
                f"{list(card['outputs'])}; see its README.md")

    emit(card, args, human)
    return 0


def cmd_cudnn(args):
    from model_zoo.api import load
    from model_zoo.layers.cudnn import cudnn_report

    report = cudnn_report(load(args.name).model)
    emit(report.to_dict(), args, lambda _: str(report))
    return 0 if report.all_eligible else 1


_NAME_HELP = "a published checkpoint (`model-zoo list`), a checkpoint folder or a URL"


def build_parser(extra_commands=None):
    parser = _Parser(prog="model-zoo", description=__doc__.split("\n\n")[0],
                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXIT_CODES)
    from model_zoo.version import __version__

    parser.add_argument("--version", action="version", version=f"model_zoo {__version__}")
    add_output_options(parser, results=False, top=True)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list published checkpoints")
    p.add_argument("pattern", nargs="?", default=None, help="glob or substring of the name")
    p.add_argument("--task", default=None, help="only checkpoints of this task")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="show a checkpoint's metadata (JSON)")
    p.add_argument("name", help=_NAME_HELP)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("recipes", help="list recipes")
    p.set_defaults(func=cmd_recipes)

    p = sub.add_parser("train", help="train a recipe; --publish adds it to the registry",
                       usage="model-zoo train RECIPE [options] | model-zoo train --resume "
                             "RUN_DIR")
    p.add_argument("recipe", nargs="?", default=None, help="a recipe (`model-zoo recipes`)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config value or hyperparameter (repeatable)")
    p.add_argument("--epochs", type=int, default=None,
                   help="training epochs (default: the recipe's)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    p.add_argument("--publish", action="store_true", help="write the checkpoint to the registry")
    p.add_argument("--replace", action="store_true",
                   help="with --publish: overwrite the newest version instead of adding one")
    p.add_argument("--run-dir", default=None,
                   help="the run folder (default: under $MODEL_ZOO_RUNS, else ./runs)")
    p.add_argument("--registry-dir", default=None, help="registry folder to publish into")
    p.add_argument("--backup-steps", type=int, default=None, metavar="N",
                   help="back the training state up every N steps too (default: at epoch ends)")
    p.add_argument("--resume", metavar="RUN_DIR", default=None,
                   help="continue a killed run from its last backup, with its own settings")
    p.add_argument("--distribute", default=None, metavar="mirrored",
                   help="train data-parallel over this machine's devices (tf.distribute "
                        "MirroredStrategy; the global batch size stays the recipe's)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("publish", help="publish the checkpoint of a finished train run")
    p.add_argument("run_dir", help="the folder of a finished `model-zoo train` run")
    p.add_argument("--replace", action="store_true",
                   help="overwrite the newest version instead of adding one")
    p.add_argument("--registry-dir", default=None, help="registry folder to publish into")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("tune", help="Keras Tuner search over a recipe's space")
    p.add_argument("recipe", help="a recipe (`model-zoo recipes`)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="a fixed recipe setting (repeatable)")
    p.add_argument("--max-trials", type=int, required=True,
                   help="hyperparameter sets to try")
    p.add_argument("--tuner", choices=["random", "bayesian", "hyperband"], default="random",
                   help="Keras Tuner's search algorithm (default random)")
    p.add_argument("--resume", action="store_true",
                   help="require an existing search to continue (one whose space, tuner and "
                        "config match is continued anyway)")
    p.add_argument("--overwrite", action="store_true",
                   help="delete an existing search of this recipe and start afresh")
    p.add_argument("--chief", action="store_true",
                   help="distributed search: serve the oracle at --oracle for the workers "
                        "(Keras Tuner's chief; or set KERASTUNER_TUNER_ID=chief etc.)")
    p.add_argument("--worker", metavar="ID", default=None,
                   help="distributed search: run trials proposed by the chief at --oracle")
    p.add_argument("--oracle", metavar="HOST:PORT", default=None,
                   help="with --chief/--worker: the chief's address (e.g. 127.0.0.1:8000)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per trial (default: the recipe's)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--directory", default=None,
                   help="folder of the search (default: under the runs folder)")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("evaluate", help="re-measure a published checkpoint")
    p.add_argument("name", help=_NAME_HELP)
    p.add_argument("--sample", action="store_true",
                   help="only the quick-check sample recorded at publication")
    p.set_defaults(func=cmd_evaluate)

    for command, func, text in (("predict", cmd_predict, "run a checkpoint on your input"),
                                ("finetune", cmd_finetune, "fine-tune on your data")):
        p = sub.add_parser(command, help=text, add_help=False)
        p.add_argument("name", help=_NAME_HELP)
        p.add_argument("rest", nargs=argparse.REMAINDER,
                       help=f"task arguments: `model-zoo {command} NAME --help` lists them")
        p.set_defaults(func=func)

    p = sub.add_parser("cudnn", help="cuDNN eligibility of a checkpoint's recurrent layers")
    p.add_argument("name", help=_NAME_HELP)
    p.set_defaults(func=cmd_cudnn)

    for command, (text, add_arguments, run) in (extra_commands or {}).items():
        p = sub.add_parser(command, help=text)
        add_arguments(p)
        p.set_defaults(func=run)
    for command, p in sub.choices.items():  # The same output options on every command.
        add_output_options(p, results=command not in NO_RESULT)
        if command in NO_RESULT:
            p.set_defaults(results_on_stdout=False)
    return parser


def task_commands():
    """Verbs that tasks add (`generate`, `translate`, ...): `{name: (help, add, run)}`; `run`
    imports the task's module (and TensorFlow) only when the verb runs."""
    import importlib

    from model_zoo.tasks.cli_arguments import VERBS

    def runner(target):
        module, function = target.split(":")
        return lambda args: getattr(importlib.import_module(module), function)(args)

    return {verb: (text, add, runner(target)) for verb, (text, add, target) in VERBS.items()}


def _output_options_in(rest):
    """`--json`/`--quiet`/`--verbose` among the task arguments of `predict`/`finetune` (parsed
    with the rest by the task's parser later, but the verbosity is needed before)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_output_options(parser)
    return vars(parser.parse_known_args(rest)[0])


def _verbosity(args):
    if getattr(args, "quiet", False) and getattr(args, "verbose", False):
        raise InputError("--quiet and --verbose contradict each other; give one of them. "
                         "Received: both")
    return QUIET if args.quiet else VERBOSE if args.verbose else NORMAL


@contextlib.contextmanager
def _output(level, results_on_stdout=True):
    """While a command runs: `emit` writes to stdout, and whatever else is printed (Keras's
    fit output, which Keras writes to stdout, included) goes to stderr; with --quiet, stderr
    goes nowhere (warnings, logs and tqdm's bars are switched off too; `main` prints the
    error, if any, once the command has ended). By default TensorFlow's own Python log lines
    below errors are dropped; --verbose keeps them and adds informational logs."""
    saved = dict(OUTPUT)
    OUTPUT.update(stream=sys.stdout, errors=sys.stderr, level=level)
    with contextlib.ExitStack() as stack:
        if level == QUIET:  # Errors are printed by `main`, once the command has ended.
            stack.enter_context(contextlib.redirect_stderr(
                stack.enter_context(open(os.devnull, "w"))))
        if results_on_stdout:
            stack.enter_context(contextlib.redirect_stdout(sys.stderr))
        if level == QUIET:
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
            stack.enter_context(_environment(TQDM_DISABLE="1"))
            disabled = logging.root.manager.disable
            logging.disable(logging.WARNING)
            stack.callback(logging.disable, disabled)
        elif level == NORMAL:  # TensorFlow's Python warnings (tf.function retracing, ...)
            tf_logger = logging.getLogger("tensorflow")
            stack.callback(tf_logger.setLevel, tf_logger.level)
            tf_logger.setLevel(logging.ERROR)
        else:
            handler = logging.StreamHandler(sys.stderr)
            root, previous = logging.getLogger(), logging.getLogger().level
            root.addHandler(handler)
            root.setLevel(logging.INFO)
            stack.callback(root.removeHandler, handler)
            stack.callback(root.setLevel, previous)
        try:
            yield
        finally:
            sys.stdout.flush()
            OUTPUT.update(saved)


@contextlib.contextmanager
def _environment(**values):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    if first in _COMMAND_HELP:
        after = argv[argv.index(first) + 1:]
        if {"-h", "--help"} & set(after) and not [a for a in after if not a.startswith("-")]:
            print(_command_help(first), end="")  # No checkpoint named: the common help.
            return 0
    args = build_parser(task_commands()).parse_args(argv)
    if args.command in _COMMAND_HELP:
        for key, value in _output_options_in(args.rest).items():
            setattr(args, key, getattr(args, key, False) or value)
    level = NORMAL
    try:
        level = _verbosity(args)
        # --verbose lets TensorFlow's C++ log lines through; otherwise they are dropped.
        with _quiet_tensorflow() if level != VERBOSE else contextlib.nullcontext(), \
                _output(level, getattr(args, "results_on_stdout", True)):
            return args.func(args)
    except (IntegrityError, OfflineError) as e:  # The command ran and failed.
        code, error = 1, f"model-zoo: error: {e}"
    except ModelZooError as e:  # Usage or input: fixable by the user.
        code, error = 2, f"model-zoo: error: {e}"
    except KeyboardInterrupt:
        code, error = 130, "model-zoo: interrupted"
    except Exception as e:  # A failure nobody foresaw: one line, unless --verbose.
        if level == VERBOSE:
            raise
        code, error = 1, (f"model-zoo: error: {type(e).__name__}: {e} (unexpected; --verbose "
                          "shows the traceback)").replace("\n", " ")
    print(error, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
