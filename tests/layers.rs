//! The house plan holds: `src/lib.rs` lists the library's modules from the bottom up, and
//! no module uses one listed after it (README, "How it is built").

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
