//! The benchmark answers `--help` and bad arguments with words and an exit
//! code, not a panic, and starts no work for either.

use std::process::Command;

#[test]
fn help_and_bad_arguments_are_answered_without_a_panic() {
    let help = Command::new(env!("CARGO_BIN_EXE_bench")).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("usage: bench"));
    for args in [
        vec!["--bogus"],
        vec!["--iterations"],
        vec!["--live", "many"],
        vec!["--only", "bogus"],
        vec!["--only", "add", "--write-readme", "README.md"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_bench")).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("usage: bench") && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
