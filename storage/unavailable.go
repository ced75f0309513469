package storage

import "errors"

// ErrUnavailable marks an error as "the store cannot be reached right
// now" (not connected yet, or down), as opposed to a failed query: readers
// such as the stats API answer 503 for it, so that a client retries later.
var ErrUnavailable = errors.New("storage unavailable")
