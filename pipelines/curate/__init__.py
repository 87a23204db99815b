"""Video curation at scale: shots, quality and motion filters, duplicates, clips and shards.

Modules: ``settings`` (every threshold and option), ``inputs`` (folders, files and path lists to
video paths), ``video`` (the per-video job: one keyframe pass, motion, sharpness, brightness,
keyframes, perceptual hashes, contact sheet), ``dedupe`` (near-duplicate shots across the corpus
by perceptual hash), ``clips`` (one MP4 per kept shot: stream copy or re-encode), ``shards``
(WebDataset-style tar shards), ``run`` (the whole run: engine, resume, manifest, summary),
``command`` (``python cli.py curate``).
"""
