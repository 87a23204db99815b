"""Speech to mouth movement, without weights: a mouth track at the video frame rate.

The audio is analysed at 100 frames per second (16 kHz, 32 ms Hann windows, 10 ms hop):

* loudness: band energy 80 Hz - 7.6 kHz relative to the speech's own loud level, gated below
  the noise floor so that pauses close the mouth, and compressed (amplitude ** 0.6, about how
  loudness grows with amplitude) into how far the jaw drops;
* the first-formant region (centroid of 200-1000 Hz): high for open vowels (/a/), low for close
  ones (/i/, /u/), so open vowels drop the jaw further;
* the second-formant region (centroid of 700-3000 Hz): high for front vowels (/i/, /e/, spread
  lips), low for back vowels (/u/, /o/, rounded lips) -> the lip shape;
* nasal murmur (nearly all energy below 400 Hz: /m/, /n/) closes the lips; frication (most
  energy above 3.5 kHz: /s/, /f/) leaves them barely parted;
* pitch (the voice's fundamental, 70-400 Hz, from the autocorrelation of 40 ms windows) in
  semitones above or below the speaker's median, 0 where unvoiced: intonation that raises the
  brows and lifts or nods the head (:func:`pipelines.talking_head.motion.speech_motion`).

The raw values are smoothed with a fast attack and a slower release (mouths open quickly and
relax more slowly) and averaged over each video frame's interval.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
HOP = 160  # 10 ms
N_FFT = 512
SILENT_PEAK = 10 ** (-70 / 20)  # audio that never rises above -70 dBFS counts as silence
GATE_BELOW_PEAK_DB = 38.0  # frames this far under the loud level are silence
ATTACK, RELEASE = 0.6, 0.25  # one-pole coefficients per 10 ms frame for the openness


@dataclass(frozen=True)
class MouthTrack:
    """Per video frame: how open the mouth is and its shape."""

    fps: float
    open: np.ndarray  # (n,) float32, 0 closed .. 1 wide open
    shape: np.ndarray  # (n,) float32, -1 rounded (/u/) .. 0 neutral .. +1 spread (/i/)
    loudness: np.ndarray  # (n,) float32, 0 silent .. 1 the speech's loud level (gated)
    silent: bool  # no speech at all: the mouth stays closed
    # (n,) float32: semitones above (+) or below (-) the speaker's median pitch; 0 unvoiced
    pitch: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.open)


def frame_count(seconds: float, fps: float) -> int:
    """Video frames that cover ``seconds`` of audio (the last one may run past it by < 1 frame)."""
    return max(1, int(np.ceil(seconds * fps - 1e-6)))


def _band_centroid(power: np.ndarray, freqs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    band = (freqs >= lo) & (freqs < hi)
    weights = power[band]
    return (weights * freqs[band, None]).sum(0) / np.maximum(weights.sum(0), 1e-20)


def _band_energy(power: np.ndarray, freqs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return power[(freqs >= lo) & (freqs < hi)].sum(0)


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 below ``lo``, 1 above ``hi``, linear between."""
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def _attack_release(x: np.ndarray, attack: float, release: float) -> np.ndarray:
    out = np.empty_like(x)
    state = 0.0
    for i, value in enumerate(x):
        coef = attack if value > state else release
        state += coef * (value - state)
        out[i] = state
    return out


def _per_video_frame(values: np.ndarray, fps: float, n_frames: int) -> np.ndarray:
    """Mean of the 100 Hz values whose times fall in each video frame's interval."""
    times = np.arange(len(values)) * HOP / SAMPLE_RATE
    edges = np.arange(n_frames + 1) / fps
    index = np.searchsorted(times, edges)
    sums = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    out = np.empty(n_frames, np.float32)
    for i in range(n_frames):
        lo, hi = index[i], index[i + 1]
        if hi > lo:
            out[i] = (sums[hi] - sums[lo]) / (hi - lo)
        else:  # fps above 100: take the nearest analysis frame
            out[i] = values[min(len(values) - 1, lo)]
    return out


CHUNK_FRAMES = 4096  # analysis frames (about 41 s) per block: memory does not grow with length


def padded_slice(samples: np.ndarray, start: int, stop: int, reflect: bool) -> np.ndarray:
    """``samples[start:stop]`` of the signal padded at both ends, without copying the whole
    signal: indices before 0 or past the end are mirrored (``reflect``, as ``np.pad``'s
    ``"reflect"`` mode) or zero."""
    n = len(samples)
    inner = samples[max(0, start): max(0, min(n, stop))]
    if start >= 0 and stop <= n:
        return inner
    index = np.arange(start, stop)
    if not reflect:
        out = np.zeros(stop - start, np.float32)
        inside = (index >= 0) & (index < n)
        out[inside] = samples[index[inside]]
        return out
    index = np.abs(index)  # mirror about the first sample
    index = np.where(index >= n, 2 * (n - 1) - index, index)  # and about the last
    return samples[index]


def spectrogram_blocks(samples: np.ndarray, block: int = CHUNK_FRAMES
                       ) -> Iterator[tuple[int, np.ndarray]]:
    """``(first frame, power)`` blocks of the ``(N_FFT // 2 + 1, 1 + len // HOP)`` power of
    centred, Hann-windowed frames, ``block`` frames at a time.

    Plain numpy (no librosa: importing and warming it costs a fresh process about two seconds,
    which the classical backend's real-time budget cannot spare). Each block reads only its own
    stretch of the audio, so memory is bounded by ``block`` however long the audio is.
    """
    half = N_FFT // 2
    reflect = len(samples) > half
    total = 1 + len(samples) // HOP
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann
    for first in range(0, total, block):
        count = min(block, total - first)
        part = padded_slice(samples, first * HOP - half, (first + count - 1) * HOP + half,
                            reflect)
        frames = np.lib.stride_tricks.sliding_window_view(part, N_FFT)[::HOP]
        power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
        yield first, power.T.astype(np.float32)


def power_spectrogram(samples: np.ndarray) -> np.ndarray:
    """The whole power spectrogram (:func:`spectrogram_blocks` joined): for short audio."""
    return np.concatenate([p for _, p in spectrogram_blocks(samples)], axis=1)


def _features(samples: np.ndarray, block: int) -> dict[str, np.ndarray]:
    """Per 10 ms frame, from each block of the spectrogram: the band energies and formant
    centroids the mouth track needs (a few numbers per frame, kept; the spectrum is not)."""
    freqs = np.fft.rfftfreq(N_FFT, 1 / SAMPLE_RATE)
    total = 1 + len(samples) // HOP
    out = {name: np.empty(total, np.float32)
           for name in ("total", "low", "high", "first", "second")}
    for first, power in spectrogram_blocks(samples, block):
        span = slice(first, first + power.shape[1])
        out["total"][span] = _band_energy(power, freqs, 80, 7600)
        out["low"][span] = _band_energy(power, freqs, 80, 400)
        out["high"][span] = _band_energy(power, freqs, 3500, 7600)
        out["first"][span] = _band_centroid(power, freqs, 200, 1000)
        out["second"][span] = _band_centroid(power, freqs, 700, 3000)
    return out


def analyse(samples: np.ndarray, fps: float, n_frames: int | None = None,
            block: int = CHUNK_FRAMES) -> MouthTrack:
    """The mouth track of mono 16 kHz ``samples`` at ``fps`` (``n_frames`` frames).

    The spectrum is worked through in blocks of ``block`` analysis frames; only per-frame
    features are kept, so the memory beyond the samples themselves grows by a few bytes per
    10 ms of audio.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if n_frames is None:
        n_frames = frame_count(len(samples) / SAMPLE_RATE, fps)
    zeros = np.zeros(n_frames, np.float32)
    if not samples.size or max(float(samples.max()), -float(samples.min())) < SILENT_PEAK:
        return MouthTrack(fps, zeros, zeros.copy(), zeros.copy(), silent=True,
                          pitch=zeros.copy())

    feats = _features(samples, block)
    total = feats["total"]
    level_db = 10 * np.log10(np.maximum(total, 1e-20))

    loud_db = float(np.percentile(level_db, 95))
    floor_db = float(np.percentile(level_db, 10))
    gate_db = max(loud_db - GATE_BELOW_PEAK_DB, min(floor_db + 8.0, loud_db - 20.0))
    amplitude = np.minimum(10 ** ((level_db - loud_db) / 20), 1.25)
    gate = (10 ** ((gate_db - loud_db) / 20)) ** 0.6
    loudness = np.clip((amplitude**0.6 - gate) / (1 - gate), 0.0, 1.0)

    safe = np.maximum(total, 1e-20)
    open_vowel = _ramp(feats["first"], 350, 720)
    front = np.tanh((feats["second"] - 1500) / 350)
    nasal = _ramp(feats["low"] / safe, 0.86, 0.92)
    fricative = _ramp(feats["high"] / safe, 0.3, 0.7)

    jaw = loudness * (0.45 + 0.55 * open_vowel) * (1 - 0.85 * nasal) * (1 - 0.6 * fricative)
    # Spread lips need a close vowel or a sibilant; rounding needs a close-to-mid back vowel.
    shape = np.where(front > 0, front * (1 - 0.5 * open_vowel), front * (1 - open_vowel))
    shape = np.clip(shape * (1 - nasal) + 0.5 * fricative, -1, 1) * (loudness > 0)

    jaw = _attack_release(jaw.astype(np.float64), ATTACK, RELEASE)
    kernel = np.hanning(7)[1:-1]  # 50 ms, weighted by loudness so quiet frames count less
    weight = np.convolve(np.pad(loudness, 2), kernel, "valid")
    shape = np.convolve(np.pad(shape * loudness, 2), kernel, "valid") / np.maximum(weight, 1e-6)
    return MouthTrack(
        fps=fps,
        open=np.clip(_per_video_frame(jaw, fps, n_frames), 0, 1),
        shape=np.clip(_per_video_frame(shape, fps, n_frames), -1, 1),
        loudness=_per_video_frame(loudness, fps, n_frames),
        silent=False,
        pitch=_per_video_frame(pitch_contour(samples, loudness, block // 2), fps, n_frames),
    )


PITCH_RANGE = (70.0, 400.0)  # Hz: low male to high female and child voices
PITCH_WINDOW = 640  # 40 ms: two periods of the lowest pitch
VOICING = 0.45  # normalised autocorrelation peak above which a window counts as voiced


def pitch_contour(samples: np.ndarray, loudness: np.ndarray, block: int = 2048) -> np.ndarray:
    """Per 10 ms analysis frame: semitones from the speaker's median pitch (0 if unvoiced).

    The normalised autocorrelation of each centred 40 ms window (computed by FFT, in chunks so
    memory stays bounded for long audio) peaks at the period; a peak under :data:`VOICING` or
    a frame the loudness gate closed counts as unvoiced; of peaks within 10 % of the highest the
    shortest lag wins (longer ones are octave errors). The contour is median-filtered over 50 ms.
    """
    n = len(loudness)
    half = PITCH_WINDOW // 2
    samples = np.asarray(samples, np.float32)
    lo = int(SAMPLE_RATE / PITCH_RANGE[1])
    hi = int(SAMPLE_RATE / PITCH_RANGE[0])
    window = np.hanning(PITCH_WINDOW).astype(np.float32)
    # Dividing by the window's own autocorrelation undoes its taper (Boersma, 1993).
    norm = np.fft.irfft(np.abs(np.fft.rfft(window, 2 * PITCH_WINDOW)) ** 2)[: hi + 1]
    count = min(n, 1 + (len(samples) + 2 * half - PITCH_WINDOW) // HOP)
    hz = np.zeros(count, np.float32)
    for start in range(0, count, block):
        stop = min(count, start + block)  # frames of this block, read from its own stretch
        part = padded_slice(samples, start * HOP - half, (stop - 1) * HOP + half, False)
        chunk = np.lib.stride_tricks.sliding_window_view(part, PITCH_WINDOW)[::HOP] * window
        chunk = chunk - chunk.mean(1, keepdims=True) * window
        spectrum = np.fft.rfft(chunk, 2 * PITCH_WINDOW, axis=1)
        acf = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, : hi + 1] / np.maximum(norm, 1e-9)
        acf = acf / np.maximum(acf[:, :1], 1e-12)
        band = acf[:, lo - 1: hi + 2]
        inner = band[:, 1:-1]
        best = inner.max(1, keepdims=True)
        # The shortest lag whose peak is within 10 % of the best: longer ones are octave errors.
        candidate = (inner >= band[:, :-2]) & (inner >= band[:, 2:]) & (inner >= 0.9 * best)
        lag = lo + np.argmax(candidate, axis=1)
        peak = acf[np.arange(len(acf)), lag]
        hz[start: start + len(chunk)] = np.where(peak >= VOICING, SAMPLE_RATE / lag, 0.0)
    hz[loudness[: len(hz)] <= 0] = 0
    voiced = hz > 0
    if voiced.sum() < 3:
        return np.zeros(n, np.float32)
    semitones = np.where(voiced, 12 * np.log2(np.maximum(hz, 1) / np.median(hz[voiced])), 0.0)
    padded_st = np.pad(semitones, 2, mode="edge")
    smooth = np.median(np.lib.stride_tricks.sliding_window_view(padded_st, 5), axis=1)
    out = np.zeros(n, np.float32)
    out[: len(smooth)] = np.clip(np.where(voiced, smooth, 0.0), -12, 12)
    return out
