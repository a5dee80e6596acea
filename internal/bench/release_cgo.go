//go:build linux && cgo

package bench

/*
#include <malloc.h>

// The SQLite that mattn/go-sqlite3 compiles into this binary.
extern long long sqlite3_memory_used(void);
*/
import "C"

// releaseCHeap hands the C heap's free pages back to the kernel. SQLite
// allocates through malloc, and glibc keeps what earlier scenarios' page
// caches freed, so without this a scenario's RSS would carry the memory
// the ones before it used and gave back.
func releaseCHeap() { C.malloc_trim(0) }

// sqliteHeapMB is the memory SQLite holds, page caches included.
func sqliteHeapMB() float64 { return float64(C.sqlite3_memory_used()) / (1 << 20) }
