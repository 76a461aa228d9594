"""Files the tests read.

``GROUPNORM_AGENT``: the ABN-PPO Breakout agent that shipped before the attention designs
(4,630,688 steps, the branch with GroupNorm on its map, half-precision weights). It is the
agent saved in the older format, and the one whose flat map the attention analysis
measured.
"""

from pathlib import Path

GROUPNORM_AGENT = Path(__file__).with_name("breakout-abn-groupnorm-4.63m.zip")
