//! The committed manifests (`nix/manifests/`), read without resolving or
//! fetching anything: the tests' list of versions is all of them, each
//! parses, records the host it was resolved on, and its JSON twin carries
//! exactly its data. (Whether they are
//! fresh, which takes every version's source: the system tier's
//! `resolve.rs`.)

mod common;

use common::*;
use manifest::Manifest;

/// The tests' list of versions is the committed manifests, all of them.
#[test]
fn every_committed_manifest_is_tested() {
    let committed: Vec<String> = manifest::committed(&project())
        .unwrap()
        .into_iter()
        .map(|(version, _)| version)
        .collect();
    assert_eq!(
        committed, VERSIONS,
        "crates/cli/tests/common/mod.rs's with_versions! must list every nix/manifests/glibc-*.yaml"
    );
}

#[test]
fn each_parses_and_its_json_twin_has_the_same_data() {
    for (version, yaml) in manifest::committed(&project()).unwrap() {
        let m = Manifest::load(&yaml).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.version, version, "{}", yaml.display());
        assert_eq!(yaml, pinned_path(&version));
        assert!(
            m.host.is_some(),
            "{} does not record the host it was resolved on: re-resolve it \
             (cargo run -p resolver -- resolve --pinned)",
            yaml.display()
        );
        let json = yaml.with_extension("json");
        let twin = Manifest::load(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(twin, m, "{} and {}", yaml.display(), json.display());
        // Each is the other's serialisation, byte for byte.
        assert_eq!(std::fs::read_to_string(&yaml).unwrap(), m.to_yaml());
        assert_eq!(std::fs::read_to_string(&json).unwrap(), m.to_json());
    }
}
