# shellcheck shell=bash
# The default builder of the stand-in's mkDerivation, as nixpkgs' default-builder.sh.
# shellcheck disable=SC1091
source "$stdenv/setup"
genericBuild
