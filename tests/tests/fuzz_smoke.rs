//! A stable-toolchain smoke fuzzer for the entry points of the cargo-fuzz targets in
//! `tests/fuzz/` (`agentd::fuzzing`): replays every saved regression input, then mutates the
//! seed corpus (bit flips, byte edits, splices, truncations, repeats, random bytes) for
//! `AGENTD_FUZZ_SECS` seconds per target (default 2; `make fuzz` runs 60 when cargo-fuzz is not
//! available). A panic fails the test and saves the input under
//! `tests/fuzz/artifacts/smoke-TARGET-*` for a regression file.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("rpc_frame", agentd::fuzzing::rpc_frame),
    ("sse", agentd::fuzzing::sse),
    ("model_fold", agentd::fuzzing::model_fold),
    ("apply_patch", agentd::fuzzing::apply_patch),
    ("exec_policy", agentd::fuzzing::exec_policy),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<Vec<u8>> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_file())
                .filter(|e| e.path().extension().is_none_or(|x| x != "md"))
                .map(|e| (e.path(), std::fs::read(e.path()).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.into_iter().map(|(_, b)| b).collect()
}

/// xorshift64*, seeded per run (printed, `AGENTD_FUZZ_SEED` to replay).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens that steer mutations towards the formats' own syntax.
const DICTIONARY: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"-1",
    b"1e999",
    b"\\u0000",
    b"\\ud800",
    b"\"id\":",
    b"\"method\":",
    b"\"params\":",
    b"\"threadId\":",
    b"\"input\":",
    b"\"type\":",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"data: ",
    b"event: ",
    b"[DONE]",
    b"id: ",
    b"retry: ",
    b":",
    b"*** Begin Patch\n",
    b"*** End Patch",
    b"*** Add File: ",
    b"*** Update File: ",
    b"*** Delete File: ",
    b"*** Move to: ",
    b"@@",
    b"\n-",
    b"\n+",
    b"\n ",
    b"*** End of File",
    b"../",
    b"/",
    b"prefix_rule(",
    b"pattern=[",
    b"decision=\"",
    b"forbidden",
    b"prompt",
    b"match=[",
    b"not_match=[",
    b"bash -lc \"",
    b" && ",
    b" | ",
    b";",
    b"$(",
    b"`",
    b"\\",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = if seeds.is_empty() || rng.below(10) == 0 {
        (0..rng.below(256)).map(|_| rng.next() as u8).collect()
    } else {
        seeds[rng.below(seeds.len())].clone()
    };
    for _ in 0..=rng.below(8) {
        let len = data.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(len - i + 1).min(64);
                data.drain(i..i + n);
            }
            3 => {
                let tok = DICTIONARY[rng.below(DICTIONARY.len())];
                let i = rng.below(len + 1);
                data.splice(i..i, tok.iter().copied());
            }
            4 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            5 if len > 0 => {
                let i = rng.below(len);
                let n = (rng.below(16) + 1).min(len - i);
                let piece = data[i..i + n].to_vec();
                for _ in 0..rng.below(64) {
                    data.splice(i..i, piece.iter().copied());
                }
            }
            6 => data.truncate(rng.below(len + 1)),
            7 if len > 0 => {
                let i = rng.below(len);
                data.insert(i, [0u8, 0xff, 0xc3, 0xed, b'\n'][rng.below(5)]);
            }
            _ => {
                let tok = DICTIONARY[rng.below(DICTIONARY.len())];
                data.extend_from_slice(tok);
            }
        }
    }
    data.truncate(1 << 16);
    data
}

/// Runs one input; on a panic saves it and returns where.
fn run_one(name: &str, target: Target, input: &[u8]) -> Result<(), String> {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| target(input)));
    if outcome.is_ok() {
        return Ok(());
    }
    let dir = fuzz_dir().join("artifacts");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("smoke-{name}-{:016x}", fxhash(input)));
    let _ = std::fs::write(&path, input);
    Err(format!(
        "{name} panicked on {} (input saved)",
        path.display()
    ))
}

fn fxhash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
    })
}

#[test]
fn every_fuzz_entry_point_survives_regressions_seeds_and_mutations() {
    let secs: u64 = std::env::var("AGENTD_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let seed: u64 = std::env::var("AGENTD_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        });
    eprintln!("fuzz smoke: {secs} s per target, AGENTD_FUZZ_SEED={seed}");
    // Panics are expected to be caught and reported here, not printed for every input.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    for (name, target) in TARGETS {
        let regressions = files(&fuzz_dir().join("regressions").join(name));
        let seeds = files(&fuzz_dir().join("corpus").join(name));
        assert!(!seeds.is_empty(), "no seed corpus for {name}");
        for input in regressions.iter().chain(&seeds) {
            if let Err(e) = run_one(name, *target, input) {
                failures.push(e);
            }
        }
        let mut rng = Rng(seed ^ fxhash(name.as_bytes()));
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut runs = 0u64;
        while Instant::now() < deadline && failures.len() < 10 {
            let input = mutate(&mut rng, &seeds);
            if let Err(e) = run_one(name, *target, &input) {
                failures.push(e);
            }
            runs += 1;
        }
        eprintln!("fuzz smoke: {name}: {runs} inputs");
    }
    std::panic::set_hook(hook);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
