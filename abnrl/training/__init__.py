"""Training an agent in a run dir: its config, the trainer, the monitor of its logs and stop
rules, checkpoints, evaluation games and the attention videos recorded along the way."""
