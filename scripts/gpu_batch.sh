#!/bin/bash
# Device batch: full-size experiments on one GPU, under a deadline; the results store comes back in $OUT.
# usage (on the device, from the repo root): bash scripts/gpu_batch.sh SECONDS LANE [LANE ...]
# A LANE is a comma-separated list of jobs run in turn; lanes run at once (the planners' small kernels
# leave the GPU idle between launches, and each process compiles on its own CPU cores). A job is an
# experiment name, or eval:SCENARIO[:SEEDS[:STEPS[:SECTION.KEY=VALUE ...]]] for
# `aptami eval SCENARIO --world-model learned` (train, then evaluate), each further field one --set, or, written
# +planner.KEY=VALUE, one --replan: the agents trained without it, evaluated with it (put the job after the one
# that trains them in the same lane, e.g. eval:fetch:8:2000,eval:fetch:8:2000:+planner.gate_task=true), or
# half:HALF[:PART] for scripts/full_size_halves.py (one lane per PART: half:instrumental-learned:task-only ...), or
# shard:NAME:I:N for shard I of N of experiment NAME's runs (scripts/shard_runs.py; one lane per shard, e.g.
# shard:critic-exploitation:{0..5}:6 in bash; SHARD_ARGS="--scale demo" passes a scale). APTAMI_SRC=DIR runs DIR's
# aptami/ and store DIR/runs instead of this checkout's (DIR: an ignored folder carried with the call holding an
# older commit's aptami/, from `git archive COMMIT aptami | tar x -C DIR`, so runs keep that commit's code
# fingerprint; trained agents' lean checkpoints under DIR/runs/agents-lean, which stay behind on the return).
# SIGINT at the deadline lets training save the chunk in flight; 45 s later it is killed: give the call
# a timeout_s of SECONDS + 60. Needs .whl/ with gymnasium and farama-notifications wheels for the device's Python (see the device README),
# carried with the call. runs/agents (trained agents, GBs) stays behind: the return holds 64 MiB; the lean
# checkpoints under runs/agents-lean (networks and 1024 remembered steps per seed, ~42 MB for the 16 shared
# agents of critic-exploitation and stay-in-distribution) come back, and merge_store.py copies them over.
# Merge what comes back: cat runs.tgz.* | tar xzf - -C DIR; python scripts/merge_store.py DIR/runs
# LEAN_EVALS=1 also brings back a lean copy of each eval job's trained agents (scripts/lean.py: networks, 16 remembered steps,
# ~17 MB for 8 fetch seeds from 2.1 MB for one; at most 3 such jobs a call), to re-plan them on a CPU: aptami eval --agent COPY.
# (and tar xzf jobs.tgz for each job's JSON answer, or a half's printed output, and log)
LIMIT=$1; shift
T0=$(date +%s)
HERE=$PWD; SRC=$(cd "${APTAMI_SRC:-.}" && pwd) || exit 2
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$SRC PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
cd "$SRC"
CARRIED=$(ls -d runs/agents-lean/* 2>/dev/null)   # lean checkpoints that came with the call do not go back
LOG=$OUT/device.log
{ nvidia-smi -L; python3 -c "import jax, equinox, optax; print(jax.__version__, jax.devices())"; \
  python3 -c "from aptami.util import code_fingerprint; print('code', code_fingerprint())"; } >> $LOG 2>&1
# The device returns at most 8 files: every job's JSON answer and log go into one tarball.
pack() {
  (cd $OUT && f=$(ls *.json *.err *.out 2>/dev/null); [ -n "$f" ] && tar czf jobs.tgz $f && rm -f $f)
  [ -d runs ] && tar czf - --exclude='*.tmp*' --exclude='runs/agents' $(for c in $CARRIED; do echo "--exclude=$c"; done) \
    runs | split -b 15m -a 1 - $OUT/runs.tgz.
  ls -la $OUT >> $LOG
}
trap pack EXIT
trap 'exit 143' TERM INT   # a stopped batch still packs what it finished (bash runs no EXIT trap on a signal)
job() {  # one job under what is left of the deadline; its JSON answer stays in $OUT/NAME.json
  local left=$((T0 + LIMIT - $(date +%s))) name=${1//[:=]/_} rc
  [ ${#name} -gt 120 ] && name=${name:0:100}_$(echo "$1" | cksum | cut -d' ' -f1)   # a file name's limit
  if [ $left -lt 20 ]; then echo "SKIP $1 (deadline)" >> $LOG; return; fi
  echo "=== $1 start $(date +%T) left ${left}s" >> $LOG
  local s=$(date +%s)
  if [[ $1 == eval:* ]]; then
    IFS=: read -ra f <<< "$1"
    local sets=() kv
    for kv in "${f[@]:4}"; do
      if [[ $kv == +* ]]; then sets+=(--replan "${kv:1}"); else sets+=(--set "$kv"); fi
    done
    timeout -k 45 -s INT $left python3 -m aptami.cli eval ${f[1]} --world-model learned --seeds ${f[2]:-8} \
      --steps ${f[3]:-2000} "${sets[@]}" --quiet --json > $OUT/$name.json 2>> $OUT/$name.err
    rc=$?
    local run=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['run'])" \
                $OUT/$name.json 2>/dev/null)
    [ -n "$LEAN_EVALS" ] && [ -n "$run" ] && python3 "$HERE/scripts/lean.py" "$run" --out runs/agents-lean >> $OUT/$name.err 2>&1
  elif [[ $1 == half:* ]]; then   # half:HALF[:PART], scripts/full_size_halves.py (e.g. half:instrumental-learned:+pain)
    IFS=: read -ra f <<< "$1"
    timeout -k 45 -s INT $left python3 "$HERE/scripts/full_size_halves.py" ${f[1]} ${f[2]} > $OUT/$name.out 2>> $OUT/$name.err
    rc=$?
  elif [[ $1 == shard:* ]]; then   # shard:NAME:I:N, scripts/shard_runs.py
    IFS=: read -ra f <<< "$1"
    timeout -k 45 -s INT $left python3 "$HERE/scripts/shard_runs.py" ${f[1]} ${f[2]} ${f[3]} $SHARD_ARGS \
      > $OUT/$name.out 2>> $OUT/$name.err
    rc=$?
  else
    timeout -k 45 -s INT $left python3 -m aptami.cli experiment $1 --json > $OUT/$name.json 2>> $OUT/$name.err
    rc=$?
  fi
  echo "=== $1 rc=$rc $(( $(date +%s) - s ))s" >> $LOG
}
lane() { IFS=, read -ra jobs <<< "$1"; for j in "${jobs[@]}"; do job "$j"; done; }
for l in "$@"; do lane "$l" & done
wait
