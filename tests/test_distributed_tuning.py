"""Keras Tuner's own chief/worker mode behind `model-zoo tune --chief` / `--worker ID`: one chief
and two workers (subprocesses on 127.0.0.1, a free port, bounded in time) run every trial of a
search exactly once, with the same trials and scores as one process of the same seed."""

import glob
import json
import os
import socket
import subprocess
import sys

import pytest

from model_zoo.errors import InputError
from model_zoo.training import tuning

SMOKE = {"dataset": "airline", "epochs": "1", "baselines": "false", "pretrain": ""}
TRIALS = 3


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _trials(directory):
    out = {}
    for path in glob.glob(os.path.join(directory, "*", "trial_*", "trial.json")):
        with open(path) as f:
            trial = json.load(f)
        out[trial["trial_id"]] = (trial["status"], trial["hyperparameters"]["values"],
                                  trial["score"])
    return out


def test_a_chief_and_two_workers_run_every_trial_once(tmp_path, monkeypatch):
    for key in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        monkeypatch.delenv(key, raising=False)
    oracle = f"127.0.0.1:{_free_port()}"
    sets = [arg for key, value in SMOKE.items() for arg in ("--set", f"{key}={value}")]
    command = [sys.executable, "-m", "model_zoo.cli", "tune", "forecasting", *sets,
               "--max-trials", str(TRIALS), "--directory", str(tmp_path / "distributed")]
    roles = [["--chief"], ["--worker", "w1"], ["--worker", "w2"]]
    procs = [subprocess.Popen(command + role + ["--oracle", oracle], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for role in roles]
    try:
        # Meanwhile, the same search in this one process.
        single = tuning.tune("forecasting", SMOKE, max_trials=TRIALS,
                             directory=str(tmp_path / "single"), log=lambda *_: None)
        outputs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-2000:]
    distributed, alone = _trials(tmp_path / "distributed"), _trials(tmp_path / "single")
    assert sorted(distributed) == sorted(alone) and len(alone) == TRIALS  # each trial once
    assert all(status == "COMPLETED" for status, _, _ in distributed.values())
    for trial_id, (_, values, score) in alone.items():
        assert distributed[trial_id][1] == values
        assert distributed[trial_id][2] == pytest.approx(score, rel=1e-5)
    chief_out = outputs[0][0]
    assert f"1. trial {single[0]['trial']}" in chief_out  # the chief reports the same best
    assert all("worker done" in out for out, _ in outputs[1:])


def test_distributed_settings_are_checked(monkeypatch):
    for key in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        monkeypatch.delenv(key, raising=False)
    for kwargs, match in [({"chief": True, "worker": "w1", "oracle": "127.0.0.1:1"}, "not both"),
                          ({"worker": "w1", "oracle": "127.0.0.1"}, "HOST:PORT"),
                          ({"chief": True}, "HOST:PORT"),
                          ({"oracle": "127.0.0.1:8000"}, "goes with --chief"),
                          ({"worker": "chief2", "oracle": "127.0.0.1:1"}, "must not contain")]:
        with pytest.raises(InputError, match=match):
            tuning.set_distributed_role(**kwargs)
    assert tuning.set_distributed_role() is None and tuning.distributed_role() is None
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    with pytest.raises(InputError, match="set together"):
        tuning.distributed_role()


def test_a_worker_needs_its_chiefs_search(tmp_path):
    state = tmp_path / "project" / tuning.STATE_FILE
    with pytest.raises(InputError, match="found no search state of its chief"):
        tuning._check_worker(str(state), "f" * 64, log=lambda *_: None, wait=0.2)
    state.parent.mkdir()
    state.write_text(json.dumps({"fingerprint": "0" * 64}))
    with pytest.raises(InputError, match="differ from the chief's search"):
        tuning._check_worker(str(state), "f" * 64, log=lambda *_: None, wait=0.2)
    tuning._check_worker(str(state), "0" * 64, log=lambda *_: None)  # the same: runs
