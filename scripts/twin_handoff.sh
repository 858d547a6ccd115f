#!/usr/bin/env bash
# The hand-off from the toolkit to PyTorch (scripts/twin_meta_train.py under torchrun) and back, on the shared CT
# with the MobileSAM cheap path, end to end:
#   1. a toolkit model: ssmsam ssm init --base mobile_sam --no-adapters --out M.pth
#   2. one outer step on a one-meta-batch episode plan (ssmsam meta-train --plan-out), by the toolkit
#      (meta-train --plan) and by the twin on 1 and on NPROC processes (torchrun, gloo on a CPU); the heads, the
#      rates and the meta-gradients compared (scripts/twin_compare.py); and by the twin in float64 (--float64, 1
#      process, 1 thread), the reference both float32 runs are measured against
#   3. a short real run: a plan of EPOCHS epochs, torchrun --nproc_per_node=NPROC, then ssmsam eval --model RUN
#      (the 1-shot protocol on the held-out organ) and ssmsam zoo publish RUN + zoo verify --numbers in a
#      scratch registry
# Last line: the largest differences found.
#
#   scripts/twin_handoff.sh            Env: WORK (default /tmp/ssmsam-twin-handoff), NPROC (2), EPOCHS (4),
#                                      ORGAN (spleen, held out), SSMSAM, DATA
# Needs a release build (swift build -c release), ~/.cache/ssmsam/models/mobile_sam.{safetensors,pt}, the
# MobileSAM code for the twin (scripts/mobilesam_reference.py fetches it), torch with torchrun. About 25 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SSMSAM=${SSMSAM:-$ROOT/.build/release/ssmsam}
DATA=${DATA:-$ROOT/../shared/data/abdomen-ct}
WORK=${WORK:-/tmp/ssmsam-twin-handoff}
NPROC=${NPROC:-2}
EPOCHS=${EPOCHS:-4}
ORGAN=${ORGAN:-spleen}
TWIN=("$ROOT/scripts/twin_meta_train.py")
export PYTHONPATH="$ROOT/scripts:$ROOT/scripts/stubs${PYTHONPATH:+:$PYTHONPATH}"
export SSMSAM_ZOO="$WORK/registry"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
data=(--volume "$DATA/ct-full.nii.gz" --labels "$DATA/labels-full.nii.gz" --preset totalseg --test-organ "$ORGAN" --chunks 3)
small=(--tasks 2 --steps 2 --queries 1)

echo "== 1. the toolkit's model"
"$SSMSAM" ssm init --base mobile_sam --no-adapters --out M.pth | tail -1

echo "== 2. one outer step: toolkit, twin on 1 process, twin on $NPROC processes"
"$SSMSAM" meta-train "${data[@]}" "${small[@]}" --epochs 1 --init M.pth --plan-out step/PLAN.json
"$SSMSAM" meta-train --plan step/PLAN.json --out swift_step | tail -2
# One torch thread per process in both, so that the only difference is the distribution (other thread counts change
# torch's summation orders, which moves these meta-gradients by about 1e-3 relative at this size).
torchrun --nproc_per_node=1 "${TWIN[@]}" --plan step/PLAN.json --out twin_step1 --threads 1 2>&1 | grep -v '^W1\|\*\*\*\*' | tail -2
torchrun --nproc_per_node="$NPROC" "${TWIN[@]}" --plan step/PLAN.json --out twin_step"$NPROC" --threads 1 2>&1 | grep -v '^W1\|\*\*\*\*' | tail -2
echo "-- toolkit vs twin (1 process)"
python3 "$ROOT/scripts/twin_compare.py" swift_step twin_step1 --init M.pth | tee cmp_swift.txt || true
echo "-- twin: $NPROC processes vs 1"
python3 "$ROOT/scripts/twin_compare.py" twin_step"$NPROC" twin_step1 | tee cmp_nproc.txt || true
# The float64 reference: summation order moves a float32 run only so far from it (the twin's distance), anything
# beyond is a real difference (README, "Training at scale").
torchrun --nproc_per_node=1 "${TWIN[@]}" --plan step/PLAN.json --out twin_step64 --threads 1 --float64 2>&1 | grep -v '^W1\|\*\*\*\*' | tail -2
echo "-- toolkit vs the float64 twin"
python3 "$ROOT/scripts/twin_compare.py" swift_step twin_step64 --init M.pth | tee cmp_swift64.txt || true
echo "-- twin (float32, 1 process) vs the float64 twin"
python3 "$ROOT/scripts/twin_compare.py" twin_step1 twin_step64 --init M.pth | tee cmp_twin64.txt || true

echo "== 3. a short real run on $NPROC processes, back into the toolkit"
"$SSMSAM" meta-train "${data[@]}" "${small[@]}" --epochs "$EPOCHS" --init M.pth --plan-out real/PLAN.json
torchrun --nproc_per_node="$NPROC" "${TWIN[@]}" --plan real/PLAN.json --out RUN 2>&1 | grep -v '^W1\|\*\*\*\*'
"$SSMSAM" eval --model RUN "${data[@]:0:6}" --organs "$ORGAN" --chunks 3 --out EVAL | tee eval.txt | tail -2
"$SSMSAM" zoo list | grep -q '^sam/mobile_sam@1.0.0' ||
  "$SSMSAM" zoo add "$HOME/.cache/ssmsam/models/mobile_sam.pt" --catalogue-entry "$ROOT/zoo/sam/mobile_sam/1.0.0" | tail -1
"$SSMSAM" zoo publish RUN --id "ssmsam/twin-$ORGAN" --version 0.1.0 | tail -1
"$SSMSAM" zoo verify "ssmsam/twin-$ORGAN@0.1.0" --numbers | tail -2

last() { tail -1 "$1"; }
# "meta-gradients norm rel H (heads) / R (rates), heads norm rel N" of a comparison with the float64 twin
to64() {
  local g h
  g=$(sed -n 's/^  meta-gradients: heads norm-relative \([^,]*\),.*rates (lslr\.\*) norm-relative \([^,]*\),.*/\1 (heads) \/ \2 (rates)/p' "$1")
  h=$(sed -n 's/^  norm-relative ||a-b||\/||b||: heads \([^,]*\),.*/\1/p' "$1")
  echo "meta-gradients norm rel $g, updated heads norm rel $h"
}
echo "eval of the twin's run: $(grep "^$ORGAN:" eval.txt)"
echo "hand-off: toolkit vs twin after one outer step: $(last cmp_swift.txt); twin $NPROC vs 1 processes: $(last cmp_nproc.txt);" \
  "to the float64 twin: toolkit $(to64 cmp_swift64.txt), twin float32 $(to64 cmp_twin64.txt)"
