"""Weight clipping and the WGAN-GP gradient penalty against closed forms."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.lipschitz import clip_weights, gradient_penalty, input_gradient_norm
from tests.conftest import close

F64 = torch.float64


def linear_critic(w: list[float]) -> nn.Linear:
    """f(x) = w·x + 1: its input gradient is w at every x."""
    layer = nn.Linear(len(w), 1).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([w], dtype=F64))
        layer.bias.fill_(1.0)
    return layer


def batch(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def squared_norm(x: torch.Tensor) -> torch.Tensor:
    """f(x) = ‖x‖², per sample: ∇f(x) = 2x, so ‖∇f(x̂)‖ = 2‖x̂‖ depends on the interpolate."""
    return x.flatten(1).pow(2).sum(dim=1)


# ---------------------------------------------------------------- gradient penalty: values


def test_penalty_is_zero_for_a_unit_slope_linear_critic():
    real, fake = batch(16, 3, seed=1), batch(16, 3, seed=2)
    assert gradient_penalty(linear_critic([0.0, 1.0, 0.0]), real, fake).item() == 0.0
    w = [0.48, 0.6, 0.64]  # ‖w‖ = 1 up to rounding
    assert gradient_penalty(linear_critic(w), real, fake).item() < 1e-28


@pytest.mark.parametrize("weight", [10.0, 0.1, 0.0])
def test_penalty_of_a_linear_critic_is_weight_times_slope_minus_one_squared(weight):
    real, fake = batch(32, 2, seed=3), batch(32, 2, seed=4)
    penalty = gradient_penalty(linear_critic([3.0, 4.0]), real, fake, weight=weight)
    assert close(penalty.item(), weight * (5.0 - 1.0) ** 2, rel=1e-14)


def test_default_weight_is_ten():
    real, fake = batch(4, 2, seed=5), batch(4, 2, seed=6)
    assert gradient_penalty(linear_critic([0.0, 2.0]), real, fake).item() == 10.0


@pytest.mark.parametrize("target", [0.5, 2.0, 5.0])
def test_penalty_with_a_target_norm_is_weight_times_slope_minus_target_squared(target):
    real, fake = batch(32, 2, seed=7), batch(32, 2, seed=8)
    penalty = gradient_penalty(linear_critic([3.0, 4.0]), real, fake, weight=2.0, target=target)
    assert close(penalty.item(), 2.0 * (5.0 - target) ** 2, rel=1e-14)


def test_default_target_is_one():
    real, fake = batch(8, 2, seed=9), batch(8, 2, seed=10)
    critic = linear_critic([0.0, 3.0])
    assert gradient_penalty(critic, real, fake, target=1.0).item() == 40.0  # 10 · (3 - 1)²
    assert gradient_penalty(critic, real, fake).item() == 40.0


@pytest.mark.parametrize("target", [0.0, -1.0, float("nan")])
def test_bad_target_is_refused(target):
    with pytest.raises(GankitError, match="^target must be"):
        gradient_penalty(squared_norm, torch.randn(4, 2), torch.randn(4, 2), target=target)


def test_penalty_on_images_with_a_flatten_linear_critic():
    c, h, w = 3, 4, 5
    critic = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, 1)).double()
    with torch.no_grad():
        critic[1].weight.fill_(0.5)  # ‖w‖ = 0.5·√60
    real, fake = batch(6, c, h, w, seed=7), batch(6, c, h, w, seed=8)
    expected = 2.0 * (0.5 * math.sqrt(60) - 1) ** 2
    assert close(gradient_penalty(critic, real, fake, weight=2.0).item(), expected, rel=1e-12)


def test_penalty_on_images_with_a_conv_critic():
    # A kernel as large as the image is a linear map: its input gradient is the kernel.
    c, h, w = 2, 3, 3
    critic = nn.Sequential(nn.Conv2d(c, 1, kernel_size=(h, w)), nn.Flatten()).double()
    kernel = batch(1, c, h, w, seed=9)
    with torch.no_grad():
        critic[0].weight.copy_(kernel)
    real, fake = batch(5, c, h, w, seed=10), batch(5, c, h, w, seed=11)
    expected = 10.0 * (kernel.norm().item() - 1) ** 2
    assert close(gradient_penalty(critic, real, fake).item(), expected, rel=1e-12)


@pytest.mark.parametrize("shape", [(7, 3), (7, 2, 3, 3)])
def test_penalty_uses_one_epsilon_per_sample_from_the_generator(shape):
    real, fake = batch(*shape, seed=12), batch(*shape, seed=13)
    penalty = gradient_penalty(
        squared_norm, real, fake, weight=0.5, rng=torch.Generator().manual_seed(99)
    )
    # The same draw, by reseeding: ε has shape (B, 1, ..., 1), uniform on [0, 1).
    eps_shape = (shape[0],) + (1,) * (len(shape) - 1)
    eps = torch.rand(eps_shape, generator=torch.Generator().manual_seed(99), dtype=F64)
    x_hat = eps * real + (1 - eps) * fake
    expected = 0.5 * ((2 * x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert close(penalty.item(), expected.item(), rel=1e-12)


def test_penalty_is_reproducible_with_a_seeded_generator_and_varies_with_the_seed():
    real, fake = batch(8, 2, seed=14), batch(8, 2, seed=15)

    def penalty(seed: int) -> float:
        gen = torch.Generator().manual_seed(seed)
        return gradient_penalty(squared_norm, real, fake, rng=gen).item()

    assert penalty(1) == penalty(1)
    assert penalty(1) != penalty(2)


def test_penalty_uses_the_default_generator_when_none_is_given():
    real, fake = batch(8, 2, seed=16), batch(8, 2, seed=17)
    torch.manual_seed(5)
    first = gradient_penalty(squared_norm, real, fake).item()
    torch.manual_seed(5)
    assert gradient_penalty(squared_norm, real, fake).item() == first


def test_penalty_in_float32():
    critic = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]]))
    penalty = gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2))
    assert penalty.dtype == torch.float32
    assert penalty.item() == 160.0


# ---------------------------------------------------------------- gradient penalty: gradients


def test_penalty_gradient_reaches_the_critic_parameters():
    # GP(w) = λ(‖w‖ - 1)², so ∂GP/∂w = 2λ(‖w‖ - 1)·w/‖w‖ = 2·10·4·(0.6, 0.8) = (48, 64).
    critic = linear_critic([3.0, 4.0])
    gradient_penalty(critic, batch(8, 2, seed=18), batch(8, 2, seed=19)).backward()
    torch.testing.assert_close(critic.weight.grad, torch.tensor([[48.0, 64.0]], dtype=F64))
    assert critic.bias.grad is None  # the input gradient w does not depend on the bias


def test_penalty_sends_no_gradient_to_the_generator_or_the_data():
    generator = nn.Linear(2, 2).double()
    real = batch(8, 2, seed=20).requires_grad_(True)
    fake = generator(batch(8, 2, seed=21))
    # f = ‖x‖² has input gradient 2x̂: without the detach, GP would depend on the generator.
    gradient_penalty(squared_norm, real, fake).backward()
    assert all(p.grad is None for p in generator.parameters())
    assert real.grad is None


def test_penalty_gradient_is_finite_where_the_input_gradient_is_zero():
    # At ‖∇f‖ = 0 the norm is not differentiable; torch's norm backward gives 0 there.
    critic = linear_critic([0.0, 0.0])
    penalty = gradient_penalty(critic, batch(4, 2, seed=22), batch(4, 2, seed=23))
    penalty.backward()
    assert penalty.item() == 10.0
    assert torch.isfinite(critic.weight.grad).all()


# ---------------------------------------------------------------- gradient penalty: bad input


def test_batch_norm_critic_is_refused():
    critic = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    with pytest.raises(
        GankitError, match=r"without batch norm, found BatchNorm1d at '1'.*layer norm"
    ):
        gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2))


def test_layer_norm_critic_is_accepted():
    critic = nn.Sequential(nn.Linear(2, 8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8, 1))
    penalty = gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2))
    assert penalty.shape == () and torch.isfinite(penalty)


def test_mismatched_shapes_are_refused():
    with pytest.raises(GankitError, match=r"^real and fake must have the same shape, got \(4, 2\)"):
        gradient_penalty(squared_norm, torch.randn(4, 2), torch.randn(3, 2))


def test_inputs_without_a_feature_axis_are_refused():
    with pytest.raises(GankitError, match=r"^real must have shape \(B, \.\.\.\).*use \(B, 1\)"):
        gradient_penalty(squared_norm, torch.randn(4), torch.randn(4))


def test_negative_weight_is_refused():
    with pytest.raises(GankitError, match="^weight must be >= 0, got -1.0"):
        gradient_penalty(squared_norm, torch.randn(4, 2), torch.randn(4, 2), weight=-1.0)


def test_integer_inputs_are_refused():
    with pytest.raises(GankitError, match="^fake must be a floating-point tensor, got dtype"):
        gradient_penalty(squared_norm, torch.randn(4, 2), torch.ones(4, 2, dtype=torch.long))


def test_critic_with_more_than_one_output_per_sample_is_refused():
    with pytest.raises(GankitError, match=r"^critic output must have shape \(B,\) or \(B, 1\)"):
        gradient_penalty(nn.Linear(2, 3), torch.randn(4, 2), torch.randn(4, 2))


# ---------------------------------------------------------------- input_gradient_norm


def test_input_gradient_norm_is_per_sample():
    x = batch(5, 3, seed=24)
    torch.testing.assert_close(input_gradient_norm(squared_norm, x), 2 * x.norm(dim=1))


def test_input_gradient_norm_keeps_no_graph_and_touches_no_parameter():
    critic = linear_critic([3.0, 4.0])
    x = batch(3, 2, seed=25)
    with torch.no_grad():
        norms = input_gradient_norm(critic, x)
    assert norms.tolist() == [5.0, 5.0, 5.0]
    assert not norms.requires_grad and not x.requires_grad
    assert critic.weight.grad is None


# ---------------------------------------------------------------- weight clipping


def test_clip_weights_bounds_every_parameter_and_keeps_those_inside():
    net = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.linspace(-1, 1, p.numel()).reshape(p.shape))
    before = [p.detach().clone() for p in net.parameters()]
    clip_weights(net, 0.25)
    for old, new in zip(before, net.parameters(), strict=True):
        assert new.abs().max().item() <= 0.25
        inside = old.abs() <= 0.25
        assert torch.equal(new[inside], old[inside])  # untouched, bit for bit
        assert torch.equal(new[~inside], 0.25 * old[~inside].sign())
        assert new.requires_grad and new.grad_fn is None  # still trainable leaves


def test_clip_weights_leaves_buffers_alone():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    clip_weights(net, 0.01)
    assert net[1].running_var.tolist() == [1.0, 1.0]
    assert torch.equal(net[1].weight.detach(), torch.full((2,), 0.01))


@pytest.mark.parametrize("c", [0, -0.01, float("nan"), "0.01"])
def test_clip_weights_refuses_a_bad_bound(c):
    with pytest.raises(GankitError, match="^c must be"):
        clip_weights(nn.Linear(2, 1), c)


def test_clip_weights_refuses_a_non_module():
    with pytest.raises(GankitError, match="^module must be a torch.nn.Module, got Tensor"):
        clip_weights(torch.zeros(3), 0.01)  # type: ignore[arg-type]


# --- constant activation masks in the penalties' backward -----------------------------------


def _penalty_by_hand(critic, real, fake, seed):
    """WGAN-GP written out with plain autograd (the same ε draws as gradient_penalty)."""
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    eps = torch.rand(shape, generator=torch.Generator().manual_seed(seed))
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return 10.0 * ((grad.float().flatten(1).norm(dim=1) - 1) ** 2).mean()


def _parameter_gradients(critic, penalty):
    critic.zero_grad(set_to_none=True)
    penalty.backward()
    return [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in critic.parameters()]


def _critics():
    from gankit.models.conv import ConvCritic
    from gankit.models.mlp import MLPCritic

    return [
        (MLPCritic(2, width=32, depth=3), (16, 2)),
        (MLPCritic(2, width=32, depth=3, activation="leaky_relu"), (16, 2)),
        (MLPCritic(2, width=32, depth=2, activation="elu"), (16, 2)),  # not piecewise linear
        (MLPCritic(2, width=32, depth=2, norm="layer"), (16, 2)),
        (ConvCritic((1, 16, 16), width=8, norm="layer"), (8, 1, 16, 16)),
    ]


@pytest.mark.parametrize("dtype", [None, torch.bfloat16])
def test_penalty_gradients_are_those_of_plain_autograd_bit_for_bit(dtype):
    torch.manual_seed(0)
    for critic, shape in _critics():
        real, fake = torch.randn(shape), torch.randn(shape)
        with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            ours = gradient_penalty(critic, real, fake, 10.0, rng=torch.Generator().manual_seed(3))
            theirs = _penalty_by_hand(critic, real, fake, 3)
        assert torch.equal(ours.detach(), theirs.detach())
        ours_grads = _parameter_gradients(critic, ours)
        for a, b in zip(ours_grads, _parameter_gradients(critic, theirs), strict=True):
            assert torch.equal(a, b)
        assert not any(m._forward_hooks for m in critic.modules())  # the masks are gone after


def _matrix_products_in(fn) -> int:
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.n += func in (torch.ops.aten.mm.default, torch.ops.aten.addmm.default)
            return func(*args, **(kwargs or {}))

    with Count():
        fn()
    return Count.n


def test_the_penalty_backward_skips_the_pass_back_through_the_forward_of_the_masks():
    from gankit.models.mlp import MLPCritic

    torch.manual_seed(0)
    critic = MLPCritic(2, width=32, depth=3)
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    ours = gradient_penalty(critic, real, fake, 10.0, rng=torch.Generator().manual_seed(3))
    theirs = _penalty_by_hand(critic, real, fake, 3)
    # Plain autograd carries the masks' zero derivatives back through each of the 3 hidden
    # layers: a weight gradient and an input gradient each (the first layer's reaches x̂).
    assert _matrix_products_in(theirs.backward) - _matrix_products_in(ours.backward) == 6
