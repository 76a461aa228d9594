"""The training monitor's schedule."""

from abnrl.monitor import next_multiple


def test_checkpoints_and_evaluations_fall_on_multiples_across_resumes():
    # A run resumed at 2,134,816 steps evaluates at 3M, as if it had never stopped.
    assert next_multiple(2_134_816, 1_000_000) == 3_000_000
    assert next_multiple(0, 250_000) == 250_000
    assert next_multiple(250_000, 250_000) == 500_000  # just done: the next one
    assert next_multiple(263_000, 4096) == 266_240
