"""benchmarks/learning_curves.py: the legend and title of the long runs' figure."""

from benchmarks.learning_curves import labels_and_title

SHARED = {"game": "breakout", "protocol": "classic", "n_envs": 8}
SOFTMAX = {**SHARED, "policy": "abn", "attention": "softmax", "attention_heads": 8,
           "attention_motion": True, "map_entropy_coef": 0.05}  # fmt: skip
STOCK = {**SHARED, "policy": "cnn", "seed": 0}


def test_one_abn_run_is_labelled_by_its_design():
    labels, title = labels_and_title([{**SOFTMAX, "seed": 0}], STOCK)
    assert labels == [
        "ABN-PPO (ours): softmax attention, 8 heads, motion channel, map entropy 0.05"
    ]
    assert title == "Breakout, classic protocol, seed 0 (RL Zoo PPO settings, 8 envs)"


def test_seeds_of_one_design_are_labelled_by_seed_and_the_title_names_the_design():
    labels, title = labels_and_title([{**SOFTMAX, "seed": 0}, {**SOFTMAX, "seed": 1}], STOCK)
    assert labels == ["ABN-PPO (ours), seed 0", "ABN-PPO (ours), seed 1"]
    first, *design = title.split("\n")
    assert first == "Breakout, classic protocol, seeds 0, 1 (RL Zoo PPO settings, 8 envs)"
    assert (
        " ".join(design) == "ABN-PPO: softmax attention, 8 heads, motion channel, map entropy 0.05"
    )
    assert all(len(line) <= len(first) for line in design)


def test_runs_of_different_designs_keep_their_designs_and_seeds():
    stage_one = {key: value for key, value in SOFTMAX.items() if key != "map_entropy_coef"}
    labels, title = labels_and_title([{**SOFTMAX, "seed": 0}, {**stage_one, "seed": 1}], STOCK)
    assert labels == [
        "ABN-PPO (ours): softmax attention, 8 heads, motion channel, map entropy 0.05, seed 0",
        "ABN-PPO (ours): softmax attention, 8 heads, motion channel, seed 1",
    ]
    assert "\n" not in title


def test_a_change_made_at_a_branch_point_names_its_step():
    branched = {**SOFTMAX, "seed": 0, "map_spread_coef": 0.05, "branches": [
        {"step": 4_000_768, "from": "runs/s0",
         "changes": {"map_entropy_coef": 0.05, "map_spread_coef": 0.05}},
    ]}  # fmt: skip
    labels, _ = labels_and_title([branched], STOCK)
    assert labels == [
        "ABN-PPO (ours): softmax attention, 8 heads, motion channel, "
        "map entropy 0.05 from 4.0M steps, map spread 0.05 from 4.0M steps"
    ]


def test_runs_without_a_stock_run_are_titled_by_their_own_game_and_seeds():
    pong = {**SOFTMAX, "game": "pong", "seed": 1}
    labels, title = labels_and_title([pong], None)
    assert labels == [
        "ABN-PPO (ours): softmax attention, 8 heads, motion channel, map entropy 0.05"
    ]
    assert title == "Pong, classic protocol, seed 1 (RL Zoo PPO settings, 8 envs)"
