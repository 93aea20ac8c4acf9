"""The Python API: gankit.train / resume / load / study and the Run object, checked against the
run folder's own files read independently (torch.load, json, Pillow) and against the command
line."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.errors import GankitError

TINY = {"width": 16, "depth": 1, "batch_size": 16, "precision": "fp32", "log_every": 2}


def _train(out, **keys):
    return gankit.train(
        keys.pop("recipe", "wgan-gp"), out=out, progress=False, log=None, **{**TINY, **keys}
    )


@pytest.fixture(scope="module")
def ring(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "ring"
    return _train(out, data="ring", steps=10, seed=3, sample_every=3)


def test_import_gankit_loads_no_torch_until_the_api_is_used():
    code = (
        "import sys, gankit; assert 'torch' not in sys.modules; gankit.train; "
        "assert 'torch' not in sys.modules; gankit.load('.')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "is not a gankit run folder" in done.stderr  # load ran, and only then read torch


def test_train_writes_every_keyword_into_the_resolved_configuration(ring):
    text = (ring.path / "config.toml").read_text()
    for line in ('recipe = "wgan-gp"', "steps = 10", "seed = 3", "width = 16", "depth = 1"):
        assert line in text
    assert ring.status == "completed" and ring.step == 10
    assert ring.config.data.startswith("ring") and ring.config.batch_size == 16


def test_lr_sets_both_players_rates_unless_one_is_given(tmp_path):
    run = _train(tmp_path / "lr", data="ring", steps=2, lr=3e-4, lr_d=1e-3)
    assert (run.config.lr_g, run.config.lr_d) == (3e-4, 1e-3)


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        ({"stpes": 10}, "'stpes'"),
        ({"steps": -1}, "steps"),
        ({"data": "ring:modes=0"}, "modes"),
        ({"n_critic": "five"}, "n_critic"),
    ],
)
def test_bad_keywords_raise_naming_the_key_before_any_folder_is_made(tmp_path, keys, named):
    with pytest.raises(GankitError, match=named):
        _train(tmp_path / "bad", **keys)
    with pytest.raises(ValueError):  # GankitError is a ValueError, as notebook users expect
        _train(tmp_path / "bad", **keys)
    assert not (tmp_path / "bad").exists()


def test_sample_is_the_generator_on_seeded_noise_and_matches_gankit_sample(ring, tmp_path):
    x = ring.sample(50, seed=4)
    assert x.shape == (50, 2) and x.dtype == np.float32
    z = torch.randn(50, ring.config.latent_dim, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        np.testing.assert_array_equal(x, ring.generator(z).numpy())
    out = tmp_path / "cli.npy"
    assert main(["sample", str(ring.path), "--n", "50", "--seed", "4", "--out", str(out)]) == 0
    np.testing.assert_array_equal(x, np.load(out))
    with pytest.raises(GankitError, match="n must be"):
        ring.sample(0)


def test_generator_and_critic_hold_the_checkpoints_weights(ring):
    state = torch.load(ring.path / "checkpoints" / "latest.pt", weights_only=True)
    for module, key in ((ring.critic, "critic"), (ring.generator, "generator")):
        assert isinstance(module, torch.nn.Module) and not module.training
        weights = module.state_dict()
        for name, tensor in state[key].items():
            torch.testing.assert_close(weights[name], tensor, rtol=0, atol=0)


def test_metrics_are_the_lines_of_metrics_jsonl(ring):
    lines = (ring.path / "metrics.jsonl").read_text().splitlines()
    assert ring.metrics == [json.loads(line) for line in lines]
    assert [r["step"] for r in ring.metrics] == [2, 4, 6, 8, 10]


def test_evaluate_returns_what_eval_json_holds_and_what_gankit_eval_prints(ring, capsys):
    scores = ring.evaluate(n=300, seed=1, log=None)
    assert scores == json.loads((ring.path / "eval.json").read_text())
    assert scores["step"] == 10 and "modes_covered" in scores and "w1" in scores
    assert main(["eval", str(ring.path), "--n", "300", "--seed", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == scores


def test_plot_shows_the_newest_sample_figure(ring):
    drawn = sorted((ring.path / "samples").glob("step_*.png"))
    assert [p.name for p in drawn][-1] == "step_0000010.png" and len(drawn) == 4  # 3, 6, 9, 10
    buffer = io.BytesIO()
    ring.plot().savefig(buffer, format="png")
    with Image.open(buffer) as image:
        shown = np.asarray(image.convert("RGB"))
    with Image.open(drawn[-1]) as image:
        expected = np.asarray(image.convert("RGB"))
    assert shown.shape == expected.shape
    assert np.abs(shown.astype(int) - expected.astype(int)).mean() < 2


def test_resume_through_the_api_continues_bit_for_bit(tmp_path):
    straight = _train(tmp_path / "straight", data="ring", steps=8, seed=1)
    part = _train(tmp_path / "part", data="ring", steps=4, seed=1)
    loaded = gankit.load(part.path)
    assert loaded.step == 4 and loaded.status is None
    more = gankit.resume(part.path, steps=8, progress=False, log=None)
    assert more.step == 8 and loaded.step == 8  # a loaded run reads the newer checkpoint
    np.testing.assert_array_equal(more.sample(100), straight.sample(100))
    with pytest.raises(GankitError, match="cannot change seed"):
        gankit.resume(part.path, seed=2, progress=False, log=None)


def test_train_refuses_a_folder_that_holds_a_run(ring):
    with pytest.raises(GankitError, match="already holds a run"):
        _train(ring.path, data="ring", steps=2)


def test_load_names_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(GankitError, match="not a gankit run folder"):
        gankit.load(tmp_path)


def test_log_receives_the_start_line(tmp_path):
    lines: list[str] = []
    gankit.train("gan", out=tmp_path / "g", data="ring", steps=2, progress=False, log=lines.append)
    assert len(lines) == 1 and "gan on ring" in lines[0]


@pytest.mark.slow
def test_study_returns_its_claims_and_writes_its_files(tmp_path):
    result = gankit.study("uniform-shift", out=tmp_path / "us", quick=True)
    saved = json.loads((tmp_path / "us" / "results.json").read_text())
    assert result.name == "uniform-shift" and result.claims
    assert [c.holds for c in result.claims] == [c["holds"] for c in saved["claims"]]
    with pytest.raises(GankitError, match="no-such"):
        gankit.study("no-such", out=tmp_path / "none")
    assert not (tmp_path / "none").exists()


def test_gankits_figures_leave_a_notebooks_matplotlib_backend_and_pyplot_alone(tmp_path):
    """Inline plots in a notebook depend on the backend it chose; gankit draws off screen."""
    code = f"""
import matplotlib
matplotlib.use("svg")
import matplotlib.pyplot as plt
import gankit
run = gankit.train("wgan-gp", out={str(tmp_path / "r")!r}, data="ring", steps=4, width=16,
                   depth=1, batch_size=16, sample_every=2, progress=False, log=None)
run.report(); run.plot(); run.write_samples({str(tmp_path / "s.png")!r}, 50)
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert plt.get_fignums() == [], plt.get_fignums()
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r" / "report.html").is_file() and (tmp_path / "s.png").is_file()
