package textout

import (
	"fmt"
	"strings"
)

// Formats are the formats a package writes something in, each a name and
// its writer W, in the order to list them: one list, so the names a
// command offers, the check it makes before a run and the writer it then
// calls cannot disagree, and every package refuses a name in the same
// words. what names what they write ("report", "diff", "draft").
type Formats[W any] struct {
	what string
	list []Format[W]
}

// Format is a named writer.
type Format[W any] struct {
	Name  string
	Write W
}

// FormatsOf lists the formats of what.
func FormatsOf[W any](what string, list ...Format[W]) Formats[W] {
	return Formats[W]{what, list}
}

// Named is Format{name, write}, with W inferred.
func Named[W any](name string, write W) Format[W] { return Format[W]{name, write} }

// Names returns the formats' names in their order.
func (fs Formats[W]) Names() []string {
	names := make([]string, len(fs.list))
	for i, f := range fs.list {
		names[i] = f.Name
	}
	return names
}

// Writer returns the writer of the format name, or an error that lists
// the names there are.
func (fs Formats[W]) Writer(name string) (W, error) {
	for _, f := range fs.list {
		if f.Name == name {
			return f.Write, nil
		}
	}
	var none W
	return none, fmt.Errorf("no %s format %q: use one of %s", fs.what, name, strings.Join(fs.Names(), ", "))
}

// Check says whether name is one of the formats, in Writer's words: a
// command checks before a run that ends in writing it.
func (fs Formats[W]) Check(name string) error {
	_, err := fs.Writer(name)
	return err
}
