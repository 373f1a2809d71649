//! Empty: this package only holds the `vs_retina` bench (`../vs_retina.rs`).
