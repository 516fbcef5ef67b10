//! Config bytes → load and validate: any file must give a config or a list of problems,
//! never a panic.
#![no_main]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wirefold::config::Config;

fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        // `scripts/fuzz.sh` points TMPDIR at a directory of its run and removes it afterwards.
        let dir = std::env::temp_dir().join(format!("wirefold-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join("wirefold.toml")
    })
}

fuzz_target!(|data: &[u8]| {
    std::fs::write(path(), data).expect("write config");
    // An empty environment: WIREFOLD_* variables of the fuzzing shell must not leak in.
    let _ = Config::load_with_env(path(), Some(HashMap::new()));
});
