"""Every setting of frame interpolation, declared once (light: no numpy, no OpenCV)."""

from __future__ import annotations

from pipelines.task import Schema, Setting

FACTORS = (2, 3, 4, 8)
MAX_FPS = 240.0

SETTINGS = Schema("interpolate", (
    Setting("factor", 2, "Frame-rate factor", "Multiply the frame rate by this (unless a "
            "target fps is set).", choices=FACTORS, labels=("2x", "3x", "4x", "8x")),
    Setting("fps", 0.0, "Target fps (0: use the factor)",
            "Output frame rate, at or above the source's (e.g. 24 -> 60; non-integer ratios "
            "are timed exactly).", 0.0, MAX_FPS, 1.0, unit="fps"),
    Setting("slowmo", False, "Slow motion (keep the source fps, play the new frames at it)",
            "Same frame rate, more frames: the video plays factor times slower (no sound)."),
    Setting("dedupe", False, "Drop duplicate frames first",
            "For animation on twos and screen recordings: near-identical neighbours are dropped "
            "and their time is spread over the frames made."),
    Setting("scene_cuts", True, "Never blend across scene cuts",
            "Frames at a cut repeat the nearer side instead of mixing two shots.",
            advanced=True),
    Setting("max_side", 0, "Working size (longer side, pixels; 0: full size)",
            "Downscale larger videos to this size first.", 0, 8192, 16, unit="px",
            advanced=True),
))
