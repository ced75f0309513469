package storage

import (
	"testing"
	"time"
)

// TestDayCounterAround: the counter counts today and tomorrow in the
// site's zone, and yesterday only for yesterdayFor after midnight (then
// the Summarizer takes it over and its pairs are forgotten).
func TestDayCounterAround(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	midnight := time.Date(2026, 12, 4, 0, 0, 0, 0, loc)
	day := func(offset int) time.Time { return time.Date(2026, 12, 4+offset, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		now    time.Duration // after midnight
		offset int           // the day asked about, from today
		want   bool
	}{
		{time.Hour, 0, true},
		{time.Hour, 1, true},
		{time.Hour, 2, false},
		{time.Hour, -1, true},
		{yesterdayFor - time.Second, -1, true},
		{yesterdayFor, -1, false},
		{23 * time.Hour, -1, false},
		{23 * time.Hour, 0, true},
		{time.Hour, -2, false},
	} {
		now := midnight.Add(tc.now)
		c := &DayCounter{now: func() time.Time { return now }}
		if got := c.around(day(tc.offset), loc); got != tc.want {
			t.Errorf("at %v after midnight, day %+d: around %v, want %v", tc.now, tc.offset, got, tc.want)
		}
	}
}
