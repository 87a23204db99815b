"""Specs of the shared feature extractors (embeddings and metric networks used by metrics,
keyframes and benchmarks)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

SPECS = (
    PipelineSpec(
        id="metrics.clip-vit-b32",
        task="metrics",
        label="CLIP ViT-B/32 embeddings",
        kind="transformers",
        builder="pipelines.features.clip:build",
        repo_id="openai/clip-vit-base-patch32",
        # The repo's main branch has no safetensors file; transformers reads this .bin with
        # torch.load(weights_only=True), which refuses anything but tensors.
        files=("*.json", "merges.txt", "pytorch_model.bin"),
        license="MIT",
        est_memory_gb=0.6,
        dtypes=("float16", "float32"),
        tags=("embeddings", "clip", "keyframes", "benchmark"),
        description="Image and text embeddings for clustering, consistency and text-image scores.",
    ),
    PipelineSpec(
        id="metrics.i3d",
        task="metrics",
        label="I3D Kinetics-400 video features (FVD)",
        kind="torch",
        builder="pipelines.features.i3d:build",
        # Unverified: a mirror of VideoGPT's i3d_pretrained_400.pt (DeepMind's Kinetics-400 RGB
        # I3D converted to the PyTorch port's layout), a plain state dict that FVD code loads
        # with torch.load(weights_only=True). No safetensors copy was found.
        repo_id="Xiaodong/FVD_I3D",
        files=("i3d_pretrained_400.pt",),
        license="Apache-2.0",
        est_memory_gb=0.5,
        dtypes=("float32",),
        tags=("fvd", "video", "benchmark"),
        description="Inception-I3D (Kinetics-400 RGB) features of 16-frame 224x224 clips for the "
        "Fréchet Video Distance. Repo unverified.",
    ),
    PipelineSpec(
        id="metrics.lpips-alex",
        task="metrics",
        label="LPIPS v0.1 (AlexNet)",
        kind="torch",
        builder="pipelines.features.lpips_alex:build",
        # Unverified: torchvision's ImageNet AlexNet (IMAGENET1K_V1, 244 MB) as safetensors.
        # Only its convolution weights (features.*) are read; LPIPS' linear layers ship inside
        # the lpips package.
        repo_id="theunnecessarythings/vision_models",
        files=("alexnet.safetensors",),
        license="BSD-3-Clause",
        est_memory_gb=0.1,
        dtypes=("float32",),
        tags=("lpips", "image", "benchmark", "super_res"),
        description="Perceptual image distance (0 is identical) on AlexNet features. "
        "Backbone repo unverified.",
    ),
    PipelineSpec(
        id="metrics.face-landmarks",
        task="metrics",
        label="MediaPipe face detection + 468-point face mesh (LiteRT)",
        # LiteRT .tflite files, not torch, but the registry's nearest kind: fetched from the Hub,
        # built by a builder. They run on the CPU (ai-edge-litert) whatever device is picked.
        kind="torch",
        builder="pipelines.landmarks:build",
        # Unverified: no Hub mirror of MediaPipe's face_detection_short_range.tflite and
        # face_landmark.tflite could be confirmed from this machine. The same files ship inside
        # the mediapipe 0.10.21 wheel (mediapipe/modules/...); the patterns accept them at the
        # repo's root or under that layout, and a local folder works as repo_id.
        repo_id="spacetime-studio/mediapipe-face-mesh",
        files=("*face_detection_short_range.tflite", "*face_landmark.tflite"),
        license="Apache-2.0",
        est_memory_gb=0.02,
        dtypes=("float32",),
        tags=("faces", "landmarks", "portrait", "talking_head"),
        description="Face boxes and 468 face landmarks in a few milliseconds on the CPU; "
        "without them faces come from Haar cascades. Repo unverified.",
    ),
)
