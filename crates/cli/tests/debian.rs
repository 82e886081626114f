//! Source acquisition from Debian's archive (through apt-get, into the
//! shared cache): the host's own glibc and a version only Debian's source
//! package carries. The system tier: it needs apt and the network the first
//! time (docs/testing.md).

mod common;

use std::time::Instant;

use source::fetch::{self, FetchError, FetchOptions};
use source::{self, Cache, Origin};

/// The host's own glibc from Debian's archive. Uses the shared default cache
/// so that only the first run on a machine downloads anything.
#[test]
fn debian_host_glibc() {
    let host = fetch::host_glibc().unwrap();
    let cache = Cache::default_location().unwrap();
    let opts = FetchOptions {
        debian: true,
        gnu: false,
        debian_version: host.debian_version.clone(),
        ..FetchOptions::default()
    };
    let started = Instant::now();
    let (src, opts) = match fetch::fetch(&host.version, &cache, &opts) {
        Ok(src) => (src, opts),
        // The archive keeps only the newest point release of each suite: a
        // host that has not upgraded yet gets the newest of its version.
        Err(FetchError::AllFailed { attempts, .. })
            if attempts
                .iter()
                .any(|(_, e)| matches!(e, FetchError::NotInDebian { .. })) =>
        {
            eprintln!("host's {:?} is gone from the archive", host.debian_version);
            let opts = FetchOptions {
                debian_version: None,
                ..opts
            };
            (fetch::fetch(&host.version, &cache, &opts).unwrap(), opts)
        }
        Err(e) => panic!("{e}"),
    };
    eprintln!("fetch {} took {:?}", host.version, started.elapsed());
    let want = opts.debian_version.as_deref();
    check_debian_source(&src, &host.version, want);

    // The same through apt directly (lists, .deb and tree are cached, so this
    // exercises the apt queries and the .deb extraction without downloads).
    let started = Instant::now();
    let direct = fetch::fetch_debian(&host.version, &cache, &opts).unwrap();
    eprintln!("fetch_debian {} took {:?}", host.version, started.elapsed());
    assert_eq!(direct, src);
}

fn check_debian_source(src: &source::GlibcSource, version: &str, debian_version: Option<&str>) {
    assert_eq!(src.version, version);
    assert!(src.root.join("malloc/malloc.c").is_file());
    let Origin::Debian {
        package,
        version: debver,
        file_name,
        sha256,
        tarball,
        tarball_sha256,
    } = &src.origin
    else {
        panic!("not from Debian: {:?}", src.origin)
    };
    if let Some(want) = debian_version {
        assert_eq!(debver, want);
    }
    assert_eq!(fetch::upstream_version(debver), version);
    let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    assert!(hex64(sha256) && hex64(tarball_sha256), "{:?}", src.origin);
    match package.as_str() {
        "glibc-source" => {
            assert_eq!(
                file_name,
                &format!("pool/main/g/glibc/glibc-source_{debver}_all.deb")
            );
            assert_eq!(tarball, &format!("glibc-{version}.tar.xz"));
            assert_ne!(sha256, tarball_sha256);
        }
        "glibc" => {
            assert_eq!(tarball, &format!("glibc_{version}.orig.tar.xz"));
            assert_eq!(file_name, &format!("pool/main/g/glibc/{tarball}"));
            assert_eq!(sha256, tarball_sha256);
        }
        other => panic!("unexpected package {other}"),
    }
}

/// A version that only Debian's source package carries: 2.42, at exactly
/// the Debian version its committed manifest pins (the same dependency on
/// Debian's archive as the manifest staleness test).
#[test]
fn debian_source_package_only_version() {
    let cache = Cache::default_location().unwrap();
    let pinned = manifest::Manifest::load(&common::pinned_path("2.42")).unwrap();
    let Origin::Debian { version, .. } = &pinned.source.origin else {
        panic!("the 2.42 manifest pins a Debian source package")
    };
    let opts = FetchOptions {
        gnu: false,
        debian_version: Some(version.clone()),
        ..FetchOptions::default()
    };
    let src = fetch::fetch_debian("2.42", &cache, &opts).unwrap();
    check_debian_source(&src, "2.42", None);
    let Origin::Debian { package, .. } = &src.origin else {
        unreachable!()
    };
    assert_eq!(package, "glibc");
}
