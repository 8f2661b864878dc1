mod common;
use gort::chan::Chan;
use std::time::Duration;

#[test]
fn smoke() {
    common::each_scheduler("smoke", Duration::from_secs(20), || {
        let c = Chan::new(0);
        let c2 = c.clone();
        let h = gort::spawn(move || {
            for i in 0..1000 {
                c2.send(i).unwrap();
            }
            c2.close();
        });
        let mut sum = 0;
        for v in &c {
            sum += v;
        }
        h.join().unwrap();
        assert_eq!(sum, 499500);
        let d = Chan::<i32>::new(3);
        d.send(1).unwrap();
        d.send(2).unwrap();
        assert_eq!(d.len(), 2);
        d.close();
        assert_eq!(d.recv(), Some(1));
        assert_eq!(d.recv(), Some(2));
        assert_eq!(d.recv(), None);
        assert!(d.send(5).is_err());
        let e = Chan::<i32>::new(0);
        assert_eq!(
            e.recv_timeout(Duration::from_millis(20)),
            Err(gort::chan::RecvTimeoutError::Timeout)
        );
        let t = std::time::Instant::now();
        gort::time::sleep(Duration::from_millis(30));
        assert!(t.elapsed() >= Duration::from_millis(30));
        let a = gort::time::after(Duration::from_millis(10));
        assert!(a.recv().is_some());
        let (x, y) = (Chan::<i32>::new(0), Chan::<i32>::new(0));
        let r = gort::select! {
            recv(x) -> v => v.unwrap(),
            recv(y) -> v => v.unwrap(),
            default(Duration::from_millis(10)) => -1,
        };
        assert_eq!(r, -1);
    });
}
