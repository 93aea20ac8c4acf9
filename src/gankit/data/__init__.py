"""Data sets and data specs (``ring:modes=8``); see DESIGN.md, "Data specs"."""

from gankit.data.spec import format_spec, parse_spec
from gankit.data.toy import (
    TOY_SETS,
    GaussianMixture1D,
    Grid,
    Ring,
    Segments,
    SwissRoll,
    ToyDistribution,
    Uniform1D,
    is_toy_spec,
    make_toy,
)

__all__ = [
    "TOY_SETS",
    "GaussianMixture1D",
    "Grid",
    "Ring",
    "Segments",
    "SwissRoll",
    "ToyDistribution",
    "Uniform1D",
    "format_spec",
    "is_toy_spec",
    "make_toy",
    "parse_spec",
]
