"""Turning inference predictions into annotated video frames."""
