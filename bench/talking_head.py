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

Run from the repository root:

    python bench/talking_head.py [--runs 3] [--seconds 20]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="warm runs of the classical backend")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the speech")
    parser.add_argument("--skip-wav2lip", action="store_true")
    args = parser.parse_args()
    bench_classical(args.runs, args.seconds)
    if not args.skip_wav2lip:
        bench_wav2lip(cpu_batches=(1, 8, 32))


if __name__ == "__main__":
    main()
