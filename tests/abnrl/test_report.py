"""``abnrl report``: a self-contained HTML page of a run."""

import base64
import json
import os
import re
import shutil

from tests.abnrl.cli import abnrl


def test_report_is_self_contained(trained_run, tmp_path):
    video = trained_run / "checkpoints" / "attention.mp4"
    abnrl("watch", trained_run, "--max-frames", 40, "--device", "cpu", "--out", video)
    out = tmp_path / "report.html"
    abnrl("report", trained_run, "--out", out)
    page = out.read_text()
    for section in ("Learning curve", "Attention videos", "Where it trained", "Config"):
        assert f"<h2>{section}</h2>" in page
    assert "<tr><td>0</td>" in page  # the run's one start, at step 0
    assert 'src="data:image/png;base64,' in page and 'src="data:video/mp4;base64,' in page
    assert not re.search(r'(src|href)="(?!data:)', page), "every resource is inlined"


def test_report_of_a_folder_that_is_no_run(tmp_path):
    result = abnrl("report", tmp_path, check=False)
    assert result.returncode == 2 and "is not a run dir" in result.stderr


def test_every_value_from_the_run_dir_is_escaped(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    script = "<script>alert(1)</script>"
    summary = {"episodes": 1, "mean": 1, "std": 0, "median": 1, "min": 1, "max": 1}
    evaluation = {
        "game": script,
        "protocol": script,
        "agent_steps": 128,
        "deterministic": False,
        "summary": {**summary, "length_mean": 9},
    }
    (run / "checkpoints" / "eval.json").write_text(json.dumps(evaluation))
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "policy": script, script: 1}))
    segments = (run / "segments.csv").read_text().splitlines()
    (run / "segments.csv").write_text("\n".join([*segments, f"x,8,{script},cpu,1,2,3"]) + "\n")
    abnrl("report", run, "--out", tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert "<script" not in page and page.count("&lt;script&gt;") >= 5


def test_only_regular_video_files_inside_the_run_dir_are_inlined(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    secret = tmp_path / "secret.txt"
    secret.write_text("THE-SECRET-BYTES")
    videos = run / "videos"
    videos.mkdir(exist_ok=True)
    (videos / "leak.mp4").symlink_to(secret)
    os.mkfifo(videos / "pipe.mp4")  # reading it would wait forever
    result = abnrl("report", run, "--out", tmp_path / "report.html")
    assert result.returncode == 0
    page = (tmp_path / "report.html").read_text()
    assert "leak.mp4: left out, not a regular file inside the run dir." in page
    assert "pipe.mp4: left out" in page
    encoded = base64.b64encode(secret.read_bytes()).decode()
    assert "THE-SECRET-BYTES" not in page and encoded[:12] not in page


def test_config_values_that_look_like_math_text_are_drawn_as_text(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "backbone": r"$\undefinedmacro$"}))
    result = abnrl("report", run, "--out", tmp_path / "report.html")
    assert result.returncode == 0 and "progress.csv" not in result.stderr
    assert r"$\undefinedmacro$" in (tmp_path / "report.html").read_text()
