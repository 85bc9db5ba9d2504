package tray

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/tierline/tierline/agent/localipc"
)

// iconSize is the icons' width and height in pixels; tray hosts scale.
const iconSize = 32

// Icon colours per state: green all well, grey offline, amber a problem
// on this machine, blue a message or a question waiting for the user.
var iconColors = map[string]color.NRGBA{
	localipc.IconConnected: {0x2e, 0x9e, 0x4f, 0xff},
	localipc.IconOffline:   {0x80, 0x86, 0x8c, 0xff},
	localipc.IconProblem:   {0xe0, 0x8a, 0x00, 0xff},
	localipc.IconMessage:   {0x1f, 0x6f, 0xd1, 0xff},
}

// icons holds each state's icon as PNG, made once at start.
var icons = func() map[string][]byte {
	out := map[string][]byte{}
	for state, c := range iconColors {
		out[state] = drawIcon(state, c)
	}
	return out
}()

// drawIcon draws a filled disc with a white mark: a tick (connected), a
// bar (offline), an exclamation mark (problem) or a dot (message).
func drawIcon(state string, c color.NRGBA) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, iconSize, iconSize))
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	mid := float64(iconSize-1) / 2
	for y := 0; y < iconSize; y++ {
		for x := 0; x < iconSize; x++ {
			d := math.Hypot(float64(x)-mid, float64(y)-mid)
			if d <= mid {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	fill := func(x0, y0, x1, y1 int) {
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				img.SetNRGBA(x, y, white)
			}
		}
	}
	switch state {
	case localipc.IconConnected:
		for i := 0; i < 6; i++ { // short stroke of the tick
			fill(9+i, 15+i, 10+i, 17+i)
		}
		for i := 0; i < 10; i++ { // long stroke
			fill(15+i, 20-i, 16+i, 22-i)
		}
	case localipc.IconOffline:
		fill(8, 14, 23, 17)
	case localipc.IconProblem:
		fill(14, 6, 17, 19)
		fill(14, 22, 17, 25)
	case localipc.IconMessage:
		fill(7, 14, 10, 17)
		fill(14, 14, 17, 17)
		fill(21, 14, 24, 17)
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// toICO wraps a PNG in an ICO container, which the Windows tray needs
// (ICO files may hold PNG images since Windows Vista).
func toICO(pngData []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, [3]uint16{0, 1, 1}) // reserved, type icon, one image
	b.Write([]byte{iconSize, iconSize, 0, 0})                     // width, height, no palette, reserved
	_ = binary.Write(&b, binary.LittleEndian, [2]uint16{1, 32})   // planes, bits per pixel
	_ = binary.Write(&b, binary.LittleEndian, [2]uint32{uint32(len(pngData)), 22})
	b.Write(pngData)
	return b.Bytes()
}
