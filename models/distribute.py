"""Where training runs: one device, all local devices, or many workers (TensorFlow's tf.distribute; on JAX,
Keras' distribution API).

    --strategy default        one device (Keras' default; any backend)
    --strategy mirrored       MirroredStrategy over every local GPU (without GPUs: every logical CPU device)
    --strategy multi_worker   MultiWorkerMirroredStrategy; each worker reads its role from the TF_CONFIG variable
    --strategy data_parallel  on JAX: keras.distribution.DataParallel over every local device

`batch_size` is per replica: the global batch is batch_size x replicas, and the cyclical LR bounds are scaled
by the number of replicas (`scale_lr`, the linear scaling rule of Goyal et al. 2017). Only the chief writes
the run's artifacts; the other workers keep their resume state in a scratch folder of their own.
"""

import contextlib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runkit.errors import UserError
from runkit.files import RunFiles
from runkit.frameworks import keras


@dataclass(frozen=True)
class Distribution:
    strategy: object | None  # a tf.distribute.Strategy, or None for Keras' default (one device)
    replicas: int = 1
    workers: int = 1
    task_id: int = 0
    chief: bool = True

    def scope(self):
        """Build, compile and train inside this, so variables are created where the strategy wants them."""
        return contextlib.nullcontext() if self.strategy is None else self.strategy.scope()

    def record(self, cfg) -> dict:
        """What the run's history keeps: how the batch and the LR were scaled."""
        return {"strategy": cfg.strategy, "replicas": self.replicas, "workers": self.workers,
                "global_batch_size": cfg.batch_size * self.replicas, "lr_scale": self.lr_scale(cfg)}

    def lr_scale(self, cfg) -> float:
        return float(self.replicas) if cfg.scale_lr else 1.0


def make_distribution(name: str) -> Distribution:
    """The strategy named in the config; create it before any other TensorFlow work (multi_worker starts a server)."""
    if name == "default":
        return Distribution(None)
    backend = keras.backend.backend()
    if name == "data_parallel":
        if backend != "jax":
            raise UserError(f"strategy=data_parallel is Keras' distribution API on JAX, and Keras runs on {backend} "
                            "here: set KERAS_BACKEND=jax, or use --strategy mirrored on TensorFlow")
        devices = keras.distribution.list_devices()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        return Distribution(None, replicas=len(devices))
    if backend != "tensorflow":  # the strategy would scale batch and LR while nothing is distributed
        raise UserError(f"strategy={name} is TensorFlow's tf.distribute, and Keras runs on {backend} here: "
                        "set KERAS_BACKEND=tensorflow, or use --strategy default (data_parallel on JAX)")
    import tensorflow as tf

    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        strategy = tf.distribute.MirroredStrategy(devices=[d.name for d in devices])
        return Distribution(strategy, replicas=strategy.num_replicas_in_sync)

    if "TF_CONFIG" not in os.environ:
        raise UserError("strategy=multi_worker needs the TF_CONFIG environment variable on every worker "
                        "(see docs/scaling.md)")
    try:
        cluster = json.loads(os.environ["TF_CONFIG"])
        workers = len(cluster["cluster"]["worker"]) + len(cluster["cluster"].get("chief", []))
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"TF_CONFIG is not a cluster description ({type(e).__name__}: {e})") from None
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    _reduce_each_part(strategy)
    return Distribution(strategy, replicas=strategy.num_replicas_in_sync, workers=workers,
                        task_id=strategy.cluster_resolver.task_id, chief=strategy.extended.should_checkpoint)


def _reduce_each_part(strategy) -> None:
    """Keras 3.15's fit asks the strategy to reduce a whole (images, labels) batch of uint8, and per-step
    scalars along axis 0; the multi-worker strategy reduces one value at a time, no uint8, and needs no axis
    for scalars (keras-team/keras#20585). Reduce each part on its own, uint8 as float32, scalars over replicas."""
    import tensorflow as tf

    reduce = strategy.reduce

    def one(op, part, axis):
        local = strategy.experimental_local_results(part)[0]
        if local.dtype == tf.uint8:
            part = strategy.run(lambda v: tf.cast(v, tf.float32), args=(part,))
        return reduce(op, part, axis=axis if local.shape.rank else None)

    strategy.reduce = lambda op, value, axis=None: tf.nest.map_structure(lambda part: one(op, part, axis), value)


def run_files(artifacts_dir, distribution: Distribution) -> RunFiles:
    """The chief's files are the run's artifacts; another worker's go to a scratch folder of its own
    (the same one when it restarts, so it can resume)."""
    if distribution.chief:
        return RunFiles(artifacts_dir)
    key = hashlib.sha1(str(Path(artifacts_dir).resolve()).encode()).hexdigest()[:10]
    return RunFiles(Path(tempfile.gettempdir()) / f"fashion-mnist-{key}-worker{distribution.task_id}")


def worker_failures() -> tuple:
    """The errors a collective op raises when another worker stops (heartbeats lost, peer unreachable)."""
    import tensorflow as tf
    return tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError


def describe_worker_failure(error) -> str:
    """TensorFlow's reason (and the task it names), without the graph traceback around it."""
    message = getattr(error, "message", str(error))
    unhealthy = re.search(r"The following tasks are unhealthy[^\n]*\n[^\n]*", message)
    if unhealthy:
        return " ".join(unhealthy.group(0).split())
    lines = [line.strip() for line in message.splitlines()
             if line.strip() and not line.strip().startswith(("File ", "Detected at node", "Graph execution error"))]
    return lines[0] if lines else type(error).__name__
