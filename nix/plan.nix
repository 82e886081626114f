# A manifest's build plan, as the resolver wrote it into the JSON twin
# (`plan`; crates/manifest/src/plan.rs, where its `about` says how to run
# it). `resolver build` runs the same plan. Nothing is derived here: this
# file picks a variant, substitutes the plan's placeholders and quotes each
# argument for the shell. Builtins only.
let
  inherit (builtins)
    baseNameOf
    concatStringsSep
    filter
    hashFile
    head
    length
    map
    match
    replaceStrings
    sort
    lessThan
    toString
    ;

  # Shell quoting, so any manifest value stays one word.
  esc = s: "'" + replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  mode = debug: if debug then "debug" else "release";
in
rec {
  # "2.36" -> "2_36": flake attribute names cannot hold dots.
  attrVersion = v: replaceStrings [ "." ] [ "_" ] v;

  # A patch file's name in the .so's name: its file name without .diff or
  # .patch, and without the hash of a store path (crates/build/src/patch.rs,
  # `patch_name`).
  patchName = p:
    let
      file = baseNameOf (toString p);
      unhashed = match "[0-9a-z]{32}-(.*)" file;
      base = if unhashed == null then file else head unhashed;
      stem = match "(.*)[.](diff|patch)" base;
      name = if stem == null then base else head stem;
    in
    if match "[A-Za-z0-9_-][A-Za-z0-9._-]*" name == null then
      throw "patch ${toString p}: its name `${name}` (the file name without .diff/.patch) may hold only letters, digits, `.`, `_` and `-`; it names the .so: rename the file"
    else
      name;

  # What a build records of each patch (plan::PatchId).
  patchIds = patches: map (p: { name = patchName p; sha256 = hashFile "sha256" p; }) patches;

  # The plan's variant with `patches` (a list of files) applied: the Nix
  # spelling of `plan::patched` (crates/manifest/src/plan.rs), which names
  # the .so `libmalloc-glibc-<version>+<name>...` and adds the unit
  # recording the patches; the same variant when `patches` is empty.
  patched = manifest: v: patches:
    if patches == [ ] then
      v
    else
      let
        ids = patchIds patches;
        ps = concatStringsSep "" (map (i: "+" + i.name) ids);
        name = suffix: "libmalloc-glibc-${manifest.version}${ps}${suffix}.so";
        record = "malloc-standalone patches: " + concatStringsSep "; " (map (i: "${i.name} sha256:${i.sha256}") ids);
        source = "@BUILD@/gen/malloc-standalone-patches.c";
        object = "@BUILD@/obj/malloc-standalone-patches.o";
        soname = "-Wl,-soname,${v.so_name.release}";
      in
      v // {
        suffix = { release = ps + v.suffix.release; debug = ps + v.suffix.debug; };
        so_name = { release = name v.suffix.release; debug = name v.suffix.debug; };
        files = v.files // {
          patch_record = {
            path = "gen/malloc-standalone-patches.c";
            text = "/* Generated: the patches this build carries (resolver build --patch).  */\n"
            + "__attribute__ ((used, visibility (\"hidden\")))\n"
            + "const char __malloc_standalone_patches[] = \"${record}\";\n";
          };
        };
        compile = v.compile ++ [{
          unit = "gen/malloc-standalone-patches.c";
          inherit source object;
          args = [ "-c" source "-o" object ];
        }];
        link = map (a: if a == soname then "-Wl,-soname,${name v.suffix.release}" else a) v.link ++ [ object ];
      };

  # The variant with `options` and `patches`.
  variantWith = manifest: options: patches: patched manifest (variantOf manifest options) patches;

  # The paths of the shims and stubs a build compiles (a patched build
  # stages them, patched or not, next to the glibc files).
  projectPaths = manifest: map (f: f.path) (manifest.shims ++ manifest.stubs);

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
  commands = { manifest, options ? [ ], patches ? [ ], debug, project, staged, cc ? "$CC" }:
    let
      v = variantWith manifest options patches;
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
