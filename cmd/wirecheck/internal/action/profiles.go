package action

import (
	"fmt"

	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/internal/textout"
)

// CheckProfiles loads each profile file with what it includes and says on
// Streams.Out that it is ok and how many rules it gives, a line each; the
// first that does not load ends it with profile's error, which names
// file:line:column.
func CheckProfiles(files []string, s Streams) error {
	for _, f := range files {
		set, err := profile.Load(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "%s: ok (%s with what it includes)\n", f, textout.Count(uint64(len(set.Rules())), "rule"))
	}
	return nil
}
