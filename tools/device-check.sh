#!/usr/bin/env bash
# device-check.sh: runs the CUDA backend's GPU tests and benchmark on a device machine, from a build made
# elsewhere (cmake -DLOGITSCOPE_GUI=OFF -DLOGITSCOPE_ICU=OFF -DCMAKE_CUDA_ARCHITECTURES=90; only <build>/gpu-bin
# is needed; ICU OFF because the device host has no libicu and its data library is too big to carry).
# Not a build script: nothing is compiled here. Finishes in under 90 s (about 40 s on an H100); everything it
# prints is also saved under $OUT (device-check.log, ops.txt, model.txt, bench.jsonl, sanitizer.txt, summary.txt).
#
#   tools/device-check.sh [BIN_DIR]      BIN_DIR defaults to build-cuda/gpu-bin
#
# Reference data: .carry/shared (a copy of ../shared/models and ../shared/reference) when present,
# else $LOGITSCOPE_SHARED_DIR. Exit status: 0 when every test passed, 1 otherwise.
set -u

BIN=${1:-build-cuda/gpu-bin}
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
START=$SECONDS
DEADLINE=85 # seconds: the whole check stays under 90 s

if [ -d .carry/shared ]; then
    export LOGITSCOPE_SHARED_DIR=$PWD/.carry/shared
fi

exec > >(tee "$OUT/device-check.log") 2>&1

echo "== device-check $(date -u +%FT%TZ) bin=$BIN shared=${LOGITSCOPE_SHARED_DIR:-<none>}"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1 | head -5

# cuBLAS is loaded at run time (dlopen libcublas.so.13): make sure the loader can find it.
if ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so\.13 '; then
    for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/lib64 \
        "$(python3 -c 'import nvidia.cublas as m, os; print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null)"; do
        if [ -n "$d" ] && [ -e "$d/libcublas.so.13" ]; then
            export LD_LIBRARY_PATH=$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
            break
        fi
    done
fi
if [ -z "${LD_LIBRARY_PATH:-}" ] && ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so\.13 '; then
    found=$(timeout 5 find / -xdev -name 'libcublas.so.13' 2>/dev/null | head -1)
    [ -n "$found" ] && export LD_LIBRARY_PATH=$(dirname "$found")
fi
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-<unset>}"
ldconfig -p 2>/dev/null | grep 'libcublas\.so\.13 ' | head -2
[ -n "${LD_LIBRARY_PATH:-}" ] && ls -la "${LD_LIBRARY_PATH%%:*}"/libcublas*.so* 2>/dev/null | head -4

for b in test_cuda_ops test_cuda_model bench_cuda; do
    if [ ! -x "$BIN/$b" ]; then
        echo "missing $BIN/$b (build with -DLOGITSCOPE_GUI=OFF -DLOGITSCOPE_ICU=OFF -DCMAKE_CUDA_ARCHITECTURES=90, carry $BIN)"
    else
        echo "-- ldd $b"
        ldd "$BIN/$b" | grep -v -E 'linux-vdso|ld-linux'
    fi
done

declare -A RC
run() { # name timeout output command...
    local name=$1 limit=$2 out=$3
    shift 3
    local left=$((DEADLINE - (SECONDS - START)))
    if [ "$left" -lt 15 ]; then
        echo "== $name: skipped (time budget spent)"
        RC[$name]=skipped
        return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name (timeout ${limit}s)"
    local t0=$SECONDS
    timeout -k 5 "$limit" "$@" > >(tee "$OUT/$out") 2>&1
    local rc=$?
    sleep 0.2 # let tee flush
    RC[$name]=$rc
    echo "== $name: exit $rc after $((SECONDS - t0))s"
}

run ops 20 ops.txt "$BIN/test_cuda_ops"
run model 25 model.txt "$BIN/test_cuda_model"
run bench 45 bench.jsonl "$BIN/bench_cuda"
if command -v compute-sanitizer >/dev/null; then
    run sanitizer 12 sanitizer.txt compute-sanitizer --tool memcheck --leak-check no --error-exitcode 3 \
        "$BIN/test_cuda_ops" --quick
fi

{
    echo "elapsed ${SECONDS}s"
    for k in ops model bench sanitizer; do
        echo "$k: exit ${RC[$k]:-not run}"
    done
    echo "(exit 0 pass, 1 fail, 77 no device, 124/137 timeout, 3 sanitizer errors)"
    grep -h '"target"' "$OUT/bench.jsonl" 2>/dev/null
    grep -h -E '^FAIL|CHECK failed|MISMATCH|near-tie' "$OUT/ops.txt" "$OUT/model.txt" 2>/dev/null | head -40
    grep -h -E 'ERROR SUMMARY|Invalid' "$OUT/sanitizer.txt" 2>/dev/null | head -10
} | tee "$OUT/summary.txt"

for k in ops model bench; do
    [ "${RC[$k]:-1}" = 0 ] || exit 1
done
case "${RC[sanitizer]:-0}" in 0 | skipped) ;; *) exit 1 ;; esac
exit 0
