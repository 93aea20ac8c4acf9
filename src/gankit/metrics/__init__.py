"""Sample-based scores of generated data: mode coverage and distances on toy sets."""

from gankit.metrics.images import (
    class_coverage,
    evaluate_images,
    frechet_distance,
    kernel_distance,
    precision_recall,
)
from gankit.metrics.stacked import evaluate_stacked, mode_statistics
from gankit.metrics.toy import HIGH_QUALITY_STDS, evaluate_toy, mode_stats

__all__ = [
    "class_coverage",
    "evaluate_images",
    "frechet_distance",
    "kernel_distance",
    "precision_recall",
    "evaluate_stacked",
    "mode_statistics",
    "HIGH_QUALITY_STDS",
    "evaluate_toy",
    "mode_stats",
]
