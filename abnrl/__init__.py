"""abnrl."""
