"""Speech analysis: the classical mouth track, Wav2Lip's mel spectrogram, espeak-ng speech."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from pipelines import media
from pipelines.errors import InputError, StudioError
from pipelines.talking_head import mel, speech
from pipelines.talking_head.analysis import analyse, frame_count
from tests.talking_head_fixtures import SR, VOWELS, modulated_voice, needs_espeak, vowel

FPS = 25.0


def test_mouth_opening_follows_loudness():
    samples, envelope = modulated_voice(6.0)
    track = analyse(samples, FPS)
    assert len(track) == frame_count(6.0, FPS) == 150
    centres = ((np.arange(len(track)) + 0.5) / FPS * SR).astype(int)
    assert np.corrcoef(track.open, envelope[centres])[0, 1] >= 0.8
    hop = int(SR / FPS)
    rms = np.sqrt([np.mean(samples[i * hop:(i + 1) * hop] ** 2) for i in range(len(track))])
    assert np.corrcoef(track.open, rms)[0, 1] >= 0.8
    assert track.open.max() > 0.8 and track.open.min() >= 0


def test_silence_and_pauses_keep_the_mouth_closed():
    silent = analyse(np.zeros(SR, np.float32), FPS)
    assert silent.silent and not silent.open.any() and len(silent) == 25
    voice = 0.5 * vowel(VOWELS["a"], 1.0)
    samples = np.concatenate([voice, np.zeros(SR, np.float32), voice])
    track = analyse(samples, FPS)
    assert not track.silent
    pause = track.open[25 + 4: 50]  # the mouth relaxes within 4 frames (160 ms)
    assert pause.max() < 0.02
    assert track.open[5:20].min() > 0.5 and track.open[55:70].min() > 0.5


def test_vowels_shape_the_mouth():
    shapes = {name: analyse(0.5 * vowel(formants, 1.0), FPS) for name, formants in VOWELS.items()}
    middle = slice(5, 20)
    opening = {name: float(np.median(t.open[middle])) for name, t in shapes.items()}
    shape = {name: float(np.median(t.shape[middle])) for name, t in shapes.items()}
    assert opening["a"] > 0.9
    assert opening["a"] > opening["i"] + 0.2 and opening["a"] > opening["u"] + 0.2
    assert opening["m"] < 0.3 * opening["a"]  # nasal murmur: lips closed
    assert shape["i"] > 0.5  # front vowel: spread lips
    assert shape["u"] < -0.3  # back close vowel: rounded lips
    assert abs(shape["a"]) < 0.2  # open vowel: neutral


def test_pitch_follows_the_voice_in_semitones():
    low, high = 0.5 * vowel(VOWELS["a"], 1.0, f0=110), 0.5 * vowel(VOWELS["i"], 1.0, f0=165)
    track = analyse(np.concatenate([low, np.zeros(SR // 2, np.float32), high]), FPS)
    assert len(track.pitch) == len(track)
    step = np.median(track.pitch[40:60]) - np.median(track.pitch[3:22])
    assert step == pytest.approx(12 * np.log2(165 / 110), abs=0.3)  # 7 semitones up, no octave
    assert np.ptp(track.pitch[40:60]) < 0.5 and np.ptp(track.pitch[3:22]) < 0.5
    assert not track.pitch[28:36].any()  # the pause is unvoiced
    assert not analyse(np.zeros(SR, np.float32), FPS).pitch.any()


def test_track_has_one_value_per_video_frame():
    for seconds, fps in ((0.05, 25.0), (1.0, 25.0), (2.01, 25.0), (1.0, 30.0)):
        track = analyse(0.3 * vowel(VOWELS["a"], seconds), fps)
        assert len(track) == int(np.ceil(seconds * fps - 1e-6))
        assert len(track.shape) == len(track.loudness) == len(track)


def reference_mel(samples: np.ndarray) -> np.ndarray:
    """The reference recipe written out with numpy: pre-emphasis, reflect-padded centred frames,
    periodic Hann window, |rfft|, Slaney mel filters, dB minus 20, symmetric [-4, 4] scaling."""
    x = samples.astype(np.float64)
    y = np.concatenate([[x[0]], x[1:] - 0.97 * x[:-1]])
    padded = np.pad(y, 400, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, 800)[::200]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(800) / 800)
    spectrum = np.abs(np.fft.rfft(frames * window, axis=1)).T
    basis = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    db = 20 * np.log10(np.maximum(1e-5, basis @ spectrum)) - 20
    return np.clip(8 * (db + 100) / 100 - 4, -4, 4)


def test_mel_matches_the_wav2lip_recipe():
    samples, _ = modulated_voice(1.3)
    spectrogram = mel.melspectrogram(samples)
    assert spectrogram.shape == (80, 1 + len(samples) // 200)
    assert spectrogram.dtype == np.float32
    np.testing.assert_allclose(spectrogram, reference_mel(samples), atol=1e-4)
    assert spectrogram.min() >= -4 and spectrogram.max() <= 4
    np.testing.assert_array_equal(mel.melspectrogram(np.zeros(3200, np.float32)), -4)


def test_mel_tone_lands_in_its_band():
    t = np.arange(SR) / SR
    spectrogram = mel.melspectrogram((0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32))
    centres = librosa.mel_frequencies(n_mels=82, fmin=55, fmax=7600)[1:-1]
    peak = int(np.argmax(spectrogram[:, 20:-20].mean(1)))
    assert abs(centres[peak] - 1000) < 60


def test_mel_windows_follow_the_frames():
    spectrogram = np.tile(np.arange(100, dtype=np.float32), (80, 1))  # column j holds j
    windows = mel.frame_windows(spectrogram, 30, 25.0)
    assert windows.shape == (30, 80, 16)
    for i in (0, 1, 7, 25):
        assert windows[i, 0, 0] == int(i * 80 / 25)
    assert windows[-1, 0, -1] == 99  # windows past the end hold the last 16 columns
    short = mel.frame_windows(np.zeros((80, 5), np.float32), 2, 25.0)
    assert short.shape == (2, 80, 16) and (short[:, :, 5:] == -4).all()


@needs_espeak
def test_espeak_speaks_text(tmp_path):
    path = speech.synthesize("Hello there, nice to meet you.", tmp_path / "hi.wav")
    samples = media.read_audio(path, SR)
    assert 1.0 < len(samples) / SR < 4.0
    assert np.abs(samples).max() > 0.1
    with pytest.raises(InputError, match="empty"):
        speech.synthesize("   ", tmp_path / "x.wav")
    with pytest.raises(InputError, match="no voice 'zz'"):
        speech.synthesize("hello", tmp_path / "x.wav", voice="zz")
    with pytest.raises(InputError, match="not an espeak-ng voice name"):
        speech.synthesize("hello", tmp_path / "x.wav", voice="en; rm -rf /")
    assert not (tmp_path / "x.wav").exists()


def test_missing_espeak_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(StudioError, match="apt-get install espeak-ng"):
        speech.synthesize("hello", tmp_path / "x.wav")


@needs_espeak
def test_espeak_speech_opens_the_mouth_and_pauses_close_it(tmp_path):
    parts = [media.read_audio(speech.synthesize(text, tmp_path / f"{n}.wav"), SR)
             for n, text in enumerate(("Good morning, my friend.", "How are you today?"))]
    pause = np.zeros(SR, np.float32)
    samples = np.concatenate([parts[0], pause, parts[1]])
    track = analyse(samples, FPS)
    start = int(np.ceil(len(parts[0]) / SR * FPS))
    end = int(len(parts[0]) / SR * FPS + FPS)
    assert track.open[start + 4: end].max() < 0.05
    speaking = np.concatenate([track.open[:start - 4], track.open[end + 1:]])
    assert (speaking > 0.25).mean() > 0.4 and speaking.max() > 0.6
