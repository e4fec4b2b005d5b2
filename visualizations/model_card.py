"""The model card written beside the exports (Mitchell et al. 2019): what the model is for, what it was
trained and evaluated on, how well it does per class, and where it fails; every number from the run's files."""

from data.pipeline import split_seed
from data.spec import TITLES, DataSpec
from runkit.machine import describe_machines
from runkit.text import markdown

CITATIONS = {"fashion_mnist": "Xiao et al. 2017", "mnist": "LeCun et al. 1998", "cifar10": "Krizhevsky 2009",
             "cifar100": "Krizhevsky 2009"}


def intended_use(spec: DataSpec) -> str:
    names = [markdown(name) for name in spec.class_names]
    names = ", ".join(names) if len(names) <= 20 else f"{names[0]}, {names[1]}, ... {names[-1]}"
    if spec.name == "fashion_mnist":
        return ("Classifying a picture of one clothing item into the ten Fashion-MNIST classes "
                f"({names}), for teaching, research and demos. Input: raw 28x28x1 pixels 0-255, the "
                "garment light on a black background, centred, as in the data set (`predict.py` converts other "
                "pictures); output: ten probabilities in that order. Not for decisions about people.")
    height, width, channels = spec.input_shape
    seen = ("light on black, fitted and centred as in the data set" if spec.conversion == "mnist" else
            "the largest centred square of a picture, resized")
    return (f"Classifying a picture into its {spec.num_classes} classes ({names}), for teaching, research and demos. "
            f"Input: raw {height}x{width}x{channels} pixels 0-255, {seen} (`predict.py` converts any picture so); "
            f"output: {spec.num_classes} probabilities in that order (`exports.json` lists them). Not for "
            "decisions about people.")


def render(cfg, history: dict, metrics: dict, exports: list[dict]) -> str:
    """Markdown for a run's config, its history (train.py), metrics (evaluate.py) and checked exports."""
    calibration, by_view = metrics["calibration"], metrics["test_accuracy_by_view"]
    novelty = metrics.get("novelty")  # absent in runs evaluated before the score existed
    spec = DataSpec.from_record(metrics["dataset"], "metrics.json")
    title = TITLES.get(spec.name, "Picture")
    fashion = spec.name == "fashion_mnist"
    views = {"flip_averaged": "flip-averaged (two views)", "single_view": "single view"}
    confusions = "; ".join(f"{markdown(c['true'])} taken for {markdown(c['predicted'])} ({c['count']} of "
                           f"{metrics['per_class'][c['true']]['support']:,.0f})"
                           for c in metrics["top_confusions"][:3]) or "none"
    teachers = metrics.get("teachers", [])  # absent in runs evaluated before distillation existed
    distilled = [f"- distilled from {len(teachers)} teachers ({', '.join(t['run'] for t in teachers)}), whose "
                 f"{sum(t['train_minutes'] for t in teachers):.1f} min of training are part of its cost"]
    sizes = {r["format"]: "" if r["size_mb"] is None else f"{r['size_mb']:.2f}" for r in exports}
    lines = [
        f"# Model card: {title} classifier ({cfg.architecture}, {cfg.image_size} px)", "",
        "## Intended use", "", intended_use(spec), "",
        "## Training data", "",
        (f"{title} ({CITATIONS[spec.name]})" if spec.name in CITATIONS else "The pictures")
        + f", read from `{metrics['data_source']}`: {history['run']['train_images']:,} "
        f"training images, after a stratified {cfg.val_fraction:.0%} of the training set was held out for "
        f"validation (seed {split_seed(cfg)}), which chose the weights; the {metrics['test_images']:,} test images "
        f"({metrics['dataset']['test_set']}) were used for the numbers below only.", "",
        "## Training", "",
        f"- command: `{metrics['train_command']}`",
        f"- backbone: {cfg.architecture}, weights `{cfg.weights}`; {len(history['epochs'])} epochs, "
        f"{metrics['train_minutes']:.1f} min on {describe_machines(history['run']['machine'], metrics['machine'])}",
        *(distilled if teachers else []),
        "", "## Evaluation (test set)", "",
        "| | value |", "|---|---|",
        *(f"| test accuracy, {views[view]} | {accuracy:.4f} |" for view, accuracy in by_view.items()),
        f"| test loss (the exported view) | {metrics['test_loss']:.4f} |",
        f"| best validation accuracy | {metrics['best_val_accuracy']:.4f} |",
        f"| expected calibration error (15 bins) | {calibration['ece']:.4f}; {calibration['ece_scaled']:.4f} at "
        f"temperature {calibration['temperature']:.3f} (fitted on validation, not applied to the exports) |",
        *([f"| test images recognised as one of the classes | {novelty['test_recognised']:.4f} (the threshold keeps "
           f"{novelty['val_recognised']:.4f} of validation) |"] if novelty else []), "",
        "| class | precision | recall | F1 |", "|---|---|---|---|",
        *(f"| {markdown(name)} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1-score']:.4f} |"
          for name, row in metrics["per_class"].items()), "",
        "| export | MB | test accuracy | agreement with Keras |", "|---|---|---|---|",
        *(f"| {r['format']} | {sizes[r['format']]} | {r['test_accuracy']:.4f} | {r['agreement_with_keras']:.4f} |"
          for r in exports), "",
        "## Known failure modes", "",
        f"- The most frequent confusions: {confusions}."
        + (" Shirt is the hardest class: it shares its silhouette with T-shirt/top, Pullover and Coat." if fashion
           else ""),
        *(["- Real photos are not the data set's centred grey images: a garment off-centre, on a textured or grey "
           "backdrop, with other objects or folded, can be misread even after `predict.py`'s conversion; the "
           "accuracy above holds for images made as Fashion-MNIST's were."] if fashion else []),
        (f"- Only these {spec.num_classes} classes exist. A picture unlike all of them is answered \"not "
         f"recognised\" when its score ({novelty['method']}, saved in `exports.json`) is below the threshold; that "
         "threshold also turns away some real pictures of the classes (the share above), and a picture close to a "
         "class can still get one." if novelty else
         f"- Only these {spec.num_classes} classes exist: anything else still gets one of them, often with a "
         "high probability."), "",
        *(robustness_section(metrics["robustness"]) if "robustness" in metrics else []),
        "## How it was evaluated", "",
        f"`evaluate.py` on the {metrics['test_images']:,} test images, with the weights of the best validation "
        "accuracy; each "
        "export was reloaded through its own runtime and checked on the same images by `export_model.py` "
        "(`exports.json`).", "",
    ]
    return "\n".join(lines)


def robustness_section(result: dict) -> list[str]:
    """The test images under the corruption suite (`evaluate.py --corruption_suite true`): the mean, the weakest
    and the strongest."""
    ranked = sorted(result["corruptions"].items(), key=lambda item: item[1])
    return [
        "## Robustness to corrupted pictures", "",
        f"`evaluate.py --corruption_suite true` on the {result['images']:,} test images, each under {len(ranked)} "
        "corruptions at one moderate severity (noise, blur, JPEG, tilt, framing, light, drawn lines, outlines): mean "
        f"accuracy **{result['mean']:.4f}** (clean {result['clean']:.4f}; `metrics.json`).",
        f"Weakest: {', '.join(f'{name} {value:.4f}' for name, value in ranked[:3])}; "
        f"strongest: {', '.join(f'{name} {value:.4f}' for name, value in ranked[:-4:-1])}.", "",
    ]
