# A manifest's build plan, read the way `resolver build` reads it
# (crates/build, crates/manifest). Builtins only, like
# manifest.rs depends on nothing: the builder adds no knowledge of its own,
# it only spells the manifest out as compiler arguments and generated files.
# Every function here has a Rust twin; crates/cli/tests/nix.rs holds their
# results equal: the generated files byte for byte, and the shared objects
# byte for byte outside their debug info.
let
  inherit (builtins)
    attrNames
    concatMap
    concatStringsSep
    elem
    elemAt
    filter
    foldl'
    genList
    isString
    length
    lessThan
    listToAttrs
    map
    replaceStrings
    sort
    split
    ;

  # Shell quoting, so any manifest value stays one word.
  esc = s: "'" + replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  concatStrings = concatStringsSep "";

  # "a.b.c.d" -> [ "a" "b" "c.d" ], like Rust's `splitn(3, '.')`.
  splitn3 = s:
    let
      parts = filter isString (split "\\." s);
      n = length parts;
    in
    if n <= 3 then
      parts
    else
      [
        (elemAt parts 0)
        (elemAt parts 1)
        (concatStringsSep "." (genList (i: elemAt parts (i + 2)) (n - 2)))
      ];

  # The list without repeats, in first-seen order (Rust's `contains` check
  # before each push).
  uniq = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
in
rec {
  # "2.36" -> "2_36": flake attribute names cannot hold dots.
  attrVersion = v: replaceStrings [ "." ] [ "_" ] v;

  # build::applicable_options, for the options the manifest offers: each
  # named option's plan (`options` in the manifest), in sorted order.
  optionPlans = manifest: options:
    map
      (o:
        manifest.options.${o} or (throw "glibc ${manifest.version}: no build option `${o}` (offered: ${concatStringsSep ", " (attrNames (manifest.options or { }))})"))
      (sort lessThan options);

  # Every set of the manifest's options, each sorted, the empty set first:
  # the variants the flake builds.
  optionSets = manifest:
    foldl' (sets: o: sets ++ map (s: s ++ [ o ]) sets) [ [ ] ] (attrNames (manifest.options or { }));

  # build::variant: the version, each option, then -debug ("2.36-hooks-trace-debug").
  variant = manifest: options: debug: manifest.version + variantSuffix options debug;
  # What a variant's name carries after the version ("-hooks-trace-debug").
  variantSuffix = options: debug:
    concatStrings (map (o: "-${o}") (sort lessThan options)) + (if debug then "-debug" else "");

  # build::so_name
  soName = manifest: options: debug: "libmalloc-glibc-${variant manifest options debug}.so";

  # What the version script exports: the manifest's exports and its
  # options', sorted and unique (attrNames sorts by bytes, as the Rust
  # builder's BTreeSet does).
  exportNames = manifest: options:
    attrNames (listToAttrs (map (e: { name = e.name; value = null; })
      (manifest.exports ++ concatMap (p: p.exports) (optionPlans manifest options))));

  # manifest::TUNABLES_HEADER and manifest::tunables_header, to the byte.
  tunablesHeaderName = "malloc-standalone-tunables.h";
  tunablesHeader = tunables:
    "/* Generated from the version's elf/dl-tunables.list by the build; do not edit.  */\n"
    + concatStrings (map tunableLine tunables);
  tunableLine = t:
    let
      parts = splitn3 t.name;
      range = {
        INT_32 = [ "INT32_MIN" "INT32_MAX" ];
        UINT_64 = [ "0" "UINT64_MAX" ];
        SIZE_T = [ "0" "SIZE_MAX" ];
      }.${t.type} or [ "0" "0" ];
      alias = if t ? env_alias then "\"${t.env_alias}\"" else "NULL";
    in
    if length parts != 3 then
      ""
    else
      "MALLOC_STANDALONE_TUNABLE(${elemAt parts 0}, ${elemAt parts 1}, ${elemAt parts 2}, ${t.type}, "
      + "${t.minval or (elemAt range 0)}, ${t.maxval or (elemAt range 1)}, ${t.default or "0"}, "
      + "${alias}, ${t.security_level})\n";

  # build::version_script
  versionScript = manifest: options:
    "/* Generated from the manifest's exports.  */\n{\n  global:\n"
    + concatStrings (map (n: "    ${n};\n") (exportNames manifest options))
    + "  local:\n    *;\n};\n";

  # `cflags`, or for the debug variant `cflags` without -O2 and -g followed
  # by `debug_cflags`, as build::build does.
  cflags = manifest: debug:
    if debug then
      filter (f: f != "-O2" && f != "-g") manifest.flags.cflags ++ manifest.flags.debug_cflags
    else
      manifest.flags.cflags;

  # The `-fmacro-prefix-map`s that make `__FILE__` read as in glibc
  # ("malloc.c" in malloc/, "../sysdeps/..." elsewhere); the last match
  # wins, so the most specific comes last.
  macroPrefixMaps = { project, staged }: [
    "-fmacro-prefix-map=${project}/="
    "-fmacro-prefix-map=${staged}/=../"
    "-fmacro-prefix-map=${staged}/malloc/="
  ];

  # build::include_flags: the include order, then the defines (sorted by
  # name, as attrNames and Rust's BTreeMap both sort by bytes).
  includeFlags = { manifest, project, staged, gen }:
    concatMap
      (d:
        if d.kind == "force-include" then [ "-include" "${project}/${d.path}" ]
        else if d.kind == "shims" then [ "-I" "${project}/${d.path}" ]
        else if d.kind == "generated" then [ "-I" gen ]
        else if d.kind == "host" then [ ]
        else if d.kind == "glibc" then [ "-idirafter" (if d.path == "" then staged else "${staged}/${d.path}") ]
        else throw "glibc ${manifest.version}: unknown include kind `${d.kind}` (a newer manifest schema? update this flake)")
      manifest.include_order
    ++ map (k: "-D${k}=${manifest.defines.${k}}") (attrNames manifest.defines);

  # The object file of a translation unit, named as build::build names it.
  objectName = path: "${replaceStrings [ "/" ] [ "__" ] (if builtins.match ".*\\.c" path != null then builtins.substring 0 (builtins.stringLength path - 2) path else path)}.o";

  # One shell command per translation unit, then the link, for a builder
  # whose working directory holds gen/ and obj/. `project` and `staged` are
  # store paths; `gen` is a shell word (it names the build directory).
  # `options` are build options the manifest offers (`resolver build
  # --hooks --trace`): their defines follow the manifest's, their renames
  # apply to glibc's units only, their units follow the manifest's.
  commands = { manifest, options ? [ ], debug, project, staged, gen, cc ? "$CC" }:
    let
      plans = optionPlans manifest options;
      flags = map esc (cflags manifest debug ++ macroPrefixMaps { inherit project staged; });
      # Every word is quoted but `gen`, which the shell must expand.
      includes = map (a: if a == gen then gen else esc a) (includeFlags { inherit manifest project staged gen; })
        ++ map esc (concatMap (p: map (k: "-D${k}=${p.defines.${k}}") (attrNames p.defines)) plans);
      renames = map esc (uniq (concatMap (p: map (k: "-D${k}=${p.glibc_renames.${k}}") (attrNames p.glibc_renames)) plans));
      units = uniq (manifest.translation_units ++ concatMap (p: p.translation_units) plans);
      source = tu: if tu.origin == "glibc" then "${staged}/${tu.path}" else "${project}/${tu.path}";
      objects = map (tu: "obj/${objectName tu.path}") units;
      compile = tu: concatStringsSep " " ([ cc ] ++ flags ++ includes
        ++ (if tu.origin == "glibc" then renames else [ ])
        ++ [ "-c" (esc (source tu)) "-o" (esc "obj/${objectName tu.path}") ]);
      link = concatStringsSep " " ([ cc ] ++ map esc manifest.flags.ldflags ++ [
        "-Wl,--version-script=\"$PWD/exports.map\""
        (esc "-Wl,-soname,${soName manifest options false}")
      ] ++ map esc objects ++ [ "-o" (esc (soName manifest options debug)) ]);
    in
    {
      compile = map compile units;
      inherit link;
    };

  # What `sha256sum -c` reads: the manifest's pins of the verbatim glibc files.
  verbatimSums = manifest: concatStrings (map (f: "${f.sha256}  ${f.path}\n") manifest.verbatim);

  # The tree-relative paths to take out of the source tarball.
  verbatimPaths = manifest: map (f: f.path) manifest.verbatim;

  inherit esc;
}
