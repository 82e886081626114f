#!/usr/bin/env bash
# Checks that the fast tier (plain `cargo test`) is hermetic: runs each of
# its test binaries as a machine without network, root, apt, Nix, the
# source cache or ../shared would, and fails if any test fails or anything
# lands in the (empty) cache. docs/testing.md, "Checking that the fast tier
# is hermetic".
#
# Each binary runs in a network namespace of its own (loopback only, for the
# tests' own HTTP server) and a mount namespace where ../shared and /nix are
# empty, as the user nobody, with an empty HOME and MALLOC_STANDALONE_CACHE
# and nothing else in its environment. Making the namespaces needs root;
# building the binaries first does not touch the network (Cargo's registry
# cache is warm after `cargo build`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "error: run as root: unshare and setpriv need it (the tests themselves run as nobody)" >&2
  exit 1
fi
for tool in unshare setpriv ip mount; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found (util-linux, iproute2)" >&2; exit 1; }
done

# The fast tier's test binaries (no --features): executable and package dir.
mapfile -t lines < <(cargo test --workspace --no-run --message-format=json 2>/dev/null |
  grep '"executable":"/' | grep -E '"profile":\{[^}]*"test":true' |
  sed -E 's/.*"manifest_path":"([^"]*)\/Cargo\.toml".*"executable":"([^"]*)".*/\1 \2/')
((${#lines[@]})) || { echo "error: cargo test --no-run built no test binary" >&2; exit 1; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
chmod 755 "$scratch"
mkdir "$scratch/home" "$scratch/cache"
chown 65534:65534 "$scratch/home" "$scratch/cache"

hide=()
shared=$(realpath -m ../shared)
[ -d "$shared" ] && hide+=("$shared")
[ -d /nix ] && hide+=(/nix)

failed=0
for line in "${lines[@]}"; do
  dir=${line%% *}
  exe=${line#* }
  echo "== $exe (in ${dir#"$PWD"/})" >&2
  if ! unshare --mount --net --propagation private -- bash -c '
      set -e
      ip link set lo up
      read -r -a hide <<<"$1"
      for d in "${hide[@]}"; do mount -t tmpfs -o ro,mode=755 hermetic "$d"; done
      cd "$2"
      exec setpriv --reuid=65534 --regid=65534 --clear-groups \
        env -i PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C \
        HOME="$3/home" MALLOC_STANDALONE_CACHE="$3/cache" "$4" --quiet
    ' check "${hide[*]}" "$dir" "$scratch" "$exe"; then
    failed=$((failed + 1))
  fi
done

if [ -n "$(find "$scratch/cache" -mindepth 1 -print -quit)" ]; then
  echo "error: the fast tier wrote to the cache:" >&2
  find "$scratch/cache" -mindepth 1 -maxdepth 3 >&2
  failed=$((failed + 1))
fi
if ((failed)); then
  echo "fast tier NOT hermetic: $failed failure(s) above" >&2
  exit 1
fi
echo "fast tier hermetic: ${#lines[@]} test binaries passed without network, root, apt, Nix, cache or ../shared" >&2
