"""Magenta arbitrary style (style.magenta) on real files: texture, structure and speed, beside the
classical presets.

    python cli.py fetch style.magenta
    python bench/style_magenta.py [--repeats 5]

Content: scikit-image's ``chelsea`` (451x300). Style: Starry Night (Debian's opencv-doc,
``examples/data/starry_night.jpg``, fetched with ``apt-get download`` into ~/.cache/spacetime).

1. Quality, one row per backend and setting:
   - texture: ``metrics.texture.texture_distance(result, style)`` over the content's own
     distance to the style (1.0 is the content's texture; target for Magenta: at most 0.5);
   - structure: ``metrics.texture.edge_ssim(result, content)`` (target: at least 0.25).
   Magenta runs at strengths 1.0, 0.8 and 0.6 at the content's size (what the studio does), and,
   for comparison only, with the content enlarged 2x before the network and the result reduced
   back (finer strokes relative to the picture; four times the work; not offered in the studio).
   AdaIN is measured too when its weights are on disk.
2. Speed: one 768x576 frame through Magenta's stylizer and through the classical ``painting``
   preset, interleaved, ``--repeats`` times each: best and median wall time and the median CPU
   time of the process; ``uptime``'s load is printed first (the machine is shared).

Results are printed and written to bench/results/style_magenta.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.tables import dict_table as table  # noqa: E402
from metrics.texture import edge_ssim, texture_distance  # noqa: E402
from pipelines.catalog import build_registry  # noqa: E402
from pipelines.style.classical import make_stylizer as classical_stylizer  # noqa: E402
from pipelines.style.settings import CLASSICAL_METHODS  # noqa: E402
from pipelines.style.types import StyleRequest  # noqa: E402

SPEC = "style.magenta"
STRENGTHS = (1.0, 0.8, 0.6)
SPEED_SIZE = (768, 576)


def request(**settings) -> StyleRequest:
    return StyleRequest("content.png", "style.png", "out.png", **settings)


def starry_night() -> np.ndarray:
    import pytest

    from pipelines.media import load_image
    from tests.media_real import opencv_doc_file

    try:
        return load_image(opencv_doc_file("starry_night.jpg")).rgb
    except pytest.skip.Exception as skipped:
        raise SystemExit(f"Starry Night is not available: {skipped}") from None


def enlarged(stylize, frame: np.ndarray, scale: float) -> np.ndarray:
    """``stylize`` run on ``frame`` enlarged ``scale`` times, the result reduced back."""
    height, width = frame.shape[:2]
    big = cv2.resize(frame, (round(width * scale), round(height * scale)),
                     interpolation=cv2.INTER_CUBIC)
    return cv2.resize(stylize(big), (width, height), interpolation=cv2.INTER_AREA)


def quality(registry, content: np.ndarray, style: np.ndarray) -> list[dict]:
    base = texture_distance(content, style)
    rows = [{"backend": "content itself", "setting": "-", "texture_vs_content": 1.0,
             "texture_distance": round(base, 4), "edge_ssim": 1.0}]

    def row(backend: str, setting: str, out: np.ndarray) -> None:
        distance = texture_distance(out, style)
        rows.append({"backend": backend, "setting": setting,
                     "texture_vs_content": round(distance / base, 3),
                     "texture_distance": round(distance, 4),
                     "edge_ssim": round(edge_ssim(out, content), 3)})

    for method in CLASSICAL_METHODS:
        row("classical", f"{method}, strength 0.8",
            classical_stylizer([style], request(method=method, strength=0.8))(content))
    magenta = registry.load(SPEC)
    for scale in (1.0, 2.0):
        for strength in STRENGTHS:
            stylize = magenta.make_stylizer([style], request(strength=strength))
            out = stylize(content) if scale == 1.0 else enlarged(stylize, content, scale)
            label = "" if scale == 1.0 else " (content 2x, not offered)"
            row("magenta", f"strength {strength}{label}", out)
    if registry.status("style.adain").on_disk:
        adain = registry.load("style.adain")
        for strength in STRENGTHS:
            row("adain", f"strength {strength}",
                adain.make_stylizer([style], request(strength=strength))(content))
    else:
        rows.append({"backend": "adain", "setting": "weights not on disk: not measured",
                     "texture_vs_content": None, "texture_distance": None, "edge_ssim": None})
    return rows


def speed(registry, content: np.ndarray, style: np.ndarray, repeats: int) -> list[dict]:
    frame = cv2.resize(content, SPEED_SIZE, interpolation=cv2.INTER_CUBIC)
    runners = {
        "magenta, strength 1.0": registry.load(SPEC).make_stylizer([style],
                                                                   request(strength=1.0)),
        "magenta, strength 0.8": registry.load(SPEC).make_stylizer([style],
                                                                   request(strength=0.8)),
        "classical painting": classical_stylizer([style], request(method="painting")),
    }
    walls: dict[str, list[float]] = {name: [] for name in runners}
    cpus: dict[str, list[float]] = {name: [] for name in runners}
    for stylize in runners.values():
        stylize(frame)  # warm-up (and the content's style vector, fixed on the first frame)
    for _ in range(repeats):
        for name, stylize in runners.items():
            wall, cpu = time.perf_counter(), time.process_time()
            stylize(frame)
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    return [{"stylizer": name, "frame": f"{SPEED_SIZE[0]}x{SPEED_SIZE[1]}",
             "best_s": round(min(walls[name]), 3),
             "median_s": round(statistics.median(walls[name]), 3),
             "cpu_s": round(statistics.median(cpus[name]), 3)} for name in runners]



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from skimage import data

    registry = build_registry()
    if not registry.status(SPEC).on_disk:
        raise SystemExit(f"{SPEC} is not on disk: run `python cli.py fetch {SPEC}`.")
    content, style = data.chelsea(), starry_night()
    runner = registry.load(SPEC)
    report: dict = {"providers": runner.providers, "cpus": os.cpu_count()}

    print(f"1. Chelsea ({content.shape[1]}x{content.shape[0]}) after Starry Night "
          f"({style.shape[1]}x{style.shape[0]})")
    report["quality"] = quality(registry, content, style)
    print(table(report["quality"]))
    print("texture_vs_content: distance to the style's texture over the content's own (lower "
          "is closer; Magenta target <= 0.5); edge_ssim: edges kept (target >= 0.25)")

    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\n2. Speed, {args.repeats} interleaved runs each; {load}")
    report["load"] = load
    report["speed"] = speed(registry, content, style, args.repeats)
    print(table(report["speed"]))
    print(f"onnxruntime providers: {', '.join(runner.providers)}")

    out = ROOT / "bench" / "results" / "style_magenta.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
