"""Studies: each claim of docs/theory.md as a seeded experiment that measures it.

Every study module has the same small interface: ``NAME``, ``CLAIM`` (one line) and
``run(out, *, seed=0, quick=False) -> StudyResult``. ``gankit study NAME --out DIR`` writes
``DIR/results.json`` (the claims with their verdicts, plus the study's data), PNG figures and
``DIR/summary.md``. Modules are imported only when their study runs.

Inside, every study has the same shape: ``measure(settings, seed) -> dict`` runs the
experiment and returns its data (what ``results.json`` holds besides the claims),
``claims(data)`` judges the claims from that data alone, ``figures(data, out)`` draws it and
``summary(data)`` describes it; ``run`` composes the four, with ``DEFAULT`` or ``QUICK``
settings.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from gankit.errors import GankitError

# name -> module, in the order of docs/theory.md
STUDIES: dict[str, str] = {
    "inverse-cdf": "gankit.studies.inverse_cdf",
    "uniform-shift": "gankit.studies.uniform_shift",
    "parallel-segments": "gankit.studies.parallel_segments",
    "optimal-discriminator": "gankit.studies.optimal_discriminator",
    "vanishing-gradients": "gankit.studies.vanishing_gradients",
    "gradient-tails": "gankit.studies.gradient_tails",
    "mode-collapse": "gankit.studies.mode_collapse",
    "w-correlation": "gankit.studies.w_correlation",
    "lipschitz-scale": "gankit.studies.lipschitz_scale",
    "f-divergences": "gankit.studies.f_divergences",
}


def get_study(name: str) -> ModuleType:
    """The module of study ``name``; unknown names list the known ones."""
    if name not in STUDIES:
        raise GankitError(f"unknown study {name!r}; expected one of: {', '.join(STUDIES)}")
    return importlib.import_module(STUDIES[name])


__all__ = ["STUDIES", "get_study"]
