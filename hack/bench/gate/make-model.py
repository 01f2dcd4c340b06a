"""Makes the benchmark model: python make-model.py OUT.onnx rf|mlp (20 float features, binary, seeded)."""
import sys
import warnings

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType

warnings.simplefilter("ignore")
rng = np.random.default_rng(1)
F = 20
X = rng.uniform(-2, 2, size=(20000, F)).astype(np.float32)
y = (X[:, :5].sum(1) + rng.logistic(size=20000) > 0).astype(int)
if sys.argv[2] == "rf":
    m = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0).fit(X, y)
else:
    m = MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=50, random_state=0).fit(X, y)
onx = to_onnx(m, initial_types=[("input", FloatTensorType([None, F]))], options={id(m): {"zipmap": False}},
              target_opset=17)
open(sys.argv[1], "wb").write(onx.SerializeToString())
