"""``python -m pipelines.portrait.sizes``: each image-to-video spec's weights in memory, its
estimated download and its memory figure, derived from :mod:`pipelines.portrait.memory`'s
footprints and storage facts (the table in docs/portrait.md)."""

from __future__ import annotations

from pipelines.portrait import memory
from pipelines.portrait.specs import SPECS


def main() -> None:
    print("| spec | weights in memory (GiB, bf16/fp16) | download (GB, as the repo stores "
          "them) | est_memory_gb (GiB, estimated `gpu` peak at the defaults) |")
    print("|---|---:|---:|---:|")
    for spec_id, *figures in memory.sizes_table(SPECS):
        print(f"| `{spec_id}` | " + " | ".join(figures) + " |")


if __name__ == "__main__":
    main()
