"""Self-conditioned runs (``clusters = K``): k-means of the images, against scikit-learn and
known blobs; the clusters as a run's classes, kept in its checkpoints; sampling by cluster,
evaluation against the true data; and the bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from gankit import api
from gankit.cli import main
from gankit.data import make_data
from gankit.data.clusters import _filled, kmeans, with_clusters, within_cluster_sum
from gankit.errors import GankitError
from gankit.runs import LABEL_SEED_OFFSET
from gankit.training.configure import resolve
from gankit.training.state import AUTO_CLUSTERS, AUTO_MIN_IMAGES, clusters_of, resolved_clusters
from tests.conftest import straight_and_resumed
from tests.test_conditional import DIGITS as CONDITIONAL_DIGITS

DIGITS = {**CONDITIONAL_DIGITS, "conditional": False, "clusters": 4}  # small and fast


def _blobs(sizes: list[int], seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """8 x 8 one-channel "images" in well separated blobs of ``sizes``, and each one's blob."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), 64)) * 5
    truth = np.repeat(np.arange(len(sizes)), sizes)
    points = centres[truth] + 0.1 * rng.normal(size=(len(truth), 64))
    order = rng.permutation(len(truth))  # not in blob order
    images = torch.tensor(points[order], dtype=torch.float32).reshape(-1, 1, 8, 8)
    return images, truth[order]


# --- k-means ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_finds_separated_blobs_numbered_from_the_largest(seed):
    images, truth = _blobs([40, 30, 20, 10], seed)
    found = kmeans(images, 4, seed=seed).numpy()
    assert adjusted_rand_score(truth, found) == 1.0
    assert np.bincount(found).tolist() == [40, 30, 20, 10]
    assert (found[truth == 0] == 0).all() and (found[truth == 3] == 3).all()


def test_kmeans_is_as_good_as_scikit_learns_and_deterministic():
    images = make_data("digits").images
    points = images.reshape(len(images), -1).double().numpy()
    for k in (5, 10, 20):
        found = kmeans(images, k, seed=0)
        assert torch.equal(found, kmeans(images, k, seed=0))
        assert torch.bincount(found, minlength=k).min() >= 1 and int(found.max()) == k - 1
        ours = within_cluster_sum(images, found)
        theirs = KMeans(n_clusters=k, n_init=4, random_state=0).fit(points).inertia_
        assert ours <= 1.02 * theirs, (k, ours, theirs)
        # within_cluster_sum from its definition, with scikit-learn's own assignment
        labels = KMeans(n_clusters=k, n_init=1, random_state=0).fit(points)
        means = np.stack([points[labels.labels_ == c].mean(0) for c in range(k)])
        direct = ((points - means[labels.labels_]) ** 2).sum()
        assert within_cluster_sum(images, torch.from_numpy(labels.labels_.astype(np.int64))) == (
            pytest.approx(direct, rel=1e-9)
        )


def test_an_empty_cluster_takes_the_farthest_point_of_a_cluster_that_can_spare_one():
    nearest = torch.tensor([0, 0, 0, 1, 1])
    distance = torch.tensor([1.0, 9.0, 4.0, 50.0, 2.0], dtype=torch.float64)
    filled = _filled(nearest.clone(), distance.clone(), 4)
    assert filled.tolist() == [0, 3, 0, 2, 1]  # cluster 2 takes the 50 (1 can spare it), 3 the 9
    single = _filled(torch.tensor([0, 0, 1]), torch.tensor([1.0, 2.0, 99.0]).double(), 3)
    assert single.tolist() == [0, 2, 1]  # cluster 1's only point stays


def test_kmeans_refuses_too_few_or_too_many_clusters():
    images, _ = _blobs([3, 3])
    for k in (1, 7):
        with pytest.raises(GankitError, match=f"from 2 to the number of distinct images.*{k}"):
            kmeans(images, k)
    twice = torch.cat([images[:2], images[:2]])  # 4 images, 2 distinct
    with pytest.raises(GankitError, match=r"distinct images \(2\), got 3"):
        kmeans(twice, 3)


def test_with_clusters_relabels_the_images_and_checks_their_number():
    data = make_data("digits")
    assignment = torch.arange(len(data.images)) % 3
    view = with_clusters(data, assignment)
    assert view.n_classes == 3 and view.images is data.images
    assert np.array_equal(view.labels, assignment.numpy()) and data.n_classes == 10
    assert view.fingerprint != data.fingerprint  # never mistaken for the labelled set
    images, labels = view.sample_labelled(50, torch.Generator().manual_seed(0))
    index = torch.randint(len(data.images), (50,), generator=torch.Generator().manual_seed(0))
    assert torch.equal(images, data.images[index]) and torch.equal(labels, assignment[index])
    with pytest.raises(GankitError, match="clusters cover 10 images and digits has 1797"):
        with_clusters(data, assignment[:10])


# --- self-conditioned runs ------------------------------------------------------------------


def test_auto_clusters_only_a_large_stored_image_set_and_only_the_default_recipe():
    mnist, digits = make_data("mnist5k"), make_data("digits")
    default = resolve(None, flag_values={"data": "mnist5k"})
    assert default.clusters == "auto" and resolve("wgan-gp", {"data": "mnist5k"}).clusters == "0"
    assert clusters_of(default, mnist) == AUTO_CLUSTERS == 50 and len(mnist.images) >= 5000
    assert resolved_clusters(default, mnist).clusters == "50"
    assert resolved_clusters(default, mnist).takes_classes() and not default.takes_classes()
    small = resolve(None, flag_values={"data": "digits"})
    assert len(digits.images) < AUTO_MIN_IMAGES and clusters_of(small, digits) == 0
    stacked = resolve(None, flag_values={"data": "stackedmnist"})
    assert clusters_of(stacked, make_data("stackedmnist")) == 0
    labelled = resolve(None, flag_values={"data": "mnist5k", "conditional": True})
    assert clusters_of(labelled, mnist) == 0  # the labels choose the classes
    assert clusters_of(resolve(None, flag_values={"data": "ring"}), make_data("ring")) == 0
    explicit = resolve(None, flag_values={"data": "digits", "clusters": 7})
    assert explicit.clusters == "7" and clusters_of(explicit, digits) == 7


def test_the_run_folder_records_the_resolved_count(tmp_path, capsys):
    flags = ["--data", "digits", "--steps", "2", "--width", "8", "--quiet"]
    assert main(["train", *flags, "--clusters", "3", "--out", str(tmp_path / "r")]) == 0
    assert "on digits in 3 k-means clusters," in capsys.readouterr().err
    assert 'clusters = "3"' in (tmp_path / "r" / "config.toml").read_text()
    assert main(["train", *flags, "--out", str(tmp_path / "d")]) == 0  # auto: too few images
    assert 'clusters = "0"' in (tmp_path / "d" / "config.toml").read_text()


def test_a_self_conditioned_run_keeps_its_clusters_and_resumes_bit_identically(tmp_path):
    straight = resolve(None, {**DIGITS, "steps": 8, "ema_decay": 0.9})
    half = resolve(None, {**DIGITS, "steps": 4, "ema_decay": 0.9})
    a, b = straight_and_resumed(straight, half, tmp_path)
    assert a["step"] == b["step"] == 8 and a["config"]["clusters"] == "4"
    assert torch.equal(a["clusters"], kmeans(make_data("digits").images, 4, seed=0))
    assert torch.equal(a["clusters"], b["clusters"])
    for part in ("generator", "critic", "ema"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), (part, key)
    assert "projection.vectors.weight" in a["critic"] and "embed.weight" in a["generator"]


def test_a_self_conditioned_run_samples_by_cluster_and_is_scored_as_unconditional(tmp_path):
    out = tmp_path / "run"
    run = api.train(None, out=out, steps=6, seed=0, progress=False, log=None, **DIGITS)
    clusters = torch.load(out / "checkpoints" / "latest.pt", weights_only=True)["clusters"]
    assert (
        main(["sample", str(out), "--class", "2", "--n", "5", "--out", str(tmp_path / "2.npy")])
        == 0
    )
    twos = np.load(tmp_path / "2.npy")
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert np.allclose(twos, run.generator(z, torch.full((5,), 2)).numpy(), atol=1e-6)
    # Without --class: clusters as often as the data holds them (not its ten digit classes).
    view = with_clusters(make_data("digits"), clusters)
    asked = view.draw_labels(400, torch.Generator().manual_seed(LABEL_SEED_OFFSET))
    with torch.no_grad():
        z = torch.randn(400, 8, generator=torch.Generator().manual_seed(0))
        expected = run.generator(z, asked).numpy()
    assert np.allclose(run.sample(400), expected, atol=1e-6)
    assert int(asked.max()) < 4
    scores = run.evaluate(n=300, progress=False, log=None)
    assert scores["classes_total"] == 10  # scored against the true digits
    assert "class_accuracy" not in scores  # clusters are not the classifier's classes
    with pytest.raises(GankitError, match="--class must be a class 0..3 of this run"):
        run.sample(3, label=4)


def test_bad_clusters_input_exits_2_with_one_line(tmp_path, capsys):
    cases = [
        (
            ["--data", "digits", "--clusters", "1"],
            "clusters must be 0 (off), >= 2 or auto, got '1'",
        ),
        (["--data", "digits", "--clusters", "-3"], "must be 0 (off), >= 2 or auto, got '-3'"),
        (["--data", "digits", "--clusters", "many"], "must be 0 (off), >= 2 or auto, got 'many'"),
        (["--data", "digits", "--clusters", "007"], "must be 0 (off), >= 2 or auto, got '007'"),
        (
            ["--data", "digits", "--clusters", "3", "--conditional"],
            "clusters and conditional both choose the classes",
        ),
        (["--data", "ring", "--clusters", "3"], "clusters needs a stored image set"),
        (["--data", "stackedmnist", "--clusters", "3"], "not 'stackedmnist'"),
        (
            ["--data", "digits", "--clusters", "2000"],
            "clusters must be at most the number of images (1797 in digits), got 2000",
        ),
    ]
    for flags, message in cases:
        assert main(["train", *flags, "--out", str(tmp_path / "a")]) == 2, flags
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "a").exists()  # refused before any folder was made
