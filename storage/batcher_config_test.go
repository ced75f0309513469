package storage

import (
	"reflect"
	"testing"
	"time"
)

// TestBatcherConfigDefaults: a zero (or negative) field takes the default
// its doc names, a set one is kept, and MaxBackoff is never below
// MinBackoff.
func TestBatcherConfigDefaults(t *testing.T) {
	defaults := BatcherConfig{MaxRows: 10000, MaxWait: time.Second, MinBackoff: 100 * time.Millisecond, MaxBackoff: 10 * time.Second, InsertTimeout: time.Minute, MarkEvery: time.Second}
	for _, tc := range []struct {
		name string
		in   BatcherConfig
		want BatcherConfig
	}{
		{"zero", BatcherConfig{}, defaults},
		{"negative", BatcherConfig{MaxRows: -1, MaxWait: -1, MinBackoff: -1, MaxBackoff: -1, InsertTimeout: -1, MarkEvery: -1}, defaults},
		{"set", BatcherConfig{MaxRows: 7, MaxWait: 3, MinBackoff: 4, MaxBackoff: 5, InsertTimeout: 6, MarkEvery: 8}, BatcherConfig{MaxRows: 7, MaxWait: 3, MinBackoff: 4, MaxBackoff: 5, InsertTimeout: 6, MarkEvery: 8}},
		{"max backoff below min", BatcherConfig{MinBackoff: 20 * time.Second, MaxBackoff: time.Second},
			BatcherConfig{MaxRows: 10000, MaxWait: time.Second, MinBackoff: 20 * time.Second, MaxBackoff: 20 * time.Second, InsertTimeout: time.Minute, MarkEvery: time.Second}},
	} {
		b := NewBatcher(nil, nil, tc.in, nil)
		if !reflect.DeepEqual(b.cfg, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, b.cfg, tc.want)
		}
		if b.log == nil || !b.verify {
			t.Errorf("%s: no logger (%v) or the first batch unchecked (verify %v)", tc.name, b.log, b.verify)
		}
	}
}
