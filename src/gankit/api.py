"""The Python API: train, read back and study runs from a notebook or a script.

``gankit.train``, ``gankit.resume``, ``gankit.load`` and ``gankit.study`` are this module's
functions (``import gankit`` loads it, and torch, only when one is first used). They check
their input as the command line does, which is a thin layer over them: an unknown keyword or
a bad value raises :class:`~gankit.errors.GankitError` (a ``ValueError``) naming it.

Example:
    >>> import tempfile, gankit
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run = gankit.train("wgan-gp", data="ring", steps=20, width=32, out=f"{tmp}/ring",
    ...                        progress=False, log=None)
    ...     (run.step, run.status, run.sample(5).shape, len(run.metrics) > 0)
    (20, 'completed', (5, 2), True)
    >>> gankit.train("wgan-gp", data="ring", stpes=20, out="unused")
    Traceback (most recent call last):
    ...
    gankit.errors.GankitError: bad configuration: unknown key 'stpes'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gankit.errors import GankitError

if TYPE_CHECKING:
    import numpy as np
    import torch
    from matplotlib.figure import Figure

    from gankit.studies._result import StudyResult
    from gankit.training.config import TrainConfig
    from gankit.training.loop import TrainResult

__all__ = ["Run", "load", "resume", "study", "train"]

Log = Callable[[str], None] | None


def train(
    recipe: str | None = None,
    *,
    out: str | Path,
    config: str | Path | Mapping[str, Any] | None = None,
    progress: bool = True,
    log: Log = print,
    **keys: Any,
) -> Run:
    """Train ``recipe`` (the default recipe when ``None``) into a new run folder ``out``.

    Every key of ``config.toml`` is a keyword (``data="ring"``, ``steps=2000``, ``seed=0``,
    ``lr_d=1e-4``, ...; ``lr`` sets both players' rates). ``config`` is a TOML file or a
    mapping of keys, under the keywords. ``progress`` shows the bar; ``log`` receives the
    start line (``None``: silent). A run stopped by SIGINT or its time limit returns
    normally, checkpointed (``run.status`` says how it ended).

    Raises:
        GankitError: an unknown key, a bad value or data spec (before any folder is made), or
            an ``out`` that already holds a run or is in use.
        TrainingDiverged: a loss was not finite; the folder keeps its last good checkpoint.
    """
    from gankit.report.figures import write_snapshot
    from gankit.runfolder import read_toml
    from gankit.training.launch import start_run

    file_values = read_toml(Path(config)) if isinstance(config, (str, Path)) else config
    result = start_run(
        out,
        recipe,
        file_values,
        _with_lr(keys),
        progress=progress,
        log=log or _silent,
        figures=write_snapshot,
    )
    return Run(result.run_dir, result)


def resume(run_dir: str | Path, *, progress: bool = True, log: Log = print, **controls: Any) -> Run:
    """Continue the run in ``run_dir`` from its latest checkpoint, bit for bit as if it had
    not stopped. Only run controls may change: ``steps`` (the total), ``time_limit``,
    ``device``, ``log_every``, ``sample_every``.

    Raises:
        GankitError: not a run folder, in use, or a key that is not a run control.
    """
    from gankit.report.figures import write_snapshot
    from gankit.training.launch import resume_run

    result = resume_run(
        run_dir, _with_lr(controls), progress=progress, log=log or _silent, figures=write_snapshot
    )
    return Run(result.run_dir, result)


def load(run_dir: str | Path) -> Run:
    """The run in ``run_dir``, as written by ``gankit train`` or :func:`train`.

    Raises:
        GankitError: not a run folder.
    """
    from gankit.runfolder import RunPaths
    from gankit.training.checkpoint import require_run

    require_run(RunPaths(Path(run_dir)))
    return Run(Path(run_dir))


def study(
    name: str,
    *,
    out: str | Path,
    seed: int = 0,
    quick: bool = False,
    progress: bool = True,
    log: Log = print,
) -> StudyResult | list[StudyResult]:
    """Run study ``name`` (``gankit study --list``; ``"all"``: every study and an index page)
    into ``out``; returns its result (claims with measured values, ``holds``), or the list
    of results for ``"all"`` (with a bar that ticks once per study, and a line per study to
    ``log``).

    Raises:
        GankitError: an unknown study, or an ``out`` that cannot be made.
    """
    from gankit.studies import get_study
    from gankit.studies.runner import run_all, run_study

    if name == "all":
        return run_all(out, seed=seed, quick=quick, log=log or _silent, progress=progress)
    get_study(name)  # an unknown name fails before any folder is made
    return run_study(name, out, seed=seed, quick=quick)


class Run:
    """A run folder: its configuration, networks, samples, scores and metrics.

    The networks come from the newest checkpoint, read again when a newer one is written.
    ``result`` holds how :func:`train` or :func:`resume` ended (``None`` after :func:`load`).
    """

    def __init__(self, path: str | Path, result: TrainResult | None = None) -> None:
        self.path = Path(path)
        self.result = result
        self._loaded: tuple[tuple[int, int], Any] | None = None

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    @property
    def status(self) -> str | None:
        """How the last training call ended: "completed", "time_limit", "interrupted"."""
        return None if self.result is None else self.result.status

    @property
    def config(self) -> TrainConfig:
        """The run's resolved configuration (its checkpoint's)."""
        return self._checkpoint()[0]

    @property
    def step(self) -> int:
        """The step of the newest checkpoint."""
        return int(self._checkpoint()[2]["step"])

    @property
    def generator(self) -> torch.nn.Module:
        """The generator, in eval mode (EMA weights when the run keeps them)."""
        return self._checkpoint()[1]

    @property
    def critic(self) -> torch.nn.Module:
        """The critic (or discriminator), in eval mode."""
        from gankit.runs import load_critic

        config, _, state = self._checkpoint()
        return load_critic(config, state)

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """``metrics.jsonl``: one dict per logged step."""
        from gankit.runfolder import RunPaths, read_metrics

        return read_metrics(RunPaths(self.path).metrics)

    def sample(self, n: int = 1000, seed: int = 0, label: int | str | None = None) -> np.ndarray:
        """``n`` samples, shape ``(n, dim)`` or ``(n, C, H, W)`` in [-1, 1], from ``seed``.

        A conditional run draws class ``label`` (``gankit sample --class``; a
        self-conditioned run's classes are its image clusters), or with
        ``label="all"`` ``n`` of each class in turn (``n · classes`` samples), or by
        default classes as often as the data holds them.

        Raises:
            GankitError: a ``label`` on an unconditional run, or not one of its classes.
        """
        return self._labelled_sample(n, seed, label)[0]

    def _labelled_sample(
        self, n: int, seed: int, label: int | str | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`sample`'s samples and the classes asked for (``None``: unconditional)."""
        from gankit._validate import check_int
        from gankit.runs import labelled_samples

        config, generator, state = self._checkpoint()
        n = check_int("n", n)
        return labelled_samples(config, generator, n, seed, label, state.get("clusters"))

    def evaluate(
        self,
        n: int | None = None,
        seed: int = 0,
        *,
        features: str = "classifier",
        progress: bool = True,
        log: Log = print,
    ) -> dict[str, Any]:
        """The scores of ``gankit eval --json`` (written to ``eval.json`` too). On images the
        first evaluation trains gankit's classifier (a bar shows it) and caches it. ``n``:
        samples scored (``None``: the data set's protocol, 26,000 on ``stackedmnist``, else
        2,000)."""
        from gankit._validate import check_int
        from gankit.runs import evaluate_run

        n = None if n is None else check_int("n", n)
        return evaluate_run(
            self.path, n, seed, log=log or _silent, features=features, progress=progress
        )

    def write_samples(
        self, out: str | Path, n: int = 1000, seed: int = 0, label: int | str | None = None
    ) -> Path:
        """Write ``n`` samples to ``out`` (as ``gankit sample``): a ``.npy`` array, or a
        ``.png`` (an image grid, or toy samples plotted over fresh real ones); returns the path.
        ``label`` as in :meth:`sample`; with ``"all"`` the grid has one row of ``n`` per class.

        Raises:
            GankitError: ``out`` does not end in .npy or .png, or cannot be written; a bad
                ``label``.
        """
        import numpy as np

        from gankit.runfolder import atomic_write, output_file

        if Path(out).suffix not in (".npy", ".png"):
            raise GankitError(f"--out must end in .npy or .png, got {str(out)!r}")
        samples, labels = self._labelled_sample(n, seed, label)
        path = output_file(out)  # its missing folders are made
        if path.suffix == ".npy":
            atomic_write(path, lambda stream: np.save(stream, samples))
        elif samples.ndim == 4:
            from gankit.report.grid import save_grid

            save_grid(samples, path, columns=n if label == "all" else None)
        else:
            import torch

            from gankit.data import make_toy
            from gankit.report.figures import plot_toy_samples

            config = self.config
            real = make_toy(config.data).sample(n, torch.Generator().manual_seed(seed))
            title = f"{config.recipe} on {config.data}"
            plot_toy_samples(real.numpy(), samples, path, title=title, fake_labels=labels)
        return path

    def plot(self) -> Figure:
        """The newest sample figure of ``samples/`` as a matplotlib Figure (shown inline in a
        notebook; ``fig.savefig`` saves it).

        Raises:
            GankitError: the run has written no figure yet.
        """
        import numpy as np
        from matplotlib.figure import Figure
        from PIL import Image

        from gankit.runfolder import RunPaths

        figures = RunPaths(self.path).figures()
        if not figures:
            raise GankitError(f"{self.path} has no sample figure yet (samples/ is empty)")
        with Image.open(figures[-1]) as image:
            pixels = np.asarray(image.convert("RGB"))
        dpi = 100
        fig = Figure(figsize=(pixels.shape[1] / dpi, pixels.shape[0] / dpi), dpi=dpi)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.imshow(pixels, interpolation="nearest")
        ax.set_axis_off()
        return fig

    def report(self) -> Path:
        """Write ``report.html`` (as ``gankit report``); returns its path."""
        from gankit.report import write_report

        return write_report(self.path)

    def _checkpoint(self) -> tuple[TrainConfig, torch.nn.Module, dict[str, Any]]:
        """The newest checkpoint, loaded once per checkpoint file."""
        from gankit.runfolder import RunPaths
        from gankit.runs import load_run

        latest = RunPaths(self.path).latest
        stamp = (latest.stat().st_mtime_ns, latest.stat().st_size) if latest.exists() else (0, 0)
        if self._loaded is None or self._loaded[0] != stamp:
            self._loaded = (stamp, load_run(self.path))
        return self._loaded[1]


def _with_lr(keys: Mapping[str, Any]) -> dict[str, Any]:
    """``lr`` as both players' learning rates, under ``lr_g`` and ``lr_d`` when given."""
    keys = dict(keys)
    lr = keys.pop("lr", None)
    if lr is not None:
        for name in ("lr_g", "lr_d"):
            if keys.get(name) is None:
                keys[name] = lr
    return keys


def _silent(message: str) -> None:
    """A log that drops its messages."""
