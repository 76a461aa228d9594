"""One module per CLI command: a config dataclass (its fields are the flags) and ``run``."""
