//! The house plan holds: `src/lib.rs` lists the library's modules from the bottom up, and
//! no module uses one listed after it (README, "How it is built"), and no two sibling modules
//! use each other.

use std::path::{Path, PathBuf};

fn source(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The modules `src/lib.rs` declares, in its order.
fn layers() -> Vec<String> {
    let lib = std::fs::read_to_string(source("src/lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .map(str::to_string)
        .collect()
}

/// Every `.rs` file of a module (its file, or its folder's files).
fn files_of(module: &str) -> Vec<PathBuf> {
    let file = source(&format!("src/{module}.rs"));
    if file.exists() {
        return vec![file];
    }
    let mut files = Vec::new();
    let mut folders = vec![source(&format!("src/{module}"))];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            match path.is_dir() {
                true => folders.push(path),
                false if path.extension().is_some_and(|e| e == "rs") => files.push(path),
                false => {}
            }
        }
    }
    files
}

/// The top-level modules a line names through `crate::…` (also inside `crate::{…}`).
fn named(line: &str, layers: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in line.match_indices("crate::") {
        let rest = &line[i + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or("")
                .split(',')
                .map(|n| n.trim().split("::").next().unwrap_or(""))
                .collect(),
            None => vec![rest
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")],
        };
        found.extend(
            names
                .into_iter()
                .filter(|n| layers.iter().any(|l| l == n))
                .map(str::to_string),
        );
    }
    found
}

#[test]
fn no_module_uses_one_listed_after_it() {
    let layers = layers();
    assert!(layers.len() > 10, "lib.rs lists {layers:?}");
    let mut wrong = Vec::new();
    for (i, module) in layers.iter().enumerate() {
        for file in files_of(module) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                for used in named(line, &layers) {
                    let j = layers.iter().position(|l| *l == used).unwrap();
                    if j > i {
                        wrong.push(format!(
                            "{}:{}: {module} uses {used}",
                            file.display(),
                            n + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_a_use_of_a_later_module() {
    let layers: Vec<String> = ["geometry", "frame", "face"].map(String::from).to_vec();
    assert_eq!(named("use crate::face::Landmarks;", &layers), ["face"]);
    assert_eq!(
        named("use crate::{frame, face::x};", &layers),
        ["frame", "face"]
    );
    assert!(named("use crate::frames::X; // not a module", &layers).is_empty());
}

/// Every module of the crate (its path under `src/`, e.g. `["train", "conv"]`) and its file.
fn modules() -> Vec<(Vec<String>, PathBuf)> {
    let mut found = Vec::new();
    let mut folders = vec![source("src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let Some(rel) = path
                .strip_prefix(source("src"))
                .unwrap()
                .to_str()
                .and_then(|p| p.strip_suffix(".rs"))
            else {
                continue;
            };
            let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
            if parts.last().is_some_and(|p| p == "mod") || rel == "lib" || rel == "main" {
                parts.pop();
            }
            found.push((parts, path));
        }
    }
    found
}

/// The module paths a file of module `at` names, through `crate::…` or `super::…` (groups
/// `{a, b}` spread out), each as far as it goes.
fn paths_named(text: &str, at: &[String]) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for line in text.lines().map(|l| l.split("//").next().unwrap_or("")) {
        for (i, _) in line
            .match_indices("crate::")
            .chain(line.match_indices("super::"))
        {
            if line[..i].ends_with("super::") {
                continue;
            }
            let mut base: Vec<String> = Vec::new();
            let mut rest = &line[i..];
            if let Some(r) = rest.strip_prefix("crate::") {
                rest = r;
            } else {
                base = at.to_vec();
                while let Some(r) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = r;
                }
            }
            let items: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
                None => vec![rest],
            };
            for item in items {
                let mut path = base.clone();
                path.extend(
                    item.trim()
                        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                        .next()
                        .unwrap_or("")
                        .split("::")
                        .filter(|p| !p.is_empty())
                        .map(str::to_string),
                );
                paths.push(path);
            }
        }
    }
    paths
}

/// Sibling modules (two files or folders in one folder) that use each other: each should
/// own its idea, and a shared type belongs where both can use it without the other.
#[test]
fn no_two_sibling_modules_use_each_other() {
    let modules = modules();
    let names: Vec<&Vec<String>> = modules.iter().map(|(m, _)| m).collect();
    // Which modules each module (with everything below it) uses.
    let mut uses: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        for path in paths_named(&text, module) {
            let used = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| names.contains(&p))
                .unwrap_or_default();
            uses.push((module.clone(), used));
        }
    }
    let under = |m: &[String], top: &[String]| m.len() >= top.len() && m[..top.len()] == *top;
    let uses_module =
        |a: &[String], b: &[String]| uses.iter().any(|(from, to)| under(from, a) && under(to, b));
    let mut cycles = Vec::new();
    for (i, (a, _)) in modules.iter().enumerate() {
        for (b, _) in &modules[i + 1..] {
            let siblings = !a.is_empty() && !b.is_empty() && a[..a.len() - 1] == b[..b.len() - 1];
            if siblings && uses_module(a, b) && uses_module(b, a) {
                cycles.push(format!("{} <-> {}", a.join("/"), b.join("/")));
            }
        }
    }
    assert!(cycles.is_empty(), "{}", cycles.join("\n"));
}

#[test]
fn the_cycle_check_resolves_super_and_groups() {
    let at = ["video".to_string(), "reader".to_string()];
    let paths = paths_named("use super::{folder::FolderSource, VideoError};", &at);
    assert!(paths.contains(&vec![
        "video".into(),
        "folder".into(),
        "FolderSource".into()
    ]));
    let paths = paths_named("use crate::train::layers::Pad; // not super::x", &at);
    assert_eq!(paths, [vec!["train", "layers", "Pad"]]);
}
