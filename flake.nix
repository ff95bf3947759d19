{
  description = "zkprof: development shell and pinned per-framework environments";

  # Pinned by flake.lock (nixos-25.05). `nix flake update` moves the pin.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";

  outputs = { self, nixpkgs }:
    let
      # The framework wheels and binaries below are x86_64 Linux only.
      systems = [ "x86_64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAll (pkgs:
        let
          python = pkgs.python311;

          # The same wheel and hash as images/ezkl/requirements.lock.
          ezkl = python.pkgs.buildPythonPackage {
            pname = "ezkl";
            version = "23.0.5";
            format = "wheel";
            src = pkgs.fetchurl {
              url = "https://files.pythonhosted.org/packages/cp37/e/ezkl/ezkl-23.0.5-cp37-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
              sha256 = "1c7f59745fcdd2270be7eabe9d11e6821253275eb6a23709ba19b30d28815b3e";
            };
            nativeBuildInputs = [ pkgs.autoPatchelfHook ];
            buildInputs = [ pkgs.stdenv.cc.cc.lib ];
            pythonImportsCheck = [ "ezkl" ];
          };

          # circom2, snarkjs and circomlib-ml exactly as images/circom/package-lock.json
          # (every tarball checked against the lock's integrity hash).
          circomModules = pkgs.importNpmLock.buildNodeModules {
            npmRoot = ./images/circom;
            nodejs = pkgs.nodejs_20;
          };
          circomBin = pkgs.runCommand "zkprof-circom-bin" { } ''
            mkdir -p $out/bin
            for tool in ${circomModules}/node_modules/.bin/*; do
              ln -s "$tool" "$out/bin/$(basename "$tool")"
            done
          '';
        in
        {
          # `zkprof run --runtime nix` puts env-<framework>/bin first on PATH.
          env-ezkl = pkgs.buildEnv {
            name = "zkprof-env-ezkl";
            paths = [ (python.withPackages (_: [ ezkl ])) ];
          };
          env-circom = pkgs.buildEnv {
            name = "zkprof-env-circom";
            paths = [ pkgs.nodejs_20 circomBin ];
          };
        });

      devShells = forAll (pkgs: {
        # Rust (rustup picks the toolchain; the workspace needs 1.88+), Python and Node
        # for the framework adapters, and the tools the runtimes call.
        default = pkgs.mkShell {
          packages = with pkgs; [
            rustup
            pkg-config
            python311
            nodejs_20
            debootstrap
            docker-client
          ];
        };
      });
    };
}
