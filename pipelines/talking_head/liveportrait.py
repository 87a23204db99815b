"""LivePortrait talking heads: one portrait speaks, its implicit keypoints driven by the audio.

The speech's curves (:mod:`pipelines.talking_head.analysis` and
:func:`pipelines.talking_head.motion.speech_motion`: mouth opening from loudness and formants,
head turns and nods from loudness and pitch, brows from pitch, blinks) become LivePortrait's
controls, the same ones the portrait editor exposes (:mod:`pipelines.portrait.liveportrait`):

* mouth: the lip retargeting MLP, asked to open the lips by ``LIPS_OPEN * opening`` (times the
  ``mouth_strength`` setting) above the source's own lip ratio;
* blinks: the eye retargeting MLP, asked to close the eyes by the blink's closure;
* head: yaw, pitch and roll rotate the keypoints (``R_source @ R(pitch, yaw, roll)``);
* brows: the editor's brow offsets of the implicit keypoints.

Each retargeting offset is taken relative to the MLP's answer for the source's own ratios, so
silence with the eyes open renders the source itself. The stitching MLP keeps the crop's border
in place, the warping module and SPADE decoder render the crop, and it is pasted back into the
full portrait. Frames are rendered and encoded one at a time (memory does not grow with the
audio's length). The weights are ``portrait.liveportrait``'s files (the same Hub repo and
revision): one download serves both tasks.
"""

from __future__ import annotations

import numpy as np
import torch

from metrics.timing import StageTimer
from pipelines.errors import InputError
from pipelines.portrait.liveportrait import motion as mo
from pipelines.portrait.liveportrait.crop import Crop, PasteBack
from pipelines.portrait.liveportrait.runner import (
    LIPS_OPEN,
    LivePortraitRunner,
    load_networks,
    source_openness,
)
from pipelines.registry import LoadContext
from pipelines.talking_head import common
from pipelines.talking_head.analysis import MouthTrack
from pipelines.talking_head.motion import SpeechMotion
from pipelines.talking_head.source import StillPortrait
from pipelines.talking_head.types import TalkRequest, TalkResult

BROW_SCALE = 0.6  # a full brow raise from the speech is the editor's brow slider at 0.6
VIDEO_HINT = ("The LivePortrait talking head animates a portrait image; for a face video pick "
              "the classical or a Wav2Lip backend.")


class LivePortraitTalker(LivePortraitRunner):
    """LivePortrait's networks, driven by speech curves instead of a driving video."""

    def __call__(self, request: TalkRequest,
                 progress: common.Progress | None = None) -> TalkResult:
        timer = StageTimer()
        prepared = common.prepare(request, timer)
        source = prepared.source
        if not isinstance(source, StillPortrait):
            raise InputError(VIDEO_HINT)
        track = prepared.track
        motion = source.motion(track, request)
        mouth_keypoints = np.zeros(len(track), np.float32)
        frames = self._talk(source, track, motion, request, mouth_keypoints)
        count = common.write_video(request, prepared, frames, timer, progress)
        curves = motion.curves()
        curves["mouth_keypoints"] = mouth_keypoints
        return common.result(request, prepared, count, timer, track.open, curves)

    def _mlp(self, net: str, flat: torch.Tensor, values: list[float]) -> torch.Tensor:
        extra = torch.tensor([values], dtype=torch.float32, device=flat.device)
        return self._nets[net](torch.cat([flat, extra], dim=1)).view(1, -1, 3)

    def _talk(self, source: StillPortrait, track: MouthTrack, motion: SpeechMotion,
              request: TalkRequest, mouth_keypoints: np.ndarray):
        rgb, face = source.rgb, source.face
        box = face.box
        crop = Crop.around((box.x, box.y, box.w, box.h))
        landmarks = face.landmarks if face.source == "mediapipe" else None
        left, right, lip = source_openness(None, landmarks)
        eyes_open = (left + right) / 2
        info, f_s, x_s = self._prepare(rgb, crop)
        with torch.inference_mode():
            flat = x_s.reshape(1, -1)
            rest_lip = self._mlp("lip", flat, [lip, lip])
            rest_eye = self._mlp("eye", flat, [left, right, eyes_open])
        paste = None
        for i in range(len(track)):
            opening = float(track.open[i]) * request.mouth_strength
            closure = float(motion.blink[i])
            with torch.inference_mode():
                lip_delta = self._mlp("lip", flat, [lip, lip + LIPS_OPEN * opening]) - rest_lip
                mouth_keypoints[i] = float(lip_delta.norm())
                x_d = mo.compose(
                    info.kp,
                    info.rotation @ mo.rotation(*(torch.tensor([float(v[i])], device=x_s.device)
                                                  for v in (motion.pitch, motion.yaw,
                                                            motion.roll))),
                    mo.edit_expression(info.exp, brow=BROW_SCALE * float(motion.brow[i])),
                    info.scale, info.t) + lip_delta
                if closure > 0.01:
                    x_d = x_d + self._mlp("eye", flat, [left, right,
                                                        eyes_open * (1 - closure)]) - rest_eye
                x_d = self._stitch(x_s, x_d)
                rendered = self._render(f_s, x_s, x_d)
            if paste is None:
                paste = PasteBack(rgb, crop, rendered.shape[0])
            yield paste(rendered)


def build(ctx: LoadContext) -> LivePortraitTalker:
    """Registry builder: the published LivePortrait networks (or a folder's tiny ones)."""
    return LivePortraitTalker(load_networks(ctx), device=ctx.device, dtype=ctx.dtype)
