"""Every `model-zoo` command, run in-process through `main(argv)`, and its error handling."""

import argparse
import glob
import json
import math
import os
import re
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from model_zoo.cli import main
from series_data import seasonal_series

SMOKE = ["--set", "dataset=airline", "--set", "units=8", "--set", "depth=1",
         "--set", "baselines=false", "--set", "pretrain_epochs=1",
         "--set", "pretrain_max_windows=128"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny airline forecaster published into a private registry folder: `(registry folder,
    run folder)`."""
    root = tmp_path_factory.mktemp("cli_registry")
    runs = tmp_path_factory.mktemp("cli_runs")
    code = main(["train", "forecasting", *SMOKE, "--epochs", "1", "--publish",
                 "--registry-dir", str(root), "--run-dir", str(runs / "r"), "--quiet"])
    assert code == 0
    return str(root), str(runs / "r")


@pytest.fixture(scope="module")
def published(trained):
    return trained[0]


@pytest.fixture
def registry(published, monkeypatch):
    monkeypatch.setenv("MODEL_ZOO_REGISTRY", published)
    return published


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_recipes(capsys):
    from model_zoo.training.recipe import discover_recipes

    code, out, _ = run(capsys, "recipes")
    listed = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert code == 0 and listed == sorted(discover_recipes()) and "forecasting" in listed


def test_list_and_info(capsys, registry):
    code, out, _ = run(capsys, "list", "forecast_lstm_airline")
    assert code == 0 and "forecast_lstm_airline  v1  forecasting" in out and "mase=" in out
    code, out, _ = run(capsys, "list", "--task", "no_such_task")
    assert code == 0 and "No checkpoints match" in out
    code, out, _ = run(capsys, "list", "--json", "forecast_lstm_airline")
    assert json.loads(out)[0]["name"] == "forecast_lstm_airline"
    code, out, _ = run(capsys, "info", "forecast_lstm_airline@1")
    info = json.loads(out)
    assert info["dataset"]["split"]["test"] == [120, 144] and info["params"] > 0


def test_list_shows_a_headline_metric_for_every_published_checkpoint(capsys):
    from model_zoo.registry import default_registry

    code, out, _ = run(capsys, "list")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == len(default_registry().list())
    for line in lines:
        assert re.search(r"params  \w+=[\d.]+$", line), line
    assert any("roc_auc=" in line for line in lines if line.startswith("anomaly_"))


def test_train_then_publish_the_run(capsys, tmp_path):
    code, out, err = run(capsys, "train", "forecasting", *SMOKE, "--epochs", "1", "--quiet",
                         "--run-dir", str(tmp_path / "run"), "--json")
    assert code == 0 and err == ""  # --quiet: no Keras output
    result = json.loads(out)  # --json: one document, nothing else
    assert result["test"]["mase"] > 0 and result["run_dir"] == str(tmp_path / "run")
    assert result["checkpoint"] == str(tmp_path / "run" / "checkpoint")
    assert os.path.isfile(tmp_path / "run" / "checkpoint" / "model.keras")
    registry = tmp_path / "registry"
    code, out, _ = run(capsys, "publish", str(tmp_path / "run"), "--registry-dir",
                       str(registry))
    assert code == 0 and "published:" in out
    meta = json.loads((registry / "forecast_lstm_airline" / "metadata.json").read_text())
    assert meta["command"].endswith("--publish") and meta["version"] == 1
    code, _, err = run(capsys, "publish", str(tmp_path), "--registry-dir", str(registry))
    assert code == 2 and "holds no finished run" in err


def test_evaluate_matches_registry(capsys, registry):
    code, out, err = run(capsys, "evaluate", "forecast_lstm_airline")
    assert code == 0 and "matches the registry" in out and "mase" in out
    # Progress on stderr: what it loads and measures.
    assert "model-zoo: loading the data of recipe forecasting" in err
    assert "model-zoo: measuring forecast_lstm_airline@1 on the test split" in err
    code, out, _ = run(capsys, "evaluate", "forecast_lstm_airline", "--sample")
    assert code == 0 and "matches the registry" in out


def test_predict_and_finetune(capsys, registry, tmp_path):
    csv = tmp_path / "series.csv"
    values = seasonal_series(120) + 400
    csv.write_text("month,passengers\n" + "".join(f"{i},{v:.3f}\n" for i, v in enumerate(values)))
    code, out, _ = run(capsys, "predict", "forecast_lstm_airline", "--csv", str(csv),
                       "--column", "passengers", "--horizon", "5")
    assert code == 0
    result = json.loads(out)
    assert len(result["forecast"]) == 5 and result["history"] == 120
    out_dir = tmp_path / "mine"
    code, out, err = run(capsys, "finetune", "forecast_lstm_airline", "--csv", str(csv),
                         "--column", "passengers", "--out", str(out_dir), "--epochs", "2")
    assert code == 0 and "fine-tuned checkpoint" in out
    # Progress on stderr: a status line per fit and Keras's line per epoch; none on stdout.
    assert "model-zoo: fit 1 (" in err and "Epoch 1/" in err and "Epoch" not in out
    # The run folder, by default under the runs folder: what `train` writes for its run.
    run_dir, = glob.glob(os.path.join(os.environ["MODEL_ZOO_RUNS"], "finetune", "*-mine"))
    assert f"run folder: {run_dir}" in out
    _assert_run_folder(run_dir)
    code, out, _ = run(capsys, "predict", str(out_dir), "--csv", str(csv), "--column",
                       "passengers")
    assert code == 0 and len(json.loads(out)["forecast"]) == 12
    code, out, _ = run(capsys, "info", str(out_dir))
    meta = json.loads(out)
    assert meta["command"].startswith("model-zoo finetune forecast_lstm_airline --csv")
    assert meta["name"] == "forecast_lstm_airline_finetuned"
    code, _, err = run(capsys, "evaluate", str(out_dir))
    assert code == 2 and "no test metrics recorded by a recipe" in err
    scratch_dir = tmp_path / "scratch"
    code, out, err = run(capsys, "--quiet", "finetune", "forecast_lstm_airline", "--csv",
                         str(csv), "--column", "passengers", "--out", str(scratch_dir),
                         "--epochs", "1", "--from-scratch", "--json",
                         "--run-dir", str(tmp_path / "scratch_run"))
    assert code == 0 and err == "" and json.loads(out)["metrics"]["init"] == "random"
    assert json.loads(out)["run_dir"] == str(tmp_path / "scratch_run")
    _assert_run_folder(tmp_path / "scratch_run")
    code, out, _ = run(capsys, "info", str(scratch_dir))
    meta = json.loads(out)
    assert meta["metrics"]["finetune"]["init"] == "random" and "init:random" in meta["tags"]
    assert "--from-scratch --run-dir" in meta["command"]
    assert "--json" not in meta["command"] and "--quiet" not in meta["command"]


def _assert_run_folder(run_dir):
    history = json.loads((Path(run_dir) / "history.json").read_text())
    assert history["fits"] and all("loss" in fit for fit in history["fits"])
    assert os.path.isfile(os.path.join(run_dir, "plots", "training_curves.png"))
    assert os.listdir(os.path.join(run_dir, "tensorboard", "fit-1"))
    assert "init" in json.loads((Path(run_dir) / "metrics.json").read_text())
    assert json.loads((Path(run_dir) / "run.json").read_text())["command"].startswith(
        "model-zoo finetune forecast_lstm_airline")


@pytest.mark.parametrize("command", ["predict", "finetune"])
def test_help_without_a_model_name(command):
    code = ("import sys\nfrom model_zoo.cli import main\n"
            f"code = main([{command!r}, '--help'])\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
            "sys.exit(code)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"model-zoo {command} NAME --help" in out.stdout  # where a task's arguments are
    assert ("--from-scratch" in out.stdout) == (command == "finetune")
    assert ("--out" in out.stdout) == (command == "finetune")


# Runs each argv through `main` in one fresh interpreter and reports, per argv, the exit code,
# whether TensorFlow or Keras got imported, and the start of what was printed.
_COLD_START = """
import contextlib, io, json, sys
from model_zoo.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
    results.append({"argv": argv, "code": code, "heavy": heavy, "out": out.getvalue()[:2000]})
json.dump(results, sys.__stdout__)
"""


def test_help_version_list_info_import_no_tensorflow():
    """`--help`, `--version`, `list`, `info` and every command's `--help` (a task's own, for a
    checkpoint of every task, too) answer without importing TensorFlow: in well under a second
    rather than the seconds TensorFlow takes to import."""
    from model_zoo.cli import build_parser, task_commands
    from model_zoo.registry import default_registry

    parser = build_parser(task_commands())
    commands = next(a for a in parser._actions if a.dest == "command").choices
    one_per_task = {}
    for entry in default_registry().list():
        one_per_task.setdefault(entry.metadata.task, entry.metadata.name)
    argvs = [["--help"], ["--version"], ["list"], ["info", "forecast_lstm_co2"],
             *([command, "--help"] for command in commands),
             *([verb, name, "--help"] for name in one_per_task.values()
               for verb in ("predict", "finetune"))]
    out = subprocess.run([sys.executable, "-c", _COLD_START, json.dumps(argvs)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert len(results) == len(argvs) and len(one_per_task) >= 8
    for result in results:
        assert result["code"] in (0, None), result
        assert result["heavy"] == [], result
        assert result["out"].strip(), result  # it printed its help, version or listing
    task_helps = {r["argv"][1]: r["out"] for r in results if r["argv"][0] == "predict"
                  and len(r["argv"]) == 3}
    assert "--csv" in task_helps[one_per_task["forecasting"]]  # the task's own arguments
    assert all(text.count("--") >= 2 for text in task_helps.values()), task_helps  # not only -h


def test_every_option_of_every_command_has_help_text():
    import argparse

    from model_zoo.cli import _finetune_options, build_parser, task_commands
    from model_zoo.tasks.cli_arguments import TASK_ARGUMENTS

    def undocumented(parser, where):
        out = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    out += undocumented(sub, f"{where} {name}")
            elif not action.help and not isinstance(action, argparse._HelpAction):
                out.append(f"{where}: {'/'.join(action.option_strings) or action.dest}")
        return out

    missing = undocumented(build_parser(task_commands()), "model-zoo")
    for task, add in [*TASK_ARGUMENTS.items(), ("every task's finetune", _finetune_options)]:
        parser = argparse.ArgumentParser()
        add(parser)
        missing += undocumented(parser, task)
    assert missing == []


def test_task_arguments_cover_every_task_and_verbs_resolve():
    import importlib

    from model_zoo.tasks.base import registered_tasks
    from model_zoo.tasks.cli_arguments import TASK_ARGUMENTS, VERBS

    assert set(TASK_ARGUMENTS) == set(registered_tasks())
    for verb, (_, _, target) in VERBS.items():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), verb


def test_cudnn(capsys, registry):
    code, out, _ = run(capsys, "cudnn", "forecast_lstm_airline")
    assert code == 0 and "tensorflow: yes  jax: yes  torch: yes" in out


def test_tune(capsys, tmp_path):
    code, out, err = run(capsys, "-q", "tune", "forecasting", *SMOKE, "--max-trials", "1",
                         "--epochs", "1", "--directory", str(tmp_path), "--json")
    assert code == 0 and err == ""
    best = json.loads(out)["best"]
    assert len(best) == 1 and best[0]["trial"] is not None and isinstance(best[0]["hp"], dict)


def test_errors_are_one_line(capsys, registry, tmp_path):
    code, _, err = run(capsys, "info", "forecast_lstm_airlin")
    assert code == 2 and "Did you mean 'forecast_lstm_airline'" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "predict", "forecast_lstm_airline", "--csv",
                       str(tmp_path / "none.csv"), "--column", "y")
    assert code == 2 and "No such CSV file" in err
    code, _, err = run(capsys, "train", "forecasting", "--set", "nonsense")
    assert code == 2 and "--set takes key=value" in err
    code, _, err = run(capsys, "train", "nope")
    assert code == 2 and "No recipe named `nope`" in err
    with pytest.raises(SystemExit):  # argparse: missing required task argument
        main(["predict", "forecast_lstm_airline", "--column", "y"])


def test_console_script_entry_point():
    out = subprocess.run([sys.executable, "-m", "model_zoo.cli", "--version"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("model_zoo ")


def test_export_writes_a_savedmodel_that_answers_like_the_verb(capsys, tmp_path):
    import numpy as np
    import tensorflow as tf

    import model_zoo

    out = tmp_path / "airline"
    assert main(["export", "forecast_lstm_airline", "--out", str(out), "--horizon", "15",
                 "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["parent"]["name"] == "forecast_lstm_airline@1" and card["options"] == {
        "horizon": 15}
    task = model_zoo.load("forecast_lstm_airline")
    history = 300 + 50 * np.sin(np.arange(task.history_needed) / 2.0)
    serve = tf.saved_model.load(str(out)).signatures["serving_default"]
    got = serve(history=tf.constant(history[None], tf.float32))["forecast"].numpy()[0]
    np.testing.assert_allclose(got, task.forecast(history, horizon=15), rtol=1e-4)
    assert main(["export", "forecast_lstm_airline", "--out", str(out), "--overwrite"]) == 0
    assert "exported forecast_lstm_airline@1 (forecasting): the SavedModel" in \
        capsys.readouterr().out


# -- the conventions every command follows (issue 22) ------------------------------------------

def _commands():
    from model_zoo.cli import build_parser, task_commands

    parser = build_parser(task_commands())
    return next(a for a in parser._actions if a.dest == "command").choices


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_command_answers_help_without_a_model_name(command, capsys):
    try:
        code = main([command, "--help"])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    assert code in (0, None) and f"model-zoo {command}" in out and err == ""
    assert "--quiet" in out and ("--json" in out) == (command != "serve")


def test_the_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for line in ("exit codes:", "0    success", "1    the command ran and failed",
                 "2    usage or input error", "130  interrupted"):
        assert line in out


def _wav(path):
    """One second of a 300 Hz tone, 16 kHz 16-bit PCM."""
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(16000)
        f.writeframes(b"".join(int(8000 * math.sin(2 * math.pi * 300 * i / 16000))
                               .to_bytes(2, "little", signed=True) for i in range(16000)))
    return str(path)


# One cheap run of every command that prints a result, and a check of its JSON document.
JSON_CASES = {
    "list": (["list", "forecast_lstm_airline"], lambda r: r[0]["name"] == "forecast_lstm_airline"),
    "info": (["info", "forecast_lstm_airline"], lambda r: r["task"] == "forecasting"),
    "recipes": (["recipes"], lambda r: "forecasting" in [x["name"] for x in r]),
    "publish": (["publish", "{run}", "--registry-dir", "{tmp}/registry"],
                lambda r: os.path.isdir(r["published"])),
    "evaluate": (["evaluate", "forecast_lstm_airline", "--sample"],
                 lambda r: r["agree"] and r["metrics"][0]["metric"]),
    "predict": (["predict", "forecast_lstm_airline", "--csv", "{csv}", "--column", "y",
                 "--horizon", "3"], lambda r: len(r["forecast"]) == 3),
    "cudnn": (["cudnn", "forecast_lstm_airline"], lambda r: r[0]["kind"] == "LSTM"),
    "export": (["export", "forecast_lstm_airline", "--out", "{tmp}/export"],
               lambda r: r["task"] == "forecasting"),
    "generate": (["generate", "charlm_lstm_shakespeare", "--prompt", "To be", "--max-chars",
                  "5", "--seed", "1"], lambda r: len(r["samples"]) == 1),
    "translate": (["translate", "God is love.", "--beam-size", "1"],
                  lambda r: len(r["translations"]) == 1),
    "transcribe": (["transcribe", "{wav}", "--decoder", "greedy"],
                   lambda r: r[0]["file"].endswith("tone.wav") and "text" in r[0]),
}


# The commands that train, whose --json --quiet run is part of another test (one training
# each, not two).
JSON_CASES_ELSEWHERE = {"train": "test_train_then_publish_the_run", "tune": "test_tune",
                        "finetune": "test_predict_and_finetune"}


def test_every_command_that_prints_a_result_has_a_json_case():
    from model_zoo.cli import NO_RESULT

    assert set(JSON_CASES) | set(JSON_CASES_ELSEWHERE) == set(_commands()) - set(NO_RESULT)
    assert not set(JSON_CASES) & set(JSON_CASES_ELSEWHERE)
    assert all(name in globals() for name in JSON_CASES_ELSEWHERE.values())


@pytest.mark.parametrize("command", sorted(JSON_CASES))
def test_json_is_one_document_and_quiet_leaves_stderr_empty(command, capsys, registry,
                                                            trained, tmp_path):
    argv, check = JSON_CASES[command]
    csv = tmp_path / "series.csv"
    csv.write_text("y\n" + "".join(f"{v:.3f}\n" for v in seasonal_series(120) + 400))
    values = {"{tmp}": str(tmp_path), "{csv}": str(csv), "{run}": trained[1],
              "{wav}": _wav(tmp_path / "tone.wav") if command == "transcribe" else ""}
    argv = [re.sub("|".join(re.escape(k) for k in values), lambda m: values[m.group()], a)
            for a in argv]
    # --quiet before the command, --json after it (and after a task's own arguments).
    code, out, err = run(capsys, "--quiet", *argv, "--json")
    assert code == 0, err
    assert err == ""  # nothing but errors on stderr with --quiet
    assert check(json.loads(out))  # stdout: exactly one JSON document


def test_quiet_and_verbose_go_either_side_of_the_command_but_not_together(capsys, registry):
    code, out, err = run(capsys, "list", "forecast_lstm_airline", "-q")
    assert code == 0 and out.startswith("forecast_lstm_airline") and err == ""
    code, _, err = run(capsys, "--verbose", "list", "--quiet")
    assert code == 2 and "--quiet and --verbose" in err and err.count("\n") == 1


def test_exit_codes_of_failures(capsys, monkeypatch):
    import model_zoo.api
    from model_zoo.errors import IntegrityError

    def broken(name):
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(model_zoo.api, "info", broken)
    code, out, err = run(capsys, "info", "forecast_lstm_airline")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "RuntimeError: something nobody foresaw" in err and "--verbose" in err
    with pytest.raises(RuntimeError):  # --verbose: the traceback
        main(["info", "forecast_lstm_airline", "--verbose"])

    def tampered(name):
        raise IntegrityError("model.keras does not hash to its recorded sha256")

    monkeypatch.setattr(model_zoo.api, "info", tampered)
    code, _, err = run(capsys, "info", "forecast_lstm_airline")
    assert code == 1 and "does not hash" in err and err.count("\n") == 1


def test_a_deprecated_alias_is_never_suggested(capsys):
    # `forecast_lstm_airpassengers` is the old name of `forecast_lstm_airline`.
    code, _, err = run(capsys, "info", "forecast_lstm_airpassenger")
    assert code == 2 and "Did you mean 'forecast_lstm_airline'" in err
    assert "airpassengers'" not in err


def test_a_tasks_own_parser_takes_the_output_options_too():
    from model_zoo.cli import _task_parser

    args = _task_parser("model-zoo predict x", "forecasting").parse_args(
        ["--csv", "a.csv", "--column", "y", "--json", "-q"])
    assert args.json and args.quiet and isinstance(args, argparse.Namespace)
