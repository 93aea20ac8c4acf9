"""Class-conditional runs: labelled data, conditional networks (class embedding, projection
critic), training, resume, sampling by class, the conditional scores, and their bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gankit import api
from gankit.cli import main
from gankit.data import make_data
from gankit.data.images import ImageSet
from gankit.errors import GankitError
from gankit.lipschitz import gradient_penalty
from gankit.metrics.classifier import load_classifier, predict
from gankit.metrics.conditional import class_accuracy, fd_within_classes
from gankit.metrics.images import frechet_distance
from gankit.models import ConvCritic, ConvGenerator, MLPCritic, MLPGenerator
from gankit.models.classes import ClassBatchNorm
from gankit.training.configure import resolve
from gankit.training.state import STREAMS
from gankit.training.step import WithLabels
from tests.conftest import straight_and_resumed

TOY = {
    "data": "ring:modes=4",
    "width": 32,
    "depth": 2,
    "batch_size": 32,
    "precision": "fp32",
    "device": "cpu",
    "log_every": 5,
    "sample_every": 10**6,
    "conditional": True,
}
DIGITS = {
    "data": "digits",
    "width": 8,
    "batch_size": 16,
    "latent_dim": 8,
    "precision": "fp32",
    "device": "cpu",
    "log_every": 2,
    "sample_every": 4,
    "conditional": True,
}


def _quiet(*_: object) -> None:
    pass


# --- labelled data ------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["ring:modes=5", "grid:side=3", "gmm1d:means=-4;0;4,std=0.3"])
def test_toy_classes_are_the_modes_their_samples_come_from(spec):
    data = make_data(spec)
    x, k = data.sample_labelled(4000, torch.Generator().manual_seed(1))
    assert data.n_classes == len(data.centres) and k.dtype == torch.int64
    nearest = torch.cdist(x.double(), torch.as_tensor(data.centres)).argmin(dim=1)
    assert torch.equal(nearest, k)  # the modes lie far apart next to their std
    assert set(k.tolist()) == set(range(data.n_classes))
    plain = data.sample(4000, torch.Generator().manual_seed(1))
    assert torch.equal(plain, x)  # the same draws as an unconditional run's


def test_sets_without_modes_have_no_classes():
    for spec in ("swissroll", "uniform1d", "segments"):
        data = make_data(spec)
        assert data.n_classes == 0
        with pytest.raises(GankitError, match="no modes"):
            data.sample_labelled(3, torch.Generator())


def test_image_labels_belong_to_the_images_drawn():
    images = torch.arange(6.0).reshape(6, 1, 1, 1).expand(6, 1, 8, 8) / 6  # image i holds i/6
    labels = np.array([0, 1, 2, 0, 1, 2])
    data = ImageSet("toyimages", images.contiguous(), labels)
    x, k = data.sample_labelled(50, torch.Generator().manual_seed(0))
    which = torch.round(x[:, 0, 0, 0] * 6).long()
    assert torch.equal(k, torch.as_tensor(labels)[which])
    assert torch.equal(data.sample(50, torch.Generator().manual_seed(0)), x)


def test_stacked_mnist_labels_are_the_triples_of_its_channels():
    data = make_data("stackedmnist")
    x, k = data.sample_labelled(20, torch.Generator().manual_seed(3))
    mnist = make_data("mnist5k")
    for image, triple in zip(x, k.tolist(), strict=True):
        digits = []
        for channel in image:  # find each channel's digit in the set
            match = (mnist.images[:, 0] == channel).flatten(1).all(dim=1).nonzero()[0, 0]
            digits.append(int(mnist.labels[match]))
        assert triple == 100 * digits[0] + 10 * digits[1] + digits[2]


def test_npy_labels_are_read_and_checked(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (12, 8, 8), dtype=np.uint8)
    np.save(tmp_path / "x.npy", images)
    np.save(tmp_path / "y.npy", np.arange(12) % 3)
    data = make_data(f"npy:{tmp_path / 'x.npy'},labels={tmp_path / 'y.npy'}")
    assert data.n_classes == 3 and data.labels.tolist() == (np.arange(12) % 3).tolist()
    assert make_data(data.spec).fingerprint == data.fingerprint  # the spec reads back
    assert make_data(f"npy:{tmp_path / 'x.npy'}").labels is None
    np.save(tmp_path / "short.npy", np.arange(11))
    np.save(tmp_path / "float.npy", np.arange(12) / 2)
    np.save(tmp_path / "negative.npy", np.arange(12) - 1)
    for name, message in [
        ("short", "labels hold 11 entries but the array holds 12 images"),
        ("float", "labels must be a 1-D array of integers"),
        ("negative", "labels must be >= 0, got -1"),
        ("missing", "does not exist"),
    ]:
        with pytest.raises(GankitError, match=message):
            make_data(f"npy:{tmp_path / 'x.npy'},labels={tmp_path / name}.npy")
    with pytest.raises(GankitError, match="unknown key.*'label'.*accepted: size, labels"):
        make_data(f"npy:{tmp_path / 'x.npy'},label={tmp_path / 'y.npy'}")


# --- networks -------------------------------------------------------------------------------


def test_the_projection_critic_adds_the_class_vector_dotted_with_the_features():
    torch.manual_seed(0)
    for critic, x in [
        (ConvCritic((1, 16, 16), width=4, norm="layer", n_classes=3), torch.randn(5, 1, 16, 16)),
        (MLPCritic(2, width=8, depth=2, n_classes=3), torch.randn(5, 2)),
    ]:
        y = torch.tensor([0, 1, 2, 1, 0])
        layers = critic.layers if isinstance(critic, ConvCritic) else critic.net.layers
        # Computed here from the layers: the unconditional score and the features.
        phi = layers[:-1](x)  # the flattened last feature map, or the last hidden layer
        psi = layers[-1](phi).squeeze(-1)
        v = critic.projection.vectors.weight
        expected = psi + torch.stack([v[label] @ phi[i] for i, label in enumerate(y.tolist())])
        torch.testing.assert_close(critic(x, y), expected)
        assert not torch.allclose(critic(x, y), critic(x, (y + 1) % 3))  # the class matters


def test_the_conditional_generator_reads_its_class():
    torch.manual_seed(0)
    for generator in (
        ConvGenerator(6, (1, 16, 16), width=4, n_classes=4),  # with a 2-D batch norm
        MLPGenerator(3, 2, width=8, depth=2, n_classes=4),
    ):
        generator.eval()
        z = torch.randn(1, generator.latent_dim).expand(4, -1)  # one noise, four classes
        out = generator(z, torch.arange(4)).flatten(1)
        assert torch.cdist(out, out).triu(1)[torch.triu(torch.ones(4, 4), 1).bool()].min() > 0
        # Row 1 of a batch of class 0 is row 0 above: equal up to rounding (a matrix product's
        # rows may be summed in a different order on some CPUs).
        again = generator(z, torch.zeros(4, dtype=torch.long)).flatten(1)[1]
        torch.testing.assert_close(again, out[0], rtol=1e-5, atol=1e-6)
        assert type(generator)(**generator.config).config == generator.config


def test_class_batch_norm_is_batch_norm_then_each_class_gain_and_bias():
    torch.manual_seed(0)
    norm = ClassBatchNorm(3, 2, dims=2)
    with torch.no_grad():
        norm.gain.weight.copy_(torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]))
        norm.bias.weight.copy_(torch.tensor([[0.0, 1.0, 0.0], [-1.0, 0.0, 1.0]]))
    h, y = torch.randn(4, 3, 5, 5) * 3 + 1, torch.tensor([0, 1, 1, 0])
    mean = h.mean(dim=(0, 2, 3), keepdim=True)
    var = h.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    plain = (h - mean) / torch.sqrt(var + 1e-5)  # BN by its formula, batch statistics
    gain, bias = norm.gain.weight[y][:, :, None, None], norm.bias.weight[y][:, :, None, None]
    torch.testing.assert_close(norm(h, y), gain * plain + bias)


def test_networks_refuse_missing_or_unexpected_labels():
    conditional = MLPCritic(2, width=8, depth=1, n_classes=3)
    plain = MLPCritic(2, width=8, depth=1)
    x = torch.zeros(4, 2)
    with pytest.raises(GankitError, match="conditional .3 classes.: give labels"):
        conditional(x)
    with pytest.raises(GankitError, match="unconditional: it takes no labels"):
        plain(x, torch.zeros(4, dtype=torch.long))
    with pytest.raises(GankitError, match=r"labels must be integers of shape \(4,\)"):
        conditional(x, torch.zeros(3, dtype=torch.long))
    with pytest.raises(GankitError, match="labels must be integers"):
        conditional(x, torch.zeros(4))


def test_the_penalty_of_a_conditional_critic_differentiates_it_at_each_images_class():
    torch.manual_seed(0)
    critic = MLPCritic(2, width=16, depth=2, n_classes=3)
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    labels = torch.tensor([0, 1, 2, 2, 1, 0])
    got = gradient_penalty(WithLabels(critic, labels), real, fake, 10.0, rng=torch.Generator())
    # Independently: the same interpolates, the input gradient of critic(x, labels).
    eps = torch.rand(6, 1, generator=torch.Generator())
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x, labels).sum(), x)
    expected = 10.0 * ((grad.norm(dim=1) - 1) ** 2).mean()
    torch.testing.assert_close(got, expected)


# --- training ----------------------------------------------------------------------------------


def test_a_conditional_toy_run_draws_the_mode_it_is_asked_for(tmp_path):
    run = api.train(
        "nsgan", out=tmp_path / "ring", steps=400, seed=0, progress=False, log=None, **TOY
    )
    scores = run.evaluate(progress=False, log=None)
    assert scores["class_accuracy"] >= 0.95 and scores["class_accuracy_worst"] >= 0.9, scores
    centres = make_data(run.config.data).centres
    for k in range(4):  # checked here too: the samples of class k sit nearest centre k
        points = run.sample(200, seed=1, label=k)
        nearest = ((points[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        assert (nearest == k).mean() >= 0.9
    assert (
        json.loads((tmp_path / "ring" / "eval.json").read_text())["class_accuracy"]
        == (scores["class_accuracy"])
    )


@pytest.mark.parametrize("recipe", ["wgan-gp", "r3gan"])
def test_a_conditional_run_resumes_bit_identically(tmp_path, recipe):
    straight = resolve(recipe, {**TOY, "steps": 10, "ema_decay": 0.9})
    half = resolve(recipe, {**TOY, "steps": 5, "ema_decay": 0.9})
    a, b = straight_and_resumed(straight, half, tmp_path)
    assert a["step"] == b["step"] == 10 and a["config"]["conditional"] is True
    for part in ("generator", "critic", "ema"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), (part, key)
    assert "projection.vectors.weight" in a["critic"] and "embed.weight" in a["generator"]
    for name in STREAMS:
        assert torch.equal(a["streams"][name], b["streams"][name])


def test_a_conditional_image_run_samples_by_class_and_is_scored_per_class(tmp_path, capsys):
    out = tmp_path / "digits"
    run = api.train(None, out=out, steps=8, seed=0, progress=False, log=None, **DIGITS)
    with Image.open(sorted((out / "samples").glob("step_*.png"))[-1]) as grid:
        assert grid.size[1] > grid.size[0]  # one row of 8 per class: 10 rows
    assert (
        main(["sample", str(out), "--class", "3", "--n", "6", "--out", str(tmp_path / "3.npy")])
        == 0
    )
    threes = np.load(tmp_path / "3.npy")
    assert threes.shape == (6, 1, 8, 8)
    assert np.array_equal(threes, run.sample(6, label=3))
    assert (
        main(["sample", str(out), "--class", "all", "--n", "2", "--out", str(tmp_path / "all.npy")])
        == 0
    )
    every = np.load(tmp_path / "all.npy")
    assert every.shape == (20, 1, 8, 8)
    z = torch.randn(20, 8, generator=torch.Generator().manual_seed(0))[6:8]  # class 3's rows
    with torch.no_grad():
        threes = run.generator(z, torch.full((2,), 3)).numpy()
    assert np.allclose(every[6:8], threes, atol=1e-6)
    assert main(["sample", str(out), "--class", "all", "--out", str(tmp_path / "all.png")]) == 0
    assert "10 samples of each class" in capsys.readouterr().err
    # The scores, against the classifier and FD computed here from their parts.
    scores = run.evaluate(n=1000, progress=False, log=None)
    data = make_data("digits")
    net, _ = load_classifier(data, log=_quiet, progress=False)
    from gankit.metrics.classifier import features
    from gankit.runs import LABEL_SEED_OFFSET

    asked = data.draw_labels(1000, torch.Generator().manual_seed(LABEL_SEED_OFFSET))
    images = torch.from_numpy(run.sample(1000))  # the same classes, drawn as the data holds them
    hits = [(predict(net, images)[asked.numpy() == k] == k).mean() for k in range(10)]
    assert scores["class_accuracy_per_class"] == pytest.approx(hits)
    assert scores["class_accuracy"] == pytest.approx(np.mean(hits))
    fake_k = features(net, images)[asked.numpy() == 0]
    real_k = features(net, data.images)[data.labels == 0]
    assert scores["fd_within_class_per_class"][0] == pytest.approx(frechet_distance(fake_k, real_k))
    assert scores["fd_within_class_worst"] == max(scores["fd_within_class_per_class"])


def test_the_conditional_scores_from_their_definitions():
    assert class_accuracy([1, 1, 0, 0], [1, 1, 1, 0], 2) == {
        "class_accuracy": (1.0 + 2 / 3) / 2,
        "class_accuracy_worst": 2 / 3,
        "class_accuracy_per_class": [1.0, 2 / 3],
    }
    rng = np.random.default_rng(0)
    fake, real = rng.normal(size=(120, 3)), rng.normal(size=(200, 3)) + 1.0
    fake_k, real_k = np.arange(120) % 2, np.arange(200) % 2
    scores = fd_within_classes(fake, fake_k, real, real_k, 3, min_samples=50)
    assert scores["fd_within_class_per_class"][2] is None  # no samples of class 2
    first = frechet_distance(fake[fake_k == 0], real[real_k == 0])
    assert scores["fd_within_class_per_class"][0] == pytest.approx(first)
    assert 2.5 < first < 3.5  # the means are 1 apart in each of 3 dimensions


# --- bad input --------------------------------------------------------------------------------


def test_bad_conditional_input_exits_2_with_one_line(tmp_path, capsys):
    plain = tmp_path / "plain"
    api.train(
        "nsgan", out=plain, steps=2, progress=False, log=None, **{**TOY, "conditional": False}
    )
    cond = tmp_path / "cond"
    api.train("nsgan", out=cond, steps=2, progress=False, log=None, **TOY)
    cases = [
        (
            ["train", "--data", "swissroll", "--conditional", "--out", str(tmp_path / "a")],
            "conditional needs a labelled data set, and 'swissroll",
        ),
        (
            ["sample", str(plain), "--class", "1", "--out", str(tmp_path / "s.npy")],
            "--class 1 needs a conditional run",
        ),
        (
            ["sample", str(cond), "--class", "4", "--out", str(tmp_path / "s.npy")],
            "--class must be a class 0..3 of this run or all, got 4",
        ),
        (
            ["sample", str(cond), "--class", "seven", "--out", str(tmp_path / "s.npy")],
            "expected a class index >= 0 or all, got 'seven'",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "a").exists()  # refused before any folder was made
    np.save(tmp_path / "x.npy", np.zeros((4, 8, 8), dtype=np.uint8))
    assert (
        main(
            [
                "train",
                "--data",
                f"npy:{tmp_path / 'x.npy'}",
                "--conditional",
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 2
    )
    assert "has no labels" in capsys.readouterr().err
