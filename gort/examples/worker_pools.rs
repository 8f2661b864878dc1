//! Go by Example: worker pools. Three goroutines take jobs from one
//! channel and put results on another; closing the jobs channel ends each
//! worker's `for job in &jobs` loop (Go's `for j := range jobs`). The
//! directional views `RecvOnly`/`SendOnly` are Go's `<-chan` and `chan<-`.

use std::time::Duration;

use gort::chan::{Chan, RecvOnly, SendOnly};

const WORKERS: usize = 3;
const JOBS: u64 = 6;

fn worker(id: usize, jobs: RecvOnly<u64>, results: SendOnly<u64>) {
    for job in &jobs {
        gort::println!("worker {id} starts job {job}");
        // Stands in for real work; the sleep parks only this goroutine.
        gort::time::sleep(Duration::from_millis(10));
        gort::println!("worker {id} finished job {job}");
        results
            .send(job * job)
            .expect("main keeps the results open");
    }
}

#[gort::main]
fn main() {
    // Buffered for every job, so main can queue them all without waiting.
    let jobs = Chan::new(JOBS as usize);
    let results = Chan::new(JOBS as usize);

    for id in 1..=WORKERS {
        let (jobs, results) = (jobs.recv_only(), results.send_only());
        gort::go(move || worker(id, jobs, results));
    }

    for job in 1..=JOBS {
        jobs.send(job).expect("jobs is open");
    }
    jobs.close(); // no more jobs: each worker's loop ends once it is drained

    // One result per job; which worker produced it varies, the values don't.
    // With three workers the six 10 ms jobs take about 20 ms, not 60.
    let mut squares: Vec<u64> = (0..JOBS).map(|_| results.recv().unwrap()).collect();
    squares.sort_unstable();
    let squares: Vec<String> = squares.iter().map(u64::to_string).collect();
    gort::println!("squares: {}", squares.join(" "));
}
