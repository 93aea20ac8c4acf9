"""Data sets and data specs (``ring:modes=8``, ``mnist5k``); see docs/guide.md, "Data"."""

from __future__ import annotations

from gankit.data.images import IMAGE_SETS, ImageSet, is_image_spec, make_images
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
from gankit.errors import GankitError


def make_data(spec: str) -> ToyDistribution | ImageSet:
    """The toy distribution or image set a spec names.

    Raises:
        GankitError: as :func:`make_toy` or :func:`make_images`; an unknown name lists every
            known set.

    Example:
        >>> make_data("ring:modes=4").spec
        'ring:modes=4,radius=2.0,std=0.02'
    """
    if is_image_spec(spec):
        return make_images(spec)
    if is_toy_spec(spec):
        return make_toy(spec)
    name = parse_spec(spec)[0]
    raise GankitError(
        f"data spec {spec!r}: unknown data set {name!r}; toy sets: {', '.join(TOY_SETS)}; "
        f"image sets: {', '.join(IMAGE_SETS)}"
    )


__all__ = [
    "IMAGE_SETS",
    "ImageSet",
    "is_image_spec",
    "make_data",
    "make_images",
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
