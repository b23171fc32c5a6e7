//! The modules of `feedback-core` form layers: no module reaches, through its `use` declarations
//! and paths, a module that reaches back to it.
//!
//! The test reads every file under `src`, strips comments, literals and `#[cfg(test)]` items, and
//! collects the paths that name a module of the crate: `crate::…`, `super::…`, `self::…` and paths
//! that start with a child module. A path through a re-export (`crate::CounterStore`,
//! `crate::ports::CounterStore`) counts as a dependency on the module that defines the item. A
//! `pub use` whose names the module itself never mentions is a pure re-export: it keeps old paths
//! working and is not a dependency of the re-exporting module.
//!
//! Two graphs must be acyclic: the top-level modules (a module tree counts as one node), and
//! inside each module tree, its direct children (edges between a tree's facade and its own
//! children do not count).

mod sources;

use sources::rust_files;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

type ModPath = Vec<String>;

struct File {
    module: ModPath,
    /// Code without comments, literals and test items, as tokens.
    tokens: Vec<String>,
}

/// `lib.rs` is the root; `a.rs` and `a/mod.rs` are `a`; `a/b.rs` is `a::b`.
fn module_path(relative: &Path) -> ModPath {
    let mut parts: ModPath = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_owned();
        if stem != "mod" && stem != "lib" {
            parts.push(stem);
        }
    }
    parts
}

/// The source with comments, string and char literals blanked out.
fn strip_comments_and_literals(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = at(i);
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && at(i) != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if i >= chars.len() {
                    break;
                }
                if at(i) == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if at(i) == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (at(i + 1) == '"' || (at(i + 1) == '#' && (at(i + 2) == '"' || at(i + 2) == '#')))
            && !at(i.wrapping_sub(1)).is_alphanumeric()
            && at(i.wrapping_sub(1)) != '_'
        {
            let mut hashes = 0;
            i += 1;
            while at(i) == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1;
            while i < chars.len() {
                if at(i) == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && at(i) != '"' {
                i += if at(i) == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && at(i + 1) == '\\' {
            i += 2;
            while i < chars.len() && at(i) != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c == '\'' && at(i + 2) == '\'' {
            i += 3;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn tokenize(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while chars.get(i).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
                i += 1;
            }
            tokens.push(chars.get(start..i).unwrap_or_default().iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push("::".to_owned());
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    tokens
}

/// The tokens without `#[cfg(test)]` items.
fn without_test_items(tokens: Vec<String>) -> Vec<String> {
    let attr = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let is_attr = attr.iter().enumerate().all(|(k, a)| tokens.get(i + k).is_some_and(|t| t == a));
        if !is_attr {
            out.push(tokens.get(i).cloned().unwrap_or_default());
            i += 1;
            continue;
        }
        i += attr.len();
        let mut depth = 0usize;
        while let Some(t) = tokens.get(i) {
            i += 1;
            match t.as_str() {
                "(" | "[" => depth += 1,
                ")" | "]" => depth = depth.saturating_sub(1),
                ";" if depth == 0 => break,
                "{" if depth == 0 => {
                    let mut braces = 1usize;
                    while let Some(t) = tokens.get(i) {
                        i += 1;
                        match t.as_str() {
                            "{" => braces += 1,
                            "}" => {
                                braces -= 1;
                                if braces == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    out
}

/// One `use` declaration: the paths it imports, each with the name it binds (None for globs).
struct UseDecl {
    public: bool,
    imports: Vec<(ModPath, Option<String>)>,
    /// Token range of the declaration, to tell its names from their uses.
    span: (usize, usize),
}

fn parse_use_tree(tokens: &[String], i: &mut usize, prefix: &ModPath, out: &mut Vec<(ModPath, Option<String>)>) {
    let mut path = prefix.clone();
    loop {
        let Some(t) = tokens.get(*i) else { return };
        match t.as_str() {
            "{" => {
                *i += 1;
                loop {
                    match tokens.get(*i).map(String::as_str) {
                        None => return,
                        Some("}") => {
                            *i += 1;
                            return;
                        }
                        Some(",") => *i += 1,
                        Some(_) => parse_use_tree(tokens, i, &path, out),
                    }
                }
            }
            "*" => {
                *i += 1;
                out.push((path, None));
                return;
            }
            "::" => *i += 1,
            "," | "}" | ";" => {
                let name = path.last().cloned();
                out.push((path, name));
                return;
            }
            "as" => {
                *i += 1;
                let name = tokens.get(*i).cloned();
                *i += 1;
                out.push((path, name));
                return;
            }
            _ => {
                path.push(t.clone());
                *i += 1;
            }
        }
    }
}

fn use_decls(tokens: &[String]) -> Vec<UseDecl> {
    let mut decls = Vec::new();
    for (start, t) in tokens.iter().enumerate() {
        if t != "use" {
            continue;
        }
        let public = start.checked_sub(1).and_then(|k| tokens.get(k)).is_some_and(|t| t == "pub" || t == ")");
        let mut i = start + 1;
        let mut imports = Vec::new();
        parse_use_tree(tokens, &mut i, &Vec::new(), &mut imports);
        decls.push(UseDecl { public, imports, span: (start, i) });
    }
    decls
}

struct Crate {
    files: Vec<File>,
    modules: BTreeSet<ModPath>,
    /// Names each module binds with `use`, to follow re-exports.
    aliases: BTreeMap<ModPath, BTreeMap<String, ModPath>>,
}

impl Crate {
    fn load() -> std::io::Result<Crate> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut paths = Vec::new();
        rust_files(&src, &mut paths)?;
        let mut files = Vec::new();
        for path in paths {
            let text = fs::read_to_string(&path)?;
            let module = module_path(path.strip_prefix(&src).unwrap_or(&path));
            let tokens = without_test_items(tokenize(&strip_comments_and_literals(&text)));
            files.push(File { module, tokens });
        }
        let modules = files.iter().map(|f| f.module.clone()).collect();
        let mut krate = Crate { files, modules, aliases: BTreeMap::new() };
        let mut aliases = BTreeMap::new();
        for file in &krate.files {
            let mut names = BTreeMap::new();
            for decl in use_decls(&file.tokens) {
                for (path, name) in decl.imports {
                    if let (Some(name), Some(abs)) = (name, krate.absolute(&file.module, &path)) {
                        names.insert(name, abs);
                    }
                }
            }
            aliases.insert(file.module.clone(), names);
        }
        krate.aliases = aliases;
        Ok(krate)
    }

    /// The path from the crate root, if `path` (as written in `module`) names something in this crate.
    fn absolute(&self, module: &ModPath, path: &[String]) -> Option<ModPath> {
        let (first, rest) = path.split_first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" => module.clone(),
            "super" => {
                let mut base = module.clone();
                base.pop();
                let mut rest = rest;
                while let Some(r) = rest.strip_prefix(&["super".to_owned()]) {
                    base.pop();
                    rest = r;
                }
                base.extend(rest.iter().cloned());
                return Some(base);
            }
            _ => {
                let mut child = module.clone();
                child.push(first.clone());
                if !self.modules.contains(&child) {
                    return None;
                }
                child.extend(rest.iter().cloned());
                return Some(child);
            }
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The module that defines what an absolute path names, following re-exports.
    fn defining_module(&self, path: &ModPath) -> ModPath {
        let mut path = path.clone();
        for _ in 0..16 {
            let mut module = path.clone();
            while !self.modules.contains(&module) {
                module.pop();
            }
            let Some(item) = path.get(module.len()) else { return module };
            match self.aliases.get(&module).and_then(|a| a.get(item)) {
                Some(target) => {
                    let mut next = target.clone();
                    next.extend(path.iter().skip(module.len() + 1).cloned());
                    path = next;
                }
                None => return module,
            }
        }
        path
    }

    /// Every module each module depends on.
    fn dependencies(&self) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
        let mut deps: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
        for file in &self.files {
            let mut targets = BTreeSet::new();
            let decls = use_decls(&file.tokens);
            let in_use = |k: usize| decls.iter().any(|d| d.span.0 <= k && k < d.span.1);
            let mentioned = |name: &str| file.tokens.iter().enumerate().any(|(k, t)| t == name && !in_use(k));
            for decl in &decls {
                for (path, name) in &decl.imports {
                    let pure_reexport = decl.public && name.as_deref().is_some_and(|n| !mentioned(n));
                    if pure_reexport {
                        continue;
                    }
                    if let Some(abs) = self.absolute(&file.module, path) {
                        targets.insert(self.defining_module(&abs));
                    }
                }
            }
            // Paths in code: a run of `ident ::` segments not preceded by `::`.
            let mut k = 0;
            while k < file.tokens.len() {
                let starts_path = !in_use(k)
                    && k.checked_sub(1).and_then(|p| file.tokens.get(p)).is_none_or(|t| t != "::")
                    && file.tokens.get(k + 1).is_some_and(|t| t == "::");
                if !starts_path {
                    k += 1;
                    continue;
                }
                let mut path = Vec::new();
                let mut j = k;
                while let Some(t) = file.tokens.get(j) {
                    if t == "::" {
                        j += 1;
                        continue;
                    }
                    if !t.chars().all(|c| c.is_alphanumeric() || c == '_') {
                        break;
                    }
                    path.push(t.clone());
                    j += 1;
                    if file.tokens.get(j).is_none_or(|t| t != "::") {
                        break;
                    }
                }
                if let Some(abs) = self.absolute(&file.module, &path) {
                    targets.insert(self.defining_module(&abs));
                }
                k = j.max(k + 1);
            }
            deps.entry(file.module.clone()).or_default().extend(targets);
        }
        deps
    }
}

fn name(path: &[String]) -> String {
    if path.is_empty() {
        "crate".to_owned()
    } else {
        path.join("::")
    }
}

/// A cycle of the graph, if it has one, as the nodes along it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &String,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = stack.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = stack.get(from..).unwrap_or_default().to_vec();
                cycle.push(node.clone());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.clone(), Mark::Open);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph.keys().find_map(|node| visit(node, graph, &mut marks, &mut Vec::new()))
}

/// Edges between the nodes `node` maps modules to; `None` leaves a module out.
fn graph(
    deps: &BTreeMap<ModPath, BTreeSet<ModPath>>,
    node: impl Fn(&ModPath) -> Option<ModPath>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in deps {
        let Some(a) = node(from) else { continue };
        for to in targets {
            let Some(b) = node(to) else { continue };
            if a != b {
                graph.entry(name(&a)).or_default().insert(name(&b));
            }
        }
    }
    graph
}

fn describe(graph: &BTreeMap<String, BTreeSet<String>>) -> String {
    graph
        .iter()
        .map(|(from, to)| format!("  {from} -> {}\n", to.iter().cloned().collect::<Vec<_>>().join(", ")))
        .collect()
}

#[test]
fn top_level_modules_have_no_cycle() {
    let krate = Crate::load().unwrap();
    let deps = krate.dependencies();
    let top = graph(&deps, |m| m.first().map(|f| vec![f.clone()]));
    assert!(top.len() > 10, "the test found too few modules to be reading the crate:\n{}", describe(&top));
    if let Some(cycle) = find_cycle(&top) {
        panic!("module cycle in feedback-core: {}\n\nall dependencies:\n{}", cycle.join(" -> "), describe(&top));
    }
}

#[test]
fn children_of_each_module_tree_have_no_cycle() {
    let krate = Crate::load().unwrap();
    let deps = krate.dependencies();
    let trees: BTreeSet<ModPath> = krate.modules.iter().filter(|m| m.len() >= 2).map(|m| vec![m[0].clone()]).collect();
    for tree in trees {
        let inner = graph(&deps, |m| (m.len() >= 2 && m.starts_with(&tree)).then(|| m[..2].to_vec()));
        if let Some(cycle) = find_cycle(&inner) {
            panic!("module cycle inside {}: {}\n\n{}", name(&tree), cycle.join(" -> "), describe(&inner));
        }
    }
}

#[test]
fn the_reader_follows_groups_super_and_reexports() {
    let tokens = tokenize(&strip_comments_and_literals(
        "use crate::{a, b::c as d, e::{f, g::*}}; // crate::x::y\nlet s = \"crate::z::w\"; super::h::i();",
    ));
    let decls = use_decls(&tokens);
    let imports: Vec<String> = decls.iter().flat_map(|d| d.imports.iter().map(|(p, _)| p.join("::"))).collect();
    assert_eq!(imports, ["crate::a", "crate::b::c", "crate::e::f", "crate::e::g"]);
    assert!(!tokens.iter().any(|t| t == "x" || t == "z"), "{tokens:?}");
    let stripped = without_test_items(tokenize("fn a() {} #[cfg(test)] mod tests { use crate::b; } fn c() {}"));
    assert_eq!(stripped.join(" "), "fn a ( ) { } fn c ( ) { }");
    assert_eq!(module_path(Path::new("analytics/mod.rs")), ["analytics"]);
    assert_eq!(module_path(Path::new("analytics/plan.rs")), ["analytics", "plan"]);
    assert!(module_path(Path::new("lib.rs")).is_empty());
}
