//! What one run measured, and the line a child process prints it as.
//!
//! A child run (`src/child.rs`) ends by printing one line: `value <words>`
//! or `error <why>`. `<words>` is the value in the workload's unit, then
//! ` <key>=<x>` for each of the workload's other metrics the run measured
//! (`Workload::also`), each in its metric's unit, and `cpu=<seconds>`, the
//! run's CPU time (`crate::cpu`), where there is a reading: `value 1.93
//! peak_rss=210763776 pause_p99=1.25 cpu=3.8`. The Go program prints the
//! same words (its value in nanoseconds).

use std::process::ExitCode;

#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// In the workload's unit.
    pub value: f64,
    /// The other metrics this run measured, by key (`Metric::key`).
    pub also: Vec<(&'static str, f64)>,
    /// The run's CPU seconds (`crate::cpu`), if there was a reading.
    pub cpu: Option<f64>,
}

/// The word of a run's CPU time on a child's line.
pub const CPU: &str = "cpu";

impl Sample {
    /// A run that measured the workload's value only.
    pub fn of(value: f64) -> Self {
        Sample {
            value,
            also: Vec::new(),
            cpu: None,
        }
    }

    /// The metric called `key`, if this run measured it.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.also.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
    }

    /// `<value> <key>=<x>...`: what `parse` reads back.
    pub fn words(&self) -> String {
        let mut out = self.value.to_string();
        for (k, v) in &self.also {
            out.push_str(&format!(" {k}={v}"));
        }
        if let Some(cpu) = self.cpu {
            out.push_str(&format!(" {CPU}={cpu}"));
        }
        out
    }

    /// Reads `words`' text; `keys` are the metrics the workload has (any
    /// other key but `cpu` is an error, so a misspelt one cannot go
    /// unnoticed).
    pub fn parse(text: &str, keys: &[&'static str]) -> Result<Sample, String> {
        let mut words = text.split_whitespace();
        let bad = || format!("not a measurement: {text:?}");
        let value = words.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let (mut also, mut cpu) = (Vec::new(), None);
        for word in words {
            let (k, v) = word.split_once('=').ok_or_else(bad)?;
            let v = v.parse().map_err(|_| bad())?;
            if k == CPU {
                cpu = Some(v);
                continue;
            }
            let key = *keys.iter().find(|&&key| key == k).ok_or_else(bad)?;
            also.push((key, v));
        }
        Ok(Sample { value, also, cpu })
    }
}

/// The child side's end: prints the result line and returns the exit
/// status (failure with an `error` line).
pub fn print_result(result: &Result<Sample, String>) -> ExitCode {
    match result {
        Ok(s) => println!("value {}", s.words()),
        Err(e) => println!("error {}", e.replace('\n', " ")),
    }
    ExitCode::from(u8::from(result.is_err()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_back() {
        let s = Sample {
            value: 1.5,
            also: vec![("peak_rss", 2097152.0), ("pause_p99", 0.25)],
            cpu: Some(2.5),
        };
        assert_eq!(s.words(), "1.5 peak_rss=2097152 pause_p99=0.25 cpu=2.5");
        assert_eq!(Sample::parse(&s.words(), &["pause_p99", "peak_rss"]), Ok(s));
        assert_eq!(Sample::parse(" 42\n", &[]), Ok(Sample::of(42.0)));
        for bad in ["", "x", "1 peak_rss", "1 peak_rss=x", "1 heap=3"] {
            assert!(Sample::parse(bad, &["peak_rss"]).is_err(), "{bad:?}");
        }
    }
}
