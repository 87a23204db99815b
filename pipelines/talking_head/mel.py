"""The mel spectrogram the public Wav2Lip checkpoints were trained on, and its per-frame windows.

Parameters, as in the reference ``hparams.py`` / ``audio.py``: 16 kHz audio, pre-emphasis 0.97,
STFT with n_fft 800, hop 200, Hann window 800 (centred, *reflect* padding: the checkpoints were
trained with librosa 0.7, whose default that was; librosa 0.10 changed the default to constant),
80 Slaney mel bands from 55 to 7600 Hz, amplitude in dB (floor -100 dB) minus a 20 dB reference
level, scaled symmetrically to [-4, 4] and clipped.

Video frame ``i`` at ``fps`` sees the 16 mel frames (0.2 s) starting at ``int(i * 80 / fps)``;
frames whose window would run past the end see the last 16 mel frames.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 800
HOP = 200
WINDOW = 800
N_MELS = 80
FMIN, FMAX = 55.0, 7600.0
PREEMPHASIS = 0.97
MIN_LEVEL_DB = -100.0
REF_LEVEL_DB = 20.0
MAX_ABS = 4.0
STEP = 16  # mel frames per video frame's window
MEL_RATE = SAMPLE_RATE / HOP  # 80 mel frames per second


def melspectrogram(samples: np.ndarray) -> np.ndarray:
    """``(80, 1 + len // 200)`` float32 in [-4, 4] from mono 16 kHz ``samples``."""
    import librosa
    from scipy.signal import lfilter

    emphasised = lfilter([1.0, -PREEMPHASIS], [1.0], np.asarray(samples, dtype=np.float64))
    spectrum = np.abs(librosa.stft(emphasised, n_fft=N_FFT, hop_length=HOP, win_length=WINDOW,
                                   window="hann", center=True, pad_mode="reflect"))
    basis = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX)
    floor = 10 ** (MIN_LEVEL_DB / 20)
    level = 20 * np.log10(np.maximum(floor, basis @ spectrum)) - REF_LEVEL_DB
    scaled = 2 * MAX_ABS * (level - MIN_LEVEL_DB) / -MIN_LEVEL_DB - MAX_ABS
    return np.clip(scaled, -MAX_ABS, MAX_ABS).astype(np.float32)


def frame_windows(mel: np.ndarray, n_frames: int, fps: float) -> np.ndarray:
    """``(n_frames, 80, 16)``: the mel window each video frame is generated from."""
    if mel.shape[1] < STEP:  # under 0.2 s of audio: pad with silence
        mel = np.pad(mel, ((0, 0), (0, STEP - mel.shape[1])), constant_values=-MAX_ABS)
    starts = np.minimum((np.arange(n_frames) * (MEL_RATE / fps)).astype(np.int64),
                        mel.shape[1] - STEP)
    return np.stack([mel[:, s: s + STEP] for s in starts]).astype(np.float32)
