package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
)

// wsBufferSize is the size of each agent connection's read and write
// buffers once it is a WebSocket. net/http hands a hijacked connection
// its 4 KB reader and a new 4 KB writer, and the WebSocket keeps both for
// the connection's life: 8 KB for each of tens of thousands of agents
// that send a sample a minute. Frames larger than the buffer are read
// and written straight through.
const wsBufferSize = 1024

// smallBuffers is an http.ResponseWriter whose Hijack returns the
// connection with wsBufferSize buffers.
type smallBuffers struct{ http.ResponseWriter }

func (s smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	var r io.Reader = c
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes net/http read ahead belong to the WebSocket.
		b, _ := brw.Reader.Peek(n)
		r = io.MultiReader(bytes.NewReader(bytes.Clone(b)), c)
	}
	if err := brw.Writer.Flush(); err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, bufio.NewReadWriter(bufio.NewReaderSize(r, wsBufferSize), bufio.NewWriterSize(c, wsBufferSize)), nil
}
