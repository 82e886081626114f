//! Bounds on a manifest's text, checked before the YAML parser sees it.
//!
//! The biggest manifest (a JSON twin) is about 100 KB and nests 6 levels
//! deep. The YAML parser's time grows with the square of the flow nesting
//! (`[[[...]]]` 50,000 deep took a minute), and with the length otherwise
//! (about 2 s for 4 MiB of one-character items, 8 s for 16 MiB). So a
//! manifest over [`MAX_BYTES`] is refused before it is read whole, and one
//! nesting deeper than [`MAX_DEPTH`] before it is parsed.

/// The largest manifest read, in bytes (4 MiB: 40 times the largest).
pub const MAX_BYTES: u64 = 4 << 20;

/// The deepest nesting a manifest may have.
pub const MAX_DEPTH: usize = 64;

/// Whether YAML (or JSON) `text` may nest deeper than `limit`: an upper
/// bound of the nesting of flow collections (`[`, `{`) the YAML parser
/// (libyaml's scanner) reaches, in one linear pass, and an estimate of the
/// block nesting (indentation, `- - -`), which costs the parser only its
/// length and which the deserializer stops at 128 levels anyway.
///
/// The scan follows the scanner's tokens as far as manifests use YAML:
/// block and flow collections, plain and quoted scalars on one line,
/// comments. It never counts less flow nesting than the parser does: at
/// anything else (block scalars, anchors, aliases, tags, directives,
/// document markers, quoted scalars spanning lines, plain scalars continued
/// on the next line, Unicode line breaks), it stops telling brackets in
/// strings from brackets that nest, and counts every `[` and `{` from there
/// on as an opening and no `]` or `}` as a closing.
pub fn too_deep(text: &str, limit: usize) -> bool {
    let b = text.as_bytes();
    // Line breaks only libyaml knows (NEL, LS, PS), or a CR that is not
    // part of CRLF: no line-based reading is sure.
    let lone_cr = b
        .iter()
        .enumerate()
        .any(|(i, &c)| c == b'\r' && b.get(i + 1) != Some(&b'\n'));
    if lone_cr || text.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        return monotone(b, 0, 0, limit);
    }
    Scan {
        b,
        limit,
        i: 0,
        line: 0,
        depth: 0,
        owner: None,
        scalar: None,
        pending: None,
        indents: Vec::new(),
        entries: 0,
    }
    .run()
}

/// From `i` on, every `[` and `{` opens and nothing closes.
fn monotone(b: &[u8], i: usize, depth: usize, limit: usize) -> bool {
    let mut d = depth;
    for &c in &b[i..] {
        if c == b'[' || c == b'{' {
            d += 1;
            if d > limit {
                return true;
            }
        }
    }
    d > limit
}

struct Scan<'a> {
    b: &'a [u8],
    limit: usize,
    /// The position.
    i: usize,
    /// Where the current line starts.
    line: usize,
    /// The flow level (0: block context).
    depth: usize,
    /// Block context: the column of the innermost collection this line
    /// opened or continued (a `- ` or `? ` indicator, a key): a plain
    /// scalar running to the end of the line continues on the next line
    /// if that is indented further.
    owner: Option<usize>,
    /// The column of the last scalar (the key, when a `:` follows).
    scalar: Option<usize>,
    /// A block plain scalar ran to the end of its line: the owner's column.
    pending: Option<usize>,
    /// Block context: the indentation of the enclosing lines, increasing.
    indents: Vec<usize>,
    /// Block context: the `- ` and `? ` indicators on this line.
    entries: usize,
}

enum Step {
    Go,
    /// Exceeds the limit, or may: stop.
    Deep,
    /// Nothing deeper than the limit.
    Done,
}

impl Scan<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn blankz(&self, i: usize) -> bool {
        matches!(self.at(i), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
    }

    fn col(&self, i: usize) -> usize {
        i - self.line
    }

    /// Gives up exactness from here on.
    fn monotone(&self) -> Step {
        if monotone(self.b, self.i, self.depth, self.limit) {
            Step::Deep
        } else {
            Step::Done
        }
    }

    fn run(mut self) -> bool {
        let mut line_start = true;
        loop {
            let step = if self.i >= self.b.len() {
                Step::Done
            } else if line_start {
                line_start = false;
                self.line_start()
            } else {
                self.token(&mut line_start)
            };
            match step {
                Step::Go => {}
                Step::Deep => return true,
                Step::Done => return false,
            }
        }
    }

    /// At the start of a line: its indentation, comments, continuations.
    fn line_start(&mut self) -> Step {
        self.line = self.i;
        let mut j = self.i;
        while matches!(self.at(j), Some(b' ' | b'\t' | b'\r')) {
            j += 1;
        }
        match self.at(j) {
            // Blank lines and comment lines neither continue nor end anything.
            None | Some(b'\n') | Some(b'#') => {
                self.i = j;
                return Step::Go;
            }
            _ => {}
        }
        let indent = j - self.i;
        if let Some(owner) = self.pending.take() {
            if indent > owner {
                return self.monotone();
            }
        }
        let rest = &self.b[j..];
        let marker = (rest.starts_with(b"---") || rest.starts_with(b"...")) && self.blankz(j + 3);
        if indent == 0 && (marker || rest[0] == b'%') {
            return self.monotone();
        }
        self.owner = None;
        self.scalar = None;
        self.entries = 0;
        if self.depth == 0 {
            while self.indents.last().is_some_and(|&top| top > indent) {
                self.indents.pop();
            }
            if self.indents.last() != Some(&indent) {
                self.indents.push(indent);
            }
            if self.indents.len() > self.limit {
                return Step::Deep;
            }
        }
        self.i = j;
        Step::Go
    }

    /// A `- ` or `? ` in block context: one more level on this line.
    fn entry(&mut self, i: usize) -> Step {
        self.owner = Some(self.col(i));
        self.i += 1;
        if self.depth == 0 {
            self.entries += 1;
            if self.indents.len() + self.entries > self.limit {
                return Step::Deep;
            }
        }
        Step::Go
    }

    /// At a token's start (after blanks): one token.
    fn token(&mut self, line_start: &mut bool) -> Step {
        let i = self.i;
        let c = self.b[i];
        let flow = self.depth > 0;
        match c {
            b' ' | b'\t' | b'\r' => self.i += 1,
            b'\n' => {
                self.i += 1;
                *line_start = true;
            }
            b'#' => {
                while !matches!(self.at(self.i), None | Some(b'\n')) {
                    self.i += 1;
                }
            }
            b'[' | b'{' => {
                self.depth += 1;
                self.i += 1;
                if self.depth > self.limit {
                    return Step::Deep;
                }
            }
            b']' | b'}' => {
                self.depth = self.depth.saturating_sub(1);
                self.i += 1;
            }
            b',' => self.i += 1,
            b'-' if self.blankz(i + 1) => return self.entry(i),
            b'?' if flow || self.blankz(i + 1) => return self.entry(i),
            b':' if flow || self.blankz(i + 1) => {
                if self.scalar.is_some() {
                    self.owner = self.scalar;
                }
                self.i += 1;
            }
            b'\'' | b'"' => {
                self.scalar = Some(self.col(i));
                let mut j = i + 1;
                loop {
                    match self.at(j) {
                        None | Some(b'\n') => return self.monotone(),
                        Some(b'\\') if c == b'"' => j += 2,
                        Some(b'\'') if c == b'\'' && self.at(j + 1) == Some(b'\'') => j += 2,
                        Some(q) if q == c => break,
                        Some(_) => j += 1,
                    }
                }
                self.i = j + 1;
            }
            b'!' | b'&' | b'*' | b'%' | b'@' | b'`' | b'|' | b'>' => return self.monotone(),
            _ => return self.plain(),
        }
        Step::Go
    }

    /// A plain scalar: up to what ends it, which the next token reads.
    fn plain(&mut self) -> Step {
        self.scalar = Some(self.col(self.i));
        loop {
            let i = self.i;
            let Some(c) = self.at(i) else {
                return Step::Go;
            };
            if self.depth > 0 {
                if matches!(c, b',' | b'[' | b']' | b'{' | b'}') {
                    return Step::Go;
                }
                if c == b':'
                    && (self.blankz(i + 1)
                        || matches!(
                            self.at(i + 1),
                            Some(b',' | b'?' | b'[' | b']' | b'{' | b'}')
                        ))
                {
                    return Step::Go;
                }
            } else if c == b':' && self.blankz(i + 1) {
                return Step::Go;
            }
            if c == b'#' && i > 0 && matches!(self.b[i - 1], b' ' | b'\t' | b'\r' | b'\n') {
                return Step::Go;
            }
            if c == b'\n' {
                if self.depth == 0 {
                    // May continue on the next line: line_start decides.
                    match self.owner {
                        Some(o) => self.pending = Some(o),
                        None => return self.monotone(),
                    }
                    return Step::Go;
                }
                // In flow context the scalar continues on the next line,
                // unless a comment or a document marker comes first.
                self.i += 1;
                self.line = self.i;
                let mut j = self.i;
                while matches!(self.at(j), Some(b' ' | b'\t' | b'\r')) {
                    j += 1;
                }
                let rest = &self.b[j..];
                if j == self.i
                    && (rest.starts_with(b"---") || rest.starts_with(b"..."))
                    && self.blankz(j + 3)
                {
                    return self.monotone();
                }
                self.i = j;
                if self.at(j) == Some(b'#') {
                    return Step::Go;
                }
                continue;
            }
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(text: &str) -> usize {
        (0..=100).find(|&l| !too_deep(text, l)).expect("shallow")
    }

    #[test]
    fn counts_the_nesting_the_parser_sees() {
        assert_eq!(depth("a: 1\nb: [1, [2, {c: d}]]\n"), 3);
        assert_eq!(depth("{\"a\": [\"]]]\", \"[[[\", {\"b\": \"\\\"]\"}]}"), 3);
        assert_eq!(depth("a: '[[['\nb: \"]]]\"\n# [[[[\nc: x[y] # ]]]\n"), 1);
        assert_eq!(depth("- - [a]\n- it's [b\n"), 3);
        assert_eq!(depth("a: [b: [c, 'd''[', \"e\\\"[\"]]\n"), 2);
    }

    #[test]
    fn brackets_in_strings_never_hide_nesting() {
        // Closing brackets inside strings do not close.
        assert!(too_deep(&"[ \"]\" ".repeat(70), 64));
        // A quote the parser reads as part of a plain scalar does not open a string.
        assert!(too_deep(&format!("[a '{}", "[".repeat(70)), 64));
        assert!(too_deep(&format!("[a:'{}", "[".repeat(70)), 64));
        // A plain scalar continued on the next line, then a quote.
        let cont = format!("key: a\n 'x\nother: {}\n", "[".repeat(70));
        assert!(too_deep(&cont, 64));
        // A quoted scalar spanning lines.
        let multi = format!("a: [\"x\n{}\"{}\n", "]".repeat(70), "[".repeat(70));
        assert!(too_deep(&multi, 64));
        // Unicode line breaks end comments for the parser.
        assert!(too_deep(&format!("# x\u{2028}{}", "[".repeat(70)), 64));
    }

    #[test]
    fn block_nesting_counts_too() {
        // Four levels; the estimate counts the indented `- ` twice.
        assert_eq!(depth("a:\n  b:\n    - - c\n    - d\ne: f\n"), 5);
        assert!(too_deep(&format!("{}x\n", "- ".repeat(100)), 64));
        let stairs: String = (0..100).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        assert!(too_deep(&stairs, 64));
    }

    #[test]
    fn the_committed_manifests_are_shallow() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nix/manifests");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!too_deep(&text, 8), "{}", path.display());
            n += 1;
        }
        assert!(n > 0);
    }

    #[test]
    fn a_hundred_thousand_levels_are_refused_at_once() {
        let deep = format!("version: {}1{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let start = std::time::Instant::now();
        assert!(too_deep(&deep, MAX_DEPTH));
        let took = start.elapsed();
        assert!(took.as_millis() < 500, "{took:?}");
    }
}
