//! The side-by-side peer: Python datasketch `MinHashLSH`, run by `scripts/datasketch_eval.py`
//! over the same normalized texts, at several thresholds (the report keeps the best F1).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// How to run the peer.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Python interpreter (`python3`).
    pub python: String,
    /// Path of `datasketch_eval.py`.
    pub script: PathBuf,
    /// Thresholds to try.
    pub thresholds: Vec<f32>,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            python: std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()),
            script: PathBuf::from("scripts/datasketch_eval.py"),
            thresholds: vec![0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
        }
    }
}

/// The peer's clustering at one threshold.
#[derive(Debug, Clone)]
pub struct PeerRun {
    /// LSH threshold.
    pub threshold: f32,
    /// Seconds: MinHash construction plus LSH queries and inserts.
    pub secs: f64,
    /// Story label per item.
    pub labels: Vec<u64>,
}

#[derive(serde::Deserialize)]
struct Line {
    threshold: f32,
    secs: f64,
    labels: Vec<u64>,
}

/// Runs the peer over `texts` (in time order).
pub fn run_datasketch(cfg: &PeerConfig, texts: &[String]) -> Result<Vec<PeerRun>, String> {
    if !cfg.script.exists() {
        return Err(format!(
            "{} not found (run from the repository root or pass --peer-script)",
            cfg.script.display()
        ));
    }
    let path = std::env::temp_dir().join(format!("wirefold-eval-{}.jsonl", std::process::id()));
    {
        let mut f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
        for t in texts {
            let line = serde_json::json!({ "text": t });
            writeln!(f, "{line}").map_err(|e| e.to_string())?;
        }
    }
    let out = Command::new(&cfg.python)
        .arg(&cfg.script)
        .arg(&path)
        .args(cfg.thresholds.iter().map(|t| format!("{t}")))
        .stdin(Stdio::null())
        .output();
    let _ = std::fs::remove_file(&path);
    let out = out.map_err(|e| format!("{}: {e}", cfg.python))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{} failed: {} (install it with scripts/install-peers.sh)",
            cfg.script.display(),
            err.lines().last().unwrap_or("")
        ));
    }
    let mut runs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let l: Line = serde_json::from_str(line).map_err(|e| e.to_string())?;
        runs.push(PeerRun {
            threshold: l.threshold,
            secs: l.secs,
            labels: l.labels,
        });
    }
    Ok(runs)
}
