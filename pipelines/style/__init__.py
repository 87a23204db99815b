"""Style transfer: colour/tone and painterly effects (classical) and AdaIN, for images and videos,
with optical-flow temporal consistency for videos."""
