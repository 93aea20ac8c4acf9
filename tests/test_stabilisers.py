"""Hinge and least-squares losses, the R1/R2, WGAN-LP and DRAGAN penalties, spectral norm, and
the recipes built on them (hinge, lsgan, wgan-lp, dragan, nsgan-r1), each against its formula."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.lipschitz import (
    dragan_penalty,
    gradient_penalty,
    lipschitz_penalty,
    r1_penalty,
    r2_penalty,
    spectral_normalize,
)
from gankit.losses import d_loss_hinge, d_loss_least_squares, g_loss_least_squares
from gankit.models import ConvCritic, MLPCritic
from gankit.report.figures import write_snapshot
from gankit.training import loop
from gankit.training.configure import resolve
from gankit.training.recipes import RECIPES
from gankit.training.state import build_models, critic_norm
from tests.conftest import close, straight_and_resumed

F64 = torch.float64
NEW_RECIPES = ("dragan", "fgan", "hinge", "lsgan", "nsgan-r1", "wgan-lp")


def linear_critic(w: list[float]) -> nn.Linear:
    """f(x) = w·x - 2: its input gradient is w at every x."""
    layer = nn.Linear(len(w), 1).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([w], dtype=F64))
        layer.bias.fill_(-2.0)
    return layer


def squared_norm(x: torch.Tensor) -> torch.Tensor:
    """f(x) = ‖x‖² per sample: ∇f(x) = 2x."""
    return x.flatten(1).pow(2).sum(dim=1)


def batch(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


# --- losses ------------------------------------------------------------------------------------


def test_hinge_loss_by_hand():
    real = torch.tensor([2.0, 1.0, 0.5, -1.0], dtype=F64)  # 1 - D: -1, 0, 0.5, 2 -> 0, 0, .5, 2
    fake = torch.tensor([-3.0, -1.0, 0.0], dtype=F64)  # 1 + D: -2, 0, 1 -> 0, 0, 1
    assert close(d_loss_hinge(real, fake).item(), 2.5 / 4 + 1 / 3)


def test_hinge_loss_gradient_is_zero_beyond_the_margin():
    real = torch.tensor([2.0, 0.0], requires_grad=True)
    fake = torch.tensor([-2.0, 0.0], requires_grad=True)
    d_loss_hinge(real, fake).backward()
    assert real.grad.tolist() == [0.0, -0.5] and fake.grad.tolist() == [0.0, 0.5]


def test_least_squares_losses_by_hand():
    real = torch.tensor([1.0, 0.0, 3.0], dtype=F64)  # (D - 1)²: 0, 1, 4
    fake = torch.tensor([-1.0, 1.0], dtype=F64)  # (D + 1)²: 0, 4
    assert close(d_loss_least_squares(real, fake).item(), 0.5 * 5 / 3 + 0.5 * 2)
    assert close(g_loss_least_squares(fake).item(), 0.5 * (1 + 1) / 2)  # (D - 0)²
    # the 0-1 variant: a = 0, b = 1, c = 1
    zero_one = d_loss_least_squares(real, fake, real_target=1.0, fake_target=0.0)
    assert close(zero_one.item(), 0.5 * 5 / 3 + 0.5 * (1 + 1) / 2)
    assert close(g_loss_least_squares(fake, target=1.0).item(), 0.5 * (4 + 0) / 2)


def test_losses_refuse_bad_scores():
    with pytest.raises(GankitError, match="real_scores must have shape"):
        d_loss_hinge(torch.zeros(3, 2), torch.zeros(3))
    with pytest.raises(GankitError, match="fake_scores must be a floating-point tensor"):
        g_loss_least_squares(torch.zeros(3, dtype=torch.long))


# --- penalties ---------------------------------------------------------------------------------


def test_r1_and_r2_of_a_linear_critic_are_half_gamma_times_the_squared_slope():
    critic = linear_critic([3.0, 4.0])  # ‖w‖² = 25 everywhere
    real, fake = batch(8, 2, seed=1), batch(8, 2, seed=2)
    assert close(r1_penalty(critic, real, weight=10.0).item(), 125.0)
    assert close(r2_penalty(critic, fake, weight=0.4).item(), 5.0)
    assert close(r1_penalty(critic, real).item(), 125.0)  # default gamma 10


def test_r1_through_given_scores_equals_r1_with_its_own_forward():
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    critic = critic.double()
    real = batch(10, 3, seed=5).requires_grad_(True)
    scores = critic(real).squeeze(1)
    reused = r1_penalty(critic, real, 3.0, scores=scores)
    assert torch.allclose(reused, r1_penalty(critic, real, 3.0), rtol=1e-6, atol=0)
    # the same parameter gradients too: the penalty is attached to the critic either way
    (reused_grad,) = torch.autograd.grad(reused, critic[0].weight)
    (own_grad,) = torch.autograd.grad(r1_penalty(critic, real, 3.0), critic[0].weight)
    assert torch.allclose(reused_grad, own_grad, rtol=1e-5, atol=1e-7)
    with pytest.raises(GankitError, match="real does not require grad"):
        r1_penalty(critic, real.detach(), 3.0, scores=scores)


def test_r1_is_taken_at_the_real_points_and_r2_at_the_fake_ones():
    real, fake = batch(6, 3, seed=3), batch(6, 3, seed=4)
    # ∇‖x‖² = 2x: gamma/2 · mean 4‖x‖²
    assert close(r1_penalty(squared_norm, real, 2.0).item(), (4 * real.pow(2).sum(1)).mean().item())
    assert close(r2_penalty(squared_norm, fake, 2.0).item(), (4 * fake.pow(2).sum(1)).mean().item())


def test_lipschitz_penalty_is_one_sided():
    real, fake = batch(8, 2, seed=1), batch(8, 2, seed=2)
    assert lipschitz_penalty(linear_critic([0.3, 0.4]), real, fake).item() == 0.0  # slope 0.5
    assert close(lipschitz_penalty(linear_critic([3.0, 4.0]), real, fake, 2.0).item(), 32.0)
    # the two-sided penalty does charge the flat critic: 10 · (0.5 - 1)²
    assert close(gradient_penalty(linear_critic([0.3, 0.4]), real, fake).item(), 2.5)


def test_lipschitz_penalty_on_the_interpolates_of_the_gradient_penalty():
    real, fake = batch(5, 2, seed=5), batch(5, 2, seed=6)
    eps = torch.rand(5, 1, generator=torch.Generator().manual_seed(9), dtype=F64)
    norms = 2 * (eps * real + (1 - eps) * fake).norm(dim=1)  # ‖∇‖x‖²‖ = 2‖x̂‖
    expected = 3.0 * (torch.relu(norms - 1) ** 2).mean()
    got = lipschitz_penalty(squared_norm, real, fake, 3.0, rng=torch.Generator().manual_seed(9))
    assert close(got.item(), expected.item())


def test_dragan_penalty_of_a_linear_critic():
    real = batch(8, 2, seed=1)
    assert close(dragan_penalty(linear_critic([3.0, 4.0]), real).item(), 160.0)  # 10 · (5-1)²
    assert close(dragan_penalty(linear_critic([0.6, 0.8]), real).item(), 0.0)


def test_dragan_points_are_the_reference_codes_perturbations():
    real = batch(6, 3, seed=7)
    seen = []

    def recording(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.detach().clone())
        return x.sum(dim=1)

    dragan_penalty(recording, real, rng=torch.Generator().manual_seed(4))
    gen = torch.Generator().manual_seed(4)
    alpha = torch.rand(6, 1, generator=gen, dtype=F64)  # first one per sample, then the noise
    u = torch.rand(6, 3, generator=gen, dtype=F64)
    std = float(real.numpy().std())  # numpy's X.std(), over every entry
    assert torch.allclose(seen[0], real + alpha * 0.5 * std * u, rtol=0, atol=1e-14)
    assert ((seen[0] >= real) & (seen[0] <= real + 0.5 * std)).all()


@pytest.mark.parametrize(
    "penalty",
    [
        lambda c, x: r1_penalty(c, x),
        lambda c, x: r2_penalty(c, x),
        lambda c, x: lipschitz_penalty(c, x, x.flip(0)),
        lambda c, x: dragan_penalty(c, x),
    ],
)
def test_penalties_train_the_critic_only(penalty):
    critic = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    x = batch(4, 2, seed=8).requires_grad_(True)
    penalty(critic, x).backward()
    assert x.grad is None  # detached: nothing flows into the data or the generator
    grads = [p.grad for p in critic.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)  # (the last bias gets none)


PENALTIES = {
    "r1_penalty": lambda c, x, w=1.0: r1_penalty(c, x, w),
    "r2_penalty": lambda c, x, w=1.0: r2_penalty(c, x, w),
    "lipschitz_penalty": lambda c, x, w=1.0: lipschitz_penalty(c, x, x, w),
    "dragan_penalty": lambda c, x, w=1.0: dragan_penalty(c, x, w),
}


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_penalties_refuse_batch_norm_negative_weights_and_flat_inputs(name):
    call = PENALTIES[name]
    critic = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    with pytest.raises(GankitError, match=f"{name} needs a critic without batch norm"):
        call(critic, torch.randn(4, 2))
    with pytest.raises(GankitError, match="weight must be >= 0, got -1.0"):
        call(squared_norm, torch.randn(4, 2), -1.0)
    with pytest.raises(GankitError, match=r"must have shape \(B, ...\)"):
        call(squared_norm, torch.randn(4))


# --- spectral normalisation -------------------------------------------------------------------


def _top_singular_values(module: nn.Module) -> list[float]:
    layers = [m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    return [torch.linalg.matrix_norm(m.weight.flatten(1), ord=2).item() for m in layers]


@pytest.mark.parametrize(
    "critic",
    [
        lambda: MLPCritic(2, width=32, depth=3),
        lambda: ConvCritic((1, 16, 16), width=8, norm=None),
    ],
)
def test_spectral_norm_leaves_every_layer_with_top_singular_value_one(critic):
    torch.manual_seed(0)
    model = critic()
    assert max(_top_singular_values(model)) != pytest.approx(1.0, abs=0.05)  # before: not 1
    spectral_normalize(model)
    x = torch.randn(4, *((2,) if isinstance(model, MLPCritic) else (1, 16, 16)))
    for _ in range(10):  # training-mode passes, one power iteration each
        model(x)
    model.eval()  # read the weights without a further iteration
    sigmas = _top_singular_values(model)
    assert len(sigmas) == (4 if isinstance(model, MLPCritic) else 3)  # conv, conv, linear
    # Power iteration estimates sigma from below, so W / sigma_est has sigma >= 1; after 15
    # (at registration) + 10 iterations the excess measured here is at most 4.2e-4.
    assert sigmas == pytest.approx([1.0] * len(sigmas), abs=5e-3)


def test_spectral_norm_of_a_known_matrix():
    layer = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 1.0]]))
    spectral_normalize(layer).eval()
    assert torch.allclose(layer.weight, torch.tensor([[1.0, 0.0], [0.0, 1 / 3]]), atol=1e-5)


def test_spectral_norm_refuses_a_second_application_and_bad_arguments():
    model = spectral_normalize(MLPCritic(2, width=4, depth=1))
    with pytest.raises(GankitError, match="already spectrally normalised"):
        spectral_normalize(model)
    with pytest.raises(GankitError, match="module must be a torch.nn.Module"):
        spectral_normalize("critic")  # type: ignore[arg-type]
    with pytest.raises(GankitError, match="n_power_iterations"):
        spectral_normalize(nn.Linear(2, 2), n_power_iterations=0)


def test_spectral_norm_flag_wraps_the_critic_and_drops_batch_norm_on_images():
    config = resolve("nsgan", flag_values={"data": "digits", "spectral_norm": True})
    assert critic_norm(config, images=True) is None  # Miyato et al.: no batch norm
    _, critic = build_models(config, (1, 16, 16))
    convs = [m for m in critic.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)
    for recipe in ("nsgan-r1", "dragan", "wgan-lp"):  # penalties: layer norm, as WGAN-GP
        assert critic_norm(resolve(recipe, flag_values={"data": "digits"}), True) == "layer"


# --- recipes and configuration -----------------------------------------------------------------

SMALL = {
    "data": "ring:modes=4",
    "width": 16,
    "depth": 2,
    "batch_size": 32,
    "log_every": 2,
    "sample_every": 2,
    "checkpoint_every": 2,
    "precision": "fp32",
    "device": "cpu",
}
TINY = {**SMALL, "data": "digits", "width": 8, "latent_dim": 8, "batch_size": 16}
LOGGED = {
    "hinge": {"w_estimate"},
    "lsgan": {"score_real", "score_fake"},
    "fgan": {"f_estimate"},
    "wgan-lp": {"w_estimate"},
    "dragan": {"d_real", "d_fake"},
    "nsgan-r1": {"d_real", "d_fake"},
}


def test_the_new_recipes_are_registered():
    assert set(NEW_RECIPES) <= set(RECIPES)


@pytest.mark.parametrize("recipe", NEW_RECIPES)
@pytest.mark.parametrize("values", [SMALL, TINY], ids=["ring", "digits"])
def test_each_new_recipe_trains_on_toy_data_and_images(tmp_path, recipe, values):
    config = resolve(recipe, flag_values={**values, "steps": 3})
    result = loop.train(config, tmp_path, progress=False, figures=write_snapshot)
    assert (result.step, result.status) == (3, "completed")
    record = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    assert LOGGED[recipe] <= set(record)
    # (wgan-lp's one-sided penalty is 0 while every slope is below 1, as at the start)
    assert (record["penalty"] > 0) == (recipe in ("dragan", "nsgan-r1"))
    assert (tmp_path / "samples" / "step_0000002.png").is_file()


def test_recipe_defaults_cite_their_papers():
    hinge = resolve("hinge")  # SAGAN: TTUR 4e-4 / 1e-4, betas (0, 0.9), SN
    assert (hinge.lr_d, hinge.lr_g, hinge.beta1, hinge.beta2, hinge.n_critic) == (
        4e-4,
        1e-4,
        0.0,
        0.9,
        1,
    )
    assert hinge.spectral_norm and not resolve("nsgan").spectral_norm
    assert (
        resolve("dragan").dragan_weight,
        resolve("dragan", {"data": "digits"}).dragan_weight,
    ) == (
        0.1,
        10.0,
    )
    assert (resolve("wgan-lp").lp_weight, resolve("wgan-lp").gp_weight) == (0.1, 0.0)
    assert resolve("wgan-lp", flag_values={"data": "mnist5k"}).lp_weight == 10.0
    r1 = resolve("nsgan-r1")
    assert (r1.r1_weight, r1.optimizer, r1.lr_d) == (10.0, "rmsprop", 1e-4)
    assert resolve("lsgan").lr_g == resolve("fgan").lr_g == 2e-4


def test_config_refuses_negative_weights_and_batch_norm_with_a_penalty():
    with pytest.raises(GankitError) as error:
        resolve("nsgan", flag_values={"r1_weight": -1.0, "lp_weight": float("nan")})
    assert "r1_weight must be >= 0, got -1.0" in str(error.value)
    assert "lp_weight must be >= 0, got nan" in str(error.value)
    with pytest.raises(GankitError, match="critic_norm batch cannot be used with r1_weight"):
        resolve("nsgan-r1", flag_values={"critic_norm": "batch"})
    with pytest.raises(GankitError, match="spectral_norm must be bool"):
        resolve("hinge", {"spectral_norm": "often"})


def test_hinge_run_with_spectral_norm_resumes_bit_identically(tmp_path):
    # Only b draws a figure at step 3: figures evaluate the critic in eval mode, so they leave
    # the power iteration's state alone.
    straight = resolve("hinge", flag_values={**SMALL, "steps": 6, "sample_every": 4})
    half = resolve("hinge", flag_values={**SMALL, "steps": 3, "sample_every": 4})
    a, b = straight_and_resumed(straight, half, tmp_path)
    assert any("parametrizations" in key for key in a["critic"])
    for part in ("generator", "critic"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), (part, key)
