"""A trained run, read back: its configuration and generator, samples, and evaluation.

This module sits above ``gankit.training`` (which writes run folders) and ``gankit.metrics``
(which scores samples): ``gankit sample`` and ``gankit eval`` come here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit._random import seeded
from gankit.data import ImageSet, make_data
from gankit.data.clusters import with_clusters
from gankit.errors import GankitError
from gankit.models.standing import standing_statistics
from gankit.runfolder import RunPaths, atomic_write_text
from gankit.training.checkpoint import load_latest, require_run
from gankit.training.config import TrainConfig
from gankit.training.configure import saved_config
from gankit.training.state import build_models, classes_of, data_shape

__all__ = [
    "class_request",
    "draw_samples",
    "eval_samples",
    "evaluate_run",
    "generate",
    "labelled_samples",
    "load_critic",
    "load_run",
]

EVAL_SEED_OFFSET = 1_000_003  # fresh real samples for eval never repeat the training stream
LABEL_SEED_OFFSET = 2_000_003  # the classes asked of a conditional generator: apart from z
EVAL_SAMPLES = 2000  # samples per side, unless the data set names its own (``eval_samples``)
CHUNK = 2000  # images generated at once: 26,000 in one batch would need gigabytes


def eval_samples(dataset: Any) -> int:
    """How many samples ``gankit eval`` scores by default on a data set: its protocol's
    (``eval_samples``, e.g. 26,000 on ``stackedmnist``), else 2,000."""
    return int(getattr(dataset, "eval_samples", EVAL_SAMPLES))


def load_run(run_dir: str | Path) -> tuple[TrainConfig, torch.nn.Module, dict[str, Any]]:
    """The configuration, generator (EMA weights when the run keeps them; an eval-mode copy
    with its own batch-norm statistics) and checkpoint of a run's newest checkpoint.

    Raises:
        GankitError: not a run folder, or no readable checkpoint.
    """
    paths = RunPaths(Path(run_dir))
    require_run(paths)
    state = load_latest(paths)
    config = saved_config(state["config"], f"the checkpoint of {paths.root}")
    generator, _ = _empty_models(config)
    weights = state["ema"] if state.get("ema") is not None else state["generator"]
    generator.load_state_dict(weights)
    return config, standing_statistics(generator, config.latent_dim), state


def load_critic(config: TrainConfig, state: dict[str, Any]) -> torch.nn.Module:
    """The critic (or discriminator) of a checkpoint loaded by :func:`load_run`, in eval mode."""
    _, critic = _empty_models(config)
    critic.load_state_dict(state["critic"])
    return critic.eval()


def _empty_models(config: TrainConfig) -> tuple[torch.nn.Module, torch.nn.Module]:
    """A run's networks, to load weights over: only their shapes matter."""
    with seeded(config.seed):  # no side effect on torch's global generator
        dataset = make_data(config.data)
        return build_models(config, data_shape(dataset), classes_of(config, dataset))


def generate(
    config: TrainConfig,
    generator: torch.nn.Module,
    n: int,
    seed: int = 0,
    labels: torch.Tensor | None = None,
) -> np.ndarray:
    """``n`` samples of a loaded generator, shape ``(n, dim)`` or ``(n, C, H, W)``,
    reproducible from ``seed``; of classes ``labels`` (n,) for a conditional run
    (:func:`class_request`)."""
    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        z = torch.randn(n, config.latent_dim, generator=rng)
        if labels is None:
            return torch.cat([generator(part).float() for part in z.split(CHUNK)]).numpy()
        parts = zip(z.split(CHUNK), labels.split(CHUNK), strict=True)
        return torch.cat([generator(part, classes).float() for part, classes in parts]).numpy()


def class_request(
    config: TrainConfig,
    dataset: Any,
    n: int,
    seed: int = 0,
    label: int | str | None = None,
    clusters: torch.Tensor | None = None,
) -> torch.Tensor | None:
    """The classes to ask of a run's generator for ``n`` samples: ``None`` for an
    unconditional run; else ``n`` of class ``label``, ``n`` of each class in turn for
    ``label="all"``, or (``None``) classes drawn as often as the data holds them, from
    ``seed``. A self-conditioned run's classes are its image clusters, ``clusters`` (the
    checkpoint's ``"clusters"``).

    Raises:
        GankitError: a ``label`` on an unconditional run, or out of range.
    """
    if not config.takes_classes():
        if label is not None:
            raise GankitError(
                f"--class {label} needs a conditional run; this one was trained without "
                "--conditional or --clusters"
            )
        return None
    if not config.conditional:  # self-conditioned: the classes are the image clusters
        if clusters is None:
            raise GankitError(f"run of {config.clusters} clusters: its checkpoint has none")
        dataset = with_clusters(dataset, clusters)
    classes = classes_of(config, dataset)
    if label is None:
        rng = torch.Generator().manual_seed(seed + LABEL_SEED_OFFSET)
        return dataset.draw_labels(n, rng).cpu()
    if label == "all":
        return torch.arange(classes).repeat_interleave(n)
    if (
        isinstance(label, bool)
        or not isinstance(label, (int, np.integer))
        or not (0 <= label < classes)
    ):
        raise GankitError(
            f"--class must be a class 0..{classes - 1} of this run or all, got {label!r}"
        )
    return torch.full((n,), int(label), dtype=torch.int64)


def labelled_samples(
    config: TrainConfig,
    generator: torch.nn.Module,
    n: int,
    seed: int = 0,
    label: int | str | None = None,
    clusters: torch.Tensor | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`generate`'s samples for ``label`` (:func:`class_request`: ``n`` of one class,
    ``n`` of each for ``"all"``, or as the data holds them; of a self-conditioned run's
    ``clusters``) and the classes asked for (``None`` for an unconditional run)."""
    labels = class_request(config, make_data(config.data), n, seed, label, clusters)
    if labels is None:
        return generate(config, generator, n, seed), None
    return generate(config, generator, len(labels), seed, labels), labels.numpy()


def draw_samples(
    run_dir: str | Path, n: int, seed: int = 0, label: int | str | None = None
) -> np.ndarray:
    """``n`` samples from a run's latest generator, shape ``(n, dim)`` or ``(n, C, H, W)``
    (of class ``label``, or ``n`` per class for ``"all"``: :func:`class_request`)."""
    config, generator, state = load_run(run_dir)
    return labelled_samples(config, generator, n, seed, label, state.get("clusters"))[0]


def evaluate_run(
    run_dir: str | Path,
    n: int | None = None,
    seed: int = 0,
    *,
    log: Any = print,
    features: str = "classifier",
    progress: bool = True,
) -> dict[str, Any]:
    """The metrics of a run (toy or image set) against real data; writes ``eval.json``.

    ``n`` samples are scored (``None``: :func:`eval_samples` of the data set). Toy sets are
    scored against ``n`` fresh samples (``gankit.metrics.evaluate_toy``); image sets against
    ``n`` real images drawn without replacement (all of them when the set is smaller), with
    the distances in ``features`` (``"classifier"`` or ``"inception"``; toy sets ignore it;
    ``gankit.metrics.evaluate_images``; ``stackedmnist`` by its mode-counting protocol).
    ``progress``: a bar on stderr while the evaluation classifier of an image set trains.
    """
    from gankit.metrics import evaluate_images, evaluate_toy

    paths = RunPaths(Path(run_dir))
    # One load: the samples and the reported step come from the same checkpoint, even while
    # the run is still writing new ones.
    config, generator, state = load_run(paths.root)
    dataset = make_data(config.data)
    n = eval_samples(dataset) if n is None else n
    # conditional: classes as in the data (a self-conditioned run: its clusters)
    labels = class_request(config, dataset, n, seed, clusters=state.get("clusters"))
    samples = generate(config, generator, n, seed, labels)
    result = {"step": int(state["step"]), "data": config.data, "recipe": config.recipe}
    if isinstance(dataset, ImageSet):
        images = torch.from_numpy(samples)
        scores = evaluate_images(
            images, dataset, seed=seed, log=log, features=features, progress=progress
        )
        result.update(scores)
        if config.conditional and labels is not None:  # not clusters: the classifier's classes
            from gankit.metrics.conditional import evaluate_conditional_images

            result.update(
                evaluate_conditional_images(images, labels, dataset, log=log, progress=progress)
            )
    else:
        fresh = torch.Generator().manual_seed(seed + EVAL_SEED_OFFSET)
        real = dataset.sample(n, fresh).numpy()
        result.update(evaluate_toy(samples, dataset, real))
        if labels is not None:
            from gankit.metrics.conditional import evaluate_conditional_toy

            result.update(evaluate_conditional_toy(samples, labels.numpy(), dataset.centres))
    atomic_write_text(paths.eval, json.dumps(result, indent=2) + "\n")
    return result
