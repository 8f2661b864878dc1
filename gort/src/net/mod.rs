//! Layer 7: `gort::net`, sockets whose blocking calls park the goroutine
//! on the scheduler's netpoller (`task::netpoll`) instead of blocking its
//! thread, with std::net's names, signatures and errors, plus Go's
//! deadlines.

#[allow(dead_code)] // until the socket types use all of it
mod registration;
