//go:build linux && cgo

package bench

/*
#include <malloc.h>
*/
import "C"

// releaseCHeap hands the C heap's free pages back to the kernel. SQLite
// allocates through malloc, and glibc keeps what earlier scenarios' page
// caches freed, so without this a scenario's RSS would carry the memory
// the ones before it used and gave back.
func releaseCHeap() { C.malloc_trim(0) }
