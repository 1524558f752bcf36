//! The benchmark answers `--help` and bad arguments with words and an exit
//! code, not a panic, and starts no work for either.

use std::process::Command;

#[test]
fn help_and_bad_arguments_are_answered_without_a_panic() {
    let groups = ["add", "chain", "dhcp", "netavark", "parallel", "scaling", "size", "status"];
    let help = Command::new(env!("CARGO_BIN_EXE_bench")).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("usage: bench"));
    // Every row group --only takes is named in the help.
    for group in groups {
        assert!(text.contains(&format!("\n  {group} ")), "--help does not name {group}: {text}");
    }
    for args in [
        vec!["--bogus"],
        vec!["--iterations"],
        vec!["--live", "many"],
        vec!["--only", "bogus"],
        vec!["--only", "add", "--write-readme", "README.md"],
        vec!["--only", "chain,bogus"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_bench")).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("usage: bench") && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // The groups --only knows are these (its error lists them), and each
    // is taken (the --write-readme check comes after the row check, and
    // stops the run before any work).
    let bogus = Command::new(env!("CARGO_BIN_EXE_bench")).args(["--only", "bogus"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&bogus.stderr);
    assert!(stderr.contains(&format!("(one of {})", groups.join(", "))), "{stderr}");
    for group in groups {
        let args = ["--only", group, "--write-readme", "README.md"];
        let out = Command::new(env!("CARGO_BIN_EXE_bench")).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--write-readme needs every row"), "{args:?}: {stderr}");
    }
}
