#!/usr/bin/env bash
# The paper's Table 1 on the shared CT, leave-one-organ-out (MobileSAM base, Setting 1): for each organ, the four
# variants meta-trained or pretrained on the other three organs of the scan, then one `ssmsam ablate` that adapts
# every variant on the same chunks' supports and scores it next to zero-shot SAM from the same supports.
#
#   rows: ssmsam          meta-train (first-order MAML++), adapted with its learned rates
#         ssmsam+ft       the same model, fine-tuned (AdamW) instead of its learned rates
#         ssmsam_no_fmad  meta-train --no-fmad
#         sssam           meta-train --no-meta (episodic pretraining), fine-tuned on the support
#         sssam_no_fmad   meta-train --no-meta --no-fmad
#         fresh+ft        freshly initialised heads (ssm init), fine-tuned on the support
#         sam_point / sam_box / sam_mask   zero-shot SAM prompted from the support
#
#   scripts/ablation_table.sh [organ...]       (default: liver spleen left_kidney right_kidney)
# Env: WORK (default /tmp/ssmsam-ablation; a run already there with its run.json is reused, an interrupted one
# resumed), EPOCHS (8), STEPS (3), CHUNKS (3), CALIBRATE=ETA (the meta-trained variants start their learned rates
# at ETA / each tensor's gradient RMS: meta-train --calibrate-rates ETA), FROM_ZOO=1 (the ssmsam rows are the catalogue's entries
# zoo/ssmsam/mobile-<organ>/1.0.0, meta-trained with these very settings by make_ssmsam_zoo_entries.sh, instead of
# new runs; those entries have FMAM's keys on the support's features, new runs the query's: README, few-shot results),
# PRETRAIN=1 (each meta-trained variant starts from the episodic pretraining of its organ, the sssam run: meta-train
# --init RUN/model.safetensors, its rates calibrated to a first step of RMS CALIBRATE, default 2e-4, the first AdamW
# step of fine-tuning), EACH_STEP=1 (with CALIBRATE or PRETRAIN: every inner step calibrated where it is taken,
# meta-train --calibrate-each-step), NO_FMAD=0 (leave out the two "w/o FMAD" variants). Writes WORK/ABLATION/table.md and record.json; prints the table and the meta-training wall times.
# Needs a release build (scripts/setup) and ../shared/data/abdomen-ct. About 10 min per meta-trained run on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SSMSAM=${SSMSAM:-$ROOT/.build/release/ssmsam}
DATA=${DATA:-$ROOT/../shared/data/abdomen-ct}
WORK=${WORK:-/tmp/ssmsam-ablation}
EPOCHS=${EPOCHS:-8}; STEPS=${STEPS:-3}; CHUNKS=${CHUNKS:-3}
[[ "${PRETRAIN:-0}" == 1 ]] && CALIBRATE=${CALIBRATE:-2e-4}
ORGANS=("${@:-liver spleen left_kidney right_kidney}")
read -r -a ORGANS <<<"${ORGANS[*]}"
mkdir -p "$WORK"
export SSMSAM_ZOO="$WORK/registry"
scan=(--volume "$DATA/ct-full.nii.gz" --labels "$DATA/labels-full.nii.gz")

train() { # RUN ORGAN FLAGS...
  local run=$1 organ=$2; shift 2
  [[ -f "$run/run.json" ]] && return
  echo "== meta-train $organ ${*:-(SSM-SAM)} -> $run"
  "$SSMSAM" meta-train --base mobile_sam "${scan[@]}" --preset totalseg --test-organ "$organ" --setting 1 \
    --epochs "$EPOCHS" --steps "$STEPS" --queries 2 --chunks "$CHUNKS" --seed 0 "$@" --out "$run" \
    $([[ -f "$run/state.safetensors" ]] && echo --resume)
}
pretrained() { # VARIANT: with PRETRAIN=1, meta-training starts from that variant's episodic pretraining of this organ
  if [[ "${PRETRAIN:-0}" == 1 ]]; then echo --init "$WORK/$1-$organ/model.safetensors"; fi
}
each_step() { if [[ -n "${CALIBRATE:-}" && "${EACH_STEP:-0}" == 1 ]]; then echo --calibrate-each-step; fi; }
entry_name() { case "$1" in left_kidney) echo kidney_left;; right_kidney) echo kidney_right;; *) echo "$1";; esac; }

if [[ "${FROM_ZOO:-0}" == 1 ]]; then
  "$SSMSAM" zoo list | grep -q '^sam/mobile_sam@1.0.0' ||
    "$SSMSAM" zoo add "$HOME/.cache/ssmsam/models/mobile_sam.pt" --catalogue-entry zoo/sam/mobile_sam/1.0.0 | tail -1
fi
[[ -f "$WORK/fresh.safetensors" ]] || "$SSMSAM" ssm init --base mobile_sam --out "$WORK/fresh.safetensors" | tail -1

declare -A rows=()
add() { rows[$1]="${rows[$1]:+${rows[$1]},}$2=$3"; }
for organ in "${ORGANS[@]}"; do
  train "$WORK/sssam-$organ" "$organ" --no-meta  # first: PRETRAIN=1 starts the meta-trained variants from it
  if [[ "${FROM_ZOO:-0}" == 1 ]]; then
    id="ssmsam/mobile-$(entry_name "$organ")"
    "$SSMSAM" zoo list | grep -q "^$id@1.0.0" || "$SSMSAM" zoo install "zoo/ssmsam/mobile-$(entry_name "$organ")/1.0.0" | tail -1
    ssmsam_model="zoo:$id@1.0.0"
  else
    train "$WORK/ssmsam-$organ" "$organ" $(pretrained sssam) ${CALIBRATE:+--calibrate-rates "$CALIBRATE"} $(each_step)
    ssmsam_model="$WORK/ssmsam-$organ"
  fi
  if [[ "${NO_FMAD:-1}" == 1 ]]; then
    train "$WORK/sssam_no_fmad-$organ" "$organ" --no-meta --no-fmad
    train "$WORK/ssmsam_no_fmad-$organ" "$organ" --no-fmad $(pretrained sssam_no_fmad) ${CALIBRATE:+--calibrate-rates "$CALIBRATE"} $(each_step)
  fi
  add ssmsam "$organ" "$ssmsam_model"; add ssmsam+ft "$organ" "$ssmsam_model"
  for v in ssmsam_no_fmad sssam sssam_no_fmad; do
    if [[ -f "$WORK/$v-$organ/run.json" ]]; then add "$v" "$organ" "$WORK/$v-$organ"; fi
  done
  add fresh+ft "$organ" "$WORK/fresh.safetensors"
done

organ_list=$(IFS=,; echo "${ORGANS[*]}")
variants=()
for v in ssmsam ssmsam+ft ssmsam_no_fmad sssam sssam_no_fmad fresh+ft; do
  if [[ -n "${rows[$v]:-}" ]]; then variants+=(--variant "$v=${rows[$v]}"); fi
done
rm -rf "$WORK/ABLATION"
"$SSMSAM" ablate "${variants[@]}" "${scan[@]}" --organs "$organ_list" --chunks "$CHUNKS" --out "$WORK/ABLATION"
echo "meta-training wall seconds (this machine, per run):"
python3 - "$WORK"/*-*/run.json <<'PY'
import json, os, sys
for path in sys.argv[1:]:
    record = json.load(open(path))
    print(f"  {os.path.basename(os.path.dirname(path))}: {record.get('wall_seconds_this_invocation', float('nan')):.0f} s")
PY
