"""Tiny, seeded scikit-learn models converted to ONNX, and eval sets, for the evaluation-gate tests.

usage: python gate_fixtures.py OUTDIR
Writes OUTDIR/*.onnx, OUTDIR/eval.{csv,jsonl,parquet} (+ variants) and OUTDIR/expected.json with metrics that
scikit-learn computes from onnxruntime's (Python) outputs on the eval rows.
"""
import json
import warnings
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn import metrics as M
from sklearn.linear_model import LinearRegression, LogisticRegression
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

warnings.simplefilter("ignore")  # float32 probabilities do not sum to exactly 1
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
FEATS = ["f0", "f1", "f2", "f3"]


def make(n):
    X = rng.normal(size=(n, 4)).astype(np.float32)
    color = rng.choice(["red", "green", "blue"], size=n)
    logit = 1.5 * X[:, 0] - 1.0 * X[:, 1] + 0.5 * X[:, 2] + 0.8 * X[:, 3] + (color == "red") * 0.7
    y = (logit + rng.logistic(size=n) > 0).astype(np.int64)
    target = (3 * X[:, 0] - 2 * X[:, 1] + X[:, 3] + rng.normal(0, 0.5, n)).astype(np.float64)
    return X, color, y, target


Xtr, ctr, ytr, ttr = make(3000)
Xev, cev, yev, tev = make(1200)


def save(model, name, n_features=4):
    onx = to_onnx(model, initial_types=[("input", FloatTensorType([None, n_features]))],
                  options={id(model): {"zipmap": False}} if hasattr(model, "predict_proba") else None,
                  target_opset=17)
    with open(os.path.join(out, name), "wb") as f:
        f.write(onx.SerializeToString())


good = LogisticRegression(max_iter=1000).fit(Xtr, ytr)
save(good, "good.onnx")
# Worse: ignores f3, so its AUC is a few points lower but still far above chance.
worse_X = Xtr.copy(); worse_X[:, 3] = 0
save(LogisticRegression(max_iter=1000).fit(worse_X, ytr), "worse.onnx")
# Weak: learns from f3 alone.
weak_X = Xtr.copy(); weak_X[:, :3] = 0
save(LogisticRegression(max_iter=1000).fit(weak_X, ytr), "weak.onnx")
# Three inputs where the eval set has four features.
save(LogisticRegression(max_iter=1000).fit(Xtr[:, :3], ytr), "three-features.onnx", n_features=3)
save(LinearRegression().fit(Xtr, ttr), "regressor.onnx")

# Mixed types, one input per column ([N, 1] each, a string column among them), as skl2onnx makes for a
# ColumnTransformer: a classifier on [features, one-hot(color)] with the preprocessing grafted in front.
CATS = ["blue", "green", "red"]
def onehot(c):
    return np.stack([(c == k) for k in CATS], axis=1).astype(np.float32)
lr7 = LogisticRegression(max_iter=1000).fit(np.hstack([Xtr, onehot(ctr)]), ytr)
onx = to_onnx(lr7, initial_types=[("input", FloatTensorType([None, 7]))], options={id(lr7): {"zipmap": False}},
              target_opset=17)
g = onx.graph
del g.input[:]
g.input.extend([helper.make_tensor_value_info(f, TensorProto.FLOAT, [None, 1]) for f in FEATS])
g.input.append(helper.make_tensor_value_info("color", TensorProto.STRING, [None, 1]))
g.initializer.append(numpy_helper.from_array(np.array([-1, 3], dtype=np.int64), "shape_n3"))
pre_nodes = [
    helper.make_node("Concat", FEATS, ["num"], axis=1),
    helper.make_node("OneHotEncoder", ["color"], ["oh3"], domain="ai.onnx.ml", cats_strings=CATS, zeros=1),
    helper.make_node("Reshape", ["oh3", "shape_n3"], ["oh"]),
    helper.make_node("Concat", ["num", "oh"], ["input"], axis=1),
]
old = list(g.node)
del g.node[:]
g.node.extend(pre_nodes + old)
onnx.checker.check_model(onx)
open(os.path.join(out, "mixed.onnx"), "wb").write(onx.SerializeToString())

# Eval sets: the same rows in three formats.
cols = {f: Xev[:, i].astype(np.float64) for i, f in enumerate(FEATS)}
cols.update({"color": cev, "y": yev, "target": tev})
table = pa.table(cols)
pq.write_table(table, os.path.join(out, "eval.parquet"), row_group_size=500)
header = list(cols.keys())
def fmt(v):
    return repr(float(v)) if isinstance(v, (float, np.floating)) else str(v)
with open(os.path.join(out, "eval.csv"), "w") as f:
    f.write(",".join(header) + "\n")
    for i in range(len(yev)):
        f.write(",".join(fmt(cols[h][i]) for h in header) + "\n")
with open(os.path.join(out, "eval.jsonl"), "w") as f:
    for i in range(len(yev)):
        f.write(json.dumps({h: (cols[h][i].item() if hasattr(cols[h][i], "item") else cols[h][i]) for h in header}) + "\n")

# Expected metrics: scikit-learn on onnxruntime's outputs for the CSV's (float32) features.
expected = {}
X32 = np.stack([np.array([float(fmt(v)) for v in cols[f]], dtype=np.float32) for f in FEATS], axis=1)
for name in ["good", "worse", "weak"]:
    s = ort.InferenceSession(os.path.join(out, f"{name}.onnx"))
    label, proba = s.run(None, {"input": X32})
    p = proba.astype(np.float64)
    expected[name] = {"accuracy": M.accuracy_score(yev, label), "precision": M.precision_score(yev, label),
                      "recall": M.recall_score(yev, label), "f1": M.f1_score(yev, label),
                      "roc_auc": M.roc_auc_score(yev, p[:, 1]), "log_loss": M.log_loss(yev, p)}
s = ort.InferenceSession(os.path.join(out, "mixed.onnx"))
feeds = {f: X32[:, i:i + 1] for i, f in enumerate(FEATS)}
feeds["color"] = cev.reshape(-1, 1)
label, proba = s.run(None, feeds)
expected["mixed"] = {"accuracy": M.accuracy_score(yev, label), "roc_auc": M.roc_auc_score(yev, proba[:, 1].astype(np.float64))}
s = ort.InferenceSession(os.path.join(out, "regressor.onnx"))
(pred,) = s.run(None, {"input": X32})
pred = pred.ravel().astype(np.float64)
expected["regressor"] = {"rmse": M.root_mean_squared_error(tev, pred), "mae": M.mean_absolute_error(tev, pred),
                         "r2": M.r2_score(tev, pred)}
json.dump(expected, open(os.path.join(out, "expected.json"), "w"), indent=1)
print(json.dumps({k: round(v.get("roc_auc", v.get("r2", 0)), 4) for k, v in expected.items()}))
