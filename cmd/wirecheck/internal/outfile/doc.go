// Package outfile writes the command's outputs (-o) safely: a capture named
// twice or an output that is one of the run's inputs is refused before
// anything is read (files compared with os.SameFile, not by name), and a
// file is written under a temporary name beside it and renamed into place
// only when the whole output was written, so that a failed or interrupted
// run never leaves half a report over a good one. An existing file is
// replaced by swapping the two names (renameat2 RENAME_EXCHANGE, on Linux)
// and removing the old one, which keeps ext4 from writing the new file out
// inside the rename. Devices and FIFOs are written in place; standard
// output directly.
//
// A File is used by one goroutine.
package outfile
