// Package ipproto names IP protocol numbers.
//
// Proto is a one-byte value type: comparable, usable as a map key, free to
// copy. Its values are the IANA protocol numbers, so a Proto read off the wire
// needs no translation. The zero value is Unknown (IANA's HOPOPT, which never
// reaches a transport decoder, so the number is free for that meaning).
package ipproto
