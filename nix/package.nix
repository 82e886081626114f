# libmalloc-glibc-<version>.so from one pinned manifest (the JSON twin of
# nix/manifests/glibc-<version>.yaml, parsed with builtins.fromJSON), built
# by running the build plan the resolver wrote into it (`plan`, through
# nix/plan.nix), the one `resolver build` (crates/build) runs: the source's
# verbatim files checked against their pins, the plan's generated files
# written, its compile and link commands run with a C compiler only.
{ lib
, stdenv
, fetchurl
  # The parsed manifest.
, manifest
  # The project's shims/ and stubs/ (a store path).
, project
  # Build options the manifest offers (its `options`, as `resolver build
  # --hooks --trace`): [ "trace" ] gives libmalloc-glibc-<version>-trace.so.
, options ? [ ]
  # The -O0 -g3 variant, libmalloc-glibc-<version>-debug.so.
, debug ? false
  # Patches: not an argument but the package's `patches` attribute, set the
  # nixpkgs way: .overrideAttrs (o: { patches = [ ./my.diff ]; }).
  # The glibc source; null: the download the manifest pins. Any glibc
  # tarball whose tree holds every verbatim file of the manifest with its
  # pinned sha256 builds the same .so (a local copy: ./glibc-2.39.tar.xz),
  # and so does a Debian glibc-source .deb. Also settable afterwards, as
  # the package's `src` attribute: .overrideAttrs (o: { src = ...; }).
, src ? null
}:
let
  plan = import ./plan.nix;
  inherit (manifest) version;
  origin = manifest.source.origin;

  # What to fetch: the manifest's origin when Nix can fetch it (a Debian
  # package: the `glibc-source` .deb or the `glibc` source package's orig
  # tarball; or the GNU release tarball), else the GNU release tarball the
  # manifest records for a local tree, tarball or git tag. A fixed-output
  # fetch by the pinned sha256 of that file; its `outputHash` is the pin.
  fetchable =
    if origin.kind == "debian" || origin.kind == "gnu" then
      origin
    else if manifest.source ? gnu then
      {
        kind = "gnu";
        inherit (manifest.source.gnu) url sha256;
      }
    else
      throw ''
        glibc ${version}: the manifest pins a source of kind `${origin.kind}` and no GNU release
        tarball, so Nix has nothing to fetch. Resolve it from a fetchable source instead:
          cargo run -p resolver -- resolve --glibc ${version}
        or give the package a source: .overrideAttrs (o: { src = ./glibc-${version}.tar.xz; })'';

  download =
    if fetchable.kind == "debian" then
      fetchurl
        {
          url = "mirror://debian/${fetchable.file_name}";
          inherit (fetchable) sha256;
        }
    else
      fetchurl {
        url = "mirror://gnu/glibc/${baseNameOf fetchable.url}";
        inherit (fetchable) sha256;
      };

  # The verbatim glibc files of the manifest, and nothing else, taken out of
  # `src` and each checked against its pin: the pins, not the archive's own
  # hash, decide whether `src` is the source that was resolved. Shared by the
  # release and debug variants; its store path is what the compiler (and so
  # the debug info, for gdb) sees.
  sourcesOf = src: stdenv.mkDerivation {
    pname = "glibc-malloc-sources";
    inherit version src;
    dontUnpack = true;
    verbatimSums = plan.verbatimSums manifest;
    passAsFile = [ "verbatimSums" ];
    buildPhase = ''
      runHook preBuild
      if [ ! -f "$src" ]; then
        echo "glibc ${version}: src ($src) must be a glibc tarball or a Debian glibc-source .deb" >&2
        exit 1
      fi
      tarball=$src
      if ar t "$src" >/dev/null 2>&1; then
        # A .deb holds the tree as usr/src/glibc/glibc-<version>.tar.xz in its data member.
        data=$(ar t "$src" | grep '^data\.tar')
        ar x "$src" "$data"
        tar -x -f "$data" --wildcards '*usr/src/glibc/glibc-*.tar.*'
        set -- usr/src/glibc/glibc-*.tar.*
        if [ $# -ne 1 ] || [ ! -f "$1" ]; then
          echo "glibc ${version}: $src is a .deb without one usr/src/glibc/glibc-*.tar.* in it" >&2
          exit 1
        fi
        tarball=$1
      fi
      mkdir tree
      # A file missing from the tarball is reported by the check below.
      tar -x -f "$tarball" -C tree --strip-components=1 --wildcards --no-wildcards-match-slash \
        ${lib.concatMapStringsSep " " (p: lib.escapeShellArg "*/${p}") (plan.verbatimPaths manifest)} || true
      failed=0 pinned=0
      while read -r expected path; do
        pinned=$((pinned + 1))
        if [ ! -f "tree/$path" ]; then
          echo "glibc ${version}: $path: not in $src (expected sha256 $expected)" >&2
          failed=$((failed + 1))
          continue
        fi
        actual=$(sha256sum "tree/$path")
        actual=''${actual%% *}
        if [ "$actual" != "$expected" ]; then
          echo "glibc ${version}: $path: expected sha256 $expected, actual $actual" >&2
          failed=$((failed + 1))
        fi
      done <"$verbatimSumsPath"
      if [ "$failed" != 0 ]; then
        echo "glibc ${version}: $src is not the source the manifest pins: $failed of its $pinned verbatim files differ from their pins (above)" >&2
        exit 1
      fi
      runHook postBuild
    '';
    installPhase = ''
      runHook preInstall
      cp -r tree $out
      runHook postInstall
    '';
  };

  mode = if debug then "debug" else "release";

  # GNU patch's flags, those of `resolver build --patch`
  # (crates/build/src/patch.rs, PATCH_FLAGS).
  patchFlags = "-p1 --fuzz=0 --batch --forward --no-backup-if-mismatch --reject-file=-";

  # A patched build's patchPhase: the checked verbatim files and the
  # manifest's shims and stubs copied into ./staged, each patch's paths
  # checked to be among them, the patch applied (--dry-run first), then the
  # tree moved to ./glibc and our C to ./project: the layout of
  # `resolver build --patch`'s build directory.
  patchPhaseOf = sources: patches: ''
    runHook prePatch
    mkdir staged
    cp -r --no-preserve=mode ${sources}/. staged/
    ${lib.concatMapStringsSep "\n" (p: "install -D -m644 ${project}/${p} staged/${p}") (plan.projectPaths manifest)}
    for p in ${lib.concatMapStringsSep " " (p: lib.escapeShellArg "${p}") patches}; do
      while IFS= read -r line; do
        path=''${line#* }
        path=''${path%%$'\t'*}
        path=''${path#\"}
        path=''${path%\"}
        if [ "$path" = /dev/null ]; then
          echo "glibc ${version}: patch $p creates or deletes a file: a patch may change only the manifest's verbatim files, shims and stubs" >&2
          exit 1
        fi
        rel=''${path#*/}
        if [ ! -f "staged/$rel" ]; then
          echo "glibc ${version}: patch $p touches $rel, which glibc ${version}'s build does not use: a patch may change only the manifest's verbatim files, shims and stubs" >&2
          exit 1
        fi
      done < <(grep -E '^(---|[+][+][+]) ' "$p")
      if ! patch -d staged ${patchFlags} --dry-run -i "$p"; then
        echo "glibc ${version}: patch $p does not apply (the file and hunk: above); nothing was built" >&2
        exit 1
      fi
      patch -d staged ${patchFlags} -i "$p"
    done
    mkdir project
    for d in shims stubs; do
      if [ -d "staged/$d" ]; then mv "staged/$d" project/; fi
    done
    mv staged glibc
    runHook postPatch
  '';
in
stdenv.mkDerivation (finalAttrs:
let
  # From `src` as finally set, so that .overrideAttrs (o: { src = ...; })
  # reaches the derivation that unpacks it.
  sources = sourcesOf finalAttrs.src;
  # Patches the nixpkgs way: .overrideAttrs (o: { patches = [ ./my.diff ]; })
  # applies them, in order, to the checked verbatim files (and our shims and
  # stubs), as `resolver build --patch` does; the .so is named
  # libmalloc-glibc-<version>+<name>.so and records them.
  patches = finalAttrs.patches or [ ];
  patched = patches != [ ];
  v = plan.variantWith manifest options patches;
  so = v.so_name.${mode};
  # What the name carries after "malloc-glibc": "+patch-hooks-trace-debug".
  suffix = v.suffix.${mode};
  # The generated files, by role ({ path, text }).
  files = manifest.plan.files // v.files;
  commands = plan.commands ({
    inherit manifest options debug patches;
  } // (if patched then {
    staged = "@BUILD@/glibc";
    project = "@BUILD@/project";
  } else {
    inherit project;
    staged = "${sources}";
  }));
in
{
  pname = "malloc-glibc${suffix}";
  inherit version;
  # Read by `sources` (above), not unpacked here.
  src = if src != null then src else download;
  dontUnpack = true;
  # Null (no phase) unless patched: the attribute is always there, since
  # which attributes exist must not depend on `finalAttrs`.
  patchPhase = if patched then patchPhaseOf sources patches else null;

  # Exactly the manifest's flags: no hardening flags, no self-RPATH, no
  # stripping (the release build keeps -g, as `resolver build`'s does).
  hardeningDisable = [ "all" ];
  NIX_NO_SELF_RPATH = true;
  dontStrip = true;
  dontPatchELF = true;

  buildPhase = ''
    runHook preBuild
    ${commands.dirs}
    ${lib.concatMapStringsSep "\n" (f: "cp ${builtins.toFile (baseNameOf f.path) f.text} ${plan.esc f.path}") (builtins.attrValues files)}
    ${lib.concatStringsSep "\n" commands.compile}
    ${commands.link}
    runHook postBuild
  '';
  installPhase = ''
    runHook preInstall
    install -Dm755 ${so} $out/lib/${so}
    runHook postInstall
  '';

  passthru = {
    inherit manifest sources options debug patches;
    # The shared object is $out/lib/<soName>.
    soName = so;
    # What it exports: the manifest's exports and its options'.
    exportNames = v.exports;
    # The generated files' text.
    tunablesHeader = files.tunables_header.text;
    versionScript = files.version_script.text;
  };

  meta = {
    description = "glibc ${version}'s malloc as a standalone LD_PRELOAD-able shared object"
      + lib.concatMapStrings (o: ", with ${o}") options
      + lib.concatMapStrings (p: ", patched with ${plan.patchName p}") patches
      + lib.optionalString debug " (-O0 -g3)";
    license = lib.licenses.lgpl21Plus or "LGPL-2.1-or-later";
    platforms = [ "x86_64-linux" ];
  };
})
