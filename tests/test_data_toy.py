"""Toy data sets and data specs: parsing, defaults, centres, sampling laws, densities."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.integrate import quad
from scipy.spatial import KDTree

from gankit.data import (
    TOY_SETS,
    GaussianMixture1D,
    Grid,
    Ring,
    Segments,
    SwissRoll,
    Uniform1D,
    format_spec,
    is_toy_spec,
    make_toy,
    parse_spec,
)
from gankit.errors import GankitError

DEFAULT_SPECS = {
    "ring": "ring:modes=8,radius=2.0,std=0.02",
    "grid": "grid:side=5,spacing=2.0,std=0.05",
    "swissroll": "swissroll:noise=0.25,scale=7.5",
    "uniform1d": "uniform1d:low=0.0,high=1.0",
    "gmm1d": "gmm1d:means=-2.0;2.0,std=0.5;0.5,weights=1.0;1.0",
    "segments": "segments:theta=0.0",
}


def draw(spec: str, n: int, seed: int = 0) -> np.ndarray:
    return make_toy(spec).sample(n, torch.Generator().manual_seed(seed)).double().numpy()


def within_binomial(count: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    """``count`` of ``n`` draws is within ``sigmas`` binomial standard errors of ``n p``."""
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


# --- parse_spec --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ring", ("ring", {})),
        ("ring:modes=8", ("ring", {"modes": "8"})),
        ("ring:modes=8,radius=2,std=0.02", ("ring", {"modes": "8", "radius": "2", "std": "0.02"})),
        (" ring : modes = 8 , std=0.1 ", ("ring", {"modes": "8", "std": "0.1"})),
        ("gmm1d:means=-2;2", ("gmm1d", {"means": "-2;2"})),
        ("npy:path=/a:b=c", ("npy", {"path": "/a:b=c"})),
    ],
)
def test_parse_spec_splits_name_and_params(text, expected):
    assert parse_spec(text) == expected


def test_parse_spec_keeps_the_given_key_order():
    assert list(parse_spec("ring:std=1,modes=3")[1]) == ["std", "modes"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"data spec '' has an empty name"),
        ("  ", r"data spec '  ' has an empty name"),
        (":modes=8", r"data spec ':modes=8' has an empty name; expected NAME or NAME:key=value"),
        ("ring:modes", r"data spec 'ring:modes': parameter 'modes' has no '='"),
        ("ring:modes=8,std", r"parameter 'std' has no '='; expected key=value"),
        ("ring:=8", r"data spec 'ring:=8': parameter '=8' has an empty key"),
        ("ring:modes=", r"data spec 'ring:modes=': key 'modes' has an empty value"),
        ("ring:modes=8,modes=9", r"data spec 'ring:modes=8,modes=9' gives key 'modes' twice"),
        ("ring:modes=8,", r"data spec 'ring:modes=8,' has an empty parameter"),
        ("ring:", r"data spec 'ring:' has an empty parameter \(a stray ',' or ':'\)"),
        ("ring:modes=8,,std=1", r"has an empty parameter"),
    ],
)
def test_parse_spec_rejects_malformed_specs(text, message):
    with pytest.raises(ValueError, match=message):
        parse_spec(text)


def test_parse_spec_rejects_non_strings_with_gankit_error():
    with pytest.raises(GankitError, match=r"data spec must be a string .*, got 8"):
        parse_spec(8)  # type: ignore[arg-type]


def test_format_spec_is_read_back_by_parse_spec():
    text = format_spec("gmm1d", {"means": (-2.0, 0.5), "std": (0.25,), "side": 3, "x": 1e-05})
    assert text == "gmm1d:means=-2.0;0.5,std=0.25,side=3,x=1e-05"
    assert parse_spec(text) == (
        "gmm1d",
        {"means": "-2.0;0.5", "std": "0.25", "side": "3", "x": "1e-05"},
    )


# --- make_toy: names, keys, values -----------------------------------------------------------


@pytest.mark.parametrize(("name", "canonical"), DEFAULT_SPECS.items())
def test_defaults_resolve_to_the_canonical_spec(name, canonical):
    assert make_toy(name).spec == canonical


@pytest.mark.parametrize(
    "spec",
    [
        *DEFAULT_SPECS,
        "ring:modes=3,radius=1,std=0.5",
        "grid:side=1",
        "swissroll:noise=0,scale=2",
        "uniform1d:low=-1.5,high=1e-3",
        "gmm1d:means=-1;0;4,std=0.5;1;2,weights=1;2;3",
        "gmm1d:means=0.1,std=0.3,weights=0.7",
        "segments:theta=-0.3",
    ],
)
def test_make_toy_of_its_own_spec_is_the_same_set(spec):
    toy = make_toy(spec)
    again = make_toy(toy.spec)
    assert again == toy
    assert again.spec == toy.spec


def test_spec_values_are_converted_by_type():
    ring = make_toy("ring:modes=3,radius=1,std=1e-1")
    assert ring == Ring(modes=3, radius=1.0, std=0.1)
    assert isinstance(ring.modes, int) and isinstance(ring.radius, float)
    gmm = make_toy("gmm1d:means=-1;1,std=0.25")
    assert gmm.means == (-1.0, 1.0) and gmm.stds == (0.25, 0.25)


def test_direct_construction_resolves_like_a_spec():
    assert Ring(radius=2) == make_toy("ring")
    assert GaussianMixture1D(means=[-2, 2], stds=0.5) == make_toy("gmm1d")


def test_unknown_name_lists_known_names():
    known = ", ".join(sorted(TOY_SETS))
    with pytest.raises(ValueError, match=rf"unknown toy data set 'rng'; known: {known}$"):
        make_toy("rng:modes=3")


def test_unknown_key_lists_accepted_keys():
    with pytest.raises(
        ValueError,
        match=r"data spec 'ring:mode=3': unknown key 'mode' for ring; "
        r"accepted keys: modes, radius, std$",
    ):
        make_toy("ring:mode=3")
    with pytest.raises(ValueError, match=r"unknown keys 'a', 'b' for gmm1d; accepted keys: means"):
        make_toy("gmm1d:a=1,b=2")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "ring:modes=eight",
            r"data spec 'ring:modes=eight': modes must be an integer, got 'eight'",
        ),
        ("ring:modes=8.0", r"modes must be an integer, got '8.0'"),
        ("ring:std=abc", r"std must be a number, got 'abc'"),
        ("gmm1d:means=-2;x", r"means must be numbers separated by ';', got '-2;x'"),
        ("gmm1d:means=-2;;2", r"means must be numbers separated by ';', got '-2;;2'"),
    ],
)
def test_values_that_do_not_parse_name_key_and_value(spec, message):
    with pytest.raises(ValueError, match=message):
        make_toy(spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("ring:std=0", r"data spec 'ring:std=0': std must be > 0, got 0.0"),
        ("ring:std=-1", r"std must be > 0, got -1.0"),
        ("ring:std=nan", r"std must be a finite number, got nan"),
        ("ring:radius=inf", r"radius must be a finite number, got inf"),
        ("ring:modes=0", r"modes must be an integer >= 1, got 0"),
        ("ring:radius=0", r"radius must be > 0, got 0.0"),
        ("grid:side=0", r"side must be an integer >= 1, got 0"),
        ("grid:spacing=-2", r"spacing must be > 0, got -2.0"),
        ("grid:std=0", r"std must be > 0, got 0.0"),
        ("swissroll:noise=-0.1", r"noise must be >= 0, got -0.1"),
        ("swissroll:scale=0", r"scale must be > 0, got 0.0"),
        ("uniform1d:low=1,high=1", r"high must be > low, got low=1.0, high=1.0"),
        ("uniform1d:high=-1", r"high must be > low, got low=0.0, high=-1.0"),
        ("uniform1d:low=nan", r"low must be a finite number, got nan"),
        ("gmm1d:std=0", r"std must be > 0, got 0.0"),
        ("gmm1d:std=0.5;-1", r"std\[1\] must be > 0, got -1.0"),
        ("gmm1d:std=1;2;3", r"std must hold 1 value or one per mean \(2\), got 3"),
        ("gmm1d:weights=1;0", r"weights\[1\] must be > 0, got 0.0"),
        ("gmm1d:weights=-1;2", r"weights\[0\] must be > 0, got -1.0"),
        ("gmm1d:weights=1", r"weights must hold one value per mean \(2\), got 1"),
        ("gmm1d:means=0;inf", r"means\[1\] must be a finite number, got inf"),
        ("segments:theta=nan", r"theta must be a finite number, got nan"),
    ],
)
def test_impossible_values_say_what_was_expected(spec, message):
    with pytest.raises(GankitError, match=message):
        make_toy(spec)


def test_direct_construction_validates_too():
    with pytest.raises(GankitError, match=r"^std must be > 0, got 0.0$"):
        Ring(std=0.0)
    with pytest.raises(GankitError, match=r"means must hold at least one number"):
        GaussianMixture1D(means=())
    with pytest.raises(GankitError, match=r"modes must be an integer >= 1, got 2.5"):
        Ring(modes=2.5)  # type: ignore[arg-type]


def test_sets_are_frozen_and_hashable():
    ring = make_toy("ring")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ring.std = 1.0  # type: ignore[misc]
    assert len({ring, make_toy("ring:modes=8"), make_toy("grid")}) == 2


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("ring", True),
        ("ring:modes=4", True),
        ("gmm1d:means=0", True),
        ("swissroll:nonsense", True),  # the name decides; make_toy checks the rest
        ("mnist5k", False),
        ("folder:/data/faces", False),
        ("npy:/tmp/x.npy", False),
        ("", False),
        ("Ring", False),
    ],
)
def test_is_toy_spec_dispatches_on_the_name(spec, expected):
    assert is_toy_spec(spec) is expected


# --- centres and scoring scales ---------------------------------------------------------------


def test_ring_centres_sit_on_the_circle_at_equal_angles():
    centres = make_toy("ring:modes=6,radius=3").centres
    assert centres.shape == (6, 2)
    angles = 2 * np.pi * np.arange(6) / 6
    np.testing.assert_allclose(centres, 3 * np.c_[np.cos(angles), np.sin(angles)], atol=1e-12)


def test_grid_centres_are_the_centred_lattice():
    centres = make_toy("grid:side=3,spacing=1.5").centres
    expected = {(i * 1.5, j * 1.5) for i in (-1, 0, 1) for j in (-1, 0, 1)}
    assert centres.shape == (9, 2)
    assert {tuple(c) for c in centres} == expected
    assert make_toy("grid").centres.min() == -4.0 and make_toy("grid").centres.max() == 4.0


def test_one_dimensional_sets_have_column_centres_and_their_std():
    uniform = make_toy("uniform1d:low=-1,high=3")
    np.testing.assert_array_equal(uniform.centres, [[1.0]])
    assert uniform.std == pytest.approx(4 / math.sqrt(12))
    gmm = make_toy("gmm1d:means=-1;0;4,std=0.5;2;1")
    np.testing.assert_array_equal(gmm.centres, [[-1.0], [0.0], [4.0]])
    assert gmm.std == 2.0


def test_segments_centres_cover_the_segment_within_one_and_a_half_std():
    toy = make_toy("segments:theta=0.7")
    centres = toy.centres
    assert centres.shape == (20, 2)
    assert np.all(centres[:, 0] == 0.7)
    heights = np.linspace(0, 1, 10_001)
    gaps = np.abs(heights[:, None] - centres[None, :, 1]).min(axis=1)
    assert gaps.max() <= 1.5 * toy.std + 1e-12
    assert toy.std == pytest.approx(1 / 60)


@pytest.mark.parametrize("spec", ["swissroll", "swissroll:noise=0", "swissroll:noise=1,scale=3"])
def test_swissroll_centres_lie_on_the_curve_no_more_than_3_std_apart(spec):
    toy = make_toy(spec)
    scale = toy.scale
    centres = toy.centres * scale  # back to roll units, where |c| = t
    t = np.linalg.norm(centres, axis=1)
    np.testing.assert_allclose(centres, np.c_[t * np.cos(t), t * np.sin(t)], atol=1e-9)
    assert np.all(np.diff(t) > 0)
    # equal probability cells: the centres' t are the midpoints of equal steps of [1.5π, 4.5π]
    step = 3 * np.pi / len(t)
    np.testing.assert_allclose(t, 1.5 * np.pi + step * (np.arange(len(t)) + 0.5), atol=1e-9)
    assert np.linalg.norm(np.diff(toy.centres, axis=0), axis=1).max() <= 3 * toy.std


def test_swissroll_std_is_the_scaled_noise_with_a_floor():
    assert make_toy("swissroll").std == pytest.approx(0.25 / 7.5)
    assert make_toy("swissroll:noise=0").std == pytest.approx(0.15 / 7.5)
    assert len(make_toy("swissroll").centres) == 179


# --- sampling --------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", DEFAULT_SPECS)
def test_samples_have_shape_dtype_and_come_only_from_the_generator(spec):
    toy = make_toy(spec)
    torch.manual_seed(123)
    first = toy.sample(500, torch.Generator().manual_seed(7))
    torch.manual_seed(456)  # the global RNG must not matter
    second = toy.sample(500, torch.Generator().manual_seed(7))
    other = toy.sample(500, torch.Generator().manual_seed(8))
    assert first.shape == (500, toy.dim) and first.dtype == torch.float32
    assert torch.equal(first, second)
    assert not torch.equal(first, other)


@pytest.mark.parametrize("spec", DEFAULT_SPECS)
def test_sampling_resumes_from_the_generator_state(spec):
    toy = make_toy(spec)
    generator = torch.Generator().manual_seed(3)
    toy.sample(10, generator)
    state = generator.get_state()
    after = toy.sample(10, generator)
    resumed = toy.sample(10, torch.Generator().set_state(state))
    assert torch.equal(after, resumed)


def test_sample_rejects_bad_n_and_rng():
    ring = make_toy("ring")
    with pytest.raises(GankitError, match=r"n must be an integer >= 1, got 0"):
        ring.sample(0, torch.Generator())
    with pytest.raises(GankitError, match=r"rng must be a torch.Generator, got int"):
        ring.sample(10, 0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "spec", ["ring", "ring:modes=5,radius=1,std=0.1", "grid", "grid:side=2,std=0.2"]
)
def test_two_d_mixtures_have_equal_modes_and_isotropic_noise_of_std(spec):
    toy = make_toy(spec)
    n = 40_000
    x = draw(spec, n)
    centres = toy.centres
    # components are far apart (>= 10 std), so the nearest centre is the component drawn
    nearest = np.argmin(((x[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    offsets = x - centres[nearest]
    counts = np.bincount(nearest, minlength=len(centres))
    assert all(within_binomial(c, n, 1 / len(centres)) for c in counts)
    # sample std of n normals: relative standard error 1/sqrt(2n) ≈ 0.35 %; allow 2 %
    np.testing.assert_allclose(offsets.std(axis=0), toy.std, rtol=0.02)
    assert np.abs(offsets.mean(axis=0)).max() <= 5 * toy.std / math.sqrt(n)


def test_gmm1d_draws_components_by_weight_with_their_own_std():
    n = 40_000
    x = draw("gmm1d:means=-10;10,std=0.5;2,weights=1;3", n)[:, 0]
    right = x > 0
    assert within_binomial(int(right.sum()), n, 0.75)
    np.testing.assert_allclose([x[~right].std(), x[right].std()], [0.5, 2.0], rtol=0.03)
    np.testing.assert_allclose([x[~right].mean(), x[right].mean()], [-10, 10], atol=0.05)


def test_uniform1d_stays_in_its_interval_with_the_uniform_moments():
    n = 40_000
    x = draw("uniform1d:low=-1,high=3", n)[:, 0]
    assert x.min() >= -1 and x.max() <= 3
    std = 4 / math.sqrt(12)
    assert abs(x.mean() - 1) <= 5 * std / math.sqrt(n)
    assert x.std() == pytest.approx(std, rel=0.02)
    # Kolmogorov–Smirnov against U[-1, 3]; the seed is fixed, 1e-3 leaves room
    assert stats.kstest(x, stats.uniform(loc=-1, scale=4).cdf).pvalue > 1e-3


@pytest.mark.parametrize("theta", [0.0, 0.5, -1.25])
def test_segments_lie_exactly_on_their_vertical_line(theta):
    x = draw(f"segments:theta={theta}", 20_000)
    assert np.all(x[:, 0] == theta)
    assert x[:, 1].min() >= 0 and x[:, 1].max() <= 1
    assert abs(x[:, 1].mean() - 0.5) <= 5 / math.sqrt(12 * 20_000)


def test_swissroll_samples_are_the_scaled_noisy_roll():
    n = 40_000
    x = draw("swissroll", n) * 7.5  # roll units
    assert np.abs(x).max() < 16  # |(t cos t, t sin t)| = t <= 4.5π ≈ 14.1, plus noise
    # radius ≈ t ~ U[1.5π, 4.5π] up to the noise: mean 3π
    radius = np.linalg.norm(x, axis=1)
    assert abs(radius.mean() - 3 * np.pi) < 0.07  # 5 standard errors
    # distance to the noiseless roll = |noise component normal to the curve| (the curve is
    # nearly straight at the noise's scale): half-normal with σ = 0.25, mean σ √(2/π)
    t = np.linspace(1.5 * np.pi, 4.5 * np.pi, 20_000)
    curve = np.c_[t * np.cos(t), t * np.sin(t)]
    distance = KDTree(curve).query(x)[0]
    assert distance.mean() == pytest.approx(0.25 * math.sqrt(2 / math.pi), rel=0.03)


def test_samples_follow_the_generator_device():
    x = make_toy("ring").sample(4, torch.Generator(device="cpu").manual_seed(0))
    assert x.device.type == "cpu"


# --- densities -------------------------------------------------------------------------------


def test_ring_log_density_is_the_equal_mixture_of_isotropic_normals():
    toy = make_toy("ring:modes=4,radius=1,std=0.3")
    points = np.array([[0.0, 0.0], [1.0, 0.1], [-0.5, 2.0], [30.0, 30.0]])
    pdf = sum(stats.multivariate_normal(c, 0.09 * np.eye(2)).pdf(points[:3]) for c in toy.centres)
    np.testing.assert_allclose(toy.log_density(points[:3]), np.log(pdf / 4), rtol=1e-10)
    # far away every pdf underflows to 0; the log density stays finite and exact
    far = [stats.multivariate_normal(c, 0.09 * np.eye(2)).logpdf(points[3]) for c in toy.centres]
    assert toy.log_density(points[3:])[0] == pytest.approx(np.logaddexp.reduce(far) - math.log(4))


def test_grid_density_integrates_to_one():
    toy = make_toy("grid:side=2,spacing=1,std=0.4")
    axis = np.linspace(-4, 4, 401)
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    density = np.exp(toy.log_density(np.c_[xs.ravel(), ys.ravel()]))
    assert density.sum() * (axis[1] - axis[0]) ** 2 == pytest.approx(1.0, abs=1e-6)


def test_gmm1d_log_density_matches_scipy_and_integrates_to_one():
    toy = make_toy("gmm1d:means=-1;2,std=0.5;1,weights=1;3")
    x = np.linspace(-3, 5, 9)
    expected = np.log(0.25 * stats.norm(-1, 0.5).pdf(x) + 0.75 * stats.norm(2, 1).pdf(x))
    np.testing.assert_allclose(toy.log_density(x), expected, rtol=1e-12)
    total, _ = quad(lambda v: math.exp(toy.log_density(np.array([v]))[0]), -20, 20, limit=200)
    assert total == pytest.approx(1.0, abs=1e-8)


def test_uniform1d_log_density_is_flat_inside_and_minus_inf_outside():
    toy = make_toy("uniform1d:low=-1,high=3")
    values = toy.log_density(np.array([[-1.0], [0.0], [3.0], [3.01], [-2.0]]))
    np.testing.assert_array_equal(values, [-math.log(4)] * 3 + [-np.inf] * 2)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("swissroll", r"swissroll has no closed-form density"),
        ("segments", r"segments lies on a line segment in R²: it has no density"),
    ],
)
def test_sets_without_a_density_say_so(spec, message):
    with pytest.raises(NotImplementedError, match=message):
        make_toy(spec).log_density(np.zeros((3, 2)))


def test_log_density_checks_the_dimension():
    with pytest.raises(GankitError, match=r"x must have dimension 2 for ring, got 1"):
        make_toy("ring").log_density(np.zeros(5))
    with pytest.raises(GankitError, match=r"x contains NaN"):
        make_toy("gmm1d").log_density(np.array([0.0, np.nan]))


def test_classes_are_registered_under_their_names():
    assert TOY_SETS == {
        "ring": Ring,
        "grid": Grid,
        "swissroll": SwissRoll,
        "uniform1d": Uniform1D,
        "gmm1d": GaussianMixture1D,
        "segments": Segments,
    }
