# A manifest's build plan, read the way `resolver build` reads it
# (resolver/src/build.rs, resolver/src/manifest.rs). Builtins only, like
# manifest.rs depends on nothing: the builder adds no knowledge of its own,
# it only spells the manifest out as compiler arguments and generated files.
# Every function here has a Rust twin; resolver/tests/nix.rs holds their
# results equal: the generated files byte for byte, and the shared objects
# byte for byte outside their debug info.
let
  inherit (builtins)
    attrNames
    concatMap
    concatStringsSep
    elemAt
    filter
    genList
    isString
    length
    map
    replaceStrings
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
in
rec {
  # "2.36" -> "2_36": flake attribute names cannot hold dots.
  attrVersion = v: replaceStrings [ "." ] [ "_" ] v;

  # build::so_name
  soName = manifest: debug: "libmalloc-glibc-${manifest.version}${if debug then "-debug" else ""}.so";

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
  versionScript = manifest:
    "/* Generated from the manifest's exports.  */\n{\n  global:\n"
    + concatStrings (map (e: "    ${e.name};\n") manifest.exports)
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
  commands = { manifest, debug, project, staged, gen, cc ? "$CC" }:
    let
      flags = map esc (cflags manifest debug ++ macroPrefixMaps { inherit project staged; });
      # Every word is quoted but `gen`, which the shell must expand.
      includes = map (a: if a == gen then gen else esc a) (includeFlags { inherit manifest project staged gen; });
      source = tu: if tu.origin == "glibc" then "${staged}/${tu.path}" else "${project}/${tu.path}";
      objects = map (tu: "obj/${objectName tu.path}") manifest.translation_units;
      compile = tu: concatStringsSep " " ([ cc ] ++ flags ++ includes ++ [ "-c" (esc (source tu)) "-o" (esc "obj/${objectName tu.path}") ]);
      link = concatStringsSep " " ([ cc ] ++ map esc manifest.flags.ldflags ++ [
        "-Wl,--version-script=\"$PWD/exports.map\""
        (esc "-Wl,-soname,${soName manifest false}")
      ] ++ map esc objects ++ [ "-o" (esc (soName manifest debug)) ]);
    in
    {
      compile = map compile manifest.translation_units;
      inherit link;
    };

  # What `sha256sum -c` reads: the manifest's pins of the verbatim glibc files.
  verbatimSums = manifest: concatStrings (map (f: "${f.sha256}  ${f.path}\n") manifest.verbatim);

  # The tree-relative paths to take out of the source tarball.
  verbatimPaths = manifest: map (f: f.path) manifest.verbatim;

  inherit esc;
}
