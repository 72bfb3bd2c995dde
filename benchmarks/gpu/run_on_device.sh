set -x
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 MUJOCO_GL=egl
S=/tmp/site; mkdir -p $S
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target $S benchmarks/gpu/*.whl
for l in skills planners sim; do ln -sfn $PWD/$l robomatrix/$l; done
export PYTHONPATH=$S:$PWD
nvidia-smi -L; python3 -c "import torch;print(torch.__version__, torch.cuda.get_device_name(0))"
python3 -m robomatrix.cli bench policy --closed-loop-episodes 0 --n 1000 --json > $OUT/bench_policy_gpu.json; echo rc=$?
cat $OUT/bench_policy_gpu.json
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_neural.py -k "not mujoco and not drawer and not bench_skills and not policy_drives" 2>&1 | tail -8 | tee $OUT/pytest_gpu.log
timeout 300 python3 benchmarks/gpu/train_speed.py > $OUT/train_speed.json; echo rc=$?
head -c 4000 $OUT/train_speed.json
