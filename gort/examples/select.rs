//! Go by Example: select. `gort::select!` waits on several channel
//! operations at once and runs the case of whichever completes first, like
//! Go's `select`: here main waits on two channels, each fed by its own
//! goroutine, and handles each value as it arrives.

use std::time::Duration;

use gort::chan::Chan;

#[gort::main]
fn main() {
    let weather = Chan::new(0);
    let news = Chan::new(0);
    // Closed once the weather report was received (see below).
    let weather_taken = Chan::<()>::new(0);

    let (w, taken) = (weather.clone(), weather_taken.clone());
    gort::go(move || {
        gort::time::sleep(Duration::from_millis(10)); // stands in for work
        w.send("sunny").expect("main receives");
        // `weather` is unbuffered: the send returned, so main has it.
        taken.close();
    });

    let (n, taken) = (news.clone(), weather_taken.clone());
    gort::go(move || {
        // Go's example sleeps longer here to come second; a sleep only
        // makes that likely, waiting for the weather makes it certain
        // (and the output the same every run).
        taken.recv();
        n.send("no news").expect("main receives");
    });

    // Neither value is there yet: each select parks on both channels.
    for _ in 0..2 {
        gort::select! {
            recv(weather) -> msg => gort::println!("weather: {}", msg.unwrap()),
            recv(news) -> msg => gort::println!("news: {}", msg.unwrap()),
        }
    }
}
