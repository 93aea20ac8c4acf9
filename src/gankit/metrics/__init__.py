"""Sample-based scores of generated data: mode coverage and distances on toy sets."""

from gankit.metrics.toy import HIGH_QUALITY_STDS, evaluate_toy, mode_stats

__all__ = ["HIGH_QUALITY_STDS", "evaluate_toy", "mode_stats"]
