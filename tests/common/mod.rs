//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The real-camera captures folder (`../shared/real-cameras`), from `CAMLINK_REAL_CAPTURES`.
///
/// `None` (with a note on stderr) when the variable is unset, so that a developer without the
/// set can run the suite; `.ci/run` sets it, and there a folder without the captures panics.
pub fn real_captures() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("CAMLINK_REAL_CAPTURES") else {
        eprintln!("CAMLINK_REAL_CAPTURES is not set: real-capture tests skipped");
        return None;
    };
    let dir = PathBuf::from(dir);
    assert!(
        dir.join("MANIFEST.md").is_file(),
        "CAMLINK_REAL_CAPTURES={} does not hold the real-camera captures",
        dir.display()
    );
    Some(dir)
}

/// The files of one capture subfolder (`rtsp`, `onvif`, `discovery`, ...), sorted.
pub fn capture_files(dir: &std::path::Path, sub: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
        .unwrap_or_else(|e| panic!("{}/{sub}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// A file under this repository's `fixtures/`.
pub fn fixture_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}
