{
  description = "glibc's malloc of a chosen glibc version as a standalone LD_PRELOAD-able shared object";

  # nixpkgs is the only input. Offline, evaluate and build against the stand-in
  # in nix/standin (see docs/nix.md, "Offline: the stand-in for nixpkgs", for
  # the sandbox options and how to put the pinned downloads in the store):
  #   nix build --override-input nixpkgs path:$PWD/nix/standin .#malloc-glibc-2_36
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  # This file only wires things together; the logic lives in nix/.
  outputs = { self, nixpkgs }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
      inherit (pkgs) lib;
      plan = import ./nix/plan.nix;

      # Every pinned manifest in nix/manifests/, by version: adding
      # glibc-<version>.json there adds its packages and shell.
      manifests = lib.mapAttrs'
        (file: _:
          let
            manifest = builtins.fromJSON (builtins.readFile (./nix/manifests + "/${file}"));
          in
          if file != "glibc-${manifest.version}.json" then
            throw "nix/manifests/${file} holds glibc ${manifest.version}; it should be named glibc-${manifest.version}.json"
          else
            lib.nameValuePair manifest.version manifest)
        (lib.filterAttrs (file: type: type == "regular" && lib.hasSuffix ".json" file) (builtins.readDir ./nix/manifests));
      versions = lib.sort (a: b: builtins.compareVersions a b < 0) (builtins.attrNames manifests);
      newest = lib.last versions;

      # shims/ and stubs/: all the project's C that a build reads.
      project = lib.fileset.toSource {
        root = ./.;
        fileset = lib.fileset.unions [ ./shims ./stubs ];
      };

      malloc = version: options: debug:
        pkgs.callPackage ./nix/package.nix {
          manifest = manifests.${version};
          inherit project options debug;
        };
      # malloc-glibc-2_36, malloc-glibc-2_36-trace-debug, ...: the .so's name
      # with the version's dots made underscores.
      attrName = version: options: debug:
        "malloc-glibc-${plan.attrVersion (plan.variant manifests.${version} options debug)}";
      # Each version without options and with every set of the options its
      # manifest offers (hooks, trace), each in release and debug.
      mallocPackages = builtins.listToAttrs (builtins.concatMap
        (version: builtins.concatMap
          (options: [
            (lib.nameValuePair (attrName version options false) (malloc version options false))
            (lib.nameValuePair (attrName version options true) (malloc version options true))
          ])
          (plan.optionSets manifests.${version}))
        versions);

      # The workspace, and what crates/cli/build.rs embeds in the binary
      # (so the installed resolver carries its shims, stubs, gdb script,
      # replayer and manifests).
      resolver = pkgs.callPackage ./nix/resolver.nix {
        src = lib.fileset.toSource {
          root = ./.;
          fileset = lib.fileset.unions [
            ./Cargo.toml
            ./Cargo.lock
            ./.cargo
            ./crates
            ./xtask
            ./shims
            ./stubs
            ./gdb
            ./tools
            ./nix/manifests
          ];
        };
      };

      shellName = version: "glibc-${plan.attrVersion version}";
      shell = version:
        pkgs.callPackage ./nix/shell.nix {
          inherit resolver;
          pwndbg = pkgs.pwndbg or null;
          malloc = mallocPackages.${attrName version [ ] false};
          mallocDebug = mallocPackages.${attrName version [ ] true};
          shells = map shellName versions;
        };
    in
    {
      packages.${system} = mallocPackages // {
        inherit resolver;
        # The newest pinned glibc.
        default = mallocPackages.${attrName newest [ ] false};
      };

      devShells.${system} = builtins.listToAttrs (map (v: lib.nameValuePair (shellName v) (shell v)) versions) // {
        default = shell newest;
      };

      checks.${system} = import ./nix/checks.nix {
        inherit lib mallocPackages;
        inherit (pkgs) runCommand stdenv nixpkgs-fmt;
        nixFiles = lib.fileset.toSource {
          root = ./.;
          fileset = lib.fileset.unions [ ./flake.nix ./nix ];
        };
      };

      formatter.${system} = pkgs.nixpkgs-fmt;
    };
}
