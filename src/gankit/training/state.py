"""A run's state: the models, optimisers and random streams a step reads and changes, and
its checkpoint form.

Determinism: every random draw of training comes from one of four explicit
``torch.Generator`` streams (data, noise, interpolation epsilon, augmentation) whose states
are checkpointed (with ADA's adaptive augmentation probability), and the weights are
initialised from the seed without touching torch's global generator, so a resumed run
continues bit-identically on the CPU.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from gankit._random import seeded
from gankit.data import ImageSet, make_data
from gankit.data.clusters import kmeans
from gankit.data.stacked import StackedMnist
from gankit.errors import GankitError
from gankit.lipschitz import spectral_normalize
from gankit.models import ConvCritic, ConvGenerator, MLPCritic, MLPGenerator
from gankit.training import distributed
from gankit.training.augment import background
from gankit.training.config import FORMAT, TrainConfig, augment_policy, augment_probability
from gankit.training.distributed import SINGLE, Dist
from gankit.training.hardware import Hardware

__all__ = [
    "AUTO_CLUSTERS",
    "AUTO_MIN_IMAGES",
    "STREAMS",
    "RunState",
    "build_models",
    "classes_of",
    "clusters_of",
    "critic_norm",
    "data_shape",
    "new_run",
    "parallelize",
    "resolved_clusters",
    "restore_run",
    "state_dict",
]

STREAMS = ("data", "noise", "epsilon", "augment")
# clusters = auto: this many k-means clusters on a stored image set of at least
# AUTO_MIN_IMAGES images (100 a cluster, as on mnist5k, where it was measured), else none.
AUTO_CLUSTERS = 50
AUTO_MIN_IMAGES = 5000
CHECKPOINT_FORMAT = "gankit-checkpoint-1"


@dataclass
class RunState:
    """Everything a step reads or changes; all of it but ``saved_step`` goes into a checkpoint."""

    config: TrainConfig
    hardware: Hardware
    generator: nn.Module
    critic: nn.Module
    ema: nn.Module | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    streams: dict[str, torch.Generator]
    step: int = 0
    # Non-finite losses are noticed without a host sync: flags and values stay on device.
    first_bad_step: torch.Tensor = field(default_factory=lambda: torch.tensor(-1))
    bad_losses: torch.Tensor = field(default_factory=lambda: torch.zeros(2))
    # Augmentation (gankit.training.augment): the background it fills with (from the data,
    # not checkpointed), its probability p, and ADA's sum and count of sign D(real) since
    # its last adjustment and the r_t of that adjustment.
    augment_fill: torch.Tensor | None = None
    augment_p: torch.Tensor = field(default_factory=lambda: torch.tensor(1.0))
    ada_signs: torch.Tensor = field(default_factory=lambda: torch.zeros(2))
    r_t: torch.Tensor = field(default_factory=lambda: torch.tensor(0.0))
    dist: Dist = SINGLE  # which process of how many (one, outside torchrun)
    clusters: torch.Tensor | None = None  # self-conditioning: each image's k-means cluster
    saved_step: int | None = None  # the step of the newest checkpoint on disk, if any


def data_shape(dataset: Any) -> tuple[int, ...]:
    """(dim,) of a toy set, (C, H, W) of an image set."""
    return dataset.shape if isinstance(dataset, ImageSet) else (dataset.dim,)


def clusters_of(config: TrainConfig, dataset: Any) -> int:
    """How many k-means clusters of the images ``config``'s networks are conditioned on
    (0: none): ``clusters``, or for ``auto`` :data:`AUTO_CLUSTERS` on a stored image set of
    at least :data:`AUTO_MIN_IMAGES` images when the run is not ``conditional``, else 0.

    Raises:
        GankitError: clusters of a set that is not a stored image set, or more clusters
            than images.
    """
    stored = isinstance(dataset, ImageSet) and not isinstance(dataset, StackedMnist)
    if config.clusters == "auto":
        large = stored and len(dataset.images) >= AUTO_MIN_IMAGES
        return AUTO_CLUSTERS if large and not config.conditional else 0
    k = int(config.clusters)
    if k and not stored:
        raise GankitError(
            f"clusters needs a stored image set (mnist5k, digits, folder:, npy:), not "
            f"{config.data!r}"
        )
    if k > len(getattr(dataset, "images", ())):
        raise GankitError(
            f"clusters must be at most the number of images ({len(dataset.images)} in "
            f"{config.data}), got {k}"
        )
    return k


def resolved_clusters(config: TrainConfig, dataset: Any) -> TrainConfig:
    """``config`` with ``clusters = auto`` replaced by its count for ``dataset``
    (:func:`clusters_of`), as the run folder records it."""
    return dataclasses.replace(config, clusters=str(clusters_of(config, dataset)))


def classes_of(config: TrainConfig, dataset: Any) -> int:
    """How many classes ``config``'s networks are conditioned on: the data set's for a
    conditional run, its clusters for a self-conditioned one (:func:`clusters_of`), 0
    otherwise.

    Raises:
        GankitError: a conditional run on a set without labels (or, for toy data, modes);
            clusters of a set that is not a stored image set.
    """
    clusters = clusters_of(config, dataset)
    if clusters:
        return clusters
    if not config.conditional:
        return 0
    classes = int(getattr(dataset, "n_classes", 0))
    if classes < 1:
        raise GankitError(
            f"conditional needs a labelled data set, and {config.data!r} has no labels: "
            "use mnist5k, digits, stackedmnist, folder: with one subfolder per class, "
            "npy:IMAGES.npy,labels=LABELS.npy, or a toy set with modes (ring, grid, gmm1d)"
        )
    return classes


def critic_norm(config: TrainConfig, images: bool) -> str | None:
    """The critic's normalisation: ``critic_norm``, or for ``auto`` none on MLPs, and on
    convolutional critics none with spectral norm (Miyato et al. 2018), layer norm with a
    penalty on the input gradient (Gulrajani et al. 2017, §4: batch norm breaks the
    per-sample gradient), batch norm otherwise (DCGAN)."""
    if config.critic_norm != "auto":
        return None if config.critic_norm == "none" else config.critic_norm
    if not images or config.spectral_norm:
        return None
    return "layer" if config.penalises_input_gradient() else "batch"


def build_models(
    config: TrainConfig, shape: tuple[int, ...], classes: int = 0
) -> tuple[nn.Module, nn.Module]:
    """Generator and critic/discriminator: MLPs for toy data (``shape == (dim,)``), DCGAN-style
    convolutional networks for images (``shape == (C, H, W)``), conditioned on ``classes``
    classes (0: unconditional; :func:`classes_of`), initialised from torch's global generator
    (see :func:`new_run` for the seeding)."""
    norm = critic_norm(config, images=len(shape) == 3)
    critic: nn.Module
    if len(shape) == 3:
        generator: nn.Module = ConvGenerator(
            config.latent_dim, shape, width=config.width, n_classes=classes
        )
        critic = ConvCritic(shape, width=config.width, norm=norm, n_classes=classes)
    else:
        mlp = {"width": config.width, "depth": config.depth, "activation": config.activation}
        generator = MLPGenerator(config.latent_dim, shape[0], n_classes=classes, **mlp)
        critic = MLPCritic(shape[0], norm=norm, n_classes=classes, **mlp)
    if config.spectral_norm:
        spectral_normalize(critic)
    return generator, critic


def _optimizer(config: TrainConfig, params: Any, lr: float) -> torch.optim.Optimizer:
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    # fused: one kernel for the whole update instead of a Python loop over the parameters
    return torch.optim.Adam(params, lr=lr, betas=(config.beta1, config.beta2), fused=True)


def _seeded_streams(seed: int, device: torch.device, rank: int = 0) -> dict[str, torch.Generator]:
    """One generator per kind of draw, seeded apart from each other.

    Data and noise are the same in every process; process ``rank`` has its own epsilon
    stream, rank 0's being the one-process stream (``gankit.training.distributed``).
    """
    streams = {}
    for index, name in enumerate(STREAMS):
        # Toy data is drawn on the CPU; noise, epsilon and augmentation where the models
        # live. Augmentation is drawn for the global batch: the same stream in every process.
        stream = torch.Generator(device="cpu" if name == "data" else device)
        if name == "epsilon" and rank > 0:
            stream.manual_seed(distributed.rank_seed(seed, index, rank))
        else:
            stream.manual_seed(seed * 1000 + index)
        streams[name] = stream
    return streams


def new_run(
    config: TrainConfig,
    hardware: Hardware,
    dist: Dist = SINGLE,
    *,
    dataset: Any = None,
    clusters: torch.Tensor | None = None,
) -> RunState:
    """A fresh run: models initialised from ``config.seed``, optimisers, RNG streams; for
    process ``dist.rank`` of ``dist.world_size`` (models not yet wrapped: :func:`parallelize`).

    ``dataset`` is ``config.data`` already loaded (it sets the models' shapes); by default it
    is loaded here. A self-conditioned run (``clusters = K``) takes the image clusters of
    ``clusters``, else finds them (``gankit.data.clusters.kmeans`` from ``config.seed``: the
    same in every process).
    """
    dataset = make_data(config.data) if dataset is None else dataset
    count = clusters_of(config, dataset)
    if count and clusters is None:
        clusters = kmeans(dataset.images, count, config.seed)
    with seeded(config.seed):  # the weight initialisation, and the caller's RNG left alone
        generator, critic = build_models(config, data_shape(dataset), classes_of(config, dataset))
    generator.to(hardware.device)
    critic.to(hardware.device)
    ema = None
    if config.ema_decay > 0:
        ema = copy.deepcopy(generator).requires_grad_(False)
    fill = None
    if augment_policy(config) and isinstance(dataset, ImageSet):
        fill = background(dataset.images).to(hardware.device)
    p = augment_probability(config)  # auto: ADA starts at p = 0
    return RunState(
        config=config,
        hardware=hardware,
        generator=generator,
        critic=critic,
        ema=ema,
        opt_g=_optimizer(config, generator.parameters(), config.lr_g),
        opt_d=_optimizer(config, critic.parameters(), config.lr_d),
        streams=_seeded_streams(config.seed, hardware.device, dist.rank),
        first_bad_step=torch.tensor(-1, device=hardware.device),
        bad_losses=torch.zeros(2, device=hardware.device),
        augment_fill=fill,
        augment_p=torch.tensor(0.0 if p is None else p, device=hardware.device),
        ada_signs=torch.zeros(2, device=hardware.device),
        r_t=torch.tensor(0.0, device=hardware.device),
        dist=dist,
        clusters=clusters,
    )


def parallelize(run: RunState) -> None:
    """Make ``run`` data-parallel over its processes (nothing with one process).

    Both models stay plain modules whose gradients hooks average during ``backward()``
    (``gankit.training.distributed``): the critic's penalties take a double backward that
    DDP does not support, and for the generator the same hooks cost less than DDP's reducer.
    """
    if run.dist.active:
        distributed.average_gradients(run.generator)
        distributed.average_gradients(run.critic)


def state_dict(run: RunState, epsilon_by_rank: list[torch.Tensor] | None = None) -> dict[str, Any]:
    """The checkpoint of a run: tensors and plain types only (``weights_only`` loadable).

    The configuration is saved with its ``config_format``. ``streams`` are rank 0's (data
    and noise are the same in every process); ``epsilon_by_rank`` holds every process's
    epsilon stream, as gathered by the caller (by default this process's alone).
    """
    return {
        "format": CHECKPOINT_FORMAT,
        "step": run.step,
        "config": {"config_format": FORMAT, **run.config.to_dict()},
        "generator": run.generator.state_dict(),
        "critic": run.critic.state_dict(),
        "ema": run.ema.state_dict() if run.ema is not None else None,
        "opt_g": run.opt_g.state_dict(),
        "opt_d": run.opt_d.state_dict(),
        "streams": {name: s.get_state() for name, s in run.streams.items()},
        "epsilon_by_rank": epsilon_by_rank or [run.streams["epsilon"].get_state()],
        "world_size": run.dist.world_size,
        "augment": {"p": run.augment_p, "ada_signs": run.ada_signs, "r_t": run.r_t},
        "clusters": run.clusters,
    }


def restore_run(
    config: TrainConfig,
    hardware: Hardware,
    state: dict[str, Any],
    dist: Dist = SINGLE,
    *,
    dataset: Any = None,
) -> RunState:
    """Rebuild a run from a checkpoint written by :func:`state_dict`, as process ``dist.rank``
    of any number of processes.

    Data and noise continue from the shared streams. Process r continues epsilon stream r of
    the checkpoint; a process the checkpoint has none for (more processes than wrote it)
    starts a fresh one, seeded from its rank and the step. So the continuation is
    bit-identical only with the number of processes that wrote the checkpoint.
    """
    run = new_run(config, hardware, dist, dataset=dataset, clusters=state.get("clusters"))
    run.generator.load_state_dict(state["generator"])
    run.critic.load_state_dict(state["critic"])
    if run.ema is not None and state.get("ema") is not None:
        run.ema.load_state_dict(state["ema"])
    run.opt_g.load_state_dict(state["opt_g"])
    run.opt_d.load_state_dict(state["opt_d"])
    for name, stream in run.streams.items():
        if name != "epsilon" and name in state["streams"]:  # older checkpoints: no augment
            stream.set_state(state["streams"][name])
    if "augment" in state:
        device = run.hardware.device
        run.augment_p = state["augment"]["p"].to(device)
        run.ada_signs = state["augment"]["ada_signs"].to(device)
        run.r_t = state["augment"]["r_t"].to(device)
    epsilons = state.get("epsilon_by_rank") or [state["streams"]["epsilon"]]
    if dist.rank < len(epsilons):
        run.streams["epsilon"].set_state(epsilons[dist.rank])
    else:
        index = STREAMS.index("epsilon")
        seed = distributed.rank_seed(config.seed, index, dist.rank, int(state["step"]))
        run.streams["epsilon"].manual_seed(seed)
    run.step = run.saved_step = int(state["step"])
    return run
