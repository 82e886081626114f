# The few nixpkgs `lib` functions this repository's flake uses, written with
# builtins, with nixpkgs' meaning (only as much of it as the flake needs).
let
  inherit (builtins)
    attrNames
    concatStringsSep
    filter
    foldl'
    head
    listToAttrs
    map
    replaceStrings
    stringLength
    substring
    tail
    ;
in
rec {
  id = x: x;
  inherit (builtins) concatStringsSep elem filter head length replaceStrings tail;
  concatStrings = concatStringsSep "";
  concatMapStrings = f: list: concatStrings (map f list);
  concatMapStringsSep = sep: f: list: concatStringsSep sep (map f list);
  hasPrefix = pref: str: substring 0 (stringLength pref) str == pref;
  hasSuffix = suffix: content:
    let
      ls = stringLength suffix;
      lc = stringLength content;
    in
    lc >= ls && substring (lc - ls) ls content == suffix;
  removeSuffix = suffix: str:
    if hasSuffix suffix str then substring 0 (stringLength str - stringLength suffix) str else str;
  optional = cond: elem: if cond then [ elem ] else [ ];
  optionals = cond: elems: if cond then elems else [ ];
  optionalString = cond: string: if cond then string else "";
  optionalAttrs = cond: as: if cond then as else { };
  escapeShellArg = arg: "'${replaceStrings [ "'" ] [ "'\\''" ] (toString arg)}'";
  escapeShellArgs = args: concatStringsSep " " (map escapeShellArg args);
  nameValuePair = name: value: { inherit name value; };
  mapAttrs = builtins.mapAttrs;
  mapAttrs' = f: set: listToAttrs (map (attr: f attr set.${attr}) (attrNames set));
  mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (attrNames attrs);
  filterAttrs = pred: set: listToAttrs (builtins.concatMap (name: let v = set.${name}; in if pred name v then [ (nameValuePair name v) ] else [ ]) (attrNames set));
  attrValues = builtins.attrValues;
  foldl = foldl';
  last = list: builtins.elemAt list (builtins.length list - 1);
  sort = builtins.sort;
  versionOlder = v1: v2: builtins.compareVersions v2 v1 == 1;
  versionAtLeast = v1: v2: !versionOlder v1 v2;
  getExe = x: "${x}/bin/${x.meta.mainProgram or x.pname or x.name}";

  # lib.fileset, only `unions` of paths and `toSource` of them: enough to
  # copy the listed files and directories (and nothing else) into the store.
  fileset = {
    unions = paths: { _standinFileset = paths; };
    toSource = { root, fileset }:
      let
        wanted = map toString (fileset._standinFileset or [ fileset ]);
        keep = path: _type:
          builtins.any (w: path == w || hasPrefix (w + "/") path || hasPrefix (path + "/") w) wanted;
      in
      builtins.path {
        name = "source";
        path = root;
        filter = keep;
      };
  };
}
