// The network family (bench/src/workloads/net on the Rust side): TCP echo
// over loopback, the hello HTTP server the Rust load generator drives, and
// the resident memory of idle connections.

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// echoMessage is the size of every echoed message.
const echoMessage = 64

// echoByte is byte j of message i on connection c, the same pattern the
// Rust contenders send and check.
func echoByte(c, i, j int) byte { return byte(c*131 + i*7 + j) }

// echoServe copies what conn sends back to it until EOF.
func echoServe(conn net.Conn) {
	defer conn.Close()
	var buf [1024]byte
	for {
		n, err := conn.Read(buf[:])
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// echoClient sends msgs messages of echoMessage bytes one at a time and
// checks each echo; it returns the bytes checked.
func echoClient(conn net.Conn, id, msgs int) uint64 {
	var out, in [echoMessage]byte
	var checked uint64
	for i := range msgs {
		for j := range out {
			out[j] = echoByte(id, i, j)
		}
		if _, err := conn.Write(out[:]); err != nil {
			fail("echo write: %v", err)
		}
		if _, err := io.ReadFull(conn, in[:]); err != nil {
			fail("echo read: %v", err)
		}
		if in != out {
			fail("connection %d message %d: echo differs", id, i)
		}
		checked += echoMessage
	}
	return checked
}

// osThreads is the process's thread count now (/proc/self/stat). Go's
// runtime keeps every thread it started until the process ends (save those
// of goroutines that exit locked to theirs, which none here do), so at the
// end of a run it is the run's peak.
func osThreads() int {
	text, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		fail("thread count needs /proc/self/stat (Linux): %v", err)
	}
	// Field 20 (num_threads), counted after the command's closing paren.
	fields := strings.Fields(string(text[strings.LastIndexByte(string(text), ')')+1:]))
	n, err := strconv.Atoi(fields[17])
	if err != nil {
		fail("bad /proc/self/stat: %q", text)
	}
	return n
}

// tcpEcho: connections clients connect to one listener (a goroutine per
// accepted connection echoes), wait at a gate, then each echoes messages
// messages one round trip at a time. Timed from the gate to the last
// client's last echo; prints the nanoseconds and the OS threads.
func tcpEcho(p params) string {
	conns, msgs := p.n("connections"), p.n("messages")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go echoServe(c)
		}
	}()
	clients := make([]net.Conn, conns)
	for i := range clients {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			fail("connect %d: %v", i, err)
		}
		clients[i] = c
	}
	parties := make([]party, conns)
	for i, c := range clients {
		parties[i] = func() uint64 {
			defer c.Close()
			return echoClient(c, i, msgs)
		}
	}
	d, checked := timedParties(parties)
	check("echoed bytes checked", checked, uint64(conns*msgs*echoMessage))
	return fmt.Sprintf("%d threads=%d", d.Nanoseconds(), osThreads())
}

// untilStdinCloses ends the process when its parent closes our stdin (or
// dies), so a server never outlives the run that started it.
func untilStdinCloses() {
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		if cpu, ok := processCPU(); ok {
			fmt.Printf("cpu=%g\n", cpu.Seconds())
		}
		os.Exit(0)
	}()
}

// httpHelloServer serves net/http's hello world on a loopback port: GET /
// answers "Hello, World!\n", any other path 404. Its first line is the
// address; it runs until stdin closes, then prints its CPU seconds so far
// (`cpu=<seconds>`) and exits.
func httpHelloServer(params) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "Hello, World!\n")
	})
	fmt.Println(ln.Addr())
	untilStdinCloses()
	if err := http.Serve(ln, mux); err != nil {
		fail("serve: %v", err)
	}
}

// idleConnections: a listener accepts connections from a holder process
// (this program again, idleHold), a goroutine per connection blocked
// reading one byte; returns the resident set's growth per connection from
// before the first to after the last, then the holder closes them all and
// every reader must see EOF. Two processes, because 10,000 connections on
// loopback are 20,000 descriptors: past a common hard limit for one.
func idleConnections(p params) float64 {
	n := p.n("connections")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	defer ln.Close()
	var started, finished sync.WaitGroup
	var eof atomic.Uint64
	started.Add(n)
	finished.Add(n)
	before := residentBytes()
	release, held := startHolder(ln.Addr().(*net.TCPAddr).Port, n)
	for range n {
		c, err := ln.Accept()
		if err != nil {
			fail("accept: %v", err)
		}
		go func() {
			defer finished.Done()
			var b [1]byte
			started.Done()
			if _, err := c.Read(b[:]); err == io.EOF {
				eof.Add(1)
			}
			c.Close()
		}()
	}
	started.Wait()
	if line := <-held; line != fmt.Sprintf("held %d", n) {
		fail("holder: %q", line)
	}
	time.Sleep(100 * time.Millisecond) // the last ones finish parking
	after := residentBytes()
	release()
	finished.Wait()
	check("idle readers woken by EOF", eof.Load(), uint64(n))
	return float64(after-min(before, after)) / float64(n)
}

// startHolder runs idleHold in a child; it hands back the child's first
// line, and a release that closes the child's stdin (it then closes every
// connection and exits) and waits for it.
func startHolder(port, n int) (func(), <-chan string) {
	cmd := exec.Command(os.Args[0], "idle_hold", fmt.Sprintf("port=%d", port), fmt.Sprintf("connections=%d", n))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		fail("holder pipe: %v", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		fail("holder pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		fail("start holder: %v", err)
	}
	held := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		held <- strings.TrimSpace(line)
	}()
	release := func() {
		_ = in.Close()
		if err := cmd.Wait(); err != nil {
			fail("holder: %v", err)
		}
	}
	return release, held
}

// idleHold opens connections connections to 127.0.0.1:port, says "held
// N", and keeps them open until stdin closes.
func idleHold(p params) {
	port, n := p.n("port"), p.n("connections")
	conns := make([]net.Conn, 0, n)
	for i := range n {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			fail("holder connect %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	fmt.Printf("held %d\n", len(conns))
	_, _ = io.Copy(io.Discard, os.Stdin)
}
