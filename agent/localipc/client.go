package localipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tierline/tierline/shared/wire"
)

// ErrNotRunning: nothing listens on the socket.
var ErrNotRunning = errors.New("the agent is not running (no local socket)")

// call sends one request to the agent at path and decodes the answer's
// body into out.
func call(ctx context.Context, path string, op Op, body, out any) error {
	c, err := dial(ctx, path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotRunning, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, _ := json.Marshal(Request{Op: op, Body: raw})
	if len(req) > MaxMessage {
		return errTooLarge
	}
	if _, err := c.Write(append(req, '\n')); err != nil {
		// A busy agent answers and closes without reading the request:
		// its answer is still there to read.
		if line, rerr := readLine(c); rerr == nil {
			var resp Response
			if json.Unmarshal(line, &resp) == nil && resp.Error != "" {
				return &RemoteError{Code: resp.Code, Message: resp.Error}
			}
		}
		return fmt.Errorf("send to the agent: %w", err)
	}
	line, err := readLine(c)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("read the agent's answer: %w", err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return fmt.Errorf("the agent's answer is not JSON: %w", err)
	}
	if resp.Error != "" {
		return &RemoteError{Code: resp.Code, Message: resp.Error}
	}
	if out != nil && len(resp.Body) > 0 {
		return json.Unmarshal(resp.Body, out)
	}
	return nil
}

// Client calls the running agent's operations over its local socket: one
// method per operation of ops.go. The tray, the Get help page and the
// agent's subcommands use it. A refusal is a *RemoteError (see ErrorCode);
// ErrNotRunning means nothing listens on the socket.
type Client struct {
	path string
}

// NewClient makes a client of the agent listening at path.
func NewClient(path string) *Client { return &Client{path: path} }

// Path is the socket the client calls.
func (c *Client) Path() string { return c.path }

// Status is OpStatus.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var out Status
	return out, call(ctx, c.path, OpStatus, nil, &out)
}

// Diagnose is OpDiagnose.
func (c *Client) Diagnose(ctx context.Context) (Diagnosis, error) {
	var out Diagnosis
	return out, call(ctx, c.path, OpDiagnose, nil, &out)
}

// Fixes is OpFixes.
func (c *Client) Fixes(ctx context.Context) (FixList, error) {
	var out FixList
	return out, call(ctx, c.path, OpFixes, nil, &out)
}

// Run is OpRun.
func (c *Client) Run(ctx context.Context, in RunCall) (wire.RunResult, error) {
	var out wire.RunResult
	return out, call(ctx, c.path, OpRun, in, &out)
}

// KB is OpKB.
func (c *Client) KB(ctx context.Context, in KBCall) (KBAnswer, error) {
	var out KBAnswer
	return out, call(ctx, c.path, OpKB, in, &out)
}

// Session is OpSession.
func (c *Client) Session(ctx context.Context, in SessionCall) (SessionAnswer, error) {
	var out SessionAnswer
	return out, call(ctx, c.path, OpSession, in, &out)
}

// ConsentPending is OpConsentPending.
func (c *Client) ConsentPending(ctx context.Context) ([]ConsentItem, error) {
	var out []ConsentItem
	return out, call(ctx, c.path, OpConsentPending, nil, &out)
}

// ConsentAnswer is OpConsentAnswer.
func (c *Client) ConsentAnswer(ctx context.Context, in ConsentAnswerCall) (OK, error) {
	var out OK
	return out, call(ctx, c.path, OpConsentAnswer, in, &out)
}

// Templates is OpTemplates.
func (c *Client) Templates(ctx context.Context) (TemplatesAnswer, error) {
	var out TemplatesAnswer
	return out, call(ctx, c.path, OpTemplates, nil, &out)
}

// Software is OpSoftware.
func (c *Client) Software(ctx context.Context) (SoftwareList, error) {
	var out SoftwareList
	return out, call(ctx, c.path, OpSoftware, nil, &out)
}

// Progress is OpProgress.
func (c *Client) Progress(ctx context.Context) (RunProgress, error) {
	var out RunProgress
	return out, call(ctx, c.path, OpProgress, nil, &out)
}

// Help is OpHelp.
func (c *Client) Help(ctx context.Context, in HelpCall) (HelpAnswer, error) {
	var out HelpAnswer
	return out, call(ctx, c.path, OpHelp, in, &out)
}

// Tickets is OpTickets.
func (c *Client) Tickets(ctx context.Context, in TicketsCall) ([]MyTicket, error) {
	var out []MyTicket
	return out, call(ctx, c.path, OpTickets, in, &out)
}

// Reply is OpReply.
func (c *Client) Reply(ctx context.Context, in wire.UserReply) (Queued, error) {
	var out Queued
	return out, call(ctx, c.path, OpReply, in, &out)
}

// Survey is OpSurvey.
func (c *Client) Survey(ctx context.Context, in wire.SurveyAnswer) (Queued, error) {
	var out Queued
	return out, call(ctx, c.path, OpSurvey, in, &out)
}

// Raw sends body as it is to op and returns the answer's body as it is.
// It is for tests of the server's handling of bodies the typed methods
// cannot send (unknown fields, trailing data); programs use the methods.
func (c *Client) Raw(ctx context.Context, op Op, body json.RawMessage) (json.RawMessage, error) {
	var out json.RawMessage
	var in any
	if body != nil {
		in = body
	}
	return out, call(ctx, c.path, op, in, &out)
}

// Find is the socket a client on this machine calls: socket when given,
// else on Windows the service's pipe, else the state directory's when
// stateGiven, else the packaged service's when it exists, else the state
// directory's.
func Find(socket, state string, stateGiven bool) string {
	switch {
	case socket != "":
		return socket
	case runtime.GOOS == "windows":
		return DefaultSocket()
	}
	if !stateGiven {
		if _, err := os.Stat(DefaultSocket()); err == nil {
			return DefaultSocket()
		}
	}
	return filepath.Join(state, SocketName)
}
