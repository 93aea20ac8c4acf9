"""MLP generators and critics: architecture, shapes, rebuilding from config, bad arguments."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.lipschitz import gradient_penalty
from gankit.models import MLP, MLPCritic, MLPGenerator


def layers_of(net: nn.Module, kind: type[nn.Module]) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, kind)]


def test_width_512_depth_3_is_the_wgan_gp_toy_network():
    # gan_toy.py: Linear(2, 512), ReLU, 2 × (Linear(512, 512), ReLU), Linear(512, 2).
    net = MLP(2, 2, width=512, depth=3)
    linears = layers_of(net, nn.Linear)
    assert [(m.in_features, m.out_features) for m in linears] == [
        (2, 512),
        (512, 512),
        (512, 512),
        (512, 2),
    ]
    assert len(layers_of(net, nn.ReLU)) == 3
    assert layers_of(net, nn.LayerNorm) == [] and layers_of(net, nn.BatchNorm1d) == []
    assert isinstance(list(net.layers)[-1], nn.Linear)  # linear output, no final activation
    n_params = (2 * 512 + 512) + 2 * (512 * 512 + 512) + (512 * 2 + 2)
    assert sum(p.numel() for p in net.parameters()) == n_params == 527_874


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_depth_and_width(depth):
    net = MLP(3, 4, width=7, depth=depth)
    widths = [(m.in_features, m.out_features) for m in layers_of(net, nn.Linear)]
    assert widths == [(3, 7)] + [(7, 7)] * (depth - 1) + [(7, 4)]
    expected = (3 * 7 + 7) + (depth - 1) * (7 * 7 + 7) + (7 * 4 + 4)
    assert sum(p.numel() for p in net.parameters()) == expected


@pytest.mark.parametrize(
    "name, kind",
    [
        ("relu", nn.ReLU),
        ("leaky_relu", nn.LeakyReLU),
        ("elu", nn.ELU),
        ("tanh", nn.Tanh),
        ("gelu", nn.GELU),
        ("silu", nn.SiLU),
    ],
)
def test_activations(name, kind):
    net = MLP(2, 1, width=4, depth=2, activation=name)
    assert len(layers_of(net, kind)) == 2
    assert net.activation == name


def test_leaky_relu_slope_is_0_2():
    (act,) = layers_of(MLP(2, 1, width=4, depth=1, activation="leaky_relu"), nn.LeakyReLU)
    assert act(torch.tensor([-1.0], dtype=torch.float64)).item() == -0.2


@pytest.mark.parametrize("norm, kind", [("layer", nn.LayerNorm), ("batch", nn.BatchNorm1d)])
def test_norm_before_each_activation(norm, kind):
    net = MLP(2, 1, width=4, depth=3, norm=norm)
    kinds = [type(m) for m in net.layers]
    assert kinds == [nn.Linear, kind, nn.ReLU] * 3 + [nn.Linear]
    assert all(m.normalized_shape == (4,) for m in layers_of(net, nn.LayerNorm))


def test_generator_maps_noise_to_samples():
    g = MLPGenerator(3, 2, width=16, depth=2)
    assert (g.latent_dim, g.data_dim) == (3, 2)
    assert g(torch.randn(10, 3)).shape == (10, 2)


def test_critic_returns_one_score_per_sample():
    f = MLPCritic(2, width=16, depth=3)
    assert f.data_dim == 2
    assert f(torch.randn(10, 2)).shape == (10,)
    assert f(torch.randn(1, 2)).shape == (1,)  # a batch of one keeps its batch axis


def test_networks_rebuild_from_their_config():
    g = MLPGenerator(4, 3, width=8, depth=2, activation="elu", norm="layer")
    f = MLPCritic(3, width=8, depth=1, activation="silu")
    assert g.config == {
        "latent_dim": 4,
        "data_dim": 3,
        "width": 8,
        "depth": 2,
        "activation": "elu",
        "norm": "layer",
    }
    for net, cls in [(g, MLPGenerator), (f, MLPCritic)]:
        rebuilt = cls(**net.config)
        rebuilt.load_state_dict(net.state_dict())  # same keys and shapes, strict
        x = torch.randn(5, 4 if cls is MLPGenerator else 3)
        assert torch.equal(rebuilt(x), net(x))


def test_penalty_accepts_a_plain_critic_and_refuses_a_batch_norm_one():
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    assert torch.isfinite(gradient_penalty(MLPCritic(2, width=8, depth=2), real, fake))
    with pytest.raises(GankitError, match="without batch norm"):
        gradient_penalty(MLPCritic(2, width=8, depth=2, norm="batch"), real, fake)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"in_dim": 0}, "^in_dim must be an integer >= 1, got 0"),
        ({"out_dim": 2.0}, "^out_dim must be an integer >= 1, got 2.0"),
        ({"width": 0}, "^width must be an integer >= 1, got 0"),
        ({"depth": 0}, "^depth must be an integer >= 1, got 0"),
        ({"depth": True}, "^depth must be an integer >= 1, got True"),
        (
            {"activation": "sigmoid"},
            "^activation must be one of 'relu', 'leaky_relu', 'elu', 'tanh', 'gelu', 'silu', "
            "got 'sigmoid'",
        ),
        ({"norm": "group"}, "^norm must be one of None, 'layer', 'batch', got 'group'"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = {"in_dim": 2, "out_dim": 1, "width": 4, "depth": 2, **kwargs}
    with pytest.raises(GankitError, match=message):
        MLP(args.pop("in_dim"), args.pop("out_dim"), **args)


def test_wrapped_networks_validate_their_dimensions():
    with pytest.raises(GankitError, match="^latent_dim must be an integer >= 1, got -1"):
        MLPGenerator(-1, 2, width=4, depth=1)
    with pytest.raises(GankitError, match="^activation must be one of"):
        MLPCritic(2, width=4, depth=1, activation="swish")


def test_wrong_input_shape_is_named():
    with pytest.raises(GankitError, match=r"^z must have shape \(B, 3\), got \(10, 2\)"):
        MLPGenerator(3, 2, width=4, depth=1)(torch.randn(10, 2))
    with pytest.raises(GankitError, match=r"^x must have shape \(B, 2\), got \(2,\)"):
        MLPCritic(2, width=4, depth=1)(torch.randn(2))


def test_width_and_depth_are_always_given():
    with pytest.raises(TypeError, match="width"):
        MLP(2, 1, depth=2)  # type: ignore[call-arg]


def test_standing_statistics_never_touch_the_generator_they_copy():
    from gankit.models.standing import standing_statistics

    plain = MLPGenerator(2, 2, width=4, depth=1)
    copy = standing_statistics(plain, 2)
    assert copy is not plain and plain.training and not copy.training
    with torch.no_grad():
        next(copy.parameters()).add_(1.0)  # the copy's weights are its own
    assert not torch.equal(next(copy.parameters()), next(plain.parameters()))
    normed = MLPGenerator(2, 2, width=4, depth=1, norm="batch")
    measured = standing_statistics(normed, 2)
    assert normed.training and not measured.training
    norm = [m for m in normed.modules() if isinstance(m, nn.BatchNorm1d)][0]
    assert norm.num_batches_tracked.item() == 0  # the original's statistics are untouched
