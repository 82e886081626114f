# The resolver (source -> pinned manifest, and `resolver build`), built from
# the workspace's Cargo.lock. It loads libclang at run time.
{ lib
, rustPlatform
, makeWrapper
, llvmPackages
  # The workspace sources (a store path).
, src
}:
rustPlatform.buildRustPackage {
  pname = "resolver";
  version = (builtins.fromTOML (builtins.readFile ../Cargo.toml)).workspace.package.version;
  inherit src;
  cargoLock.lockFile = ../Cargo.lock;
  cargoBuildFlags = [ "-p" "resolver" ];
  # Its tests fetch glibc from Debian's archive and run real programs; they
  # run with `./dev test`, not in the sandbox.
  doCheck = false;
  nativeBuildInputs = [ makeWrapper ];
  postInstall = ''
    wrapProgram $out/bin/resolver --set-default LIBCLANG_PATH ${llvmPackages.libclang.lib}/lib
  '';
  meta = {
    description = "Resolve glibc's malloc into a pinned build manifest, and build it";
    license = lib.licenses.lgpl21Plus or "LGPL-2.1-or-later";
    mainProgram = "resolver";
  };
}
