// bench/runtimes/ticker.go — the Go job of the checkpoint/restore benchmark:
// goroutines on tickers (the Go runtime's threads, epoll, timers). Prints
// "ready" once each ticks; on a byte on stdin it waits for a few more ticks of
// each and prints "ok TICKS".
package main

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

func main() {
	var ticks [4]atomic.Int64
	for g := range ticks {
		go func(g int) {
			t := time.NewTicker(5 * time.Millisecond)
			for range t.C {
				ticks[g].Add(1)
			}
		}(g)
	}
	each := func(min int64) bool {
		for g := range ticks {
			if ticks[g].Load() <= min {
				return false
			}
		}
		return true
	}
	for !each(3) {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("ready")
	b := make([]byte, 1)
	os.Stdin.Read(b)
	var at int64
	for g := range ticks {
		if v := ticks[g].Load(); v > at {
			at = v
		}
	}
	for !each(at + 3) {
		time.Sleep(time.Millisecond)
	}
	var sum int64
	for g := range ticks {
		sum += ticks[g].Load()
	}
	fmt.Println("ok", sum)
}
