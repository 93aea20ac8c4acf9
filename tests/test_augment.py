"""Differentiable augmentation (DiffAugment) and ADA's adaptive p: what each augmentation does,
its gradient, its fill, its probability, its random stream, exact resume, and never outside
training."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from gankit.cli import main
from gankit.errors import GankitError
from gankit.runs import draw_samples, load_run
from gankit.training import augment as augment_module
from gankit.training import loop
from gankit.training import step as step_module
from gankit.training.augment import ADA_TARGET, ada_adjusted, augment, background, draw
from gankit.training.configure import resolve
from gankit.training.hardware import resolve_hardware
from gankit.training.state import STREAMS, new_run
from gankit.training.step import train_step
from tests.conftest import straight_and_resumed

POLICIES = ("color", "translation", "cutout")
SMALL = {
    "width": 8,
    "batch_size": 8,
    "log_every": 2,
    "sample_every": 1000,
    "checkpoint_every": 3,
    "precision": "fp32",
    "device": "cpu",
    "data": "digits",
}


def _params(policy, n=4, size=(8, 8), seed=0):
    return draw(policy, n, size, torch.Generator().manual_seed(seed))


# --- each augmentation ------------------------------------------------------------------------


@pytest.mark.parametrize("name", POLICIES)
def test_every_augmentation_is_differentiable_in_its_input(name):
    x = torch.randn(3, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    params = _params((name,), n=3)
    fill = torch.tensor([-1.0, 0.5], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: augment(t, (name,), params, 1.0, fill), (x,))


def test_translation_and_cutout_uncover_the_background_not_zero():
    x = torch.ones(64, 1, 8, 8)  # all foreground; the background is -1 (MNIST's)
    fill = torch.tensor([-1.0])
    params = _params(("translation",), n=64)
    moved = augment(x, ("translation",), params, 1.0, fill)
    dy, dx = params["shift"].abs().unbind(1)
    uncovered = 64 - (8 - dy) * (8 - dx)  # pixels a shift of (dy, dx) uncovers
    assert torch.equal((moved == -1).sum((1, 2, 3)), uncovered)
    assert set(moved.unique().tolist()) <= {-1.0, 1.0} and (uncovered > 0).any()
    params = _params(("cutout",), n=64)
    cut = augment(x, ("cutout",), params, 1.0, fill)
    assert set(cut.unique().tolist()) == {-1.0, 1.0}
    inside = ((params["cutout"] >= 2) & (params["cutout"] <= 6)).all(1)  # box fully inside
    assert torch.equal((cut[inside] == -1).sum((1, 2, 3)), torch.full((int(inside.sum()),), 16))


def test_the_background_is_the_median_of_the_images_borders():
    x = torch.full((5, 2, 6, 6), 0.3)
    x[:, 1] = -1.0
    x[:, :, 1:5, 1:5] = 0.9  # the inside does not count
    x[0, 0, 0, 0] = 1.0  # one odd border pixel does not move a median
    assert torch.allclose(background(x), torch.tensor([0.3, -1.0]))
    config = resolve("nsgan", {**SMALL, "augment": "translation"})
    run = new_run(config, resolve_hardware("cpu", "fp32"))
    assert run.augment_fill is not None and run.augment_fill.tolist() == [-1.0]  # digits


def test_color_on_one_channel_changes_only_brightness_and_contrast():
    x = torch.rand(6, 1, 8, 8) * 2 - 1
    params = _params(("color",), n=6)
    out = augment(x, ("color",), params, 1.0, torch.tensor([-1.0]))
    brightness, _, contrast = params["color"].view(6, 3, 1, 1, 1).unbind(1)
    shifted = x + brightness - 0.5
    mean = shifted.mean((1, 2, 3), keepdim=True)
    assert torch.allclose(out, (shifted - mean) * (contrast + 0.5) + mean, atol=1e-6)
    other = dict(params, color=params["color"] * torch.tensor([1.0, 0.0, 1.0]))  # saturation 0
    assert torch.equal(augment(x, ("color",), other, 1.0, torch.tensor([-1.0])), out)
    rgb = torch.rand(6, 3, 8, 8)  # with three channels saturation does act
    assert not torch.allclose(
        augment(rgb, ("color",), params, 1.0, torch.zeros(3)),
        augment(rgb, ("color",), other, 1.0, torch.zeros(3)),
    )


def test_p_0_is_the_identity_p_1_always_applies_and_p_is_the_chance_per_sample():
    x = torch.rand(2000, 1, 8, 8) * 2 - 1
    params = _params(("color",), n=2000)
    fill = torch.tensor([-1.0])
    assert torch.equal(augment(x, ("color",), params, 0.0, fill), x)
    changed = (augment(x, ("color",), params, 1.0, fill) != x).flatten(1).any(1)
    assert changed.all()
    changed = (augment(x, ("color",), params, 0.3, fill) != x).flatten(1).any(1)
    assert abs(changed.float().mean().item() - 0.3) < 0.04  # 4 standard deviations


def test_the_same_stream_state_gives_the_same_augmentation():
    x = torch.rand(8, 1, 8, 8)
    rng = torch.Generator().manual_seed(3)
    state = rng.get_state()
    first = augment(x, POLICIES, draw(POLICIES, 8, (8, 8), rng), 1.0, torch.tensor([-1.0]))
    rng.set_state(state)
    again = augment(x, POLICIES, draw(POLICIES, 8, (8, 8), rng), 1.0, torch.tensor([-1.0]))
    later = augment(x, POLICIES, draw(POLICIES, 8, (8, 8), rng), 1.0, torch.tensor([-1.0]))
    assert torch.equal(first, again) and not torch.equal(first, later)


# --- in training --------------------------------------------------------------------------------


def _augmented(**values):
    return resolve("nsgan", {**SMALL, "augment": "color,translation,cutout", **values})


@pytest.mark.parametrize("p", ["1.0", "auto"])
def test_resume_is_bit_identical_with_augmentation(tmp_path, p):
    straight = _augmented(steps=9, augment_p=p, r1_weight=1.0)  # R1 on the augmented reals
    half = dataclasses.replace(straight, steps=6)  # between two of ADA's adjustments
    a, b = straight_and_resumed(straight, half, tmp_path)
    for part in ("generator", "critic"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), (part, key)
    for name in STREAMS:
        assert torch.equal(a["streams"][name], b["streams"][name]), name
    for key in ("p", "ada_signs", "r_t"):
        assert torch.equal(a["augment"][key], b["augment"][key]), key
    fresh = new_run(straight, resolve_hardware("cpu", "fp32"))
    assert not torch.equal(a["streams"]["augment"], fresh.streams["augment"].get_state())


def test_augmentation_off_draws_nothing_from_its_stream():
    config = resolve("nsgan", {**SMALL, "steps": 2})
    run = new_run(config, resolve_hardware("cpu", "fp32"))
    before = run.streams["augment"].get_state()
    train_step(run, run_data(config), measure=True)
    assert torch.equal(run.streams["augment"].get_state(), before)


def run_data(config):
    from gankit.data import make_data

    return make_data(config.data)


class _Confident(torch.nn.Module):
    """A critic whose score is ``offset`` on every input (its weights still get gradients)."""

    def __init__(self, offset: float) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(()))
        self.offset = offset

    def forward(self, x):
        return (x.flatten(1).sum(1) * self.weight + self.offset).unsqueeze(1)


@pytest.mark.parametrize(("offset", "start", "moves"), [(5.0, 0.0, 1), (-5.0, 0.5, -1)])
def test_ada_moves_p_up_when_d_real_is_confidently_positive_and_down_otherwise(
    offset, start, moves
):
    config = _augmented(augment_p="auto", batch_size=16)
    run = new_run(config, resolve_hardware("cpu", "fp32"))
    assert run.augment_p.item() == 0.0  # ADA starts at p = 0
    run.critic, run.augment_p = _Confident(offset), torch.tensor(start)
    data, step = run_data(config), 16 * 4 / augment_module.ADA_RAMP_IMAGES
    for index in range(8):
        values = train_step(run, data, measure=False)
        adjustments = (index + 1) // 4
        assert abs(values["augment_p"].item() - (start + moves * adjustments * step)) < 1e-6
    assert values["r_t"].item() == (1.0 if offset > 0 else -1.0)


def test_ada_step_is_the_sign_of_r_t_minus_the_target_times_batch_interval_over_ramp():
    step = 64 * 4 / augment_module.ADA_RAMP_IMAGES
    p = torch.tensor(0.5)
    assert ada_adjusted(p, torch.tensor(0.9), 64).item() == pytest.approx(0.5 + step)
    assert ada_adjusted(p, torch.tensor(0.1), 64).item() == pytest.approx(0.5 - step)
    assert ada_adjusted(p, torch.tensor(ADA_TARGET), 64).item() == 0.5
    assert ada_adjusted(torch.tensor(1.0), torch.tensor(1.0), 64).item() == 1.0  # clamped
    assert ada_adjusted(torch.tensor(0.0), torch.tensor(-1.0), 64).item() == 0.0


def test_metrics_log_augment_p_and_r_t(tmp_path):
    import json

    loop.train(_augmented(steps=4, augment_p="auto"), tmp_path, progress=False)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert {"augment_p", "r_t"} <= set(records[-1])


def test_sampling_and_evaluation_never_augment(tmp_path, monkeypatch):
    loop.train(_augmented(steps=2), tmp_path, progress=False)

    def refuse(*_args, **_kwargs):
        raise AssertionError("augmented outside training")

    monkeypatch.setattr(augment_module, "augment", refuse)
    monkeypatch.setattr(augment_module, "draw", refuse)
    monkeypatch.setattr(step_module, "critic_input", refuse)
    config, generator, _ = load_run(tmp_path)
    assert config.augment == "color,translation,cutout"
    assert draw_samples(tmp_path, 8).shape == (8, 1, 8, 8)
    from gankit.runs import evaluate_run

    monkeypatch.setattr("gankit.metrics.evaluate_images", lambda *a, **k: {"checked": True})
    assert evaluate_run(tmp_path, n=16, progress=False)["checked"]


# --- bad input and older run folders -------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"augment": "colour"}, "augment must be a comma-separated list of color, translation"),
        ({"augment_p": "1.5"}, "augment_p must be a number in [0, 1] or auto, got '1.5'"),
        ({"augment_p": "often"}, "augment_p must be a number in [0, 1] or auto, got 'often'"),
        ({"augment_p": -0.1}, "augment_p must be a number in [0, 1] or auto, got '-0.1'"),
    ],
)
def test_bad_augmentation_settings_are_named_with_what_is_allowed(values, message):
    with pytest.raises(GankitError, match=message.replace("[", r"\[").replace("]", r"\]")):
        resolve("nsgan", {"data": "digits", **values})


def test_a_number_in_toml_is_accepted_for_augment_p():
    assert resolve("nsgan", {"data": "digits", "augment_p": 0.5}).augment_p == "0.5"


def test_toy_data_with_augment_exits_2_with_one_line(tmp_path, capsys):
    code = main(["train", "--data", "ring", "--augment", "color", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "augment 'color' needs image data; 'ring' is a toy set" in err


def test_bad_augment_p_flag_exits_2_with_one_line(tmp_path, capsys):
    argv = ["train", "--data", "digits", "--augment", "cutout", "--augment-p", "2"]
    code = main([*argv, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "augment_p must be" in err


def test_the_report_draws_augment_p_and_r_t_in_one_panel():
    from gankit.report.curves import Series, curve_panels

    records = [{"step": s, "augment_p": s / 100, "r_t": 0.5} for s in (4, 8, 12)]
    titles = [title for title, _ in curve_panels([Series("run", records)])]
    assert titles == ["augmentation probability p and ADA's r_t = E sign D(real) (target 0.6)"]
