#!/usr/bin/env bash
# Rebuilds the catalogue entries in zoo/ (ssmsam zoo add --out). Needs a built ssmsam (swift build).
#   test/sam-small-random@1.0.0  complete (weights 1.2 MB): the random-init SAM of the SAM tests
#   sam/mobile_sam@1.0.0         manifest, card and golden files (no weights), when ~/.cache/ssmsam/models/mobile_sam.pt exists
#                                and this build can load MobileSAM (TinyViT)
set -euo pipefail
cd "$(dirname "$0")/.."
SSMSAM=${SSMSAM:-.build/debug/ssmsam}
ENTRIES=${ENTRIES:-"test mobile"}   # which entries to rebuild

if [[ " $ENTRIES " == *" test "* ]]; then
rm -rf zoo/test/sam-small-random/1.0.0
"$SSMSAM" zoo add Tests/SAMTests/Fixtures/sam_small.safetensors --id test/sam-small-random --version 1.0.0 \
  --config scripts/zoo/sam_small.json --license apache-2.0 \
  --description "A tiny random-init SAM (image 128 px, 1.2 MB) for tests and for trying the zoo: its outputs mean nothing." \
  --out zoo/test/sam-small-random/1.0.0
fi

MOBILE="$HOME/.cache/ssmsam/models/mobile_sam.pt"
if [[ " $ENTRIES " == *" mobile "* && -f "$MOBILE" ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if "$SSMSAM" zoo add "$MOBILE" --id sam/mobile_sam --version 1.0.0 --license apache-2.0 \
      --description "MobileSAM (Zhang et al. 2023, 'Faster Segment Anything'): SAM's prompt encoder and mask decoder with a TinyViT-5M image encoder distilled from SAM ViT-H; 10.1 M parameters. The weights are the authors' mobile_sam.pt (GitHub ChaoningZhang/MobileSAM, weights/mobile_sam.pt), converted unchanged. They are not in this repository (40 MB): put mobile_sam.pt (sha256 below) in ~/.cache/ssmsam/models/ and run 'ssmsam zoo add ~/.cache/ssmsam/models/mobile_sam.pt --catalogue-entry zoo/sam/mobile_sam/1.0.0', which installs it only if the weights it builds have this entry's sha256 and its golden outputs match this entry's." \
      --out "$tmp/pkg"; then
    rm -rf zoo/sam/mobile_sam/1.0.0 && mkdir -p zoo/sam/mobile_sam/1.0.0
    # Everything but the weights: the golden files (0.8 MB) let a rebuild check its numbers against these.
    cp -R "$tmp/pkg/manifest.json" "$tmp/pkg/README.md" "$tmp/pkg/golden" zoo/sam/mobile_sam/1.0.0/
  else
    echo "make_zoo_catalogue: $MOBILE could not be packaged (see above); sam/mobile_sam left as it was" >&2
  fi
fi
