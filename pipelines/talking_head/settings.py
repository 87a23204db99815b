"""Every setting of talking heads, declared once (light: no numpy, no torch).

Settings are in the order of the tab's API parameters (``/talking_head``: portrait, face video,
audio, text, voice, rate, backend, blinks, head motion, mouth, seed, longest side, batch size,
chin padding, sharpen); the backend and the seed are not settings, so they sit between them in
the API only. New settings go at the end. The tab's widgets, the CLI's flags (``python cli.py
talk``, names unchanged), request validation, the manifest's parameters and the benchmark's
variants all come from :data:`SETTINGS`. Backend groups: ``classical`` (the mouth warp) and
``wav2lip`` (the lip-sync networks).
"""

from __future__ import annotations

from pipelines.registry import PipelineSpec
from pipelines.talking_head.speech import DEFAULT_RATE, RATE_RANGE
from pipelines.task import Schema, Setting

GROUPS = ("classical", "wav2lip")


def group_of(spec: PipelineSpec) -> str:
    """Which controls a backend takes: ``wav2lip`` for the lip-sync networks, else classical."""
    return "wav2lip" if "lip-sync" in spec.tags else "classical"


SETTINGS = Schema("talking_head", (
    Setting("voice", "en", "Voice", "espeak-ng voice for typed text (`espeak-ng --voices` lists "
            "them)."),
    Setting("rate", DEFAULT_RATE, "Words per minute", "Speaking rate of typed text.",
            RATE_RANGE[0], RATE_RANGE[1], 5, unit="words/min"),
    Setting("blinks", True, "Blinks (portraits only)",
            "Blink now and then (a face video keeps its own blinks).", advanced=True),
    Setting("head_motion", 0.5, "Head motion (portraits only; 0 keeps it still)",
            "How much the head turns, nods and raises its brows with the speech: 1 is lively "
            "(turns up to about 6 degrees), 0.5 gentle (a face video keeps its own motion).",
            0.0, 1.0, 0.05, advanced=True),
    Setting("mouth_strength", 1.0, "Mouth opening (classical)",
            "Classical: how far the mouth opens at full voice.", 0.0, 2.0, 0.05,
            backends=("classical",), advanced=True, flag="--mouth"),
    Setting("max_side", 1280, "Longest side (larger inputs are scaled down)",
            "Larger faces are scaled down so their longer side is this.", 64, 4096, 64,
            unit="px", advanced=True),
    Setting("batch_size", 16, "Lip-sync batch size",
            "Wav2Lip and MuseTalk: face crops per forward pass.",
            1, 512, 1, backends=("wav2lip",), advanced=True),
    Setting("chin_padding", 0.2, "Lip-sync chin padding (fraction of the face height)",
            "Wav2Lip and MuseTalk: extend the face crop down by this fraction of its "
            "height.", 0.0, 1.0, 0.02, backends=("wav2lip",), advanced=True),
    Setting("sharpen", "", "Sharpen the mouth with super-resolution (lip-sync models)",
            "Wav2Lip and MuseTalk: a super-resolution backend id that sharpens each "
            "generated mouth crop; empty: off.", backends=("wav2lip",), advanced=True),
))
