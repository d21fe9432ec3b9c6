#!/usr/bin/env bash
# Builds gbcast's container images with podman (docs/images.md):
#   localhost/gbcast-signaling, localhost/gbcast-streamer, localhost/gbcast-operator, tag $GBCAST_IMAGE_TAG (test).
#
#   scripts/images/build.sh [--ca FILE] [signaling|streamer|operator ...]
#
# --ca FILE (or $GBCAST_BUILD_CA, else $NODE_EXTRA_CA_CERTS): an extra CA bundle for npm behind a TLS-intercepting proxy, given
# to the build as a secret (never stored in the image). The base image is made locally first when
# podman does not have it (make-base-image.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/images/podman-env.sh
tag=${GBCAST_IMAGE_TAG:-test}
# Default: the CA bundle this shell gives Node (NODE_EXTRA_CA_CERTS), as npm here needs it too.
ca=${GBCAST_BUILD_CA:-${NODE_EXTRA_CA_CERTS:-}}
images=()
while (($#)); do
  case $1 in
    --ca) ca=$2; shift 2 ;;
    --ca=*) ca=${1#--ca=}; shift ;;
    signaling|streamer|operator) images+=("$1"); shift ;;
    *) echo "usage: $0 [--ca FILE] [signaling|streamer|operator ...]" >&2; exit 2 ;;
  esac
done
((${#images[@]})) || images=(signaling streamer operator)

# The three Dockerfiles share their build stage word for word, so podman builds it once.
build_stage() { sed -n '/^FROM .* AS build$/,/^$/p' "$1"; }
for f in Dockerfile.streamer Dockerfile.operator; do
  if ! diff -u <(build_stage Dockerfile.signaling) <(build_stage "$f") >&2; then
    echo "build: the build stage of $f differs from Dockerfile.signaling's" >&2
    exit 1
  fi
done

bash scripts/images/make-base-image.sh
secret=()
if [[ -n $ca ]]; then
  [[ -s $ca ]] || { echo "build: CA bundle $ca is missing or empty" >&2; exit 2; }
  secret=(--secret "id=ca,src=$ca")
fi
for name in "${images[@]}"; do
  start=$SECONDS
  podman build --isolation=chroot --layers --pull=never "${secret[@]}" \
    -f "Dockerfile.$name" -t "localhost/gbcast-$name:$tag" . >&2
  size=$(podman image inspect --format '{{.Size}}' "localhost/gbcast-$name:$tag")
  echo "build: localhost/gbcast-$name:$tag in $((SECONDS - start)) s, $((size / 1000000)) MB"
done
