"""The peer of the serving benchmark: what a user would otherwise deploy for an ONNX model.

FastAPI + pydantic request models + onnxruntime (intra=1, inter=1), the Open Inference Protocol v2 REST shape,
uvicorn with one worker (uvloop and httptools when installed, as `uvicorn[standard]` brings them).
Usage: fastapi_server.py MODEL_NAME MODEL_PATH PORT
"""

import sys
from typing import Any, List, Optional

import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel

NAME, PATH, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])

opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
opts.inter_op_num_threads = 1
opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
session = ort.InferenceSession(PATH, opts, providers=["CPUExecutionProvider"])

NP = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32, "BOOL": np.bool_}
OIP = {np.dtype(v).name: k for k, v in NP.items()}


class RequestInput(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    data: List[Any]


class RequestOutput(BaseModel):
    name: str


class InferenceRequest(BaseModel):
    id: Optional[str] = None
    inputs: List[RequestInput]
    outputs: Optional[List[RequestOutput]] = None


app = FastAPI()


@app.get("/v2/health/live")
async def live():
    return {"live": True}


@app.get("/v2/health/ready")
async def ready():
    return {"ready": True}


@app.post("/v2/models/{model}/infer")
async def infer(model: str, req: InferenceRequest):
    if model != NAME:
        return JSONResponse({"error": f"model {model} not found"}, status_code=404)
    try:
        feeds = {i.name: np.asarray(i.data, dtype=NP[i.datatype]).reshape(i.shape) for i in req.inputs}
    except (KeyError, ValueError) as e:
        raise HTTPException(status_code=400, detail=str(e))
    names = [o.name for o in req.outputs] if req.outputs else [o.name for o in session.get_outputs()]
    results = session.run(names, feeds)
    outputs = [
        {"name": n, "shape": list(r.shape), "datatype": OIP[r.dtype.name], "data": r.flatten().tolist()}
        for n, r in zip(names, results)
    ]
    body = {"model_name": NAME, "outputs": outputs}
    if req.id is not None:
        body["id"] = req.id
    return body


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, workers=1, log_level="warning", access_log=False)
