//! deb822, the paragraph format of apt's `.sources` files and of what
//! `apt-cache show`/`showsrc` print: `Name: value` fields, continuation
//! lines indented, paragraphs separated by blank lines.

/// One deb822 paragraph: field name -> value (continuation lines joined with `\n`).
pub(super) type Paragraph = Vec<(String, String)>;

/// The paragraphs of `text`; `#` comment lines are skipped.
pub(super) fn parse_deb822(text: &str) -> Vec<Paragraph> {
    let mut paragraphs = Vec::new();
    let mut current: Paragraph = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
        } else if line.starts_with('#') {
            continue;
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            current.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs
}

/// The value of field `name` (matched case-insensitively), if present.
pub(super) fn field<'a>(paragraph: &'a Paragraph, name: &str) -> Option<&'a str> {
    paragraph
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb822_continuations() {
        let p = parse_deb822("A: 1\nB:\n x y\n z\n\n# c\nA: 2\n");
        assert_eq!(p.len(), 2);
        assert_eq!(field(&p[0], "b"), Some("\nx y\nz"));
        assert_eq!(field(&p[1], "A"), Some("2"));
    }
}
