// Package textout holds the small pieces every writer of wirecheck's
// reports, diffs and drafts uses, so that they word things one way: a
// printer that checks its errors once, plural words, prefixes written as
// people write them, lists that encode as [] rather than null, and the
// formats each writes by name (Formats).
package textout
