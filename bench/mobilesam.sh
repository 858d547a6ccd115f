#!/bin/sh
# MobileSAM image encoder at 1024, 2 threads: the toolkit (sam-bench) and the reference PyTorch code
# (bench/mobilesam_torch.py) on the same official weights and the same input (the CT slice), alternating
# A B A B; each process does one warm-up run, then RUNS timed runs and prints the median.
# Then the prompt encoder + mask decoder (per prompt, on the same image embedding and prompts), 100 runs each.
# With SAM_BENCH_PRECISION=bf16 the toolkit also runs its bf16 encoder in each round.
# Run from the repository root:  sh bench/mobilesam.sh [ROUNDS] [RUNS]
# Needs the converted checkpoint (python3 scripts/convert_mobilesam_for_dev.py) and torch 2.13 CPU.
set -e
ROUNDS=${1:-2}
RUNS=${2:-3}
DIR=${MOBILESAM_BENCH_DIR:-/tmp/ssmsam-bench-mobilesam}
MODELS=${SSMSAM_MODELS:-$HOME/.cache/ssmsam/models}
export OPENBLAS_NUM_THREADS=2
swift build -c release --product sam-bench >/dev/null
python3 bench/mobilesam_torch.py "$DIR" 0   # writes the input once
i=1
while [ $i -le "$ROUNDS" ]; do
    echo "round $i"
    python3 bench/mobilesam_torch.py "$DIR" "$RUNS" 2>/dev/null
    SSMSAM_PROFILE=1 SAM_BENCH_PRECISION=fp32 .build/release/sam-bench "$MODELS/mobile_sam.safetensors" "$DIR/input.safetensors" "$RUNS"   # stage profile over the timed runs
    if [ "${SAM_BENCH_PRECISION:-fp32}" = bf16 ]; then
        .build/release/sam-bench "$MODELS/mobile_sam.safetensors" "$DIR/input.safetensors" "$RUNS"
    fi
    python3 bench/mobilesam_torch.py --decoder "$DIR" 100 2>/dev/null
    SAM_BENCH_PRECISION=fp32 .build/release/sam-bench --decoder "$MODELS/mobile_sam.safetensors" "$DIR/decoder_input.safetensors" 100
    i=$((i + 1))
done
