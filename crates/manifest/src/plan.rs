//! The builder contract: the names and contents of the files a build
//! generates from a manifest.

use crate::schema::Tunable;

/// The header the build generates from a manifest's tunables.
pub const TUNABLES_HEADER: &str = "malloc-standalone-tunables.h";

/// The text of [`TUNABLES_HEADER`]: one X-macro line per tunable,
/// `MALLOC_STANDALONE_TUNABLE(top, namespace, name, TYPE, min, max, default,
/// "ENV_ALIAS" or NULL, SECURITY_LEVEL)`, with the type's range where the list
/// gives none and 0 where it gives no default.
pub fn tunables_header(tunables: &[Tunable]) -> String {
    let mut out = String::from(
        "/* Generated from the version's elf/dl-tunables.list by the build; do not edit.  */\n",
    );
    for t in tunables {
        let parts: Vec<&str> = t.name.splitn(3, '.').collect();
        let [top, ns, name] = parts.as_slice() else {
            continue;
        };
        let (min, max) = match t.ty.as_str() {
            "INT_32" => ("INT32_MIN", "INT32_MAX"),
            "UINT_64" => ("0", "UINT64_MAX"),
            "SIZE_T" => ("0", "SIZE_MAX"),
            _ => ("0", "0"),
        };
        let alias = t
            .env_alias
            .as_ref()
            .map_or("NULL".to_string(), |a| format!("\"{a}\""));
        out.push_str(&format!(
            "MALLOC_STANDALONE_TUNABLE({top}, {ns}, {name}, {}, {}, {}, {}, {alias}, {})\n",
            t.ty,
            t.minval.as_deref().unwrap_or(min),
            t.maxval.as_deref().unwrap_or(max),
            t.default.as_deref().unwrap_or("0"),
            t.security_level
        ));
    }
    out
}
