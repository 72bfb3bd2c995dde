"""GPU vs CPU training speed side by side in one run: robomatrix's `train()` on the same synthetic
dataset in the real on-disk format (random frames at 160x120). The MiniLM vectors of the two
instructions were computed beforehand with the real model (the model itself does not fit the
transfer), so `embed_instructions` is a lookup of those vectors here."""
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, "tests")
from neural_fixtures import write_tiny_dataset  # noqa: E402

import robomatrix.skills.neural.train as T  # noqa: E402
from robomatrix.skills.neural.checkpoint import load_checkpoint  # noqa: E402

table = np.load("benchmarks/gpu/embeddings.npz")
vectors = dict(zip(table["texts"].tolist(), table["vectors"]))
T.embed_instructions = lambda texts: np.stack([vectors[t] for t in texts])

root = Path(tempfile.mkdtemp())
episodes = [("move_to", "move to the red can", 60), ("grasp", "grasp the blue can", 60)] * 50  # 6,000 steps
write_tiny_dataset(root / "ds", episodes=episodes, size=(160, 120))
rows = {}
runs = (("cuda", 16), ("cpu", 16), ("cpu", 2)) if torch.cuda.is_available() else (("cpu", 2),)
for device, threads in runs:
    torch.set_num_threads(threads)
    name = f"{device}_{threads}t" if device == "cpu" else device
    cfg = T.TrainConfig(epochs=10, device=device)
    t0 = time.perf_counter()
    summary = T.train(root / "ds", root / f"ck_{name}", cfg, progress=False, log=lambda s: None)
    wall = time.perf_counter() - t0
    rows[name] = {"wall_s": round(wall, 2), "epochs": [{k: (round(v, 4) if isinstance(v, float) else v)
                                                          for k, v in h.items()} for h in summary["history"]],
                  "device": summary["device"]}
if not torch.cuda.is_available():
    print(json.dumps(rows))
    sys.exit(0)
# the CUDA-trained (bf16 autocast) checkpoint gives the same outputs on CPU and GPU
model, _ = load_checkpoint(root / "ck_cuda")
g = torch.Generator().manual_seed(0)
s = model.config.image_size
image = torch.randint(0, 256, (4, 3, s, s), generator=g, dtype=torch.uint8)
proprio, text = torch.randn(4, model.config.proprio_dim, generator=g), torch.randn(4, model.config.instruction_dim, generator=g)
with torch.inference_mode():
    a_cpu, d_cpu = model(image, proprio, text)
    gpu = model.to("cuda")
    a_gpu, d_gpu = gpu(image.cuda(), proprio.cuda(), text.cuda())
rows["cpu_vs_cuda_max_abs_diff"] = {"actions": float((a_cpu - a_gpu.cpu()).abs().max()),
                                    "done_logit": float((d_cpu - d_gpu.cpu()).abs().max()),
                                    "finite": bool(torch.isfinite(a_gpu).all())}
rows["samples_train"] = json.loads((root / "ck_cuda" / "config.json").read_text())["train"]["samples_train"]
print(json.dumps(rows))
