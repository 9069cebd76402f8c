//! The crate's modules form no import cycle: no module of `src/` imports one that imports it
//! back, directly or through others. Read from the sources' `crate::…` paths (outside tests), so
//! a new import that closes a loop fails here, naming the loop.

// Test code: a panic here is a failed test, not a failed login.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// `src/a/b.rs` → `a::b`; `src/a/mod.rs` → `a`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The longest known module that `path` (`a::b::Item`) names.
fn resolve(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|m| modules.contains(m))
}

fn imports(text: &str, module: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    // Only the code that ships (a unit test may reach anywhere), without comments (doc links are
    // not imports).
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let path: String = code[i + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        if let Some(m) = resolve(path.trim_end_matches(':'), modules) {
            found.insert(m);
        }
    }
    // `pub use child::…` in a parent module.
    for line in code.lines() {
        if let Some(rest) = line.trim().strip_prefix("pub use ") {
            let child = format!("{module}::{}", rest.split("::").next().unwrap());
            if modules.contains(&child) {
                found.insert(child);
            }
        }
    }
    found.remove(module);
    found
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(&src, f))
        .filter(|m| m != "lib")
        .collect();
    let graph: BTreeMap<String, BTreeSet<String>> = files
        .iter()
        .map(|f| (module_of(&src, f), fs::read_to_string(f).unwrap()))
        .filter(|(m, _)| m != "lib")
        .map(|(m, text)| {
            let edges = imports(&text, &m, &modules);
            (m, edges)
        })
        .collect();
    assert!(graph.len() >= 15, "the graph was not read: {graph:?}");
    assert!(graph["settings"].contains("settings::permit"), "{graph:?}");

    // Depth-first search; a module met again on the current path closes a cycle.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            panic!("import cycle: {}", cycle.join(" → "));
        }
        path.push(m.to_string());
        for next in &graph[m] {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(m.to_string());
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
}
