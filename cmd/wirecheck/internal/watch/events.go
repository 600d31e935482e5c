package watch

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/wirecheck/wirecheck/classify/match"
)

// An event is one line of `watch --events`: a JSON object for log shippers
// (Vector, Fluent Bit, Promtail, journald), written when it happens. Every
// event has time (RFC 3339, UTC, nanoseconds) and type; the other fields
// depend on the type and are left out when empty:
//
//   - "flow": a new unexpected or forbidden flow, said once per flow.
//     verdict, direction, proto, client, client_port, server, server_port,
//     client_names, server_names, packets, bytes; rule and level (forbidden:
//     the rule that forbids it); why (unexpected: the rules that nearly
//     matched).
//   - "rule": a rule's status changed (rule, profile, required, from, to,
//     flows). The first evaluation reports every required rule's status
//     (from is "") and every other rule that was seen or blocked.
//   - "interface": the interface went down, was deleted, came back, or the
//     engine could not attach (interface, event, message).
//   - "reload": SIGHUP reloaded the profile (profiles, rules) or failed to
//     (error; the old profile stays in force).
//
// The format is part of wirecheck's interface: fields are added, never
// renamed or removed.
type event struct {
	Time time.Time `json:"time"`
	Type string    `json:"type"`

	Verdict     string   `json:"verdict,omitempty"`
	Direction   string   `json:"direction,omitempty"`
	Proto       string   `json:"proto,omitempty"`
	Client      string   `json:"client,omitempty"`
	ClientPort  uint16   `json:"client_port,omitempty"`
	Server      string   `json:"server,omitempty"`
	ServerPort  uint16   `json:"server_port,omitempty"`
	ClientNames []string `json:"client_names,omitempty"`
	ServerNames []string `json:"server_names,omitempty"`
	Packets     uint64   `json:"packets,omitempty"`
	Bytes       uint64   `json:"bytes,omitempty"`
	Level       string   `json:"level,omitempty"`
	Why         []string `json:"why,omitempty"`

	Rule     string `json:"rule,omitempty"` // profile:name
	Profile  string `json:"profile,omitempty"`
	Required bool   `json:"required,omitempty"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Flows    int    `json:"flows,omitempty"`

	Interface string   `json:"interface,omitempty"`
	Event     string   `json:"event,omitempty"`
	Message   string   `json:"message,omitempty"`
	Profiles  []string `json:"profiles,omitempty"`
	Rules     int      `json:"rules,omitempty"`
	Error     string   `json:"error,omitempty"`
}

// eventLog writes events as JSON lines. Its methods are safe for
// concurrent use (the supervisor reports interface events from its own
// goroutine) and do nothing on a nil *eventLog.
type eventLog struct {
	mu     sync.Mutex
	enc    *json.Encoder
	err    error // the first write error, said once
	stderr io.Writer
}

// newEventLog writes events to w; nil (no events) for a nil w. Write
// errors are said once on stderr.
func newEventLog(w io.Writer, stderr io.Writer) *eventLog {
	if w == nil {
		return nil
	}
	return &eventLog{enc: json.NewEncoder(w), stderr: stderr}
}

func (l *eventLog) write(e event) {
	if l == nil {
		return
	}
	e.Time = e.Time.UTC()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.enc.Encode(&e); err != nil && l.err == nil {
		// Watching goes on: the alerts still reach standard error.
		l.err = err
		fmt.Fprintf(l.stderr, "wirecheck: --events: %v (further events are lost)\n", err)
	}
}

// flowEvent describes a failing flow.
func flowEvent(now time.Time, fr *match.FlowResult) event {
	e := event{
		Time: now, Type: "flow", Verdict: fr.Verdict.String(), Direction: fr.Direction.String(),
		Proto: fr.Proto.String(), Client: fr.Client().String(), ClientPort: fr.ClientPort,
		Server: fr.Server().String(), ServerPort: fr.ServerPort,
		ClientNames: fr.ClientNames(), ServerNames: fr.ServerNames(),
		Packets: fr.Packets(), Bytes: fr.Bytes(), Why: fr.Why(),
	}
	if fr.Rule != nil {
		e.Rule, e.Profile, e.Level = fr.Rule.ID(), fr.Rule.Profile, fr.Level.String()
	}
	return e
}

// OpenEvents opens --events for Config.Events: "-" is stdout, anything
// else a file appended to (so that a restart does not truncate what a
// shipper has not read yet, and logrotate's copytruncate or a
// move-and-reopen both work); "" is none (nil). The caller closes it.
func OpenEvents(name string, stdout io.Writer) (io.WriteCloser, error) {
	switch name {
	case "":
		return nil, nil
	case "-":
		return nopCloser{stdout}, nil
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("--events: %w", err)
	}
	return f, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
