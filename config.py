"""Every knob of a run, in one place.

Edit the defaults below, pick a preset (`--preset quick`), or override any field from the
command line of any script (`python train.py --image_size 64 --finetune_epochs 3`).
The resolved config is saved with the run, so later scripts and readers know what ran.
"""

import dataclasses
import math
import os
from dataclasses import dataclass

from data.spec import DATASETS, MAX_SIDE
from runkit.errors import UserError


@dataclass
class Config:
    # --- data (docs/datasets.md) ---
    dataset: str = "fashion_mnist"  # fashion_mnist, mnist, cifar10, cifar100, or folder (a subfolder per class)
    data_dir: str | None = None  # where it is (folder: required); None: $FASHION_MNIST_DIR or $MNIST_DIR, else download
    stored_size: int | None = None  # folder: side its pictures are fitted to once; None: their own if one square
    # size up to 128, else 64
    test_fraction: float = 0.15  # folder without test/: stratified share held out once as the test set (seed 0)
    val_fraction: float = 0.1  # stratified share of the training set held out for validation
    split_seed: int | None = None  # seed of that split; None: seed (set it to hold out the same images over seeds)
    # --- model ---
    architecture: str = "mobilenet_v2"  # mobilenet_v2 (ImageNet-pretrained), or cnn / vit trained from scratch
    image_size: int = 128  # the stored images (28x28 here) are resized to image_size x image_size inside the model
    alpha: float = 0.35  # MobileNetV2 width multiplier (ImageNet weights exist for 0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
    weights: str | None = "imagenet"  # MobileNetV2's: "imagenet" (download), a local no-top .h5 path, or none
    cnn_filters: int = 16  # cnn: channels of the first stage (then x2, x4)
    vit_patch_size: int = 4  # vit: side of the square patches (image_size must be a multiple)
    vit_dim: int = 64  # vit: token width
    vit_depth: int = 4  # vit: transformer blocks
    vit_heads: int = 4  # vit: attention heads (vit_dim must be a multiple)
    dropout: float = 0.2  # dropout before the classifier
    l2: float = 1e-4  # L2 penalty on the classifier's kernel
    # --- augmentation (training only; empty space is filled as the data set says: the MNISTs' black background) ---
    # The geometric changes are off by default: in runs this short they cost accuracy (docs/experiments.md).
    rotation: float = 0.0  # max rotation as a fraction of a full turn (e.g. 0.03)
    zoom: float = 0.0  # max zoom in/out as a fraction of the image (e.g. 0.1)
    shear: float = 0.0  # max shear as a fraction of the image (e.g. 0.05)
    translation: float = 0.0  # max shift as a fraction of the image (e.g. 0.08)
    horizontal_flip: bool = True  # clothes are left-right symmetric, up-down is not (never on MNIST: the data set says)
    erasing: float = 0.0  # probability of blanking a random rectangle (random erasing, Zhong et al. 2020)
    # The corruption families (docs/robustness.md): sketch, light, blur, sensor and impulse noise, lines, gratings;
    # all off.
    contrast: float = 0.0  # max contrast change as a fraction (e.g. 0.5: x0.5 to x1.5)
    brightness: float = 0.0  # max brightness shift as a fraction of the pixel range (e.g. 0.3: +-77 of 255)
    blur: float = 0.0  # probability of a Gaussian blur (sigma up to 1 pixel of the stored image)
    noise: float = 0.0  # max standard deviation of Gaussian pixel noise, in 0-255 levels (drawn per image)
    sketch: float = 0.0  # probability of redrawing an image as a sketch of its edges
    impulse: float = 0.0  # max share of pixels set to black or white (salt and pepper, drawn per image; e.g. 0.1)
    lines: float = 0.0  # probability of 1 to 3 straight lines drawn across an image
    gratings: float = 0.0  # probability of stripes over an image (a grating at any angle, period 2 to 8 pixels)
    augmix: bool = False  # AugMix: chains of random operations mixed with the image (Hendrycks et al. 2020)
    consistency: float = 0.0  # weight of AugMix's Jensen-Shannon consistency loss (the paper's 12; 0: off): the
    # label's loss on the picture, the families above and AugMix in views of it; each step runs 1 + views passes
    consistency_views: int = 2  # corrupted views beside the picture (the paper's 2; 1: two thirds of the work)
    consistency_share: float = 1.0  # share of each batch the views are made of (its first pictures, in shuffled
    # order): each view's pass costs that share of the picture's
    augment_share: float = 1.0  # share of training images the geometric changes and these four reach (the rest
    # stay as stored: flips and erasing reach all)
    family_share: float = 1.0  # share of training images each of these changes reaches, drawn change by change
    # (1: each reaches all; below 1 a picture gets a few at a time, as bench.robustness tests them one at a time)
    # --- training: phase 1 trains the head on a frozen base, phase 2 fine-tunes the base ---
    batch_size: int = 128  # per replica: the global batch is batch_size x replicas (1 unless --strategy says)
    frozen_epochs: int = 2  # phase 1 epochs
    finetune_epochs: int = 22  # phase 2 epochs
    finetune_layers: int = 0  # how many top layers of the base phase 2 unfreezes; 0 = all
    finetune_lr_scale: float = 1.0  # phase 2 uses the cyclical LR bounds times this factor
    optimizer: str = "adam"  # adam, adamw, sgd or rmsprop
    jit_compile: bool = False  # force XLA on the training step; False: Keras decides (XLA on GPUs, not on CPUs)
    mixed_precision: str = "off"  # training computes in: off (float32), mixed_bfloat16 or mixed_float16 (GPUs)
    steps_per_execution: int = 1  # training steps per call of the compiled step (fewer host round trips)
    compilation_cache: str | None = "runs/jax_cache"  # JAX: compiled steps kept for later runs of the same shapes
    label_smoothing: float = 0.0  # share of each target spread over all classes (Szegedy et al. 2016)
    # Knowledge distillation (models/distillation.py): the teachers must share the split (--split_seed).
    teachers: str | None = None  # trained run folders, comma-separated: learn from the mean of their probabilities
    distill_weight: float = 0.5  # share of each training target taken from the teachers; the rest is the label
    # --- where training runs (tf.distribute; see models/distribute.py and docs/scaling.md) ---
    strategy: str = "default"  # default: one device; TF: mirrored (local GPUs), multi_worker; JAX: data_parallel
    scale_lr: bool = True  # multiply the LR bounds by the number of replicas (linear scaling rule)
    # --- cyclical learning rate (Smith 2017), a function of the step; bounds from the LR range test ---
    clr_min: float = 4e-5  # lower LR bound
    clr_max: float = 1e-3  # upper LR bound
    clr_step_epochs: float = 11.0  # phase 2's half cycle, in epochs: one triangle over its 22 epochs (phase 1: one
    # triangle over its own epochs, so the head reaches clr_max too)
    clr_policy: str = "triangular"  # triangular, triangular2, exp_range, or one_cycle: up, then down to the end
    clr_gamma: float = 0.99994  # per-step amplitude decay of exp_range
    # --- evaluation and export ---
    tta_flip: bool = True  # average each prediction with the mirrored image's (test-time augmentation; never on MNIST)
    corruption_suite: bool = False  # evaluate.py also scores the test images under evaluation/corruptions.py's
    # suite, for the model card (28x28 grey data sets)
    # --- run ---
    seed: int = 42
    artifacts_dir: str = "artifacts"  # weights, history, config and metrics of the run
    visualizations_dir: str = "visualizations"
    exports_dir: str = "exports"
    results_file: str = "runs/results.csv"  # evaluate.py appends one row per run (the project's own: results/runs.csv)


# Presets are named sets of overrides, each saying only what it changes. Each says, as big_vision's configs do,
# its command, what it costs and where its runs are (README's table gives their accuracy).
#
# full: the defaults above, meant for a GPU. `./run.sh`; about 5 min of an H100/H200 shared by 4-5 runs, hours on
#   2 CPU cores; results/full/full_seed{42,1,2}/.
# quick: for a laptop CPU: a smaller image, the top 100 of MobileNetV2's 154 layers fine-tuned, half the epochs
#   and still one LR triangle over fine-tuning. `./run.sh --preset quick`; about 20 min on 2 CPU cores;
#   results/quick/quick_s14_new{42,1,2}/.
QUICK = {"image_size": 64, "finetune_layers": 100, "frozen_epochs": 1, "finetune_epochs": 11, "clr_step_epochs": 5.5}
ROBUST = {**QUICK, "rotation": 0.07, "zoom": 0.15, "translation": 0.1, "contrast": 0.5, "brightness": 0.3,
          "blur": 0.5, "noise": 50.0, "augment_share": 0.5}
PRESETS = {
    "full": {},
    "quick": QUICK,
    # The quick budget trained for corrupted pictures (docs/robustness.md): half the training images tilted,
    # zoomed, shifted, their light changed, blurred and noised; more robust, less accurate on clean images.
    # `./run.sh --preset robust`; the quick preset's time and more on 2 CPU cores; results/robustness/.
    "robust": ROBUST,
    # AugMix's recipe at the quick budget (docs/robustness.md, round 2): the label's loss reads the clean picture, and
    # a consistency loss ties the predictions on it to those on one view of it through robust's changes, sketches,
    # impulse noise, lines, gratings and AugMix, each on half the pictures of a view made of 3/4 of the batch: 1.7-1.8
    # times quick's step; `./run.sh --preset augmix`; results/robustness/round2/vshare075_fshare05_seed*/.
    "augmix": {**ROBUST, "sketch": 0.3, "impulse": 0.1, "lines": 0.3, "gratings": 0.3, "augmix": True,
               "consistency": 1.0, "consistency_views": 1, "consistency_share": 0.75, "augment_share": 1.0,
               "family_share": 0.5},
    # Trained from scratch at the native size: no frozen phase, all epochs are phase 2.
    # `python -m bench.compare_architectures --presets cnn,vit`; 13 and 19 min on 2 CPU cores;
    # results/architectures/architectures.json.
    "cnn": {"architecture": "cnn", "image_size": 28, "frozen_epochs": 0, "finetune_epochs": 12,
            "clr_min": 1e-4, "clr_max": 3e-3, "clr_step_epochs": 6.0},
    "vit": {"architecture": "vit", "image_size": 28, "frozen_epochs": 0, "finetune_epochs": 10, "dropout": 0.1,
            "optimizer": "adamw", "clr_min": 5e-5, "clr_step_epochs": 5.0},
}

# The fields that make the consistency views, in the order a picture is made: framing, drawing, light, optics,
# noise, what is drawn over it, AugMix (models/augmentation.py's corruption_steps makes each; a test keeps them in step)
CORRUPTION_FIELDS = ("rotation", "zoom", "shear", "translation", "sketch", "contrast", "brightness", "blur", "noise",
                     "impulse", "lines", "gratings", "augmix")

# Fields that change the shape of the network: trained weights only fit the same values.
ARCHITECTURE_FIELDS = ("architecture", "image_size", "alpha", "cnn_filters", "vit_patch_size", "vit_dim",
                       "vit_depth", "vit_heads")

# Fields that do not shape training (where files are, how a trained model is evaluated and exported): a run
# resumes, and is reused, whatever they say.
NON_TRAINING_FIELDS = ("data_dir", "compilation_cache", "tta_flip", "corruption_suite", "artifacts_dir",
                       "visualizations_dir", "exports_dir", "results_file")
# Fields that choose which images a run trained on and which it held out: the later scripts keep the run's own.
SPLIT_FIELDS = ("dataset", "stored_size", "test_fraction", "seed", "split_seed", "val_fraction")

# The names each choice accepts, kept here only: models/<architecture>.py builds each backbone, and
# the optimizers are Keras' own of these names.
ARCHITECTURES = ("mobilenet_v2", "cnn", "vit")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
CLR_POLICIES = ("triangular", "triangular2", "exp_range", "one_cycle")
STRATEGIES = ("default", "mirrored", "multi_worker", "data_parallel")
PRECISIONS = ("off", "mixed_bfloat16", "mixed_float16")
# Upper bounds of what can run: each epoch's image order is drawn before training (models/training.py), and a
# batch of 8192 at 1024 px is 100 GB of activations' input alone
MAX_EPOCHS = 1000
MAX_BATCH = 8192
# Fields holding paths (teachers: a comma-separated list): `~` is the user's home in each
PATH_FIELDS = ("data_dir", "weights", "teachers", "compilation_cache", "artifacts_dir", "visualizations_dir",
               "exports_dir", "results_file")


def validate(cfg: Config) -> Config:
    """Reject impossible values, and values no machine can hold, with the field name and the allowed range."""
    for field in dataclasses.fields(cfg):  # nan passes no comparison below, inf passes some
        value = getattr(cfg, field.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"config: {field.name}={value!r} must be a finite number")
    checks = [
        ("dataset", cfg.dataset in DATASETS, f"must be one of {', '.join(DATASETS)}"),
        ("stored_size", cfg.stored_size is None or 8 <= cfg.stored_size <= MAX_SIDE,
         f"must be in [8, {MAX_SIDE}] (pixels) or none"),
        ("test_fraction", 0 < cfg.test_fraction < 1, "must be in (0, 1)"),
        ("val_fraction", 0 < cfg.val_fraction < 1, "must be in (0, 1)"),
        ("architecture", cfg.architecture in ARCHITECTURES, f"must be one of {', '.join(ARCHITECTURES)}"),
        ("image_size", cfg.image_size >= 32 or cfg.architecture != "mobilenet_v2",
         "must be >= 32 for mobilenet_v2 (its smallest input)"),
        ("image_size", 8 <= cfg.image_size <= MAX_SIDE, f"must be in [8, {MAX_SIDE}]"),
        ("alpha", 0 < cfg.alpha <= 2, "must be in (0, 2] (ImageNet weights: 0.35 to 1.4)"),
        ("cnn_filters", 1 <= cfg.cnn_filters <= 1024, "must be in [1, 1024]"),
        ("vit_patch_size", 1 <= cfg.vit_patch_size <= cfg.image_size, f"must be in [1, image_size ({cfg.image_size})]"),
        ("vit_patch_size", cfg.architecture != "vit" or cfg.image_size % cfg.vit_patch_size == 0,
         f"must divide image_size ({cfg.image_size}) for vit"),
        ("vit_depth", 1 <= cfg.vit_depth <= 64, "must be in [1, 64]"),
        ("vit_dim", 1 <= cfg.vit_dim <= 4096, "must be in [1, 4096]"),
        ("vit_heads", cfg.vit_heads >= 1 and cfg.vit_dim % cfg.vit_heads == 0,
         f"must be >= 1 and divide vit_dim ({cfg.vit_dim})"),
        ("dropout", 0 <= cfg.dropout < 1, "must be in [0, 1)"),
        ("l2", 0 <= cfg.l2 <= 1, "must be in [0, 1]"),
        ("rotation", 0 <= cfg.rotation <= 0.5, "must be in [0, 0.5] (fraction of a turn)"),
        ("zoom", 0 <= cfg.zoom < 1, "must be in [0, 1)"),
        ("shear", 0 <= cfg.shear < 1, "must be in [0, 1)"),
        ("translation", 0 <= cfg.translation < 1, "must be in [0, 1)"),
        ("erasing", 0 <= cfg.erasing <= 1, "must be in [0, 1] (a probability)"),
        ("contrast", 0 <= cfg.contrast < 1, "must be in [0, 1)"),
        ("brightness", 0 <= cfg.brightness <= 1, "must be in [0, 1] (a fraction of the pixel range)"),
        ("blur", 0 <= cfg.blur <= 1, "must be in [0, 1] (a probability)"),
        ("noise", 0 <= cfg.noise <= 255, "must be in [0, 255] (pixel levels)"),
        ("sketch", 0 <= cfg.sketch <= 1, "must be in [0, 1] (a probability)"),
        ("impulse", 0 <= cfg.impulse <= 0.5, "must be in [0, 0.5] (a share of the pixels)"),
        ("lines", 0 <= cfg.lines <= 1, "must be in [0, 1] (a probability)"),
        ("gratings", 0 <= cfg.gratings <= 1, "must be in [0, 1] (a probability)"),
        ("consistency", 0 <= cfg.consistency <= 100, "must be in [0, 100] (a loss weight)"),
        ("consistency_views", cfg.consistency_views in (1, 2), "must be 1 or 2"),
        ("consistency_share", 0 < cfg.consistency_share <= 1, "must be in (0, 1] (a share of the batch)"),
        ("augment_share", 0 < cfg.augment_share <= 1, "must be in (0, 1] (a share of the images)"),
        ("family_share", 0 < cfg.family_share <= 1, "must be in (0, 1] (a share of the images)"),
        ("batch_size", 1 <= cfg.batch_size <= MAX_BATCH, f"must be in [1, {MAX_BATCH}]"),
        ("frozen_epochs", 0 <= cfg.frozen_epochs <= MAX_EPOCHS, f"must be in [0, {MAX_EPOCHS}]"),
        ("finetune_epochs", 0 <= cfg.finetune_epochs <= MAX_EPOCHS, f"must be in [0, {MAX_EPOCHS}]"),
        ("finetune_layers", 0 <= cfg.finetune_layers <= 10_000, "must be in [0, 10000] (0 = whole base)"),
        ("finetune_lr_scale", 0 < cfg.finetune_lr_scale <= 100, "must be in (0, 100]"),
        ("label_smoothing", 0 <= cfg.label_smoothing < 1, "must be in [0, 1)"),
        ("distill_weight", 0 <= cfg.distill_weight <= 1, "must be in [0, 1]"),
        ("optimizer", cfg.optimizer in OPTIMIZERS, f"must be one of {', '.join(OPTIMIZERS)}"),
        ("mixed_precision", cfg.mixed_precision in PRECISIONS, f"must be one of {', '.join(PRECISIONS)}"),
        ("steps_per_execution", 1 <= cfg.steps_per_execution <= 10_000, "must be in [1, 10000]"),
        ("strategy", cfg.strategy in STRATEGIES, f"must be one of {', '.join(STRATEGIES)}"),
        ("clr_min", 0 < cfg.clr_min <= 1000, "must be in (0, 1000]"),
        ("clr_max", cfg.clr_min <= cfg.clr_max <= 1000, f"must be in [clr_min ({cfg.clr_min}), 1000]"),
        ("clr_step_epochs", 0 < cfg.clr_step_epochs <= MAX_EPOCHS, f"must be in (0, {MAX_EPOCHS}]"),
        ("clr_policy", cfg.clr_policy in CLR_POLICIES, f"must be one of {', '.join(CLR_POLICIES)}"),
        ("clr_gamma", 0 < cfg.clr_gamma <= 1, "must be in (0, 1]"),
        ("seed", 0 <= cfg.seed < 2**32, "must be in [0, 2**32)"),
        ("split_seed", cfg.split_seed is None or 0 <= cfg.split_seed < 2**32, "must be in [0, 2**32) or none"),
    ]
    for name, ok, rule in checks:
        if not ok:
            raise UserError(f"config: {name}={getattr(cfg, name)!r} {rule}")
    if cfg.architecture != "mobilenet_v2" and cfg.frozen_epochs:
        raise UserError(f"config: frozen_epochs={cfg.frozen_epochs} but architecture={cfg.architecture} is trained "
                        "from scratch: there is no pretrained base to freeze; set --frozen_epochs 0")
    if cfg.consistency and not any(getattr(cfg, name) for name in CORRUPTION_FIELDS):
        raise UserError(f"config: consistency={cfg.consistency:g} compares a picture with views of it through "
                        "the corruption families, and none is on: set --augmix true (or a family, e.g. --noise 50)")
    if cfg.frozen_epochs + cfg.finetune_epochs == 0:
        raise UserError("config: frozen_epochs and finetune_epochs are both 0: nothing to train")
    return cfg


def make_config(overrides: dict | None = None, base: dict | None = None) -> Config:
    """Defaults, then `base` (e.g. a saved run's config), then `overrides`; validated."""
    values = with_home_expanded({**(base or {}), **(overrides or {})})
    known = {f.name for f in dataclasses.fields(Config)}
    return validate(Config(**{k: v for k, v in values.items() if k in known}))


def with_home_expanded(values: dict) -> dict:
    """`values` with `~/x` as the user's home's x in every path field, in each part of a comma-separated list (a
    shell expands no quoted `~`, and Python's file functions none)."""
    return {name: ",".join(os.path.expanduser(part) for part in value.split(","))
            if name in PATH_FIELDS and value is not None else value for name, value in values.items()}
