# shellcheck shell=bash
# The stand-in's stdenv: what nixpkgs' stdenv/generic/setup.sh does for this
# repository's derivations, over the host's toolchain (Debian's /usr, which
# the sandbox binds with `extra-sandbox-paths`). Sourced by every builder and
# by `nix develop` (through $stdenv/setup).

# Inputs' bin/ first, then the host's tools.
PATH_INPUTS=
for p in ${nativeBuildInputs:-} ${buildInputs:-} ${packages:-} ${propagatedBuildInputs:-}; do
  if [ -d "$p/bin" ]; then PATH_INPUTS="$PATH_INPUTS${PATH_INPUTS:+:}$p/bin"; fi
done
export PATH="$PATH_INPUTS${PATH_INPUTS:+:}/usr/bin:/usr/sbin"
unset PATH_INPUTS
# Debian's cc is an /etc/alternatives link, which the sandbox does not see.
export CC=gcc CXX=g++ SHELL=/usr/bin/bash
export NIX_BUILD_CORES="${NIX_BUILD_CORES:-1}"
# Nix sets HOME to a non-existent directory in builds, as nixpkgs expects.

runHook() {
  local hook="$1"
  if [ -n "${!hook:-}" ]; then eval "${!hook}"; fi
}

# A phase is the attribute of that name when the derivation gives one, else
# the default below (which does nothing but unpack).
unpackPhase() {
  runHook preUnpack
  if [ -d "$src" ]; then
    cp -r --no-preserve=mode "$src" source
  else
    mkdir source && tar -xf "$src" -C source --strip-components=1
  fi
  cd source
  runHook postUnpack
}

runPhase() {
  local phase="$1"
  if [ -n "${!phase:-}" ]; then eval "${!phase}"; else "$phase"; fi
}

genericBuild() {
  if [ -n "${buildCommand:-}" ]; then
    eval "$buildCommand"
    return
  fi
  local phase
  for phase in ${phases:-unpackPhase patchPhase configurePhase buildPhase checkPhase installPhase fixupPhase installCheckPhase}; do
    case "$phase" in
      unpackPhase) [ -z "${dontUnpack:-}" ] && [ -n "${src:-}" ] || continue ;;
      patchPhase | configurePhase | fixupPhase) [ -n "${!phase:-}" ] || continue ;;
      buildPhase) [ -z "${dontBuild:-}" ] && [ -n "${buildPhase:-}" ] || continue ;;
      checkPhase) [ -n "${doCheck:-}" ] && [ -n "${checkPhase:-}" ] || continue ;;
      installPhase) [ -z "${dontInstall:-}" ] && [ -n "${installPhase:-}" ] || continue ;;
      installCheckPhase) [ -n "${doInstallCheck:-}" ] && [ -n "${installCheckPhase:-}" ] || continue ;;
    esac
    runPhase "$phase"
  done
}
