"""Sweeps: a grid of ``abnrl train`` options x seeds planned into trials and run on Ray."""
