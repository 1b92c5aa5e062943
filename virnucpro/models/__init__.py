"""Model architectures, one module each, and their safe loaders."""
