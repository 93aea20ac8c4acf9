"""Figures of runs and studies."""

from gankit.report.figures import plot_toy_samples

__all__ = ["plot_toy_samples"]
