"""Trains the ad-click model: gradient-boosted trees on tabular features, exported to ONNX.

This is the program the image in examples/ad-click/trainingpipeline.yaml runs. It follows the mlops-operator
training-pod contract:

  MLOPS_RUN              run name, e.g. ad-click-20261122-0300 (also the seed, so a retried run is identical)
  MLOPS_MODEL            model name, ad-click
  MLOPS_DATA_URI         training data: a CSV file, or a prefix ending in / whose *.csv files are concatenated
  MLOPS_EVAL_URI         evaluation CSV (the gate's dataset); used here only to report metrics.json
  MLOPS_OUTPUT_URI       folder to write model.onnx and metrics.json into
  MLOPS_HYPERPARAMETERS  JSON object of all hyperparameters, as strings
  HP_<NAME>              one variable per hyperparameter (HP_LEARNING_RATE, ...)

URIs are gs://bucket/path (google-cloud-storage; honours STORAGE_EMULATOR_HOST) or file:///path.

The model takes one float32 input named "features" of shape [rows, columns]: every CSV column except the label,
in file order, which is what the evaluation gate feeds by default. It outputs "label" and "probabilities"
([rows, 2]; no ZipMap, so any ONNX runtime can read it).

Run it locally:
  python make_data.py /tmp/ad-click
  MLOPS_RUN=local MLOPS_MODEL=ad-click MLOPS_DATA_URI=file:///tmp/ad-click/raw/ \
  MLOPS_EVAL_URI=file:///tmp/ad-click/eval.csv MLOPS_OUTPUT_URI=file:///tmp/ad-click/out/ python train.py
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import zlib
from urllib.parse import urlparse

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType

LABEL = "clicked"
DEFAULTS = {"learning_rate": "0.05", "n_estimators": "200", "max_depth": "3", "subsample": "1.0"}


# --- storage: gs:// and file:// -------------------------------------------------------------------------------


def _gcs_client():
    from google.cloud import storage  # imported lazily: file:// runs need no cloud libraries

    return storage.Client()


def list_uris(uri: str) -> list[str]:
    """The URI itself, or for a prefix ending in / every .csv object below it, sorted."""
    if not uri.endswith("/"):
        return [uri]
    u = urlparse(uri)
    if u.scheme == "file":
        root = u.path
        found = []
        for dirpath, _, files in os.walk(root):
            found += [os.path.join(dirpath, f) for f in files if f.endswith(".csv")]
        return ["file://" + p for p in sorted(found)]
    if u.scheme == "gs":
        blobs = _gcs_client().list_blobs(u.netloc, prefix=u.path.lstrip("/"))
        return sorted(f"gs://{u.netloc}/{b.name}" for b in blobs if b.name.endswith(".csv"))
    raise ValueError(f"unsupported URI {uri!r}: use gs:// or file://")


def read_bytes(uri: str) -> bytes:
    u = urlparse(uri)
    if u.scheme == "file":
        with open(u.path, "rb") as f:
            return f.read()
    if u.scheme == "gs":
        return _gcs_client().bucket(u.netloc).blob(u.path.lstrip("/")).download_as_bytes()
    raise ValueError(f"unsupported URI {uri!r}: use gs:// or file://")


def write_bytes(folder: str, name: str, data: bytes, content_type: str) -> str:
    target = folder.rstrip("/") + "/" + name
    u = urlparse(target)
    if u.scheme == "file":
        os.makedirs(os.path.dirname(u.path), exist_ok=True)
        tmp = u.path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, u.path)  # readers never see half a model
    elif u.scheme == "gs":
        _gcs_client().bucket(u.netloc).blob(u.path.lstrip("/")).upload_from_string(data, content_type=content_type)
    else:
        raise ValueError(f"unsupported URI {target!r}: use gs:// or file://")
    return target


# --- data -------------------------------------------------------------------------------------------------------


def load_csv(uri: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Reads one CSV file or all CSV files under a prefix. Returns (feature names, X float32 with NaN for empty, y)."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    uris = list_uris(uri)
    if not uris:
        raise SystemExit(f"no CSV files under {uri}")
    for part in uris:
        reader = csv.reader(io.StringIO(read_bytes(part).decode("utf-8")))
        h = next(reader)
        if header is None:
            header = h
        elif h != header:
            raise SystemExit(f"{part}: header {h} differs from {header}")
        rows += [r for r in reader if r]
    assert header is not None
    if LABEL not in header:
        raise SystemExit(f"{uri}: no label column {LABEL!r} in {header}")
    li = header.index(LABEL)
    features = [c for i, c in enumerate(header) if i != li]
    x = np.array([[_num(v) for i, v in enumerate(r) if i != li] for r in rows], dtype=np.float32)
    y = np.array([int(float(r[li])) for r in rows], dtype=np.int64)
    return features, x, y


def _num(v: str) -> float:
    return float(v) if v.strip() != "" else math.nan


# --- training ---------------------------------------------------------------------------------------------------


def hyperparameters() -> dict[str, str]:
    hp = dict(DEFAULTS)
    hp.update(json.loads(os.environ.get("MLOPS_HYPERPARAMETERS") or "{}"))
    for name in DEFAULTS:  # HP_<NAME> wins: it is what a sweep trial overrides
        v = os.environ.get("HP_" + name.upper())
        if v is not None:
            hp[name] = v
    return hp


def scores(model: Pipeline, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    p = model.predict_proba(x)[:, 1]
    out = {"accuracy": float(accuracy_score(y, (p >= 0.5).astype(np.int64))), "examples": float(len(y))}
    if len(set(y.tolist())) == 2:
        out["auc"] = float(roc_auc_score(y, p))
        out["logloss"] = float(log_loss(y, p, labels=[0, 1]))
    return out


def main() -> int:
    run = os.environ["MLOPS_RUN"]
    data_uri = os.environ["MLOPS_DATA_URI"]
    eval_uri = os.environ.get("MLOPS_EVAL_URI", "")
    out_uri = os.environ["MLOPS_OUTPUT_URI"]
    hp = hyperparameters()
    seed = zlib.crc32(run.encode()) & 0x7FFFFFFF
    print(f"run {run} model {os.environ.get('MLOPS_MODEL', '?')} hyperparameters {hp}", flush=True)

    features, x, y = load_csv(data_uri)
    print(f"training on {len(y)} rows, {len(features)} features: {features}", flush=True)
    model = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            (
                "gbt",
                GradientBoostingClassifier(
                    learning_rate=float(hp["learning_rate"]),
                    n_estimators=int(hp["n_estimators"]),
                    max_depth=int(hp["max_depth"]),
                    subsample=float(hp["subsample"]),
                    random_state=seed,
                ),
            ),
        ]
    )
    model.fit(x, y)

    metrics = {f"train_{k}": v for k, v in scores(model, x, y).items() if k != "examples"}
    if eval_uri:
        eval_features, ex, ey = load_csv(eval_uri)
        if eval_features != features:
            raise SystemExit(f"evaluation columns {eval_features} differ from training columns {features}")
        metrics.update(scores(model, ex, ey))

    onx = to_onnx(
        model,
        initial_types=[("features", FloatTensorType([None, len(features)]))],
        options={GradientBoostingClassifier: {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    model_uri = write_bytes(out_uri, "model.onnx", onx.SerializeToString(), "application/octet-stream")
    write_bytes(out_uri, "metrics.json", json.dumps(metrics, indent=2, sort_keys=True).encode(), "application/json")
    print(f"wrote {model_uri}; metrics {json.dumps(metrics, sort_keys=True)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
