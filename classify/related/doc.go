// Package related learns, from the payloads of control flows, the data
// connections those flows negotiate: the address and port an FTP server
// announces in a PASV or EPSV reply (227, 229) or a client in a PORT or EPRT
// command, the ports an ONC RPC portmapper (rpcbind) maps programs to in its
// GETPORT, GETADDR and DUMP replies, and the TCP endpoints an MS-RPC
// endpoint mapper returns in its map responses on port 135.
//
// A port-requirement table lists only the control port; the matcher
// (classify/match) accepts a flow to an announced endpoint under the rule
// that allowed the control flow, when that rule allows the relation.
//
// # Contract
//
// Control reports, from a flow's ports and recognised protocols, whether a
// payload can hold an announcement; it is a few comparisons and is what
// every payload pays. Learner.Learn parses such a payload and appends what
// it announces. It reads at most the payload it is given (engines hand it
// the first 512 bytes or the whole segment) and tolerates any input. Only
// the announcements themselves allocate (appending to the caller's slice,
// parsing an RPC universal address): payloads that announce nothing do
// not.
//
// An ONC RPC reply names neither its program nor its procedure, so
// Learner remembers the last portmapper calls (a fixed ring of
// pendingCalls) and matches replies to them by flow and transaction ID; a
// reply whose call was not seen teaches nothing.
//
// # Zero value and concurrency
//
// The zero Learner is ready to use. It is not safe for concurrent use.
// Announcement is a comparable value type without pointers.
package related
