package outfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// statFiles stats the names that are regular files; others (-, a built-in
// profile, a name that does not exist yet) are skipped: the reader says
// what is wrong with them.
func statFiles(names []string) (files []string, infos []fs.FileInfo) {
	for _, name := range names {
		if name == "" || name == "-" {
			continue
		}
		if fi, err := os.Stat(name); err == nil && fi.Mode().IsRegular() {
			files, infos = append(files, name), append(infos, fi)
		}
	}
	return files, infos
}

// CheckDistinct refuses a capture given twice, which would count every
// packet twice. Files are compared with os.SameFile, so ./a.pcap, a hard
// link or a symbolic link to a.pcap count as a.pcap.
func CheckDistinct(captures []string) error {
	names, infos := statFiles(captures)
	for i := range infos {
		for j := range i {
			if os.SameFile(infos[j], infos[i]) {
				if names[i] == names[j] {
					return fmt.Errorf("%s is given twice: name each capture once (it would count every packet twice)", names[i])
				}
				return fmt.Errorf("%s and %s are the same file: name each capture once (it would count every packet twice)", names[j], names[i])
			}
		}
	}
	return nil
}

// CheckOutput refuses an output (-o) that is one of the run's inputs
// (captures, profiles, reports): writing it would destroy the input.
// Files are compared with os.SameFile, not by name.
func CheckOutput(output string, inputs []string) error {
	if output == "" || output == "-" {
		return nil
	}
	fi, err := os.Stat(output)
	if err != nil {
		return nil // a new file cannot be an input
	}
	if fi.IsDir() {
		return fmt.Errorf("-o %s is a directory: name a file to write", output)
	}
	names, infos := statFiles(inputs)
	for i := range infos {
		if os.SameFile(infos[i], fi) {
			return fmt.Errorf("-o %s is the input %s: writing there would destroy it; name another file", output, names[i])
		}
	}
	return nil
}

// File is where a report, diff or draft goes. A file is written under a
// temporary name in its directory and renamed into place by Commit, so a
// run that fails or is interrupted never leaves half a report over a good
// one; standard output is written directly.
type File struct {
	w      io.Writer
	file   *os.File // the temporary file, nil for standard output
	dest   string   // the name it is renamed to
	direct *os.File // a device or FIFO written in place, closed by commit
}

// Open opens -o name (stdout for "" and "-") after CheckOutput has
// compared it with the inputs.
func Open(stdout io.Writer, name string, inputs []string) (*File, error) {
	if name == "" || name == "-" {
		return &File{w: stdout}, nil
	}
	if err := CheckOutput(name, inputs); err != nil {
		return nil, err
	}
	// Replace what a symbolic link points at, not the link.
	dest := name
	if real, err := filepath.EvalSymlinks(name); err == nil {
		dest = real
	}
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(dest); err == nil {
		if !fi.Mode().IsRegular() {
			// A device or a FIFO (-o /dev/null, -o /dev/stderr, a
			// named pipe) is written in place: renaming a file over
			// it would replace the device node itself.
			f, err := os.OpenFile(dest, os.O_WRONLY, 0)
			if err != nil {
				return nil, fmt.Errorf("-o %s: %w", name, err)
			}
			return &File{w: f, direct: f}, nil
		}
		mode = fi.Mode().Perm() // an existing report keeps its permissions
	}
	f, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("-o %s: %w", name, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("-o %s: %w", name, err)
	}
	return &File{w: f, file: f, dest: dest}, nil
}

// Write writes to the file (or standard output).
func (o *File) Write(p []byte) (int, error) { return o.w.Write(p) }

// Writer is where Write writes, for asking whether it is a terminal.
func (o *File) Writer() io.Writer { return o.w }

// Commit closes the temporary file and renames it into place; a failed
// write (err not nil) removes it instead and leaves any old file as it was.
func (o *File) Commit(err error) error {
	if o.direct != nil {
		if cerr := o.direct.Close(); err == nil {
			err = cerr
		}
		return err
	}
	if o.file == nil {
		return err
	}
	// A full disk shows only at close; a report cut short must not pass.
	cerr := o.file.Close()
	if err == nil {
		err = cerr
	}
	if err == nil {
		err = replace(o.file.Name(), o.dest)
	}
	if err != nil {
		os.Remove(o.file.Name())
	}
	return err
}

// replace renames the finished report tmp to dest. When dest is a regular
// file, it swaps the two names in one step where the system can and then
// removes the old report under tmp's name: a rename over an existing file
// makes ext4 (auto_da_alloc) write the new file's data out inside the
// rename, which for a 112 MB JSON report cost about what encoding JSON costs
// over text (see README, Performance). Either way dest holds the old report
// or the whole new one at every moment, and, as for a report written to a
// new name, nothing waits for the new report to reach the disk.
func replace(tmp, dest string) error {
	if fi, err := os.Lstat(dest); err == nil && fi.Mode().IsRegular() && exchange(tmp, dest) {
		return os.Remove(tmp) // the old report, now under tmp's name
	}
	return os.Rename(tmp, dest)
}

// Abort removes the temporary file of an output that will not be written.
func (o *File) Abort() { o.Commit(errors.New("aborted")) }
