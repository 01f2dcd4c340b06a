"""Trains the MNIST digit classifier with PyTorch (data-parallel over the pods of the run) and exports it to ONNX.

This is the program the image in examples/mnist/trainingpipeline.yaml runs. It follows the mlops-operator
training-pod contract:

  MLOPS_RUN              run name (also the seed, so a retried run starts from the same weights)
  MLOPS_MODEL            model name, mnist
  MLOPS_DATA_URI         training CSV (label, pixel0 .. pixel783; values 0-255), or a prefix ending in /
  MLOPS_EVAL_URI         evaluation CSV of the same shape; scored on rank 0 for metrics.json
  MLOPS_OUTPUT_URI       folder to write model.onnx and metrics.json into (rank 0 writes)
  MLOPS_HYPERPARAMETERS  JSON object of all hyperparameters, as strings
  HP_<NAME>              one variable per hyperparameter (HP_EPOCHS, HP_LEARNING_RATE, HP_BATCH_SIZE)
  MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK
                         set by the operator when workers > 1 (one process per pod, torchrun's env:// rendezvous)

URIs are gs://bucket/path (google-cloud-storage; honours STORAGE_EMULATOR_HOST) or file:///path.

The ONNX model takes one float32 input "features" of shape [rows, 784] holding raw pixel values 0-255 (the CSV
columns except the label, in file order, as the evaluation gate feeds them) and returns "probabilities" [rows, 10].
Scaling to 0-1 happens inside the model, so callers never have to know about it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import zlib
from urllib.parse import urlparse

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

LABEL = "label"
DEFAULTS = {"epochs": "4", "learning_rate": "0.001", "batch_size": "128"}


# --- storage: gs:// and file:// -------------------------------------------------------------------------------


def _gcs_client():
    from google.cloud import storage  # imported lazily: file:// runs need no cloud libraries

    return storage.Client()


def list_uris(uri: str) -> list[str]:
    if not uri.endswith("/"):
        return [uri]
    u = urlparse(uri)
    if u.scheme == "file":
        found = []
        for dirpath, _, files in os.walk(u.path):
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
        with open(u.path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(u.path + ".tmp", u.path)
    elif u.scheme == "gs":
        _gcs_client().bucket(u.netloc).blob(u.path.lstrip("/")).upload_from_string(data, content_type=content_type)
    else:
        raise ValueError(f"unsupported URI {target!r}: use gs:// or file://")
    return target


def load_csv(uri: str) -> tuple[np.ndarray, np.ndarray]:
    """Returns (X float32 [rows, 784] with raw 0-255 values, y int64)."""
    xs, ys = [], []
    for part in list_uris(uri):
        reader = csv.reader(io.StringIO(read_bytes(part).decode("utf-8")))
        header = next(reader)
        li = header.index(LABEL)
        for r in reader:
            if r:
                ys.append(int(r[li]))
                xs.append([float(v) for i, v in enumerate(r) if i != li])
    if not ys:
        raise SystemExit(f"no rows in {uri}")
    return np.asarray(xs, dtype=np.float32), np.asarray(ys, dtype=np.int64)


# --- model ------------------------------------------------------------------------------------------------------


class Net(nn.Module):
    """A small CNN (about 99% test accuracy after a few epochs); takes flat raw pixels, returns class probabilities."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.drop = nn.Dropout(0.25)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = (x / 255.0 - 0.1307) / 0.3081
        x = x.reshape(-1, 1, 28, 28)
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = self.drop(torch.flatten(x, 1))
        return self.fc2(self.drop(F.relu(self.fc1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.logits(x), dim=1)


def hyperparameters() -> dict[str, str]:
    hp = dict(DEFAULTS)
    hp.update(json.loads(os.environ.get("MLOPS_HYPERPARAMETERS") or "{}"))
    for name in DEFAULTS:
        v = os.environ.get("HP_" + name.upper())
        if v is not None:
            hp[name] = v
    return hp


def evaluate(model: Net, x: np.ndarray, y: np.ndarray, device: torch.device) -> dict[str, float]:
    model.eval()
    correct, loss, n = 0, 0.0, 0
    with torch.no_grad():
        for i in range(0, len(y), 1024):
            xb = torch.from_numpy(x[i : i + 1024]).to(device)
            yb = torch.from_numpy(y[i : i + 1024]).to(device)
            logits = model.logits(xb)
            loss += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += (logits.argmax(1) == yb).sum().item()
            n += len(yb)
    return {"accuracy": correct / n, "loss": loss / n, "examples": float(n)}


def main() -> int:
    run = os.environ["MLOPS_RUN"]
    hp = hyperparameters()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if cuda else torch.device("cpu")
    if world > 1:
        # env:// reads MASTER_ADDR, MASTER_PORT, WORLD_SIZE and RANK, which the operator sets.
        dist.init_process_group(backend="nccl" if cuda else "gloo", init_method="env://")
    torch.manual_seed(zlib.crc32(run.encode()) & 0x7FFFFFFF)
    log = (lambda *a: print(*a, flush=True)) if rank == 0 else (lambda *a: None)
    log(f"run {run}: rank {rank}/{world} on {device}, hyperparameters {hp}")

    x, y = load_csv(os.environ["MLOPS_DATA_URI"])
    data = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True) if world > 1 else None
    loader = DataLoader(
        data, batch_size=int(hp["batch_size"]), sampler=sampler, shuffle=sampler is None, pin_memory=cuda
    )
    net = Net().to(device)
    model = DistributedDataParallel(net, device_ids=[device.index] if cuda else None) if world > 1 else net
    opt = torch.optim.Adam(model.parameters(), lr=float(hp["learning_rate"]))

    for epoch in range(int(hp["epochs"])):
        if sampler is not None:
            sampler.set_epoch(epoch)
        model.train()
        total, count = 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            opt.zero_grad()
            # Through forward() (probabilities), since DDP synchronises gradients only for calls of the wrapper.
            loss = F.nll_loss(torch.log(model(xb).clamp_min(1e-12)), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            count += len(yb)
        log(f"epoch {epoch + 1}: train loss {total / max(count, 1):.4f}")

    if rank == 0:
        metrics = {f"train_{k}": v for k, v in evaluate(net, x[:10000], y[:10000], device).items() if k != "examples"}
        eval_uri = os.environ.get("MLOPS_EVAL_URI", "")
        if eval_uri:
            ex, ey = load_csv(eval_uri)
            metrics.update(evaluate(net, ex, ey, device))
        net.eval().cpu()
        buf = io.BytesIO()
        # Works with both exporters: the TorchScript one (torch < 2.9) and the dynamo one (the default since 2.9,
        # which needs onnxscript and turns dynamic_axes into a dynamic batch dimension).
        torch.onnx.export(
            net,
            (torch.zeros(2, 784),),
            buf,
            input_names=["features"],
            output_names=["probabilities"],
            dynamic_axes={"features": {0: "rows"}, "probabilities": {0: "rows"}},
            opset_version=18,
        )
        out_uri = os.environ["MLOPS_OUTPUT_URI"]
        model_uri = write_bytes(out_uri, "model.onnx", buf.getvalue(), "application/octet-stream")
        write_bytes(out_uri, "metrics.json", json.dumps(metrics, indent=2, sort_keys=True).encode(), "application/json")
        log(f"wrote {model_uri}; metrics {json.dumps(metrics, sort_keys=True)}")
    if world > 1:
        dist.barrier()  # the other ranks exit only after rank 0 wrote the model, so the Job succeeds as a whole
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
