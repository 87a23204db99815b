"""The benchmark harness: the same inputs through several backends of one task, side by side.

- :mod:`pipelines.benchmark.adapters`: per task, which inputs it takes, its examples, how one input
  becomes a request, and which quality metrics fit its output.
- :mod:`pipelines.benchmark.harness`: runs every (backend, input) pair, timed and memory-measured
  around the runner call alone, then scores the outputs and saves the run folder.
- :mod:`pipelines.benchmark.quality`: the metric networks (CLIP, I3D, LPIPS) through the registry.
- :mod:`pipelines.benchmark.results`: rows, the table, results.json / results.csv, history.
- :mod:`pipelines.benchmark.command`: ``python cli.py bench``.

Importing this package imports no torch, gradio or model library.
"""
