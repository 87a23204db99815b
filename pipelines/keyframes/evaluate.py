"""Scoring detected shot boundaries against known ones (tests and the benchmark)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BoundaryScore:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_boundaries(
    detected: Sequence[int],
    truth: Sequence[tuple[int, int, int]],
    tolerance: int = 2,
) -> BoundaryScore:
    """Match detected boundary frames one-to-one with true ones.

    ``truth`` holds ``(frame, start, end)``: a hard cut has ``start == end == frame``; a gradual
    transition spans ``start..end`` (pass ``start == end == frame`` to demand the exact frame).
    A detection matches a true boundary when it lies in ``start - tolerance .. end +
    tolerance``; each detection and each true boundary is used at most once, nearest first.
    """
    free = sorted(detected)
    matched = 0
    for frame, start, end in sorted(truth):
        window = [d for d in free if start - tolerance <= d <= end + tolerance]
        if window:
            free.remove(min(window, key=lambda d: abs(d - frame)))
            matched += 1
    return BoundaryScore(matched, len(free), len(truth) - matched)
