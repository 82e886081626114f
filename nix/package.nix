# libmalloc-glibc-<version>.so from one pinned manifest (the JSON twin of
# nix/manifests/glibc-<version>.yaml, parsed with builtins.fromJSON), built
# exactly as `resolver build` builds it (resolver/src/build.rs): the pinned
# source fetched and checked, the manifest's flags, include order, defines,
# generated tunables header and version script, and a C compiler only.
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
}:
let
  plan = import ./plan.nix;
  inherit (manifest) version;
  origin = manifest.source.origin;

  # What to fetch: the manifest's origin when Nix can fetch it (a Debian
  # package: the `glibc-source` .deb or the `glibc` source package's orig
  # tarball; or the GNU release tarball), else the GNU release tarball the
  # manifest records for a local tree, tarball or git tag. Either way the
  # per-file pins below decide whether it is the source that was resolved.
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
          cargo run -p resolver -- resolve --glibc ${version}'';

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

  isDeb = fetchable.kind == "debian" && lib.hasSuffix ".deb" fetchable.file_name;
  tarball = if fetchable.kind == "debian" then fetchable.tarball else baseNameOf fetchable.url;
  tarballSha256 = if fetchable.kind == "debian" then fetchable.tarball_sha256 else fetchable.sha256;

  # The verbatim glibc files of the manifest, and nothing else, each checked
  # against its pin. Shared by the release and debug variants; its store
  # path is what the compiler (and so the debug info, for gdb) sees.
  sources = stdenv.mkDerivation {
    pname = "glibc-malloc-sources";
    inherit version;
    src = download;
    dontUnpack = true;
    verbatimSums = plan.verbatimSums manifest;
    passAsFile = [ "verbatimSums" ];
    buildPhase = ''
      runHook preBuild
      ${lib.optionalString isDeb ''
        # The .deb holds the tree as usr/src/glibc/${tarball} in its data member.
        data=$(ar t "$src" | grep '^data\.tar')
        ar x "$src" "$data"
        tar -x -f "$data" --wildcards '*usr/src/glibc/${tarball}'
        mv usr/src/glibc/${tarball} .
      ''}
      ${lib.optionalString (!isDeb) ''cp "$src" ${tarball}''}
      echo "${tarballSha256}  ${tarball}" | sha256sum -c --quiet
      mkdir tree
      tar -x -f ${tarball} -C tree --strip-components=1 --wildcards --no-wildcards-match-slash \
        ${lib.concatMapStringsSep " " (p: lib.escapeShellArg "*/${p}") (plan.verbatimPaths manifest)}
      (cd tree && sha256sum -c --quiet "$verbatimSumsPath")
      runHook postBuild
    '';
    installPhase = ''
      runHook preInstall
      cp -r tree $out
      runHook postInstall
    '';
  };

  so = plan.soName manifest options debug;
  # What the name carries after "malloc-glibc": "-hooks-trace-debug".
  suffix = plan.variantSuffix options debug;
  commands = plan.commands {
    inherit manifest options debug project;
    staged = "${sources}";
    gen = ''"$PWD/gen"'';
  };
in
stdenv.mkDerivation {
  pname = "malloc-glibc${suffix}";
  inherit version;
  dontUnpack = true;

  tunablesHeader = plan.tunablesHeader manifest.tunables;
  versionScript = plan.versionScript manifest options;
  passAsFile = [ "tunablesHeader" "versionScript" ];

  # Exactly the manifest's flags: no hardening flags, no self-RPATH, no
  # stripping (the release build keeps -g, as `resolver build`'s does).
  hardeningDisable = [ "all" ];
  NIX_NO_SELF_RPATH = true;
  dontStrip = true;
  dontPatchELF = true;

  buildPhase = ''
    runHook preBuild
    mkdir -p gen obj
    cp "$tunablesHeaderPath" gen/${plan.tunablesHeaderName}
    cp "$versionScriptPath" exports.map
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
    inherit manifest sources options debug;
    # The shared object is $out/lib/<soName>.
    soName = so;
    # What it exports: the manifest's exports and its options'.
    exportNames = plan.exportNames manifest options;
    tunablesHeader = plan.tunablesHeader manifest.tunables;
    versionScript = plan.versionScript manifest options;
  };

  meta = {
    description = "glibc ${version}'s malloc as a standalone LD_PRELOAD-able shared object"
      + lib.concatMapStrings (o: ", with ${o}") options
      + lib.optionalString debug " (-O0 -g3)";
    license = lib.licenses.lgpl21Plus or "LGPL-2.1-or-later";
    platforms = [ "x86_64-linux" ];
  };
}
