package profile

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
)

//go:embed builtin
var builtinFS embed.FS

// builtins parses the whole embedded catalogue once, for listing it.
var builtins = sync.OnceValues(func() (map[string]*Profile, error) {
	m := map[string]*Profile{}
	err := fs.WalkDir(builtinFS, "builtin", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || path.Ext(p) != ".yaml" {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, "builtin/"), ".yaml")
		prof, _, err := parseBuiltin(name)
		if err != nil {
			return err
		}
		m[name] = prof
		return nil
	})
	return m, err
})

// parsed caches the built-in profiles parsed so far. A run parses only
// those it names and includes: parsing all 29 was half the page faults
// and most of the start-up time of an analyse of a small capture.
var parsed struct {
	sync.Mutex
	m map[string]builtinResult
}

type builtinResult struct {
	p   *Profile
	err error
}

// parseBuiltin parses the built-in profile called name; found is false
// when there is none.
func parseBuiltin(name string) (p *Profile, found bool, err error) {
	parsed.Lock()
	defer parsed.Unlock()
	if r, ok := parsed.m[name]; ok {
		return r.p, true, r.err
	}
	data, err := builtinFS.ReadFile("builtin/" + name + ".yaml")
	if err != nil {
		return nil, false, nil // no such file, or not a valid name (../x): not built in
	}
	p, err = Parse("builtin:"+name, data)
	if err == nil && p.Name != name {
		p, err = nil, fmt.Errorf("builtin:%s: declares profile %q; a built-in profile's name is its path", name, p.Name)
	}
	if parsed.m == nil {
		parsed.m = map[string]builtinResult{}
	}
	parsed.m[name] = builtinResult{p, err}
	return p, true, err
}

// Builtins returns the built-in profiles sorted by name.
func Builtins() ([]*Profile, error) {
	m, err := builtins()
	if err != nil {
		return nil, err
	}
	out := make([]*Profile, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Profile) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Builtin returns the built-in profile called name. A built-in that does
// not parse (a bug the catalogue tests catch) is reported as absent here
// and as an error by Load.
func Builtin(name string) (*Profile, bool) {
	p, _, err := parseBuiltin(name)
	return p, p != nil && err == nil
}

// Set is a composition of profiles: those the user named and everything
// they include, each once, includes before the profiles that include them.
type Set struct {
	Profiles []*Profile
	byName   map[string]*Profile
	// builtin finds an included profile: Builtin, or a test's catalogue.
	builtin func(string) (*Profile, bool)
}

// maxIncludeDepth bounds include chains; real ones are two deep.
const maxIncludeDepth = 16

// Load composes the profiles named by refs. A ref is a built-in profile name
// or a file path; a name that is a built-in profile is always the built-in.
func Load(refs ...string) (*Set, error) {
	return LoadWith(readLimited, refs...)
}

// readLimited reads a profile file, but never more than one byte beyond
// MaxFileSize, for Parse to refuse: a profile named /dev/zero or a huge
// file costs a megabyte, not all memory.
func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileSize+1))
}

// LoadWith is Load with the function that reads user files.
func LoadWith(readFile func(string) ([]byte, error), refs ...string) (*Set, error) {
	return load(Builtin, readFile, refs...)
}

func load(builtin func(string) (*Profile, bool), readFile func(string) ([]byte, error), refs ...string) (*Set, error) {
	s := &Set{byName: map[string]*Profile{}, builtin: builtin}
	for _, ref := range refs {
		if _, found, err := parseBuiltin(ref); found && err != nil {
			return nil, fmt.Errorf("built-in profiles: %w", err)
		}
		p, ok := builtin(ref)
		if !ok {
			data, err := readFile(ref)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("profile %s: no built-in profile of that name and no such file (list them with: wirecheck profiles)", ref)
				}
				return nil, fmt.Errorf("profile %w", err)
			}
			if p, err = Parse(ref, data); err != nil {
				return nil, err
			}
		}
		if err := s.add(p, Pos{}, nil); err != nil {
			return nil, err
		}
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

// add adds p after what it includes. at is where p was included from (the
// zero Pos for a profile the user named): errors about p point there.
func (s *Set) add(p *Profile, at Pos, stack []string) error {
	if at.File == "" {
		at = p.namePos
	}
	if prev, ok := s.byName[p.Name]; ok {
		if prev != p {
			return &Error{p.namePos, fmt.Sprintf("profile %q is also defined by %s; give one of them another name", p.Name, prev.File)}
		}
		return nil
	}
	if slices.Contains(stack, p.Name) {
		return &Error{at, fmt.Sprintf("include cycle: %s -> %s", strings.Join(stack, " -> "), p.Name)}
	}
	if len(stack) >= maxIncludeDepth {
		return &Error{at, fmt.Sprintf("includes nested more than %d deep", maxIncludeDepth)}
	}
	stack = append(stack, p.Name)
	for i, inc := range p.Includes {
		incPos := Pos{File: p.File}
		if i < len(p.includePos) {
			incPos = p.includePos[i]
		}
		ip, ok := s.builtin(inc)
		if !ok {
			return &Error{incPos, fmt.Sprintf("include %q: no built-in profile of that name (list them with: wirecheck profiles)", inc)}
		}
		if err := s.add(ip, incPos, stack); err != nil {
			return err
		}
	}
	s.byName[p.Name] = p
	s.Profiles = append(s.Profiles, p)
	return nil
}

// check resolves every rule's peer groups.
func (s *Set) check() error {
	for _, p := range s.Profiles {
		for i := range p.Rules {
			r := &p.Rules[i]
			for _, ref := range []struct {
				name string
				pos  Pos
			}{{r.From, r.fromPos}, {r.To, r.toPos}} {
				if _, ok := s.Group(p.Name, ref.name); !ok && ref.name != PeerHost && ref.name != PeerAny {
					return &Error{ref.pos, fmt.Sprintf("rule %s: peer group %q is not defined in profile %s or what it includes", r.Name, ref.name, p.Name)}
				}
			}
		}
	}
	return nil
}

// Profile returns a profile of the set by name.
func (s *Set) Profile(name string) (*Profile, bool) {
	p, ok := s.byName[name]
	return p, ok
}

// Group finds the peer group a rule of profile prof means by name: the
// profile's own group, else one of its includes' (depth first, in order).
// It returns false for host and any, which are not groups.
func (s *Set) Group(prof, name string) (*PeerGroup, bool) {
	return s.group(prof, name, 0)
}

func (s *Set) group(prof, name string, depth int) (*PeerGroup, bool) {
	p, ok := s.byName[prof]
	if !ok || depth > maxIncludeDepth {
		return nil, false
	}
	if g, ok := p.Peers[name]; ok {
		return g, true
	}
	for _, inc := range p.Includes {
		if g, ok := s.group(inc, name, depth+1); ok {
			return g, true
		}
	}
	return nil, false
}

// Rules returns every rule of the set, in profile order.
func (s *Set) Rules() []*Rule {
	var out []*Rule
	for _, p := range s.Profiles {
		for i := range p.Rules {
			out = append(out, &p.Rules[i])
		}
	}
	return out
}
