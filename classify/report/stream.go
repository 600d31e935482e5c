package report

import (
	"io"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirecheck/wirecheck/classify/flow"
	"github.com/wirecheck/wirecheck/classify/match"
	"github.com/wirecheck/wirecheck/classify/packet"
	"github.com/wirecheck/wirecheck/classify/profile"
	"github.com/wirecheck/wirecheck/classify/service"
	"github.com/wirecheck/wirecheck/internal/pages"
)

// inOrder writes n items, formatted by the CPUs a chunk at a time and
// written in order: what the writers put on a line per flow or per problem
// is independent from item to item, and at most 2×CPUs chunks are held at
// once whatever n is (a million flows stream in bounded memory). Each
// worker gets its own scratch from newScratch; format appends item i to
// buf. It is the one ordered parallel writer of the package: JSON's flows,
// SARIF's results, JUnit's cases, Markdown's and Text's flows tables.
//
// itemBytes, when not 0, is about how many bytes an item takes: the
// chunks' buffers are then made that large at once and their pages backed
// (internal/pages), rather than grown and faulted in a page at a time.
// Only the text flows table knows its rows' width (measured first); it
// is the one BenchmarkFlowsTable times.
func inOrder[S any](w io.Writer, n, itemBytes int, newScratch func() S, format func(buf []byte, i int, s S) []byte) error {
	if n == 0 {
		return nil
	}
	chunks := (n + streamChunk - 1) / streamChunk
	workers := min(runtime.GOMAXPROCS(0), chunks)
	done := make([]chan []byte, chunks)
	for i := range done {
		done[i] = make(chan []byte, 1)
	}
	// A worker takes a free buffer before it takes the next chunk, so the
	// chunk the writer waits for always has one: no deadlock, and at most
	// 2×workers chunks in memory.
	free := make(chan []byte, 2*workers)
	for range cap(free) {
		var buf []byte
		if itemBytes > 0 {
			buf = make([]byte, 0, min(streamChunk, n)*itemBytes)
			pages.Prefault(buf)
		}
		free <- buf
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			s := newScratch()
			for {
				buf := <-free
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				buf = buf[:0]
				for i := c * streamChunk; i < min((c+1)*streamChunk, n); i++ {
					buf = format(buf, i, s)
				}
				done[c] <- buf
			}
		})
	}
	var err error
	for c := range done {
		buf := <-done[c]
		if err == nil {
			_, err = w.Write(buf)
		}
		free <- buf
	}
	wg.Wait()
	return err
}

// streamChunk is how many items a worker formats at a time.
const streamChunk = 512

// flowScratch is a worker's reusable state for the rows it formats: the
// rule ids it has spelled, and what appendFlowJSON and the text flows
// table build a row in.
type flowScratch struct {
	ruleIDs  map[*profile.Rule]string
	problems []int
	j        jsonw
	row      flowRow
}

func newFlowScratch() *flowScratch {
	return &flowScratch{ruleIDs: map[*profile.Rule]string{}, j: jsonw{base: 4}}
}

func (s *flowScratch) ruleID(r *profile.Rule) string {
	id, ok := s.ruleIDs[r]
	if !ok {
		id = r.ID()
		s.ruleIDs[r] = id
	}
	return id
}

// appendFlowJSON appends flow i of res as an element of the report's
// "flows" list: the bytes json.MarshalIndent writes for buildFlow's Flow
// there (TestJSONStreamsWhatMarshalIndentWrites holds it to them).
func appendFlowJSON(b []byte, res *match.Result, fs *match.Findings, i int, s *flowScratch) []byte {
	f := &res.Flows[i]
	j := &s.j
	j.b, j.depth = b, 0
	j.empty[0] = i == 0
	j.elem()
	j.open('{')
	j.str("proto", f.Proto.String())
	j.key("client")
	j.b = appendAddrJSON(j.b, f.Client())
	j.uint("client_port", uint64(f.ClientPort))
	j.key("server")
	j.b = appendAddrJSON(j.b, f.Server())
	j.uint("server_port", uint64(f.ServerPort))
	j.str("client_method", f.Method.String())
	j.str("direction", f.Direction.String())
	j.str("state", f.State.String())
	if f.OneSided() {
		j.bool("one_sided", true)
	}
	j.str("service", f.Service())
	j.str("app", f.App.String())
	j.bool("protocol_mismatch", f.Mismatch)
	j.key("names")
	j.open('{')
	j.strs("client", f.ClientNames())
	j.strs("server", f.ServerNames())
	j.str("sni", f.SNI())
	j.close('}')
	if v := f.Flow.TLSVersion; v != 0 {
		j.key("tls")
		j.open('{')
		j.str("version", service.TLSVersionName(v))
		j.str("cipher", service.CipherName(f.Flow.TLSCipher))
		j.bool("forward_secrecy", service.ForwardSecret(f.Flow.TLSCipher))
		j.close('}')
	} else {
		j.null("tls")
	}
	if o := f.Flow.TLSOffer; o&flow.TLSHelloSeen != 0 {
		j.key("tls_client")
		j.open('{')
		j.bool("offers_forward_secrecy", o&flow.TLSOffersForwardSecrecy != 0)
		j.close('}')
	} else {
		j.null("tls_client")
	}
	cp, cb := f.Sent(true)
	sp, sbytes := f.Sent(false)
	j.uint("packets", cp+sp)
	j.uint("bytes", cb+sbytes)
	for _, side := range [2]struct {
		key            string
		packets, bytes uint64
	}{{"from_client", cp, cb}, {"from_server", sp, sbytes}} {
		j.key(side.key)
		j.open('{')
		j.uint("packets", side.packets)
		j.uint("bytes", side.bytes)
		j.close('}')
	}
	j.uint("syns", uint64(f.Flow.SYNs[f.ClientSide]))
	if n := f.Flow.Unreachable; n > 0 {
		j.key("unreachable")
		j.open('{')
		j.uint("count", uint64(n))
		j.str("message", packet.UnreachableName(f.Flow.UnreachableType, f.Flow.UnreachableCode))
		j.key("from")
		j.b = appendAddrJSON(j.b, netip.AddrFrom16(f.Flow.UnreachableFrom).Unmap())
		j.close('}')
	} else {
		j.null("unreachable")
	}
	if cp+sp > 0 {
		j.key("first")
		j.b = appendStampJSON(j.b, f.Flow.First)
		j.key("last")
		j.b = appendStampJSON(j.b, f.Flow.Last)
	} else {
		j.null("first")
		j.null("last")
	}
	if f.Rule != nil {
		j.str("rule", s.ruleID(f.Rule))
	} else {
		j.null("rule")
	}
	j.key("rules")
	j.open('[')
	for _, r := range f.Rules() {
		j.elem()
		j.b = appendJSONString(j.b, s.ruleID(r))
	}
	j.close(']')
	j.str("verdict", f.Verdict.String())
	j.strs("unbound", res.UnboundOf(f))
	j.strs("unverified", f.Unverified())
	j.strs("why", f.Why())
	if t := res.Obs.Tunneled[f.Flow.Key]; t != "" {
		j.str("tunnel", t)
	}
	if rel := f.Related(); rel != nil && f.Rule != nil {
		// Related flows are few (a control flow's announcements): the
		// model's Related, written field by field.
		r := buildRelated(rel, s.ruleID(f.Rule))
		j.key("related")
		j.open('{')
		j.str("how", r.How)
		j.uint("program", uint64(r.Program))
		j.str("program_name", r.ProgramName)
		j.str("control", r.Control)
		if r.ControlFlow != nil {
			j.key("control_flow")
			j.b = strconv.AppendInt(j.b, int64(*r.ControlFlow), 10)
		} else {
			j.null("control_flow")
		}
		j.str("announced_by", r.AnnouncedBy)
		j.str("announced", r.Announced)
		j.str("rule", r.Rule)
		j.str("text", r.Text)
		j.close('}')
	} else {
		j.null("related")
	}
	j.key("problems")
	j.open('[')
	s.problems = fs.Of(s.problems[:0], i)
	for _, p := range s.problems {
		j.elem()
		j.b = strconv.AppendInt(j.b, int64(p), 10)
	}
	j.close(']')
	j.close('}')
	return j.b
}

// appendAddrJSON appends an address as a JSON string: its text has nothing
// to escape.
func appendAddrJSON(b []byte, a netip.Addr) []byte {
	b = append(b, '"')
	b = a.AppendTo(b)
	return append(b, '"')
}

// appendStampJSON appends stamp(ns) as a JSON string.
func appendStampJSON(b []byte, ns int64) []byte {
	b = append(b, '"')
	b = time.Unix(0, ns).UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
