#!/usr/bin/env bash
# The whole test suite, as CI runs it: dependencies, type check, lint, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh --test
export PATH="$PWD/node_modules/.bin:$PATH"
echo "node $(node --version)"
echo "== typecheck"
tsc -p tsconfig.json
tsc -p console/tsconfig.json
echo "== build"
bash scripts/build-native.sh
tsc -p tsconfig.build.json
node scripts/build-console.ts
echo "== lint"
eslint --max-warnings 0 .
if [[ -z ${GBCAST_SKIP_IMAGES:-} ]]; then
  # Before the tests, not beside them: a cold build (base image, npm ci) takes minutes of CPU and
  # downloads. Cached afterwards (the base image and npm ci layers stay in podman's storage).
  echo "== images"
  bash scripts/images/build.sh
  export GBCAST_IMAGE_TESTS=1
fi
echo "== tests"
mkdir -p test-artifacts
node --test --test-concurrency="${GBCAST_TEST_CONCURRENCY:-2}" --test-timeout=300000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  "common/**/*.test.ts" "streamer/**/*.test.ts" "signaling/**/*.test.ts" "camera/**/*.test.ts" "operator/**/*.test.ts" "test/**/*.test.ts"
