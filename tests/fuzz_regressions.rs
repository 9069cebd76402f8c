//! Replays every committed fuzz input through the fuzz targets' checks, on stable Rust: the seed
//! corpora (`fuzz/corpus/<target>/`) and the inputs that once failed (`fuzz/regressions/<target>/`).
//! `./build.sh fuzz` searches for new failures; this keeps old ones fixed.
// Test code: a panic here is a failed test, not a failed login.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn replay(dir: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(dir);
    let mut replayed = 0;
    for (target, check) in checks::TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{target} fails on {}", path.display());
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn seed_corpora_pass_every_check() {
    // Every target has seeds, so this cannot pass on an empty checkout.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, _) in checks::TARGETS {
        let seeds = std::fs::read_dir(root.join(target)).map_or(0, |d| d.count());
        assert!(seeds >= 3, "fuzz/corpus/{target} has {seeds} seeds");
    }
    assert!(replay("corpus") >= 18);
}

#[test]
fn regressions_stay_fixed() {
    replay("regressions");
}

#[test]
fn an_empty_name_is_neither_written_nor_read() {
    // Found while writing claims_roundtrip: the writer kept an empty role or permission name
    // that a backend's reader drops, so the two disagreed. The writer now drops them too.
    checks::claims_roundtrip(b"r\0p\0radmin\0pread:x");
}
