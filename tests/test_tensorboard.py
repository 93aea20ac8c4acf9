"""What a run shows in TensorBoard, read back with TensorBoard's own reader: the scalars, the
configuration, the critic's score histograms and the sample figures, consistent after a
crash and a resume, and none of it changing what is trained."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.report.figures import write_snapshot
from gankit.training import loop, sinks
from gankit.training import step as step_module
from gankit.training.checkpoint import load_checkpoint
from gankit.training.configure import resolve
from tests.conftest import tensors

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

TINY = {
    "width": 16,
    "depth": 1,
    "batch_size": 16,
    "log_every": 2,
    "sample_every": 3,
    "checkpoint_every": 4,
    "n_critic": 1,
    "precision": "fp32",
    "device": "cpu",
}
DIGITS = {**TINY, "data": "digits", "width": 8, "latent_dim": 8}
KINDS = ("scalars", "images", "histograms", "tensors", "compressedHistograms", "audio")


def _events(folder) -> EventAccumulator:
    events = EventAccumulator(str(folder / "tensorboard"), size_guidance={k: 0 for k in KINDS})
    events.Reload()
    return events


def _records(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def _pixels(encoded: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(encoded)).convert("RGB"))


@pytest.mark.parametrize("values", [{"data": "ring:modes=4"}, DIGITS], ids=["ring", "digits"])
def test_a_run_shows_its_figures_config_and_score_histograms(tmp_path, values):
    config = resolve("wgan-gp", {**TINY, **values, "steps": 7})
    loop.train(config, tmp_path, progress=False, figures=write_snapshot)
    events = _events(tmp_path)
    tags = events.Tags()
    # one image per sample figure (steps 3, 6 and the last), the very PNG of samples/
    images = events.Images("samples")
    assert [e.step for e in images] == [3, 6, 7]
    for event in images:
        png = Image.open(tmp_path / "samples" / f"step_{event.step:07d}.png")
        assert (event.width, event.height) == png.size
        assert np.array_equal(_pixels(event.encoded_image_string), np.asarray(png.convert("RGB")))
    # the configuration as written to config.toml, once, at step 0
    assert "config/text_summary" in tags["tensors"]
    (text,) = events.Tensors("config/text_summary")
    shown = text.tensor_proto.string_val[0].decode()
    assert text.step == 0 and "recipe = " in shown
    assert (tmp_path / "config.toml").read_text() in shown
    # the critic's scores of the whole batch on every logged step; their means differ by the
    # logged Wasserstein estimate (mean real score - mean fake score)
    records = _records(tmp_path)
    real, fake = events.Histograms("critic/real"), events.Histograms("critic/fake")
    assert [e.step for e in real] == [e.step for e in fake] == [r["step"] for r in records]
    assert [r["step"] for r in records] == [2, 4, 6, 7]
    for r, f, record in zip(real, fake, records, strict=True):
        r, f = r.histogram_value, f.histogram_value
        assert r.num == f.num == config.batch_size
        assert r.sum / r.num - f.sum / f.num == pytest.approx(record["w_estimate"], rel=1e-5)
        assert r.min <= r.sum / r.num <= r.max


def test_a_crashed_and_resumed_run_shows_each_step_once(tmp_path, monkeypatch):
    """Events after the checkpoint are purged and redone; those of its own step stay."""
    config = resolve("nsgan", {**TINY, "data": "ring:modes=4", "steps": 12})
    real_step = step_module.generator_step

    def crash_at_step_7(run, measure, **pairs):
        if run.step == 6:
            raise RuntimeError("crash")
        return real_step(run, measure, **pairs)

    monkeypatch.setattr(step_module, "generator_step", crash_at_step_7)
    with pytest.raises(RuntimeError, match="crash"):
        loop.train(config, tmp_path, progress=False, figures=write_snapshot)
    assert load_checkpoint(tmp_path / "checkpoints" / "latest.pt")["step"] == 4
    monkeypatch.setattr(step_module, "generator_step", real_step)
    loop.train(config, tmp_path, resume=True, progress=False, figures=write_snapshot)
    events = _events(tmp_path)
    logged = [r["step"] for r in _records(tmp_path)]
    assert logged == [2, 4, 6, 8, 10, 12]
    assert [e.step for e in events.Scalars("g_loss")] == logged
    assert [e.value for e in events.Scalars("g_loss")] == pytest.approx(
        [r["g_loss"] for r in _records(tmp_path)], rel=1e-6
    )
    assert [e.step for e in events.Histograms("critic/fake")] == logged
    assert [e.step for e in events.Images("samples")] == [3, 6, 9, 12]
    assert [e.step for e in events.Tensors("config/text_summary")] == [0, 4]  # each start


def test_tensorboard_changes_nothing_trained_and_its_absence_breaks_nothing(tmp_path, monkeypatch):
    config = resolve("wgan-gp", {**TINY, "data": "ring:modes=4", "steps": 6})
    loop.train(config, tmp_path / "board", progress=False, figures=write_snapshot)
    real_find_spec = sinks.importlib.util.find_spec

    def no_tensorboard(name, *args):
        return None if name == "tensorboard" else real_find_spec(name, *args)

    monkeypatch.setattr(sinks.importlib.util, "find_spec", no_tensorboard)
    loop.train(config, tmp_path / "none", progress=False, figures=write_snapshot)
    assert not (tmp_path / "none" / "tensorboard").exists()
    with_board = load_checkpoint(tmp_path / "board" / "checkpoints" / "latest.pt")
    without = load_checkpoint(tmp_path / "none" / "checkpoints" / "latest.pt")
    pairs = zip(tensors(with_board), tensors(without), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert _records(tmp_path / "board")[-1]["g_loss"] == _records(tmp_path / "none")[-1]["g_loss"]
