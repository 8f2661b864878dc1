//! Charts of a session: one SVG per workload family (horizontal bars on a
//! log scale, one row per workload and contender, one colour per contender
//! across every chart, each bar labelled with its median and CPU time and,
//! for peers, the gort/peer ratios of both), and an `index.html` that shows them with the
//! table. A family with rows in several units (binary-trees: seconds, peak
//! bytes, pause milliseconds) has a chart per unit: `<family>.svg` for the
//! first, `<first row of the unit>.svg` for the others.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::WorkloadResult;
use crate::workload::{Side, Unit};

/// One bar.
struct Row {
    label: String,
    contender: &'static str,
    value: f64,
    note: String,
}

/// Colours by contender, in the order contenders first appear.
const PALETTE: [RGBColor; 12] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x9e, 0xc5, 0xe8),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x17, 0xbe, 0xcf),
    RGBColor(0x39, 0x3b, 0x79),
];

/// Writes `<family>.svg` for every family with a result, and
/// `index.html`, into `dir`. Returns the files written.
pub fn write_all(
    dir: &Path,
    results: &[WorkloadResult],
    table: &str,
    summary: &str,
) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut contenders: Vec<&'static str> = Vec::new();
    // (family, unit, file name), in order of first appearance.
    let mut charts: Vec<(&'static str, Unit, &'static str)> = Vec::new();
    for w in results {
        if !charts.iter().any(|&(f, u, _)| f == w.family && u == w.unit) {
            let first = !charts.iter().any(|&(f, _, _)| f == w.family);
            charts.push((w.family, w.unit, if first { w.family } else { w.name }));
        }
        for c in &w.contenders {
            if !contenders.contains(&c.name) {
                contenders.push(c.name);
            }
        }
    }
    let mut written = Vec::new();
    for (family, unit, file) in charts {
        let ws: Vec<&WorkloadResult> = results
            .iter()
            .filter(|w| w.family == family && w.unit == unit)
            .collect();
        let path = dir.join(format!("{file}.svg"));
        if chart(&path, family, &ws, &contenders)? {
            written.push(path);
        }
    }
    let index = dir.join("index.html");
    std::fs::write(&index, html(&written, table, summary))
        .map_err(|e| format!("{}: {e}", index.display()))?;
    written.push(index);
    Ok(written)
}

fn colour(contenders: &[&str], name: &str) -> RGBColor {
    let i = contenders.iter().position(|c| *c == name).unwrap_or(0);
    PALETTE[i % PALETTE.len()]
}

/// One family's chart; false if nothing in it has a value.
fn chart(
    path: &Path,
    family: &str,
    ws: &[&WorkloadResult],
    contenders: &[&'static str],
) -> Result<bool, String> {
    let unit = ws.first().map_or(Unit::Seconds, |w| w.unit);
    let mut rows = Vec::new();
    for w in ws {
        for c in &w.contenders {
            // A log scale has no place for 0 (no GC pause at all).
            let Some(stats) = c.stats.filter(|s| s.median > 0.0) else {
                continue;
            };
            let mut note = unit.show(stats.median);
            // The run's CPU time, on the workload's own rows.
            if let Some(cpu) = c.cpu_stats.filter(|_| w.metric_of.is_none()) {
                let _ = write!(note, " · cpu {:.4} s", cpu.median);
            }
            if let (Side::Peer, Some(r)) = (c.side, c.gort_over_peer) {
                let _ = write!(note, " · gort/{} {r:.2}x", c.name);
                if let Some(cpu) = c.cpu_gort_over_peer {
                    let _ = write!(note, " (cpu {cpu:.2}x)");
                }
            }
            rows.push(Row {
                label: format!("{} · {}", w.name, c.name),
                contender: c.name,
                value: stats.median,
                note,
            });
        }
    }
    if rows.is_empty() {
        return Ok(false);
    }
    let lo = rows.iter().map(|r| r.value).fold(f64::INFINITY, f64::min);
    let hi = rows.iter().map(|r| r.value).fold(0.0, f64::max);
    let (x_min, x_max) = (lo / 3.0, hi * 30.0);
    let n = rows.len() as u32;
    let height = 90 + 21 * n;
    let root = SVGBackend::new(path, (1100, height)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| format!("plotting {family}: {e}");
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let axis = match unit {
        Unit::Seconds => "median seconds per run (log scale; shorter is better)",
        Unit::BytesPerItem => "median resident bytes per goroutine (log scale; shorter is better)",
        Unit::Bytes => "median peak resident memory (log scale; shorter is better)",
        Unit::Millis => "median milliseconds (log scale; shorter is better)",
        Unit::Threads => "median peak OS threads (log scale; shorter is better)",
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("gort-bench: {family}"), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(330)
        .build_cartesian_2d((x_min..x_max).log_scale(), (0..n).into_segmented())
        .map_err(|e| err(&e))?;
    // Row 0 is drawn at the bottom; list the first row at the top.
    let at = |i: usize| n - 1 - i as u32;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n as usize)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(k) if *k < n => rows[(n - 1 - k) as usize].label.clone(),
            _ => String::new(),
        })
        .x_label_formatter(&|v| tick(unit, *v))
        .x_desc(axis)
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(
            Histogram::horizontal(&chart)
                .baseline(x_min)
                .margin(3)
                .style_func(|k, _| {
                    let k = match k {
                        SegmentValue::Exact(k) | SegmentValue::CenterOf(k) => *k,
                        SegmentValue::Last => 0,
                    };
                    let i = (n - 1 - k.min(n - 1)) as usize;
                    colour(contenders, rows[i].contender).filled()
                })
                .data(rows.iter().enumerate().map(|(i, r)| (at(i), r.value))),
        )
        .map_err(|e| err(&e))?;
    let text = ("sans-serif", 12)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            Text::new(
                r.note.clone(),
                (r.value * 1.15, SegmentValue::CenterOf(at(i))),
                text.clone(),
            )
        }))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(true)
}

/// An axis label: three significant digits without float noise (not
/// `0.30000000000000004`), bytes in MiB.
fn tick(unit: Unit, v: f64) -> String {
    let v = if unit == Unit::Bytes {
        v / (1024.0 * 1024.0)
    } else {
        v
    };
    let decimals = if v > 0.0 {
        (2 - v.log10().floor() as i32).max(0) as usize
    } else {
        0
    };
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if unit == Unit::Bytes {
        s.push_str(" MiB");
    }
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn html(charts: &[PathBuf], table: &str, summary: &str) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>gort-bench</title>\n\
         <style>body{font-family:sans-serif;margin:2em}pre{font-size:12px}img{max-width:100%}</style>\n\
         </head><body>\n<h1>gort-bench</h1>\n",
    );
    let _ = writeln!(out, "<p>{}</p>", escape(summary));
    for c in charts {
        if let Some(name) = c.file_name().and_then(|n| n.to_str()) {
            let _ = writeln!(
                out,
                "<h2>{}</h2>\n<img src=\"{name}\" alt=\"{name}\">",
                escape(name.trim_end_matches(".svg"))
            );
        }
    }
    let _ = writeln!(
        out,
        "<h2>table</h2>\n<pre>{}</pre>\n</body></html>",
        escape(table)
    );
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::{ContenderResult, Measurement};
    use crate::workload::{Contender, Params, Workload};

    /// A two-contender workload whose medians are `gort` and `peer`.
    pub(crate) fn result(unit: Unit, gort: f64, peer: f64) -> WorkloadResult {
        let w = Workload {
            name: "w1",
            family: "fam",
            about: "test",
            full: Params::new(&[("n", 1)]),
            quick: Params::new(&[("n", 1)]),
            ops: |_| 1,
            unit,
            also: &[],
            contenders: vec![
                Contender::measuring("gort", "g", Side::Gort, |_| Ok(1.0)),
                Contender::measuring("peerx", "p", Side::Peer, |_| Ok(1.0)),
            ],
        };
        let per = [("gort", gort), ("peerx", peer)]
            .iter()
            .zip(&w.contenders)
            .map(|(&(name, v), c)| {
                let mut r = ContenderResult::new(name, c.label, c.side, None);
                r.record(&Measurement {
                    seq: 1,
                    workload: "w1",
                    contender: name,
                    run: 1,
                    value: Some(v),
                    cpu: Some(2.0 * v),
                    also: Default::default(),
                    error: None,
                });
                r
            })
            .collect();
        WorkloadResult::new(&w, &w.full, 1, per)
    }

    #[test]
    fn charts_label_values_and_ratios() {
        let dir = std::env::temp_dir().join(format!("gort-bench-plot-{}", std::process::id()));
        let files = write_all(
            &dir,
            &[result(Unit::BytesPerItem, 4000.0, 2000.0)],
            "the table",
            "the machine",
        )
        .unwrap();
        assert_eq!(files, [dir.join("fam.svg"), dir.join("index.html")]);
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        assert!(
            svg.contains("2000 B · cpu 4000.0000 s · gort/peerx 2.00x (cpu 2.00x)"),
            "{svg}"
        );
        assert!(svg.contains("w1 · gort") && svg.contains("resident bytes"));
        assert_eq!(tick(Unit::Seconds, 0.30000000000000004), "0.3");
        assert_eq!(tick(Unit::Millis, 12.5), "12.5");
        assert_eq!(tick(Unit::Bytes, 100.0 * 1024.0 * 1024.0), "100 MiB");
        let html = std::fs::read_to_string(&files[1]).unwrap();
        assert!(html.contains("<img src=\"fam.svg\"") && html.contains("the machine"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
