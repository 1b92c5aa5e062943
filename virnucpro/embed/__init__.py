"""Embedding steps: one shared engine (device, precision, token-budget batching, OOM handling) and two models."""
