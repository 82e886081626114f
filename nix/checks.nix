# One check per concern: every package builds and runs a program with its
# allocator preloaded; the Nix files are formatted.
{ lib
, runCommand
, stdenv
, nixpkgs-fmt
  # The flake's malloc-glibc-* packages, by attribute name.
, mallocPackages
  # The Nix files to hold to nixpkgs-fmt (a store path).
, nixFiles
}:
let
  # The .so exports exactly the manifest's `exports` (and its options');
  # `ls` runs under it; then tests/c/whoami.c: the public API must resolve
  # to this .so, and libc's own allocations (strdup) must land in it. A
  # -trace .so must record ls's allocations when asked to.
  smoke = name: pkg:
    runCommand "${name}-smoke"
      {
        nativeBuildInputs = [ stdenv.cc ];
        exports = lib.concatMapStrings (e: "${e}\n") pkg.exportNames;
        passAsFile = [ "exports" ];
      } ''
      so=${pkg}/lib/${pkg.soName}
      nm -D --defined-only --format=posix $so | cut -d' ' -f1 | LC_ALL=C sort > exported
      LC_ALL=C sort "$exportsPath" > wanted
      diff -u wanted exported || { echo "${pkg.soName} does not export exactly the manifest's exports" >&2; exit 1; }
      LD_PRELOAD=$so ls -la / ${pkg}/lib > ls.out
      $CC -o whoami ${../tests/c/whoami.c} -ldl
      LD_PRELOAD=$so ./whoami malloc free calloc realloc > whoami.out
      cat whoami.out
      for f in malloc free calloc realloc; do
        grep -qxF "$f	$so" whoami.out || { echo "$f is not ${pkg.soName}'s" >&2; exit 1; }
      done
      grep -q 'in-use bytes grew by [1-9]' whoami.out || { echo "libc's strdup did not allocate from ${pkg.soName}" >&2; exit 1; }
      ${lib.optionalString (builtins.elem "trace" pkg.options) ''
        MALLOC_STANDALONE_TRACE=$PWD/ls.trace LD_PRELOAD=$so ls -la / > /dev/null
        grep -q '^@ .* + 0x[0-9a-f]* 0x[0-9a-f]*$' ls.trace || { echo "${pkg.soName} did not trace ls's allocations" >&2; exit 1; }
      ''}      touch $out
    '';
in
lib.mapAttrs' (name: pkg: lib.nameValuePair "${name}-smoke" (smoke name pkg)) mallocPackages
  // {
  formatting = runCommand "nix-formatting" { nativeBuildInputs = [ nixpkgs-fmt ]; } ''
    nixpkgs-fmt --check ${nixFiles}
    touch $out
  '';
}
