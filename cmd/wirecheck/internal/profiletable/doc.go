// Package profiletable prints profiles for people: the list of built-in
// profiles, and a profile's rules as a table shaped like the vendor's port
// tables (from, to, scope, protocol, port, level, how used, source) with
// the notes and peer groups the rules name. Output to a terminal is
// wrapped to its width; a file or pipe gets the wide table.
//
// The functions write what they are given and keep no state.
package profiletable
