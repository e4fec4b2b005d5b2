"""Do the activation maps follow the garment? `python -m bench.cam_shift [config overrides] [--count N] [--out FILE]`.

    python -m bench.cam_shift --preset quick --data_dir DIR --out runs/cam_shift.json

For the first N test images of a trained run with SHIFT / 2 black columns on each side (so the garment
stays whole when moved; footwear and bags fill the width, so few of them qualify), the activation map of
the predicted class is computed on each image moved SHIFT / 2 pixels left and as far right: its peak should
move right by SHIFT x image_size / 28 pixels of the upsampled input. Reported for the backbone's own map
(evaluation/cam.py) and for LayerCAM and Grad-CAM on its last map (where Grad-CAM is usually taken): the mean
move of the peak and of the map's centre (of its upper half), their mean error, how the unmoved images'
peaks spread over the quadrants, and the classifier's accuracy on the moved images (a map cannot follow a
garment the model no longer recognises).
"""

import argparse
import dataclasses

from data.idx import load_idx_dataset
from evaluation.cam import map_method
from evaluation.cam_shift import SHIFT, follow, room_to_move, shifted
from models.classifier import load_trained_classifier
from models.runs import trained_run_config
from runkit import cli
from runkit.errors import UserError
from runkit.files import RunFiles, write_json
from runkit.machine import machine_info


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="How activation maps follow a shifted garment.")
    parser.add_argument("--count", type=int, default=300, help="first N test images (default 300)")
    parser.add_argument("--out", help="write the result as JSON here")
    args, overrides = parser.parse_known_args(argv)
    cfg = dataclasses.replace(trained_run_config(overrides), tta_flip=False)  # one view: one map
    if cfg.dataset != "fashion_mnist":
        raise UserError(f"bench.cam_shift measures Fashion-MNIST runs; {cfg.artifacts_dir} trained on {cfg.dataset}")
    (_, (images, labels)), _ = load_idx_dataset("fashion_mnist", cfg.data_dir)
    images = images[..., 0]  # (n, 28, 28): moved sideways
    keep = room_to_move(images)
    images, labels = images[keep][:args.count], labels[keep][:args.count]
    classifier = load_trained_classifier(cfg, RunFiles(cfg.artifacts_dir).best_weights)
    choices = {"its own": map_method(classifier), "layercam, last map": ("layercam", None),
               "gradcam, last map": ("gradcam", None)}
    maps = {name: {"method": method, "max_stride": stride, **follow(classifier, images, method, stride)}
            for name, (method, stride) in choices.items()}
    accuracy = {f"{move:+d} px": float((classifier.predict(shifted(images, move)[..., None], verbose=0).argmax(axis=1)
                                        == labels).mean()) for move in (-SHIFT // 2, 0, SHIFT // 2)}
    print(f"accuracy on the {len(images)} images moved: {accuracy}")
    result = {"image_size": cfg.image_size, "architecture": cfg.architecture, "count": len(images), "shift": SHIFT,
              "run": cfg.artifacts_dir, "machine": machine_info(), "accuracy_when_moved": accuracy, "maps": maps}
    for name, r in maps.items():
        print(f"{name} ({r['method']}, {r['map_side']}x{r['map_side']}): expected move {r['expected_move']:+.1f} px; "
              f"peak {r['peak_move']['mean']:+.1f} (mean error {r['peak_move']['mean_abs_error']:.1f}), "
              f"centre {r['centre_move']['mean']:+.1f} (mean error {r['centre_move']['mean_abs_error']:.1f}); "
              f"peaks by quadrant {r['peak_quadrants']}")
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    cli.run(main)
