"""Batch sizes of the embedding steps (a light module: the CLI reads it without importing torch).

Each is (padded tokens per batch on GPUs, on the CPU). GPU values are the optima measured on an H100
(research/gpu-baseline.md): 16k tokens for ESM-2 3B (larger batches pad more and gain nothing), about
1,000 sequences of ~110 tokens for DNABERT-S. On the CPU small batches are faster (the attention bias and
activations of large ones fall out of cache).
"""

ESM_BATCH_TOKENS = (16384, 2048)
DNABERT_BATCH_TOKENS = (131072, 2048)
