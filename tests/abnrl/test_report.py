"""``abnrl report``: a self-contained HTML page of a run."""

import re

from tests.abnrl.conftest import abnrl


def test_report_is_self_contained(trained_run, tmp_path):
    video = trained_run / "checkpoints" / "attention.mp4"
    abnrl("watch", trained_run, "--max-frames", 40, "--device", "cpu", "--out", video)
    out = tmp_path / "report.html"
    abnrl("report", trained_run, "--out", out)
    page = out.read_text()
    for section in ("Learning curve", "Attention videos", "Config"):
        assert f"<h2>{section}</h2>" in page
    assert 'src="data:image/png;base64,' in page and 'src="data:video/mp4;base64,' in page
    assert not re.search(r'(src|href)="(?!data:)', page), "every resource is inlined"


def test_report_of_a_folder_that_is_no_run(tmp_path):
    result = abnrl("report", tmp_path, check=False)
    assert result.returncode == 2 and "is not a run dir" in result.stderr
