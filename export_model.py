"""Export the trained classifier: `python export_model.py` writes exports/<dataset>_model.h5 and more.

The exported model takes the data set's raw pixels (Fashion-MNIST's: 28x28x1, 0-255, black background) and
returns one softmax probability per class. It has no augmentation layers and loads with
`keras.models.load_model(path)`; the script reloads it and checks its predictions before keeping it.
Beside it: the native .keras file, a TensorFlow SavedModel, an ONNX file and TFLite float16 and int8
models, each checked on the test set (size, accuracy, agreement with Keras, one-image latency), and
exports.json, the contract predict.py and demo.py read: the class names in output order, the input shape and
how a picture is converted. MODEL_CARD.md says what the model is for and how well it does (needs evaluate.py).
"""

import dataclasses
from pathlib import Path

from data.datasets import dataset_record, load_run_dataset
from inference.export import check_exports_folder, export_checked
from inference.novelty import with_score
from inference.portable import export_all
from models.classifier import architecture_module, load_trained_classifier
from models.runs import trained_run_config
from runkit import cli
from runkit.files import RunFiles, atomic_path, read_json
from runkit.machine import machine_info, optional_tensorflow
from runkit.records import ExportsRecord, MetricsRecord, NoveltyRecord, read_record, run_of, write_record
from visualizations import model_card

CHECK_IMAGES = 512


def main(argv: list[str]) -> None:
    cfg = trained_run_config(argv)
    check_exports_folder(cfg.exports_dir)  # before any work: a folder of other files is refused, untouched
    files = RunFiles(cfg.artifacts_dir)
    history = read_json(files.history, "train.py", keys=("epochs", "run"))
    run_of(history, files.history)  # the model card reads it
    metrics = read_record(files.metrics, MetricsRecord, "evaluate.py")
    novelty = read_record(files.novelty, NoveltyRecord, "evaluate.py")
    data = load_run_dataset(cfg, files)
    classifier = load_trained_classifier(cfg, files.best_weights, data.spec)
    (images, _), (x_test, y_test) = data.train, data.test

    folder = Path(cfg.exports_dir)
    stem = f"{data.spec.name}_model"
    path = folder / f"{stem}.h5"
    max_diff = export_checked(classifier, path, x_test[:CHECK_IMAGES])
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); reloaded, it matches the trained model on "
          f"{CHECK_IMAGES} test images (max probability difference {max_diff:.1e})")
    names = data.spec.class_names
    print(f"input: raw {'x'.join(map(str, data.spec.input_shape))} pixels 0-255; output: probabilities of "
          f"{', '.join(names) if len(names) <= 20 else f'{len(names)} classes'}")

    print("portable exports, each checked on the test set ...", flush=True)
    float_layers = architecture_module(cfg.architecture).INT8_FLOAT_LAYERS
    rows = export_all(classifier, folder, stem, images, x_test, y_test, float_layers,
                      onnx_model=with_score(classifier, novelty))
    write_record(folder / "exports.json", ExportsRecord,
                 ExportsRecord(model=path.name, dataset=dataset_record(data), novelty=novelty, exports=rows,
                               int8_float_layers=list(float_layers), machine=machine_info(),
                               config=dataclasses.asdict(cfg)))
    print(f"{'format':20} {'MB':>6} {'test acc':>9} {'agrees':>8} {'1 image ms':>11}")
    for r in rows:
        size = "" if r["size_mb"] is None else f"{r['size_mb']:.2f}"
        print(f"{r['format']:20} {size:>6} {r['test_accuracy']:9.4f} {r['agreement_with_keras']:8.4f} "
              f"{r['latency_ms_one_image']:11.2f}")
    card = folder / "MODEL_CARD.md"
    with atomic_path(card) as tmp:
        tmp.write_text(model_card.render(cfg, history, metrics, rows))
    print(f"wrote {folder}/: {', '.join(r['format'] for r in rows[1:])}, exports.json and {card.name}")
    if optional_tensorflow() is None:
        print("SavedModel and TFLite exports need TensorFlow, which is not installed here: skipped")


if __name__ == "__main__":
    cli.run(main)
