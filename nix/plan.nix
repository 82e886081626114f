# A manifest's build plan, as the resolver wrote it into the JSON twin
# (`plan`; crates/manifest/src/plan.rs, where its `about` says how to run
# it). `resolver build` runs the same plan. Nothing is derived here: this
# file picks a variant, substitutes the plan's placeholders and quotes each
# argument for the shell. Builtins only.
let
  inherit (builtins)
    concatStringsSep
    filter
    head
    length
    map
    replaceStrings
    sort
    lessThan
    ;

  # Shell quoting, so any manifest value stays one word.
  esc = s: "'" + replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  mode = debug: if debug then "debug" else "release";
in
rec {
  # "2.36" -> "2_36": flake attribute names cannot hold dots.
  attrVersion = v: replaceStrings [ "." ] [ "_" ] v;

  # The plan's variant with exactly `options` (any order) switched on.
  variantOf = manifest: options:
    let
      want = sort lessThan options;
      found = filter (v: v.options == want) manifest.plan.variants;
    in
    if length found == 1 then
      head found
    else
      throw "glibc ${manifest.version}: no build option set [ ${concatStringsSep " " want} ] (offered: ${concatStringsSep ", " (map (v: "[ ${concatStringsSep " " v.options} ]") manifest.plan.variants)})";

  # Every set of options the plan has a variant for, the empty set first:
  # the variants the flake builds.
  optionSets = manifest: map (v: v.options) manifest.plan.variants;

  # What a variant's names carry after the version ("-hooks-trace-debug").
  variantSuffix = manifest: options: debug: (variantOf manifest options).suffix.${mode debug};

  # The version and the suffix ("2.36-hooks-trace-debug").
  variant = manifest: options: debug: manifest.version + variantSuffix manifest options debug;

  soName = manifest: options: debug: (variantOf manifest options).so_name.${mode debug};

  # The symbols the .so exports.
  exportNames = manifest: options: (variantOf manifest options).exports;

  # The generated files ({ path, text }), by role: the plan's and the
  # variant's (tunables_header, version_script).
  files = manifest: options: manifest.plan.files // (variantOf manifest options).files;

  # The plan run in a builder's working directory (the plan's @BUILD@),
  # as shell commands: make `dirs`, then `compile` (one command per unit),
  # then `link`. `project` and `staged` are store paths (@PROJECT@, @TREE@);
  # the files are written by the caller.
  commands = { manifest, options ? [ ], debug, project, staged, cc ? "$CC" }:
    let
      v = variantOf manifest options;
      # One shell word: the store paths substituted, then quoted, then
      # @BUILD@ left for the shell to expand as "$PWD".
      word = a: replaceStrings [ "@BUILD@" ] [ "'\"$PWD\"'" ]
        (esc (replaceStrings [ "@TREE@" "@PROJECT@" ] [ staged project ] a));
      line = args: concatStringsSep " " ([ cc ] ++ map word args);
    in
    {
      dirs = "mkdir -p " + concatStringsSep " " (map esc manifest.plan.dirs);
      compile = map (c: line (manifest.plan.cflags.${mode debug} ++ c.args)) v.compile;
      link = line v.link + " -o " + esc v.so_name.${mode debug};
    };

  # What `sha256sum -c` reads: the manifest's pins of the verbatim glibc files.
  verbatimSums = manifest: concatStringsSep "" (map (f: "${f.sha256}  ${f.path}\n") manifest.verbatim);

  # The tree-relative paths to take out of the source tarball.
  verbatimPaths = manifest: map (f: f.path) manifest.verbatim;

  inherit esc;
}
