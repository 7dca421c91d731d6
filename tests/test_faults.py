"""Faults (issue 17, items 7 and 8): what a SIGKILLed process leaves behind is cleaned by the
next run, never while its maker still runs; a search resumed after a kill equals an
uninterrupted one."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from model_zoo import fsutil
from model_zoo.registry import cache, sha256_file

# A plain Python process (no TensorFlow) that is in the middle of writing a checkpoint folder
# (`atomic_folder`, as `finetune --out` does) and of a download when it is killed.
WRITER = r"""
import os, sys, time, urllib.request
from model_zoo import fsutil
from model_zoo.registry import cache

class Stalled:
    headers = {"Content-Length": "100"}
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return False
    def read(self, size=-1):
        print("ready", flush=True)
        time.sleep(120)

urllib.request.urlopen = lambda *args, **kwargs: Stalled()
with fsutil.atomic_folder(sys.argv[1]) as tmp:
    with open(os.path.join(tmp, "model.keras"), "w") as f:
        f.write("half a model")
    cache._download("http://127.0.0.1:9/x.zip", os.path.join(sys.argv[2], "x.zip"), "0" * 64)
"""


def test_temporaries_of_a_killed_process_are_removed_by_the_next_run_only(tmp_path):
    out = tmp_path / "tuned"
    downloads = tmp_path / "zoo_home" / "downloads"
    blob = tmp_path / "blob.zip"
    blob.write_bytes(b"an archive")

    def next_run():
        with fsutil.atomic_folder(str(out), if_exists="replace") as tmp:
            with open(os.path.join(tmp, "model.keras"), "w") as f:
                f.write("a model")
        cache._download(blob.as_uri(), str(downloads / "blob.zip"), sha256_file(str(blob)))

    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(out), str(downloads)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        debris = glob.glob(str(tmp_path / ".tuned.tmp-*")) + glob.glob(str(downloads / "*.part"))
        assert len(debris) == 2
        next_run()  # the writer still runs: its temporaries are work in progress, kept
        assert all(os.path.exists(p) for p in debris)
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(timeout=30) == -signal.SIGKILL
        assert all(os.path.exists(p) for p in debris)  # a killed process cleans nothing
        next_run()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert not any(os.path.exists(p) for p in debris)
    assert sorted(os.listdir(tmp_path)) == ["blob.zip", "tuned", "zoo_home"]
    assert os.listdir(downloads) == ["blob.zip"]
    assert (out / "model.keras").read_text() == "a model"
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(downloads / "blob.zip").st_mode & 0o777 == 0o666 & ~umask  # not 0600


def test_untagged_or_foreign_temporaries_are_removed_only_when_old(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    paths = {
        "untagged_old": tmp_path / "tmpab12cd34.part",  # from an older version of model_zoo
        "untagged_new": tmp_path / "tmpzz98yy76.part",
        "other_host": tmp_path / f"tmp{dead.pid}.{'0' * 8}-x1y2z3.part",  # a shared folder
        "other_host_old": tmp_path / f"tmp{dead.pid}.{'0' * 8}-a1b2c3.part",
        "not_ours": tmp_path / "tmp_notes.txt",
    }
    for path in paths.values():
        path.write_text("partial")
    long_ago = time.time() - fsutil.STALE_AFTER - 60
    for key in ("untagged_old", "other_host_old"):
        os.utime(paths[key], (long_ago, long_ago))
    removed = fsutil.remove_stale_temporaries(str(tmp_path), "tmp", suffix=".part")
    assert sorted(removed) == sorted(str(paths[k]) for k in ("untagged_old", "other_host_old"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        paths[k].name for k in ("untagged_new", "other_host", "not_ours"))


def test_a_write_beside_them_removes_dead_staging_folders_of_other_names(tmp_path):
    """`finetune --out a` killed, then `finetune --out b` in the same folder: a's debris goes;
    a live process's staging folder and the user's own hidden files stay."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = fsutil.temporary_prefix("").split(".")[1].rstrip("-")
    debris = tmp_path / f".a.tmp-{dead.pid}.{host}-x1y2"
    live = tmp_path / f".c.tmp-{os.getpid()}.{host}-z9y8"
    mine = tmp_path / ".a.tmp-notes"  # untagged: not ours to judge by name
    for folder in (debris, live, mine):
        folder.mkdir()
    with fsutil.atomic_folder(str(tmp_path / "b")) as tmp:
        open(os.path.join(tmp, "model.keras"), "w").close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, mine.name, "b"])


# A search killed (SIGKILL: no clean-up, no saving) during the first batch of its second trial.
KILLED_SEARCH = r"""
import json, os, signal, sys
import keras
from model_zoo.training import tuning

class Kill(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        os.kill(os.getpid(), signal.SIGKILL)

make = tuning._hypermodel
def hypermodel(recipe, config, data):
    built, calls = make(recipe, config, data), []
    fit = built.fit
    def fit_killed_in_trial_2(hp, model, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            kwargs["callbacks"] = [*kwargs.get("callbacks", []), Kill()]
        return fit(hp, model, *args, **kwargs)
    built.fit = fit_killed_in_trial_2
    return built
tuning._hypermodel = hypermodel
tuning.tune("forecasting", json.loads(sys.argv[2]), tuner="random", max_trials=2, epochs=1,
            directory=sys.argv[1], log=lambda *_: None)
"""


def test_a_search_resumed_after_a_kill_equals_an_uninterrupted_one(tmp_path):
    from model_zoo.training import tuning

    smoke = {"dataset": "airline", "epochs": 1, "baselines": False, "pretrain": ""}
    log = tmp_path / "killed.log"
    with open(log, "w") as err:  # runs beside the uninterrupted search below
        killed = subprocess.Popen([sys.executable, "-c", KILLED_SEARCH, str(tmp_path / "b"),
                                   json.dumps(smoke)], stdout=err, stderr=err)
    try:
        uninterrupted = tuning.tune("forecasting", smoke, tuner="random", max_trials=2,
                                    epochs=1, directory=str(tmp_path / "a"), log=lambda *_: None)
        assert killed.wait(timeout=300) == -signal.SIGKILL, log.read_text()[-3000:]
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()
    (trial,) = glob.glob(str(tmp_path / "b" / "*" / "trial_1" / "trial.json"))
    with open(trial) as f:
        assert json.load(f)["status"] == "RUNNING"  # killed in the middle of trial 2
    resumed = tuning.tune("forecasting", smoke, tuner="random", max_trials=2, epochs=1,
                          directory=str(tmp_path / "b"), resume=True, log=lambda *_: None)

    def by_trial(best):
        return {b["trial"]: (b["hp"], float(b["score"])) for b in best}

    expected, got = by_trial(uninterrupted), by_trial(resumed)
    assert sorted(got) == sorted(expected) == ["0", "1"]
    for trial_id, (hp, score) in expected.items():
        assert got[trial_id][0] == hp
        assert got[trial_id][1] == pytest.approx(score, rel=1e-6, abs=1e-9)
