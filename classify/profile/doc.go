// Package profile reads profiles: the flows an appliance is expected to have,
// as the vendor's port-requirement tables describe them. A profile is plain
// data, parsed deterministically from YAML with no I/O beyond reading the file
// it names; FORMAT.md beside this file documents the format.
//
// Built-in profiles (one per vendor table) are embedded in the binary under
// builtin/. A user profile may include built-in profiles by name, never other
// files, so a profile cannot make wirecheck read anything the user did not
// name. Errors carry file:line:column.
//
// Loaded profiles are immutable and safe for concurrent use.
package profile
