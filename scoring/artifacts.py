"""Model artifacts as plain JSON + ``.npz`` (loaded with ``allow_pickle=False``), so loading never runs code.

Each model ``name`` is stored as ``name.json`` (settings, vocabulary, metrics), ``name.npz`` (float arrays) and
``name.md`` (the model card a person reads).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from scoring.errors import ScoringError

__all__ = ["DEFAULT_MODELS_DIR", "ModelMissingError", "save_artifact", "write_meta", "load_artifact",
           "artifacts_version"]

DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[1] / "data" / "models"


class ModelMissingError(ScoringError):
    """A model file is absent: the models were never trained or the folder is wrong."""


def save_artifact(models_dir: Path, name: str, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write ``name.json`` and ``name.npz``; arrays of floats are stored as float32 to keep git light."""
    models_dir.mkdir(parents=True, exist_ok=True)
    write_meta(models_dir, name, meta)
    packed = {k: (v.astype(np.float32) if v.dtype.kind == "f" and v.dtype != np.float16 else v)
              for k, v in arrays.items()}
    # numpy's stub checks a **dict against the keyword allow_pickle: bool as well as against **kwds: ArrayLike
    np.savez_compressed(models_dir / f"{name}.npz", **packed)  # type: ignore[arg-type]


def write_meta(models_dir: Path, name: str, meta: dict) -> None:
    """Write ``name.json`` alone: ``huifang evaluate`` records new figures without touching the arrays."""
    (models_dir / f"{name}.json").write_text(
        json.dumps(meta, ensure_ascii=False, separators=(",", ":"), sort_keys=True), encoding="utf-8"
    )


def load_artifact(models_dir: Path, name: str) -> tuple[dict, dict[str, np.ndarray]]:
    """Read what ``save_artifact`` wrote; object arrays are refused (``allow_pickle=False``)."""
    meta_path, npz_path = models_dir / f"{name}.json", models_dir / f"{name}.npz"
    if not meta_path.exists() or not npz_path.exists():
        raise ModelMissingError(
            f"找不到模型文件 {meta_path.name} / {npz_path.name}（目录 {models_dir}）。请先运行 `huifang train`。"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    with np.load(npz_path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return meta, arrays


def artifacts_version(models_dir: Path, names: list[str]) -> str:
    """A short content hash of the given artifacts: changes whenever any of them is retrained or edited."""
    h = hashlib.sha256()
    for name in sorted(names):
        for suffix in (".json", ".npz"):
            path = models_dir / f"{name}{suffix}"
            if path.exists():
                h.update(path.name.encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:12]
