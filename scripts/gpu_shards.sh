#!/bin/bash
# Device batch: an experiment's runs split over processes side by side (scripts/shard_runs.py), under a deadline.
# usage (on the device, from the repo root): bash scripts/gpu_shards.sh SECONDS SRC NAME:N [NAME:N ...]
# SRC is the checkout whose aptami/ runs (. for this one; or a folder holding an older commit's aptami/, e.g.
# `git archive COMMIT aptami | tar x -C SRC`, carried as an ignored folder, so runs keep that commit's code
# fingerprint); its results store is SRC/runs (put trained agents' lean checkpoints under SRC/runs/agents-lean).
# NAME:N runs experiment NAME as N shard processes (SHARD_ARGS="--scale demo" passes a scale to each). Shards cut by the deadline keep their finished runs.
# Give the device call a timeout_s of SECONDS + 90 (30 s grace after SIGINT, then packing).
# Back in $OUT: shards.tgz (each shard's log) and store.tgz.* (SRC/runs without agents and agents-lean).
# Merge here: cat store.tgz.* | tar xzf - -C DIR; python scripts/merge_store.py DIR/runs --into STORE;
# then `aptami experiment NAME` (same code) finds every run and analyses them.
# Needs .whl/ (gymnasium, farama-notifications wheels), carried with the call, as gpu_batch.sh does; it installs
# them apart from gpu_batch.sh's (/tmp/site-shards), so both can run in one call.
LIMIT=$1; SRC=$(cd "$2" && pwd) || exit 2; shift 2
HERE=$PWD
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site-shards .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site-shards:$SRC PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
mkdir -p "$OUT"/shards
cd "$SRC"
{ nvidia-smi -L; python3 -c "import jax; print(jax.__version__, jax.devices())"; \
  python3 -c "from aptami.util import code_fingerprint; print('code', code_fingerprint())"; } > "$OUT"/shards/device.txt 2>&1
pack() {
  (cd "$OUT" && tar czf shards.tgz shards && rm -rf shards)
  (cd "$SRC" && tar czf - --exclude='*.tmp*' --exclude='runs/agents' --exclude='runs/agents-lean' runs) \
    | split -b 15m -a 1 - "$OUT"/store.tgz.
}
trap pack EXIT
trap 'exit 143' TERM INT   # so a stopped batch still packs what it finished (bash runs no EXIT trap on a signal)
for spec in "$@"; do
  name=${spec%%:*}; n=${spec##*:}
  [[ $spec == *:* && $n =~ ^[1-9][0-9]*$ ]] || { echo "bad NAME:N $spec (N a positive number of shards)" >&2; exit 2; }
  for ((i = 0; i < n; i++)); do
    timeout -k 30 -s INT $LIMIT python3 "$HERE/scripts/shard_runs.py" $name $i $n $SHARD_ARGS > "$OUT"/shards/$name.$i.txt 2>&1 &
  done
done
wait
