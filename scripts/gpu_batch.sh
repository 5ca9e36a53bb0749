#!/bin/bash
# Device batch: full-size experiments on one GPU, under a deadline; the results store comes back in $OUT.
# usage (on the device, from the repo root): bash scripts/gpu_batch.sh SECONDS EXP [EXP ...]
# Needs .whl/ with gymnasium and farama-notifications wheels for the device's Python (see the device README),
# carried with the call. runs/agents (trained agents, hundreds of MB) stays behind: the return holds 64 MiB.
# Merge what comes back: cat runs.tgz.* | tar xzf - -C DIR; python scripts/merge_store.py DIR/runs
LIMIT=$1; shift
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_MEM_FRACTION=0.9
LOG=$OUT/device.log
{ nvidia-smi -L; python3 -c "import jax, equinox, optax; print(jax.__version__, jax.devices())"; \
  python3 -c "from aptami.util import code_fingerprint; print('code', code_fingerprint())"; } >> $LOG 2>&1
pack() { [ -d runs ] && tar czf - --exclude='*.tmp*' --exclude='runs/agents' runs | split -b 15m -a 1 - $OUT/runs.tgz.; ls -la $OUT >> $LOG; }
trap pack EXIT
for exp in "$@"; do
  left=$((T0 + LIMIT - $(date +%s)))
  if [ $left -lt 20 ]; then echo "SKIP $exp (deadline)" >> $LOG; continue; fi
  echo "=== $exp start $(date +%T) left ${left}s" >> $LOG
  s=$(date +%s)
  timeout -s INT $left python3 -m aptami.cli experiment $exp --json > $OUT/$exp.json 2>> $LOG
  echo "=== $exp rc=$? $(( $(date +%s) - s ))s" >> $LOG
  grep -v "^$" $OUT/$exp.json | tail -c 2000 >> $LOG; rm -f $OUT/$exp.json
done
