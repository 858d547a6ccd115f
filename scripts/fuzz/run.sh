#!/usr/bin/env bash
# Builds the libFuzzer harness for the format readers and runs each target for a while.
#   scripts/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET ...]
# Targets: pickle pth legacy safetensors npy npz onnx. Corpora and findings go to .build/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECS=${1:-60}; shift || true
TARGETS=("$@"); [[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=(pickle pth legacy safetensors npy npz onnx)
OUT=$ROOT/.build/fuzz; mkdir -p "$OUT/modules"
FIX=$ROOT/Tests/FormatsTests/Fixtures

# One module from Diagnostics + FileIO + TensorCore + Formats sources (their imports of each other dropped).
SRC=$OUT/src; rm -rf "$SRC"; mkdir -p "$SRC"
for f in $(find Sources/Diagnostics Sources/FileIO Sources/TensorCore Sources/Formats -name '*.swift'); do
  sed -E 's/^(@_exported )?import (Diagnostics|TensorCore|FileIO)$//' "$f" > "$SRC/$(echo "$f" | tr / _)"
done
cat > "$OUT/modules/module.modulemap" <<MAP
module CONNX [system] {
    header "$ROOT/Formats/onnx/onnx_subset.pb-c.h"
    link "protobuf-c"
    export *
}
module CKernels [system] {
    header "$ROOT/Sources/CKernels/include/ckernels.h"
    export *
}
MAP
if [[ ! -x $OUT/fuzz-formats || -n $(find Sources scripts/fuzz -newer "$OUT/fuzz-formats" -name '*.swift' -o -newer "$OUT/fuzz-formats" -name '*.c' | head -1) ]]; then
  echo "fuzz: building (swiftc -sanitize=fuzzer,address)"
  clang -O1 -g -fsanitize=address,fuzzer-no-link -I Formats/onnx -c Formats/onnx/onnx_subset.pb-c.c -o "$OUT/connx.o"
  clang -O2 -g -fsanitize=address,fuzzer-no-link -I Sources/CKernels/include -c Sources/CKernels/ckernels.c -o "$OUT/ckernels.o"
  swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name FuzzFormats \
    -I Sources/CBLAS -I Sources/CSystem -I Sources/CArchive -I "$OUT/modules" -I Formats/onnx \
    "$SRC"/*.swift scripts/fuzz/FuzzFormats.swift "$OUT/connx.o" "$OUT/ckernels.o" -o "$OUT/fuzz-formats" 2>&1 | grep -v "Cannot export local symbol" || true
fi

seed() { # target, files...
  local t=$1; shift; mkdir -p "$OUT/corpus/$t"; for f in "$@"; do [[ -f $f ]] && cp "$f" "$OUT/corpus/$t/"; done; true
}
seed pth "$FIX"/*.pth
seed legacy "$FIX"/sam_legacy.pth
seed safetensors "$FIX"/*.safetensors
seed npy "$FIX"/*.npy
seed npz "$FIX"/*.npz
seed onnx "$FIX"/*.onnx
mkdir -p "$OUT/corpus/pickle"
python3 - "$FIX" "$OUT/corpus/pickle" <<'PY'
import sys, zipfile, glob, os
for f in glob.glob(sys.argv[1] + "/*.pth"):
    try:
        z = zipfile.ZipFile(f)
    except Exception:
        continue
    for n in z.namelist():
        if n.endswith("data.pkl"):
            open(os.path.join(sys.argv[2], os.path.basename(f) + ".pkl"), "wb").write(z.read(n))
PY

for t in "${TARGETS[@]}"; do
  mkdir -p "$OUT/findings/$t"
  echo "fuzz: $t for ${SECS}s"
  FUZZ_TARGET=$t "$OUT/fuzz-formats" "$OUT/corpus/$t" -max_total_time="$SECS" -max_len=65536 -rss_limit_mb=2048 \
    -artifact_prefix="$OUT/findings/$t/" -print_final_stats=1 2>"$OUT/$t.log" || echo "fuzz: $t stopped with a finding (see $OUT/$t.log)"
  grep -E "stat::number_of_executed_units|stat::peak_rss|ERROR|Fatal error|SUMMARY" "$OUT/$t.log" | sed "s/^/  $t: /" | head -8
done
