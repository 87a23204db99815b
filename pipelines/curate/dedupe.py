"""Near-duplicate shots across a corpus by the perceptual hash of their keyframes.

Two hashes within ``bits`` differing bits must agree exactly on at least one of ``bits + 1``
disjoint slices of the 64 bits (pigeonhole), so each hash is only compared with the earlier
hashes that share a slice: near-linear for millions of shots instead of all pairs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise


def _slices(bits: int) -> list[tuple[int, int]]:
    parts = bits + 1
    edges = [round(64 * i / parts) for i in range(parts + 1)]
    return [(a, b) for a, b in pairwise(edges) if b > a]


def find_duplicates(hashes: Sequence[int | None] | Sequence[Sequence[int | None]],
                    bits: int) -> list[int | None]:  # fmt: skip
    """For each item, the position of the first earlier item (itself not a duplicate) that any
    of its hashes matches within ``bits`` bits, or None. ``hashes`` is one hash per item, or
    several parallel lists (e.g. keyframe and mid-shot hashes). None hashes never match."""
    lists = [hashes] if not hashes or (not isinstance(hashes[0], (list, tuple)) and \
        not any(isinstance(h, (list, tuple)) for h in hashes)) else hashes  # fmt: skip
    lists = [list(h) for h in lists]
    slices = _slices(bits)
    index: list[dict[tuple[int, int], list[int]]] = [defaultdict(list) for _ in lists]
    originals: list[int | None] = []
    for position in range(len(lists[0])):
        match = None
        all_keys = []
        for which, values in enumerate(lists):
            value = values[position]
            if value is None:
                all_keys.append([])
                continue
            keys = [(n, (value >> a) & ((1 << (b - a)) - 1)) for n, (a, b) in enumerate(slices)]
            all_keys.append(keys)
            candidates = sorted({c for key in keys for c in index[which].get(key, ())})
            found = next((c for c in candidates
                          if (values[c] ^ value).bit_count() <= bits), None)  # fmt: skip
            if found is not None and (match is None or found < match):
                match = found
        if match is None:  # an original: index it for later items
            for which, keys in enumerate(all_keys):
                for key in keys:
                    index[which][key].append(position)
        originals.append(match)
    return originals
