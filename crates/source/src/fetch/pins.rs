//! What the project pins: the sha256 of GNU's release tarballs it trusts,
//! and the fetch options that get exactly the source a manifest pins.

use manifest::Manifest;

use super::{fetch, FetchError, FetchOptions};
use crate::mirror::Pins;
use crate::tree::{Cache, GlibcSource, Origin};

/// sha256 of GNU's release tarballs `glibc-<version>.tar.xz`, as pinned by
/// the project. Not computed here (GNU's server cannot be reached from
/// where this was written): each value was read from public build recipes
/// (crosstool-ng's `packages/glibc/<version>/chksum`) and confirmed by at
/// least one other independent public recipe, none disagreeing.
#[rustfmt::skip]
const GNU_SHA256: &[(&str, &str)] = &[
    ("2.17", "6914e337401e0e0ade23694e1b2c52a5f09e4eda3270c67e7c3ba93a89b5b23e"),
    ("2.19", "2d3997f588401ea095a0b27227b1d50cdfdd416236f6567b564549d3b46ea2a2"),
    ("2.23", "94efeb00e4603c8546209cefb3e1a50a5315c86fa9b078b6fad758e187ce13e9"),
    ("2.24", "99d4a3e8efd144d71488e478f62587578c0f4e1fa0b4eed47ee3d4975ebeb5d3"),
    ("2.25", "067bd9bb3390e79aa45911537d13c3721f1d9d3769931a30c2681bfee66f23a0"),
    ("2.26", "e54e0a934cd2bc94429be79da5e9385898d2306b9eaf3c92d5a77af96190f6bd"),
    ("2.27", "5172de54318ec0b7f2735e5a91d908afe1c9ca291fec16b5374d9faadfc1fc72"),
    ("2.28", "b1900051afad76f7a4f73e71413df4826dce085ef8ddb785a945b66d7d513082"),
    ("2.29", "f3eeb8d57e25ca9fc13c2af3dae97754f9f643bc69229546828e3a240e2af04b"),
    ("2.30", "e2c4114e569afbe7edbc29131a43be833850ab9a459d81beb2588016d2bbb8af"),
    ("2.31", "9246fe44f68feeec8c666bb87973d590ce0137cca145df014c72ec95be9ffd17"),
    ("2.32", "1627ea54f5a1a8467032563393e0901077626dc66f37f10ee6363bb722222836"),
    ("2.33", "2e2556000e105dbd57f0b6b2a32ff2cf173bde4f0d85dffccfd8b7e51a0677ff"),
    ("2.34", "44d26a1fe20b8853a48f470ead01e4279e869ac149b195dda4e44a195d981ab2"),
    ("2.35", "5123732f6b67ccd319305efd399971d58592122bcc2a6518a1bd2510dd0cf52e"),
    ("2.36", "1c959fea240906226062cb4b1e7ebce71a9f0e3c0836c09e7e3423d434fcfe75"),
    ("2.37", "2257eff111a1815d74f46856daaf40b019c1e553156c69d48ba0cbfc1bb91a43"),
    ("2.38", "fb82998998b2b29965467bc1b69d152e9c307d2cf301c9eafb4555b770ef3fd2"),
    ("2.39", "f77bd47cf8170c57365ae7bf86696c118adb3b120d3259c64c502d3dc1e2d926"),
    ("2.40", "19a890175e9263d748f627993de6f4b1af9cd21e03f080e4bfb3a1fac10205a2"),
    ("2.41", "a5a26b22f545d6b7d7b3dd828e11e428f24f4fac43c934fb071b6a7d0828e901"),
    ("2.42", "d1775e32e4628e64ef930f435b67bb63af7599acb6be2b335b9f19f16509f17f"),
    ("2.43", "d9c86c6b5dbddb43a3e08270c5844fc5177d19442cf5b8df4be7c07cd5fa3831"),
    ("2.44", "37f600f2bef3c5e8300147059568b2a2e40a7ad6ccc65ce942556d49429cc667"),
];

/// The pinned sha256 of GNU's `glibc-<version>.tar.xz`, if the project pins one.
pub fn gnu_sha256(version: &str) -> Option<&'static str> {
    GNU_SHA256
        .iter()
        .find(|(v, _)| *v == version)
        .map(|(_, sha)| *sha)
}

/// The options that fetch exactly the source a manifest pins (its Debian
/// package version, or its GNU tarball by sha256), from `base` (which gives
/// the mirror, and may turn Debian or GNU off). The pins a mirror's tarball
/// is checked by are the manifest's own verbatim files, named
/// `"the glibc <version> manifest"`; a caller that knows the manifest's path
/// may name it instead by setting [`FetchOptions::pins`] to [`Pins::of`] it.
pub fn pinned_options(m: &Manifest, base: &FetchOptions) -> Result<FetchOptions, FetchError> {
    let mut opts = FetchOptions {
        pins: Some(Pins::of(m, format!("the glibc {} manifest", m.version))),
        ..base.clone()
    };
    match &m.source.origin {
        Origin::Debian { version, .. } => {
            opts.debian_version = Some(version.clone());
            opts.gnu = false;
        }
        Origin::Gnu { sha256, .. } => {
            opts.debian = false;
            opts.sha256 = Some(sha256.clone());
        }
        other => {
            return Err(FetchError::NotRefetchable {
                version: m.version.clone(),
                kind: match other {
                    Origin::Tree => "local tree",
                    Origin::Tarball { .. } => "local tarball",
                    _ => "git clone",
                }
                .into(),
            })
        }
    }
    Ok(opts)
}

/// Fetches exactly the source a manifest pins: [`fetch`] with
/// [`pinned_options`].
pub fn pinned_source(
    m: &Manifest,
    cache: &Cache,
    base: &FetchOptions,
) -> Result<GlibcSource, FetchError> {
    fetch(&m.version, cache, &pinned_options(m, base)?)
}
