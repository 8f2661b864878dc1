//! gort-bench: runs workloads against gort and its peers, prints a table
//! of medians and gort/peer ratios, and writes every run as JSON.
//!
//! Layout, built to grow: `workload` (the `Workload`/`Contender` types),
//! `workloads/` (the registry, one module per family), `runner`
//! (selection and alternation), `report` (statistics, table, JSON),
//! `harness` (timing helpers shared by families), `cli`, and the library
//! this binary shares with `gort-bench-gc` (`src/lib.rs`). The same
//! modules make `gort-bench-mimalloc` (`src/bin/gort-bench-mimalloc.rs`).
//!
//! Run it in release: `cargo run --release -p gort-bench -- --quick`.

// No `#[global_allocator]`: the contenders here run on the system's
// allocator, as a user's program does. `gort_mimalloc` runs the gort rows
// on mimalloc in `gort-bench-mimalloc`, a process of its own.

mod child;
mod cli;
mod go;
mod harness;
mod may_peer;
mod plot;
mod report;
mod runner;
mod workload;
mod workloads;

use std::path::Path;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(child::FLAG) {
        return child::main(&args[1..]);
    }
    if args.first().map(String::as_str) == Some(workloads::net::HOLD_FLAG) {
        return workloads::net::hold_main(&args[1..]);
    }
    let opts = match cli::parse(args) {
        Ok(cli::Parsed::Run(o)) => o,
        Ok(cli::Parsed::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("gort-bench: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };

    let all = workloads::registry();
    if opts.list {
        list(&all, opts.quick);
        return ExitCode::SUCCESS;
    }
    let checked = runner::select(&all, &opts.only, &opts.contenders)
        .and_then(|s| runner::check_sizes(&s, &opts.sizes).map(|()| s));
    let selected = match checked {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gort-bench: {e}");
            return ExitCode::from(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("gort-bench: warning: debug build; numbers mean little (use --release)");
    }

    let host = report::Host::detect();
    // The revision built and measured: detected before the runs, which can
    // be long while the tree moves on.
    let revision = report::Revision::detect();
    if let Some(load) = &host.loadavg_before {
        eprintln!(
            "gort-bench: load average before: {load} ({} CPUs)",
            host.num_cpu
        );
    }
    let started = Instant::now();
    let plan = runner::Plan {
        workloads: selected,
        quick: opts.quick,
        runs: opts.runs,
        warmup: opts.warmup,
        timeout: opts.timeout(),
        sizes: opts.sizes.clone(),
    };
    let outcome = runner::run(&plan);
    let wall_s = started.elapsed().as_secs_f64();

    let table = report::table(&outcome.workloads);
    let mut sizes = String::from(if opts.quick {
        "quick sizes"
    } else {
        "full sizes"
    });
    if !opts.sizes.is_empty() {
        sizes = format!("{sizes} with --size {}", opts.sizes.join(" "));
    }
    let summary = format!(
        "{} run(s) per contender, {} warm-up; {}; limit {} s per run; {}; Rust allocator {}; {}; wall {:.1} s; load average before {}, after {}",
        opts.runs,
        opts.warmup,
        sizes,
        opts.timeout().as_secs(),
        host.machine(),
        host.allocator,
        match &host.go_version {
            Some(v) => v.clone(),
            None => go::NOT_FOUND.into(),
        },
        wall_s,
        host.loadavg_before.as_deref().unwrap_or("?"),
        report::loadavg().as_deref().unwrap_or("?"),
    );
    print!("{table}");
    println!("{summary}");

    let path = opts.out.clone().unwrap_or_else(report::default_path);
    let charts_dir = path
        .parent()
        .map_or_else(report::default_path, Path::to_path_buf);
    let md = charts_dir.join("table.md");
    let md_text = format!("{}\n{summary}\n", report::markdown(&outcome.workloads));
    if let Err(e) = std::fs::create_dir_all(&charts_dir).and_then(|()| std::fs::write(&md, md_text))
    {
        eprintln!("gort-bench: {}: {e}", md.display());
    }
    match plot::write_all(&charts_dir, &outcome.workloads, &table, &summary) {
        Ok(files) => {
            if let Some(index) = files.last() {
                println!("charts: {} ({} files)", index.display(), files.len());
            }
        }
        Err(e) => eprintln!("gort-bench: charts: {e}"),
    }
    let rep = report::Report {
        tool: "gort-bench",
        version: env!("CARGO_PKG_VERSION"),
        finished_unix_s: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        wall_s,
        quick: opts.quick,
        runs: opts.runs,
        warmup: opts.warmup,
        host,
        loadavg_after: report::loadavg(),
        revision,
        outcome: &outcome,
    };
    let mut code: u8 = 0;
    match report::write_json(&path, &rep) {
        Ok(()) => println!("report: {}", path.display()),
        Err(e) => {
            eprintln!("gort-bench: writing {}: {e}", path.display());
            code = 1;
        }
    }

    // A peer that fails (may out of stack memory at 1M coroutines) is a
    // result, shown in the table; gort failing is an error of this run.
    let failed = |side: workload::Side| {
        outcome
            .workloads
            .iter()
            .flat_map(|w| &w.contenders)
            .any(|c| c.side == side && !c.errors.is_empty())
    };
    if failed(workload::Side::Gort) {
        eprintln!("gort-bench: some gort runs failed or timed out (see the table and the report)");
        code = 1;
    } else if failed(workload::Side::Peer) {
        eprintln!("gort-bench: some peers' runs failed or timed out (see the table)");
    }
    if outcome.any_timed_out {
        // Threads of timed-out runs may still be blocked: end the process
        // without waiting for them (or running anything they might block).
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        std::process::exit(i32::from(code));
    }
    ExitCode::from(code)
}

fn list(all: &[workload::Workload], quick: bool) {
    for w in all {
        println!("{:<20} [{}] {}", w.name, w.family, w.about);
        println!("{:<20} sizes: {}", "", w.params(quick));
        for m in w.also {
            println!("{:<20} also: {} ({})", "", m.name, m.about);
        }
        for c in &w.contenders {
            let side = match c.side {
                workload::Side::Gort => "gort",
                workload::Side::Peer => "peer",
            };
            println!("{:<20}   {:<12} {side}  {}", "", c.name, c.label);
        }
    }
}
