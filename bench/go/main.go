// Command gortbench-go is the Go side of gort-bench: the same workloads,
// shapes, sizes and checks as the Rust contenders in bench/src/workloads,
// so one run can put Go beside gort and the Rust peers.
//
// Usage: gortbench-go <workload> [key=value ...]
//
// It runs the workload once and prints the measured time in nanoseconds on
// stdout (memory workloads: resident bytes per goroutine), then the run's
// CPU time as ` cpu=<seconds>` (measuredCPU). Workloads that
// measure more (binary_trees) print their own output first, then a last
// line of the nanoseconds and `key=value` words for the other metrics
// (gort_bench::sample on the Rust side). A failed check or a bad argument
// prints the reason on stderr and exits 1. As on the Rust side, setup
// (making channels, starting the parties) is outside the measurement:
// parties wait at a gate that opens when the clock starts.
//
// Two helpers are not workloads: `http_hello_server` (net/http's hello
// world, which gort-bench's load generator drives; its first line is its
// address) and `idle_hold` (the far ends of idle_connections' sockets).
package main

import (
	"fmt"
	"os"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type params map[string]int

func (p params) n(key string) int {
	v, ok := p[key]
	if !ok {
		fail("workload parameter %q missing", key)
	}
	return v
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gortbench-go: "+format+"\n", args...)
	os.Exit(1)
}

func check(what string, got, want uint64) {
	if got != want {
		fail("%s: got %d, want %d", what, got, want)
	}
}

func sumBelow(n int) uint64 { return uint64(n) * uint64(max(n-1, 0)) / 2 }

// party is one producer, consumer or other participant; it returns a
// checksum that the workload checks afterwards.
type party func() uint64

// timedParties starts every party on its own goroutine, waits until all
// are ready, then opens the gate and times until the last one returns.
func timedParties(parties []party) (time.Duration, uint64) {
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	sums := make([]uint64, len(parties))
	ready.Add(len(parties))
	done.Add(len(parties))
	for i, p := range parties {
		go func() {
			ready.Done()
			<-gate
			sums[i] = p()
			done.Done()
		}()
	}
	ready.Wait()
	start := time.Now()
	close(gate)
	done.Wait()
	elapsed := time.Since(start)
	var total uint64
	for _, s := range sums {
		total += s
	}
	return elapsed, total
}

// timedWorkers runs body(t) on n goroutines started together.
func timedWorkers(n int, body func(t int)) time.Duration {
	parties := make([]party, n)
	for t := range parties {
		parties[t] = func() uint64 { body(t); return 0 }
	}
	d, _ := timedParties(parties)
	return d
}

var sink uint64

func mutexCounter(p params) time.Duration {
	threads, iters := p.n("threads"), p.n("iters")
	var mu sync.Mutex
	var counter uint64
	d := timedWorkers(threads, func(int) {
		for range iters {
			mu.Lock()
			counter++
			mu.Unlock()
		}
	})
	check("sync.Mutex counter", counter, uint64(threads*iters))
	return d
}

func rwmutexReadHeavy(p params) time.Duration {
	threads, ops, every := p.n("threads"), p.n("ops"), p.n("write_every")
	var mu sync.RWMutex
	var value uint64
	d := timedWorkers(threads, func(t int) {
		var sum uint64
		for i := range ops {
			if (i+t*37)%every == 0 {
				mu.Lock()
				value++
				mu.Unlock()
			} else {
				mu.RLock()
				sum += value
				mu.RUnlock()
			}
		}
		mu.Lock()
		sink += sum
		mu.Unlock()
	})
	var want uint64
	for t := range threads {
		for i := range ops {
			if (i+t*37)%every == 0 {
				want++
			}
		}
	}
	check("sync.RWMutex value", value, want)
	return d
}

func waitgroupFanout(p params) time.Duration {
	rounds, fanout := p.n("rounds"), p.n("fanout")
	var wg sync.WaitGroup
	var ran atomic.Uint64
	start := time.Now()
	for range rounds {
		wg.Add(fanout)
		for range fanout {
			go func() {
				ran.Add(1)
				wg.Done()
			}()
		}
		wg.Wait()
	}
	d := time.Since(start)
	check("workers run", ran.Load(), uint64(rounds*fanout))
	return d
}

// spawnJoin: spawn a goroutine returning i, wait for its result; repeat.
func spawnJoin(p params) time.Duration {
	n := p.n("spawns")
	var sum uint64
	start := time.Now()
	for i := range n {
		result := make(chan uint64, 1)
		go func() { result <- uint64(i) }()
		sum += <-result
	}
	d := time.Since(start)
	check("sum of results", sum, sumBelow(n))
	return d
}

// spawnJoinBatched: spawn a batch, then collect every result.
func spawnJoinBatched(p params) time.Duration {
	batches, batch := p.n("batches"), p.n("batch")
	results := make([]uint64, batch)
	var wg sync.WaitGroup
	var sum uint64
	start := time.Now()
	for range batches {
		wg.Add(batch)
		for i := range batch {
			go func() { results[i] = uint64(i); wg.Done() }()
		}
		wg.Wait()
		for _, r := range results {
			sum += r
		}
	}
	d := time.Since(start)
	check("sum of results", sum, uint64(batches)*sumBelow(batch))
	return d
}

// spawnWaitGroup: start n goroutines that each add their index to a
// counter and call Done, then wait for all of them (many alive at once).
func spawnWaitGroup(p params) time.Duration {
	n := p.n("goroutines")
	var wg sync.WaitGroup
	var sum atomic.Uint64
	start := time.Now()
	wg.Add(n)
	for i := range n {
		go func() {
			sum.Add(uint64(i))
			wg.Done()
		}()
	}
	wg.Wait()
	d := time.Since(start)
	check("sum of indices", sum.Load(), sumBelow(n))
	return d
}

// sieve: the daisy-chain prime sieve from Go's documentation, one filter
// goroutine per prime found, until the `primes`-th prime. The generator
// stops at that prime and closes its channel, and each filter closes its
// output when its input closes, so every goroutine ends.
func sieve(p params) time.Duration {
	n := p.n("primes")
	if n == 0 {
		fail("primes must be at least 1")
	}
	limit := nthPrime(n)
	start := time.Now()
	ch := make(chan int)
	go func(out chan<- int) {
		for i := 2; i <= limit; i++ {
			out <- i
		}
		close(out)
	}(ch)
	var last int
	for k := range n {
		prime, ok := <-ch
		if !ok {
			fail("the chain closed after %d primes", k)
		}
		last = prime
		if k == n-1 {
			break
		}
		next := make(chan int)
		go func(in <-chan int, out chan<- int, prime int) {
			for v := range in {
				if v%prime != 0 {
					out <- v
				}
			}
			close(out)
		}(ch, next, prime)
		ch = next
	}
	d := time.Since(start)
	check("n-th prime", uint64(last), uint64(limit))
	return d
}

// sleepMany: n goroutines each sleep once, all at the same time; timed
// until the last wakes.
func sleepMany(p params) time.Duration {
	n, d := p.n("sleeps"), time.Duration(p.n("micros"))*time.Microsecond
	var wg sync.WaitGroup
	var woke atomic.Uint64
	start := time.Now()
	wg.Add(n)
	for range n {
		go func() {
			time.Sleep(d)
			woke.Add(1)
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	check("sleepers woken", woke.Load(), uint64(n))
	return elapsed
}

// blockingCalls: n goroutines each make one blocking system call (a
// thread sleep of d, rawSleep), all at the same time; timed until the
// last returns. sysmon hands each blocked goroutine's P to another thread.
func blockingCalls(p params) time.Duration {
	n, d := p.n("calls"), time.Duration(p.n("micros"))*time.Microsecond
	var wg sync.WaitGroup
	var returned atomic.Uint64
	start := time.Now()
	wg.Add(n)
	for range n {
		go func() {
			rawSleep(d)
			returned.Add(1)
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	check("blocking calls returned", returned.Load(), uint64(n))
	return elapsed
}

// nthPrime by trial division (the sieve's check).
func nthPrime(n int) int {
	found := 0
	for c := 2; ; c++ {
		prime := true
		for d := 2; d*d <= c; d++ {
			if c%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			found++
			if found == n {
				return c
			}
		}
	}
}

func split(messages, threads int) int {
	if threads == 0 || messages%threads != 0 {
		fail("messages=%d not a multiple of %d", messages, threads)
	}
	return messages / threads
}

func producer(tx chan<- uint64, first, count int) party {
	return func() uint64 {
		for v := first; v < first+count; v++ {
			tx <- uint64(v)
		}
		return 0
	}
}

func consumer(rx <-chan uint64, count int) party {
	return func() uint64 {
		var sum uint64
		for range count {
			sum += <-rx
		}
		return sum
	}
}

func finish(parties []party, messages int) time.Duration {
	d, sum := timedParties(parties)
	check("sum of received values", sum, sumBelow(messages))
	return d
}

func chanSeq(p params) time.Duration {
	messages, cp := p.n("messages"), p.n("cap")
	if cp == 0 {
		fail("seq needs a buffer (cap >= 1)")
	}
	c := make(chan uint64, cp)
	return finish([]party{func() uint64 {
		var sum uint64
		for next := 0; next < messages; {
			end := min(next+cp, messages)
			for v := next; v < end; v++ {
				c <- uint64(v)
			}
			for range end - next {
				sum += <-c
			}
			next = end
		}
		return sum
	}}, messages)
}

func chanSpsc(p params) time.Duration {
	messages := p.n("messages")
	c := make(chan uint64, p.n("cap"))
	return finish([]party{producer(c, 0, messages), consumer(c, messages)}, messages)
}

func chanMpsc(p params) time.Duration {
	messages, threads := p.n("messages"), p.n("threads")
	per := split(messages, threads)
	c := make(chan uint64, p.n("cap"))
	var parties []party
	for t := range threads {
		parties = append(parties, producer(c, t*per, per))
	}
	parties = append(parties, consumer(c, messages))
	return finish(parties, messages)
}

func chanMpmc(p params) time.Duration {
	messages, threads := p.n("messages"), p.n("threads")
	per := split(messages, threads)
	c := make(chan uint64, p.n("cap"))
	var parties []party
	for t := range threads {
		parties = append(parties, producer(c, t*per, per))
	}
	for range threads {
		parties = append(parties, consumer(c, per))
	}
	return finish(parties, messages)
}

const selectChans = 4

func selectRecv(rx *[selectChans]chan uint64) uint64 {
	select {
	case v := <-rx[0]:
		return v
	case v := <-rx[1]:
		return v
	case v := <-rx[2]:
		return v
	case v := <-rx[3]:
		return v
	}
}

func selectSend(tx *[selectChans]chan uint64, v uint64) {
	select {
	case tx[0] <- v:
	case tx[1] <- v:
	case tx[2] <- v:
	case tx[3] <- v:
	}
}

func makeSelectChans(cp int) *[selectChans]chan uint64 {
	var cs [selectChans]chan uint64
	for i := range cs {
		cs[i] = make(chan uint64, cp)
	}
	return &cs
}

func chanSelectRx(p params) time.Duration {
	messages := p.n("messages")
	per := split(messages, selectChans)
	cs := makeSelectChans(p.n("cap"))
	var parties []party
	for k := range selectChans {
		parties = append(parties, producer(cs[k], k*per, per))
	}
	parties = append(parties, func() uint64 {
		var sum uint64
		for range messages {
			sum += selectRecv(cs)
		}
		return sum
	})
	return finish(parties, messages)
}

func chanSelectBoth(p params) time.Duration {
	messages, threads := p.n("messages"), p.n("threads")
	per := split(messages, threads)
	cs := makeSelectChans(p.n("cap"))
	var parties []party
	for t := range threads {
		parties = append(parties, func() uint64 {
			for v := t * per; v < (t+1)*per; v++ {
				selectSend(cs, uint64(v))
			}
			return 0
		})
	}
	for range threads {
		parties = append(parties, func() uint64 {
			var sum uint64
			for range per {
				sum += selectRecv(cs)
			}
			return sum
		})
	}
	return finish(parties, messages)
}

func chanPingpong(p params) time.Duration {
	trips := p.n("round_trips")
	ping, pong := make(chan uint64), make(chan uint64)
	return finish([]party{
		func() uint64 {
			var sum uint64
			for v := range trips {
				ping <- uint64(v)
				sum += <-pong
			}
			return sum
		},
		func() uint64 {
			for range trips {
				pong <- <-ping
			}
			return 0
		},
	}, trips)
}

// residentBytes is VmRSS from /proc/self/status (Linux), as the Rust side
// reads it.
func residentBytes() uint64 { return statusBytes("VmRSS") }

// peakResidentBytes is VmHWM, the most this process has had resident.
func peakResidentBytes() uint64 { return statusBytes("VmHWM") }

func statusBytes(field string) uint64 {
	text, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fail("resident memory needs /proc/self/status (Linux): %v", err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kib, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				fail("bad %s line %q", field, line)
			}
			return kib * 1024
		}
	}
	fail("no %s line in /proc/self/status", field)
	return 0
}

// parkedMemory starts n goroutines that all block receiving from one
// channel and returns the resident memory growth per goroutine; then it
// closes the channel and checks that every one woke.
func parkedMemory(p params) float64 {
	n := p.n("goroutines")
	c := make(chan struct{})
	var started, finished sync.WaitGroup
	var woke atomic.Uint64
	before := residentBytes()
	started.Add(n)
	finished.Add(n)
	for range n {
		go func() {
			started.Done()
			if _, ok := <-c; !ok {
				woke.Add(1)
			}
			finished.Done()
		}()
	}
	started.Wait()
	time.Sleep(100 * time.Millisecond) // the last ones finish parking
	after := residentBytes()
	close(c)
	finished.Wait()
	check("goroutines woken by close", woke.Load(), uint64(n))
	return float64(after-min(before, after)) / float64(n)
}

// treeNode is a binary-trees node: two children, or none in a leaf.
type treeNode struct{ left, right *treeNode }

func bottomUpTree(depth int) *treeNode {
	if depth <= 0 {
		return &treeNode{}
	}
	return &treeNode{bottomUpTree(depth - 1), bottomUpTree(depth - 1)}
}

// check counts the nodes.
func (n *treeNode) check() uint64 {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.check() + n.right.check()
}

const minTreeDepth = 4

// treeLines is the output of binary-trees at maxDepth: the stretch tree's
// check, each depth's iterations and the sum of their checks, the
// long-lived tree's check.
func treeLines(maxDepth int, stretch uint64, sums []uint64, longLived uint64) []string {
	lines := []string{fmt.Sprintf("stretch tree of depth %d\t check: %d", maxDepth+1, stretch)}
	for i, d := 0, minTreeDepth; d <= maxDepth; i, d = i+1, d+2 {
		lines = append(lines, fmt.Sprintf("%d\t trees of depth %d\t check: %d", 1<<(maxDepth-d+minTreeDepth), d, sums[i]))
	}
	return append(lines, fmt.Sprintf("long lived tree of depth %d\t check: %d", maxDepth, longLived))
}

// gcPauseP99 is the 99th percentile of the stop-the-world GC pauses so far
// (0 if none), from the runtime's histogram: the upper bound of the
// bucket the 99th percentile falls in (buckets are a quarter of a power
// of two wide).
func gcPauseP99() time.Duration {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		fail("no /sched/pauses/total/gc:seconds metric in this Go")
	}
	h := s[0].Value.Float64Histogram()
	var total uint64
	for _, c := range h.Counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := (total*99 + 99) / 100 // ceil(0.99 * total)
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			upper := h.Buckets[i+1]
			if upper > 1e9 { // the last bucket is open: +Inf
				upper = h.Buckets[i]
			}
			return time.Duration(upper * 1e9)
		}
	}
	return 0
}

// binaryTrees is the Benchmarks Game's binary-trees (gort_bench::trees on
// the Rust side): a stretch tree of depth+1, a long-lived tree of depth,
// then for d = 4, 6, ... depth, 2^(depth-d+4) trees of depth d built and
// checked, a goroutine per d; the long-lived tree checked last. Prints
// the program's output, checks it against the node counts, and returns
// the time, peak resident bytes and GC pause p99 (milliseconds).
func binaryTrees(p params) string {
	maxDepth := max(p.n("depth"), minTreeDepth+2)
	start := time.Now()
	stretch := bottomUpTree(maxDepth + 1).check()
	longLived := bottomUpTree(maxDepth)
	sums := make([]uint64, (maxDepth-minTreeDepth)/2+1)
	var wg sync.WaitGroup
	for i := range sums {
		d := minTreeDepth + 2*i
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sum uint64
			for range 1 << (maxDepth - d + minTreeDepth) {
				sum += bottomUpTree(d).check()
			}
			sums[i] = sum
		}()
	}
	wg.Wait()
	longCheck := longLived.check()
	elapsed := time.Since(start)

	nodes := func(d int) uint64 { return 1<<(d+1) - 1 }
	want := make([]uint64, len(sums))
	for i := range want {
		d := minTreeDepth + 2*i
		want[i] = (1 << (maxDepth - d + minTreeDepth)) * nodes(d)
	}
	got := treeLines(maxDepth, stretch, sums, longCheck)
	for i, line := range treeLines(maxDepth, nodes(maxDepth+1), want, nodes(maxDepth)) {
		if got[i] != line {
			fail("wrong checksum: got %q, want %q", got[i], line)
		}
	}
	fmt.Println(strings.Join(got, "\n"))
	pause := float64(gcPauseP99()) / float64(time.Millisecond)
	return fmt.Sprintf("%d peak_rss=%d pause_p99=%g", elapsed.Nanoseconds(), peakResidentBytes(), pause)
}

// memoryWorkloads print bytes per item instead of nanoseconds.
var memoryWorkloads = map[string]func(params) float64{
	"parked_memory":      parkedMemory,
	"parked_memory_many": parkedMemory,
	"idle_connections":   idleConnections,
}

// reportingWorkloads print their own output and their last line.
var reportingWorkloads = map[string]func(params) string{
	"binary_trees": binaryTrees,
	"tcp_echo":     tcpEcho,
}

// helpers are not workloads (--list leaves them out): a server the Rust
// load generator drives, the far ends of idle_connections.
var helpers = map[string]func(params){
	"http_hello_server": httpHelloServer,
	"idle_hold":         idleHold,
}

var workloads = map[string]func(params) time.Duration{
	"mutex_contended":    mutexCounter,
	"mutex_uncontended":  mutexCounter,
	"rwmutex_read_heavy": rwmutexReadHeavy,
	"waitgroup_fanout":   waitgroupFanout,
	"spawn_join":         spawnJoin,
	"spawn_join_batched": spawnJoinBatched,
	"spawn_waitgroup":    spawnWaitGroup,
	"sieve":              sieve,
	"sleep_many":         sleepMany,
	"blocking_calls":     blockingCalls,
	"chan_pingpong":      chanPingpong,
}

func init() {
	shapes := map[string]func(params) time.Duration{
		"seq": chanSeq, "spsc": chanSpsc, "mpsc": chanMpsc, "mpmc": chanMpmc,
		"select_rx": chanSelectRx, "select_both": chanSelectBoth,
	}
	for shape, run := range shapes {
		for _, c := range []string{"bounded0", "bounded1", "boundedN"} {
			if shape == "seq" && c == "bounded0" {
				continue
			}
			workloads["chan_"+shape+"_"+c] = run
		}
	}
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--list" {
		var names []string
		for name := range workloads {
			names = append(names, name)
		}
		for name := range memoryWorkloads {
			names = append(names, name)
		}
		for name := range reportingWorkloads {
			names = append(names, name)
		}
		sort.Strings(names)
		fmt.Println(strings.Join(names, "\n"))
		return
	}
	if len(os.Args) < 2 {
		fail("usage: gortbench-go <workload> [key=value ...] | --list")
	}
	helper, isHelper := helpers[os.Args[1]]
	run, timed := workloads[os.Args[1]]
	measure, ok := memoryWorkloads[os.Args[1]]
	report, reporting := reportingWorkloads[os.Args[1]]
	if !timed && !ok && !reporting && !isHelper {
		fail("unknown workload %q (--list shows them)", os.Args[1])
	}
	p := params{}
	for _, arg := range os.Args[2:] {
		key, value, found := strings.Cut(arg, "=")
		n, err := strconv.Atoi(value)
		if !found || err != nil || n < 0 {
			fail("bad parameter %q (want key=count)", arg)
		}
		p[key] = n
	}
	if isHelper {
		helper(p)
		return
	}
	var line string
	cpu := measuredCPU(func() {
		if timed {
			line = strconv.FormatInt(run(p).Nanoseconds(), 10)
		} else if reporting {
			line = report(p)
		} else {
			line = fmt.Sprint(measure(p))
		}
	})
	fmt.Println(line + cpu)
}

// settleCPU waits (at most a second) until the process is quiet: a 10 ms
// window in which it used less than 1 ms of CPU; it returns the CPU time
// at that window's start (gort_bench::cpu, the same rule).
func settleCPU() (time.Duration, bool) {
	started := time.Now()
	before, ok := processCPU()
	for ok {
		time.Sleep(10 * time.Millisecond)
		now, _ := processCPU()
		if now-before < time.Millisecond || time.Since(started) >= time.Second {
			return before, true
		}
		before = now
	}
	return 0, false
}

// measuredCPU runs f and returns the result line's cpu= word: the CPU
// seconds of the process from before f until it is quiet after it ("" if
// there is no reading).
func measuredCPU(f func()) string {
	before, ok := settleCPU()
	f()
	after, ok2 := settleCPU()
	if !ok || !ok2 {
		return ""
	}
	return fmt.Sprintf(" cpu=%g", (after - before).Seconds())
}
