"""Networks several tasks use that are no task of their own: the metric networks (CLIP, LPIPS,
I3D for FVD) and the face landmark model. ``specs.py`` registers them (ids ``metrics.*``); the
pure metric functions that take their outputs live in :mod:`metrics`."""
