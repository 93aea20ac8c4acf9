"""Image data, convolutional models, grids, the classifier and the image metrics."""

from __future__ import annotations

import json
import math

import numpy as np
import ot
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.data import ImageSet, make_data
from gankit.data.images import make_images
from gankit.errors import GankitError
from gankit.lipschitz import gradient_penalty
from gankit.metrics import (
    class_coverage,
    evaluate_images,
    frechet_distance,
    kernel_distance,
    precision_recall,
)
from gankit.metrics.classifier import cache_dir, load_classifier, predict
from gankit.models import ConvCritic, ConvGenerator
from gankit.models.conv import spatial_plan
from gankit.models.standing import BATCH_SIZE, BATCHES
from gankit.report.figures import write_snapshot
from gankit.report.grid import image_grid, save_grid
from gankit.runs import draw_samples, load_run
from gankit.training.configure import resolve
from gankit.training.launch import start_run
from gankit.training.recipes import RECIPES
from gankit.training.state import build_models, critic_norm
from gankit.wasserstein import gaussian_w2
from tests.conftest import close, straight_and_resumed

# --- data ----------------------------------------------------------------------------------


def _png(path, size=(12, 10), mode="L", value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = value if mode == "L" else (value, 0, 255 - value)
    Image.new(mode, size, colour).save(path)


def test_packaged_sets_load_with_labels_in_range():
    mnist = make_data("mnist5k")
    assert mnist.images.shape == (5000, 1, 28, 28) and mnist.n_classes == 10
    assert np.bincount(mnist.labels).tolist() == [500] * 10
    assert mnist.images.min() == -1 and mnist.images.max() == 1
    digits = make_data("digits")
    assert digits.shape == (1, 8, 8) and len(digits.images) == 1797 and digits.n_classes == 10
    with pytest.raises(GankitError, match="unknown key"):
        make_data("digits:size=8")


def test_folder_reads_grey_images_resized_and_cropped(tmp_path):
    for i in range(3):
        _png(tmp_path / f"{i}.png", size=(40, 20), value=60 * i)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    data = make_images(f"folder:{tmp_path},size=8")
    assert data.images.shape == (3, 1, 8, 8) and data.labels is None
    # value v in 0..255 is stored as v / 127.5 - 1
    assert torch.allclose(
        data.images[:, 0, 4, 4], torch.tensor([-1.0, 60 / 127.5 - 1, 120 / 127.5 - 1])
    )
    assert data.spec == f"folder:{tmp_path.resolve()},size=8,channels=1"
    assert make_images(data.spec).fingerprint == data.fingerprint  # the spec reads back


def test_folder_subfolders_are_classes_and_colour_is_kept(tmp_path):
    for label in ("cats", "dogs"):
        for i in range(2):
            _png(tmp_path / label / f"{i}.png", mode="RGB", value=100)
    data = make_images(f"folder:{tmp_path}")
    assert data.shape == (3, 32, 32) and data.labels.tolist() == [0, 0, 1, 1]


def test_folder_mixed_grey_and_colour_needs_a_choice(tmp_path):
    _png(tmp_path / "a.png", mode="L")
    _png(tmp_path / "b.png", mode="RGB")
    with pytest.raises(GankitError, match=r"mixes grey \(1\) and colour \(1\).*channels=1"):
        make_images(f"folder:{tmp_path}")
    assert make_images(f"folder:{tmp_path},channels=3").shape == (3, 32, 32)
    assert make_images(f"folder:{tmp_path},channels=1").shape == (1, 32, 32)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("folder:{tmp}/empty", "holds no readable image"),
        ("folder:{tmp}/missing", "does not exist or is not a folder"),
        ("folder:{tmp}/empty,size=30", "size must be one of"),
        ("folder:{tmp}/empty,colour=1", "unknown key"),
        ("npy:{tmp}/rank2.npy", r"rank 3 or 4\), got rank 2"),
        ("npy:{tmp}/channels.npy", "1 or 3 channels"),
        ("npy:{tmp}/range.npy", "must lie in"),
        ("npy:{tmp}/odd.npy", "give size="),
        ("npy:{tmp}/missing.npy", "does not exist"),
        ("npy:", "needs a path"),
    ],
)
def test_bad_image_sources_say_what_is_wrong(tmp_path, spec, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.png").write_bytes(b"junk")
    np.save(tmp_path / "rank2.npy", np.zeros((4, 8)))
    np.save(tmp_path / "channels.npy", np.zeros((4, 2, 8, 8)))
    np.save(tmp_path / "range.npy", np.full((4, 8, 8), 3.0))
    np.save(tmp_path / "odd.npy", np.zeros((4, 9, 9)))
    with pytest.raises(GankitError, match=message):
        make_data(spec.format(tmp=tmp_path))


def test_npy_layouts_and_value_ranges(tmp_path):
    rng = np.random.default_rng(0)
    unit = rng.random((5, 8, 8))
    np.save(tmp_path / "a.npy", unit)  # N×H×W in [0, 1]
    np.save(tmp_path / "b.npy", (unit * 255).astype(np.uint8)[..., None].repeat(3, axis=3))
    a = make_images(f"npy:{tmp_path / 'a.npy'}")
    assert a.shape == (1, 8, 8) and torch.allclose(
        a.images[:, 0], torch.tensor(unit * 2 - 1).float()
    )
    b = make_images(f"npy:{tmp_path / 'b.npy'}")  # N×H×W×C uint8
    assert b.shape == (3, 8, 8)
    assert torch.allclose(b.images[:, 1], a.images[:, 0], atol=1 / 127.5 + 1e-6)
    bigger = make_images(f"npy:{tmp_path / 'a.npy'},size=16")
    assert bigger.shape == (1, 16, 16)


def test_sampling_uses_only_the_given_generator():
    data = make_data("digits")
    one = data.sample(16, torch.Generator().manual_seed(4))
    two = data.sample(16, torch.Generator().manual_seed(4))
    assert one.shape == (16, 1, 8, 8) and torch.equal(one, two)


# --- models --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 16, 16), (1, 28, 28), (3, 32, 32), (3, 64, 64)])
@pytest.mark.parametrize("norm", [None, "layer", "batch"])
def test_conv_models_map_noise_to_images_and_images_to_scores(shape, norm):
    g = ConvGenerator(10, shape, width=4)
    f = ConvCritic(shape, width=4, norm=norm)
    x = g(torch.randn(3, 10))
    assert x.shape == (3, *shape) and x.abs().max() <= 1  # tanh output
    assert f(x).shape == (3,)
    assert spatial_plan(shape[1])[-1] in (4, 7)


def test_conv_critic_with_layer_norm_takes_the_penalty_and_batch_norm_is_refused():
    real, fake = torch.randn(4, 1, 16, 16), torch.randn(4, 1, 16, 16)
    value = gradient_penalty(ConvCritic((1, 16, 16), width=4, norm="layer"), real, fake, 10.0)
    assert value.ndim == 0 and value > 0
    with pytest.raises(GankitError, match="batch norm"):
        gradient_penalty(ConvCritic((1, 16, 16), width=4, norm="batch"), real, fake, 10.0)


def test_conv_models_refuse_bad_shapes():
    with pytest.raises(GankitError, match="even size >= 8"):
        ConvGenerator(4, (1, 7, 7), width=4)
    with pytest.raises(GankitError, match="C 1 or 3"):
        ConvCritic((2, 8, 8), width=4, norm=None)
    with pytest.raises(GankitError, match="x must have shape"):
        ConvCritic((1, 8, 8), width=2, norm=None)(torch.zeros(2, 1, 16, 16))


# --- grids ---------------------------------------------------------------------------------


def test_image_grid_places_each_tile():
    images = -np.ones((3, 1, 2, 2))
    images[1] = 1.0  # the second tile is white
    grid = image_grid(images, columns=2, padding=1)
    assert grid.shape == (1 + 2 * 3, 1 + 2 * 3, 1)
    assert (
        (grid[1:3, 4:6] == 255).all() and (grid[1:3, 1:3] == 0).all() and grid[4:6, 1:3].max() == 0
    )


def test_save_grid_writes_an_upscaled_png(tmp_path):
    path = save_grid(np.zeros((4, 3, 8, 8)), tmp_path / "g.png", min_side=100)
    with Image.open(path) as picture:
        assert picture.mode == "RGB" and min(picture.size) >= 100


# --- metrics -------------------------------------------------------------------------------


def test_frechet_distance_is_gaussian_w2_squared_and_pot_bures_squared():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(400, 5)) @ rng.normal(size=(5, 5))
    b = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5)) + 0.5
    mu1, mu2 = a.mean(0), b.mean(0)
    cov1, cov2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    fid = frechet_distance(a, b)
    assert close(fid, gaussian_w2(mu1, cov1, mu2, cov2) ** 2, rel=1e-7)
    bures = float(ot.gaussian.bures_wasserstein_distance(mu1, mu2, cov1, cov2))
    assert close(fid, bures**2, rel=1e-6)
    assert frechet_distance(a, a) < 1e-8


def test_kernel_distance_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(600, 8)), rng.normal(size=(600, 8))
    same = kernel_distance(x, y, subset_size=300)
    shifted = kernel_distance(x, y + 1.0, subset_size=300)
    assert abs(same) < 0.02 and shifted > 0.5


def test_kernel_distance_matches_the_unbiased_mmd_formula():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) + 1

    def k(a, b):
        return (a @ b / 2 + 1) ** 3

    m = 6
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    assert close(kernel_distance(x, y, subsets=1, subset_size=6), xx + yy - 2 * xy, rel=1e-10)


def test_precision_and_recall_on_known_cases():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 3))
    assert precision_recall(x, x) == {"precision": 1.0, "recall": 1.0}
    far = precision_recall(x, x + 100)
    assert far == {"precision": 0.0, "recall": 0.0}
    # Generated points all on one half of the real cloud: precise, but half the real is missed.
    half = x[x[:, 0] > 0]
    scores = precision_recall(x, half)
    assert scores["precision"] == 1.0 and scores["recall"] < 0.75


def test_class_coverage_one_class_and_uniform():
    one = class_coverage(np.full(500, 3), 10)
    assert one["classes_covered"] == 1 and close(one["class_kl_uniform"], math.log(10))
    spread = class_coverage(np.arange(1000) % 10, 10)
    assert spread["classes_covered"] == 10 and spread["class_kl_uniform"] < 1e-12
    # A class under 1 % of the samples is not covered.
    rare = class_coverage(np.r_[np.zeros(995, int), np.ones(5, int)], 2)
    assert rare["classes_covered"] == 1


# --- classifier ----------------------------------------------------------------------------


def test_classifier_learns_digits_and_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    digits = make_data("digits")
    said: list[str] = []
    net, accuracy = load_classifier(digits, log=said.append)
    assert accuracy > 0.9 and len(said) == 1
    assert len(list((cache_dir() / "classifiers").glob("*.pt"))) == 1
    again, same = load_classifier(digits, log=said.append)
    assert same == accuracy and len(said) == 1  # loaded from the cache: no second training
    ones = digits.images[digits.labels == 1]
    assert (predict(again, ones) == 1).mean() > 0.9


def test_image_metrics_on_real_images_and_on_one_class():
    digits = make_data("digits")
    real = evaluate_images(digits.images[:1000], digits, log=lambda _: None)
    assert real["classes_covered"] == 10 and real["class_kl_uniform"] < 0.02
    assert real["precision"] > 0.6 and real["recall"] > 0.6
    ones = digits.images[digits.labels == 1]
    collapsed = evaluate_images(ones, digits, log=lambda _: None)
    assert collapsed["classes_covered"] <= 2 and collapsed["class_kl_uniform"] > 1.8
    assert collapsed["fid_features"] > 5 * real["fid_features"]
    assert collapsed["recall"] < real["recall"]


def test_identical_sets_give_zero_frechet_and_full_precision_recall():
    digits = make_data("digits")
    result = evaluate_images(digits.images, digits, log=lambda _: None)
    assert result["fid_features"] < 1e-6
    assert result["precision"] == 1.0 and result["recall"] == 1.0
    assert abs(result["kid_features"]) < 1e-2 * real_kid_scale(digits)


def real_kid_scale(digits: ImageSet) -> float:
    """KID of the real set against noise: the scale that 'near zero' is judged on."""
    noise = torch.rand_like(digits.images) * 2 - 1
    return evaluate_images(noise, digits, log=lambda _: None)["kid_features"]


class _StandInInception(torch.nn.Module):
    """Takes the place of torch-fidelity's extractor: checks its input contract (uint8 RGB)
    and returns a fixed function of the pixels as the '2048' features."""

    def __init__(self, name, features_list, feature_extractor_weights_path=None):
        super().__init__()
        assert (name, features_list) == ("inception-v3-compat", ["2048"])
        self.calls: list[tuple[int, ...]] = []

    def forward(self, x):
        assert x.dtype == torch.uint8 and x.shape[1] == 3
        self.calls.append(tuple(x.shape))
        return (x.float().flatten(1)[:, :40] / 255,)


@pytest.fixture
def stand_in_fidelity(tmp_path, monkeypatch):
    import sys
    import types

    package = types.ModuleType("torch_fidelity")
    module = types.ModuleType("torch_fidelity.feature_extractor_inceptionv3")
    module.FeatureExtractorInceptionV3 = _StandInInception  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch_fidelity", package)
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", module)
    weights = tmp_path / "inception.pth"
    weights.write_bytes(b"stand-in")
    monkeypatch.setenv("GANKIT_INCEPTION_WEIGHTS", str(weights))
    return weights


def test_inception_features_feed_the_distances_and_the_classes_stay(stand_in_fidelity):
    from gankit.metrics.inception import inception_features, to_uint8_rgb

    grey = torch.tensor([[[[-1.0, 0.0], [1.0, 0.5]]]])
    assert to_uint8_rgb(grey).tolist() == [[[[0, 128], [255, 191]]] * 3]
    digits = make_data("digits")
    same = evaluate_images(digits.images, digits, log=lambda _: None, features="inception")
    assert same["features"] == "inception" and same["fid_features"] < 1e-6
    assert same["classes_covered"] == 10  # class coverage still comes from the classifier
    ones = digits.images[digits.labels == 1]
    collapsed = evaluate_images(ones, digits, log=lambda _: None, features="inception")
    pick = torch.randperm(len(digits.images), generator=torch.Generator().manual_seed(0))
    real = digits.images[pick[: len(ones)]]  # the real side evaluate_images draws (seed 0)
    expected = frechet_distance(inception_features(ones), inception_features(real))
    assert expected > 0.1 and close(collapsed["fid_features"], expected)


def test_inception_without_the_package_or_weights_is_a_one_line_exit_2(
    tmp_path, capsys, monkeypatch, stand_in_fidelity
):
    import sys

    run = tmp_path / "run"
    main(["train", "--data", "digits", "--steps", "2", "--out", str(run), "--quiet"])
    stand_in_fidelity.unlink()
    assert main(["eval", str(run), "--n", "50", "--features", "inception"]) == 2
    assert "Inception weights at" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # import fails
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", None)
    assert main(["eval", str(run), "--n", "50", "--features", "inception"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs the torch-fidelity package" in err[0]


def test_unlabelled_sets_report_pixel_scores_and_say_why(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((50, 8, 8)))
    data = make_images(f"npy:{tmp_path / 'x.npy'}")
    result = evaluate_images(data.images, data)
    assert result["classes_covered"] is None and result["fid_features"] is None
    assert "no labels" in result["class_metrics"] and result["features"] == "pixels"
    assert result["precision"] == 1.0 and result["recall"] == 1.0


# --- training ------------------------------------------------------------------------------

TINY = {
    "data": "digits",
    "width": 8,
    "latent_dim": 8,
    "batch_size": 16,
    "log_every": 1,
    "sample_every": 2,
    "checkpoint_every": 2,
    "precision": "fp32",
    "device": "cpu",
}


def test_recipes_take_their_papers_image_settings_on_images():
    on_images = resolve("wgan-gp", flag_values={"data": "mnist5k"})
    on_toy = resolve("wgan-gp", flag_values={"data": "ring"})
    assert (on_images.gp_weight, on_images.batch_size, on_images.latent_dim) == (10.0, 64, 100)
    assert (on_toy.gp_weight, on_toy.batch_size, on_toy.width) == (0.1, 256, 512)
    dcgan = resolve("nsgan", flag_values={"data": "digits"})
    assert (dcgan.lr_g, dcgan.beta1, dcgan.width, dcgan.latent_dim) == (2e-4, 0.5, 64, 100)
    with pytest.raises(GankitError, match="critic_norm batch cannot be used"):
        resolve("wgan-gp", flag_values={"data": "digits", "critic_norm": "batch"})


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_each_recipe_trains_on_images(tmp_path, recipe):
    result = start_run(
        tmp_path,
        recipe,
        flag_values={**TINY, "steps": 3},
        progress=False,
        log=quiet,
        figures=write_snapshot,
    )
    assert result.step == 3
    names = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert names == ["real.png", "step_0000002.png", "step_0000003.png"]
    assert draw_samples(tmp_path, 5).shape == (5, 1, 8, 8)


def test_image_critics_use_batch_norm_only_without_a_gradient_penalty():
    for recipe, expected in (("gan", "batch"), ("wgan", "batch"), ("wgan-gp", "layer")):
        config = resolve(recipe, flag_values=TINY)
        assert critic_norm(config, images=True) == expected
        assert critic_norm(config, images=False) is None  # the toy MLPs as published
        # 8-pixel critics have one conv block (no norm); the choice shows from 16 pixels
        _, critic = build_models(config, (1, 16, 16))
        batch_norm = any(isinstance(m, torch.nn.BatchNorm2d) for m in critic.modules())
        assert batch_norm == (expected == "batch")


def test_image_runs_resume_bit_identically_with_ema(tmp_path):
    straight = resolve("nsgan", flag_values={**TINY, "steps": 4, "ema_decay": 0.9})
    half = resolve("nsgan", flag_values={**TINY, "steps": 2, "ema_decay": 0.9})
    a, b = straight_and_resumed(straight, half, tmp_path)
    for part in ("generator", "critic", "ema"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), (part, key)
    # Sampling measures the EMA weights' own batch-norm statistics, on a copy.
    config, generator, _ = load_run(tmp_path / "a")
    assert not generator.training
    ema = ConvGenerator(config.latent_dim, (1, 8, 8), width=config.width)
    ema.load_state_dict(a["ema"])
    z = torch.randn(
        BATCHES * BATCH_SIZE, config.latent_dim, generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        projected = ema.project[0](z)  # the input of the first batch norm
    assert torch.allclose(generator.project[1].running_mean, projected.mean(0), atol=1e-5)
    assert not torch.equal(generator.project[1].running_mean, a["ema"]["project.1.running_mean"])


def test_cli_trains_samples_and_evaluates_an_unlabelled_colour_set(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).integers(0, 256, (40, 3, 16, 16)))
    run = tmp_path / "run"
    flags = ["--width", "4", "--latent-dim", "4", "--batch-size", "8", "--precision", "fp32"]
    assert (
        main(
            [
                "train",
                "--data",
                f"npy:{tmp_path}/x.npy",
                "--steps",
                "2",
                "--out",
                str(run),
                "--quiet",
                *flags,
            ]
        )
        == 0
    )
    assert main(["sample", str(run), "--n", "9", "--out", str(tmp_path / "g.png")]) == 0
    with Image.open(tmp_path / "g.png") as grid:
        assert grid.mode == "RGB"
    assert main(["eval", str(run), "--n", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 20 and result["classes_covered"] is None and 0 <= result["recall"] <= 1
    assert result["sliced_w1"] > 0


@pytest.mark.parametrize(
    ("spec", "message"),
    [("folder:{tmp}", "holds no readable image"), ("npy:{tmp}/r.npy", "got rank 2")],
)
def test_cli_bad_image_data_exits_2(tmp_path, capsys, spec, message):
    np.save(tmp_path / "r.npy", np.zeros((3, 3)))
    code = main(["train", "--data", spec.format(tmp=tmp_path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def quiet(*_: object) -> None:
    pass
