#!/usr/bin/env bash
# Builds the catalogue's SSM-SAM entries zoo/ssmsam/mobile-<organ>/1.0.0: for each organ, leave-one-organ-out
# meta-training on the shared CT (MobileSAM base, Setting 1), a first publish into a scratch registry, the
# protocol's evaluation of exactly those published weights (ablate: the entry with its learned rates, the same
# entry fine-tuned, the unquantised run, and zero-shot SAM from the support), then the entry written with that
# evaluation as its record and metrics. VERIFY=1 also installs the entry from zoo/ into a clean registry (the
# golden adaptation rerun) and evaluates zoo:ID@1.0.0 again, printing both Dice values.
#
#   scripts/make_ssmsam_zoo_entries.sh [organ...]      (default: liver spleen left_kidney right_kidney)
# Needs a release build (scripts/setup), ~/.cache/ssmsam/models/mobile_sam.pt and ../shared/data/abdomen-ct.
# Env: WORK (runs, default /tmp/ssmsam-zoo-work), KEY (a zoo keygen private key: the entries are signed).
set -euo pipefail
cd "$(dirname "$0")/.."
SSMSAM=${SSMSAM:-$PWD/.build/release/ssmsam}
DATA=${DATA:-$PWD/../shared/data/abdomen-ct}
WORK=${WORK:-/tmp/ssmsam-zoo-work}
ORGANS=("${@:-liver spleen left_kidney right_kidney}")
read -r -a ORGANS <<<"${ORGANS[*]}"
mkdir -p "$WORK"
export SSMSAM_ZOO="$WORK/registry"
# The SAM base, checked against its catalogue entry (weights sha256 and golden outputs).
"$SSMSAM" zoo list | grep -q '^sam/mobile_sam@1.0.0' ||
  "$SSMSAM" zoo add "$HOME/.cache/ssmsam/models/mobile_sam.pt" --catalogue-entry zoo/sam/mobile_sam/1.0.0

entry_name() { case "$1" in left_kidney) echo kidney_left;; right_kidney) echo kidney_right;; *) echo "$1";; esac; }

for organ in "${ORGANS[@]}"; do
  name=$(entry_name "$organ"); id="ssmsam/mobile-$name"; run="$WORK/run-$organ"
  echo "== $organ: $id@1.0.0"
  if [[ ! -f "$run/run.json" ]]; then
    "$SSMSAM" meta-train --base mobile_sam --volume "$DATA/ct-full.nii.gz" --labels "$DATA/labels-full.nii.gz" --preset totalseg \
      --test-organ "$organ" --setting 1 --epochs 8 --steps 3 --queries 2 --chunks 3 --seed 0 --out "$run" \
      $([[ -f "$run/state.safetensors" ]] && echo --resume)
  fi
  common=(--weights q4 --license apache-2.0 --modality CT --dataset "abdomen-ct/ct-full"
          --description "SSM-SAM meta-initialisation for the $organ on MobileSAM: first-order MAML++ on the other three abdominal organs of one CT scan (leave-one-organ-out, Setting 1, 8 outer updates); 1-shot: adapt on one labelled slice, then segment the rest.")
  "$SSMSAM" zoo remove "$id@1.0.0" >/dev/null 2>&1 || true
  "$SSMSAM" zoo publish "$run" --id "$id" --version 1.0.0 "${common[@]}"
  eval_dir="$WORK/eval-$organ"; rm -rf "$eval_dir"
  "$SSMSAM" ablate --variant "ssmsam=zoo:$id@1.0.0" --variant "ssmsam+ft=zoo:$id@1.0.0" --variant "trained_f32=$run" \
    --volume "$DATA/ct-full.nii.gz" --labels "$DATA/labels-full.nii.gz" --organs "$organ" --chunks 3 --steps 5 --out "$eval_dir"
  "$SSMSAM" zoo remove "$id@1.0.0"
  dest="zoo/ssmsam/mobile-$name/1.0.0"; rm -rf "$dest"; mkdir -p "$(dirname "$dest")"
  "$SSMSAM" zoo publish "$run" --id "$id" --version 1.0.0 "${common[@]}" --evaluation "$eval_dir/record.json" \
    --out "$dest" ${KEY:+--key "$KEY"}
  if [[ "${VERIFY:-0}" == 1 ]]; then
    clean="$WORK/clean-registry-$organ"; rm -rf "$clean"
    SSMSAM_ZOO="$clean" "$SSMSAM" zoo add "$HOME/.cache/ssmsam/models/mobile_sam.pt" --catalogue-entry zoo/sam/mobile_sam/1.0.0
    SSMSAM_ZOO="$clean" "$SSMSAM" zoo install "$dest"
    rm -rf "$WORK/reeval-$organ"
    SSMSAM_ZOO="$clean" "$SSMSAM" eval --model "zoo:$id@1.0.0" --volume "$DATA/ct-full.nii.gz" --labels "$DATA/labels-full.nii.gz" \
      --organs "$organ" --chunks 3 --no-baselines --out "$WORK/reeval-$organ"
    python3 - "$dest/record.json" "$WORK/reeval-$organ/record.json" "$organ" <<'PY'
import json, sys
entry = json.load(open(sys.argv[1]))["evaluation"]["organs"][sys.argv[3]]["dice"]
again = json.load(open(sys.argv[2]))["organs"][sys.argv[3]]["dice"]
print(f"{sys.argv[3]}: Dice in the entry's record {entry:.6f}; eval of the installed entry {again:.6f}; difference {abs(entry - again):.2e}")
PY
  fi
done
du -sh zoo
