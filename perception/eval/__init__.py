"""Metrics: per-task evaluators that compare decoded predictions with ground truth."""
