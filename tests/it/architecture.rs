//! The layering of `src/`, read from its `use` lines and paths, as a test: edges (`http`,
//! `cli`, `config`) → application services (`app`) → the log, read models, scans and keys →
//! the domain → utilities; `storage` implements the ports the owners declare and only the
//! wiring (`main`, `lib`, `server`) reaches it; no module imports a layer above its own, and
//! no import cycle exists between files. Only edges know axum, only storage writes SQL.
//!
//! Each file is a module; an import is an edge to the file that defines the module path it
//! names (`crate::log::event::StoredEvent` → `src/log/event.rs`; an item re-exported by a
//! `mod.rs` counts as that `mod.rs`). A failure names both files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, top to bottom. A file may import its own layer and those below, never above.
const LAYERS: &[(&str, &[&str])] = &[
    ("wiring", &["lib", "main", "server"]),
    ("edge", &["http", "cli", "config"]),
    ("application", &["app"]),
    (
        "model",
        &[
            "log",
            "projections",
            "scans",
            "sessions",
            "idempotency",
            "witnessing",
            "keys",
        ],
    ),
    ("domain", &["domain", "mark"]),
    ("utility", &["clock", "hex", "metrics", "threads"]),
];

/// Implements the owners' ports; imported by the wiring alone.
const STORAGE: &str = "storage";

/// External crates only one part of the crate may use, and who.
const CONFINED: &[(&str, &[&str])] = &[
    ("axum", &["http", "server"]),
    ("tower", &["http", "server"]),
    ("tower_http", &["http", "server"]),
    ("utoipa_axum", &["http"]),
    ("sqlx", &["storage"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, relative to it.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path.strip_prefix(src()).unwrap().to_owned());
        }
    }
}

/// The module path of a file: `app/registry/mod.rs` → `[app, registry]`.
fn module_of(file: &Path) -> Vec<String> {
    let mut parts: Vec<String> = file
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The file defining a module path, if it is one.
fn file_of(module: &[String]) -> Option<PathBuf> {
    if module.is_empty() {
        return Some("lib.rs".into());
    }
    let joined: PathBuf = module.iter().collect();
    let flat = joined.with_extension("rs");
    let nested = joined.join("mod.rs");
    [flat, nested].into_iter().find(|f| src().join(f).exists())
}

/// The text without comments and string or char literals, so neither is read as code.
fn code_of(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'r' if bytes.get(i + 1) == Some(&b'#') || bytes.get(i + 1) == Some(&b'"') => {
                // A raw string r"…" or r#"…"#, unless `r` ends an identifier.
                let ident = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
                let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
                if ident || bytes.get(i + 1 + hashes) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                i += 2 + hashes;
                while i < bytes.len() && !bytes[i..].starts_with(&close) {
                    i += 1;
                }
                i += close.len();
                out.push_str("\"\"");
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            b'\'' => {
                // A char literal ('a', '\n', '\u{1F600}'), or a lifetime ('a) left as it is.
                let end = if bytes.get(i + 1) == Some(&b'\\') {
                    bytes[i + 2..]
                        .iter()
                        .position(|&b| b == b'\'')
                        .map(|p| i + 2 + p)
                } else if bytes.get(i + 2) == Some(&b'\'') {
                    Some(i + 2)
                } else {
                    let ch = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (bytes.get(i + 1 + ch) == Some(&b'\'')).then_some(i + 1 + ch)
                };
                match end {
                    Some(end) => {
                        out.push_str("' '");
                        i = end + 1;
                    }
                    None => {
                        out.push('\'');
                        i += 1;
                    }
                }
            }
            _ => {
                let ch = text[i..].chars().next().unwrap();
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// The code with the relative paths inside `macro_rules!` bodies made unresolvable: a
/// `super::` there is relative to wherever the macro expands, not to the file that defines it
/// (its `$crate::` paths stay, as the real dependencies they are).
fn relative_in_macros(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("macro_rules!") {
        out.push_str(&rest[..at]);
        let body = &rest[at..];
        let open = body.find('{').unwrap_or(body.len());
        let mut depth = 0;
        let mut end = body.len();
        for (i, c) in body[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push_str(&body[..end].replace("super::", "expansion_site::"));
        rest = &body[end..];
    }
    out.push_str(rest);
    out
}

/// The paths a `use` tree names, flattened: `a::{b, c::{d}}` → `a::b`, `a::c::d`.
fn flatten(tree: &str) -> Vec<String> {
    // Drop renames (`log as sql_log`) first, then every space.
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "as" {
            // The alias may carry the separator after it: `as sql_log,` or `as x}`.
            let alias = words.get(i + 1).copied().unwrap_or("");
            kept.push(alias.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_'));
            i += 2;
        } else {
            kept.push(words[i]);
            i += 1;
        }
    }
    let tree: String = kept.concat();
    fn go(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let Some(open) = tree.find('{') else {
            out.push(format!("{prefix}{tree}"));
            return;
        };
        let head = &tree[..open];
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    go(&format!("{prefix}{head}"), &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        if start < inner.len() {
            go(&format!("{prefix}{head}"), &inner[start..], out);
        }
    }
    let mut out = Vec::new();
    go("", &tree, &mut out);
    out
}

/// Every path a file's code names that starts at `crate`, `super` or `self`, or with an
/// external crate's name, as segments.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    // `use` declarations, whole trees.
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        let after = &rest[at + 3..];
        let end = after.find(';').unwrap_or(after.len());
        for path in flatten(&after[..end]) {
            paths.push(path);
        }
        rest = &after[end..];
    }
    // Paths in code: `crate::x::y`, `super::x`.
    for start in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(start) {
            let ident_before = rest[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            let tail = &rest[at..];
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            let path = tail[..len].trim_end_matches(':');
            // `super::{a, b}` is a `use` tree, read whole above; a bare `super` names nothing.
            if !ident_before && path.contains("::") {
                paths.push(path.to_owned());
            }
            rest = &tail[len.max(1)..];
        }
    }
    paths
        .into_iter()
        .map(|p| {
            p.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

/// Paths in code that start with a bare name (`name::x`), not after `::` or inside another
/// word: candidates for paths relative to the current module.
fn relative_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while let Some(at) = code[i..].find("::").map(|p| p + i) {
        // Walk back over the identifier before `::`.
        let mut start = at;
        while start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            start -= 1;
        }
        let before = if start >= 2 {
            &code[start - 2..start]
        } else {
            ""
        };
        let first = &code[start..at];
        let after_ident = start == 0 || !(bytes[start - 1] == b'\'' || before == "::");
        if !first.is_empty() && after_ident && first.starts_with(|c: char| c.is_ascii_lowercase()) {
            let tail = &code[start..];
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            let path: Vec<String> = tail[..len]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if !["crate", "super", "self"].contains(&first) {
                out.push(path);
            }
        }
        i = at + 2;
    }
    // Relative `use` trees: `use limit::Client;`.
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        let after = &rest[at + 3..];
        let end = after.find(';').unwrap_or(after.len());
        for path in flatten(&after[..end]) {
            let segments: Vec<String> = path.split("::").map(str::to_owned).collect();
            if segments.len() > 1 {
                out.push(segments);
            }
        }
        rest = &after[end..];
    }
    out
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let at = from + at;
        let before = text[..at].chars().last();
        let after = text[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if boundary(before) && after.is_some_and(char::is_whitespace) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// The file a path leads to from `module`, if it names one of the crate's modules: the
/// deepest module file along it.
fn resolve(module: &[String], path: &[String]) -> Option<PathBuf> {
    let mut at: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("super") => {
            let mut m = module.to_vec();
            let mut p = path;
            while p.first().map(String::as_str) == Some("super") {
                m.pop();
                p = &p[1..];
            }
            return walk(m, p);
        }
        Some("self") => module.to_vec(),
        _ => return None,
    };
    at.truncate(at.len());
    walk(at, &path[1..])
}

fn walk(mut at: Vec<String>, rest: &[String]) -> Option<PathBuf> {
    for segment in rest {
        at.push(segment.clone());
        if file_of(&at).is_none() {
            at.pop();
            break;
        }
    }
    file_of(&at)
}

fn top(file: &Path) -> String {
    let first = file.iter().next().unwrap().to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

fn layer(file: &Path) -> Option<usize> {
    let top = top(file);
    LAYERS
        .iter()
        .position(|(_, members)| members.contains(&top.as_str()))
}

struct Crate {
    /// Imports between the crate's files.
    edges: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    /// External crates each file names.
    externals: BTreeMap<PathBuf, BTreeSet<String>>,
}

fn read_crate() -> Crate {
    let mut all = Vec::new();
    files(&src(), &mut all);
    all.sort();
    let mut edges = BTreeMap::new();
    let mut externals = BTreeMap::new();
    for file in &all {
        let code = relative_in_macros(&code_of(
            &std::fs::read_to_string(src().join(file)).unwrap(),
        ));
        // `#[cfg(test)]` modules sit at the end of a file; what they import is test support.
        let code = code.split("#[cfg(test)]").next().unwrap_or(&code);
        let module = if file == Path::new("main.rs") {
            Vec::new()
        } else {
            module_of(file)
        };
        let mut targets = BTreeSet::new();
        let mut named = BTreeSet::new();
        let mut paths = paths_in(code);
        // Relative paths into child modules (`auth::Principal`, `use limit::Client`): edges
        // like any other.
        paths.extend(
            relative_paths(code)
                .into_iter()
                .filter(|p| {
                    let mut child = module.clone();
                    child.push(p[0].clone());
                    file_of(&child).is_some()
                })
                .map(|p| std::iter::once("self".to_owned()).chain(p).collect()),
        );
        for path in paths {
            if let Some(target) = resolve(&module, &path) {
                if &target != file {
                    targets.insert(target);
                }
            } else if let Some(first) = path.first() {
                named.insert(first.clone());
            }
        }
        for (krate, _) in CONFINED {
            if code.contains(&format!("{krate}::")) {
                named.insert((*krate).to_owned());
            }
        }
        edges.insert(file.clone(), targets);
        externals.insert(file.clone(), named);
    }
    Crate { edges, externals }
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let krate = read_crate();
    let mut wrong = Vec::new();
    for (from, targets) in &krate.edges {
        let Some(own) = layer(from) else {
            if top(from) != STORAGE {
                wrong.push(format!(
                    "{}: in no layer; add its module to LAYERS",
                    from.display()
                ));
            }
            continue;
        };
        for to in targets {
            if top(to) == STORAGE {
                if LAYERS[own].0 != "wiring" {
                    wrong.push(format!(
                        "{} imports {}: only the wiring opens storage",
                        from.display(),
                        to.display()
                    ));
                }
                continue;
            }
            if let Some(theirs) = layer(to) {
                if theirs < own {
                    wrong.push(format!(
                        "{} ({}) imports {} ({}), a layer above it",
                        from.display(),
                        LAYERS[own].0,
                        to.display(),
                        LAYERS[theirs].0
                    ));
                }
            }
        }
    }
    for (from, targets) in &krate.edges {
        if top(from) != STORAGE {
            continue;
        }
        for to in targets {
            if layer(to).is_some_and(|l| {
                LAYERS[l].0 == "wiring" || LAYERS[l].0 == "edge" || LAYERS[l].0 == "application"
            }) {
                wrong.push(format!(
                    "{} (storage) imports {}: storage implements ports, it calls nothing above them",
                    from.display(),
                    to.display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn only_the_edges_know_axum_and_only_storage_writes_sql() {
    let krate = read_crate();
    let mut wrong = Vec::new();
    for (file, named) in &krate.externals {
        for (krate_name, allowed) in CONFINED {
            if named.contains(*krate_name) && !allowed.contains(&top(file).as_str()) {
                wrong.push(format!("{} uses {krate_name}", file.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "confined crates used elsewhere:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_import_cycle_between_files() {
    let krate = read_crate();
    // Tarjan's strongly connected components; any with two or more files is a cycle.
    struct Tarjan<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a Path, usize>,
        low: BTreeMap<&'a Path, usize>,
        stack: Vec<&'a Path>,
        on_stack: BTreeSet<&'a Path>,
        next: usize,
        cycles: Vec<Vec<&'a Path>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a Path) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                let w = w.as_path();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.cycles.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        edges: &krate.edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        cycles: Vec::new(),
    };
    for file in krate.edges.keys() {
        if !tarjan.index.contains_key(file.as_path()) {
            tarjan.visit(file);
        }
    }
    let described: Vec<String> = tarjan
        .cycles
        .iter()
        .map(|cycle| {
            let members: BTreeSet<&Path> = cycle.iter().copied().collect();
            // Name each import inside the cycle: both files of every edge.
            let mut lines = Vec::new();
            for from in &members {
                for to in &krate.edges[*from] {
                    if members.contains(to.as_path()) {
                        lines.push(format!("  {} imports {}", from.display(), to.display()));
                    }
                }
            }
            format!("a cycle of {} files:\n{}", members.len(), lines.join("\n"))
        })
        .collect();
    assert!(described.is_empty(), "{}", described.join("\n"));
}
