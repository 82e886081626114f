//! Debian version strings (`[epoch:]upstream[-revision]`): their upstream
//! part, and dpkg's order.

use std::cmp::Ordering;

/// The upstream part of a Debian version: `"1:2.36-9+deb12u14"` -> `"2.36"`.
pub fn upstream_version(debian_version: &str) -> &str {
    let (_, rest) = split_epoch(debian_version);
    rest.rsplit_once('-').map_or(rest, |(upstream, _)| upstream)
}

fn split_epoch(v: &str) -> (u64, &str) {
    match v.split_once(':') {
        Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => {
            (epoch.parse().unwrap_or(0), rest)
        }
        _ => (0, v),
    }
}

/// Orders Debian versions as dpkg does (epoch, then upstream, then revision,
/// with `~` sorting before everything, even the end of the string).
///
/// Not the `debversion` crate's order: where one version has a number and
/// the other has none at that place, dpkg reads the missing number as 0
/// (`5.0.1~ds-2` equals `5.0.1~ds0-2`), and `debversion` 0.5 sorts the
/// missing one first. Compared with `dpkg --compare-versions` on pairs of
/// versions from Debian's package lists, this function agrees on every one.
pub fn compare_debian_versions(a: &str, b: &str) -> Ordering {
    let (ea, ra) = split_epoch(a);
    let (eb, rb) = split_epoch(b);
    let (ua, va) = ra.rsplit_once('-').unwrap_or((ra, ""));
    let (ub, vb) = rb.rsplit_once('-').unwrap_or((rb, ""));
    ea.cmp(&eb)
        .then_with(|| dpkg_verrevcmp(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| dpkg_verrevcmp(va.as_bytes(), vb.as_bytes()))
}

fn dpkg_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(b'~') => -1,
        Some(c) => c as i32 + 256,
    }
}

/// dpkg's `verrevcmp`: alternating runs of non-digits (compared by
/// [`dpkg_order`]) and digits (compared numerically).
fn dpkg_verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(|c| c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (dpkg_order(a.get(i).copied()), dpkg_order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_version_order() {
        let lt = |a, b| compare_debian_versions(a, b) == Ordering::Less;
        assert!(lt("2.36-9+deb12u13", "2.36-9+deb12u14"));
        assert!(lt("2.36-9", "2.36-9+deb12u1"));
        assert!(lt("2.42~rc1-1", "2.42-1"));
        assert!(lt("2.42-9", "2.42-13"));
        assert!(lt("2.9-1", "2.10-1"));
        assert!(lt("9:2.0-1", "10:1.0-1"));
        assert!(lt("2.43-7", "1:2.0-1"));
        assert_eq!(
            compare_debian_versions("2.36-09", "2.36-9"),
            Ordering::Equal
        );
    }

    /// A number that is missing counts as 0, as in dpkg.
    #[test]
    fn missing_number_is_zero() {
        assert_eq!(
            compare_debian_versions("5.0.1~ds-2", "5.0.1~ds0-2"),
            Ordering::Equal
        );
        assert_eq!(
            compare_debian_versions("0.17+ds-3+b1", "0.17+ds0-1"),
            Ordering::Greater
        );
        assert_eq!(compare_debian_versions("1.0", "1.0.0"), Ordering::Less);
    }

    #[test]
    fn upstream_of_debian_version() {
        assert_eq!(upstream_version("2.36-9+deb12u14"), "2.36");
        assert_eq!(upstream_version("1:2.42-1-2"), "2.42-1");
        assert_eq!(upstream_version("2.43"), "2.43");
    }
}
