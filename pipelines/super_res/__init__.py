"""Super-resolution of images and videos: a classical filter, Swin2SR and ESRGAN-family models.

Modules: ``base`` (request/result types, checks, resampling), ``classical`` (the weight-free
default), ``tiling`` (overlapping, feathered, batched tiles), ``models`` (Swin2SR and spandrel
runners), ``job`` (what the tab and the CLI run), ``command`` (``cli.py upscale``), ``specs``.
"""
