"""Measurements over runs and agents: where the attention lands (RAM objects), and
comparisons of groups of runs with rliable."""
