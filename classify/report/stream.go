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
// The text flows table knows its rows' width (measured first;
// BenchmarkFlowsTable), JSON about a flow's (jsonFlowBytes); a buffer an
// item outgrows grows as before.
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
	// The day appendStamp formats the dates of (its first nanosecond
	// since 1970), and its date as a JSON string's opening quote and
	// "2006-01-02T".
	day  int64
	date []byte
	// warmed sums what warm loaded, for nothing but keeping the loads.
	warmed uint64
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
//
// A flow's members are written with their openings as constants (m6, m8
// and the keys: the comma ending the member before, the newline and indent
// MarshalIndent puts there, the quoted key), one append each, rather than
// by jsonw, which writes separator, indent, quotes and key a piece at a
// time and checks at each member whether it is the first. The flows are
// nearly all of a JSON report's bytes: BenchmarkJSON times this function,
// and the README (Performance) has what each of its tricks saved.
func appendFlowJSON(b []byte, res *match.Result, fs *match.Findings, i int, s *flowScratch) []byte {
	if i%warmFlows == 0 {
		s.warm(res.Flows[i:min(i+warmFlows, len(res.Flows))])
	}
	f := &res.Flows[i]
	if i > 0 {
		b = append(b, ',')
	}
	b = append(b, "\n    {\n      \"proto\": "...)
	b = appendJSONString(b, f.Proto.String())
	b = append(b, m6+`"client": `...)
	b = appendAddrJSON(b, f.Client())
	b = append(b, m6+`"client_port": `...)
	b = strconv.AppendUint(b, uint64(f.ClientPort), 10)
	b = append(b, m6+`"server": `...)
	b = appendAddrJSON(b, f.Server())
	b = append(b, m6+`"server_port": `...)
	b = strconv.AppendUint(b, uint64(f.ServerPort), 10)
	b = append(b, m6+`"client_method": `...)
	b = appendJSONString(b, f.Method.String())
	b = append(b, m6+`"direction": `...)
	b = appendJSONString(b, f.Direction.String())
	b = append(b, m6+`"state": `...)
	b = appendJSONString(b, f.State.String())
	if f.OneSided() {
		b = append(b, m6+`"one_sided": true`...)
	}
	b = append(b, m6+`"service": `...)
	b = appendJSONString(b, f.Service())
	b = append(b, m6+`"app": `...)
	b = appendJSONString(b, f.App.String())
	b = append(b, m6+`"protocol_mismatch": `...)
	b = strconv.AppendBool(b, f.Mismatch)
	b = append(b, m6+`"names": {`+"\n        "+`"client": `...)
	b = appendStrsJSON(b, 8, f.ClientNames())
	b = append(b, m8+`"server": `...)
	b = appendStrsJSON(b, 8, f.ServerNames())
	b = append(b, m8+`"sni": `...)
	b = appendJSONString(b, f.SNI())
	b = append(b, "\n      }"...)
	if v := f.Flow.TLSVersion; v != 0 {
		b = append(b, m6+`"tls": {`+"\n        "+`"version": `...)
		b = appendJSONString(b, service.TLSVersionName(v))
		b = append(b, m8+`"cipher": `...)
		b = appendJSONString(b, service.CipherName(f.Flow.TLSCipher))
		b = append(b, m8+`"forward_secrecy": `...)
		b = strconv.AppendBool(b, service.ForwardSecret(f.Flow.TLSCipher))
		b = append(b, "\n      }"...)
	} else {
		b = append(b, m6+`"tls": null`...)
	}
	if o := f.Flow.TLSOffer; o&flow.TLSHelloSeen != 0 {
		b = append(b, m6+`"tls_client": {`+"\n        "+`"offers_forward_secrecy": `...)
		b = strconv.AppendBool(b, o&flow.TLSOffersForwardSecrecy != 0)
		b = append(b, "\n      }"...)
	} else {
		b = append(b, m6+`"tls_client": null`...)
	}
	cp, cb := f.Sent(true)
	sp, sb := f.Sent(false)
	b = append(b, m6+`"packets": `...)
	b = strconv.AppendUint(b, cp+sp, 10)
	b = append(b, m6+`"bytes": `...)
	b = strconv.AppendUint(b, cb+sb, 10)
	b = append(b, m6+`"from_client": {`+"\n        "+`"packets": `...)
	b = strconv.AppendUint(b, cp, 10)
	b = append(b, m8+`"bytes": `...)
	b = strconv.AppendUint(b, cb, 10)
	b = append(b, "\n      }"+m6+`"from_server": {`+"\n        "+`"packets": `...)
	b = strconv.AppendUint(b, sp, 10)
	b = append(b, m8+`"bytes": `...)
	b = strconv.AppendUint(b, sb, 10)
	b = append(b, "\n      }"+m6+`"syns": `...)
	b = strconv.AppendUint(b, uint64(f.Flow.SYNs[f.ClientSide]), 10)
	if n := f.Flow.Unreachable; n > 0 {
		b = append(b, m6+`"unreachable": {`+"\n        "+`"count": `...)
		b = strconv.AppendUint(b, uint64(n), 10)
		b = append(b, m8+`"message": `...)
		b = appendJSONString(b, packet.UnreachableName(f.Flow.UnreachableType, f.Flow.UnreachableCode))
		b = append(b, m8+`"from": `...)
		b = appendAddrJSON(b, netip.AddrFrom16(f.Flow.UnreachableFrom).Unmap())
		b = append(b, "\n      }"...)
	} else {
		b = append(b, m6+`"unreachable": null`...)
	}
	if cp+sp > 0 {
		b = append(b, m6+`"first": `...)
		b = s.appendStamp(b, f.Flow.First)
		b = append(b, m6+`"last": `...)
		b = s.appendStamp(b, f.Flow.Last)
	} else {
		b = append(b, m6+`"first": null`+m6+`"last": null`...)
	}
	if f.Rule != nil {
		b = append(b, m6+`"rule": `...)
		b = appendJSONString(b, s.ruleID(f.Rule))
	} else {
		b = append(b, m6+`"rule": null`...)
	}
	b = append(b, m6+`"rules": `...)
	if rules := f.Rules(); len(rules) > 0 {
		for k, r := range rules {
			if k == 0 {
				b = append(b, "[\n        "...)
			} else {
				b = append(b, ",\n        "...)
			}
			b = appendJSONString(b, s.ruleID(r))
		}
		b = append(b, "\n      ]"...)
	} else {
		b = append(b, "[]"...)
	}
	b = append(b, m6+`"verdict": `...)
	b = appendJSONString(b, f.Verdict.String())
	b = append(b, m6+`"unbound": `...)
	b = appendStrsJSON(b, 6, res.UnboundOf(f))
	b = append(b, m6+`"unverified": `...)
	b = appendStrsJSON(b, 6, f.Unverified())
	b = append(b, m6+`"why": `...)
	b = appendStrsJSON(b, 6, f.Why())
	if len(res.Obs.Tunneled) > 0 {
		if t := res.Obs.Tunneled[f.Flow.Key]; t != "" {
			b = append(b, m6+`"tunnel": `...)
			b = appendJSONString(b, t)
		}
	}
	if rel := f.Related(); rel != nil && f.Rule != nil {
		// Related flows are few (a control flow's announcements): the
		// model's Related, written field by field.
		r := buildRelated(rel, s.ruleID(f.Rule))
		j := &s.j
		j.b, j.base, j.depth = append(b, m6+`"related": `...), 6, 0
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
		b = j.b
	} else {
		b = append(b, m6+`"related": null`...)
	}
	b = append(b, m6+`"problems": `...)
	s.problems = fs.Of(s.problems[:0], i)
	b = appendIntsJSON(b, 6, s.problems)
	return append(b, "\n    }"...)
}

// jsonFlowBytes is about how many bytes appendFlowJSON writes for a flow
// with a name or two and no explanations: 1,100 on the benchmark capture
// (bench/run), a little more with TLS.
const jsonFlowBytes = 1152

// warmFlows is how many flows appendFlowJSON loads ahead (warm), a
// divisor of streamChunk so that each of inOrder's chunks starts a run.
const warmFlows = 64

// warm loads the cache lines of flows that a report reads, before they
// are written one at a time. Results are in report order and point into
// the flow table in the order the flows were first seen, so each flow
// written began with a miss to memory, waited for before anything else;
// a loop of loads that do not depend on each other has the CPU fetch many
// lines at once. It pays in BenchmarkJSON (README, Performance). The
// fields loaded lie at most 64 bytes apart in flow.Flow and in a result's
// shared part, from the first to the last a report reads, so every cache
// line in between is loaded; a layout that moves them costs time, never
// correctness.
func (s *flowScratch) warm(flows []match.FlowResult) {
	sum := s.warmed
	for k := range flows {
		r := &flows[k]
		f := r.Flow
		sum += uint64(f.Key.A[0]) + f.Bytes[1] + uint64(f.Unreachable) + uint64(f.TLSOffer)
		// and what the results with names, rules or explanations share
		sum += uint64(len(r.Rules()) + len(r.ServerNames()) + len(r.SNI()) + len(r.Why()))
		if r.Related() != nil {
			sum++
		}
	}
	s.warmed = sum // kept, so that the compiler keeps the loads
}

// The openings of a flow's members after its first (m6) and of the
// members after the first of an object in a flow (m8): the comma ending
// the member before, and the newline and indent MarshalIndent writes.
const (
	m6 = ",\n      "
	m8 = ",\n        "
)

// appendIntsJSON appends vs as a JSON list whose brackets sit at indent
// spaces, as MarshalIndent writes an []int there.
func appendIntsJSON(b []byte, indent int, vs []int) []byte {
	if len(vs) == 0 {
		return append(b, "[]"...)
	}
	b = appendInts(append(b, '['), indent+2, vs)
	b = append(b, '\n')
	b = append(b, spaces[:indent]...)
	return append(b, ']')
}

// appendInts appends vs as the elements of a JSON list, each on a line
// of its own at indent spaces, with commas between them.
func appendInts(b []byte, indent int, vs []int) []byte {
	for k, v := range vs {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
		b = append(b, spaces[:indent]...)
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return b
}

// appendStrsJSON appends vs as a JSON list whose brackets sit at indent
// spaces, as MarshalIndent writes a []string there.
func appendStrsJSON(b []byte, indent int, vs []string) []byte {
	if len(vs) == 0 {
		return append(b, "[]"...)
	}
	for k, v := range vs {
		if k == 0 {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = append(b, '\n')
		b = append(b, spaces[:indent+2]...)
		b = appendJSONString(b, v)
	}
	b = append(b, '\n')
	b = append(b, spaces[:indent]...)
	return append(b, ']')
}

// appendAddrJSON appends an address as a JSON string: its text has nothing
// to escape.
func appendAddrJSON(b []byte, a netip.Addr) []byte {
	b = append(b, '"')
	b = a.AppendTo(b)
	return append(b, '"')
}

// appendStamp appends stamp(ns), a time as RFC 3339 with the nanoseconds
// that are not 0, as a JSON string. The flows of one capture start and end
// within a few days: the date is formatted once for the day it caches and
// the time of day with digits, where time.Time.AppendFormat converted and
// laid out the whole time twice per flow (TestStampIsTimeFormats holds it
// to time.Format's bytes).
func (s *flowScratch) appendStamp(b []byte, ns int64) []byte {
	const day = 24 * int64(time.Hour)
	if ns < 0 { // before 1970: not a capture's, and no day arithmetic to get wrong
		b = append(b, '"')
		b = time.Unix(0, ns).UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	}
	if ns < s.day || ns >= s.day+day || s.date == nil {
		s.day = ns - ns%day
		s.date = time.Unix(0, s.day).UTC().AppendFormat(append(s.date[:0], '"'), "2006-01-02T")
	}
	b = append(b, s.date...)
	t := ns - s.day
	sec := t / int64(time.Second)
	b = append2(b, sec/3600)
	b = append(b, ':')
	b = append2(b, sec/60%60)
	b = append(b, ':')
	b = append2(b, sec%60)
	if frac := t % int64(time.Second); frac != 0 {
		var d [10]byte
		d[0] = '.'
		for k := 9; k > 0; k-- {
			d[k] = byte('0' + frac%10)
			frac /= 10
		}
		n := 10
		for d[n-1] == '0' {
			n--
		}
		b = append(b, d[:n]...)
	}
	return append(b, 'Z', '"')
}

// append2 appends v, 0 to 99, as two digits.
func append2(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
