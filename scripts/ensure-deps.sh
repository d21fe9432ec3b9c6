#!/usr/bin/env bash
# Installs what gbcast needs when it is missing: npm dependencies (with the pinned Node 24),
# and with --test also the Debian packages the tests use as real peers.
set -euo pipefail
cd "$(dirname "$0")/.."

need_debs=()
if [[ "${1:-}" == "--test" ]]; then
  command -v redis-server >/dev/null || need_debs+=(redis-server)
  command -v nginx >/dev/null || need_debs+=(nginx)
  ls /usr/lib/nginx/modules/ngx_rtmp_module.so >/dev/null 2>&1 || need_debs+=(libnginx-mod-rtmp)
  command -v ffmpeg >/dev/null || need_debs+=(ffmpeg)
  command -v ffprobe >/dev/null || need_debs+=(ffmpeg)
  # SIPp plays GB28181 devices in the signalling tests and benchmarks (test/support/sipp.ts).
  command -v sipp >/dev/null || need_debs+=(sip-tester)
  # The native UDP receiver is compiled at build time; the tests run the streamer with it.
  command -v cc >/dev/null || need_debs+=(gcc libc6-dev)
  # The console's browser test drives Debian's Chromium (test/support/browser.ts), with fonts for Latin and Chinese names.
  command -v chromium >/dev/null || need_debs+=(chromium fonts-liberation fonts-wqy-microhei)
  # The container images are built and run with podman (scripts/images/, test/images.test.ts).
  if [[ -z ${GBCAST_SKIP_IMAGES:-} ]]; then
    command -v podman >/dev/null || need_debs+=(podman)
    command -v runc >/dev/null || need_debs+=(runc)
    command -v debootstrap >/dev/null || need_debs+=(debootstrap)
  fi
fi
if ((${#need_debs[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "installing Debian packages: ${need_debs[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_debs[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lockfile.
if [[ ! -x node_modules/.bin/node || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
