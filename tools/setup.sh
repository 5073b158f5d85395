#!/usr/bin/env bash
# Logitscope set-up for a fresh Debian 12 machine: installs what is missing, builds, then either
# starts the app on the bundled default model (`run`) or runs the whole test suite (`test`).
#   tools/setup.sh run  [extra app arguments]
#   tools/setup.sh test [extra ctest arguments]
# Environment: BUILD_DIR (default build), LOGITSCOPE_CUDA (AUTO/ON/OFF), JOBS.
set -euo pipefail

mode=${1:-run}
shift || true
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}

packages=(build-essential cmake ninja-build pkg-config qt6-base-dev qt6-svg-dev libqcustomplot-dev libqcustomplot2.1-qt6
  libsentencepiece-dev sentencepiece libpcre2-dev libicu-dev nlohmann-json3-dev libopenblas-dev xvfb xauth python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOGITSCOPE_CUDA="${LOGITSCOPE_CUDA:-AUTO}"
cmake --build "$build" -j "$jobs"

case "$mode" in
  run)
    exec "$build/gui/logitscope" --model "$root/resources/models/logitscope-brown" "$@"
    ;;
  test)
    # Benchmarks, fuzzing and soak runs are not tests: they run on demand (ctest -L bench).
    cd "$build"
    QT_QPA_PLATFORM=offscreen ctest --output-on-failure -LE "bench|fuzz" -j "$jobs" "$@"
    ;;
  *)
    echo "usage: tools/setup.sh run|test" >&2
    exit 2
    ;;
esac
