"""Stacked MNIST: the data set, its triple labels, the mode protocol of ``gankit eval``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy import stats

from gankit.cli import main
from gankit.data import make_data
from gankit.data.stacked import StackedMnist
from gankit.errors import GankitError
from gankit.metrics import classifier as classifier_module
from gankit.metrics import evaluate_stacked, mode_statistics
from gankit.runs import eval_samples
from gankit.training.configure import resolve
from gankit.training.recipes import RECIPES
from gankit.training.state import build_models
from tests.conftest import straight_and_resumed

TINY = {
    "data": "stackedmnist",
    "width": 8,
    "latent_dim": 8,
    "batch_size": 16,
    "log_every": 1,
    "sample_every": 2,
    "checkpoint_every": 2,
    "precision": "fp32",
    "device": "cpu",
}


def independent_kl(counts: np.ndarray) -> float:
    """KL(p ‖ uniform) of a histogram, by scipy's relative entropy."""
    return float(stats.entropy(counts, np.ones(len(counts))))


def triples_of(data: StackedMnist, n: int, seed: int) -> np.ndarray:
    """The triple labels of ``n`` real stacks, drawn 5,000 at a time (images are 9.4 KB)."""
    rng = torch.Generator().manual_seed(seed)
    parts = [data.draw(min(5000, n - start), rng)[1] for start in range(0, n, 5000)]
    return np.concatenate(parts)


# --- the data set ----------------------------------------------------------------------------


def test_each_channel_is_a_source_digit_and_the_label_is_its_triple():
    data = make_data("stackedmnist")
    assert isinstance(data, StackedMnist)
    assert data.shape == (3, 28, 28) and data.n_classes == 1000
    label_of = {
        digit.numpy().tobytes(): int(y) for digit, y in zip(data.images, data.labels, strict=True)
    }
    images, labels = data.draw(64, torch.Generator().manual_seed(3))
    assert images.shape == (64, 3, 28, 28) and images.dtype == torch.float32
    for image, label in zip(images, labels, strict=True):
        r, g, b = (label_of[image[c : c + 1].numpy().tobytes()] for c in range(3))
        assert label == 100 * r + 10 * g + b
    assert len(set(labels.tolist())) > 50  # distinct stacks, not one digit copied three times


def test_channels_are_independent_and_uniform():
    triples = triples_of(make_data("stackedmnist"), 50_000, seed=0)
    digits = np.stack([triples // 100, triples // 10 % 10, triples % 10], axis=1)
    for channel in range(3):  # each channel uniform over the 10 digits
        counts = np.bincount(digits[:, channel], minlength=10)
        assert stats.chisquare(counts).pvalue > 1e-3, counts
    for a, b in ((0, 1), (0, 2), (1, 2)):  # each pair independent: 10 × 10 contingency table
        table = np.zeros((10, 10))
        np.add.at(table, (digits[:, a], digits[:, b]), 1)
        assert stats.chi2_contingency(table).pvalue > 1e-3
    assert stats.chisquare(np.bincount(triples, minlength=1000)).pvalue > 1e-3  # all 1,000


def test_sampling_uses_only_the_given_stream():
    data = make_data("stackedmnist")
    before = torch.get_rng_state()
    a = data.sample(8, torch.Generator().manual_seed(5))
    b = data.sample(8, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("spec", ["stackedmnist:n=100", "stackedmnist:seed=1"])
def test_unknown_keys_exit_2_naming_the_key(tmp_path, capsys, spec):
    code = main(["train", "--data", spec, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    key = spec.split(":")[1].split("=")[0]
    assert code == 2 and err.count("\n") == 1 and f"'{key}'" in err and "accepted: none" in err
    assert not (tmp_path / "o").exists()


# --- the protocol ----------------------------------------------------------------------------


def test_mode_statistics_on_constructed_histograms():
    every = mode_statistics(np.arange(1000))
    assert every == {"modes_covered": 1000, "modes_total": 1000, "reverse_kl_modes": 0.0}
    one = mode_statistics(np.full(26_000, 421))
    assert one["modes_covered"] == 1 and math.isclose(one["reverse_kl_modes"], math.log(1000))
    rng = np.random.default_rng(0)
    skewed = rng.choice(1000, size=5000, p=rng.dirichlet(np.full(1000, 0.3)))
    counts = np.bincount(skewed, minlength=1000)
    result = mode_statistics(skewed)
    assert result["modes_covered"] == np.count_nonzero(counts)
    assert math.isclose(result["reverse_kl_modes"], independent_kl(counts), rel_tol=1e-12)


def test_a_perfect_generator_scores_the_multinomial_kl_of_26000_draws():
    """E KL(multinomial(N, u) / N ‖ u) ≈ (K − 1) / (2N) = 0.0192 at N = 26,000, K = 1,000."""
    rng = np.random.default_rng(1)
    simulated = [independent_kl(rng.multinomial(26_000, np.full(1000, 1e-3))) for _ in range(200)]
    expected, spread = float(np.mean(simulated)), float(np.std(simulated))
    assert abs(expected - 999 / 52_000) < 0.001
    uniform = [
        mode_statistics(rng.integers(0, 1000, 26_000))["reverse_kl_modes"] for _ in range(50)
    ]
    assert abs(np.mean(uniform) - expected) < 4 * spread / math.sqrt(50)
    real = mode_statistics(triples_of(make_data("stackedmnist"), 26_000, seed=2))
    assert real["modes_covered"] == 1000
    assert abs(real["reverse_kl_modes"] - expected) < 4 * spread


class LevelReader(torch.nn.Module):
    """A stand-in classifier: the digit of a flat image of value ``-1 + 2d/9`` is ``d``."""

    levels = torch.linspace(-1, 1, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2, 3))[:, None]

    def head(self, hidden: torch.Tensor) -> torch.Tensor:
        return -((hidden - self.levels) ** 2)


def test_evaluate_counts_the_triples_the_classifier_reads(monkeypatch):
    monkeypatch.setattr(classifier_module, "load_classifier", lambda *a, **k: (LevelReader(), 0.5))
    rng = np.random.default_rng(4)
    digits = rng.integers(0, 10, (3000, 3))
    digits[:, 0] = rng.integers(0, 3, 3000)  # red holds 0..2 only: 300 triples at most
    flat = torch.linspace(-1, 1, 10)[torch.from_numpy(digits)]  # (3000, 3)
    samples = flat[:, :, None, None].expand(3000, 3, 28, 28).contiguous()
    result = evaluate_stacked(samples, make_data("stackedmnist"), log=lambda _: None)
    triples = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    counts = np.bincount(triples, minlength=1000)
    assert result["modes_covered"] == len(np.unique(triples)) <= 300
    assert result["modes_total"] == 1000 and result["n"] == 3000
    assert math.isclose(result["reverse_kl_modes"], independent_kl(counts), rel_tol=1e-12)
    assert result["classifier_accuracy"] == 0.5 and result["fid_features"] > 0
    with pytest.raises(GankitError, match="features 'inception' is not offered"):
        evaluate_stacked(samples, make_data("stackedmnist"), features="inception")


# --- training and eval -----------------------------------------------------------------------


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_every_recipe_builds_networks_for_three_channel_28_pixel_images(recipe):
    config = resolve(recipe, flag_values=TINY)
    generator, critic = build_models(config, make_data("stackedmnist").shape)
    fake = generator(torch.randn(4, config.latent_dim))
    assert fake.shape == (4, 3, 28, 28) and critic(fake).shape[0] == 4


def test_a_stacked_run_resumes_bit_identically(tmp_path):
    straight = resolve("nsgan", flag_values={**TINY, "steps": 4})
    half = resolve("nsgan", flag_values={**TINY, "steps": 2})
    a, b = straight_and_resumed(straight, half, tmp_path)
    for part in ("generator", "critic"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), (part, key)


def test_eval_of_a_stacked_run_uses_the_sets_sample_count(tmp_path, capsys, monkeypatch):
    assert eval_samples(make_data("stackedmnist")) == 26_000
    assert eval_samples(make_data("ring")) == eval_samples(make_data("mnist5k")) == 2000
    monkeypatch.setattr(classifier_module, "load_classifier", lambda *a, **k: (LevelReader(), 0.5))
    monkeypatch.setattr(StackedMnist, "eval_samples", 300)
    run = tmp_path / "run"
    flags = ["--width", "8", "--latent-dim", "8", "--batch-size", "16", "--precision", "fp32"]
    assert main(["train", "--data", "stackedmnist", "--steps", "2", "--out", str(run), *flags]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 300 and result["modes_total"] == 1000
    assert 1 <= result["modes_covered"] <= 300 and 0 <= result["reverse_kl_modes"] <= math.log(1000)
    assert result["classifier_accuracy"] == 0.5 and result["data"] == "stackedmnist"
    assert json.loads((run / "eval.json").read_text()) == result


def test_shifted_moves_each_image_by_at_most_two_pixels_over_background():
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.uniform(-0.9, 1, (40, 1, 6, 6)).astype(np.float32))
    moved = classifier_module.shifted(images, 2, torch.Generator().manual_seed(0))
    offsets = set()
    for before, after in zip(images.numpy(), moved.numpy(), strict=True):
        padded = np.pad(before[0], 2, constant_values=-1.0)
        matches = [
            (dy, dx)
            for dy in range(5)
            for dx in range(5)
            if np.array_equal(padded[dy : dy + 6, dx : dx + 6], after[0])
        ]
        assert len(matches) == 1
        offsets.add(matches[0])
    assert len(offsets) > 10  # each image its own shift


def test_a_classifier_cached_by_an_older_version_is_not_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    digits = make_data("digits")
    net = classifier_module.Classifier(digits.shape, 10)
    monkeypatch.setattr(classifier_module, "_fit", lambda *_: (net, 0.5))  # a training
    old = tmp_path / "classifiers" / f"{digits.fingerprint}-v1-s0.pt"
    old.parent.mkdir()
    torch.save({"weights": net.state_dict(), "accuracy": 0.123}, old)
    _, accuracy = classifier_module.load_classifier(digits, progress=False)
    assert classifier_module.VERSION >= 2 and accuracy == 0.5
