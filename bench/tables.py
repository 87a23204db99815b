"""Plain-text tables for the benchmarks' printed reports (columns padded, a rule under the
header)."""

from __future__ import annotations


def text_table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [list(headers), *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def dict_table(rows: list[dict]) -> str:
    """Rows that share their keys, the first row's keys as the header."""
    headers = list(rows[0])
    return text_table(headers, [[r[h] for h in headers] for r in rows])
