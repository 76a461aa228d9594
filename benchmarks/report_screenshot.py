"""Open an ``abnrl report`` page in headless Chromium, offline, and check the screenshot.

    python benchmarks/report_screenshot.py runs/abn-ppo/report.html --out report.png

Needs Debian's ``chromium``. The check: the page renders (a screenshot is taken with
the network switched off) and shows more than a blank page.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np


def screenshot(page: Path, out: Path, size: tuple[int, int] = (1200, 2400)) -> np.ndarray:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed (apt-get install chromium).")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--proxy-server=127.0.0.1:9",
                f"--user-data-dir={profile}",
                f"--window-size={size[0]},{size[1]}",
                f"--screenshot={out.resolve()}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return cv2.imread(str(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("--out", type=Path, default=Path("report.png"))
    args = parser.parse_args()
    image = screenshot(args.page, args.out)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    inked = float((grey < 200).mean())  # share of non-white pixels: text, plots, video frame
    print(f"screenshot {args.out}: {image.shape[1]}x{image.shape[0]}, {inked:.1%} inked")
    if inked < 0.02:
        raise SystemExit("the page rendered blank")


if __name__ == "__main__":
    main()
