//! The allocator features a manifest records: a struct of named booleans
//! (serialized as the map `name: true|false`, sorted by name, as ever) and
//! the [`Feature`] names, parsed strictly.

use serde::{Deserialize, Serialize};

/// Declares [`Features`] (one field per feature, in name order: serde
/// writes fields in declaration order, and the manifests list them sorted)
/// and [`Feature`] (one variant per field) from one list.
macro_rules! features {
    ($($(#[$attr:meta])* $field:ident => $variant:ident,)*) => {
        /// Allocator features detected in the source.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Features {
            $($(#[$attr])* pub $field: bool,)*
        }

        /// One feature of [`Features`], by its name in the manifest.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Feature {
            $($variant,)*
        }

        impl Feature {
            /// Every feature, in name order.
            pub const ALL: &'static [Feature] = &[$(Feature::$variant,)*];

            /// The name the manifest gives it.
            pub fn name(self) -> &'static str {
                match self {
                    $(Feature::$variant => stringify!($field),)*
                }
            }
        }

        impl Features {
            /// Whether the version has `f`.
            pub fn has(&self, f: Feature) -> bool {
                match f {
                    $(Feature::$variant => self.$field,)*
                }
            }
        }
    };
}

features! {
    /// malloc.c calls its own `__ptmalloc_init` early (2.42 on).
    eager_init => EagerInit,
    /// `struct malloc_state` has fastbins (up to 2.42).
    fastbins => Fastbins,
    /// `free_sized` (and `free_aligned_sized`) are the version's API.
    free_sized => FreeSized,
    /// The malloc hooks are the version's API (up to 2.33).
    hooks => Hooks,
    /// The `glibc.malloc.hugetlb` tunable.
    hugepages => Hugepages,
    /// `mallinfo2` is the version's API.
    mallinfo2 => Mallinfo2,
    /// `MALLOC_CHECK_` is implemented inside malloc.c (up to 2.33).
    malloc_check_in_malloc => MallocCheckInMalloc,
    /// malloc.c itself calls `__morecore` (up to 2.33).
    morecore => Morecore,
    /// Safe-linking of the singly linked lists (`PROTECT_PTR`).
    safe_linking => SafeLinking,
    /// The per-thread cache.
    tcache => Tcache,
    /// tcache entries carry the double-free key.
    tcache_double_free_key => TcacheDoubleFreeKey,
    /// malloc reads tunables (`GLIBC_TUNABLES`). (Absent from manifests
    /// written before it was recorded: false.)
    #[serde(default)]
    tunables => Tunables,
}

impl Features {
    /// Every feature and whether the version has it, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (Feature, bool)> + '_ {
        Feature::ALL.iter().map(|&f| (f, self.has(f)))
    }

    /// The features the version has, in name order.
    pub fn enabled(&self) -> impl Iterator<Item = Feature> + '_ {
        self.iter().filter(|(_, on)| *on).map(|(f, _)| f)
    }
}

/// A name that is no [`Feature`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown feature '{name}' (known: {})", known())]
pub struct UnknownFeature {
    pub name: String,
}

fn known() -> String {
    Feature::ALL
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::str::FromStr for Feature {
    type Err = UnknownFeature;

    fn from_str(name: &str) -> Result<Feature, UnknownFeature> {
        Feature::ALL
            .iter()
            .copied()
            .find(|f| f.name() == name)
            .ok_or_else(|| UnknownFeature {
                name: name.to_owned(),
            })
    }
}

impl std::fmt::Display for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn serialized_as_the_sorted_map_it_was() {
        let f = Features {
            tcache: true,
            hooks: true,
            ..Features::default()
        };
        let map: BTreeMap<&str, bool> = f.iter().map(|(f, on)| (f.name(), on)).collect();
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        assert_eq!(
            serde_norway::to_string(&f).unwrap(),
            serde_norway::to_string(&map).unwrap()
        );
        let names: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn names_parse_strictly() {
        assert_eq!("tcache".parse::<Feature>(), Ok(Feature::Tcache));
        let e = "tcahe".parse::<Feature>().unwrap_err().to_string();
        assert!(
            e.starts_with("unknown feature 'tcahe' (known: eager_init, fastbins,"),
            "{e}"
        );
        let mut v = serde_json::to_value(Features::default()).unwrap();
        v["tcahe"] = true.into();
        assert!(serde_json::from_value::<Features>(v).is_err());
    }
}
