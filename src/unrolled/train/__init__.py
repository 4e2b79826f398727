"""Training: a small time-capped loop (`train_steps`); ``fit`` will build on it."""

from .loop import train_steps

__all__ = ["train_steps"]
