//! Command line: a small hand-rolled parser (no dependency needed for a
//! handful of flags).

use std::path::PathBuf;

pub const USAGE: &str = "\
gort-bench: measures gort against its peers

usage: gort-bench [options]

options:
  --quick               smaller sizes (whole run well under 2 minutes)
  --only <list>         comma-separated workload or family names (repeatable)
  --contenders <list>   comma-separated contender names, e.g. gort,std (repeatable)
  --size <key=count>    replace that size in every selected workload that has
                        it, e.g. --size depth=19 (repeatable; see --list)
  --runs <N>            measured runs per contender and workload (default 5)
  --warmup <N>          unrecorded runs per contender before measuring (default 1)
  --timeout <secs>      give up on a run after this long and report it as timed
                        out; that contender skips the rest of the workload
                        (default 180, or 30 with --quick)
  --out <path>          JSON report (default <target dir>/bench-report/results.json)
  --list                list workloads and contenders, then exit
  -h, --help            this text
";

#[derive(Debug)]
pub struct Options {
    pub quick: bool,
    pub only: Vec<String>,
    pub contenders: Vec<String>,
    /// `key=count` words replacing the selected workloads' sizes.
    pub sizes: Vec<String>,
    pub runs: usize,
    pub warmup: usize,
    /// Per-run limit in seconds; `None`: the default for the sizes.
    pub timeout: Option<u64>,
    pub out: Option<PathBuf>,
    pub list: bool,
}

impl Options {
    /// The per-run time limit in force.
    pub fn timeout(&self) -> std::time::Duration {
        let default = if self.quick { 30 } else { 180 };
        std::time::Duration::from_secs(self.timeout.unwrap_or(default))
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            quick: false,
            only: Vec::new(),
            contenders: Vec::new(),
            sizes: Vec::new(),
            runs: 5,
            warmup: 1,
            timeout: None,
            out: None,
            list: false,
        }
    }
}

/// What the command line asked for.
pub enum Parsed {
    Run(Options),
    Help,
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut o = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--quick" => o.quick = true,
            "--list" => o.list = true,
            "-h" | "--help" => return Ok(Parsed::Help),
            "--only" => o.only.extend(split_list(&value("--only")?)),
            "--contenders" => o.contenders.extend(split_list(&value("--contenders")?)),
            "--size" => o.sizes.push(value("--size")?),
            "--runs" => o.runs = parse_count("--runs", &value("--runs")?, 1)?,
            "--warmup" => o.warmup = parse_count("--warmup", &value("--warmup")?, 0)?,
            "--timeout" => {
                o.timeout = Some(parse_count("--timeout", &value("--timeout")?, 1)? as u64)
            }
            "--out" => o.out = Some(PathBuf::from(value("--out")?)),
            // `cargo bench` passes `--bench`; ignore it so that works too.
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Parsed::Run(o))
}

fn split_list(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
}

fn parse_count(flag: &str, v: &str, min: usize) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!("{flag} wants an integer >= {min}, got {v:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Options {
        match parse(args.iter().map(|s| s.to_string())).unwrap() {
            Parsed::Run(o) => o,
            Parsed::Help => panic!("help"),
        }
    }

    #[test]
    fn defaults_and_flags() {
        let o = run(&[]);
        assert_eq!((o.runs, o.warmup, o.quick), (5, 1, false));
        let o = run(&[
            "--quick",
            "--only",
            "mutex,spawn_join",
            "--contenders=gort,std",
            "--runs",
            "3",
            "--size",
            "depth=6",
        ]);
        assert!(o.quick);
        assert_eq!(o.only, ["mutex", "spawn_join"]);
        assert_eq!(o.contenders, ["gort", "std"]);
        assert_eq!(o.runs, 3);
        assert_eq!(o.sizes, ["depth=6"]);
        assert_eq!(o.timeout(), std::time::Duration::from_secs(30));
        let o = run(&["--timeout", "5"]);
        assert_eq!(o.timeout(), std::time::Duration::from_secs(5));
        assert_eq!(run(&[]).timeout(), std::time::Duration::from_secs(180));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(["--runs".to_string(), "0".to_string()]).is_err());
        assert!(parse(["--runs".to_string()]).is_err());
        assert!(parse(["--frobnicate".to_string()]).is_err());
        assert!(parse(["--timeout".to_string(), "0".to_string()]).is_err());
    }
}
