"""Research scripts: screening, probing, grafting, distillation and branching of runs.

Not part of the packages (nothing in abnrl, agents, vision or envs imports them); run
them from the repository root, e.g. ``python -m experiments.branch_run RUN COPY --motion``;
their tests: ``python -m pytest experiments``.
"""
