package embedded

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/mote-analytics/mote/storage"
)

var errClosed = errors.New("embedded engine is closed")

// Error is an exception raised by ClickHouse inside chDB. Message is the
// engine's own text (without the stack trace), so an error says what
// ClickHouse said, as the server engine's errors do.
type Error struct {
	// Code is ClickHouse's error code (60 UNKNOWN_TABLE, 81 UNKNOWN_DATABASE,
	// ...), 0 when the message carried none.
	Code    int
	Message string
}

func (e *Error) Error() string {
	if e.Code != 0 {
		return "chdb: code " + strconv.Itoa(e.Code) + ": " + e.Message
	}
	return "chdb: " + e.Message
}

// hasCode reports whether err is an *Error with one of codes.
func hasCode(err error, codes ...int) bool {
	return slices.Contains(codes, errCode(err))
}

// errCode is the server's error code in err, or 0.
func errCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// maxMessage caps how much of an exception text an error keeps: a parse
// error quotes the input around the failure, and a log line needs no more
// than the gist.
const maxMessage = 2000

// serverError turns chDB's error text into an *Error. chDB reports
// exceptions as "Code: 60. DB::Exception: Unknown table ... (UNKNOWN_TABLE)"
// optionally followed by a stack trace, which is dropped.
func serverError(msg string) error {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		msg = "unknown error (chDB gave no message)"
	}
	e := &Error{Message: msg}
	if rest, ok := strings.CutPrefix(msg, "Code: "); ok {
		num, tail, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil {
			e.Code = n
			e.Message = strings.TrimSpace(tail)
		}
	}
	e.Message = strings.TrimPrefix(e.Message, "DB::Exception: ")
	if i := strings.Index(e.Message, "Stack trace"); i > 0 {
		e.Message = strings.TrimRight(e.Message[:i], " \n:.")
	}
	e.Message = storage.Excerpt(e.Message, maxMessage)
	return e
}
