""""Not one of my classes": a score of how much a picture looks like the training pictures, and the threshold below
which a prediction says it is not recognised.

Outlier exposure (Hendrycks et al. 2019) on the trained model's pooled features: a logistic regression tells
training images from outliers generated out of them (shuffled patches or pixels, noise, smooth noise, flat
colours and ramps, zoomed-in patches, negatives, strokes), so no picture a user might send is needed to fit it.
The score is one Dense unit on the pooled features (averaged over the mirrored view where the export averages its
probabilities); the threshold keeps KEEP of the validation split. Chosen over the maximum softmax probability, the
energy score and Mahalanobis distance by measurement on pictures that are not garments (docs/unknown.md).
"""

import numpy as np
from scipy import ndimage

from models.classifier import classifier_of, mirrored, pooled_features
from runkit.errors import UserError
from runkit.frameworks import keras, layers

METHOD = "outlier exposure on pooled features (logistic regression)"
C = 0.003  # inverse regularisation strength, chosen on bench.unknown's choosing part
KEEP = 0.96  # share of the validation split that stays recognised
FIT_IMAGES = 5000  # training images, and as many generated outliers, that fit the score


def generated_outliers(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One outlier made from each of `images` (n, height, width, channels uint8), eight kinds in turn, each
    stretched to 0-255 as a converted picture is."""
    n, height, width, channels = images.shape
    out = images.astype(np.float32)
    for i in range(n):
        image, kind = out[i], i % 8
        if kind == 0:  # the image cut into a 4x4 grid of patches, shuffled
            ph, pw = height // 4, width // 4
            patches = [image[r * ph:(r + 1) * ph, c * pw:(c + 1) * pw].copy() for r in range(4) for c in range(4)]
            for k, j in enumerate(rng.permutation(16)):
                r, c = divmod(k, 4)
                image[r * ph:(r + 1) * ph, c * pw:(c + 1) * pw] = patches[j]
        elif kind == 1:  # its pixels shuffled
            image[:] = rng.permutation(image.reshape(-1, channels)).reshape(image.shape)
        elif kind == 2:  # noise of random strength and skew
            image[:] = rng.random(image.shape) ** rng.uniform(0.3, 3)
        elif kind == 3:  # smooth noise: blobs and clouds
            image[:] = ndimage.gaussian_filter(rng.random(image.shape), (*rng.uniform(1, 4, 2), 0))
        elif kind == 4:  # a flat colour or a ramp
            ramp = np.linspace(0, 1, height)[:, None, None] * rng.uniform(-1, 1, channels)
            image[:] = rng.uniform(0, 255, channels) + (255 * ramp if rng.random() < 0.5 else 0)
        elif kind == 5:  # a small patch zoomed in
            side = int(rng.integers(height // 5, height // 2))
            top, left = rng.integers(0, height - side), rng.integers(0, width - side)
            patch = image[top:top + side, left:left + side]
            image[:] = ndimage.zoom(patch, (height / side, width / side, 1), order=1)[:height, :width]
        elif kind == 6:  # the negative
            image[:] = 255 - image
        else:  # strokes on a blank image
            image[:] = 0
            for _ in range(int(rng.integers(1, 6))):
                (r0, c0), (r1, c1) = rng.uniform(0, 1, (2, 2)) * (height - 1, width - 1)
                t = np.linspace(0, 1, 2 * (height + width))
                image[np.round(r0 + t * (r1 - r0)).astype(int), np.round(c0 + t * (c1 - c0)).astype(int)] = 1
            image[:] = ndimage.grey_dilation(image, size=(int(rng.integers(1, 3)),) * 2 + (1,))
    low = out.min(axis=(1, 2, 3), keepdims=True)
    out = (out - low) * 255 / np.maximum(out.max(axis=(1, 2, 3), keepdims=True) - low, 1e-6)
    return np.round(out).astype(np.uint8)


def probabilities_and_features(export: keras.Model) -> keras.Model:
    """pixels -> [probabilities, pooled features] of an export (its classifier, or that averaged with the mirrored
    view: then both outputs are averaged over the two views)."""
    classifier = classifier_of(export)
    both = keras.Model(classifier.inputs[0], [classifier.outputs[0], pooled_features(classifier)])
    if classifier is export:
        return both
    inputs = keras.Input(export.input_shape[1:], name="pixels")
    views = [both(inputs), both(mirrored(export, inputs))]
    return keras.Model(inputs, [layers.Average(name="mean_probabilities")([v[0] for v in views]),
                                layers.Average(name="mean_features")([v[1] for v in views])])


def fit(export: keras.Model, train_images: np.ndarray, val_images: np.ndarray, seed: int) -> dict:
    """The score's weights and threshold for an export, as saved with it: fitted on FIT_IMAGES of the training
    images against as many outliers made from others, the threshold on the validation images."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    count = min(FIT_IMAGES, len(train_images) // 2)  # a small data set: half its images, half made into outliers
    chosen = rng.choice(len(train_images), 2 * count, replace=False)
    inliers, sources = train_images[chosen[:count]], train_images[chosen[count:]]
    model = probabilities_and_features(export)

    def features(images):
        return model.predict(images, batch_size=256, verbose=0)[1]

    x = np.concatenate([features(inliers), features(generated_outliers(sources, rng))])
    y = np.r_[np.ones(len(inliers)), np.zeros(len(x) - len(inliers))]
    regression = LogisticRegression(C=C, max_iter=5000).fit(x, y)
    weights, bias = regression.coef_[0].astype(np.float32), np.float32(regression.intercept_[0])
    val_scores = features(val_images) @ weights + bias
    threshold = float(np.quantile(val_scores, 1 - KEEP))
    return {"method": METHOD, "C": C, "fit_images": len(inliers), "outliers": len(x) - len(inliers), "seed": seed,
            "keep": KEEP, "threshold": threshold, "val_recognised": float(np.mean(val_scores >= threshold)),
            "weights": weights.tolist(), "bias": float(bias)}


def with_score(export: keras.Model, record: dict) -> keras.Model:
    """pixels -> [probabilities (the export's own), score (n, 1)]: stock layers only, so it exports to ONNX."""
    model = probabilities_and_features(export)
    probs, features = model.outputs
    if len(record["weights"]) != features.shape[-1]:
        raise UserError(f"the novelty record holds {len(record['weights'])} weights for the model's "
                        f"{features.shape[-1]} features: it belongs to another model; export again with "
                        "`python export_model.py`")
    score = layers.Dense(1, name="novelty_score")
    scores = score(features)
    score.set_weights([np.asarray(record["weights"], np.float32)[:, None], np.asarray([record["bias"]], np.float32)])
    return keras.Model(model.inputs[0], [probs, scores], name="classifier_with_score")

