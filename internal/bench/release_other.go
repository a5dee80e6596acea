//go:build !linux || !cgo

package bench

// releaseCHeap has nothing to do where malloc_trim is not available.
func releaseCHeap() {}

// sqliteHeapMB is not read without cgo.
func sqliteHeapMB() float64 { return 0 }
