"""Small, deterministic, randomly initialised models in the real file formats, for tests and the demo."""
