"""The named recipes: the fields each sets over the `Recipe` defaults."""

from keras_simclr.layers.augmentation import color_distortion as color
from keras_simclr.layers.augmentation.gaussian_blur import DEFAULT_BLUR_PROB
from keras_simclr.layers.augmentation.random_resized_crop import (
    DEFAULT_CROP_RATIO,
    DEFAULT_CROP_SCALE,
)

# SimCLR's augmentation knobs (Chen et al. 2020, appendix A), the same in
# every preset: crop area U[0.08, 1], aspect ratio in [3/4, 4/3], jitter
# with p = 0.8 (0.8 s brightness, contrast, saturation; 0.2 s hue),
# grayscale with p = 0.2, blur (where on) with p = 0.5.
PAPER_AUGMENT = dict(
    crop_scale=DEFAULT_CROP_SCALE,
    crop_ratio=DEFAULT_CROP_RATIO,
    color_jitter_prob=color.DEFAULT_COLOR_JITTER_PROB,
    grayscale_prob=color.DEFAULT_GRAYSCALE_PROB,
    blur_prob=DEFAULT_BLUR_PROB,
    **dict(zip(color.JITTER_NAMES, color.DEFAULT_JITTER)),
)

# The named recipes (Chen et al. 2020, section 4 and appendix B.9; SimCLRv2):
# the fields they set over the defaults.
PRESETS = {
    # The embedded dataset and a small network: a few minutes on a CPU.
    "demo": dict(
        dataset="shapes",
        image_size=32,
        batch_size=128,
        epochs=6,
        learning_rate=1.0,
        learning_rate_scaling="linear",
        warmup_epochs=1,
        weight_decay=1e-6,
        optimizer="lars",
        temperature=0.2,
        color_jitter_strength=0.5,
        blur=False,
        **PAPER_AUGMENT,
        resnet_depth=18,
        width_multiplier=1,
        cifar_stem=False,
        proj_layers=2,
        proj_dim=64,
        probe=True,
    ),
    # The reference's CIFAR-10 recipe (google-research/simclr README).
    "cifar10": dict(
        dataset="cifar10",
        image_size=32,
        batch_size=512,
        epochs=1000,
        learning_rate=1.0,
        learning_rate_scaling="linear",
        warmup_epochs=10,
        weight_decay=1e-4,
        optimizer="lars",
        temperature=0.5,
        color_jitter_strength=0.5,
        blur=False,
        **PAPER_AUGMENT,
        resnet_depth=18,
        width_multiplier=1,
        cifar_stem=True,
        proj_layers=3,
        proj_dim=128,
        probe=True,
    ),
    # The paper's ImageNet recipe.
    "imagenet": dict(
        dataset="imagenet2012",
        image_size=224,
        batch_size=4096,
        epochs=100,
        learning_rate=0.075,
        learning_rate_scaling="sqrt",
        warmup_epochs=10,
        weight_decay=1e-6,
        optimizer="lars",
        temperature=0.1,
        color_jitter_strength=1.0,
        blur=True,
        **PAPER_AUGMENT,
        resnet_depth=50,
        width_multiplier=1,
        cifar_stem=False,
        proj_layers=3,
        proj_dim=128,
        probe=True,
    ),
}
# SimCLRv2's ImageNet recipe (arXiv 2006.10029): the ImageNet recipe with
# selective kernels, weight decay 1e-4, 800 epochs and a 3-layer head
# fine-tuned from its first layer. The paper's biggest network is
# resnet_depth=152, width_multiplier=3.
PRESETS["imagenet_v2"] = dict(
    PRESETS["imagenet"], epochs=800, weight_decay=1e-4, sk_ratio=0.0625, head_layer=1
)
