# The stand-in's package set: the attributes of nixpkgs that this
# repository's flake uses, and nothing else. Derivations run the host's
# (Debian's) tools from /usr, which the sandbox must bind:
#   --option extra-sandbox-paths '/usr /lib /lib64'
# (never /bin: on a merged-/usr host it is a symlink to usr/bin). Downloads
# cannot happen offline: a fixed-output fetch succeeds only when its output is
# already in the store (`nix-store --add-fixed sha256 FILE`).
{ lib, system }:
let
  bash = "/usr/bin/bash";

  # Wraps the host's program(s) as a package whose bin/ links to them.
  hostTools = name: programs:
    builtins.derivation
      {
        inherit name system;
        builder = bash;
        args = [
          "-euc"
          ''
            /usr/bin/mkdir -p "$out/bin"
            for p in ${toString programs}; do /usr/bin/ln -s "$p" "$out/bin/$(/usr/bin/basename "$p")"; done
          ''
        ];
      }
    // { meta.mainProgram = builtins.baseNameOf (builtins.head programs); };

  # stdenv.mkDerivation: the attributes become the builder's environment
  # (passthru and meta stay Nix-side), `$stdenv/setup` then `genericBuild`.
  # Given a function, its argument is the final attributes (nixpkgs'
  # `finalAttrs`), overrides included.
  mkDerivation = fOrAttrs:
    makeDerivation (if builtins.isFunction fOrAttrs then fOrAttrs else _: fOrAttrs);

  makeDerivation = rattrs:
    let
      attrs = rattrs attrs;
      name = attrs.name or "${attrs.pname}-${attrs.version}";
      env = builtins.removeAttrs attrs [ "passthru" "meta" "name" "env" ] // (attrs.env or { });
      drv = builtins.derivation (env // {
        inherit name system;
        # `nix develop` writes the environment to every output named here.
        outputs = attrs.outputs or [ "out" ];
        stdenv = stdenvDrv;
        builder = bash;
        args = [ "-e" ./builder.sh ];
      });
    in
    drv // (attrs.passthru or { }) // {
      meta = attrs.meta or { };
      version = attrs.version or "";
      pname = attrs.pname or name;
      passthru = attrs.passthru or { };
      # As nixpkgs': `prev: { ... }` or `final: prev: { ... }`, whose
      # attributes replace the previous ones before the fixed point.
      overrideAttrs = f0:
        let
          f = final: prev:
            let x = f0 prev; in if builtins.isFunction x then f0 final prev else x;
        in
        makeDerivation (final: let prev = rattrs final; in prev // f final prev);
    };

  stdenvDrv = builtins.derivation {
    name = "stdenv-standin";
    inherit system;
    builder = bash;
    args = [ "-euc" "/usr/bin/mkdir $out && /usr/bin/cp ${./setup.sh} $out/setup" ];
  };

  stdenv = {
    inherit mkDerivation system;
    cc = hostTools "gcc-host" [ "/usr/bin/gcc" ];
    hostPlatform = { inherit system; isLinux = true; isx86_64 = true; };
  };

  runCommand = name: env: buildCommand:
    mkDerivation ({ inherit name buildCommand; } // env);

  pkgs = {
    inherit lib stdenv runCommand;

    # The store path nixpkgs' fetchurl would give (flat sha256 over the file,
    # named after the URL's last component), with its attributes
    # (`outputHash` is the pinned sha256, `url` the URL asked for); offline
    # it must already be there.
    fetchurl = { url, sha256, name ? builtins.baseNameOf url }:
      builtins.derivation
        {
          inherit name system;
          builder = bash;
          args = [
            "-c"
            ''
              echo "the offline stand-in cannot download ${url};" >&2
              echo "put the file in the store first: nix-store --add-fixed sha256 ${name}" >&2
              exit 1
            ''
          ];
          outputHashMode = "flat";
          outputHashAlgo = "sha256";
          outputHash = sha256;
        } // { inherit url; };

    writeText = name: text:
      runCommand name { inherit text; passAsFile = [ "text" ]; } ''cp "$textPath" "$out"'';

    # With nixpkgs' `override` (new arguments over the given ones) on the
    # result, though not kept through `overrideAttrs` as nixpkgs keeps it.
    callPackage = fn: args:
      let
        f = if builtins.isFunction fn then fn else import fn;
        wanted = builtins.functionArgs f;
        auto = builtins.intersectAttrs wanted pkgs;
        call = given: f given // {
          override = new: call (given // (if builtins.isFunction new then new given else new));
        };
      in
      call (auto // args);

    mkShell = { name ? "shell", packages ? [ ], inputsFrom ? [ ], shellHook ? "", ... }@attrs:
      mkDerivation (builtins.removeAttrs attrs [ "inputsFrom" ] // {
        inherit name;
        packages = packages;
        inherit shellHook;
        buildCommand = ''
          echo "------------------------------------------------------------" >> $out
          echo " WARNING: the existence of this path is not guaranteed." >> $out
          echo " It is an internal implementation detail for pkgs.mkShell." >> $out
          echo "------------------------------------------------------------" >> $out
          echo >> $out
          export >> $out
        '';
      });

    # Host tools under nixpkgs' names.
    bashInteractive = hostTools "bash-interactive-host" [ "/usr/bin/bash" ];
    gdb = hostTools "gdb-host" [ "/usr/bin/gdb" ];
    nixpkgs-fmt = hostTools "nixpkgs-fmt-host" [ "/usr/local/bin/nixpkgs-fmt" ];
    llvmPackages =
      let
        libclang = builtins.derivation {
          name = "libclang-host";
          inherit system;
          builder = bash;
          args = [ "-euc" "/usr/bin/mkdir $out && /usr/bin/ln -s /usr/lib/llvm-14/lib $out/lib" ];
        };
      in
      { libclang = libclang // { lib = libclang; }; };

    # Rust crates cannot be fetched offline, so the stand-in builds no Rust: it
    # checks that the lock file the flake names is readable and gives a
    # `resolver` that says where the real one comes from.
    rustPlatform.buildRustPackage = { pname, version, cargoLock, src, ... }:
      let
        lock = builtins.fromTOML (builtins.readFile cargoLock.lockFile);
      in
      assert builtins.isList lock.package;
      mkDerivation {
        # `src` is kept, as nixpkgs keeps it, for the tests to look into.
        inherit pname version src;
        buildCommand = ''
          mkdir -p $out/bin
          cat > $out/bin/${pname} <<'SCRIPT'
          #!/usr/bin/bash
          echo "${pname}: the offline nixpkgs stand-in builds no Rust; use \`cargo run -p ${pname} --\` or the flake with real nixpkgs" >&2
          exit 1
          SCRIPT
          chmod +x $out/bin/${pname}
        '';
      };
    makeWrapper = hostTools "make-wrapper-host" [ "/usr/bin/true" ];
  };
in
pkgs
