"""Toy-set metrics: mode coverage, high-quality fraction, reverse KL of modes, evaluate_toy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gankit.data import make_toy
from gankit.errors import GankitError
from gankit.metrics import HIGH_QUALITY_STDS, evaluate_toy, mode_stats

SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # 4 modes, 1 apart
DESIGN_TOY_KEYS = {
    "modes_total",
    "modes_covered",
    "high_quality_fraction",
    "reverse_kl_modes",
    "w1",
    "sliced_w1",
    "n",
}


def test_all_samples_at_one_centre_cover_one_mode_with_kl_log_m():
    samples = np.repeat(SQUARE[2:3], 10, axis=0)
    stats = mode_stats(samples, SQUARE, 0.05)
    assert stats == {
        "modes_total": 4,
        "modes_covered": 1,
        "high_quality_fraction": 1.0,
        "reverse_kl_modes": pytest.approx(math.log(4), abs=1e-12),
        "mode_counts": [0, 0, 10, 0],
    }


def test_an_equal_split_has_zero_reverse_kl():
    samples = np.repeat(SQUARE, 3, axis=0) + 0.01
    stats = mode_stats(samples, SQUARE, 0.05)
    assert stats["mode_counts"] == [3, 3, 3, 3]
    assert stats["modes_covered"] == 4
    assert stats["reverse_kl_modes"] == pytest.approx(0.0, abs=1e-12)


def test_reverse_kl_is_the_hand_computed_kl_to_uniform():
    # counts 3, 1, 0, 0 over 4 modes: q = (3/4, 1/4, 0, 0), KL(q ‖ u) = Σ q log(4 q)
    samples = np.array([[0.0, 0.0], [0.02, 0.0], [0.0, -0.03], [1.0, 0.04]])
    stats = mode_stats(samples, SQUARE, 0.05)
    expected = 0.75 * math.log(3.0) + 0.25 * math.log(1.0)
    assert stats["mode_counts"] == [3, 1, 0, 0]
    assert stats["modes_covered"] == 2
    assert stats["reverse_kl_modes"] == pytest.approx(expected, rel=1e-12)


def test_samples_far_from_every_centre_are_low_quality_and_kl_is_log_m():
    samples = np.array([[5.0, 5.0], [-3.0, 0.5], [0.5, 0.5]])  # (0.5, 0.5): 0.71 from each
    stats = mode_stats(samples, SQUARE, 0.05)
    assert stats["high_quality_fraction"] == 0.0
    assert stats["modes_covered"] == 0
    assert stats["mode_counts"] == [0, 0, 0, 0]
    # documented choice: the empty histogram reports the supremum log m, finite (valid JSON)
    assert stats["reverse_kl_modes"] == math.log(4)


def test_high_quality_means_within_three_std_inclusive():
    centres = np.array([[0.0], [100.0]])
    samples = np.array([3.0, -3.0, 3.0001, 97.5])
    stats = mode_stats(samples, centres, 1.0)
    assert HIGH_QUALITY_STDS == 3.0
    assert stats["mode_counts"] == [2, 1]
    assert stats["high_quality_fraction"] == 0.75


def test_low_quality_samples_do_not_count_for_any_mode():
    # half the samples sit on mode 0, half far away but nearest to mode 1
    samples = np.array([[0.0, 0.0]] * 5 + [[1.5, 0.0]] * 5)
    stats = mode_stats(samples, SQUARE, 0.05)
    assert stats["high_quality_fraction"] == 0.5
    assert stats["mode_counts"] == [5, 0, 0, 0]
    assert stats["reverse_kl_modes"] == pytest.approx(math.log(4), abs=1e-12)


def test_one_dimensional_inputs_may_be_flat():
    flat = mode_stats(np.array([-2.0, -2.1, 2.0]), np.array([-2.0, 2.0]), 0.5)
    column = mode_stats(np.array([[-2.0], [-2.1], [2.0]]), np.array([[-2.0], [2.0]]), 0.5)
    assert flat == column
    assert flat["mode_counts"] == [2, 1]


def test_torch_samples_are_accepted():
    stats = mode_stats(torch.zeros(4, 2), SQUARE, 0.05)
    assert stats["mode_counts"] == [4, 0, 0, 0]


@pytest.mark.parametrize(
    ("samples", "centres", "std", "message"),
    [
        (np.zeros((3, 2)), np.zeros((2, 1)), 0.1, r"same dimension, got 2 and 1"),
        (np.zeros((3, 2)), SQUARE, 0.0, r"std must be > 0, got 0.0"),
        (np.zeros((3, 2)), SQUARE, -1.0, r"std must be > 0, got -1.0"),
        (np.array([[np.nan, 0.0]]), SQUARE, 0.1, r"samples contains NaN"),
        (np.zeros((0, 2)), SQUARE, 0.1, r"samples must hold at least one sample"),
        (np.zeros((3, 2)), np.zeros((0, 2)), 0.1, r"centres must hold at least one sample"),
        (np.zeros((3, 2, 1)), SQUARE, 0.1, r"samples must have shape \(n,\) or \(n, d\)"),
    ],
)
def test_mode_stats_rejects_bad_input(samples, centres, std, message):
    with pytest.raises(GankitError, match=message):
        mode_stats(samples, centres, std)


@settings(max_examples=50, deadline=None)
@given(
    labels=st.lists(st.integers(min_value=-1, max_value=3), min_size=1, max_size=40),
    jitter=st.floats(min_value=-0.1, max_value=0.1),
)
def test_mode_stats_laws(labels, jitter):
    # label k >= 0: centre k moved by (jitter, jitter), within 3 std; -1: far from every centre
    samples = np.array([SQUARE[k] + jitter if k >= 0 else [9.0, 9.0] for k in labels])
    stats = mode_stats(samples, SQUARE, 0.1)
    counts = np.bincount([k for k in labels if k >= 0], minlength=4)
    assert stats["mode_counts"] == counts.tolist()
    assert stats["modes_covered"] == np.count_nonzero(counts)
    assert stats["high_quality_fraction"] == pytest.approx(counts.sum() / len(labels))
    assert -1e-12 <= stats["reverse_kl_modes"] <= math.log(4) + 1e-12


@pytest.mark.parametrize(
    ("spec", "min_quality"),
    [
        ("ring", 0.985),  # 2-D normal within 3σ: 1 − e^{−4.5} ≈ 0.989
        ("grid", 0.985),
        ("gmm1d", 0.996),  # 1-D normal within 3σ: 0.9973
        ("uniform1d", 1.0),  # half-width √3 σ < 3σ
        ("segments", 1.0),  # every segment point within 1.5σ of a centre
        ("swissroll", 0.97),
        ("swissroll:noise=0", 1.0),
    ],
)
def test_real_samples_score_as_a_perfect_generator(spec, min_quality):
    toy = make_toy(spec)
    n = 20_000
    samples = toy.sample(n, torch.Generator().manual_seed(1)).numpy()
    stats = mode_stats(samples, toy.centres, toy.std)
    m = stats["modes_total"]
    assert stats["modes_covered"] == m
    assert stats["high_quality_fraction"] >= min_quality
    # a uniform histogram of n draws has E KL ≈ (m − 1)/(2n); equal-mass swiss-roll centres
    # keep it there, equal arc-length centres would give ≈ 0.05
    assert stats["reverse_kl_modes"] < 3 * (m - 1) / (2 * n) + 1e-3


def test_a_collapsed_ring_generator_scores_as_collapsed():
    ring = make_toy("ring")
    real = ring.sample(4000, torch.Generator().manual_seed(2)).numpy()
    collapsed = real[np.linalg.norm(real - ring.centres[0], axis=1) < 0.1]
    stats = mode_stats(collapsed, ring.centres, ring.std)
    assert stats["modes_covered"] == 1
    assert stats["reverse_kl_modes"] == pytest.approx(math.log(8))


# --- evaluate_toy (needs gankit.wasserstein) ---------------------------------------------------


def test_evaluate_toy_reports_the_design_keys_and_exact_w1():
    pytest.importorskip("gankit.wasserstein")
    ot = pytest.importorskip("ot")
    ring = make_toy("ring")
    fake = ring.sample(300, torch.Generator().manual_seed(3)).numpy() * 1.1
    real = ring.sample(300, torch.Generator().manual_seed(4)).numpy()
    result = evaluate_toy(fake, ring, real)
    assert set(result) == DESIGN_TOY_KEYS | {"mode_counts"}
    cost = ot.dist(fake.astype(np.float64), real.astype(np.float64), metric="euclidean")
    expected_w1 = ot.emd2(np.full(300, 1 / 300), np.full(300, 1 / 300), cost)
    assert result["w1"] == pytest.approx(expected_w1, rel=1e-9)
    assert 0 < result["sliced_w1"] <= result["w1"] + 1e-9  # projections are 1-Lipschitz
    assert result["n"] == 300
    stats = mode_stats(fake, ring.centres, ring.std)
    assert {k: result[k] for k in stats} == stats
    for key in ("modes_total", "modes_covered", "n"):
        assert type(result[key]) is int
    for key in ("high_quality_fraction", "reverse_kl_modes", "w1", "sliced_w1"):
        assert type(result[key]) is float


def test_evaluate_toy_on_a_1d_set_and_shifted_samples():
    pytest.importorskip("gankit.wasserstein")
    toy = make_toy("uniform1d")
    real = toy.sample(200, torch.Generator().manual_seed(5))
    # translating every sample by 0.5 moves the empirical measure by exactly 0.5 in W1
    result = evaluate_toy(real + 0.5, toy, real)
    assert result["w1"] == pytest.approx(0.5, rel=1e-6)
    assert result["sliced_w1"] == pytest.approx(0.5, rel=1e-6)
    assert result["modes_total"] == 1 and result["modes_covered"] == 1


def test_evaluate_toy_checks_dimensions():
    ring = make_toy("ring")
    real = np.zeros((5, 2))
    with pytest.raises(GankitError, match=r"samples must have dimension 2 for ring, got 1"):
        evaluate_toy(np.zeros(5), ring, real)
    with pytest.raises(GankitError, match=r"real must have dimension 2 for ring, got 3"):
        evaluate_toy(real, ring, np.zeros((5, 3)))
