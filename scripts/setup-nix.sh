#!/usr/bin/env bash
# Installs what the Nix side of `./dev test` needs (the offline flake test,
# crates/cli/tests/nix.rs among the system tests, and the formatter check), once:
#   - Debian's nix-bin (Nix 2.8), single-user, with the nix.conf below;
#   - nixpkgs-fmt (the Nix formatter the flake's `formatting` check and
#     `./dev test` run), with `cargo install` into /usr/local/bin, where the
#     Nix sandbox can see it (the `alejandra` crate is a library without a
#     binary).
# `./dev build` never runs this: resolving and building need no Nix.
# Idempotent: a second run changes nothing, and settings of nix.conf other
# than the four below are kept. Root only (it writes /etc/nix and installs
# packages); as another user it says what it would do and exits non-zero.
set -euo pipefail

conf=/etc/nix/nix.conf
# Single-user Nix without a daemon or build users; no binary caches (no
# network here); a build that cannot be sandboxed fails instead of quietly
# running unsandboxed.
want_conf='experimental-features = nix-command flakes
build-users-group =
substituters =
sandbox-fallback = false'
nixpkgs_fmt_version=1.3.0

# Each wanted `key = value` line, exactly; other settings are left alone.
conf_line_ok() { [ -f "$conf" ] && grep -qxF "$1" "$conf"; }
conf_ok() {
  local line
  while IFS= read -r line; do conf_line_ok "$line" || return 1; done <<<"$want_conf"
}
formatter_ok() { [ -x /usr/local/bin/nixpkgs-fmt ]; }

missing=()
todo=()
command -v nix >/dev/null 2>&1 || { missing+=(nix-bin); todo+=("install nix-bin with apt-get"); }
conf_ok || todo+=("set $conf")
formatter_ok || todo+=("cargo install nixpkgs-fmt into /usr/local")

if ((${#todo[@]} == 0)); then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  printf -v what '%s; ' "${todo[@]}"
  printf 'error: the Nix test set-up needs root to: %s\n' "${what%; }" >&2
  echo "run: sudo scripts/setup-nix.sh" >&2
  exit 1
fi

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

if ! conf_ok; then
  mkdir -p "$(dirname "$conf")"
  touch "$conf"
  cp "$conf" "$conf.tmp"
  while IFS= read -r line; do
    conf_line_ok "$line" && continue
    key=${line%% =*}
    # Replace the key's line if there is one, else append.
    grep -v "^[[:space:]]*${key}[[:space:]]*=" "$conf.tmp" >"$conf.tmp2" || true
    printf '%s\n' "$line" >>"$conf.tmp2"
    mv "$conf.tmp2" "$conf.tmp"
  done <<<"$want_conf"
  mv "$conf.tmp" "$conf"
fi

if ! formatter_ok; then
  command -v cargo >/dev/null 2>&1 || { echo "error: cargo not found; install Rust (rustup.rs) to build nixpkgs-fmt" >&2; exit 1; }
  echo "installing: nixpkgs-fmt $nixpkgs_fmt_version (cargo install, into /usr/local)" >&2
  cargo install -q --locked --root /usr/local nixpkgs-fmt --version "$nixpkgs_fmt_version"
fi
