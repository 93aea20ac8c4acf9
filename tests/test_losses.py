"""GAN and WGAN losses against hand computation from probabilities and exact derivatives."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gankit.errors import GankitError
from gankit.losses import (
    critic_loss,
    d_loss_minimax,
    d_loss_relativistic,
    g_loss_nonsaturating,
    g_loss_relativistic,
    g_loss_saturating,
    g_loss_wasserstein,
)
from tests.conftest import close

LOG2 = math.log(2.0)


def logit(p: list[float]) -> torch.Tensor:
    """Logits of probabilities, in float64: D = sigmoid(logit(p)) = p."""
    probs = torch.tensor(p, dtype=torch.float64)
    return torch.log(probs) - torch.log1p(-probs)


# ---------------------------------------------------------------- values from probabilities


def test_logits_zero_give_log2_per_term():
    zeros = torch.zeros(5, dtype=torch.float64)
    assert close(d_loss_minimax(zeros, zeros).item(), 2 * LOG2)  # -log(1/2) - log(1 - 1/2)
    assert close(g_loss_saturating(zeros).item(), -LOG2)  # log(1 - 1/2)
    assert close(g_loss_nonsaturating(zeros).item(), LOG2)  # -log(1/2)


def test_d_loss_minimax_is_binary_cross_entropy_of_the_probabilities():
    d_real, d_fake = [0.8, 0.6, 0.99], [0.3, 0.05]
    expected = -sum(math.log(p) for p in d_real) / 3 - sum(math.log(1 - p) for p in d_fake) / 2
    assert close(d_loss_minimax(logit(d_real), logit(d_fake)).item(), expected, rel=1e-12)


def test_generator_losses_from_probabilities():
    d_fake = [0.3, 0.05, 0.7, 0.5]
    expected_sat = sum(math.log(1 - p) for p in d_fake) / 4
    expected_nonsat = -sum(math.log(p) for p in d_fake) / 4
    assert close(g_loss_saturating(logit(d_fake)).item(), expected_sat, rel=1e-12)
    assert close(g_loss_nonsaturating(logit(d_fake)).item(), expected_nonsat, rel=1e-12)


def test_d_loss_at_the_optimal_discriminator_gives_js_of_disjoint_supports():
    # D* = 1 on real and 0 on fake: V(D*, G) = 0, so JS = (V + log 4) / 2 = log 2.
    loss = d_loss_minimax(
        torch.full((3,), 50.0, dtype=torch.float64), torch.full((3,), -50.0, dtype=torch.float64)
    )
    assert close((math.log(4) - loss.item()) / 2, LOG2, rel=1e-15)


def test_losses_agree_with_naive_log_sigmoid_on_moderate_logits():
    x = torch.linspace(-8.0, 8.0, 33)
    naive_log_d = torch.log(torch.sigmoid(x))
    naive_log_1md = torch.log(1 - torch.sigmoid(x))
    torch.testing.assert_close(g_loss_nonsaturating(x), -naive_log_d.mean())
    torch.testing.assert_close(g_loss_saturating(x), naive_log_1md.mean())
    torch.testing.assert_close(d_loss_minimax(x, x), -naive_log_d.mean() - naive_log_1md.mean())


def test_losses_stay_finite_and_exact_where_naive_log_sigmoid_overflows():
    big = torch.tensor([100.0])
    # The naive forms give -log(0) = inf at these logits in float32 ...
    assert torch.isinf(torch.log(torch.sigmoid(-big))).all()
    assert torch.isinf(torch.log(1 - torch.sigmoid(big))).all()
    # ... ours give softplus(100) = 100 exactly.
    assert g_loss_nonsaturating(-big).item() == 100.0  # -log sigmoid(-100)
    assert g_loss_saturating(big).item() == -100.0  # log(1 - sigmoid(100))
    assert d_loss_minimax(-big, big).item() == 200.0
    # A confident, correct discriminator: loss ≈ 2·exp(-100), tiny but not NaN.
    assert 0.0 <= d_loss_minimax(big, -big).item() < 1e-40


# ---------------------------------------------------------------- gradients: saturation


def test_saturating_generator_gradient_is_minus_sigmoid_and_vanishes():
    x = torch.tensor([-100.0, -10.0, 0.0, 3.0], dtype=torch.float64, requires_grad=True)
    g_loss_saturating(x).backward()
    # d/dx of -softplus(x) / B is -sigmoid(x) / B.
    torch.testing.assert_close(x.grad, -torch.sigmoid(x.detach()) / 4, rtol=1e-12, atol=0)
    assert abs(x.grad[0].item()) < 1e-40  # rejected fakes get no signal


def test_nonsaturating_generator_gradient_tends_to_minus_one():
    x = torch.tensor([-100.0, -10.0, 0.0, 3.0], dtype=torch.float64, requires_grad=True)
    g_loss_nonsaturating(x).backward()
    # d/dx of softplus(-x) / B is -sigmoid(-x) / B.
    torch.testing.assert_close(x.grad, -torch.sigmoid(-x.detach()) / 4, rtol=1e-12, atol=0)
    assert x.grad[0].item() == -0.25  # full signal for rejected fakes


def test_d_loss_gradient_is_sigmoid_minus_label():
    real = torch.tensor([2.0, -1.0], dtype=torch.float64, requires_grad=True)
    fake = torch.tensor([0.5, 4.0, -3.0], dtype=torch.float64, requires_grad=True)
    d_loss_minimax(real, fake).backward()
    torch.testing.assert_close(real.grad, (torch.sigmoid(real.detach()) - 1) / 2)
    torch.testing.assert_close(fake.grad, torch.sigmoid(fake.detach()) / 3)


# ---------------------------------------------------------------- Wasserstein losses


def test_critic_loss_is_mean_fake_minus_mean_real():
    real = torch.tensor([1.0, 2.0, 6.0])
    fake = torch.tensor([[-1.0], [0.0]])  # (B, 1) and a different batch size
    assert critic_loss(real, fake).item() == -0.5 - 3.0


def test_g_loss_wasserstein_is_minus_mean_fake():
    assert g_loss_wasserstein(torch.tensor([[1.0], [2.0], [-6.0]])).item() == 1.0


def test_wasserstein_losses_gradients():
    real = torch.tensor([1.0, 2.0], requires_grad=True)
    fake = torch.tensor([3.0, 4.0, 5.0, 6.0], requires_grad=True)
    critic_loss(real, fake).backward()
    assert real.grad.tolist() == [-0.5, -0.5]
    assert fake.grad.tolist() == [0.25] * 4
    fake.grad = None
    g_loss_wasserstein(fake).backward()
    assert fake.grad.tolist() == [-0.25] * 4


@settings(max_examples=50, deadline=None)
@given(
    real=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=8),
    fake=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=8),
    shift=st.floats(-1e3, 1e3),
)
def test_critic_loss_ignores_a_constant_shift_and_is_antisymmetric(real, fake, shift):
    r = torch.tensor(real, dtype=torch.float64)
    f = torch.tensor(fake, dtype=torch.float64)
    loss = critic_loss(r, f).item()
    assert close(critic_loss(r + shift, f + shift).item(), loss, abs_=1e-9)
    assert close(critic_loss(f, r).item(), -loss, abs_=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-30, 30), min_size=1, max_size=8))
def test_minimax_loss_matches_float64_log_sigmoid(values):
    x = torch.tensor(values, dtype=torch.float64)
    expected = -torch.log(torch.sigmoid(x)).mean() - torch.log(torch.sigmoid(-x)).mean()
    assert close(d_loss_minimax(x, x).item(), expected.item(), rel=1e-12)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda bad: d_loss_minimax(bad, torch.zeros(2)), "real_logits"),
        (lambda bad: d_loss_minimax(torch.zeros(2), bad), "fake_logits"),
        (lambda bad: g_loss_saturating(bad), "fake_logits"),
        (lambda bad: g_loss_nonsaturating(bad), "fake_logits"),
        (lambda bad: critic_loss(bad, torch.zeros(2)), "real_scores"),
        (lambda bad: critic_loss(torch.zeros(2), bad), "fake_scores"),
        (lambda bad: g_loss_wasserstein(bad), "fake_scores"),
    ],
)
def test_bad_shapes_name_the_argument(call, name):
    with pytest.raises(GankitError, match=rf"^{name} must have shape \(B,\) or \(B, 1\), got"):
        call(torch.zeros(4, 2))
    with pytest.raises(GankitError, match=rf"^{name} must have shape .* got \(\)"):
        call(torch.tensor(0.0))
    with pytest.raises(GankitError, match=rf"^{name} must hold at least one score"):
        call(torch.zeros(0))


def test_non_tensor_and_integer_input_are_refused():
    with pytest.raises(GankitError, match="^fake_logits must be a torch.Tensor, got list"):
        g_loss_nonsaturating([0.0, 1.0])  # type: ignore[arg-type]
    with pytest.raises(GankitError, match="^real_scores must be a floating-point tensor.*int64"):
        critic_loss(torch.tensor([1, 2]), torch.zeros(2))


def test_losses_are_gankit_errors_and_value_errors():
    with pytest.raises(ValueError):
        g_loss_wasserstein(torch.zeros(2, 2))


def test_large_logits_keep_their_exp_minus_x_term_in_float64():
    # F.softplus would return 30 here (its threshold is 20) and lose exp(-30) ≈ 9.4e-14.
    x = torch.tensor([30.0], dtype=torch.float64)
    assert g_loss_saturating(x).item() == -(30.0 + math.log1p(math.exp(-30.0)))
    assert g_loss_nonsaturating(-x).item() == 30.0 + math.log1p(math.exp(-30.0))


# ---------------------------------------------------------------- relativistic pairing (RpGAN)


def test_relativistic_losses_by_hand_values():
    real = torch.tensor([2.0, 0.0], dtype=torch.float64)
    fake = torch.tensor([0.0, 1.0], dtype=torch.float64)
    # D: softplus(-(2 - 0)) and softplus(-(0 - 1)) = log(1 + e^-2), log(1 + e)
    d_by_hand = (math.log1p(math.exp(-2.0)) + math.log1p(math.e)) / 2
    # G: softplus(-(0 - 2)) and softplus(-(1 - 0)) = log(1 + e^2), log(1 + e^-1)
    g_by_hand = (math.log1p(math.exp(2.0)) + math.log1p(math.exp(-1.0))) / 2
    assert close(d_loss_relativistic(real, fake).item(), d_by_hand)
    assert close(g_loss_relativistic(real, fake).item(), g_by_hand)


def test_relativistic_losses_pair_i_with_i_and_ignore_a_shift_of_the_scores():
    real = torch.tensor([3.0, -1.0], dtype=torch.float64)
    fake = torch.tensor([1.0, 2.0], dtype=torch.float64)
    paired = d_loss_relativistic(real, fake).item()
    assert not close(paired, d_loss_relativistic(real, fake.flip(0)).item())  # not all pairs
    assert close(paired, d_loss_relativistic(real + 7, fake + 7).item())
    assert close(g_loss_relativistic(real, fake).item(), d_loss_relativistic(fake, real).item())


def test_relativistic_losses_refuse_batches_of_different_sizes():
    with pytest.raises(GankitError, match="pair real and fake samples one to one; got 3 real"):
        d_loss_relativistic(torch.zeros(3), torch.zeros(2))
