//go:build !linux

package pages

func madvise(start, n uintptr, advice int) {}

const (
	adviseHuge = iota
	adviseWrite
	adviseRead
)
