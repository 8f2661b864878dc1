//! A web crawler with bounded parallelism (after the Go tour's crawler
//! exercise), over a small fake web in memory that has cycles and dead
//! links. Each URL gets its own goroutine, but a `Semaphore` lets at most
//! `LIMIT` fetch at once (Go's buffered-channel semaphore); main alone
//! keeps the visited set, so no URL is fetched twice.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gort::chan::Chan;
use gort::sync::{Mutex, Semaphore};

/// Fetches in flight at most.
const LIMIT: usize = 3;
/// Links on pages this deep are not followed.
const MAX_DEPTH: usize = 3;
const HOME: &str = "https://gort.example/";

/// A fetched page: its title and the URLs it links to.
struct Page {
    title: &'static str,
    links: Vec<String>,
}

/// The fake web: URL -> (title, links). It counts every fetch per URL.
struct FakeWeb {
    pages: HashMap<String, (&'static str, Vec<&'static str>)>,
    fetches: Mutex<HashMap<String, usize>>,
}

impl FakeWeb {
    fn new() -> Self {
        let site: [(&str, &str, &[&str]); 13] = [
            ("", "Home", &["docs", "blog", "about", "careers", ""]),
            (
                "docs",
                "Docs",
                &["docs/chan", "docs/select", "docs/sync", ""],
            ),
            ("blog", "Blog", &["blog/2024", "blog/2025", "docs"]),
            ("about", "About us", &["team", ""]),
            (
                "docs/chan",
                "Channels",
                &["docs/select", "docs/chan/examples"],
            ),
            ("docs/select", "Select", &["docs/chan"]),
            ("docs/sync", "Sync", &["docs/sync/old", "docs"]),
            ("blog/2024", "Posts of 2024", &["blog/2025", "blog"]),
            ("blog/2025", "Posts of 2025", &["blog/2024", "blog/draft"]),
            ("team", "The team", &["about"]),
            (
                "docs/chan/examples",
                "Examples",
                &["docs/chan/examples/more"],
            ),
            ("blog/draft", "Draft", &["blog"]),
            // Exists, but four links from home: past MAX_DEPTH.
            ("docs/chan/examples/more", "More examples", &[]),
        ];
        let pages = site
            .into_iter()
            .map(|(path, title, links)| {
                let links = links.to_vec();
                (format!("{HOME}{path}"), (title, links))
            })
            .collect();
        FakeWeb {
            pages,
            fetches: Mutex::new(HashMap::new()),
        }
    }

    /// Fetches `url`, taking a little while as a real fetch would.
    fn fetch(&self, url: &str) -> Result<Page, String> {
        *self.fetches.lock().entry(url.to_string()).or_default() += 1;
        gort::time::sleep(Duration::from_millis(5));
        match self.pages.get(url) {
            Some((title, links)) => Ok(Page {
                title,
                links: links.iter().map(|l| format!("{HOME}{l}")).collect(),
            }),
            None => Err("not found".to_string()),
        }
    }
}

/// Counts fetches in flight and remembers the most there ever were.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

#[gort::main]
fn main() {
    let web = Arc::new(FakeWeb::new());
    let permits = Arc::new(Semaphore::new(LIMIT));
    let gauge = Arc::new(Gauge::default());

    // Breadth first, one depth at a time: a page's depth is then its
    // shortest distance from home, whichever fetch finishes first.
    let mut visited = HashSet::from([HOME.to_string()]);
    let mut frontier = vec![HOME.to_string()];
    let mut not_followed = HashSet::new();
    for depth in 0..=MAX_DEPTH {
        let results = Chan::new(frontier.len());
        for url in frontier.drain(..) {
            let (web, permits, gauge) = (web.clone(), permits.clone(), gauge.clone());
            let results = results.clone();
            gort::go(move || {
                permits.acquire();
                let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
                gauge.max.fetch_max(now, Ordering::SeqCst);
                let page = web.fetch(&url);
                gauge.now.fetch_sub(1, Ordering::SeqCst);
                permits.release();
                results.send((url, page)).unwrap();
            });
        }
        // Collect the whole level, then print it sorted: the fetches
        // finish in any order.
        let mut level: Vec<_> = (0..results.cap())
            .map(|_| results.recv().unwrap())
            .collect();
        level.sort_by(|a, b| a.0.cmp(&b.0));
        for (url, page) in level {
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    gort::println!("depth {depth}: {url}: error: {e}");
                    continue;
                }
            };
            gort::println!("depth {depth}: {url} {:?}", page.title);
            for link in page.links {
                if visited.contains(&link) {
                    continue;
                }
                if depth == MAX_DEPTH {
                    not_followed.insert(link);
                } else {
                    visited.insert(link.clone());
                    frontier.push(link);
                }
            }
        }
    }
    gort::println!(
        "links not followed past depth {MAX_DEPTH}: {}",
        not_followed.len()
    );

    let fetches = web.fetches.lock();
    gort::println!(
        "fetches: {}, distinct urls: {}",
        fetches.values().sum::<usize>(),
        fetches.len()
    );
    gort::println!(
        "max fetches in flight: {} (limit {LIMIT})",
        gauge.max.load(Ordering::SeqCst)
    );
}
