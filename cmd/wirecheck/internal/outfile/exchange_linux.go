package outfile

import "golang.org/x/sys/unix"

// exchange swaps the names tmp and dest in one step (renameat2
// RENAME_EXCHANGE) and reports whether it did. It fails, changing nothing,
// where dest does not exist or the file system has no exchange; the caller
// then renames.
func exchange(tmp, dest string) bool {
	return unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dest, unix.RENAME_EXCHANGE) == nil
}
