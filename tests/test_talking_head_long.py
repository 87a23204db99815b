"""Long audio: the analysis works in blocks, and frames stream to the writer one at a time."""

from __future__ import annotations

import tracemalloc

import numpy as np

from pipelines import media
from pipelines.talking_head import analysis
from pipelines.talking_head.analysis import analyse, padded_slice
from pipelines.talking_head.classical import ClassicalTalker
from pipelines.talking_head.source import StillPortrait
from pipelines.talking_head.types import TalkRequest
from tests.talking_head_fixtures import SR, modulated_voice, portrait, write_wav


def speech(seconds: float) -> np.ndarray:
    """A modulated voice with a 0.5 s pause every 4 s."""
    samples, _ = modulated_voice(seconds)
    t = np.arange(len(samples)) / SR
    return (samples * ((t % 4.0) < 3.5)).astype(np.float32)


def test_padded_slice_matches_padding_the_whole_signal():
    x = np.arange(1, 41, dtype=np.float32)
    for reflect, mode in ((True, "reflect"), (False, "constant")):
        whole = np.pad(x, 12, mode=mode)
        for start, stop in ((-12, 5), (-3, 30), (10, 20), (25, 52), (-12, 52)):
            got = padded_slice(x, start, stop, reflect)
            assert np.array_equal(got, whole[start + 12: stop + 12]), (mode, start, stop)


def test_analysis_in_blocks_matches_one_pass():
    samples = speech(60.0)
    one = analyse(samples, 25.0, block=1 << 20)  # the whole minute in one block
    blocks = analyse(samples, 25.0, block=257)  # blocks that do not divide anything evenly
    for name in ("open", "shape", "loudness", "pitch"):
        assert np.allclose(getattr(one, name), getattr(blocks, name), atol=1e-5), name
    assert one.loudness.max() > 0.5 and (one.loudness == 0).any()  # speech and pauses


def test_analysis_memory_does_not_grow_with_the_audio():
    """Three minutes of audio cost the analysis no more than one does (both fill whole blocks),
    to within the size of the extra samples themselves (a whole-audio spectrogram alone would
    cost 1.6 times the samples' size: 257 float32 bins per 160 samples)."""
    def peak(seconds: float) -> int:
        samples = speech(seconds)
        tracemalloc.start()
        analyse(samples, 25.0)
        peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak_bytes

    short, long = peak(60.0), peak(180.0)
    extra_samples = 120 * SR * 4
    assert long - short < extra_samples, (short, long)


def test_frames_reach_the_writer_as_they_are_made(tmp_path, monkeypatch):
    """60 s of speech: every frame is written before the next one is made."""
    made, written_after = [0], []
    frames = StillPortrait.frames

    def counting(self, *args, **kwargs):
        for pair in frames(self, *args, **kwargs):
            made[0] += 1
            yield pair

    write = media.VideoWriter.write

    def recording(self, frame):
        written_after.append(made[0])
        write(self, frame)

    monkeypatch.setattr(StillPortrait, "frames", counting)
    monkeypatch.setattr(media.VideoWriter, "write", recording)
    audio = write_wav(tmp_path / "minute.wav", speech(60.0))
    request = TalkRequest(face=portrait(tmp_path / "face.png"), audio=audio,
                          output=tmp_path / "out.mp4", max_side=256)
    result = ClassicalTalker()(request)
    assert result.frames == 1500 == len(written_after)
    # The k-th write happens when exactly k frames have been made: nothing is held back.
    assert written_after == list(range(1, 1501))
    assert analysis.CHUNK_FRAMES < 6000  # the minute's 6000 analysis frames took several blocks
