//! Just enough GNU make to read a glibc version's `malloc/Makefile` (and the
//! parts of its `Rules` that name the test variants and their environments)
//! the way glibc's build does: variables of both flavours and `+=`,
//! conditionals, `define`, `$(call)`, `$(eval)`, `$(foreach)`, the text
//! functions, substitution references, target-specific variables, and the
//! prerequisites of explicit, pattern and static pattern rules. Recipes,
//! `include` of anything but `Rules`, and `$(shell)` are ignored: the test
//! lists, environments and flags never depend on them.

use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    Recursive,
    Simple,
}

#[derive(Clone, Debug)]
struct Var {
    value: String,
    flavor: Flavor,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Set,
    SetSimple,
    Append,
    SetIfUnset,
    Shell,
}

/// `targets: NAME op value`.
#[derive(Clone, Debug)]
struct TargetVar {
    targets: Vec<String>,
    name: String,
    op: Op,
    value: String,
}

/// A rule's targets (expanded) and prerequisites; `pattern` is the target
/// pattern of a static pattern rule (`targets: pattern: prerequisites`).
#[derive(Clone, Debug)]
pub struct Rule {
    pub targets: Vec<String>,
    pub pattern: Option<String>,
    pub prereqs: Vec<String>,
}

/// The state of a makefile after reading it.
#[derive(Default)]
pub struct Make {
    vars: HashMap<String, Var>,
    target_vars: Vec<TargetVar>,
    pub rules: Vec<Rule>,
    /// `$(1)`, `$(2)`... of the `$(call)`s being expanded.
    call_args: Vec<Vec<String>>,
    /// Texts read in place of an `include` whose file name ends with the
    /// key (`Rules`; `Makerules`, which glibc's Rules includes and which
    /// reads the Makefile of every sysdeps directory), each at most once.
    includes: Vec<(String, Vec<String>)>,
    /// Guards against runaway recursion in malformed input.
    depth: usize,
}

impl Make {
    /// A makefile evaluator with these variables already set (simply expanded).
    pub fn new(config: &[(&str, &str)]) -> Make {
        let mut m = Make::default();
        for (k, v) in config {
            m.set(k, v, Flavor::Simple);
        }
        m
    }

    /// Reads `texts` in place of the first `include` of a file whose name
    /// ends with `suffix`.
    pub fn with_include(mut self, suffix: &str, texts: Vec<String>) -> Make {
        self.includes.push((suffix.to_string(), texts));
        self
    }

    fn set(&mut self, name: &str, value: &str, flavor: Flavor) {
        self.vars.insert(
            name.to_string(),
            Var {
                value: value.to_string(),
                flavor,
            },
        );
    }

    /// The expanded value of a variable.
    pub fn var(&mut self, name: &str) -> String {
        self.lookup(name)
    }

    /// The words of a variable's expanded value.
    pub fn words(&mut self, name: &str) -> Vec<String> {
        words(&self.lookup(name))
    }

    /// The value of `name` for `target`: the global value with every
    /// target-specific assignment whose targets match `target` (exactly or
    /// as a `%` pattern) applied in order.
    pub fn target_var(&mut self, target: &str, name: &str) -> String {
        let mut value = self.lookup(name);
        let tvs: Vec<TargetVar> = self
            .target_vars
            .iter()
            .filter(|tv| {
                tv.name == name
                    && tv
                        .targets
                        .iter()
                        .any(|t| pattern_match(t, target).is_some())
            })
            .cloned()
            .collect();
        for tv in tvs {
            let v = self.expand(&tv.value);
            match tv.op {
                Op::Append => {
                    if !value.is_empty() && !v.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(&v);
                }
                Op::SetIfUnset if !value.is_empty() => {}
                Op::Shell => {}
                _ => value = v,
            }
        }
        value
    }

    fn lookup(&mut self, name: &str) -> String {
        if let Some(args) = self.call_args.last() {
            if let Ok(n) = name.parse::<usize>() {
                return args.get(n).cloned().unwrap_or_default();
            }
        }
        match self.vars.get(name).cloned() {
            Some(Var {
                value,
                flavor: Flavor::Recursive,
            }) => self.expand(&value),
            Some(Var { value, .. }) => value,
            None => String::new(),
        }
    }

    // ------------------------------------------------------------ reading

    /// Reads makefile text.
    pub fn read(&mut self, text: &str) {
        let lines = logical_lines(text);
        // The conditional stack: (this branch is taken, some branch was taken, the enclosing ones are taken).
        let mut conds: Vec<(bool, bool, bool)> = Vec::new();
        let active = |conds: &Vec<(bool, bool, bool)>| conds.last().is_none_or(|c| c.0 && c.2);
        let mut define: Option<(String, Op, Vec<String>, usize)> = None;
        let mut in_rule = false;
        for line in lines {
            if let Some((name, op, body, nest)) = define.as_mut() {
                let t = line.trim_start();
                if t.starts_with("endef") && t[5..].trim().is_empty() || t.starts_with("endef ") {
                    if *nest == 0 {
                        let (name, op, body) = (name.clone(), *op, body.join("\n"));
                        define = None;
                        if active(&conds) {
                            self.assign(&name, op, &body);
                        }
                        continue;
                    }
                    *nest -= 1;
                } else if t.starts_with("define ") || t == "define" {
                    *nest += 1;
                }
                body.push(line);
                continue;
            }
            if line.starts_with('\t') && in_rule {
                continue; // a recipe
            }
            let stripped = strip_comment(&line);
            let t = stripped.trim();
            if t.is_empty() {
                continue;
            }
            let (word, rest) = split_word(t);
            match word {
                "ifeq" | "ifneq" | "ifdef" | "ifndef" => {
                    let enclosing = active(&conds);
                    let v = enclosing && self.condition(word, rest);
                    conds.push((v, v, enclosing));
                    continue;
                }
                "else" => {
                    if let Some(top) = conds.last_mut() {
                        let (_, taken, enclosing) = *top;
                        let (w2, rest2) = split_word(rest);
                        let v = if matches!(w2, "ifeq" | "ifneq" | "ifdef" | "ifndef") {
                            !taken && enclosing && self.condition(w2, rest2)
                        } else {
                            !taken
                        };
                        *top = (v, taken || v, enclosing);
                    }
                    continue;
                }
                "endif" => {
                    conds.pop();
                    continue;
                }
                _ => {}
            }
            if word == "define" {
                let (name, op) = match rest.trim().rsplit_once(' ') {
                    Some((n, "=")) => (n.trim().to_string(), Op::Set),
                    Some((n, ":=" | "::=")) => (n.trim().to_string(), Op::SetSimple),
                    Some((n, "+=")) => (n.trim().to_string(), Op::Append),
                    Some((n, "?=")) => (n.trim().to_string(), Op::SetIfUnset),
                    _ => (rest.trim().to_string(), Op::Set),
                };
                define = Some((name, op, Vec::new(), 0));
                continue;
            }
            if !active(&conds) {
                continue;
            }
            in_rule = false;
            match word {
                "include" | "-include" | "sinclude" => {
                    let file = self.expand(rest);
                    let file = file.trim();
                    let found = self.includes.iter().position(|(suffix, _)| {
                        file.ends_with(&format!("/{suffix}")) || file == suffix
                    });
                    if let Some(i) = found {
                        let (_, texts) = self.includes.remove(i);
                        for t in texts {
                            self.read(&t);
                        }
                    }
                    continue;
                }
                "export" | "unexport" | "vpath" | "override" | "private" if !rest.contains('=') => {
                    continue;
                }
                "export" | "override" | "private" => {
                    self.statement(rest, &mut in_rule);
                    continue;
                }
                _ => {}
            }
            self.statement(t, &mut in_rule);
        }
    }

    fn condition(&mut self, word: &str, rest: &str) -> bool {
        match word {
            "ifdef" | "ifndef" => {
                let name = self.expand(rest.trim());
                let defined = !self.lookup(name.trim()).is_empty();
                defined == (word == "ifdef")
            }
            _ => {
                let rest = rest.trim();
                let (a, b) =
                    if let Some(inner) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
                        let parts = split_args(inner, 2);
                        (parts[0].clone(), parts.get(1).cloned().unwrap_or_default())
                    } else {
                        // "a" "b" or 'a' 'b'
                        let q: Vec<&str> = rest
                            .split(['"', '\''])
                            .enumerate()
                            .filter(|(i, _)| i % 2 == 1)
                            .map(|(_, s)| s)
                            .collect();
                        (
                            q.first().map(|s| s.to_string()).unwrap_or_default(),
                            q.get(1).map(|s| s.to_string()).unwrap_or_default(),
                        )
                    };
                let (a, b) = (self.expand(a.trim()), self.expand(b.trim()));
                (a == b) == (word == "ifeq")
            }
        }
    }

    /// An assignment, a rule, or a line that is only function calls.
    fn statement(&mut self, t: &str, in_rule: &mut bool) {
        match find_top(t, &[':', '=']) {
            Some((i, '=')) => {
                let (name, op) = op_before(t, i);
                let name = self.expand(name.trim());
                self.assign(name.trim(), op, t[i + 1..].trim_start());
            }
            Some((i, _)) if t[i + 1..].starts_with(":=") => {
                let name = self.expand(t[..i].trim());
                self.assign(name.trim(), Op::SetSimple, t[i + 3..].trim_start());
            }
            Some((i, _)) if t[i + 1..].starts_with('=') => {
                let name = self.expand(t[..i].trim());
                self.assign(name.trim(), Op::SetSimple, t[i + 2..].trim_start());
            }
            Some((i, _)) => {
                *in_rule = true;
                let targets = words(&self.expand(&t[..i]));
                let mut rest = &t[i + 1..];
                if let Some(r) = rest.strip_prefix(':') {
                    rest = r; // a double-colon rule
                }
                match find_top(rest, &[':', '=', ';']) {
                    Some((j, '=')) => {
                        let (name, op) = op_before(rest, j);
                        let name = self.expand(name.trim()).trim().to_string();
                        self.target_vars.push(TargetVar {
                            targets,
                            name,
                            op,
                            value: rest[j + 1..].trim().to_string(),
                        });
                    }
                    Some((j, ':')) if rest[j + 1..].starts_with('=') => {
                        let name = self.expand(rest[..j].trim()).trim().to_string();
                        let value = self.expand(rest[j + 2..].trim());
                        self.target_vars.push(TargetVar {
                            targets,
                            name,
                            op: Op::SetSimple,
                            value,
                        });
                    }
                    Some((j, ':')) => {
                        let pattern = self.expand(rest[..j].trim()).trim().to_string();
                        let pre = rest[j + 1..].split(';').next().unwrap_or("");
                        let prereqs = words(&self.expand(pre));
                        self.rules.push(Rule {
                            targets,
                            pattern: Some(pattern),
                            prereqs,
                        });
                    }
                    Some((j, _)) => {
                        let prereqs = words(&self.expand(&rest[..j]));
                        self.rules.push(Rule {
                            targets,
                            pattern: None,
                            prereqs,
                        });
                    }
                    None => {
                        let prereqs = words(&self.expand(rest));
                        self.rules.push(Rule {
                            targets,
                            pattern: None,
                            prereqs,
                        });
                    }
                }
            }
            None => {
                // `$(foreach ...)`/`$(eval ...)` lines: expanded for their effects.
                let _ = self.expand(t);
            }
        }
    }

    fn assign(&mut self, name: &str, op: Op, value: &str) {
        match op {
            Op::Set => self.set(name, value, Flavor::Recursive),
            Op::SetSimple => {
                let v = self.expand(value);
                self.set(name, &v, Flavor::Simple);
            }
            Op::SetIfUnset => {
                if !self.vars.contains_key(name) {
                    self.set(name, value, Flavor::Recursive);
                }
            }
            Op::Append => match self.vars.get(name).cloned() {
                Some(Var { value: old, flavor }) => {
                    let add = if flavor == Flavor::Simple {
                        self.expand(value)
                    } else {
                        value.to_string()
                    };
                    let new = if old.is_empty() {
                        add
                    } else if add.is_empty() {
                        old
                    } else {
                        format!("{old} {add}")
                    };
                    self.set(name, &new, flavor);
                }
                None => self.set(name, value, Flavor::Recursive),
            },
            Op::Shell => self.set(name, "", Flavor::Simple),
        }
    }

    // ------------------------------------------------------------ expansion

    /// Expands variable references and function calls in `s`.
    pub fn expand(&mut self, s: &str) -> String {
        if !s.contains('$') {
            return s.to_string();
        }
        self.depth += 1;
        if self.depth > 200 {
            self.depth -= 1;
            return String::new();
        }
        let b = s.as_bytes();
        let mut out = String::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'$' {
                let next = s[i..].find('$').map_or(s.len(), |n| i + n);
                out.push_str(&s[i..next]);
                i = next;
                continue;
            }
            match b.get(i + 1) {
                None => break,
                Some(b'$') => {
                    out.push('$');
                    i += 2;
                }
                Some(&open @ (b'(' | b'{')) => {
                    let close = if open == b'(' { b')' } else { b'}' };
                    let Some(end) = matching(b, i + 1, open, close) else {
                        out.push_str(&s[i..]);
                        break;
                    };
                    let inner = &s[i + 2..end];
                    let v = self.reference(inner);
                    out.push_str(&v);
                    i = end + 1;
                }
                Some(_) => {
                    let c = s[i + 1..].chars().next().unwrap();
                    let v = self.lookup(&c.to_string());
                    out.push_str(&v);
                    i += 1 + c.len_utf8();
                }
            }
        }
        self.depth -= 1;
        out
    }

    /// The text between `$(` and `)`.
    fn reference(&mut self, inner: &str) -> String {
        let (head, rest) = match inner.find([' ', '\t']) {
            Some(n) => (&inner[..n], inner[n + 1..].trim_start()),
            None => (inner, ""),
        };
        if !rest.is_empty() || head == "eval" {
            if let Some(v) = self.function(head, rest) {
                return v;
            }
        }
        // A variable, maybe with a substitution reference `name:a=b`.
        if let Some((colon, _)) = find_top(inner, &[':']) {
            if let Some((eq, _)) = find_top(&inner[colon..], &['=']) {
                let name = self.expand(&inner[..colon]);
                let from = self.expand(&inner[colon + 1..colon + eq]);
                let to = self.expand(&inner[colon + eq + 1..]);
                let value = self.lookup(name.trim());
                // `$(var:.c=.o)` is `$(var:%.c=%.o)`.
                let (from, to) = if from.contains('%') {
                    (from, to)
                } else {
                    (format!("%{from}"), format!("%{to}"))
                };
                return patsubst(&from, &to, &value);
            }
        }
        let name = self.expand(inner);
        self.lookup(name.trim())
    }

    fn function(&mut self, name: &str, args: &str) -> Option<String> {
        let arity = match name {
            "subst" | "patsubst" | "foreach" | "wordlist" => 3,
            "if" => 3,
            "findstring" | "filter" | "filter-out" | "addsuffix" | "addprefix" | "word"
            | "join" => 2,
            "strip" | "sort" | "words" | "firstword" | "lastword" | "dir" | "notdir" | "suffix"
            | "basename" | "eval" | "origin" | "value" | "shell" | "wildcard" | "error"
            | "warning" | "info" | "abspath" | "realpath" | "flavor" => 1,
            "call" | "or" | "and" => usize::MAX,
            _ => return None,
        };
        let raw = split_args(args, arity);
        let arg = |m: &mut Make, n: usize| raw.get(n).map(|a| m.expand(a)).unwrap_or_default();
        let v = match name {
            "subst" => {
                let (from, to, text) = (arg(self, 0), arg(self, 1), arg(self, 2));
                if from.is_empty() {
                    text
                } else {
                    text.replace(&from, &to)
                }
            }
            "patsubst" => {
                let (p, r, t) = (arg(self, 0), arg(self, 1), arg(self, 2));
                patsubst(p.trim(), r.trim(), &t)
            }
            "strip" => words(&arg(self, 0)).join(" "),
            "findstring" => {
                let (f, t) = (arg(self, 0), arg(self, 1));
                if t.contains(&f) {
                    f
                } else {
                    String::new()
                }
            }
            "filter" | "filter-out" => {
                let pats = words(&arg(self, 0));
                let keep = name == "filter";
                words(&arg(self, 1))
                    .into_iter()
                    .filter(|w| pats.iter().any(|p| pattern_match(p, w).is_some()) == keep)
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            "sort" => {
                let mut w = words(&arg(self, 0));
                w.sort();
                w.dedup();
                w.join(" ")
            }
            "words" => words(&arg(self, 0)).len().to_string(),
            "word" => {
                let n: usize = arg(self, 0).trim().parse().unwrap_or(0);
                words(&arg(self, 1))
                    .get(n.wrapping_sub(1))
                    .cloned()
                    .unwrap_or_default()
            }
            "wordlist" => {
                let s: usize = arg(self, 0).trim().parse().unwrap_or(1);
                let e: usize = arg(self, 1).trim().parse().unwrap_or(0);
                let w = words(&arg(self, 2));
                w.iter()
                    .enumerate()
                    .filter(|(i, _)| *i + 1 >= s && *i < e)
                    .map(|(_, w)| w.clone())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            "firstword" => words(&arg(self, 0)).first().cloned().unwrap_or_default(),
            "lastword" => words(&arg(self, 0)).last().cloned().unwrap_or_default(),
            "addsuffix" | "addprefix" => {
                let fix = arg(self, 0);
                words(&arg(self, 1))
                    .iter()
                    .map(|w| {
                        if name == "addsuffix" {
                            format!("{w}{fix}")
                        } else {
                            format!("{fix}{w}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            "join" => {
                let (a, b) = (words(&arg(self, 0)), words(&arg(self, 1)));
                (0..a.len().max(b.len()))
                    .map(|i| {
                        format!(
                            "{}{}",
                            a.get(i).map_or("", |s| s),
                            b.get(i).map_or("", |s| s)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            "dir" | "notdir" | "suffix" | "basename" => words(&arg(self, 0))
                .iter()
                .map(|w| {
                    let slash = w.rfind('/').map_or(0, |n| n + 1);
                    let dot = w[slash..].rfind('.').map(|n| slash + n);
                    match name {
                        "dir" if slash == 0 => "./".to_string(),
                        "dir" => w[..slash].to_string(),
                        "notdir" => w[slash..].to_string(),
                        "suffix" => dot.map(|d| w[d..].to_string()).unwrap_or_default(),
                        _ => dot.map(|d| w[..d].to_string()).unwrap_or_else(|| w.clone()),
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
            "if" => {
                if arg(self, 0).trim().is_empty() {
                    arg(self, 2)
                } else {
                    arg(self, 1)
                }
            }
            "or" => {
                let mut r = String::new();
                for n in 0..raw.len() {
                    let v = arg(self, n);
                    if !v.trim().is_empty() {
                        r = v;
                        break;
                    }
                }
                r
            }
            "and" => {
                let mut r = String::new();
                for n in 0..raw.len() {
                    r = arg(self, n);
                    if r.trim().is_empty() {
                        break;
                    }
                }
                r
            }
            "foreach" => {
                let var = arg(self, 0).trim().to_string();
                let list = words(&arg(self, 1));
                let body = raw.get(2).cloned().unwrap_or_default();
                let saved = self.vars.get(&var).cloned();
                let mut out = Vec::new();
                for w in list {
                    self.set(&var, &w, Flavor::Simple);
                    out.push(self.expand(&body));
                }
                match saved {
                    Some(v) => {
                        self.vars.insert(var, v);
                    }
                    None => {
                        self.vars.remove(&var);
                    }
                }
                out.join(" ")
            }
            "call" => {
                let fname = arg(self, 0).trim().to_string();
                let mut args = vec![fname.clone()];
                for n in 1..raw.len() {
                    args.push(arg(self, n));
                }
                let body = self
                    .vars
                    .get(&fname)
                    .map(|v| v.value.clone())
                    .unwrap_or_default();
                self.call_args.push(args);
                let v = self.expand(&body);
                self.call_args.pop();
                v
            }
            "eval" => {
                let text = arg(self, 0);
                let saved = std::mem::take(&mut self.call_args);
                self.read(&text);
                self.call_args = saved;
                String::new()
            }
            "origin" => {
                let n = arg(self, 0);
                if self.vars.contains_key(n.trim()) {
                    "file".to_string()
                } else {
                    "undefined".to_string()
                }
            }
            "flavor" => {
                let n = arg(self, 0);
                match self.vars.get(n.trim()).map(|v| v.flavor) {
                    Some(Flavor::Simple) => "simple".to_string(),
                    Some(Flavor::Recursive) => "recursive".to_string(),
                    None => "undefined".to_string(),
                }
            }
            "value" => {
                let n = arg(self, 0);
                self.vars
                    .get(n.trim())
                    .map(|v| v.value.clone())
                    .unwrap_or_default()
            }
            _ => String::new(), // shell, wildcard, error, warning, info, abspath, realpath
        };
        Some(v)
    }
}

// ------------------------------------------------------------ text helpers

/// Whitespace-separated words.
pub fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// The stem if `word` matches the make pattern `pat` (`%` matches any
/// string; without `%` only `pat` itself matches).
pub fn pattern_match<'a>(pat: &str, word: &'a str) -> Option<&'a str> {
    match pat.split_once('%') {
        Some((pre, suf)) => {
            if word.len() >= pre.len() + suf.len() && word.starts_with(pre) && word.ends_with(suf) {
                Some(&word[pre.len()..word.len() - suf.len()])
            } else {
                None
            }
        }
        None => (pat == word).then_some(""),
    }
}

fn patsubst(pat: &str, repl: &str, text: &str) -> String {
    words(text)
        .iter()
        .map(|w| match pattern_match(pat, w) {
            Some(stem) if pat.contains('%') => repl.replacen('%', stem, 1),
            Some(_) => repl.to_string(),
            None => w.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Physical lines joined at backslash-newline (outside `define` bodies,
/// which keep their lines).
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    let mut in_define = 0usize;
    for line in text.lines() {
        let t = line.trim_start();
        if cur.is_none() && in_define > 0 {
            if t.starts_with("endef") {
                in_define -= 1;
            } else if t.starts_with("define ") {
                in_define += 1;
            }
            out.push(line.to_string());
            continue;
        }
        let (body, continues) = match line.strip_suffix('\\') {
            Some(b) if !b.ends_with('\\') => (b, true),
            _ => (line, false),
        };
        // Backslash-newline and the whitespace around it become one space.
        let body = if continues { body.trim_end() } else { body };
        let joined = match cur.take() {
            Some(mut c) => {
                c.push(' ');
                c.push_str(body.trim_start());
                c
            }
            None => body.to_string(),
        };
        if continues {
            cur = Some(joined);
        } else {
            if joined.trim_start().starts_with("define ") {
                in_define += 1;
            }
            out.push(joined);
        }
    }
    if let Some(c) = cur {
        out.push(c);
    }
    out
}

fn strip_comment(line: &str) -> String {
    let mut out = String::new();
    let mut prev = '\0';
    for c in line.chars() {
        if c == '#' && prev != '\\' {
            break;
        }
        out.push(c);
        prev = c;
    }
    out
}

fn split_word(t: &str) -> (&str, &str) {
    match t.find([' ', '\t']) {
        Some(n) => (&t[..n], t[n + 1..].trim_start()),
        None => (t, ""),
    }
}

/// The index of the parenthesis that closes the one at `open_at`.
fn matching(b: &[u8], open_at: usize, open: u8, close: u8) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &c) in b.iter().enumerate().skip(open_at) {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// The first of `chars` outside `$(...)`/`${...}`, with its index.
fn find_top(s: &str, chars: &[char]) -> Option<(usize, char)> {
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '(' | '{' => depth += 1,
            ')' | '}' => depth -= 1,
            _ if depth == 0 && chars.contains(&c) => return Some((i, c)),
            _ => {}
        }
    }
    None
}

/// The variable name and operator of an assignment whose `=` is at `eq`.
fn op_before(t: &str, eq: usize) -> (&str, Op) {
    let lhs = &t[..eq];
    if let Some(n) = lhs.strip_suffix("::") {
        (n, Op::SetSimple)
    } else if let Some(n) = lhs.strip_suffix(':') {
        (n, Op::SetSimple)
    } else if let Some(n) = lhs.strip_suffix('+') {
        (n, Op::Append)
    } else if let Some(n) = lhs.strip_suffix('?') {
        (n, Op::SetIfUnset)
    } else if let Some(n) = lhs.strip_suffix('!') {
        (n, Op::Shell)
    } else {
        (lhs, Op::Set)
    }
}

/// Function arguments split at top-level commas, at most `max` of them
/// (the last takes the rest, commas included).
fn split_args(s: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' | '{' => depth += 1,
            ')' | '}' => depth -= 1,
            ',' if depth == 0 && out.len() + 1 < max => {
                out.push(s[start..i].to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_conditionals_and_functions() {
        let mut m = Make::new(&[("build-shared", "yes"), ("objpfx", "/o/")]);
        m.read(
            "tests := a b \\\n\tc-static \\\n# tests\n\
             tests-static := c-static\n\
             ifeq ($(build-shared),yes)\ntests += d\nelse\ntests += never\nendif\n\
             ifneq (no,$(have-x))\ntests += e\nendif\n\
             late = $(filter-out $(tests-static),$(tests))\n\
             tests += f\n\
             $(tests:%=$(objpfx)%.o): CPPFLAGS += -DTEST_NO_MALLOPT\n\
             $(objpfx)%-thr.o: CPPFLAGS += -DTHR\n\
             $(objpfx)%-thr.o: %.c $(before)\n\
             \trecipe line: not=a var\n\
             a-ENV = X=1 \\\n  Y=$(objpfx)y.so\n",
        );
        assert_eq!(m.var("tests"), "a b c-static d e f");
        assert_eq!(m.var("late"), "a b d e f");
        assert_eq!(m.target_var("/o/a.o", "CPPFLAGS"), "-DTEST_NO_MALLOPT");
        assert_eq!(m.target_var("/o/zz-thr.o", "CPPFLAGS"), "-DTHR");
        assert_eq!(m.var("a-ENV"), "X=1 Y=/o/y.so");
        assert!(m.var("not").is_empty());
        assert_eq!(m.rules.len(), 1);
        assert_eq!(m.rules[0].prereqs, vec!["%.c"]);
    }

    #[test]
    fn define_call_eval_foreach_and_static_patterns() {
        let rules = "define v-ENVS\n$(1)-v-ENV = M=3 \\\n\tP=$(objpfx)/d.so\nendef\n\
                     $(foreach t,$(tests-v),$(eval $(call v-ENVS,$(t))))\n\
                     tests-expected = $(tests) $(tests-v:%=%-v)\n\
                     $(addprefix $(objpfx),$(tests-v:%=%-v)): %-v: %.o $(x)\n";
        let mut m = Make::new(&[("objpfx", "/o/")]).with_include("Rules", vec![rules.to_string()]);
        m.read("tests = a b\ntests-v = $(filter-out b,$(tests))\ninclude ../Rules\n");
        assert_eq!(m.var("tests-expected"), "a b a-v");
        assert_eq!(m.var("a-v-ENV"), "M=3 P=/o//d.so");
        let r = m.rules.iter().find(|r| r.pattern.is_some()).unwrap();
        assert_eq!(r.targets, vec!["/o/a-v"]);
        assert_eq!(r.pattern.as_deref(), Some("%-v"));
        assert_eq!(r.prereqs, vec!["%.o"]);
    }
}
