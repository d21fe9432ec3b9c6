#!/usr/bin/env bash
# Compiles the streamer's native UDP batch receiver (native/udp-batch.c, Node-API) into
# native/build/udp-batch.node. Without a C compiler it says so and stops: the streamer then
# receives UDP through node:dgram (slower, same behaviour).
set -euo pipefail
cd "$(dirname "$0")/.."
src=native/udp-batch.c
out=native/build/udp-batch.node
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null; then
  echo "build-native: no C compiler ($cc); the streamer will use node:dgram for UDP" >&2
  exit 0
fi
[[ -f $out && $out -nt $src && $out -nt "$0" ]] && exit 0
# Node's headers: the pinned npm `node` package ships them; an official Node tarball has them
# next to its bin/; Debian's libnode-dev as a last resort.
node_bin=$(node -p 'process.execPath')
include=""
for dir in node_modules/node/node_modules/node-*/include/node "$(dirname "$node_bin")/../include/node" /usr/include/node; do
  if [[ -f $dir/node_api.h && -f $dir/uv.h ]]; then include=$dir; break; fi
done
if [[ -z $include ]]; then
  echo "build-native: Node headers (node_api.h, uv.h) not found; the streamer will use node:dgram for UDP" >&2
  exit 0
fi
mkdir -p native/build
"$cc" -O2 -std=c11 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
  -DNAPI_VERSION=8 -DNODE_GYP_MODULE_NAME=udp_batch -I"$include" -o "$out.tmp" "$src"
mv "$out.tmp" "$out"
echo "build-native: $out"
