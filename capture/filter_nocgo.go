//go:build !cgo

package capture

import "github.com/gopacket/gopacket/layers"

func compileFilter(layers.LinkType, string) (matcher, error) { return nil, ErrNoFilter }
