"""A local demo page: upload or drop a picture, see the top 3 classes, the image the model saw, where it looked,
and whether the picture is recognised as one of the classes at all.

    python demo.py                                  # http://127.0.0.1:8000, the .h5 export_model.py wrote
    python demo.py --port 8080 --model exports/fashion_mnist_model.keras
    curl -F image=@shirt.jpg http://127.0.0.1:8000/api/predict      # the same, as JSON, for scripts

It serves on this machine only (127.0.0.1), to its own page and scripts (webapp/server.py); Ctrl-C stops it. A bad
upload (not a picture, a decompression bomb, over 20 MB) gets its reason on the page, and the server goes on
serving.
"""

import argparse
from pathlib import Path

from inference.runtime import DEFAULT_FOLDER, check_fits, default_model, load_keras_export, novelty_of, spec_of_export
from runkit import cli
from runkit.errors import UserError
from runkit.files import require
from webapp.server import create_app, serve


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Serve a local page that classifies uploaded pictures.")
    parser.add_argument("--model", type=Path, help="the Keras export, .h5 or .keras (the map needs its layers); "
                        f"default: the .h5 export_model.py wrote into {DEFAULT_FOLDER}/")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: a port is a number from 1 to 65535")
    path = require(args.model or default_model(), "export_model.py")
    model, spec = load_keras_export(path), spec_of_export(path)
    check_fits(spec, model.input.shape[1:], model.output.shape[-1], path)
    app = create_app(model, spec, novelty_of(path))
    print(f"serving {path} on http://127.0.0.1:{args.port} (Ctrl-C stops it)", flush=True)
    serve(app, args.port)


if __name__ == "__main__":
    cli.run(main)
