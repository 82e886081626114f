{
  description = "Offline stand-in for nixpkgs: only what this repository's flake uses, over the host's toolchain";

  outputs = { self }:
    let
      system = "x86_64-linux";
      lib = import ./lib.nix;
    in
    {
      inherit lib;
      legacyPackages.${system} = import ./pkgs.nix { inherit lib system; };
    };
}
