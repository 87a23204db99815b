"""Talking-head speed: the classical backend's real-time factor, and Wav2Lip's frames per second.

Classical: a 512x512 portrait (scikit-image's astronaut) speaks about 20 s of speech (espeak-ng
when installed, else an amplitude-modulated synthetic vowel), with blinks and head motion on.
The real-time factor is compute seconds per second of output video, encoding and audio muxing
included (target: at most 0.5). The first job in a fresh process also pays for importing and
warming librosa; it is reported apart from the median of the warm runs.

Wav2Lip: the full-size network with random weights (speed does not depend on weight values),
frames per second of the forward pass on 96x96 crops for batch sizes 1 to 128, fp16 on a CUDA
device. Without one, that part is reported as not measurable here, and a few CPU batch sizes
are timed instead for reference.

Sync (``--sync``): how well the rendered mouth follows the speech, measured on the output video
with the MediaPipe face mesh (:mod:`pipelines.landmarks`; its files from the catalog, else from
the MediaPipe 0.10.21 wheel as tests/media_real.py reads them): per frame the inner-lip gap over
the inter-ocular distance, against the audio's gated loudness at 25 fps (Pearson correlation at
lag 0, and the best lag within +-3 frames), and the fraction of pause frames (loudness 0, at
least 3 frames into the pause) whose mouth is at rest (within 0.03 of the portrait's own
opening). Inputs: espeak-ng speech, and a real recording, alsa-utils' ``Front_Center.wav``
(from /usr/share/sounds/alsa, else ``apt-get download alsa-utils`` into the cache). Backends:
classical with the default head motion and with none; LivePortrait only when its real weights
are on disk (random weights would measure nothing). A SyncNet lip-sync confidence needs
LatentSync's ``latentsync_syncnet.pt``; without it the row says so.

Long audio (``--long 180``): the classical job on that many seconds of looped espeak-ng speech
in a fresh process, its peak resident memory (``ru_maxrss``) beside a 20 s job's: frames are
made, encoded and dropped one at a time, so the two should be close.

Run from the repository root:

    python bench/talking_head.py [--runs 3] [--seconds 20]
    python bench/talking_head.py --sync --long 180 --skip-speed --skip-wav2lip
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines import media  # noqa: E402
from pipelines.talking_head import speech  # noqa: E402
from pipelines.talking_head.classical import ClassicalTalker  # noqa: E402
from pipelines.talking_head.sync import REST_TOLERANCE, mouth_curve, sync_scores  # noqa: E402
from pipelines.talking_head.types import TalkRequest  # noqa: E402

TARGET_RTF = 0.5
PARAGRAPH = (
    "Good evening. Tonight we look at the sky above us. The moon is bright, and the stars are "
    "clear. Astronauts who visit the station can see sixteen sunrises every day. "
    "Each orbit takes about ninety minutes, and the view of our blue planet never gets old. "
    "Thank you for listening, and good night."
)


def make_speech(folder: Path, seconds: float) -> tuple[Path, str]:
    """About ``seconds`` of speech and what made it."""
    if speech.espeak_path() is not None:
        path = speech.synthesize(PARAGRAPH, folder / "paragraph.wav", rate=150)
        samples = media.read_audio(path, 16000)
        reps = max(1, round(seconds / (len(samples) / 16000)))
        return (media.write_wav(folder / "speech.wav", np.tile(samples, reps), 16000),
                f"espeak-ng paragraph x{reps}")
    t = np.arange(int(seconds * 16000)) / 16000
    voice = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 40))
    envelope = np.clip(np.sin(2 * np.pi * 1.7 * t), 0, 1)
    return (media.write_wav(folder / "speech.wav", 0.3 * voice / 3 * envelope, 16000),
            "synthetic modulated voice (espeak-ng not installed)")


def bench_classical(runs: int, seconds: float) -> None:
    from skimage import data

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        face = media.save_image(folder / "portrait.png", data.astronaut())
        audio, origin = make_speech(folder, seconds)
        duration = len(media.read_audio(audio, 16000)) / 16000
        runner = ClassicalTalker()
        print(f"classical backend, 512x512 portrait, {duration:.1f} s of audio ({origin}), "
              "blinks and head motion on, H.264 encoding and AAC muxing included")
        results = []
        for run in range(runs + 1):
            request = TalkRequest(face=face, audio=audio, output=folder / f"out{run}.mp4")
            start = time.perf_counter()
            result = runner(request)
            elapsed = time.perf_counter() - start
            results.append((elapsed, result))
            stages = ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items())
            label = "cold (first job in the process)" if run == 0 else f"warm run {run}"
            print(f"  {label:34s} {elapsed:6.2f} s  RTF {elapsed / duration:.3f}  [{stages}]")
        warm = statistics.median(elapsed for elapsed, _ in results[1:])
        rtf = warm / duration
        frames = results[-1][1].frames
        print(f"  median warm: {warm:.2f} s for {frames} frames = {frames / warm:.1f} fps")
        print(f"  real-time factor {rtf:.3f} (target <= {TARGET_RTF}); target / measured = "
              f"{TARGET_RTF / rtf:.2f}; cold RTF {results[0][0] / duration:.3f}")


def bench_wav2lip(cpu_batches: tuple[int, ...]) -> None:
    import torch

    from pipelines.talking_head.network import Wav2Lip

    cuda = torch.cuda.is_available()
    if cuda:
        device, dtype, batches = "cuda", torch.float16, (1, 2, 4, 8, 16, 32, 64, 128)
        print(f"Wav2Lip full size, random weights, fp16 on {torch.cuda.get_device_name()}")
    else:
        device, dtype, batches = "cpu", torch.float32, cpu_batches
        print("Wav2Lip full size, random weights: GPU part NOT MEASURABLE HERE (no CUDA device); "
              f"CPU float32 with {torch.get_num_threads()} threads for reference")
    model = Wav2Lip().to(device, dtype).eval()
    with torch.inference_mode():
        for batch in batches:
            faces = torch.rand(batch, 6, 96, 96, device=device, dtype=dtype)
            mels = torch.rand(batch, 1, 80, 16, device=device, dtype=dtype) * 8 - 4
            model(mels, faces)  # warm-up
            reps = max(3, 256 // batch) if cuda else max(2, 16 // batch)
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(reps):
                model(mels, faces)
            if cuda:
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            print(f"  batch {batch:4d}: {batch * reps / elapsed:8.1f} frames/s")


SYNC_TEXT = ("Hello. My name is Eileen, and I flew on the space shuttle four times. "
             "Would you like to hear about it? Launch day is loud, and the ride is rough. "
             "Then, suddenly, everything is quiet.")
SYNCNET_FILE = "latentsync_syncnet.pt"


def real_recording(cache: Path) -> Path | None:
    """alsa-utils' Front_Center.wav (a woman saying "Front center"), or None."""
    system = Path("/usr/share/sounds/alsa/Front_Center.wav")
    if system.is_file():
        return system
    target = cache / "media" / "alsa" / "Front_Center.wav"
    if target.is_file():
        return target
    import shutil
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(["apt-get", "download", "alsa-utils"], cwd=tmp, check=True,
                           capture_output=True, timeout=120)
            deb = next(Path(tmp).glob("alsa-utils_*.deb"))
            subprocess.run(["dpkg", "-x", str(deb), str(Path(tmp) / "x")], check=True,
                           capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError, StopIteration):
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(tmp) / "x/usr/share/sounds/alsa/Front_Center.wav", target)
    return target


def face_mesh():
    """The studio's landmark runner: from the catalog, else from the MediaPipe wheel's files."""
    from pipelines import landmarks

    runner = landmarks.load_landmarker()
    if runner is not None:
        return runner, "catalog"
    try:
        from tests.media_real import face_model_folder, landmark_registry

        folder = face_model_folder()
        return landmarks.load_landmarker(landmark_registry(folder)), f"{folder}"
    except BaseException as err:  # pytest.skip raises a BaseException when pip cannot fetch
        if isinstance(err, KeyboardInterrupt):
            raise
        return None, f"unavailable ({err})"


def bench_sync() -> None:
    from skimage import data

    from pipelines import landmarks
    from pipelines.catalog import build_registry
    from pipelines.talking_head.analysis import analyse

    mesh, where = face_mesh()
    if mesh is None:
        print(f"sync: NOT MEASURABLE HERE: the face mesh model is {where}")
        return
    print(f"sync: MediaPipe face mesh from {where}; mouth = inner-lip gap / inter-ocular "
          f"distance; rest = the portrait's own opening + {REST_TOLERANCE}")
    registry = build_registry()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        face = media.save_image(folder / "portrait.png", data.astronaut())
        rest = landmarks.mouth_opening(mesh(data.astronaut(), max_faces=1)[0])
        audios = []
        if speech.espeak_path() is not None:
            audios.append(("espeak-ng text", speech.synthesize(SYNC_TEXT, folder / "text.wav")))
        else:
            print("  espeak-ng speech: NOT MEASURABLE HERE (espeak-ng is not installed)")
        recording = real_recording(Path("~/.cache/spacetime").expanduser())
        if recording is not None:
            audios.append(("Front_Center.wav (real)", recording))
        else:
            print("  real recording: NOT MEASURABLE HERE (no alsa-utils Front_Center.wav)")
        variants = [("classical, head motion 0.5", "talking_head.classical", 0.5),
                    ("classical, head motion 0", "talking_head.classical", 0.0)]
        if registry.status("talking_head.liveportrait").on_disk:
            variants.append(("liveportrait, head motion 0.5", "talking_head.liveportrait", 0.5))
        else:
            print("  liveportrait: NOT MEASURED: its weights are not on this machine (random "
                  "weights would measure nothing); `python cli.py fetch talking_head.liveportrait`")
        print("  syncnet confidence: NOT AVAILABLE: no SyncNet implementation and no "
              f"{SYNCNET_FILE} (LatentSync) here, so no number is reported")
        print(f"  {'audio':26s} {'backend':31s} {'secs':>5s} {'r(lag0)':>8s} {'best lag':>9s} "
              f"{'r(best)':>8s} {'pause fr':>8s} {'at rest':>8s} {'face found':>10s}")
        for label, audio in audios:
            samples = media.read_audio(audio, 16000)
            seconds = len(samples) / 16000
            loudness = analyse(samples, 25.0).loudness
            for name, spec_id, motion in variants:
                runner = registry.load(spec_id)
                out = folder / f"{spec_id}-{motion}-{len(label)}.mp4"
                runner(TalkRequest(face=face, audio=Path(audio), output=out, head_motion=motion))
                s = sync_scores(mouth_curve(out, mesh), loudness, rest)
                print(f"  {label:26s} {name:31s} {seconds:5.1f} {s.r:8.3f} "
                      f"{s.best_lag:+9d} {s.r_best:8.3f} {s.pause_frames:8d} "
                      f"{s.at_rest:8.1%} {s.found:10.1%}")


LONG_JOB = """
import resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from pipelines.talking_head.classical import ClassicalTalker
from pipelines.talking_head.types import TalkRequest
start = time.perf_counter()
result = ClassicalTalker()(TalkRequest(face=Path({face!r}), audio=Path({audio!r}),
                                       output=Path({out!r})))
print(result.frames, round(time.perf_counter() - start, 1),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_long(seconds: float) -> None:
    import subprocess

    from skimage import data

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        face = media.save_image(folder / "portrait.png", data.astronaut())
        print("long audio: classical backend, 512x512 portrait, peak RSS of a fresh process")
        for length in (20.0, seconds):
            sub = folder / f"{length:g}"
            sub.mkdir()
            audio, origin = make_speech(sub, length)
            code = LONG_JOB.format(root=str(ROOT), face=str(face), audio=str(audio),
                                   out=str(folder / f"long{length:g}.mp4"))
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True)
            frames, elapsed, rss_kb = done.stdout.split()[-3:]
            print(f"  {origin:28s} {int(frames) / 25:7.1f} s audio, {frames:>5s} frames: "
                  f"{float(elapsed):7.1f} s, peak RSS {int(rss_kb) / 1024:7.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="warm runs of the classical backend")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the speech")
    parser.add_argument("--skip-wav2lip", action="store_true")
    parser.add_argument("--skip-speed", action="store_true", help="no classical speed runs")
    parser.add_argument("--sync", action="store_true", help="measure lip sync (face mesh)")
    parser.add_argument("--long", type=float, default=0.0,
                        help="seconds of looped speech for the peak-memory check (0: off)")
    args = parser.parse_args()
    if not args.skip_speed:
        bench_classical(args.runs, args.seconds)
    if args.sync:
        bench_sync()
    if args.long:
        bench_long(args.long)
    if not args.skip_wav2lip:
        bench_wav2lip(cpu_batches=(1, 8, 32))


if __name__ == "__main__":
    main()
